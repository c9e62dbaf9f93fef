"""dvhpc: compile one site spec into a Snakemake SLURM profile, scripts and a data-path module."""

__version__ = "0.1.0"
