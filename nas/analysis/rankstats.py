"""The rank statistics a reviewer asks for beside GT-Tau, and how reliable the ground truth is.

GT-Tau alone hides two things. How a search would use a rank: it trains the top few, so
precision at K and the best and worst true rank among the top K say more than a correlation
over all 64. And how much of the disagreement is noise: accuracies a few hundredths of a
percent apart are ties in any honest sense (sparse Kendall rounds them to 0.1 % first, Yu et
al. 2020), and the ground truth itself is a mean of a few seeds. Two numbers say how much: the
split-half agreement (how well the means of two disjoint halves of the seeds agree: a floor on
the full ground truth's reliability, often misnamed a noise ceiling) and the perfect-rank
bound (the GT-Tau a ranking by the children's true accuracies would reach against the mean of
all seeds: the level no estimate can be expected to pass).

Every statistic is computed per instance (one rank against the ground truth); a table reports
their mean over instances and, for GT-Tau, the 95 % interval of that mean over instances
(nas.analysis.stats.interval: a t-interval at the n of a table).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from nas.analysis import metrics, stats

SPARSE_PERCENT = 0.1  # sparse Kendall: accuracies rounded to 0.1 percentage points
TOP_K = (5, 10)  # precision at K
RANGE_K = 5  # best and worst ground-truth rank among the top RANGE_K
MAX_SPLITS = 200  # split-half agreement: at most this many half splits of the seeds (seeded sample)

STAT_COLUMNS = ["spearman", "sparse_tau", "p_at_5", "p_at_10", "top5_best", "top5_worst"]


def sparse_kendall(acc: pd.Series, gt_percent: pd.Series) -> float:
    """Kendall tau-b after rounding both vectors to SPARSE_PERCENT percentage points.

    `acc` is a fraction (records), `gt_percent` a percentage (ground_truth.csv); rounding makes
    near-equal accuracies ties, so the coefficient stops rewarding differences of noise."""
    a = (acc.astype(float) * 100 / SPARSE_PERCENT).round() * SPARSE_PERCENT
    b = (gt_percent.astype(float) / SPARSE_PERCENT).round() * SPARSE_PERCENT
    return metrics.kendall_tau(a, b)


def instance_statistics(acc: pd.Series, gt_percent: pd.Series, gt_rank: pd.Series) -> dict:
    """STAT_COLUMNS of one rank (children's accuracies) against the ground truth (accuracy in
    percent and rank over the whole space, as T1R reads it), covering at least `acc`'s
    children."""
    gt_acc = gt_percent.loc[acc.index]
    best, worst = metrics.topk_gt_rank_range(acc, gt_rank, min(RANGE_K, len(acc)))
    row = {"spearman": metrics.spearman(acc, gt_acc), "sparse_tau": sparse_kendall(acc, gt_acc)}
    for top in TOP_K:
        row[f"p_at_{top}"] = metrics.precision_at_k(acc, gt_acc, min(top, len(acc)))
    return {**row, "top5_best": best, "top5_worst": worst}


def window_statistics(matrix: pd.DataFrame, gt_percent: pd.Series, gt_rank: pd.Series) -> dict:
    """STAT_COLUMNS of a window of ranks (rows of a wide matrix), each averaged over the rows:
    the windowed counterpart of GT-Tau-Mean-k."""
    rows = [instance_statistics(row, gt_percent, gt_rank) for _, row in matrix.iterrows()]
    return {c: float(np.mean([r[c] for r in rows])) for c in STAT_COLUMNS}


def mean_over_instances(per_instance: Sequence[dict]) -> dict:
    """Each statistic's mean over instances."""
    return {c: float(np.mean([r[c] for r in per_instance])) for c in STAT_COLUMNS}


def interval(
    values: Sequence[float], name: str, bounds: tuple[float, float] | None = stats.TAU_RANGE
) -> dict:
    """{name_lo, name_hi}: the 95 % interval of the mean of `values` over instances
    (nas.analysis.stats:
    a t-interval below 20 instances, valid at 3 where a percentile bootstrap is [min, max];
    NaN for one instance: a single run says nothing about its own spread). Cut to `bounds`
    (stats.within): a tau's [-1, 1] by default; None for a statistic without bounds."""
    (lo, hi), _ = stats.interval(values)
    if bounds is not None:
        lo, hi = stats.within(bounds, lo, hi)
    return {f"{name}_lo": lo, f"{name}_hi": hi}


def half_splits(n_seeds: int, seed: int = stats.BOOT_SEED) -> list[tuple[tuple[int, ...], ...]]:
    """Ways to split seeds 0..n-1 into two disjoint halves (sizes floor and ceil of n/2),
    each split once; at most MAX_SPLITS of them, a seeded sample when there are more."""
    if n_seeds < 2:
        raise ValueError(
            f"a split-half agreement needs at least 2 ground-truth seeds, got {n_seeds}"
        )
    seeds = range(n_seeds)
    splits = []
    for first in itertools.combinations(seeds, n_seeds // 2):
        rest = tuple(s for s in seeds if s not in first)
        if n_seeds % 2 or first < rest:  # even n: {A, B} and {B, A} are one split
            splits.append((first, rest))
    if len(splits) > MAX_SPLITS:
        pick = np.random.default_rng(seed).choice(len(splits), MAX_SPLITS, replace=False)
        splits = [splits[i] for i in sorted(pick)]
    return splits


def split_half_agreement(gt_instances: Sequence[pd.Series]) -> dict:
    """Kendall tau between the mean accuracies of disjoint halves of the ground-truth seeds,
    averaged over the half splits: how well one noisy ground truth agrees with another.

    Returns ceiling (mean tau), ceiling_min and ceiling_max (over splits), ceiling_seeds.
    Each half averages about half the seeds, so the agreement of the full mean with the truth
    is higher (perfect_rank_bound): this is a floor on the ground truth's reliability, not a
    ceiling on what an estimate can reach."""
    accs = [a.astype(float) for a in gt_instances]
    taus = []
    for first, rest in half_splits(len(accs)):
        a = pd.concat([accs[i] for i in first], axis=1).mean(axis=1)
        b = pd.concat([accs[i] for i in rest], axis=1).mean(axis=1)
        taus.append(metrics.kendall_tau(a, b))
    return {
        "ceiling": float(np.mean(taus)),
        "ceiling_min": float(np.min(taus)),
        "ceiling_max": float(np.max(taus)),
        "ceiling_seeds": len(accs),
    }


BOUND_DRAWS = 500  # perfect-rank bound: simulated ground truths (seeded)


def perfect_rank_bound(
    gt_instances: Sequence[pd.Series], draws: int = BOUND_DRAWS, seed: int = stats.BOOT_SEED
) -> float:
    """The expected GT-Tau of a ranking by the children's true accuracies against a mean of
    n seeds, by simulation: truth = the seeds' mean, each simulated mean = truth plus normal
    noise of the seeds' pooled within-child std / sqrt(n). The seeds' mean is itself noisy, so
    the simulated truth is a little too spread and the bound a little high: an upper bound."""
    x = np.column_stack([a.astype(float).to_numpy() for a in gt_instances])
    n = x.shape[1]
    if n < 2:
        raise ValueError(f"a perfect-rank bound needs at least 2 ground-truth seeds, got {n}")
    truth = x.mean(axis=1)
    sd = float(np.sqrt(((x - truth[:, None]) ** 2).sum() / (x.shape[0] * (n - 1))))
    rng = np.random.default_rng(seed)
    index = pd.RangeIndex(truth.size)
    t = pd.Series(truth, index=index)
    noise = rng.normal(0.0, sd / np.sqrt(n), (draws, truth.size))
    return float(
        np.mean([metrics.kendall_tau(t, pd.Series(truth + e, index=index)) for e in noise])
    )
