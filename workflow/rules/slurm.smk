# SLURM pre-flight: checks the account and partitions before any job is submitted.
# Snakemake calls onstart only in the process that schedules jobs, and not in a dry-run (-n),
# with --no-hooks, or inside the jobs (they run with --no-hooks). nas.cluster.slurm checks only when the
# executor is slurm: what the jobs about to be submitted ask for (slurm_account,
# slurm_partition, GPUs), stopping with a message naming the variable to set
# (NAS_SLURM_ACCOUNT, NAS_SLURM_PARTITION, NAS_SLURM_GPU_PARTITION). NAS_SLURM_PREFLIGHT=0
# skips it.


onstart:
    from nas.cluster.slurm import preflight_workflow

    preflight_workflow(workflow)
