"""nas.analysis.stats: the small-sample inference is checked by simulation (coverage, error rates,
power) and against hand-computed values. Every simulation is seeded."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from nas.analysis import stats, tables

NAN = float("nan")


# --------------------------------------------------------------------------- intervals


@pytest.mark.parametrize("n", [3, 5, 10])
def test_t_interval_covers_the_true_mean_at_small_n(n):
    rng = np.random.default_rng(100 + n)
    data = rng.normal(1.5, 2.0, size=(4000, n))
    covered = [lo <= 1.5 <= hi for lo, hi in map(stats.t_interval, data)]
    assert 0.93 <= np.mean(covered) <= 0.97


def test_percentile_bootstrap_undercovers_at_n3_which_is_why_it_was_replaced():
    rng = np.random.default_rng(7)
    data = rng.normal(0.0, 1.0, size=(500, 3))
    covered = [
        lo <= 0.0 <= hi for lo, hi in (stats.bootstrap_interval(x, n_boot=500) for x in data)
    ]
    assert np.mean(covered) < 0.85


def test_bootstrap_t_interval_covers_at_n30():
    rng = np.random.default_rng(30)
    data = rng.normal(-0.4, 1.0, size=(500, 30))
    covered = [
        lo <= -0.4 <= hi
        for lo, hi in (
            stats.bootstrap_t_interval(x, n_boot=999, seed=i) for i, x in enumerate(data)
        )
    ]
    assert np.mean(covered) >= 0.92


def test_t_interval_matches_scipy_and_edge_cases():
    x = [0.2, 0.5, 0.9, 0.4]
    expect = sps.t.interval(0.95, 3, loc=np.mean(x), scale=sps.sem(x))
    assert stats.t_interval(x) == pytest.approx(expect)
    assert all(math.isnan(v) for v in stats.t_interval([1.0]))
    assert all(math.isnan(v) for v in stats.t_interval([1.0, NAN, 2.0]))
    assert stats.t_interval([0.3] * 4) == pytest.approx((0.3, 0.3))


def test_bootstrap_t_is_seeded_and_close_to_t_for_many_normal_units():
    x = np.random.default_rng(3).normal(2.0, 1.0, 400)
    a = stats.bootstrap_t_interval(x)
    assert stats.bootstrap_t_interval(x) == a
    assert a == pytest.approx(stats.t_interval(x), abs=0.03)
    assert stats.bootstrap_t_interval([0.3] * 25) == (0.3, 0.3)


def test_interval_switches_method_at_t_below():
    rng = np.random.default_rng(4)
    small, big = rng.normal(size=stats.T_BELOW - 1), rng.normal(size=stats.T_BELOW)
    assert stats.interval(small) == (stats.t_interval(small), "t")
    assert stats.interval(big) == (stats.bootstrap_t_interval(big), "bootstrap-t")


# --------------------------------------------------------------------------- error rates, power


@pytest.mark.parametrize("n", [3, 5, 10])
def test_false_decision_rates_at_the_threshold_are_nominal(n):
    rng = np.random.default_rng(200 + n)
    claim = stats.Claim(">", 0.25)
    verdicts = []
    for x in rng.normal(0.25, 1.0, size=(4000, n)):
        inf = stats.infer(x, claim)
        verdicts.append(stats.decide(inf, inf.p_raw)[0])
    verdicts = np.array(verdicts)
    assert 0.015 <= np.mean(verdicts == stats.SUPPORTED) <= 0.035  # nominal 0.025
    assert 0.015 <= np.mean(verdicts == stats.CONTRADICTED) <= 0.035


def _supported_rate(d: float, n: int, sets: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    claim = stats.Claim(">", 0.0)
    hits = 0
    for x in rng.normal(d, 1.0, size=(sets, n)):
        inf = stats.infer(x, claim)
        hits += stats.decide(inf, inf.p_raw)[0] == stats.SUPPORTED
    return hits / sets


def test_power_at_n_needed_is_about_power():
    n = stats.n_needed(1.0)
    assert n == 10
    assert 0.74 <= _supported_rate(1.0, n, 3000, seed=11) <= 0.86


def test_power_at_n_needed_for_a_large_effect_is_at_least_power():
    # n is an integer: for d = 2, n = 4 falls short of 0.8 and n = 5 reaches about 0.91
    n = stats.n_needed(2.0)
    assert n == 5
    exact = stats._t_power(n, 2.0, stats.ALPHA / 2)
    assert stats._t_power(n - 1, 2.0, stats.ALPHA / 2) < stats.POWER <= exact
    rate = _supported_rate(2.0, n, 3000, seed=12)
    assert rate == pytest.approx(exact, abs=0.03)
    assert rate >= 0.74


def _brute_n_needed(d, alpha=stats.ALPHA / 2, power=stats.POWER):
    for n in range(2, 5000):
        crit = sps.t.ppf(1 - alpha, n - 1)
        if 1 - sps.nct.cdf(crit, n - 1, abs(d) * math.sqrt(n)) >= power:
            return n
    return None


@pytest.mark.parametrize("d", [0.5, -0.5, 0.1, 0.8, 1.0, 2.0, 3.0, 6.0])
def test_n_needed_agrees_with_a_brute_force_loop(d):
    assert stats.n_needed(d) == _brute_n_needed(d)


def test_n_needed_known_values_and_limits():
    assert stats.n_needed(0.5) == 34  # one-sided 0.025, power 0.8, one-sample t
    ds = [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
    ns = [stats.n_needed(d) for d in ds]
    assert all(a >= b for a, b in zip(ns[:-1], ns[1:], strict=True))
    assert ns[0] > ns[-1]
    assert stats.n_needed(0.0) is None
    assert stats.n_needed(NAN) is None
    assert stats.n_needed(0.01) is None  # needs ~78,000 > MAX_N
    assert stats.n_needed(0.5, max_n=20) is None
    assert stats.n_needed(float("inf")) == 2
    assert stats.n_needed(50.0) == 2


# --------------------------------------------------------------------------- t and sign-flip p


def test_t_p_matches_scipy_and_handles_zero_sd():
    x = [0.1, 0.4, 0.35, 0.8, 0.2]
    for direction, alt in ((">", "greater"), ("<", "less")):
        expect = sps.ttest_1samp(x, 0.2, alternative=alt).pvalue
        assert stats.t_p(x, 0.2, direction) == pytest.approx(expect)
    assert stats.t_p([0.5] * 4, 0.2, ">") == 0.0
    assert stats.t_p([0.5] * 4, 0.2, "<") == 1.0
    assert stats.t_p([0.2] * 4, 0.2, ">") == 1.0
    assert math.isnan(stats.t_p([0.5], 0.2, ">"))
    with pytest.raises(ValueError, match="direction"):
        stats.t_p(x, 0.0, "~")


def test_sign_flip_exact_small_examples():
    assert stats.sign_flip_p([1, 2, 3], 0, ">") == pytest.approx(1 / 8)
    assert stats.sign_flip_p([1, 2, 3], 0, "<") == 1.0
    assert stats.sign_flip_p([-1, -2, -3], 0, "<") == pytest.approx(1 / 8)
    # deviations from 2: -1, 1, 3; sums >= 3 among the 8 patterns: (+-1, +-1, +3) with
    # sum 3 twice (-1+1+3, +1-1+3) and 5 once (+1+1+3): 3 of 8
    assert stats.sign_flip_p([1, 3, 5], 2, ">") == pytest.approx(3 / 8)
    assert stats.sign_flip_p([0.0, 0.0, 0.0], 0, ">") == 1.0
    assert math.isnan(stats.sign_flip_p([], 0, ">"))


def test_sign_flip_monte_carlo_is_close_to_exact_and_to_t():
    x = np.random.default_rng(5).normal(0.45, 1.0, 18)
    exact = stats.sign_flip_p(x, 0.0, ">", n_exact=18)
    mc = stats.sign_flip_p(x, 0.0, ">")  # n = 18 > n_exact = 16
    assert mc == stats.sign_flip_p(x, 0.0, ">")  # seeded
    assert mc == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / 20000) + 1e-4)
    y = np.random.default_rng(9).normal(0.4, 1.0, 20)
    tp, sp = stats.t_p(y, 0.0, ">"), stats.sign_flip_p(y, 0.0, ">")
    assert 0.005 < tp < 0.1
    assert sp == pytest.approx(tp, rel=0.25)


# --------------------------------------------------------------------------- multiplicity


def test_holm_hand_examples():
    got = stats.holm([0.01, 0.04, 0.03, NAN, 0.005])
    np.testing.assert_allclose(got, [0.03, 0.06, 0.06, NAN, 0.02])
    np.testing.assert_allclose(stats.holm([0.02, 0.02, 0.5]), [0.06, 0.06, 0.5])  # ties
    np.testing.assert_allclose(stats.holm([0.6, 0.7]), [1.0, 1.0])  # capped
    assert stats.holm([]).size == 0
    assert np.isnan(stats.holm([NAN])).all()


def test_benjamini_hochberg_hand_examples():
    got = stats.benjamini_hochberg([0.01, 0.04, 0.03, NAN, 0.005])
    np.testing.assert_allclose(got, [0.02, 0.04, 0.04, NAN, 0.02])
    np.testing.assert_allclose(stats.benjamini_hochberg([0.02, 0.02, 0.5]), [0.03, 0.03, 0.5])
    np.testing.assert_allclose(stats.benjamini_hochberg([0.01, 0.02, 0.03, 0.04, 0.05]), [0.05] * 5)
    np.testing.assert_allclose(stats.benjamini_hochberg([0.9, 0.8]), [0.9, 0.9])


@pytest.mark.parametrize("adjust", [stats.holm, stats.benjamini_hochberg])
def test_adjustments_are_monotone_and_not_below_raw(adjust):
    p = np.random.default_rng(8).uniform(0, 0.2, 30)
    p[[3, 17]] = NAN
    q = adjust(p)
    keep = ~np.isnan(p)
    assert np.array_equal(np.isnan(q), ~keep)
    order = np.argsort(p[keep])
    assert np.all(np.diff(q[keep][order]) >= -1e-15)
    assert np.all(q[keep] >= p[keep]) and np.all(q[keep] <= 1)
    assert np.all(stats.holm(p)[keep] >= stats.benjamini_hochberg(p)[keep] - 1e-15)


# --------------------------------------------------------------------------- pair permutation


def _tau_matrix(ranks: np.ndarray) -> np.ndarray:
    """Kendall tau between rows of a (k, m) matrix of tie-free rank vectors."""
    s = np.sign(ranks[:, :, None] - ranks[:, None, :])  # (k, m, m)
    m = ranks.shape[1]
    return np.einsum("aij,bij->ab", s, s) / (m * (m - 1))


def test_tau_matrix_helper_matches_scipy():
    ranks = np.array([np.random.default_rng(i).permutation(7) for i in range(3)])
    t = _tau_matrix(ranks)
    assert t[0, 1] == pytest.approx(sps.kendalltau(ranks[0], ranks[1]).statistic)


def test_pair_permutation_extreme_and_identical_groups():
    tau = np.full((6, 6), 0.5)
    tau[:3, :3] = 0.9
    tau[3:, 3:] = 0.1
    stat, p_less, p_greater = stats.pair_permutation_p(tau, 3)
    assert stat == pytest.approx(0.8)
    assert p_greater == pytest.approx(1 / 20)
    assert p_less == 1.0
    assert stats.pair_permutation_p(tau[::-1, ::-1], 3)[1] == pytest.approx(1 / 20)
    same = np.full((6, 6), 0.4)
    stat, p_less, p_greater = stats.pair_permutation_p(same, 3)
    assert stat == pytest.approx(0.0)
    assert p_less == p_greater == 1.0


def test_pair_permutation_validates():
    with pytest.raises(ValueError, match=">= 2"):
        stats.pair_permutation_p(np.zeros((4, 4)), 1)
    with pytest.raises(ValueError, match="square"):
        stats.pair_permutation_p(np.zeros((4, 3)), 2)
    asym = np.zeros((4, 4))
    asym[0, 1] = 1.0
    with pytest.raises(ValueError, match="symmetric"):
        stats.pair_permutation_p(asym, 2)


def test_pair_permutation_is_valid_under_exchangeability():
    rng = np.random.default_rng(9)
    ps = []
    for _ in range(600):
        ranks = np.array([rng.permutation(10) for _ in range(8)])
        ps.append(stats.pair_permutation_p(_tau_matrix(ranks), 4)[2])
    ps = np.array(ps)
    assert np.mean(ps <= 0.1) <= 0.1 + 0.03
    assert np.mean(ps <= 0.5) <= 0.5 + 0.05


# --------------------------------------------------------------------------- claims, decide


def test_claim_validation_and_text():
    with pytest.raises(ValueError, match="direction"):
        stats.Claim("=", 0.0)
    with pytest.raises(ValueError, match="margin"):
        stats.Claim("~", 0.0)
    with pytest.raises(ValueError, match="margin"):
        stats.Claim("~", 0.0, -0.1)
    with pytest.raises(ValueError, match="margin"):
        stats.Claim("~", 0.0, NAN)
    with pytest.raises(ValueError, match="margin"):
        stats.Claim(">", 0.0, 0.1)
    assert stats.Claim(">", 0.0).text() == "> 0"
    assert stats.Claim("<", 0.64).text() == "< 0.64"
    assert stats.Claim("~", 0.0, 0.05).text() == "within 0 +- 0.05"


def test_equivalence_inside_is_supported_and_far_outside_contradicted():
    rng = np.random.default_rng(10)
    claim = stats.Claim("~", 0.0, 0.05)
    inside = stats.infer(rng.normal(0.01, 0.01, 8), claim)
    assert inside.d > 0 and inside.p_claim < 0.01 and inside.p_sign < 0.05
    assert stats.decide(inside, inside.p_raw) == (stats.SUPPORTED, stats.DECIDED)
    outside = stats.infer(rng.normal(0.5, 0.01, 8), claim)
    assert outside.d < 0 and outside.p_other < 0.01
    assert stats.decide(outside, outside.p_raw) == (stats.CONTRADICTED, stats.DECIDED)
    below = stats.infer(rng.normal(-0.5, 0.01, 8), claim)
    assert stats.decide(below, below.p_raw)[0] == stats.CONTRADICTED


def test_infer_fields_for_a_one_sided_claim():
    x = [0.3, 0.5, 0.4, 0.6, 0.45]
    inf = stats.infer(x, stats.Claim(">", 0.2))
    assert inf.n == 5 and inf.interval_method == "t"
    assert inf.effect == pytest.approx(np.mean(x))
    assert inf.sd == pytest.approx(np.std(x, ddof=1))
    assert (inf.ci_low, inf.ci_high) == pytest.approx(stats.t_interval(x))
    assert inf.d == pytest.approx((np.mean(x) - 0.2) / np.std(x, ddof=1))
    assert inf.p_claim == pytest.approx(stats.t_p(x, 0.2, ">"))
    assert inf.p_other == pytest.approx(1 - inf.p_claim)
    assert inf.p_sign == pytest.approx(1 / 32)  # all deviations positive
    assert inf.p_raw == pytest.approx(2 * inf.p_claim)
    assert inf.n_needed == stats.n_needed(inf.d)
    below = stats.infer(x, stats.Claim("<", 0.2))
    assert below.p_claim == inf.p_other and below.d == inf.d
    assert stats.decide(below, below.p_raw)[0] == stats.CONTRADICTED


def test_infer_with_too_few_units():
    one = stats.infer([0.4], stats.Claim(">", 0.0))
    assert one.n == 1 and one.effect == 0.4 and one.n_needed is None
    assert all(math.isnan(v) for v in (one.sd, one.ci_low, one.p_claim, one.p_raw, one.d))
    assert stats.decide(one, one.p_raw) == (stats.INCONCLUSIVE, stats.UNDERPOWERED)
    none = stats.infer([], stats.Claim(">", 0.0))
    assert none.n == 0 and math.isnan(none.effect)


def test_decide_reasons():
    two = stats.infer([0.1, 0.3], stats.Claim(">", 0.0))
    assert stats.decide(two, two.p_raw) == (stats.INCONCLUSIVE, stats.UNDERPOWERED)
    # even a tiny p does not decide with fewer than MIN_UNITS units
    assert stats.decide(two, 1e-6) == (stats.INCONCLUSIVE, stats.UNDERPOWERED)
    at = stats.infer([-1.0, 0.0, 1.0], stats.Claim(">", 0.0))
    assert at.d == 0 and at.n_needed is None and at.p_raw == 1.0
    assert stats.decide(at, at.p_raw) == (stats.INCONCLUSIVE, stats.BOTH)
    small = stats.infer([0.1, -0.3, 0.4, 0.2, -0.1], stats.Claim(">", 0.0))
    assert small.n_needed > small.n
    assert stats.decide(small, small.p_raw) == (stats.INCONCLUSIVE, stats.UNDERPOWERED)
    # n already suffices for the observed effect at alpha, but the family adjustment keeps it
    # undecided: not "compatible with both" (p_raw decides it), held back by the adjustment
    strong = stats.infer([1.0, 1.2, 0.9, 1.1, 1.05], stats.Claim(">", 0.0))
    assert strong.n_needed <= strong.n and strong.p_raw < stats.ALPHA
    assert stats.decide(strong, strong.p_raw) == (stats.SUPPORTED, stats.DECIDED)
    assert stats.decide(strong, 0.2) == (stats.INCONCLUSIVE, stats.ADJUSTED)
    assert stats.decide(strong, NAN) == (stats.INCONCLUSIVE, stats.BOTH)
    for reason in (stats.NOT_TESTABLE, stats.DESCRIPTIVE):
        assert isinstance(reason, str) and reason


# ----------------------------------------------------------- the jackknife for S-Tau


def _taus(acc: np.ndarray) -> np.ndarray:
    """Kendall tau between every pair of rows (continuous values: no ties)."""
    s = np.sign(acc[:, :, None] - acc[:, None, :]).reshape(len(acc), -1)
    c = acc.shape[1]
    return (s @ s.T) / (c * (c - 1))


@pytest.mark.parametrize("het", [0.0, 0.5])
def test_jackknife_interval_of_s_tau_covers_at_small_n(het):
    """S-Tau is the mean tau over pairs of instances, which share instances: no mean over
    units. Instances rank 64 children of fixed quality, each with its own noise level (het:
    the spread of log noise, some instances far worse than others); the jackknife t-interval
    covers the population S-Tau at n = 3, 5 and 10."""
    rng = np.random.default_rng(7)
    quality = rng.normal(size=64)

    def draw(n: int) -> np.ndarray:
        sigma = 1.5 * np.exp(het * rng.normal(size=(n, 1)))
        return quality + sigma * rng.normal(size=(n, 64))

    big = _taus(draw(600))
    truth = big[np.triu_indices(600, 1)].mean()
    for n in (3, 5, 10):
        hits, reps = 0, 2000
        for _ in range(reps):
            tau = _taus(draw(n))
            pairs = np.triu_indices(n, 1)
            keep = [np.delete(np.arange(n), k) for k in range(n)]
            loo = [tau[np.ix_(k, k)][np.triu_indices(n - 1, 1)].mean() for k in keep]
            lo, hi = stats.jackknife_interval(tau[pairs].mean(), loo)
            hits += lo <= truth <= hi
        print(f"het {het} n {n}: coverage {hits / reps:.3f}")
        assert hits / reps >= 0.93, (n, hits / reps)


def test_jackknife_interval_edge_cases():
    assert all(math.isnan(v) for v in stats.jackknife_interval(0.5, [0.4, 0.6]))
    assert stats.jackknife_interval(0.5, [0.5, 0.5, 0.5]) == (0.5, 0.5)
    lo, hi = stats.jackknife_interval(0.5, [0.4, 0.5, 0.6])
    se = math.sqrt(2 / 3 * 0.02)
    assert (lo, hi) == pytest.approx(
        (0.5 - sps.t.ppf(0.975, 2) * se, 0.5 + sps.t.ppf(0.975, 2) * se)
    )


# ------------------------------------- the ground truth's leave-one-out GT-Tau (Table 2)


def _loo_mean(x: np.ndarray) -> float:
    """Mean tau of each row against the mean of the others (numpy and scipy only)."""
    rest = [np.delete(x, i, axis=0).mean(axis=0) for i in range(len(x))]
    return float(np.mean([sps.kendalltau(x[i], r)[0] for i, r in enumerate(rest)]))


def test_the_ground_truth_leave_one_out_interval_covers_where_a_t_interval_does_not():
    """Each seed scored against the mean of the others: the scores share seeds, so a
    t-interval over them undercovers; the jackknife over seeds (tables.leave_one_out_interval)
    covers the expected mean score at that many seeds. 64 children of fixed quality."""
    rng = np.random.default_rng(11)
    quality = rng.normal(size=64)
    children = [f"c{i}" for i in range(64)]

    def draw(n: int) -> np.ndarray:
        return quality + rng.normal(size=(n, 64))

    for n, reps in ((3, 500), (5, 250)):
        truth = np.mean([_loo_mean(draw(n)) for _ in range(2000)])
        jack = plain = 0
        for _ in range(reps):
            x = draw(n)
            finals = [pd.Series(row, index=children) for row in x]
            band = tables.leave_one_out_interval(finals)
            jack += band["gt_tau_lo"] <= truth <= band["gt_tau_hi"]
            scores = [
                sps.kendalltau(x[i], np.delete(x, i, axis=0).mean(axis=0))[0] for i in range(n)
            ]
            lo, hi = stats.t_interval(np.array(scores))
            plain += lo <= truth <= hi
        print(f"n {n}: jackknife {jack / reps:.3f}, t over the seeds' scores {plain / reps:.3f}")
        assert jack / reps >= 0.93, (n, jack / reps)
    assert all(math.isnan(v) for v in tables.leave_one_out_interval(finals[:2]).values())


def test_a_tau_interval_is_cut_to_minus_one_one_and_covers_as_before():
    """The README run's ground-truth GT-Tau interval was [0.067, 1.067] (jackknife over 3
    seeds): cut to [-1, 1] it covers exactly when the uncut one does, for any tau."""
    rng = np.random.default_rng(5)
    for _ in range(2000):
        lo, hi = sorted(rng.uniform(-1.5, 1.5, size=2))
        truth = rng.uniform(-1, 1)
        cut = stats.within(stats.TAU_RANGE, lo, hi)
        assert -1 <= cut[0] <= cut[1] <= 1 or cut[0] > cut[1]  # disjoint stays disjoint
        assert (cut[0] <= truth <= cut[1]) == (lo <= truth <= hi)
    assert all(math.isnan(v) for v in stats.within(stats.TAU_RANGE, math.nan, math.nan))
    # three near-perfect seeds and one outlier: the jackknife's upper end would pass 1
    children = [f"c{i}" for i in range(16)]
    base = np.arange(16.0)
    finals = [pd.Series(base + rng.normal(scale=s, size=16), index=children) for s in (0.1, 0.1, 8)]
    band = tables.leave_one_out_interval(finals)
    raw = stats.jackknife_interval(
        tables._mean_loo_gt_tau(finals),
        [tables._mean_loo_gt_tau([f for j, f in enumerate(finals) if j != i]) for i in range(3)],
    )
    assert raw[1] > 1 and band["gt_tau_hi"] == 1.0 and band["gt_tau_lo"] == max(raw[0], -1.0)
