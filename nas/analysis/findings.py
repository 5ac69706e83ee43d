"""The paper's observations as tests, each with a verdict and its reason from this run's records.

A finding reduces the records to one value per *independent unit* (an instance: one init seed
or child order; never a mini-batch, a finetuning step or a group of one run) and hands them to
nas.analysis.stats with the claim registered for it in nas/analysis/reference/claims.yaml
(direction,
threshold, margin, family; nas.analysis.claims). Nothing here holds a threshold: a finding computes
its
statistic, and where the claim is against the ground truth, the baseline the claim names
(BASELINES, leave-one-out, held fixed: the inference is conditional on this run's ground truth).

Verdicts come from p-values adjusted over a family: Holm over the paper's claims
(confirmatory), Benjamini-Hochberg over those beyond the paper (exploratory). A finding that
this scale cannot test (prefix sharing needs 10x the epochs) or that rests on one run gets its
statistic and no verdict. ``units`` writes every unit's value, so each interval and adjusted p
can be recomputed from findings_units.csv alone.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nas.analysis import aggregation, claims, metrics, recalibration, reference, stats, tables
from nas.core.records import atomic_write_text
from nas.core.searchspace import partition
from nas.core.studyconfig import default


@dataclass
class Runs:
    """Everything findings read: loaded records of each experiment (empty when switched off).
    Lists are instances in seed order, so index i of two experiments is the same init seed."""

    gt: pd.DataFrame
    gt_instances: list[pd.Series] = field(default_factory=list)
    # run-set experiment (nas.core.runset.RunSet) -> its key's value -> loaded instances
    sets: dict[str, dict[Any, list[pd.DataFrame]]] = field(default_factory=dict)
    epochs: int = 0  # the super-nets' epochs (run.epochs), for the training-length ratios
    window: int = field(default_factory=partial(default, "window"))
    last_epochs: int = field(default_factory=partial(default, "last_epochs"))
    group_m: int = field(default_factory=partial(default, "figures.group_m"))
    partition_seed: int = field(
        default_factory=partial(default, "experiments.groups.partition_seed")
    )

    def of(self, experiment: str) -> dict[Any, list[pd.DataFrame]]:
        """An experiment's run sets by key value ((grouping, m) for groups, the epoch for
        finetuning, the name for a family): {} when it was not run."""
        return self.sets.get(experiment, {})

    def instances(self, experiment: str) -> list[pd.DataFrame]:
        """The instances of an experiment with one run set (the long runs, recalibration)."""
        return self.of(experiment).get((), [])


@dataclass
class Evidence:
    """One value per independent unit (unit id -> value), or for a pair-permutation claim
    the pair-taus among rank vectors (ids 'a:<item>~b:<item>' name each item's group)."""

    units: dict[str, float]
    paper: float | None = None
    paper_note: str = ""  # "same statistic" or why the paper's number is only context
    status: str = ""  # "" (tested), stats.NOT_TESTABLE or stats.DESCRIPTIVE
    note: str = ""  # what a test would take, or how the value was read


@dataclass(frozen=True)
class Finding:
    id: str
    compute: Callable[[Runs], Evidence | None]
    needs: str  # what the study must run for it (findings.md lists those not run)


FINDINGS: list[Finding] = []


def finding(fid: str, needs: str):
    """Register a finding function (in call order = the paper's order); its claim is the
    entry `fid` of the claims file, and `needs` says what config runs it."""

    def register(fn: Callable[[Runs], Evidence | None]) -> Callable[[Runs], Evidence | None]:
        FINDINGS.append(Finding(fid, fn, needs))
        return fn

    return register


# --------------------------------------------------------------------------- helpers


def _gt_acc(runs: Runs, children) -> pd.Series:
    return tables.gt_accuracy(runs.gt, children)


def gt_s_tau(runs: Runs) -> float:
    """S-Tau across the ground-truth seeds (NaN with fewer than two)."""
    if len(runs.gt_instances) < 2:
        return float("nan")
    return metrics.s_tau(runs.gt_instances)["mean"]


def _loo(runs: Runs, which: int) -> float:
    """The mean over ground-truth seeds of GT-Tau (which 0), T1R (1) or T3R (2), each seed
    against the mean of the others (tables.leave_one_out)."""
    if len(runs.gt_instances) < 2:
        return float("nan")
    return float(np.mean([s[which] for s in tables.leave_one_out_scores(runs.gt_instances)]))


def gt_loo_gt_tau(runs: Runs) -> float:
    """The ground truth's own GT-Tau: each seed against the mean of the others."""
    return _loo(runs, 0)


def gt_loo_t3r(runs: Runs) -> float:
    """The ground truth's own T3R: each seed's top 3 ranked by the mean of the others."""
    return _loo(runs, 2)


BASELINES: dict[str, Callable[[Runs], float]] = {
    "gt_s_tau": gt_s_tau,
    "gt_loo_gt_tau": gt_loo_gt_tau,
    "gt_loo_t3r": gt_loo_t3r,
}


def _window_taus(inst: pd.DataFrame, runs: Runs) -> pd.Series:
    """GT-Tau of each of the last `window` dense points of an instance (all of them where it
    has fewer), by tables.window_taus."""
    dense = tables.dense_matrix(inst)
    return tables.window_taus(dense, runs.gt, min(runs.window, len(dense)))


def _windowed(inst: pd.DataFrame, runs: Runs) -> tuple[float, float]:
    """GT-Tau-Mean-k and GT-Tau-Std-k of that window, as tables.window_gt_tau."""
    return metrics.mean_std(_window_taus(inst, runs))


def _rank_corr(xs: list[float], ys: list[float]) -> float:
    """Kendall tau of ys against xs: +1 when ys grow with xs, -1 when they fall."""
    return metrics.kendall_tau(pd.Series(xs, dtype=float), pd.Series(ys, dtype=float))


def _per_instance(values: list[float], what: str = "instance") -> dict[str, float]:
    return {f"{what}{i}": float(v) for i, v in enumerate(values)}


def _share_finals(runs: Runs) -> dict[str, pd.Series]:
    """Every share-all instance's final accuracies, by '<family>/<i>'."""
    return {
        f"{name}/{i}": tables.final_accuracy(inst)
        for name, insts in runs.of("family").items()
        for i, inst in enumerate(insts)
    }


def _paper_3a(grouping: str, column: str) -> dict[int, float]:
    t = reference.paper_table("table3a")
    t = t[t["grouping"] == grouping]
    return dict(zip(t["m"].astype(int), t[column].astype(float), strict=True))


# --------------------------------------------------------------------------- Section 3


def _instability(name: str) -> Callable[[Runs], Evidence | None]:
    def compute(runs: Runs) -> Evidence | None:
        insts = runs.of("family").get(name) or []
        if len(insts) < 2 or len(runs.gt_instances) < 2:
            return None
        items = [(f"a:{i}", tables.final_accuracy(x)) for i, x in enumerate(insts)]
        items += [(f"b:gt{i}", a) for i, a in enumerate(runs.gt_instances)]
        units = {
            f"{p}~{q}": metrics.kendall_tau(a, b)
            for (p, a), (q, b) in itertools.combinations(items, 2)
        }
        paper = reference.paper_table("table1").set_index("experiment")["s_tau"]
        return Evidence(units, paper[name] - 0.71, "context: the paper's ground-truth S-Tau 0.71")

    return compute


for _name in ("different_seeds", "different_orders", "different_orders_shuffle"):
    finding(f"obs1_{_name}", f"experiments.{_name} and ground_truth.seeds >= 2")(
        _instability(_name)
    )


@finding("obs2_has_correlation", "a share-all family (experiments.different_seeds)")
def _obs2_correlation(runs: Runs) -> Evidence | None:
    finals = _share_finals(runs)
    if not finals:
        return None
    units = {k: metrics.gt_tau(a, _gt_acc(runs, a.index)) for k, a in finals.items()}
    return Evidence(units, 0.4567, "context: the paper's different-seeds row of Table 2")


@finding("obs2_far_from_ground_truth", "a share-all family and ground_truth.seeds >= 2")
def _obs2_far(runs: Runs) -> Evidence | None:
    finals = _share_finals(runs)
    if not finals or len(runs.gt_instances) < 2:
        return None
    units = {k: metrics.gt_tau(a, _gt_acc(runs, a.index)) for k, a in finals.items()}
    return Evidence(units, 0.4567 - 0.7985, "context: Table 2, ground truth not leave-one-out")


@finding("obs2_top3", "a share-all family and ground_truth.seeds >= 2")
def _obs2_top3(runs: Runs) -> Evidence | None:
    finals = _share_finals(runs)
    if not finals or len(runs.gt_instances) < 2:
        return None
    rank = tables.gt_rank(runs.gt)
    units = {k: float(metrics.top_n_rank(a, rank, 3)) for k, a in finals.items()}
    return Evidence(units, 17.6 - 1.6, "context: Table 2, ground truth not leave-one-out")


@finding("obs3_last_epochs", "experiments.different_orders_shuffle")
def _obs3(runs: Runs) -> Evidence | None:
    insts = runs.of("family").get("different_orders_shuffle") or []
    if not insts:
        return None
    values = []
    for inst in insts:
        matrix = tables.dense_matrix(inst)
        rows = tables.last_rows(matrix, min(runs.window, len(matrix)), "dense window")
        values.append(metrics.s_tau(tables.row_list(rows))["mean"])
    return Evidence(_per_instance(values), 0.5310 - 0.71, "context: last 10 of 200 epochs")


# --------------------------------------------------------------------------- Section 4


@finding("s41_gt_tau_varies", "experiments.different_seeds")
def _s41(runs: Runs) -> Evidence | None:
    insts = runs.of("family").get("different_seeds") or []
    if not insts:
        return None
    values = [_windowed(i, runs)[1] for i in insts]
    return Evidence(_per_instance(values), 0.1497, "context: the paper's window of 64")


def _group_values(runs: Runs, grouping: str, index: int) -> dict[int, list[float]]:
    """m -> per-instance GT-Tau-Mean-k (index 0) or Std-k (index 1) for one grouping (m = 1,
    share-all, and m = every child, the ground truth, belong to every grouping)."""
    out = {}
    for (g, m), insts in runs.of("groups").items():
        if g == grouping or m in (1, len(runs.gt.index)):
            out.setdefault(m, [_windowed(i, runs)[index] for i in insts])
    return dict(sorted(out.items()))


def _random_means(runs: Runs) -> tuple[dict[int, list[float]], list[int], int] | None:
    """Random grouping's per-instance GT-Tau-Mean-k, its middle m and its largest m."""
    if not any(g == "random" for g, _ in runs.of("groups")):
        return None
    means = _group_values(runs, "random", 0)
    ms = list(means)
    if 1 not in means or len(ms) < 3:
        return None
    return means, ms[1:-1], ms[-1]


def _paper_note(ms: list[int]) -> str:
    return f"same statistic over m = {', '.join(map(str, ms))} (Table 3a)"


@finding("s421_random_backfires", "experiments.groups: random, 3 or more m with m = 1")
def _s421_backfires(runs: Runs) -> Evidence | None:
    found = _random_means(runs)
    if found is None:
        return None
    means, middle, _ = found
    n = min(len(means[m]) for m in [1, *middle])
    values = [float(np.mean([means[m][i] - means[1][i] for m in middle])) for i in range(n)]
    p = _paper_3a("random", "mean64")
    paper = float(np.mean([p[m] for m in middle])) - p[1] if all(m in p for m in middle) else None
    return Evidence(_per_instance(values), paper, _paper_note([1, *middle]))


@finding("s421_random_u_shape", "experiments.groups: random, 3 or more m with m = 1")
def _s421_u(runs: Runs) -> Evidence | None:
    found = _random_means(runs)
    if found is None:
        return None
    means, middle, top = found
    n = min(len(v) for v in means.values())
    values = [
        min(means[1][i], means[top][i]) - float(np.mean([means[m][i] for m in middle]))
        for i in range(n)
    ]
    p = _paper_3a("random", "mean64")
    ms = [1, *middle, top]
    paper = None
    if all(m in p for m in ms):
        paper = min(p[1], p[top]) - float(np.mean([p[m] for m in middle]))
    need = claims.registry().claims["s421_random_u_shape"].min_largest_m
    if top >= need:
        return Evidence(_per_instance(values), paper, _paper_note(ms))
    note = (
        f"the largest m trained is {top}; the paper's rise comes after its minimum at m = 16, "
        f"so the U needs m >= {need:g} (experiments.groups.m)"
    )
    return Evidence(_per_instance(values), paper, _paper_note(ms), stats.NOT_TESTABLE, note)


@finding("s421_case_study", "experiments.groups: random at figures.group_m")
def _case_study(runs: Runs) -> Evidence | None:
    group_insts = runs.of("groups").get(("random", runs.group_m)) or []
    if not group_insts or not _share_all(runs):
        return None
    values = [
        float(np.mean([g - s for g, s in case_study_pairs(runs, i)]))
        for i in range(min(len(group_insts), len(_share_all(runs))))
    ]
    return Evidence(_per_instance(values), 0.2570 - 0.5610, "context: one instance, m = 16")


def case_study_pairs(runs: Runs, index: int = 0) -> list[tuple[float, float]] | None:
    """Section 4.2.1's case study, per group of the random partition (m = group_m) of
    instance `index`: GT-Tau-Mean-k of the group run, and of the m = 1 run on the same
    children."""
    group_insts = runs.of("groups").get(("random", runs.group_m)) or []
    share_insts = _share_all(runs)
    if len(group_insts) <= index or len(share_insts) <= index:
        return None
    group_m = tables.dense_matrix(group_insts[index])
    share_m = tables.dense_matrix(share_insts[index])
    children = sorted(group_m.columns)
    w = min(runs.window, len(group_m), len(share_m))
    pairs = []
    for members in partition(children, runs.group_m, "random", runs.partition_seed):
        gt = _gt_acc(runs, members)
        pairs.append(
            (
                metrics.windowed_gt_tau(group_m[members], gt, w)[0],
                metrics.windowed_gt_tau(share_m[members], gt, w)[0],
            )
        )
    return pairs


def _trend(runs: Runs, grouping: str, index: int, column: str) -> Evidence | None:
    if not any(g == grouping for g, _ in runs.of("groups")):
        return None
    per_m = _group_values(runs, grouping, index)
    if len(per_m) < 3:
        return None
    ms = list(per_m)
    n = min(len(v) for v in per_m.values())
    values = [_rank_corr(ms, [per_m[m][i] for m in ms]) for i in range(n)]
    p = _paper_3a(grouping, column)
    paper = _rank_corr(ms, [p[m] for m in ms]) if all(m in p for m in ms) else None
    return Evidence(_per_instance(values), paper, _paper_note(ms))


@finding("s422_similar_mean_rises", "experiments.groups: similar, 3 or more m")
def _s422_mean(runs: Runs) -> Evidence | None:
    return _trend(runs, "similar", 0, "mean64")


@finding("s422_similar_std_falls", "experiments.groups: similar, 3 or more m")
def _s422_std(runs: Runs) -> Evidence | None:
    return _trend(runs, "similar", 1, "std64")


def _prefix_at(runs: Runs, epochs: int) -> dict[int, list[pd.DataFrame]]:
    return dict(sorted((k, insts) for (e, k), insts in runs.of("prefix").items() if e == epochs))


def _prefix_scale(runs: Runs, fid: str) -> tuple[str, str]:
    """(status, note): not testable when the longest prefix training is shorter than the
    ratio to the super-nets' epochs that the claim needs."""
    need = claims.registry().claims[fid].min_epoch_ratio
    longest = max(e for e, _ in runs.of("prefix"))
    ratio = longest / runs.epochs if runs.epochs else float("inf")
    if ratio >= need:
        return "", ""
    note = (
        f"prefix runs of {longest} epochs are {ratio:.3g}x the super-nets' {runs.epochs}; "
        f"the paper's effect needs {need:g}x (experiments.prefix.epochs >= "
        f"{int(need * runs.epochs)}), and Table 4 shows it reversed at 1x"
    )
    return stats.NOT_TESTABLE, note


def _prefix_trend(runs: Runs, what: str, fid: str) -> Evidence | None:
    if not runs.of("prefix"):
        return None
    per_k = _prefix_at(runs, max(e for e, _ in runs.of("prefix")))
    if len(per_k) < 2:
        return None
    ks = list(per_k)
    n = min(len(v) for v in per_k.values())

    def value(inst: pd.DataFrame) -> float:
        if what == "tau":
            return _windowed(inst, runs)[0]
        matrix = tables.dense_matrix(inst)
        return float(matrix.iloc[-min(runs.window, len(matrix)) :].to_numpy().mean())

    values = [_rank_corr(ks, [value(per_k[k][i]) for k in ks]) for i in range(n)]
    t4 = reference.paper_table("table4")
    long = t4[t4["epochs"] == t4["epochs"].max()].set_index("k")
    column = "gt_tau_mean64" if what == "tau" else "acc_mean"
    paper = (
        _rank_corr(ks, [long.loc[k, column] for k in ks]) if set(ks) <= set(long.index) else None
    )
    status, note = _prefix_scale(runs, fid)
    return Evidence(_per_instance(values), paper, _paper_note_k(ks), status, note)


def _paper_note_k(ks: list[int]) -> str:
    return f"same statistic over k = {', '.join(map(str, ks))} at 2000 epochs (Table 4)"


@finding("s43_fewer_shared_cells_tau", "experiments.prefix")
def _s43_tau(runs: Runs) -> Evidence | None:
    return _prefix_trend(runs, "tau", "s43_fewer_shared_cells_tau")


@finding("s43_fewer_shared_cells_acc", "experiments.prefix")
def _s43_acc(runs: Runs) -> Evidence | None:
    return _prefix_trend(runs, "acc", "s43_fewer_shared_cells_acc")


@finding("s43_more_epochs_help", "experiments.prefix with 2 or more epochs")
def _s43_epochs(runs: Runs) -> Evidence | None:
    if not runs.of("prefix"):
        return None
    status, note = _prefix_scale(runs, "s43_more_epochs_help")
    epochs = sorted({e for e, _ in runs.of("prefix")})
    if len(epochs) < 2:
        note = note or "one prefix training length: nothing to compare"
        return Evidence({}, None, "", status or stats.NOT_TESTABLE, note)
    short, long = _prefix_at(runs, epochs[0]), _prefix_at(runs, epochs[-1])
    ks = sorted(set(short) & set(long))
    n = min(len(v) for v in [*short.values(), *long.values()])
    values = [
        float(
            np.mean([_windowed(long[k][i], runs)[0] - _windowed(short[k][i], runs)[0] for k in ks])
        )
        for i in range(n)
    ]
    t4 = reference.paper_table("table4").set_index(["epochs", "k"])["gt_tau_mean64"]
    paper = float(np.mean([t4[(2000, k)] - t4[(200, k)] for k in ks]))
    return Evidence(_per_instance(values), paper, _paper_note_k(ks), status, note)


# --------------------------------------------------------------------------- Appendix


def _finetune_last(runs: Runs, epoch: int, i: int) -> float:
    """GT-Tau at the last finetuning step from instance i's snapshot of `epoch`."""
    matrix = tables.finetune_matrix(runs.of("finetune")[epoch][i])
    return float(tables.gt_tau_curve(matrix.iloc[[-1]], runs.gt).iloc[0])


@finding("a_finetune_raises_gt_tau", "experiments.finetune")
def _finetune_gain(runs: Runs) -> Evidence | None:
    sources = runs.of("family").get("different_seeds") or []
    if not runs.of("finetune") or not sources:
        return None
    epoch = max(runs.of("finetune"))
    values = []
    for i in range(min(len(sources), len(runs.of("finetune")[epoch]))):
        before = tables.snapshot_matrix(sources[i], epoch)  # the shared window, to step 0
        shared = tables.gt_tau_curve(before, runs.gt).mean()
        values.append(_finetune_last(runs, epoch, i) - float(shared))
    return Evidence(
        _per_instance(values), 0.8 - 0.4567, "context: 'close to 0.8' against Table 2's 0.4567"
    )


@finding("a_finetune_later_snapshot", "experiments.finetune with 2 or more epochs")
def _finetune_later(runs: Runs) -> Evidence | None:
    if len(runs.of("finetune")) < 2:
        return None
    late, early = max(runs.of("finetune")), min(runs.of("finetune"))
    n = min(len(runs.of("finetune")[late]), len(runs.of("finetune")[early]))
    values = [_finetune_last(runs, late, i) - _finetune_last(runs, early, i) for i in range(n)]
    return Evidence(_per_instance(values), 0.8 - 0.6, "context: 'close to 0.8' against 0.6")


def _paired_seeds(runs: Runs, other: list[pd.DataFrame]) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """(run, the "different seeds" instance of the same seed) for each seed of `other`."""
    base = runs.of("family").get("different_seeds") or []
    return list(zip(other, base, strict=False))


def _one_run(evidence: Evidence) -> Evidence:
    if len(evidence.units) == 1:
        evidence.status = stats.DESCRIPTIVE
    return evidence


@finding("a_long_similar", "experiments.long")
def _long_similar(runs: Runs) -> Evidence | None:
    pairs = _paired_seeds(runs, runs.instances("long"))
    if not pairs:
        return None
    values = [_windowed(a, runs)[1] - _windowed(b, runs)[1] for a, b in pairs]
    return _one_run(Evidence(_per_instance(values, "seed")))


@finding("a_bn_momentum_low_steadier", "experiments.bn_momentum")
def _bn(runs: Runs) -> Evidence | None:
    if len(runs.of("bn")) < 2:
        return None
    lo, hi = runs.of("bn")[min(runs.of("bn"))], runs.of("bn")[max(runs.of("bn"))]
    values = [_windowed(a, runs)[1] - _windowed(b, runs)[1] for a, b in zip(lo, hi, strict=False)]
    return _one_run(Evidence(_per_instance(values, "seed")))


def _mean_jump(inst: pd.DataFrame, runs: Runs) -> float:
    return float(np.abs(np.diff(_window_taus(inst, runs).to_numpy())).mean())


@finding("a_sgd_momentum_zero_unsteadier", "experiments.sgd_momentum")
def _sgd(runs: Runs) -> Evidence | None:
    pairs = _paired_seeds(runs, runs.of("sgd").get(0.0) or [])
    if not pairs:
        return None
    values = [_mean_jump(a, runs) - _mean_jump(b, runs) for a, b in pairs]
    return _one_run(Evidence(_per_instance(values, "seed")))


# --------------------------------------------------------------------------- beyond the paper


@finding("x_aggregate_minibatches", "a share-all family")
def _aggregate_minibatches(runs: Runs) -> Evidence | None:
    insts = {f"{n}/{i}": x for n, xs in runs.of("family").items() for i, x in enumerate(xs)}
    if not insts:
        return None
    gains = {}
    for key, inst in insts.items():
        window = min(runs.window, len(tables.dense_matrix(inst)))
        windowed = aggregation.last_minibatches(inst, window, runs.last_epochs)
        final = tables.final_accuracy(inst)
        gains[key] = metrics.gt_tau(windowed, _gt_acc(runs, windowed.index)) - metrics.gt_tau(
            final, _gt_acc(runs, final.index)
        )
    return Evidence(gains)


@finding("x_bn_recalibration", "experiments.bn_recalibration")
def _bn_recalibration(runs: Runs) -> Evidence | None:
    if not runs.instances("recalibration"):
        return None
    gains = recalibration.recalibration_gains(runs.instances("recalibration"), runs.gt)
    return Evidence(_per_instance(gains[max(gains)]))


@finding("x_interference", "experiments.telemetry")
def _interference(runs: Runs) -> Evidence | None:
    parts = runs.of("telemetry")
    if not parts.get("telemetry") or not parts.get("records"):
        return None
    values = []
    for records, telemetry in zip(parts["records"], parts["telemetry"], strict=True):
        pairs = tables.interference_pairs(records, telemetry)
        taus = [
            tables.kendall_pairs(part["cosine"], part["rank_gain"])
            for _, part in pairs.groupby("step")
            if part["cosine"].nunique() > 1 and part["rank_gain"].nunique() > 1
        ]
        if taus:  # a telemetry whose cosines or gains are all equal has no tau
            values.append(float(np.mean(taus)))
    return _one_run(Evidence(_per_instance(values))) if values else None


def _share_all(runs: Runs) -> list[pd.DataFrame]:
    """The share-all instances (the "different seeds" family, or group sharing at m = 1)."""
    if runs.of("family").get("different_seeds"):
        return runs.of("family")["different_seeds"]
    return next((insts for (_, m), insts in runs.of("groups").items() if m == 1), [])


def _paired_gains(
    runs: Runs,
    mine: dict[tuple[str, int], list[pd.DataFrame]],
    base: dict[tuple[str, int], list[pd.DataFrame]],
    keys: list[tuple[tuple[str, int], tuple[str, int]]],
) -> dict[str, float]:
    """Per instance: GT-Tau-Mean-k of mine[a] minus base[b], averaged over the (a, b)."""
    n = min(min(len(mine[a]), len(base[b])) for a, b in keys)
    return _per_instance(
        [
            float(
                np.mean(
                    [
                        _windowed(mine[a][i], runs)[0] - _windowed(base[b][i], runs)[0]
                        for a, b in keys
                    ]
                )
            )
            for i in range(n)
        ]
    )


def _measured_beats_similar(grouping: str) -> Callable[[Runs], Evidence | None]:
    def compute(runs: Runs) -> Evidence | None:
        keys = [
            ((g, m), ("similar", m))
            for g, m in sorted(runs.of("groups"))
            if g == grouping and m > 1 and ("similar", m) in runs.of("groups")
        ]
        return (
            Evidence(_paired_gains(runs, runs.of("groups"), runs.of("groups"), keys))
            if keys
            else None
        )

    return compute


for _grouping in ("correlation", "gradient"):
    finding(f"x_{_grouping}_grouping", "experiments.interference and groups: similar at its m")(
        _measured_beats_similar(_grouping)
    )


@finding("x_warm_start_keeps_gain", "experiments.warm_start")
def _warm_keeps(runs: Runs) -> Evidence | None:
    keys = [(k, k) for k in sorted(runs.of("warm")) if k in runs.of("groups")]
    return Evidence(_paired_gains(runs, runs.of("warm"), runs.of("groups"), keys)) if keys else None


def _gain_over_share_all(runs: Runs, groups: dict[tuple[str, int], list[pd.DataFrame]]):
    share = _share_all(runs)
    keys = [(k, ("share", 1)) for k in sorted(groups) if k[1] > 1]
    if not share or not keys:
        return None
    return Evidence(_paired_gains(runs, groups, {("share", 1): share}, keys))


@finding("x_warm_start_beats_share_all", "experiments.warm_start")
def _warm_gain(runs: Runs) -> Evidence | None:
    return _gain_over_share_all(runs, runs.of("warm"))


@finding("x_equal_compute_keeps_gain", "experiments.equal_compute")
def _equal_gain(runs: Runs) -> Evidence | None:
    return _gain_over_share_all(runs, runs.of("equal"))


# --------------------------------------------------------------------------- the verdicts

COLUMNS = [
    "id",
    "section",
    "family",
    "verdict",
    "reason",
    "effect",
    "ci_low",
    "ci_high",
    "d",
    "p_raw",
    "p_adj",
    "p_sign",
    "n",
    "n_needed",
    "claim",
    "baseline",
    "unit",
    "statistic",
    "method",
    "paper",
    "paper_note",
    "note",
    "quote",
]
UNIT_COLUMNS = ["id", "unit", "value"]


def _permutation_inference(
    units: dict[str, float], claim: stats.Claim, alpha: float
) -> stats.Inference:
    """Obs. 1: the pair-taus among rank vectors of groups a and b, as a k x k matrix for
    stats.pair_permutation_p; n is the smaller group, n_needed the smallest equal groups at
    which an exact test can reach alpha / 2 at all."""
    items = sorted({x for key in units for x in key.split("~")}, key=lambda s: (s[0], s))
    index = {x: i for i, x in enumerate(items)}
    tau = np.eye(len(items))
    for key, value in units.items():
        p, q = (index[x] for x in key.split("~"))
        tau[p, q] = tau[q, p] = value
    n_a = sum(x.startswith("a:") for x in items)
    effect, p_less, p_greater = stats.pair_permutation_p(tau, n_a)
    p_claim, p_other = (p_less, p_greater) if claim.direction == "<" else (p_greater, p_less)
    k = 2
    while 1.0 / math.comb(2 * k, k) >= alpha / 2:
        k += 1
    n = min(n_a, len(items) - n_a)
    nan = float("nan")
    p_raw = min(1.0, 2.0 * min(p_claim, p_other))
    return stats.Inference(
        n, effect, nan, nan, nan, "pair-permutation", nan, p_claim, p_other, p_claim, p_raw, k
    )


def _row(f: Finding, spec: claims.ClaimSpec, ev: Evidence, runs: Runs) -> tuple[dict, dict]:
    """The finding's row before adjustment, and its tested units."""
    base = BASELINES[spec.baseline](runs) if spec.baseline else 0.0
    undefined = sorted(k for k, v in ev.units.items() if pd.isna(v))
    kept = {k: v for k, v in ev.units.items() if k not in undefined}
    units = {k: v - base for k, v in kept.items()} if spec.test == "t" else kept
    if undefined:  # a tau of constant accuracies: no value, so not a unit
        left_out = f"{len(undefined)} undefined unit(s) left out ({', '.join(undefined)})"
        ev.note = f"{ev.note}; {left_out}" if ev.note else left_out
    claim = spec.claim()
    if spec.test == "pair-permutation":
        inf = _permutation_inference(units, claim, claims.registry().alpha)
    else:
        inf = stats.infer(list(units.values()), claim)
    row = {
        "id": f.id,
        "section": spec.section,
        "family": spec.family,
        "effect": inf.effect,
        "ci_low": inf.ci_low,
        "ci_high": inf.ci_high,
        "d": inf.d,
        "p_raw": inf.p_raw,
        "p_sign": inf.p_sign,
        "n": inf.n,
        "n_needed": None if ev.status else inf.n_needed,
        "claim": claim.text(),
        "baseline": f"{spec.baseline} = {base:.4f}" if spec.baseline else "",
        "unit": spec.unit,
        "statistic": spec.statistic,
        "method": f"{inf.interval_method}; {spec.test} test",
        "paper": np.nan if ev.paper is None else ev.paper,
        "paper_note": ev.paper_note,
        "note": ev.note,
        "quote": spec.quote,
        "_inference": inf,
        "_status": ev.status or (stats.DESCRIPTIVE if inf.n < 2 else ""),
    }
    return row, units


def evaluate_with_units(
    runs: Runs, findings: list[Finding] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(findings table, units table): one row per finding whose experiment ran, its verdict
    from the p adjusted over its family's tested findings."""
    registry = claims.registry()
    rows, unit_rows = [], []
    for f in FINDINGS if findings is None else findings:
        ev = f.compute(runs)
        if ev is None:
            continue
        row, units = _row(f, registry.claims[f.id], ev, runs)
        rows.append(row)
        unit_rows += [{"id": f.id, "unit": k, "value": v} for k, v in units.items()]
    _adjust(rows, registry.alpha)
    table = pd.DataFrame([{k: r[k] for k in COLUMNS} for r in rows], columns=COLUMNS)
    table["n_needed"] = table["n_needed"].astype("Int64")
    return table, pd.DataFrame(unit_rows, columns=UNIT_COLUMNS)


def evaluate(runs: Runs, findings: list[Finding] | None = None) -> pd.DataFrame:
    return evaluate_with_units(runs, findings)[0]


def recompute(table: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Interval, p raw, p adjusted and verdict of every tested finding from the units file and
    the claims file alone (what findings_units.csv promises): id-indexed, for comparison with
    findings.csv."""
    registry = claims.registry()
    rows = []
    for r in table.itertuples():
        spec = registry.claims[r.id]
        if r.reason in (stats.NOT_TESTABLE, stats.DESCRIPTIVE):
            continue
        mine = units[units["id"] == r.id]
        values = dict(zip(mine["unit"], mine["value"], strict=True))
        if spec.test == "pair-permutation":
            inf = _permutation_inference(values, spec.claim(), registry.alpha)
        else:
            inf = stats.infer(list(values.values()), spec.claim())
        rows.append(
            {
                "id": r.id,
                "family": spec.family,
                "p_raw": inf.p_raw,
                "_inference": inf,
                "_status": "",
                "ci_low": inf.ci_low,
                "ci_high": inf.ci_high,
            }
        )
    _adjust(rows, registry.alpha)
    keep = ["id", "ci_low", "ci_high", "p_raw", "p_adj", "verdict", "reason"]
    return pd.DataFrame([{k: r[k] for k in keep} for r in rows], columns=keep).set_index("id")


def _adjust(rows: list[dict], alpha: float) -> None:
    """p_adj, verdict and reason: Holm within the confirmatory family, Benjamini-Hochberg
    within the exploratory one, over the findings that are tested."""
    methods = {claims.CONFIRMATORY: stats.holm, claims.EXPLORATORY: stats.benjamini_hochberg}
    for family, method in methods.items():
        tested = [r for r in rows if r["family"] == family and not r["_status"]]
        adjusted = method([r["p_raw"] for r in tested]) if tested else []
        for r, p in zip(tested, adjusted, strict=True):
            r["p_adj"] = float(p)
            r["verdict"], r["reason"] = stats.decide(r["_inference"], float(p), alpha)
    for r in rows:
        if r["_status"]:
            r["p_adj"], r["verdict"], r["reason"] = np.nan, stats.INCONCLUSIVE, r["_status"]


# --------------------------------------------------------------------------- the report


def _fmt(value: float, digits: int = 3) -> str:
    return "" if pd.isna(value) else f"{value:.{digits}f}"


def _p(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.2g}"


HOW_TO_READ = (
    "How to read a verdict. Each finding is a test of the mean over independent units "
    "(instances: one init seed or child order each), against the claim registered for it "
    "before the run (`nas/analysis/reference/claims.yaml`, with its log of deviations). The "
    "interval is "
    "a 95 % t-interval (a studentised bootstrap at n >= 20); p_raw is the two-sided t-test "
    "against the threshold (Obs. 1: an exact permutation test over the rank vectors), p_sign "
    "an exact sign-flip p beside it; p_adj adjusts p_raw by Holm over the paper's claims and by "
    "Benjamini-Hochberg over those beyond it. **supported** / **contradicted**: p_adj < alpha, "
    "on the claimed / the other side. **inconclusive** gives its reason: *underpowered* (n "
    "below n_needed, the units at which the observed standardised effect d would be decided "
    "with power 0.8), *significant before adjustment only* (p_raw < alpha at that n, p_adj not: "
    "more units would decide it), *compatible with both* (no feasible n decides the observed "
    "effect, or n sufficed and even p_raw did not), *not testable at this scale* (the note "
    "says what it would take), *descriptive (one run)*. `findings_units.csv` holds every "
    "unit's value."
)


def markdown(table: pd.DataFrame, header: str = "") -> str:
    """findings.md: how to read it, then one line per finding (no verdict count: a count of
    tests of different power says nothing)."""
    lines = [
        "# Findings: the paper's observations tested on this run",
        "",
        header,
        "",
        HOW_TO_READ,
        "",
        "| id | verdict | reason | effect | 95 % interval | d | p raw | p adj | n | n needed | "
        "claim | paper | statistic |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        needed = "" if pd.isna(r.n_needed) else str(r.n_needed)
        claim = f"{r.claim} ({r.baseline})" if r.baseline else r.claim
        paper = f"{_fmt(r.paper)} ({r.paper_note})" if not pd.isna(r.paper) else ""
        note = f" {r.note}." if r.note else ""
        lines.append(
            f"| {r.id} | **{r.verdict}** | {r.reason} | {_fmt(r.effect)} | "
            f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}] | {_fmt(r.d, 2)} | {_p(r.p_raw)} | "
            f"{_p(r.p_adj)} | {r.n} | {needed} | {claim} | {paper} | {r.statistic} "
            f"({r.family}, {r.method}).{note} |"
        )
    return "\n".join(lines + _not_run(set(table.id))) + "\n"


def _not_run(ran: set[str]) -> list[str]:
    """The registered claims this study did not test, and what would run each: a reader sees
    what the study left out, not only what it found."""
    missing = [f for f in FINDINGS if f.id not in ran]
    if not missing:
        return []
    registry = claims.registry().claims
    lines = [
        "",
        "## Not run in this study",
        "",
        "Registered claims whose experiment is off or too small in this study's config (the "
        "paper config, config/config.yaml, runs them all). No verdict, no test in the "
        "adjustment.",
        "",
        "| id | section | needs | claim |",
        "|---|---|---|---|",
    ]
    for f in missing:
        spec = registry[f.id]
        lines.append(f"| {f.id} | {spec.section} | {f.needs} | {spec.quote} |")
    return lines


def write_findings(
    table: pd.DataFrame,
    csv_path: str | Path,
    md_path: str | Path,
    header: str = "",
    units: pd.DataFrame | None = None,
    units_path: str | Path | None = None,
) -> None:
    atomic_write_text(csv_path, table.to_csv(index=False, float_format="%.6g"))
    atomic_write_text(md_path, markdown(table, header))
    if units is not None and units_path is not None:
        atomic_write_text(units_path, units.to_csv(index=False, float_format="%.10g"))
