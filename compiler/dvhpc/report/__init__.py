"""Stage 0, used by every stage: diagnostics (codes, locations, the report), their renderers and safe text."""
