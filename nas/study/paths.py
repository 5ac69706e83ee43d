"""Every file name of a study's results folder, in one place.

The planner names run folders, the catalog names the files products read, and the workflow
(workflow/rules/common.smk) names the rules' outputs, all from here. Paths are relative to
the results folder unless they say otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable

RESULTS = "results"  # the workflow's results folder, which run configs name
RUNS = "runs"  # one folder per training job (RUN_PATTERNS)
SNAPSHOTS = "snapshots"  # declared snapshots of share-all runs
GROUND_TRUTH = "ground_truth.csv"  # the ground-truth table every product reads
PLAN = "plan.csv"  # jobs and device-hours per experiment (nas.study.cost)
FINETUNE = "finetune"  # finetune/init<seed>/epoch<E>.csv: the finetuning rule's outputs
RECALIBRATION = "recalibration"  # recalibration/<share-all run>.csv: BN recalibration
TELEMETRY = "telemetry"  # telemetry/<share-all run>.csv: interference telemetry
INTERFERENCE = "interference"  # measured partitions: one file per grouping and m
FOLDERS: dict[str, str] = {"table": "tables", "figure": "figures", "section": ""}

# Where each kind of training job keeps its run folder (under runs/), one wildcard for each
# thing the study varies: the workflow's output patterns (workflow/rules/supernet.smk, one
# rule per entry, train_<key>). A seed-packed job trains init seeds `seeds` (a-b) at once.
RUN_PATTERNS: dict[str, str] = {
    "share": "share/e{epochs}/{order}/{tag}/init{seed}_ord{order_seed}",
    "prefix": "prefix/e{epochs}/k{k}/init{seed}",
    "strategy": "strategy/{name}/e{epochs}/init{seed}",
    "groups": "groups/e{epochs}/{grouping}{m}/init{seed}/g{groups}",
    "groups_packed": "groups/e{epochs}/{grouping}{m}/seeds{seeds}/g{groups}",
    "alone": "alone/e{epochs}/init{seed}/g{groups}",
    "alone_packed": "alone/e{epochs}/seeds{seeds}/g{groups}",
    "warm": "warm/e{epochs}/from{warm}/{grouping}{m}/init{seed}/g{groups}",
    "warm_packed": "warm/e{epochs}/from{warm}/{grouping}{m}/seeds{seeds}/g{groups}",
    "equal": "equal/e{epochs}/steps{steps}/{grouping}{m}/init{seed}/g{groups}",
    "equal_packed": "equal/e{epochs}/steps{steps}/{grouping}{m}/seeds{seeds}/g{groups}",
}


def records(paths: Iterable[str]) -> list[str]:
    """The records files of runs (run paths under runs/)."""
    return [f"{RUNS}/{p}/records.csv" for p in paths]


def each(paths: Iterable[str]) -> list[list[str]]:
    """One instance per run: its records file."""
    return [records([p]) for p in paths]


def snapshot_file(path: str, epoch: int) -> str:
    """The declared snapshot of share-all run `path` at `epoch`."""
    return f"{SNAPSHOTS}/{path}/epoch{epoch}.pt"


def similarity_file(grouping: str) -> str:
    return f"{INTERFERENCE}/{grouping}/similarity.csv"


def partition_file(grouping: str, m: int) -> str:
    """A measured partition of the children into m groups."""
    return f"{INTERFERENCE}/{grouping}/m{m}.csv"


def finetune_file(epoch: int, seed: int = 0) -> str:
    """Finetuning records of "different seeds" instance `seed` from its snapshot at `epoch`."""
    return f"{FINETUNE}/init{seed}/epoch{epoch}.csv"


def recalibration_file(path: str) -> str:
    return f"{RECALIBRATION}/{path}.csv"


def telemetry_file(path: str) -> str:
    return f"{TELEMETRY}/{path}.csv"
