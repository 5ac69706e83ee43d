"""SLURM: the pre-flight checks, packing, `nas submit` / sweeps and the workflow itself on the
live single-node cluster of tests/slurm (tests marked `slurm`; see tests/slurm/README.md).

The live workflow test runs `snakemake --profile profiles/slurm` on a tiny slice of the quick
preset (tests/slurm/slice.yaml) in a copy of the repository, overriding only what a user of
another cluster would: the NAS_SLURM_* variables, the first status check (2 s, not 40 s) and
the cores and memory per GPU (this node has 2 CPUs). While it runs, one training job gets
SLURM's time-limit warning (SIGURG, as `--signal=URG@300` sends it) and the other is requeued
as by preemption (SIGTERM); both must checkpoint, resume, and end with the records of an
uninterrupted run, byte for byte.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml

from nas.cli import main
from nas.cluster import slurm
from nas.study.paths import RUN_PATTERNS
from tests.conftest import ROOT, copy_repo

SLICE = ["--configfile", "config/quick.yaml", "tests/slurm/slice.yaml"]
CLUSTER_ENV = {
    slurm.ACCOUNT: "root",
    slurm.PARTITION: "debug",
    slurm.GPU_PARTITION: "debug",
}
GPU_RULE_OVERRIDES = {"cpus_per_task": 1, "mem_mb": 2000}  # this node: 2 CPUs, 1 (fake) GPU
SLICE_RUN_LIMIT_S = 420  # `timeout -s KILL`: Snakemake ignores SIGTERM while it waits for SLURM

NO_SLURM = (
    "no SLURM here (`sinfo` not found); tests/slurm/setup_slurm.sh brings up the single-node "
    "test cluster"
)


def live(test):
    """Marks a test that needs the live cluster: `slurm`, skipped where there is no SLURM."""
    return pytest.mark.slurm(
        pytest.mark.skipif(shutil.which("sinfo") is None, reason=NO_SLURM)(test)
    )


# -- helpers ----------------------------------------------------------------------------------


def slurm_log_folder(run: str) -> str:
    """The SLURM plugin's log folder of a training job: its wildcards' values joined by "_"
    (the run path parsed with its pattern, nas.study.paths.RUN_PATTERNS)."""
    for pattern in RUN_PATTERNS.values():
        regex = re.escape(pattern)
        for name in re.findall(r"{(\w+)}", pattern):
            value = r"\d+" if name in ("epochs", "seed", "order_seed", "k", "m") else "[^/]+?"
            regex = regex.replace(re.escape("{" + name + "}"), f"({value})")
        if m := re.fullmatch(regex, run):
            return "_".join(m.groups())
    raise ValueError(f"{run} matches no run pattern")


def cluster_env(workdir: Path, **changes: str | None) -> dict[str, str]:
    """The environment of a user of this cluster; `nas` is imported from the copy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_"))}
    env.update(CLUSTER_ENV)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(workdir), env.get("PYTHONPATH")]))
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def gpu_rule_resources() -> list[str]:
    """`--set-resources` for this node: the profile's own entries with fewer cores and less
    memory per GPU. (A --set-resources on the command line replaces the profile's whole
    mapping, so every entry is repeated.)"""
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    out = []
    for rule, resources in profile["set-resources"].items():
        for key, value in resources.items():
            value = GPU_RULE_OVERRIDES.get(key, value) if "gpu" in resources else value
            out.append(f"{rule}:{key}={value}")
    return out


def snakemake_cmd(*args: str, limit: int = SLICE_RUN_LIMIT_S) -> list[str]:
    return [
        "timeout",
        "-s",
        "KILL",
        str(limit),
        sys.executable,
        "-m",
        "snakemake",
        *args,
        "--profile",
        "profiles/slurm",
        *SLICE,
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--latency-wait",
        "5",
        "--set-resources",
        *gpu_rule_resources(),
    ]


SACCT_FIELDS = ["JobIDRaw", "JobName", "Partition", "State", "ExitCode", "AllocTRES", "WorkDir"]


def sacct(*args: str) -> list[dict[str, str]]:
    out = subprocess.run(
        ["sacct", "-X", "--parsable2", "--noheader", f"--format={','.join(SACCT_FIELDS)}", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, f"sacct failed: {out.stderr}"
    return [
        dict(zip(SACCT_FIELDS, line.split("|"), strict=False)) for line in out.stdout.splitlines()
    ]


def sacct_lines(rows: list[dict[str, str]]) -> str:
    return "\n".join("|".join(r.get(f, "") for f in SACCT_FIELDS[:-1]) for r in rows)


def poll(fn, timeout: float, interval: float = 0.5):
    """fn() until it returns something truthy (sacct lags the jobs by about a second)."""
    end = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > end:
            return value
        time.sleep(interval)


def scancel_name(name: str) -> None:
    subprocess.run(["scancel", "--name", name], capture_output=True, timeout=30)


@pytest.fixture(scope="session")
def cluster():
    """The live cluster answers, accounting included (Snakemake's status checks need sacct)."""
    for cmd in (["sinfo", "--noheader"], ["sacct", "--noheader", "-X", "-j", "1"]):
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            pytest.fail(
                f"`{' '.join(cmd)}` failed: {out.stderr.strip()}; is the cluster up (and "
                "slurmdbd/MariaDB)? Rerun tests/slurm/setup_slurm.sh"
            )
    return CLUSTER_ENV


# -- pre-flight (no cluster needed: SLURM's commands are faked) -------------------------------

SINFO = "debug|gpu:1\ncpu|(null)\ngpu|gpu:a100:4\n"


def fake_slurm(sinfo: str | None = SINFO, accounts: str | None = "proj\nother\n"):
    def run(argv):
        if argv[0] == "sinfo" and "--format=%P" in argv:  # partitions, the default one starred
            return 0, "debug*\ncpu\ngpu\n", ""
        if argv[0] == "sinfo":
            return None if sinfo is None else (0, sinfo, "")
        if argv[0] == "sacctmgr":
            return None if accounts is None else (0, accounts, "")
        raise AssertionError(argv)

    return run


def env_request(**env: str) -> slurm.Request:
    return slurm.Request.from_env(env)


GOOD = {slurm.ACCOUNT: "proj", slurm.PARTITION: "cpu", slurm.GPU_PARTITION: "gpu"}


def test_preflight_accepts_a_good_setup():
    assert slurm.check(env_request(**GOOD), fake_slurm(), user="me") == []


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            {slurm.ACCOUNT: None},
            "NAS_SLURM_ACCOUNT is not set: export NAS_SLURM_ACCOUNT=<account> (yours: other, proj)",
        ),
        (
            {slurm.ACCOUNT: "nope"},
            "SLURM account 'nope' is not one of user me's accounts "
            "(yours: other, proj): set NAS_SLURM_ACCOUNT to one of them",
        ),
        (
            {slurm.PARTITION: None},
            "NAS_SLURM_PARTITION is not set: export "
            "NAS_SLURM_PARTITION=<partition> (partitions: cpu, debug, gpu)",
        ),
        (
            {slurm.PARTITION: "short"},
            "SLURM partition 'short' (from NAS_SLURM_PARTITION) does "
            "not exist; partitions: cpu, debug, gpu. Set NAS_SLURM_PARTITION to one of them",
        ),
        ({slurm.GPU_PARTITION: None}, "NAS_SLURM_GPU_PARTITION is not set"),
        (
            {slurm.GPU_PARTITION: "cpu"},
            "SLURM partition 'cpu' (from NAS_SLURM_GPU_PARTITION) has "
            "no GPUs (gres: (null)), but the training jobs ask for one. "
            "Set NAS_SLURM_GPU_PARTITION to a partition with gres/gpu: debug, gpu",
        ),
    ],
    ids=[
        "account-unset",
        "account-wrong",
        "partition-unset",
        "partition-wrong",
        "gpu-partition-unset",
        "gpu-partition-without-gpus",
    ],
)
def test_preflight_names_the_variable_to_set(change, expected):
    env = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    problems = slurm.check(env_request(**env), fake_slurm(), user="me")
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_preflight_without_slurm_or_accounting():
    problems = slurm.check(env_request(**GOOD), fake_slurm(sinfo=None), user="me")
    assert problems == [
        "`sinfo` not found: this machine is not a SLURM login node (use profiles/local)"
    ]
    # no sacctmgr (or no associations): the account cannot be checked, the rest still is
    req = env_request(**{**GOOD, slurm.ACCOUNT: "anything"})
    assert slurm.check(req, fake_slurm(accounts=None), user="me") == []
    assert slurm.check(req, fake_slurm(accounts=""), user="me") == []


class FakeJob:
    def __init__(self, resources: dict, local: bool = False) -> None:
        self.resources, self.is_local = resources, local

    def is_group(self) -> bool:
        return False


def test_preflight_reads_what_the_jobs_ask_for():
    """The onstart hook checks the jobs' evaluated resources; an unexported variable of the
    profile arrives as the literal `$NAME` and is reported by that name."""
    jobs = [
        FakeJob({"slurm_account": "$NAS_SLURM_ACCOUNT", "slurm_partition": "cpu"}),
        FakeJob({"slurm_account": "$NAS_SLURM_ACCOUNT", "slurm_partition": "cpu", "gpu": 1}),
        FakeJob({"slurm_partition": "nowhere"}, local=True),  # localrules: not submitted
    ]
    req = slurm.request_of_jobs(jobs, run=fake_slurm())
    assert req.partitions == [("cpu", slurm.PARTITION, False), ("cpu", slurm.GPU_PARTITION, True)]
    problems = slurm.check(req, fake_slurm(), user="me")
    assert [p.split(":")[0] for p in problems] == [
        "NAS_SLURM_ACCOUNT is not set",
        "SLURM partition 'cpu' (from NAS_SLURM_GPU_PARTITION) has no GPUs (gres",
    ]
    no_account = slurm.request_of_jobs(jobs, no_account=True, run=fake_slurm())
    assert slurm.check(no_account, fake_slurm(), user="me") == problems[1:]


def test_preflight_when_the_profile_resources_were_replaced():
    """A --default-resources/--set-resources on the command line replaces the profile's mapping:
    the jobs then name no account and no partition (SLURM's default partition is used)."""
    req = slurm.request_of_jobs([FakeJob({"gpu": 1})], run=fake_slurm())
    problems = slurm.check(req, fake_slurm(), user="me")
    assert problems[0].startswith("the jobs name no SLURM account (resource slurm_account;")
    assert "--slurm-no-account" in problems[0]
    assert len(problems) == 1  # default partition "debug" has a GPU


def test_preflight_error_exits_with_the_message():
    err = slurm.PreflightError(["NAS_SLURM_PARTITION is not set"])
    assert isinstance(err, SystemExit)
    assert "NAS_SLURM_PARTITION is not set" in str(err.code)
    assert "nothing was submitted" in str(err.code)


# -- data and packing (no cluster needed) ------------------------------------------------------


def test_cli_train_on_an_offline_node_without_cifar10_says_how_to_get_it(tmp_path, capsys):
    code = main(
        [
            "train",
            "--set",
            "dataset=cifar10",
            "--set",
            f"data_root={tmp_path / 'data'}",
            "--set",
            "device=cpu",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"nas download cifar10 --root {tmp_path / 'data'}" in err
    assert not (tmp_path / "run" / "records.csv").exists()


PACK = [
    "dataset=digits",
    "epochs=1",
    "batch_size=256",
    "n_nodes=1",
    "stem_channels=8",
    "cell_channels=4",
    "n_cells=2",
    "dense_last=2",
    "eval_batch_size=512",
    "device=cpu",
    "threads=1",
    "sharing=groups",
    "m=4",
    "grouping=similar",
    "order=fixed",
]


def test_packing_groups_into_one_job_changes_no_record(tmp_path):
    """Groups 0-3 trained one after another in one process (one SLURM job) give the records
    of four separate jobs, byte for byte, per group and concatenated."""
    sets = sum((["--set", s] for s in PACK), [])
    assert main(["train", *sets, "--groups", "0-3", "--out", str(tmp_path / "packed")]) == 0
    bodies = []
    for g in range(4):
        alone = tmp_path / f"alone{g}"
        assert main(["train", *sets, "--groups", str(g), "--out", str(alone)]) == 0
        one = (alone / f"g{g:03d}" / "records.csv").read_bytes()
        assert (tmp_path / "packed" / f"g{g:03d}" / "records.csv").read_bytes() == one
        bodies.append(one.split(b"\n", 1)[1])
    header = one.split(b"\n", 1)[0]
    packed = (tmp_path / "packed" / "records.csv").read_bytes()
    assert packed == header + b"\n" + b"".join(bodies)


@pytest.mark.slow
@pytest.mark.parametrize(
    "seeds, rule, jobs", [(10, "train_alone_packed", "4"), (1, "train_alone", "12")]
)
def test_slurm_dry_run_shows_the_packed_job_count(tmp_path, seeds, rule, jobs):
    """groups_per_job=16: the ground truth (64 children trained alone) is 4 SLURM jobs per seed
    pack, e.g. `--groups 16-31`; the 3 seeds are packed into one model (seeds_per_job) -> 4
    training jobs, not 192; with seeds_per_job=1, 12."""
    repo = copy_repo(tmp_path)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "results/ground_truth.csv",
            "-n",
            "--profile",
            "profiles/slurm",
            "--configfile",
            "config/quick.yaml",
            "--config",
            "groups_per_job=16",
            f"seeds_per_job={seeds}",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        env=cluster_env(repo),
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", text.split("Job stats:")[1], re.M))
    assert counts[rule] == jobs, counts
    groups = sorted(set(re.findall(r"--groups (\d+-\d+) .*--out\S* '?results/runs/alone/", text)))
    assert groups == ["0-15", "16-31", "32-47", "48-63"]
    assert "gpu=1" in text and "slurm_partition=debug" in text  # the GPU rule's resources


# -- live cluster -----------------------------------------------------------------------------

JOB_SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")
# the rule's flags (--overwrite --die-with-parent) follow --out
TRAIN_CMD = re.compile(
    r"Shell command: (nas train .* --out results/runs/(\S+)(?: --[a-z-]+)*) > (\S+) 2>&1"
)
RUN_ID = re.compile(r"SLURM run ID: (\S+)")


@dataclass
class Interruption:
    run: str
    how: str  # "urg": time-limit warning (scancel --signal=URG); "requeue": preemption
    jobid: str = ""
    sent_at: float = 0.0
    last_sent: float = 0.0
    signal_line: str = ""


@dataclass
class SliceRun:
    workdir: Path
    returncode: int
    log: str
    seconds: float
    run_id: str = ""
    rules: dict[str, str] = field(default_factory=dict)  # SLURM job id -> rule
    runs: dict[str, list[str]] = field(default_factory=dict)  # train run -> SLURM job ids
    interruptions: dict[str, Interruption] = field(default_factory=dict)
    rows: list[dict[str, str]] = field(default_factory=list)
    references: dict[str, Path] = field(default_factory=dict)
    reference_errors: list[str] = field(default_factory=list)

    def sacct_text(self) -> str:
        return sacct_lines(self.rows)

    def explain(self) -> str:
        return f"sacct:\n{self.sacct_text()}\n--- snakemake log (tail) ---\n{self.log[-4000:]}"


class References(threading.Thread):
    """Uninterrupted local runs of the training commands Snakemake printed, one after another,
    while the cluster works (exactly the same arguments, another --out)."""

    def __init__(self, workdir: Path, out: Path) -> None:
        super().__init__(daemon=True)
        self.workdir, self.out = workdir, out
        self.todo: list[tuple[str, str]] = []
        self.done: dict[str, Path] = {}
        self.errors: list[str] = []
        self.closed = threading.Event()
        self.lock = threading.Lock()

    def add(self, run: str, command: str) -> None:
        with self.lock:
            self.todo.append((run, command))

    def run(self) -> None:
        while True:
            with self.lock:
                item = self.todo.pop(0) if self.todo else None
            if item is None:
                if self.closed.is_set():
                    return
                time.sleep(0.2)
                continue
            run, command = item
            out = self.out / run
            argv = shlex.split(command)[1:]  # drop "nas"; the copy's nas via PYTHONPATH
            argv[argv.index("--out") + 1] = str(out)
            done = subprocess.run(
                [sys.executable, "-m", "nas", *argv],
                cwd=self.workdir,
                capture_output=True,
                text=True,
                env=cluster_env(self.workdir),
            )
            if done.returncode == 0:
                self.done[run] = out / "records.csv"
            else:
                self.errors.append(f"{run}: {done.stderr[-2000:]}")


@pytest.fixture(scope="module")
def slice_run(cluster, tmp_path_factory) -> SliceRun:
    """`snakemake --profile profiles/slurm results/ground_truth.csv` on the slice, with the
    first training job warned of its time limit and the second one preempted mid-run."""
    workdir = copy_repo(tmp_path_factory.mktemp("slurm_repo"))
    logfile = workdir / "snakemake.out"
    refs = References(workdir, tmp_path_factory.mktemp("uninterrupted"))
    refs.start()
    start = time.monotonic()
    with open(logfile, "w") as sink:
        proc = subprocess.Popen(
            snakemake_cmd("results/ground_truth.csv"),
            cwd=workdir,
            env=cluster_env(workdir),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    result = SliceRun(workdir, -1, "", 0.0)
    hows = ["urg", "requeue"]
    try:
        while proc.poll() is None:
            if time.monotonic() - start > SLICE_RUN_LIMIT_S + 10:
                os.killpg(proc.pid, signal.SIGKILL)
                break
            text = logfile.read_text()
            if not result.run_id and (m := RUN_ID.search(text)):
                result.run_id = m[1]
            for command, run, _ in TRAIN_CMD.findall(text):
                if run not in result.interruptions and hows:
                    result.interruptions[run] = Interruption(run, hows.pop(0))
                    refs.add(run, command)
            for _, jobid, log in JOB_SUBMITTED.findall(text):
                rule = re.search(r"slurm_logs/rule_([^/]+)/", log)
                result.rules[jobid] = rule[1] if rule else "?"
                for run in result.interruptions:
                    if f"/rule_train_alone/{slurm_log_folder(run)}/" in log:
                        ids = result.runs.setdefault(run, [])
                        if jobid not in ids:
                            ids.append(jobid)
            for run, it in result.interruptions.items():
                _interrupt(workdir, run, it, result.runs.get(run, []))
            time.sleep(0.05)
        result.returncode = proc.wait()
    finally:
        result.seconds = time.monotonic() - start
        if result.run_id and result.returncode != 0:
            scancel_name(result.run_id)  # leftovers of a failed or killed run
        refs.closed.set()
    result.log = logfile.read_text()
    refs.join(timeout=120)
    result.references, result.reference_errors = refs.done, refs.errors
    if result.run_id:
        want = set(result.rules)
        result.rows = poll(
            lambda: (
                (rows := sacct("--duplicates", "--name", result.run_id))
                and want <= {r["JobIDRaw"] for r in rows}
                and all(r["State"] not in ("RUNNING", "PENDING") for r in rows)
                and rows
            ),
            timeout=15,
        ) or sacct("--duplicates", "--name", result.run_id)
    print(f"\nslice run on SLURM: {result.seconds:.0f} s, exit status {result.returncode}")
    print(result.sacct_text())
    for it in result.interruptions.values():
        log = workdir / "logs" / "train" / f"{it.run}.log"
        resumed = re.findall(r"^resumed from .*$", log.read_text() if log.exists() else "", re.M)
        print(f"{it.how} -> job {it.jobid}: {it.signal_line!r}; then {resumed}")
    return result


def _interrupt(workdir: Path, run: str, it: Interruption, jobids: list[str]) -> None:
    """Once the run's first job has finished its first epoch (so the trainer is inside its
    training loop, where it handles signals), stop it as SLURM would; then watch the train log
    for the trainer's checkpoint line (Snakemake deletes the log of a failed attempt, and a
    requeued job overwrites it)."""
    log = workdir / "logs" / "train" / f"{run}.log"
    if it.signal_line or not jobids or not log.exists():
        return
    text = log.read_text()
    now = time.monotonic()
    if m := re.search(r"^signal \d+: checkpoint saved at step \d+; exiting$", text, re.M):
        it.signal_line = m[0]
    elif not it.sent_at:
        if not re.search(r"^epoch 1/\d+ done", text, re.M):
            return
        it.jobid = jobids[0]
        cmd = (
            ["scancel", "--signal=URG", it.jobid]  # what --signal=URG@300 sends
            if it.how == "urg"
            else ["scontrol", "requeue", it.jobid]  # preemption: SIGTERM, KillWait, requeue
        )
        subprocess.run(cmd, check=True, capture_output=True, timeout=30)
        it.sent_at = it.last_sent = now
    elif now - it.sent_at > 30:
        it.signal_line = "(none within 30 s)"
    elif it.how == "urg" and now - it.last_sent > 0.5:
        # SIGURG is ignored outside the training loop (between two packed groups): repeat it
        subprocess.run(["scancel", "--signal=URG", it.jobid], capture_output=True, timeout=30)
        it.last_sent = now


@live
@pytest.mark.timeout(SLICE_RUN_LIMIT_S + 200)
def test_training_runs_as_separate_slurm_jobs_with_a_gpu(slice_run):
    r = slice_run
    assert r.returncode == 0, f"snakemake failed ({r.returncode})\n{r.explain()}"
    gt = pd.read_csv(r.workdir / "results" / "ground_truth.csv", dtype={"child": str})
    assert sorted(gt.child) == ["1", "2", "3", "4"], gt
    train = {j for j, rule in r.rules.items() if rule == "train_alone"}
    # 2 packed ground-truth jobs, plus the retry of the one stopped by its time-limit warning
    assert len(train) == 3 and len(r.runs) == 2, r.explain()
    assert not set(r.runs[min(r.runs)]) & set(r.runs[max(r.runs)]), r.explain()
    rows = {row["JobIDRaw"]: row for row in r.rows}
    assert train <= set(rows), r.explain()
    for jobid in train:
        assert "gres/gpu=1" in rows[jobid]["AllocTRES"], r.explain()
        assert rows[jobid]["Partition"] == "debug"
    others = [row for j, row in rows.items() if r.rules.get(j) == "ground_truth"]
    assert others and all("gres/gpu" not in row["AllocTRES"] for row in others), r.explain()


@live
@pytest.mark.timeout(SLICE_RUN_LIMIT_S + 200)
@pytest.mark.parametrize("how", ["urg", "requeue"])
def test_stopped_training_checkpoints_resumes_and_matches_an_uninterrupted_run(slice_run, how):
    """SLURM's signal reaches `nas train` through sbatch -> snakemake (jobstep) -> srun ->
    shell: the trainer saves its state and exits; the retry (time limit) or the requeued job
    (preemption) resumes from it and writes the uninterrupted run's records, byte for byte."""
    r = slice_run
    assert r.returncode == 0, f"snakemake failed ({r.returncode})\n{r.explain()}"
    (it,) = [i for i in r.interruptions.values() if i.how == how]
    signum = {"urg": signal.SIGURG, "requeue": signal.SIGTERM}[how]
    assert it.signal_line.startswith(f"signal {int(signum)}: checkpoint saved"), (
        f"{it}\n{r.explain()}"
    )
    log = (r.workdir / "logs" / "train" / f"{it.run}.log").read_text()
    assert re.search(r"^resumed from \S+/resume\.pt at step \d+/\d+$", log, re.M), log
    assert not r.reference_errors, r.reference_errors
    records = r.workdir / "results" / "runs" / it.run / "records.csv"
    assert records.read_bytes() == r.references[it.run].read_bytes()
    assert not list((r.workdir / "results" / "runs" / it.run).rglob("resume.pt"))
    rows = [row for row in r.rows if row["JobIDRaw"] in r.runs[it.run]]
    states = [row["State"].split()[0] for row in rows]
    if how == "urg":  # Snakemake's retry: a second SLURM job
        assert len(r.runs[it.run]) == 2 and states == ["FAILED", "COMPLETED"], r.explain()
    else:  # SLURM's requeue: the same job id, run twice
        assert len(r.runs[it.run]) == 1 and states[-1] == "COMPLETED", r.explain()
        assert states[0] in ("REQUEUED", "PREEMPTED", "CANCELLED"), r.explain()
        assert len(states) == 2, r.explain()


@live
@pytest.mark.timeout(180)
def test_preflight_stops_snakemake_before_any_job(cluster, tmp_path):
    """Wrong account and partition, no GPU partition: one message per variable to set, and
    not one job submitted."""
    repo = copy_repo(tmp_path)
    env = cluster_env(
        repo,
        **{slurm.ACCOUNT: "nosuchaccount", slurm.PARTITION: "nosuchpartition"},
        **{slurm.GPU_PARTITION: None},
    )
    out = subprocess.run(
        snakemake_cmd("results/ground_truth.csv", limit=150),
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    text = out.stdout + out.stderr
    run_id = RUN_ID.search(text)
    if run_id:
        scancel_name(run_id[1])
    assert out.returncode != 0, text[-3000:]
    assert "SLURM pre-flight failed; nothing was submitted" in text, text[-3000:]
    assert "SLURM account 'nosuchaccount' is not one of user" in text
    assert "set NAS_SLURM_ACCOUNT to one of them" in text
    assert "SLURM partition 'nosuchpartition' (from NAS_SLURM_PARTITION) does not exist" in text
    assert "NAS_SLURM_GPU_PARTITION is not set: export NAS_SLURM_GPU_PARTITION=" in text
    assert "has been submitted with SLURM jobid" not in text
    time.sleep(1.5)  # sacct lags
    assert run_id and sacct("--name", run_id[1]) == [], "a job was submitted"
    mine = [r for r in sacct("-S", "now-5minutes") if r["WorkDir"].startswith(str(repo))]
    assert mine == [], sacct_lines(mine)


@live
def test_preflight_on_the_live_cluster(cluster):
    assert slurm.check(slurm.Request.from_env(CLUSTER_ENV)) == []
    problems = slurm.check(
        slurm.Request.from_env({**CLUSTER_ENV, slurm.PARTITION: "nope", slurm.ACCOUNT: "nope"})
    )
    assert [p.split(" (")[0].split(":")[0] for p in problems] == [
        "SLURM account 'nope' is not one of user root's accounts",
        "SLURM partition 'nope'",
    ], problems


@live
@pytest.mark.timeout(300)
def test_nas_submit_runs_the_snakemake_controller_as_a_slurm_job(cluster, tmp_path):
    repo = copy_repo(tmp_path)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "nas",
            "submit",
            "--wait",
            "--hours",
            "1",
            "--",
            "results/ground_truth.csv",
            "-n",
            "--profile",
            "profiles/slurm",
            *SLICE,
        ],
        cwd=repo,
        env=cluster_env(repo),
        capture_output=True,
        text=True,
        timeout=200,
    )
    text = out.stdout + out.stderr
    jobid = re.search(r"as SLURM job (\d+)", text)
    assert jobid, text
    try:
        assert out.returncode == 0, text
        log = re.search(r"tail -f (\S+)", text)[1]
        assert f"sacct -j {jobid[1]}" in text
        content = (repo / log).read_text()
        assert "This was a dry-run" in content and "ground_truth" in content, content[-3000:]
        assert re.search(r"^train_alone\s+2$", content, re.M), content[-3000:]
        # slurmdbd may first record a job without its name, as "allocation", and fill the
        # name in later (seen once in CI): wait for the completed record to carry a name.
        rows = poll(
            lambda: [
                r
                for r in sacct("-j", jobid[1])
                if r["State"] == "COMPLETED" and r["JobName"] != "allocation"
            ],
            timeout=60,
        )
        print("\n" + sacct_lines(rows))
        assert rows and rows[0]["JobName"] == "nas-snakemake", sacct_lines(sacct("-j", jobid[1]))
        assert rows[0]["Partition"] == "debug" and "gres/gpu" not in rows[0]["AllocTRES"]
        assert "cpu=2" in rows[0]["AllocTRES"]
    except BaseException:
        subprocess.run(["scancel", jobid[1]], capture_output=True)
        raise


@live
@pytest.mark.timeout(240)
def test_sweep_submits_one_gpu_job_per_override(cluster, tmp_path):
    from nas.cluster.submit import sweep

    base = dict(s.split("=") for s in PACK[:11])  # a tiny share-all run
    jobs = sweep(
        [{"init_seed": 0}, {"init_seed": 1}],
        tmp_path / "sweep",
        base=base,
        partition="debug",
        account="root",
        cpus_per_task=1,
        mem_gb=2,
        timeout_min=10,
    )
    ids = [j.job_id for j in jobs]
    try:
        paths = [Path(j.result()) for j in jobs]
    except BaseException:
        subprocess.run(["scancel", *ids], capture_output=True)
        raise
    assert [p.parent.name for p in paths] == ["init_seed-0", "init_seed-1"]
    assert paths[0].read_bytes() != paths[1].read_bytes()
    rows = poll(
        lambda: (
            len(rows := sacct("-j", ",".join(ids))) == 2
            and all(r["State"] == "COMPLETED" for r in rows)
            and rows
        ),
        15,
    ) or sacct("-j", ",".join(ids))
    print("\n" + sacct_lines(rows))
    assert all("gres/gpu=1" in r["AllocTRES"] and r["State"] == "COMPLETED" for r in rows), (
        sacct_lines(rows)
    )
