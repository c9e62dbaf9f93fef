"""Stage 6: write generated files atomically (plan, then apply) with their manifest."""
