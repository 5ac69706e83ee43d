"""Golden tests of the reviewer's statistics (nas.analysis.rankstats), against independent
computations."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from nas.analysis import rankstats, stats, tables

CHILDREN = [f"{a}{b}{c}" for a, b, c in itertools.product("1234", "1234", "12")]  # 32


def _vectors(seed: int, noise: float) -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    gt = pd.Series(np.linspace(70, 90, len(CHILDREN)), index=CHILDREN)  # percent
    acc = gt / 100 + rng.normal(0, noise, len(CHILDREN))
    return acc, gt


def test_sparse_kendall_rounds_both_vectors_to_a_tenth_of_a_percent():
    acc, gt = _vectors(0, 0.01)
    expect = sps.kendalltau(np.round(acc.to_numpy() * 1000), np.round(gt.to_numpy() * 10))
    assert rankstats.sparse_kendall(acc, gt) == pytest.approx(expect.statistic)
    # accuracies 0.04 % apart are ties after rounding: no order is rewarded or punished
    tied = pd.Series([0.8000, 0.8004, 0.7002, 0.7001], index=list("abcd"))
    truth = pd.Series([80.0, 79.0, 70.0, 71.0], index=list("abcd"))
    assert rankstats.sparse_kendall(tied, truth) == pytest.approx(
        sps.kendalltau([800, 800, 700, 700], [800, 790, 700, 710]).statistic
    )


def test_instance_statistics_against_direct_counts():
    acc, gt = _vectors(1, 0.02)
    rank = gt.rank(ascending=False).astype(int)
    row = rankstats.instance_statistics(acc, gt, rank)
    top5 = acc.sort_values(ascending=False).index[:5]
    top10, gt10 = acc.nlargest(10).index, gt.nlargest(10).index
    assert row["spearman"] == pytest.approx(sps.spearmanr(acc, gt).statistic)
    assert row["p_at_10"] == pytest.approx(len(set(top10) & set(gt10)) / 10)
    assert row["p_at_5"] == pytest.approx(len(set(top5) & set(gt.nlargest(5).index)) / 5)
    assert (row["top5_best"], row["top5_worst"]) == (rank[top5].min(), rank[top5].max())
    perfect = rankstats.instance_statistics(gt / 100, gt, rank)
    assert perfect == {
        "spearman": pytest.approx(1.0),
        "sparse_tau": pytest.approx(1.0),
        "p_at_5": 1.0,
        "p_at_10": 1.0,
        "top5_best": 1,
        "top5_worst": 5,
    }


def test_half_splits_are_disjoint_halves_each_once():
    assert rankstats.half_splits(2) == [((0,), (1,))]
    four = rankstats.half_splits(4)  # {01|23, 02|13, 03|12}
    assert len(four) == 3 and all(set(a) | set(b) == {0, 1, 2, 3} for a, b in four)
    assert len(rankstats.half_splits(3)) == 3  # one seed against the other two
    assert len(rankstats.half_splits(20)) == rankstats.MAX_SPLITS
    assert rankstats.half_splits(20) == rankstats.half_splits(20)  # seeded
    with pytest.raises(ValueError, match="at least 2"):
        rankstats.half_splits(1)


def test_split_half_agreement_of_known_seeds():
    base = pd.Series(np.arange(len(CHILDREN), dtype=float), index=CHILDREN)
    assert rankstats.split_half_agreement([base, base, base])["ceiling"] == pytest.approx(1.0)
    rng = np.random.default_rng(3)
    seeds = [base + rng.normal(0, 6, len(base)) for _ in range(4)]
    taus = []
    for first in ([0, 1], [0, 2], [0, 3]):
        rest = [i for i in range(4) if i not in first]
        a = sum(seeds[i] for i in first) / 2
        b = sum(seeds[i] for i in rest) / 2
        taus.append(sps.kendalltau(a, b).statistic)
    got = rankstats.split_half_agreement(seeds)
    assert got["ceiling"] == pytest.approx(np.mean(taus))
    assert (got["ceiling_min"], got["ceiling_max"]) == (
        pytest.approx(min(taus)),
        pytest.approx(max(taus)),
    )
    assert got["ceiling_seeds"] == 4


def test_s_tau_interval_brackets_s_tau_and_collapses_for_equal_ranks():
    acc, _ = _vectors(0, 0.01)
    assert tables.s_tau_interval([acc, acc.copy(), acc.copy()]) == (
        pytest.approx(1.0),
        pytest.approx(1.0),
    )
    noisy = [_vectors(s, 0.03)[0] for s in range(5)]
    lo, hi = tables.s_tau_interval(noisy)
    taus = [sps.kendalltau(a, b).statistic for a, b in itertools.combinations(noisy, 2)]
    # the jackknife over instances, by hand: S-Tau without each instance in turn
    loo = [
        np.mean([sps.kendalltau(a, b).statistic for a, b in itertools.combinations(rest, 2)])
        for rest in ([x for j, x in enumerate(noisy) if j != k] for k in range(5))
    ]
    assert (lo, hi) == pytest.approx(stats.jackknife_interval(np.mean(taus), loo))
    assert lo < np.mean(taus) < hi
    assert all(math.isnan(v) for v in tables.s_tau_interval(noisy[:2]))  # one pair: no spread


def test_perfect_rank_bound_lies_above_the_split_half_agreement():
    """A ranking by the true accuracies agrees with the mean of all seeds better than two
    half-size means agree with each other: the split-half agreement is no ceiling."""
    rng = np.random.default_rng(0)
    truth = np.linspace(0.78, 0.92, 64)
    seeds = [pd.Series(truth + rng.normal(0, 0.0085, 64)) for _ in range(3)]
    bound = rankstats.perfect_rank_bound(seeds)
    half = rankstats.split_half_agreement(seeds)["ceiling"]
    assert half < bound < 1 and bound == rankstats.perfect_rank_bound(seeds)  # seeded
    with pytest.raises(ValueError, match="at least 2"):
        rankstats.perfect_rank_bound(seeds[:1])
