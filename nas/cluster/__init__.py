"""SLURM: pre-flight checks, submitting the controller and sweeps."""
