"""The paper's observations as testable statements, each with a verdict from this run's records.

Every finding says what it measures on which *units* (the things the experiment repeats:
instances, groups, mini-batches or finetuning steps), the claim the paper makes about it
(a side of a threshold), the paper's own value where it gives one, and ours with a 95 %
bootstrap interval over the units (nas.stats). The verdict (supported, contradicted,
inconclusive at this n) follows from the interval alone, so a reader never has to hold twenty
numbers against the paper by eye.

A finding is one function decorated with ``@finding(...)``, registered in FINDINGS in the order
of the paper; it returns an Evidence, or None when its experiment is switched off. Thresholds
are stated in each docstring; where the paper compares with the ground truth, the threshold is
the ground truth's own value from the same run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from nas import aggregation, analysis, metrics, recalibrate, stats
from nas.records import atomic_write_text
from nas.searchspace import partition
from nas.studyconfig import default

# Smallest GT-Tau-Std-k we call "GT-Tau varies": twice the paper's ground-truth Std-64 (0.0151,
# Table 3a, m = 64), i.e. clearly more than independently trained children move.
VARIES = 0.03
# "Does not raise" (Section 4.2.1) allows this much: about a quarter of the paper's smallest
# gap between group instances (m = 1 -> 2 random: 0.04) would still count as "no raise".
NO_RAISE = 0.05


@dataclass
class Runs:
    """Everything findings read: loaded records of each experiment (empty when switched off)."""

    gt: pd.DataFrame
    gt_instances: list[pd.Series] = field(default_factory=list)
    families: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    groups: dict[tuple[str, int], list[pd.DataFrame]] = field(default_factory=dict)
    prefix: dict[tuple[int, int], list[pd.DataFrame]] = field(default_factory=dict)
    finetune: dict[int, pd.DataFrame] = field(default_factory=dict)
    long: pd.DataFrame | None = None
    bn: dict[float, list[pd.DataFrame]] = field(default_factory=dict)
    sgd: dict[float, pd.DataFrame] = field(default_factory=dict)
    warm: dict[tuple[str, int], list[pd.DataFrame]] = field(default_factory=dict)
    equal: dict[tuple[str, int], list[pd.DataFrame]] = field(default_factory=dict)
    recalibration: list[pd.DataFrame] = field(default_factory=list)  # nas recalibrate's CSVs
    telemetry_records: pd.DataFrame | None = None  # the telemetry run's records
    telemetry: pd.DataFrame | None = None  # its telemetry.csv (nas.telemetry)
    window: int = field(default_factory=partial(default, "window"))
    last_epochs: int = field(default_factory=partial(default, "last_epochs"))
    group_m: int = field(default_factory=partial(default, "figures.group_m"))
    partition_seed: int = field(
        default_factory=partial(default, "experiments.groups.partition_seed")
    )


@dataclass
class Evidence:
    """Per-unit values, the statistic over them, and the claim about that statistic."""

    values: list[float]
    claim: stats.Claim
    unit: str
    statistic: Callable[[np.ndarray], float] = stats.mean
    paper: float | None = None


@dataclass(frozen=True)
class Finding:
    id: str
    section: str
    statement: str
    measure: str
    compute: Callable[[Runs], Evidence | None]


FINDINGS: list[Finding] = []


def finding(id: str, section: str, statement: str, measure: str):
    """Register a finding function (in call order = the paper's order)."""

    def register(fn: Callable[[Runs], Evidence | None]) -> Callable[[Runs], Evidence | None]:
        FINDINGS.append(Finding(id, section, statement, measure, fn))
        return fn

    return register


# --------------------------------------------------------------------------- helpers


def _gt_acc(runs: Runs, children) -> pd.Series:
    return analysis._gt_acc(runs.gt, children)


def _gt_s_tau(runs: Runs) -> float:
    if len(runs.gt_instances) < 2:
        return float("nan")
    return metrics.s_tau(runs.gt_instances)["mean"]


def _tau_with_others(accs: list[pd.Series]) -> list[float]:
    """Per instance, its mean tau with every other instance: their mean is the S-Tau."""
    out = []
    for i, a in enumerate(accs):
        out.append(
            float(np.mean([metrics.kendall_tau(a, b) for j, b in enumerate(accs) if j != i]))
        )
    return out


def _window_taus(inst: pd.DataFrame, runs: Runs) -> pd.Series:
    """GT-Tau of each of the last `window` dense points of an instance."""
    matrix = analysis.dense_matrix(inst)
    rows = analysis.last_rows(matrix, min(runs.window, len(matrix)), "dense window")
    return analysis.gt_tau_curve(rows, runs.gt)


def _windowed(inst: pd.DataFrame, runs: Runs) -> tuple[float, float]:
    taus = _window_taus(inst, runs)
    return float(taus.mean()), float(taus.std(ddof=0))


def _rank_corr(xs: list[float], ys: list[float]) -> float:
    """Kendall tau of ys against xs: +1 when ys grow with xs, -1 when they fall."""
    return metrics.kendall_tau(pd.Series(xs, dtype=float), pd.Series(ys, dtype=float))


# --------------------------------------------------------------------------- Section 3


def _family_instability(name: str, paper: float):
    def compute(runs: Runs) -> Evidence | None:
        insts = runs.families.get(name) or []
        if len(insts) < 2:
            return None
        finals = [analysis.final_accuracy(i) for i in insts]
        return Evidence(
            _tau_with_others(finals), stats.Claim("<", _gt_s_tau(runs)), "instances", paper=paper
        )

    return compute


for _name, _label, _paper in [
    ("different_seeds", "seeds", 0.5415),
    ("different_orders", "child orders", 0.3930),
    ("different_orders_shuffle", "reshuffled orders", 0.4403),
]:
    finding(
        f"obs1_{_name}",
        "3.2 Obs. 1",
        f"Ranks are unstable across instances with different {_label}: their S-Tau is below "
        "the ground truth's own S-Tau (threshold).",
        "S-Tau of final-epoch ranks (each instance: mean tau with the others)",
    )(_family_instability(_name, _paper))


def _share_finals(runs: Runs) -> list[pd.Series]:
    return [analysis.final_accuracy(i) for insts in runs.families.values() for i in insts]


@finding(
    "obs2_gt_tau",
    "3.2 Obs. 2",
    "Shared-weight ranks follow the ground truth only loosely: their GT-Tau is below the "
    "ground truth's own (each seed against the mean, threshold).",
    "GT-Tau of every share-all instance's final rank",
)
def _obs2_gt_tau(runs: Runs) -> Evidence | None:
    finals = _share_finals(runs)
    if not finals or not runs.gt_instances:
        return None
    own = float(np.mean([metrics.gt_tau(a, _gt_acc(runs, a.index)) for a in runs.gt_instances]))
    taus = [metrics.gt_tau(a, _gt_acc(runs, a.index)) for a in finals]
    return Evidence(taus, stats.Claim("<", own), "instances", paper=0.4567)


@finding(
    "obs2_top3",
    "3.2 Obs. 2",
    "Picking the top 3 by shared weights misses the best children: T3R is above the ground "
    "truth's own T3R (threshold).",
    "T3R (best ground-truth rank among the top 3) of every share-all instance",
)
def _obs2_top3(runs: Runs) -> Evidence | None:
    finals = _share_finals(runs)
    if not finals or not runs.gt_instances:
        return None
    rank = analysis._gt_rank(runs.gt)
    own = float(np.mean([metrics.top_n_rank(a, rank, 3) for a in runs.gt_instances]))
    values = [float(metrics.top_n_rank(a, rank, 3)) for a in finals]
    return Evidence(values, stats.Claim(">", own), "instances", paper=17.6)


@finding(
    "obs3_last_epochs",
    "3.2 Obs. 3",
    "Within one instance the ranks of the last epochs disagree: their S-Tau is below the "
    "ground truth's S-Tau (threshold). Paper: 0.39-0.63 across instances.",
    "S-Tau of the last `last_epochs` epoch ranks, per reshuffled-order instance",
)
def _obs3(runs: Runs) -> Evidence | None:
    insts = runs.families.get("different_orders_shuffle") or []
    if not insts:
        return None
    values = []
    for inst in insts:
        matrix = analysis.epoch_matrix(inst)
        rows = analysis.last_rows(matrix, min(runs.last_epochs, len(matrix)), "last epochs")
        values.append(metrics.s_tau(analysis._rows(rows))["mean"])
    return Evidence(values, stats.Claim("<", _gt_s_tau(runs)), "instances", paper=0.5310)


# --------------------------------------------------------------------------- Section 4


@finding(
    "s41_gt_tau_varies",
    "4.1",
    f"GT-Tau moves from mini-batch to mini-batch at the end of training: GT-Tau-Std-k is "
    f"above {VARIES} (twice the paper's ground-truth Std-64).",
    "GT-Tau-Std-k over the last `window` mini-batches, per different-seeds instance",
)
def _s41(runs: Runs) -> Evidence | None:
    insts = runs.families.get("different_seeds") or []
    if not insts:
        return None
    values = [_windowed(i, runs)[1] for i in insts]
    return Evidence(values, stats.Claim(">", VARIES), "instances", paper=0.1497)


def _group_values(runs: Runs, grouping: str, index: int) -> dict[int, list[float]]:
    """m -> per-instance GT-Tau-Mean-k (index 0) or Std-k (index 1) for one grouping."""
    out = {}
    for (g, m), insts in runs.groups.items():
        if g == grouping or m in (1, _n_children(runs)):
            out.setdefault(m, [_windowed(i, runs)[index] for i in insts])
    return dict(sorted(out.items()))


def _n_children(runs: Runs) -> int:
    return len(runs.gt.index)


@finding(
    "s421_random_no_gain",
    "4.2.1",
    f"Random grouping does not raise GT-Tau-Mean-k for middle m: its gain over m = 1 "
    f"(mean over 1 < m < 64, per instance) is below {NO_RAISE}.",
    "GT-Tau-Mean-k(random, m) - GT-Tau-Mean-k(m = 1), averaged over middle m",
)
def _s421(runs: Runs) -> Evidence | None:
    means = _group_values(runs, "random", 0)
    middle = [m for m in means if 1 < m < _n_children(runs)]
    if 1 not in means or not middle or not any(g == "random" for g, _ in runs.groups):
        return None
    n = min(len(means[m]) for m in [1, *middle])
    values = [float(np.mean([means[m][i] - means[1][i] for m in middle])) for i in range(n)]
    paper = float(np.mean([0.4577, 0.2736, 0.2539, 0.1658, 0.2903])) - 0.4988  # Table 3a
    return Evidence(values, stats.Claim("<", NO_RAISE), "instances", paper=paper)


@finding(
    "s421_case_study",
    "4.2.1",
    "Within the groups of a random partition, group sharing ranks worse than share-all: "
    "per group, GT-Tau-Mean-k of the group run minus that of the m = 1 run on the same "
    "children is below 0 (paper: 0.2570 against 0.5610 at m = 16).",
    "within-group GT-Tau-Mean-k difference (group run - share-all), first instance",
)
def _case_study(runs: Runs) -> Evidence | None:
    pairs = case_study_pairs(runs)
    if pairs is None:
        return None
    values = [g - s for g, s in pairs]
    return Evidence(values, stats.Claim("<", 0.0), "groups", paper=0.2570 - 0.5610)


def case_study_pairs(runs: Runs) -> list[tuple[float, float]] | None:
    """Section 4.2.1's case study, per group of the random partition (m = group_m, first
    instance): GT-Tau-Mean-k of the group run, and of the m = 1 run on the same children."""
    group_insts = runs.groups.get(("random", runs.group_m)) or []
    share_insts = runs.groups.get(("random", 1)) or runs.groups.get(("similar", 1)) or []
    if not group_insts or not share_insts:
        return None
    group_m = analysis.dense_matrix(group_insts[0])
    share_m = analysis.dense_matrix(share_insts[0])
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


@finding(
    "s422_similar_mean_rises",
    "4.2.2",
    "Grouping by similarity raises GT-Tau-Mean-k as m grows: per instance, Kendall tau "
    "between m and GT-Tau-Mean-k is above 0.",
    "tau(m, GT-Tau-Mean-k) over m, grouping by similarity",
)
def _s422_mean(runs: Runs) -> Evidence | None:
    return _trend(
        runs,
        "similar",
        0,
        ">",
        paper=_paper_trend([0.4988, 0.3425, 0.7075, 0.6917, 0.7200, 0.7360, 0.8032]),
    )


@finding(
    "s422_similar_std_falls",
    "4.2.2",
    "Grouping by similarity lowers GT-Tau-Std-k as m grows: per instance, Kendall tau "
    "between m and GT-Tau-Std-k is below 0.",
    "tau(m, GT-Tau-Std-k) over m, grouping by similarity",
)
def _s422_std(runs: Runs) -> Evidence | None:
    return _trend(
        runs,
        "similar",
        1,
        "<",
        paper=_paper_trend([0.1497, 0.1442, 0.0702, 0.0457, 0.0411, 0.0364, 0.0151]),
    )


def _paper_trend(values: list[float]) -> float:
    return _rank_corr([1, 2, 4, 8, 16, 32, 64], values)


def _trend(runs: Runs, grouping: str, index: int, direction: str, paper: float):
    if not any(g == grouping for g, _ in runs.groups):
        return None
    per_m = _group_values(runs, grouping, index)
    if len(per_m) < 3:
        return None
    ms = list(per_m)
    n = min(len(v) for v in per_m.values())
    values = [_rank_corr(ms, [per_m[m][i] for m in ms]) for i in range(n)]
    return Evidence(values, stats.Claim(direction, 0.0), "instances", paper=paper)


def _prefix_at(runs: Runs, epochs: int) -> dict[int, list[pd.DataFrame]]:
    return dict(sorted((k, insts) for (e, k), insts in runs.prefix.items() if e == epochs))


def _prefix_trend(runs: Runs, what: str, paper: float) -> Evidence | None:
    if not runs.prefix:
        return None
    per_k = _prefix_at(runs, max(e for e, _ in runs.prefix))
    if len(per_k) < 2:
        return None
    ks = list(per_k)
    n = min(len(v) for v in per_k.values())

    def value(inst: pd.DataFrame) -> float:
        if what == "tau":
            return _windowed(inst, runs)[0]
        matrix = analysis.dense_matrix(inst)
        return float(matrix.iloc[-min(runs.window, len(matrix)) :].to_numpy().mean())

    values = [_rank_corr(ks, [value(per_k[k][i]) for k in ks]) for i in range(n)]
    return Evidence(values, stats.Claim("<", 0.0), "instances", paper=paper)


@finding(
    "s43_fewer_shared_cells_tau",
    "4.3",
    "Sharing fewer cells ranks better (at the longest training): per instance, Kendall tau "
    "between k (cells shared) and GT-Tau-Mean-k is below 0.",
    "tau(k, GT-Tau-Mean-k) over k, prefix sharing at the most epochs",
)
def _s43_tau(runs: Runs) -> Evidence | None:
    return _prefix_trend(
        runs, "tau", _rank_corr([0, 1, 2, 3, 4], [0.6960, 0.4837, 0.4159, 0.4448, 0.5174])
    )


@finding(
    "s43_fewer_shared_cells_acc",
    "4.3",
    "Sharing fewer cells gives more accurate children: per instance, Kendall tau between k "
    "and the mean accuracy over the window is below 0.",
    "tau(k, mean accuracy) over k, prefix sharing at the most epochs",
)
def _s43_acc(runs: Runs) -> Evidence | None:
    return _prefix_trend(
        runs, "acc", _rank_corr([0, 1, 2, 3, 4], [0.7793, 0.7691, 0.6972, 0.6636, 0.6639])
    )


@finding(
    "s43_more_epochs_help",
    "4.3 / Table 4",
    "Prefix sharing needs longer training: GT-Tau-Mean-k at the most epochs minus at the "
    "fewest (mean over k, per instance) is above 0.",
    "GT-Tau-Mean-k(long) - GT-Tau-Mean-k(short), averaged over k",
)
def _s43_epochs(runs: Runs) -> Evidence | None:
    epochs = sorted({e for e, _ in runs.prefix})
    if len(epochs) < 2:
        return None
    short, long = _prefix_at(runs, epochs[0]), _prefix_at(runs, epochs[-1])
    ks = sorted(set(short) & set(long))
    n = min(len(v) for v in [*short.values(), *long.values()])
    values = [
        float(
            np.mean([_windowed(long[k][i], runs)[0] - _windowed(short[k][i], runs)[0] for k in ks])
        )
        for i in range(n)
    ]
    paper = float(
        np.mean(
            [0.6960 - 0.0441, 0.4837 - 0.3895, 0.4159 - 0.4104, 0.4448 - 0.4545, 0.5174 - 0.4899]
        )
    )
    return Evidence(values, stats.Claim(">", 0.0), "instances", paper=paper)


# --------------------------------------------------------------------------- Appendix


def _finetune_taus(runs: Runs, epoch: int) -> pd.Series:
    return analysis.gt_tau_curve(analysis.finetune_matrix(runs.finetune[epoch]), runs.gt)


@finding(
    "a_finetune_raises_gt_tau",
    "3.3 / Fig. 4",
    "Finetuning each child from the latest snapshot raises GT-Tau within a few mini-batches: "
    "GT-Tau after each finetuning step minus GT-Tau of the snapshot itself is above 0.",
    "GT-Tau(step s) - GT-Tau(step 0) over finetuning steps s >= 1, latest snapshot",
)
def _finetune_gain(runs: Runs) -> Evidence | None:
    if not runs.finetune:
        return None
    taus = _finetune_taus(runs, max(runs.finetune))
    values = list(taus.iloc[1:] - taus.iloc[0])
    # paper: "close to 0.8" after finetuning from epoch 200, against Table 2's 0.4567 before
    return Evidence(values, stats.Claim(">", 0.0), "finetune steps", paper=0.8 - 0.4567)


@finding(
    "a_finetune_later_snapshot",
    "3.3 / Fig. 4",
    "Finetuning from the later snapshot ranks better than from the earlier one: per "
    "finetuning step, GT-Tau(later) - GT-Tau(earlier) is above 0.",
    "GT-Tau difference between the latest and the earliest snapshot, per finetuning step",
)
def _finetune_later(runs: Runs) -> Evidence | None:
    if len(runs.finetune) < 2:
        return None
    late, early = _finetune_taus(runs, max(runs.finetune)), _finetune_taus(runs, min(runs.finetune))
    steps = late.index.intersection(early.index)[1:]
    values = list(late[steps] - early[steps])
    return Evidence(values, stats.Claim(">", 0.0), "finetune steps", paper=0.8 - 0.6)


@finding(
    "a_long_still_unstable",
    "A.2.1 / Fig. 7",
    "Training much longer (paper: ten times) does not settle the ranks: the long run's "
    f"GT-Tau-Std over its last `window` mini-batches is above {VARIES}.",
    "std of GT-Tau over the long run's window (bootstrap over mini-batches)",
)
def _long_unstable(runs: Runs) -> Evidence | None:
    if runs.long is None:
        return None
    taus = _window_taus(runs.long, runs)
    return Evidence(list(taus), stats.Claim(">", VARIES), "mini-batches", statistic=stats.std)


@finding(
    "a_bn_momentum_low_steadier",
    "A.2.2 / Fig. 8",
    "A lower BN momentum steadies GT-Tau over the last mini-batches: per seed, "
    "GT-Tau-Std-k(lowest BN momentum) - GT-Tau-Std-k(highest) is below 0.",
    "GT-Tau-Std-k difference, lowest minus highest BN momentum, paired by seed",
)
def _bn(runs: Runs) -> Evidence | None:
    if len(runs.bn) < 2:
        return None
    lo, hi = runs.bn[min(runs.bn)], runs.bn[max(runs.bn)]
    values = [_windowed(a, runs)[1] - _windowed(b, runs)[1] for a, b in zip(lo, hi, strict=False)]
    return Evidence(values, stats.Claim("<", 0.0), "seeds")


@finding(
    "a_sgd_momentum_zero_unsteadier",
    "A.2.2 / Fig. 9",
    "Without SGD momentum GT-Tau jumps more between mini-batches: per mini-batch of the "
    "window, |change of GT-Tau| with momentum 0 minus that of the momentum-0.9 run is above 0.",
    "|step-to-step GT-Tau change|, momentum 0 minus the first different-seeds instance",
)
def _sgd(runs: Runs) -> Evidence | None:
    base = (runs.families.get("different_seeds") or [None])[0]
    if 0.0 not in runs.sgd or base is None:
        return None
    zero, ref = _window_taus(runs.sgd[0.0], runs), _window_taus(base, runs)
    n = min(len(zero), len(ref)) - 1
    values = list(np.abs(np.diff(zero.to_numpy()))[-n:] - np.abs(np.diff(ref.to_numpy()))[-n:])
    return Evidence(values, stats.Claim(">", 0.0), "mini-batches")


# --------------------------------------------------------------------------- the report

# --------------------------------------------------------------------------- beyond the paper


@finding(
    "x_aggregate_minibatches",
    "beyond",
    "Reading a child's accuracy as its mean over the last k mini-batches, not once at the end, "
    "raises GT-Tau (Observation 3's remedy): the gain is above 0.",
    "GT-Tau of the window-mean rank minus that of the final rank, per share-all instance",
)
def _aggregate_minibatches(runs: Runs) -> Evidence | None:
    insts = [i for insts in runs.families.values() for i in insts]
    if not insts:
        return None
    gains = []
    for inst in insts:
        window = min(runs.window, len(analysis.dense_matrix(inst)))
        windowed = aggregation.last_minibatches(inst, window, runs.last_epochs)
        final = analysis.final_accuracy(inst)
        gains.append(
            metrics.gt_tau(windowed, _gt_acc(runs, windowed.index))
            - metrics.gt_tau(final, _gt_acc(runs, final.index))
        )
    return Evidence(gains, stats.Claim(">", 0.0), "instances")


@finding(
    "x_bn_recalibration",
    "beyond",
    "Recomputing each child's BN statistics on training mini-batches before evaluating it "
    "raises GT-Tau over the super-net's own statistics: the gain is above 0.",
    "GT-Tau after recalibration on the largest N of experiments.bn_recalibration.batches minus "
    "GT-Tau at N = 0, per different-seeds instance",
)
def _bn_recalibration(runs: Runs) -> Evidence | None:
    if not runs.recalibration:
        return None
    gains = recalibrate.recalibration_gains(runs.recalibration, runs.gt)
    return Evidence(gains[max(gains)], stats.Claim(">", 0.0), "instances")


@finding(
    "x_interference",
    "beyond",
    "The more a mini-batch's gradient points with another child's, the more rank that child "
    "gains at it: within a mini-batch, Kendall tau between the cosine and the sampled children's "
    "rank gains is above 0 on average.",
    "Kendall tau of (cosine, rank gain) over one mini-batch's sampled children, per mini-batch "
    "of the telemetry (a mini-batch whose cosines or gains are all equal has none)",
)
def _interference(runs: Runs) -> Evidence | None:
    if runs.telemetry is None or runs.telemetry_records is None:
        return None
    pairs = analysis.interference_pairs(runs.telemetry_records, runs.telemetry)
    taus = [
        analysis.kendall_pairs(part["cosine"], part["rank_gain"])
        for _, part in pairs.groupby("step")
        if part["cosine"].nunique() > 1 and part["rank_gain"].nunique() > 1
    ]
    return Evidence(taus, stats.Claim(">", 0.0), "mini-batches")


def _share_all(runs: Runs) -> list[pd.DataFrame]:
    """The share-all instances (the "different seeds" family, or group sharing at m = 1)."""
    if runs.families.get("different_seeds"):
        return runs.families["different_seeds"]
    return next((insts for (_, m), insts in runs.groups.items() if m == 1), [])


def _paired_gains(
    runs: Runs,
    mine: dict[tuple[str, int], list[pd.DataFrame]],
    base: dict[tuple[str, int], list[pd.DataFrame]],
    keys: list[tuple[tuple[str, int], tuple[str, int]]],
) -> list[float]:
    """GT-Tau-Mean-k of mine[a] minus base[b], instance by instance, for each (a, b)."""
    return [
        _windowed(x, runs)[0] - _windowed(y, runs)[0]
        for a, b in keys
        for x, y in zip(mine[a], base[b], strict=False)
    ]


def _measured_beats_similar(grouping: str):
    def compute(runs: Runs) -> Evidence | None:
        keys = [
            ((g, m), ("similar", m))
            for g, m in sorted(runs.groups)
            if g == grouping and m > 1 and ("similar", m) in runs.groups
        ]
        if not keys:
            return None
        gains = _paired_gains(runs, runs.groups, runs.groups, keys)
        return Evidence(gains, stats.Claim(">", 0.0), "instances x m")

    return compute


for _grouping, _what in (
    ("correlation", "the correlation of the children's accuracy changes"),
    ("gradient", "the cosine of the children's gradients on the shared weights"),
):
    finding(
        f"x_{_grouping}_grouping",
        "beyond",
        f"Grouping by measured interference ({_what}, a balanced partition) ranks better than "
        "grouping by similarity at equal m: the gain is above 0.",
        f"GT-Tau-Mean-k of {_grouping} groups minus similar groups, paired by instance, over "
        "each m both are trained at (m > 1)",
    )(_measured_beats_similar(_grouping))


@finding(
    "x_warm_start_keeps_gain",
    "beyond",
    "Groups warm-started from share-all's snapshot (few-shot NAS) rank about as well as groups "
    f"trained from scratch at the same grouping and m: warm minus cold is above -{NO_RAISE}.",
    "GT-Tau-Mean-k of warm-started groups minus the same groups from scratch, paired by "
    "instance, over each (grouping, m) trained both ways",
)
def _warm_keeps(runs: Runs) -> Evidence | None:
    keys = [(k, k) for k in sorted(runs.warm) if k in runs.groups]
    if not keys:
        return None
    gains = _paired_gains(runs, runs.warm, runs.groups, keys)
    return Evidence(gains, stats.Claim(">", -NO_RAISE), "instances x (grouping, m)")


def _gain_over_share_all(runs: Runs, groups: dict[tuple[str, int], list[pd.DataFrame]]):
    share = _share_all(runs)
    if not groups or not share:
        return None
    keys = [(k, ("share", 1)) for k in sorted(groups) if k[1] > 1]
    if not keys:
        return None
    gains = _paired_gains(runs, groups, {("share", 1): share}, keys)
    return Evidence(gains, stats.Claim(">", 0.0), "instances x (grouping, m)")


@finding(
    "x_warm_start_beats_share_all",
    "beyond",
    "Warm-started groups rank better than the share-all run they start from: the gain is above 0.",
    "GT-Tau-Mean-k of warm-started groups minus share-all's, paired by instance (the snapshot's "
    "own), over each (grouping, m)",
)
def _warm_gain(runs: Runs) -> Evidence | None:
    return _gain_over_share_all(runs, runs.warm)


@finding(
    "x_equal_compute_keeps_gain",
    "beyond",
    "Group sharing's gain is not just more compute: groups whose steps add up to share-all's "
    "still rank better than share-all, the gain is above 0.",
    "GT-Tau-Mean-k of equal-compute groups minus share-all's, paired by instance, over each "
    "(grouping, m)",
)
def _equal_gain(runs: Runs) -> Evidence | None:
    return _gain_over_share_all(runs, runs.equal)


COLUMNS = [
    "id",
    "section",
    "statement",
    "measure",
    "unit",
    "n",
    "paper",
    "ours",
    "ci_low",
    "ci_high",
    "claim",
    "threshold",
    "verdict",
]


def evaluate(runs: Runs, findings: list[Finding] | None = None) -> pd.DataFrame:
    """One row per finding whose experiment ran (see COLUMNS)."""
    rows = []
    for f in FINDINGS if findings is None else findings:
        ev = f.compute(runs)
        if ev is None:
            continue
        values = np.asarray(ev.values, dtype=float)
        interval = stats.bootstrap_interval(values, ev.statistic)
        rows.append(
            {
                "id": f.id,
                "section": f.section,
                "statement": f.statement,
                "measure": f.measure,
                "unit": ev.unit,
                "n": int(values.size),
                "paper": np.nan if ev.paper is None else ev.paper,
                "ours": ev.statistic(values) if values.size else np.nan,
                "ci_low": interval[0],
                "ci_high": interval[1],
                "claim": ev.claim.text(),
                "threshold": ev.claim.threshold,
                "verdict": stats.verdict(ev.claim, interval, int(values.size)),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _fmt(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.4f}"


def markdown(table: pd.DataFrame, header: str = "") -> str:
    """findings.md: a verdict count, then one line per finding."""
    counts = table["verdict"].value_counts()
    lines = [
        "# Findings: the paper's observations tested on this run",
        "",
        header,
        "",
        ", ".join(
            f"{counts.get(v, 0)} {v}"
            for v in (stats.SUPPORTED, stats.CONTRADICTED, stats.INCONCLUSIVE)
        ),
        "",
        "Ours: the statistic over the units; interval: 95 % percentile bootstrap over the "
        f"units ({stats.N_BOOT} resamples); fewer than {stats.MIN_UNITS} units is inconclusive.",
        "",
        "| id | section | verdict | paper | ours | 95 % interval | claim | n | statement |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.id} | {r.section} | **{r.verdict}** | {_fmt(r.paper)} | {_fmt(r.ours)} | "
            f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}] | {r.claim} | {r.n} {r.unit} | "
            f"{r.statement} Measured: {r.measure}. |"
        )
    return "\n".join(lines) + "\n"


def write_findings(
    table: pd.DataFrame, csv_path: str | Path, md_path: str | Path, header: str = ""
) -> None:
    atomic_write_text(csv_path, table.to_csv(index=False, float_format="%.6g"))
    atomic_write_text(md_path, markdown(table, header))
