"""Stage 1: the typed model: units, the resolved site, the facts about Snakemake and shells it is checked against."""
