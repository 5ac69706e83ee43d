"""SLURM pre-flight: check the account and partitions a run will use before any job is submitted.

The SLURM profile (profiles/slurm) takes them from three environment variables:

- ``NAS_SLURM_ACCOUNT``: the account (``sbatch -A``) every job is charged to;
- ``NAS_SLURM_PARTITION``: the partition of the light, CPU-only rules (tables, figures);
- ``NAS_SLURM_GPU_PARTITION``: the partition of the training rules; it must have GPUs.

A wrong value otherwise shows up only after jobs were submitted (a pile of failed jobs, or
jobs charged to the wrong account), so the workflow's ``onstart`` handler
(workflow/rules/slurm.smk) and ``nas submit`` run :func:`check` first and stop with a message
that names the variable to set. ``NAS_SLURM_PREFLIGHT=0`` skips the checks. By hand:
``python -m nas.cluster.slurm`` checks the three variables.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

ACCOUNT = "NAS_SLURM_ACCOUNT"
PARTITION = "NAS_SLURM_PARTITION"
GPU_PARTITION = "NAS_SLURM_GPU_PARTITION"
SKIP = "NAS_SLURM_PREFLIGHT"
GPU_KEYS = ("gpu", "gpus", "nvidia_gpu")

# A command runner: argv -> (exit status, stdout, stderr); None when the program is missing.
Runner = Callable[[list[str]], "tuple[int, str, str] | None"]


class PreflightError(SystemExit):
    """The cluster does not have what the run asks for; the message says what to set.

    A SystemExit, so that Snakemake (onstart) and ``nas`` print the message without a
    traceback and exit with status 1."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"SLURM pre-flight failed; nothing was submitted:\n{lines}\n"
            f"(skip these checks with {SKIP}=0)"
        )


def run_command(argv: list[str]) -> tuple[int, str, str] | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return 124, "", f"{argv[0]} did not answer within 60 s"
    return out.returncode, out.stdout, out.stderr


def is_unset(value: object) -> bool:
    """Empty, or still the literal `$NAME` (the profile's variable was not exported)."""
    return value is None or str(value).strip() == "" or str(value).strip().startswith("$")


@dataclass
class Request:
    """What the submitted jobs ask for: an account, and partitions as (name, the variable that
    set it, whether jobs there ask for a GPU)."""

    account: str | None = None
    account_var: str = ACCOUNT
    partitions: list[tuple[str, str, bool]] = field(default_factory=list)
    check_account: bool = True

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, gpu: bool = True) -> Request:
        """The profile's three variables (only the CPU partition when gpu is False)."""
        env = os.environ if env is None else env
        req = cls(account=env.get(ACCOUNT, f"${ACCOUNT}"))
        req.add_partition(env.get(PARTITION, f"${PARTITION}"), PARTITION, gpu=False)
        if gpu:
            req.add_partition(env.get(GPU_PARTITION, f"${GPU_PARTITION}"), GPU_PARTITION, True)
        return req

    def add_partition(self, value: str | None, var: str, gpu: bool) -> None:
        name = "" if value is None else str(value).strip()
        if name.startswith("$"):  # an unexported variable names itself
            var = name[1:].strip("{}") or var
        if (name, var, gpu) not in self.partitions:
            self.partitions.append((name, var, gpu))


def partition_table(run: Runner = run_command) -> dict[str, set[str]] | str:
    """{partition: gres of its nodes}, hidden partitions included; or why sinfo failed."""
    out = run(["sinfo", "--noheader", "--all", "--format=%R|%G"])
    if out is None:
        return "`sinfo` not found: this machine is not a SLURM login node (use profiles/local)"
    code, stdout, stderr = out
    if code != 0:
        return f"`sinfo` failed: {stderr.strip() or stdout.strip()}"
    table: dict[str, set[str]] = {}
    for line in stdout.splitlines():
        name, _, gres = line.strip().partition("|")
        if name:
            table.setdefault(name, set()).add(gres.strip())
    return table


def default_partition(run: Runner = run_command) -> str | None:
    out = run(["sinfo", "--noheader", "--format=%P"])
    if out is None or out[0] != 0:
        return None
    marked = [p.strip() for p in out[1].split() if p.strip().endswith("*")]
    return marked[0].rstrip("*") if marked else None


def user_accounts(user: str, run: Runner = run_command) -> set[str] | str:
    """Accounts the user has an association with; or why they could not be listed."""
    argv = ["sacctmgr", "--noheader", "--parsable2", "show", "assoc", "where", f"user={user}"]
    out = run([*argv, "format=Account"])
    if out is None:
        return "`sacctmgr` not found"
    code, stdout, stderr = out
    if code != 0:
        return f"`sacctmgr` failed: {stderr.strip() or stdout.strip()}"
    return {a.strip() for a in stdout.splitlines() if a.strip()}


def has_gpu(gres: Iterable[str]) -> bool:
    return any(g.startswith("gpu") for entry in gres for g in entry.split(","))


def check(req: Request, run: Runner = run_command, user: str | None = None) -> list[str]:
    """Problems with the request, each naming the variable to set; empty when all is well."""
    problems: list[str] = []
    table = partition_table(run)
    if isinstance(table, str):
        return [table]
    names = ", ".join(sorted(table)) or "none"
    with_gpu = ", ".join(sorted(p for p, g in table.items() if has_gpu(g))) or "none"

    if req.check_account:
        user = user or getpass.getuser()
        accounts = user_accounts(user, run)
        listed = (
            f"yours: {', '.join(sorted(accounts))}"
            if isinstance(accounts, set) and accounts
            else f"list yours with `sacctmgr show assoc user={user} format=Account`"
        )
        if req.account is None:
            problems.append(
                f"the jobs name no SLURM account (resource slurm_account; a --default-resources "
                f"on the command line replaces the profile's): export {req.account_var}="
                f"<account> and keep slurm_account: '${req.account_var}' ({listed}), or run "
                "with --slurm-no-account"
            )
        elif is_unset(req.account):
            problems.append(
                f"{req.account_var} is not set: export {req.account_var}=<account> ({listed})"
            )
        elif isinstance(accounts, set) and accounts and req.account not in accounts:
            problems.append(
                f"SLURM account '{req.account}' is not one of user {user}'s accounts "
                f"({listed}): set {req.account_var} to one of them"
            )
        # sacctmgr missing or failing, or no associations at all: nothing to check against

    for name, var, gpu in req.partitions:
        if is_unset(name):
            msg = f"{var} is not set: export {var}=<partition> (partitions: {names})"
        elif name not in table:
            msg = (
                f"SLURM partition '{name}' (from {var}) does not exist; partitions: {names}. "
                f"Set {var} to one of them"
            )
        elif gpu and not has_gpu(table[name]):
            msg = (
                f"SLURM partition '{name}' (from {var}) has no GPUs (gres: "
                f"{', '.join(sorted(table[name])) or 'none'}), but the training jobs ask for "
                f"one. Set {var} to a partition with gres/gpu: {with_gpu}"
            )
        else:
            continue
        if msg not in problems:
            problems.append(msg)
    return problems


def request_of_jobs(jobs: Iterable, no_account: bool = False, run: Runner = run_command):
    """The Request of Snakemake jobs (their evaluated `slurm_account`, `slurm_partition` and
    GPU resources); jobs that run locally (localrules) are left out."""
    req = Request(check_account=not no_account)
    default = None
    for job in jobs:
        members = job.jobs if job.is_group() else [job]
        for j in members:
            if j.is_local:
                continue
            res = j.resources
            gpu = any(_positive(res.get(k)) for k in GPU_KEYS) or "gpu" in str(
                res.get("gres", "") or ""
            )
            account = res.get("slurm_account")
            if req.account is None or is_unset(req.account):
                req.account = account
                if isinstance(account, str) and account.startswith("$"):
                    req.account_var = account[1:].strip("{}")
            partition = res.get("slurm_partition")
            var = GPU_PARTITION if gpu else PARTITION
            if partition is None:  # the plugin falls back to the cluster's default partition
                default = (default_partition(run) or "") if default is None else default
                partition = default
                var = f"no slurm_partition, so the default partition; set {var}"
            req.add_partition(partition, var, gpu)
    return req


def _positive(value) -> bool:
    try:
        return int(value) > 0
    except (TypeError, ValueError):
        return False


def preflight_workflow(workflow) -> None:
    """The workflow's onstart check: with the slurm executor, raise PreflightError listing
    every problem with the jobs about to be submitted (other executors: nothing to check)."""
    plugin = getattr(workflow, "executor_plugin", None)
    if getattr(plugin, "name", None) != "slurm" or os.environ.get(SKIP, "1") == "0":
        return
    no_account = bool(getattr(workflow.executor_settings, "no_account", False))
    req = request_of_jobs(workflow.dag.needrun_jobs(), no_account=no_account)
    if not req.partitions and req.account is None:
        return  # nothing goes to SLURM
    problems = check(req)
    if problems:
        raise PreflightError(problems)


def preflight_env(gpu: bool = True, env: dict[str, str] | None = None) -> None:
    """Check the three variables as the profile uses them (``nas submit``, by hand)."""
    env = os.environ if env is None else env
    if env.get(SKIP, "1") == "0":
        return
    problems = check(Request.from_env(env, gpu=gpu))
    if problems:
        raise PreflightError(problems)


if __name__ == "__main__":
    preflight_env()
    print(
        f"SLURM pre-flight OK: account {os.environ[ACCOUNT]}, partition "
        f"{os.environ[PARTITION]}, GPU partition {os.environ[GPU_PARTITION]}",
        file=sys.stderr,
    )
