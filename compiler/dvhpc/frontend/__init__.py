"""Stage 2: load spec files with positions, merge `extends` layers, validate against the JSON Schema."""
