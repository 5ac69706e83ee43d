"""The real Snakemake workflow: dry-runs of the full study, partial targets, bad configs, and
an end-to-end run of a reduced quick preset that checks every table's structure and ranges."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import copy_repo


def _smk(cwd: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["snakemake", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def _job_counts(out: str) -> dict[str, int]:
    table = out.split("Job stats:")[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("repo"))


def test_full_study_dry_run_lists_every_job_without_slurm(repo):
    out = _smk(repo, "-n", "--profile", "profiles/slurm", "--quiet", "rules")
    assert out.returncode == 0, out.stderr[-3000:]
    counts = _job_counts(out.stdout + out.stderr)
    # README formula, tests/test_plan.py: one rule per kind of run (nas.study.paths.RUN_PATTERNS);
    # share-all: 3 families, 10 long runs, 6 BN-momentum and 10 SGD-momentum runs
    assert counts["train_prefix"] == 100 and counts["train_share"] == 56
    assert counts["train_alone_packed"] == 8
    # groups: random, similar and the 2 measured groupings at m = 2..32 (9 jobs each); beyond
    # the paper, 2 warm-started groupings and 1 at equal compute
    assert counts["train_groups_packed"] == 36
    assert counts["train_warm_packed"] == 18 and counts["train_equal_packed"] == 9
    assert counts["similarity"] == 2 and counts["partition"] == 2 * 5
    # Tables 1-5 (3a, 3b), the in-text numbers, the prefix curve, rank aggregation, BN
    # recalibration, the trade-off; Figures 2-9, the prefix curve, the trade-off, the partitions
    assert counts["finetune"] == 2 * 10 and counts["table"] == 11 and counts["figure"] == 11
    # the 10 seeds' final weights for BN recalibration and epoch-100 snapshots (finetuning's,
    # the measured partitions' and the warm starts')
    assert counts["recalibrate"] == 10 and counts["snapshot"] == 20
    assert counts["download_cifar10"] == 1


def test_naming_one_table_builds_only_what_it_needs(repo):
    out = _smk(
        repo,
        "results/tables/table3a.csv",
        "-n",
        "--quiet",
        "rules",
        "--configfile",
        "config/quick.yaml",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    counts = _job_counts(out.stdout + out.stderr)
    # groups: 2 groupings x 5 m in 2..32 and 2 measured groupings x 2 m, the 3 instances
    # seed-packed into one job each; 3 seed instances (m = 1, share-all: not packed); the 3
    # ground-truth seeds (m = 64), one packed job; nothing for prefix, finetune or the
    # ablations but what the measured partitions read (a correlation, a gradient, 2 m each)
    assert counts["train_groups_packed"] == 14 and counts["train_alone_packed"] == 1
    assert counts["train_share"] == 3 and counts["similarity"] == 2
    assert counts["partition"] == 4 and counts["snapshot"] == 1
    assert counts["table"] == 1 and counts["ground_truth"] == 1
    assert "figure" not in counts and "finetune" not in counts


@pytest.mark.parametrize(
    "override, key",
    [
        ({"experiments": {"groups": {"m": [1, 3]}}}, "'m'"),
        ({"experiments": {"prefix": {"k": [7]}}}, "'k'"),
        ({"dataset": "imagenet"}, "dataset"),
        ({"run": {"epochs": 0}}, "epochs"),
        ({"run": {"dense_last": 5000}}, "'dense_last'"),
    ],
)
def test_invalid_config_stops_naming_the_key_before_any_job(repo, tmp_path, override, key):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(override))
    out = _smk(repo, "-n", "--configfile", "config/quick.yaml", str(bad))
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert key in text, text[-2000:]
    assert "Job stats" not in text


@pytest.mark.slow
def test_reduced_quick_preset_end_to_end(repo):
    out = _smk(
        repo,
        "--profile",
        "profiles/local",
        "--configfile",
        "config/quick.yaml",
        "tests/data/tiny.yaml",
        timeout=1500,
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-5000:]
    res = repo / "results"
    tables = ["table1", "table2", "table3a", "table3b", "table4", "table5", "intext"]
    tables += ["aggregation", "recalibration"]
    for name in [*tables, "prefix_curve"]:
        for ext in ("csv", "md", "tex"):
            assert (res / "tables" / f"{name}.{ext}").stat().st_size > 0
    for name in [*(f"figure{n}" for n in range(2, 10)), "prefix_curve"]:
        for ext in ("png", "pdf"):
            assert (res / "figures" / f"{name}.{ext}").stat().st_size > 1000
    t1 = pd.read_csv(res / "tables/table1.csv").set_index("experiment")
    assert t1.loc["different_seeds", "s_tau_paper"] == pytest.approx(0.5415)
    taus = t1[["s_tau", "max_tau", "min_tau"]].dropna()
    assert ((taus >= -1) & (taus <= 1)).all().all() and len(taus) >= 5
    assert (t1.max_tau.dropna() >= t1.min_tau.dropna()).all()
    t2 = pd.read_csv(res / "tables/table2.csv").set_index("experiment")
    assert t2.t1r_mean.dropna().between(1, 64).all() and t2.gt_tau_mean.between(-1, 1).all()
    ranked = t2.dropna(subset=["t1r_mean"])  # the split-half agreement row has no top-n ranks
    assert (ranked.t3r_mean <= ranked.t1r_mean).all()  # the best of 3 is as good as the top 1
    half = "split_half_agreement"
    assert t2.loc[half, "gt_tau_mean"] == pytest.approx(t1.loc[half, "s_tau"])
    assert t2.loc[half, "gt_tau_mean"] <= t2.loc["perfect_rank_bound", "gt_tau_mean"] <= 1
    t3a = pd.read_csv(res / "tables/table3a.csv")
    assert sorted(set(t3a.m)) == [1, 2, 16, 64]
    assert set(t3a.grouping) == {"random", "similar", "correlation", "gradient"}
    assert sorted(t3a[t3a.grouping == "gradient"].m) == [2, 16]  # experiments.interference.m
    assert t3a.mean64.between(-1, 1).all() and (t3a.std64 >= 0).all()
    _check_sharing_products(res)
    t4 = pd.read_csv(res / "tables/table4.csv")
    assert len(t4) == 4 and t4.acc_mean.between(0, 1).all()
    recal = pd.read_csv(res / "tables/recalibration.csv")
    assert list(recal.batches) == [0, 2] and recal.gt_tau_mean.between(-1, 1).all()
    assert (recal.n == 2).all() and recal.loc[0, "gain_mean"] == 0
    t5 = pd.read_csv(res / "tables/table5.csv", dtype={"child": str})
    assert len(t5) == 64 and sorted(t5["rank"]) == list(range(1, 65))
    assert t5.acc_mean.between(0, 100).all() and "acc_mean_paper" in t5
    _check_fidelity_products(res)
    rep = _smk(
        repo,
        "--profile",
        "profiles/local",
        "--configfile",
        "config/quick.yaml",
        "tests/data/tiny.yaml",
        "--report",
        "results/report.html",
    )
    assert rep.returncode == 0, rep.stderr[-3000:]
    assert (res / "report.html").stat().st_size > 10000
    findings = pd.read_csv(res / "findings.csv")
    assert len(findings) >= 15
    assert set(findings.verdict) <= {"supported", "contradicted", "inconclusive"}
    reasons = {"p_adj < alpha", "underpowered", "compatible with both"}
    reasons |= {"significant before adjustment only"}
    assert set(findings.reason) <= reasons | {"not testable at this scale", "descriptive (one run)"}
    known = findings.dropna(subset=["effect", "ci_low", "ci_high"])
    assert len(known) >= 10  # a mean lies inside its t-interval
    assert ((known.ci_low <= known.effect + 1e-9) & (known.effect <= known.ci_high + 1e-9)).all()
    units = pd.read_csv(res / "findings_units.csv")
    assert set(units.id) == set(findings.id[findings.n > 0])
    for seed in (0, 1):  # every "different seeds" instance is finetuned from its snapshots
        assert (res / f"finetune/init{seed}/epoch2.csv").stat().st_size > 0
    assert (findings.set_index("id").loc["a_long_similar", "n"]) == 2  # a long run per seed


def _check_sharing_products(res: Path) -> None:
    """Beyond the paper: measured partitions, the trade-off table and its figures."""
    for grouping in ("correlation", "gradient"):
        for m in (2, 16):
            part = pd.read_csv(res / f"interference/{grouping}/m{m}.csv", dtype={"child": str})
            assert len(part) == 64 and part.groupby("group").size().eq(64 // m).all()
    trade = pd.read_csv(res / "tables/tradeoff.csv").set_index("strategy")
    wanted = {"share-all", "groups:correlation/16", "warm:similar/16", "warm:correlation/16"}
    assert wanted | {"equal:similar/4", "prefix:3/2", "ground_truth"} <= set(trade.index)
    assert (trade.device_hours > 0).all() and trade.pareto.any()
    assert trade.device_hours.is_monotonic_increasing
    # a warm start pays share-all up to its epoch (1 of 2) and trains the other epoch
    assert (
        trade.loc["warm:similar/16", "device_hours"]
        < trade.loc["groups:similar/16", "device_hours"]
    )
    for name in ("tradeoff", "interference_partition"):
        assert (res / "figures" / f"{name}.png").stat().st_size > 1000


def _check_fidelity_products(res: Path) -> None:
    """The in-text numbers, the prefix curve and Figure 4's snapshot points of the tiny run."""
    t1 = pd.read_csv(res / "tables/table1.csv").set_index("experiment")
    assert {"different_epochs_median_all", "different_epochs_mean_all"} <= set(t1.index)
    intext = pd.read_csv(res / "tables/intext.csv").set_index("id")
    assert {"s32_last_epochs_s_tau", "s421_case_study_groups", "a22_sgd_momentum0_gt_tau"} <= set(
        intext.index
    )
    assert {"s43_prefix_first_above_k0", "s43_prefix_first_above_k2"} <= set(intext.index)
    taus = intext.loc[~intext.index.str.startswith("s43"), ["ours_low", "ours_high"]]
    assert ((taus >= -1) & (taus <= 1)).all().all() and (taus.ours_low <= taus.ours_high).all()
    curve = pd.read_csv(res / "tables/prefix_curve.csv")
    assert sorted(curve[curve.run_epochs == 3].epoch.unique()) == [2, 3]  # eval_every 2, last
    assert curve.gt_tau_mean.between(-1, 1).all()
    source = pd.read_csv(res / "runs/share/e2/fixed/base/init0_ord0/records.csv")
    snaps = source[source.point_kind == "snapshot"]
    assert (
        sorted(snaps.epoch.unique()) == [1, 2] and snaps.groupby("epoch").step.nunique().eq(3).all()
    )
    for epoch in (1, 2):  # declared by the snapshot rule, read by finetuning
        written = res / f"runs/share/e2/fixed/base/init0_ord0/snapshots/epoch_{epoch}.pt"
        declared = res / f"snapshots/share/e2/fixed/base/init0_ord0/epoch{epoch}.pt"
        assert declared.read_bytes() == written.read_bytes()


HOSTILE = "da ta; touch {m} $(touch {m}) `touch {m}` 'q\" #x & touch {m} | cat"


def _shell_commands(text: str) -> dict[str, str]:
    """The first dry-run shell command of each `nas` subcommand."""
    found: dict[str, str] = {}
    for cmd in re.findall(r"^Shell command: (nas .*)$", text, re.M):
        found.setdefault(cmd.split()[1], cmd)
    return found


def test_config_strings_reach_the_shell_quoted(repo, tmp_path):
    """Shell metacharacters in data_root (the free-text string the rules pass on) stay one
    argument: each rule's dry-run command, run by bash with a fake `nas`, runs nothing else."""
    marker = tmp_path / "pwned"
    root = HOSTILE.format(m=marker)
    bad = tmp_path / "hostile.yaml"
    bad.write_text(yaml.safe_dump({"dataset": "cifar10", "data_root": root}))
    out = _smk(repo, "-n", "-p", "--configfile", "config/quick.yaml", str(bad))
    assert out.returncode == 0, out.stderr[-3000:]
    commands = _shell_commands(out.stdout + out.stderr)
    assert set(commands) == {
        "download",
        "train",
        "train-packed",
        "finetune",
        "recalibrate",
        "interference",
        "partition",
    }
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "nas").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$NAS_ARGV"\n')
    (fake / "nas").chmod(0o755)
    for name, cmd in commands.items():
        argv = tmp_path / f"{name}.argv"
        env = {"PATH": f"{fake}:/usr/bin:/bin", "NAS_ARGV": str(argv)}
        log = re.search(r"> (\S+) 2>&1$", cmd)[1]
        (tmp_path / log).parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, env=env, capture_output=True)
        assert not marker.exists(), f"{name}: {cmd}"
        args = argv.read_text().splitlines() if argv.exists() else []
        reads_data = name not in ("interference", "partition")  # they read results/ only
        assert done.returncode == 0 and (
            not reads_data or root in args or f"data_root={root}" in args
        ), cmd


@pytest.mark.parametrize("key", ["device", "validation", "grad_clear", "eval_epochs"])
def test_run_strings_with_shell_metacharacters_are_refused_before_any_job(repo, tmp_path, key):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"run": {key: f"cpu; touch {tmp_path}/pwned"}}))
    out = _smk(repo, "-n", "-p", "--configfile", "config/quick.yaml", str(bad))
    text = out.stdout + out.stderr
    assert out.returncode != 0 and key in text and "Shell command" not in text


@pytest.mark.slow
def test_a_job_whose_parameters_changed_starts_afresh(tmp_path):
    """Snakemake reruns a job whose params changed: its run folders (a seed-packed job's
    member folders too, which Snakemake does not track) are retrained with the new
    arguments instead of failing or reusing the old records."""
    repo = copy_repo(tmp_path / "repo")
    pack = "results/runs/groups/e2/random2/seeds0-1/g0-1"
    targets = [f"{pack}/pack.csv", "results/runs/share/e2/fixed/base/init0_ord0/records.csv"]
    layers = ["--configfile", "config/quick.yaml", "tests/data/tiny.yaml"]
    first = _smk(repo, *targets, "--cores", "1", *layers)
    assert first.returncode == 0, first.stderr[-3000:]
    (repo / "changed.yaml").write_text("run:\n  lr: 0.05\n")
    second = _smk(repo, *targets, "--cores", "1", *layers, "changed.yaml")
    assert second.returncode == 0, second.stderr[-3000:]
    for run in [f"{pack}/init1", "results/runs/share/e2/fixed/base/init0_ord0"]:
        info = yaml.safe_load((repo / run / "run.json").read_text())
        assert info["config"]["lr"] == 0.05, run
