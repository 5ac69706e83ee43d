# SLURM pre-flight: checks the account and partitions before any job is submitted.
