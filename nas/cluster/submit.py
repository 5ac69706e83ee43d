"""SLURM jobs through submitit: the Snakemake controller as a job (``nas submit``), and ad-hoc
sweeps of ``nas train`` outside the workflow.

``nas submit`` puts Snakemake itself on the cluster as a long, light job (a CPU partition,
2 CPUs, a few GB), so the workflow keeps going after you log out; Snakemake then submits every
training job as its own SLURM job, as it would from a login node. Settings come from the same
variables as the profile (NAS_SLURM_ACCOUNT, NAS_SLURM_PARTITION, NAS_SLURM_GPU_PARTITION).

    from nas.cluster.submit import sweep
    jobs = sweep([{"init_seed": s} for s in range(4)], "results/sweeps/seeds",
                 base={"epochs": 20, "dataset": "digits"})
    paths = [job.result() for job in jobs]  # records.csv of each run
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from nas.cluster import slurm
from nas.core.config import RunConfig, format_override, load_config

CONTROLLER_NAME = "nas-snakemake"
DEFAULT_HOURS = 72.0
CLEAN_ENV_PREFIXES = ("SLURM_", "SBATCH_", "SRUN_")


def _executor(folder: str | Path, **params: Any):
    import submitit

    executor = submitit.AutoExecutor(folder=str(folder), cluster="slurm")
    executor.update_parameters(**{k: v for k, v in params.items() if v is not None})
    return executor


def _account(account: str | None) -> str | None:
    value = account if account is not None else os.environ.get(slurm.ACCOUNT)
    return None if slurm.is_unset(value) else value


def partition_max_minutes(partition: str) -> int | None:
    """The partition's MaxTime in minutes; None when infinite or unknown."""
    out = slurm.run_command(["sinfo", "--noheader", "--all", "-p", partition, "--format=%l"])
    if out is None or out[0] != 0 or not out[1].split():
        return None
    return parse_slurm_minutes(out[1].split()[0])


def parse_slurm_minutes(text: str) -> int | None:
    """'[D-]HH:MM:SS', 'MM:SS' or 'MM' -> minutes; None for 'infinite' / 'UNLIMITED'."""
    text = text.strip()
    if not text or text.lower() in ("infinite", "unlimited", "n/a"):
        return None
    days, _, rest = text.rpartition("-")
    parts = [int(p) for p in rest.split(":")]
    if len(parts) == 3:
        minutes = parts[0] * 60 + parts[1] + (1 if parts[2] else 0)
    elif len(parts) == 2:
        minutes = parts[0] + (1 if parts[1] else 0)
    else:
        minutes = parts[0]
    return minutes + int(days or 0) * 24 * 60


def clean_env() -> dict[str, str]:
    """The environment without the enclosing job's SLURM_*/SBATCH_*/SRUN_* variables, as on a
    login node: jobs submitted from inside a job must not inherit its CPUs, memory or GPUs."""
    return {k: v for k, v in os.environ.items() if not k.startswith(CLEAN_ENV_PREFIXES)}


def run_snakemake(args: list[str], workdir: str) -> int:
    """The controller job's body: Snakemake in `workdir`, its output in the job's log."""
    cmd = [sys.executable, "-m", "snakemake", *args]
    print(f"[nas submit] in {workdir}: {shlex.join(cmd)}", flush=True)
    code = subprocess.run(cmd, cwd=workdir, env=clean_env(), stderr=subprocess.STDOUT).returncode
    print(f"[nas submit] snakemake exited with status {code}", flush=True)
    if code != 0:
        raise RuntimeError(f"snakemake exited with status {code}; see the log above")
    return code


def submit_controller(
    snakemake_args: list[str],
    *,
    workdir: str | Path = ".",
    folder: str | Path = "logs/submit",
    partition: str | None = None,
    account: str | None = None,
    hours: float | None = None,
    cpus: int = 2,
    mem_gb: int = 4,
    preflight: bool = True,
):
    """Submit Snakemake (`snakemake_args`) as one SLURM job on the CPU partition; returns the
    submitit job. The time limit defaults to 72 h, or the partition's MaxTime if shorter."""
    workdir = Path(workdir).resolve()
    partition = partition or os.environ.get(slurm.PARTITION)
    if preflight:
        env = dict(os.environ)
        if partition:
            env[slurm.PARTITION] = partition
        if account:
            env[slurm.ACCOUNT] = account
        slurm.preflight_env(gpu=True, env=env)
    limit = partition_max_minutes(partition) if partition else None
    minutes = int((hours or DEFAULT_HOURS) * 60)
    if limit is not None and hours is None:
        minutes = min(minutes, limit)
    folder = Path(folder)
    if not folder.is_absolute():
        folder = workdir / folder
    executor = _executor(
        folder,
        name=CONTROLLER_NAME,
        slurm_partition=partition,
        slurm_account=_account(account),
        cpus_per_task=cpus,
        mem_gb=mem_gb,
        timeout_min=minutes,
        nodes=1,
        tasks_per_node=1,
    )
    return executor.submit(run_snakemake, list(snakemake_args), str(workdir))


def describe_controller(job, workdir: str | Path = ".") -> str:
    """What `nas submit` prints: the job id, its log and how to follow it."""
    log = Path(job.paths.stdout)
    try:
        log = log.relative_to(Path(workdir).resolve())
    except ValueError:
        pass
    return "\n".join(
        [
            f"submitted the Snakemake controller as SLURM job {job.job_id}",
            f"  log:     {log}",
            f"  follow:  tail -f {log}",
            f"  status:  sacct -j {job.job_id}    (squeue --me lists it and the jobs it submits)",
            f"  stop:    scancel {job.job_id}    (then scancel the jobs it submitted, and run "
            "`snakemake --unlock` before the next run)",
        ]
    )


# -- sweeps ---------------------------------------------------------------------------------


class TrainJob:
    """One training run in a submitit job: a validated run config (as a plain dict, which
    pickles across versions) and its folder. Checkpointable: when SLURM requeues or times
    out the job, submitit resubmits the same call and training resumes from OUT/resume.pt."""

    def __init__(self, config: dict[str, Any], out: str | Path) -> None:
        self.config, self.out = config, str(out)

    def __call__(self) -> str:
        from nas.core.config import from_dict
        from nas.run.train import run_training

        return str(run_training(from_dict(self.config), self.out))

    def checkpoint(self, *args: Any, **kwargs: Any):
        import submitit

        return submitit.helpers.DelayedSubmission(self, *args, **kwargs)


def run_name(overrides: dict[str, Any]) -> str:
    """A folder name for a run: its overrides, e.g. {'init_seed': 1} -> 'init_seed-1'."""
    name = "__".join(f"{k}-{format_override(v)}" for k, v in sorted(overrides.items()))
    return re.sub(r"[^A-Za-z0-9._,-]+", "_", name) or "base"


def run_config(
    overrides: dict[str, Any], base: dict[str, Any] | None = None, config: str | None = None
) -> RunConfig:
    """The validated run config of one sweep run: the YAML file, the base, then the run's
    overrides (they win), each read as `nas train --set key=value` reads it."""
    sets = [f"{k}={format_override(v)}" for k, v in {**(base or {}), **overrides}.items()]
    return load_config(config, sets)


def sweep(
    overrides: list[dict[str, Any]],
    out_root: str | Path,
    *,
    base: dict[str, Any] | None = None,
    config: str | None = None,
    partition: str | None = None,
    account: str | None = None,
    gpus_per_node: int = 1,
    cpus_per_task: int = 4,
    mem_gb: int = 16,
    timeout_min: int = 24 * 60,
    folder: str | Path | None = None,
    name: str = "nas-sweep",
    preflight: bool = True,
) -> list:
    """Submit one training job per override dict (on the GPU partition, one GPU each);
    every run config is validated first, so a bad override fails here, before any job.
    Returns the submitit jobs in order. Run folders are OUT_ROOT/<overrides>; each job's
    result() is the path of its records.csv."""
    out_root = Path(out_root).resolve()
    names = [run_name(o) for o in overrides]
    if len(set(names)) != len(names):
        raise ValueError("sweep: two override dicts are the same")
    configs = [run_config(o, base, config) for o in overrides]  # every one, before submitting
    partition = partition or os.environ.get(slurm.GPU_PARTITION)
    if preflight:
        req = slurm.Request(account=_account(account) or f"${slurm.ACCOUNT}")
        req.check_account = account is not None or slurm.ACCOUNT in os.environ
        req.add_partition(partition or f"${slurm.GPU_PARTITION}", slurm.GPU_PARTITION, gpu=True)
        problems = slurm.check(req)
        if problems:
            raise slurm.PreflightError(problems)
    executor = _executor(
        folder or out_root / "submitit",
        name=name,
        slurm_partition=partition,
        slurm_account=_account(account),
        gpus_per_node=gpus_per_node,
        cpus_per_task=cpus_per_task,
        mem_gb=mem_gb,
        timeout_min=timeout_min,
        nodes=1,
        tasks_per_node=1,
    )
    jobs = []
    for over, run, cfg in zip(overrides, names, configs, strict=True):
        out = out_root / run
        out.mkdir(parents=True, exist_ok=True)
        (out / "overrides.json").write_text(json.dumps(over, indent=2, sort_keys=True) + "\n")
        jobs.append(executor.submit(TrainJob(cfg.to_dict(), out)))
    return jobs
