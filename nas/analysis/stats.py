"""Small-sample-valid inference: how a number from a run becomes a statement one can check.

A finding (nas.analysis.findings) reduces a run's records to *units* (instances, groups,
mini-batches
or children, whichever the experiment repeats), one value each, and claims on which side of a
threshold their mean lies (``Claim('>', 0)``), or that it lies within ``threshold +- margin``
(``Claim('~', 0, 0.05)``, an equivalence claim). There are often only 3 to 10 units, where a
percentile bootstrap is far too narrow (its 95 % interval covers the mean of three normal
values about 3 times in 4: it cannot see beyond the spread of the few values it resamples).
So the method here is the one that stays valid at small n:

* Interval: below T_BELOW units, the t-interval ``mean +- t_{n-1} sd / sqrt(n)``; at or above,
  a studentised (bootstrap-t) interval, which keeps the t-interval's small-sample behaviour
  and corrects for skew once there are enough units to see it.
* Test: a one-sided one-sample t-test for the claimed side and one for the other side (for
  "~", the two one-sided tests of TOST against both bounds). ``p_raw = min(1, 2 min(p_claim,
  p_other))`` is the two-sided p that a family of findings adjusts (``holm`` for the
  family-wise error rate, ``benjamini_hochberg`` for the false-discovery rate); each side is so
  tested at ALPHA / 2. Beside it, ``sign_flip_p`` is an exact randomisation test that assumes
  only symmetry, not normality, as a check on the t p.
* Power: ``n_needed`` says at which n the observed standardised effect would be decided with
  power POWER (exact noncentral t), so an undecided finding says whether more units would
  help ("underpowered"; "significant before adjustment only" when n suffices for the raw test
  but not for the family's adjustment) or whether the effect sits at the threshold
  ("compatible with both").
* ``decide`` turns an ``Inference`` and its family-adjusted p into a verdict and a reason.

``pair_permutation_p`` compares agreement within two groups of rank vectors, whose pair-taus
share items and so are not independent units: it permutes items, not pairs.

A statistic that is no mean over units (S-Tau, the mean tau over pairs of instances; the
GT-Tau of the instances' consensus rank) gets ``jackknife_interval``: leave one instance out,
the jackknife's standard error, t_{n-1}. A percentile bootstrap over 3 instances would be their
[min, max] again; ``tests/test_stats.py`` simulates the jackknife's coverage at n = 3, 5, 10.
``bootstrap_interval`` stays for the simulation that shows why the percentile bootstrap was
replaced; all randomness is seeded, so a report is reproducible.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
MIN_UNITS = 3
N_BOOT = 2000
LEVEL = 0.95
BOOT_SEED = 20200907  # fixed: the same records give the same intervals

ALPHA = 0.05  # two-sided level; each direction is tested at ALPHA / 2
POWER = 0.8
MAX_N = 10_000  # n_needed above this is "no feasible n"
T_BELOW = 20  # below this n the interval is a t-interval; at or above, a studentised bootstrap
TAU_RANGE = (-1.0, 1.0)  # where a Kendall tau (and a mean of taus) can lie

# reasons that go with a verdict (decide gives the first four; callers the others)
DECIDED = "p_adj < alpha"
UNDERPOWERED = "underpowered"
BOTH = "compatible with both"
ADJUSTED = "significant before adjustment only"
NOT_TESTABLE = "not testable at this scale"
DESCRIPTIVE = "descriptive (one run)"

_DIRECTIONS = (">", "<", "~")
_OTHER = {">": "<", "<": ">"}


def _as_values(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, dtype=float).ravel()


def _check_side(direction: str) -> None:
    if direction not in _OTHER:
        raise ValueError(f"a one-sided test's direction is '<' or '>', got {direction!r}")


def mean(values: np.ndarray) -> float:
    return float(np.mean(values))


def std(values: np.ndarray) -> float:
    """Population std (ddof = 0), as the paper's GT-Tau-Std-k."""
    return float(np.std(values))


# --------------------------------------------------------------------------- descriptive


def bootstrap_interval(
    values: Sequence[float],
    statistic: Callable[[np.ndarray], float] = mean,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    seed: int = BOOT_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic` over `values` (resampled with replacement).

    Descriptive only: at small n it is much too narrow (see the module doc); inference uses
    ``interval``. Returns (nan, nan) for no values; a single value gives a zero-width interval."""
    x = np.asarray(values, dtype=float)
    if x.size == 0 or np.isnan(x).any():
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    return percentile_interval([statistic(x[row]) for row in idx], level)


def percentile_interval(resampled: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    """The central `level` interval of a statistic's bootstrap resamples (a resampling of its
    own, e.g. of instances that form pairs, uses this directly)."""
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(np.asarray(resampled, dtype=float), [tail, 100.0 - tail])
    return (float(lo), float(hi))


# --------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class Claim:
    """'the mean is <direction> threshold': Claim('<', 0.71), Claim('>', 0), or the
    equivalence claim Claim('~', 0, 0.05), 'the mean lies within 0 +- 0.05'."""

    direction: str
    threshold: float
    margin: float = 0.0  # only for "~": half-width of the equivalence region

    def __post_init__(self) -> None:
        if self.direction not in _DIRECTIONS:
            raise ValueError(f"a claim's direction is '<', '>' or '~', got {self.direction!r}")
        if self.direction == "~":
            if not self.margin > 0:  # also rejects nan
                raise ValueError(f"an equivalence claim ('~') needs margin > 0, got {self.margin}")
        elif self.margin != 0:
            raise ValueError(f"a margin only applies to '~' claims, got {self.margin} with '<'/'>'")

    def text(self) -> str:
        if self.direction == "~":
            return f"within {self.threshold:.4g} +- {self.margin:.4g}"
        return f"{self.direction} {self.threshold:.4g}"


# --------------------------------------------------------------------------- intervals


def t_interval(values: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    """mean +- t_{n-1} sd / sqrt(n): exact for normal units at any n >= 2, which the
    percentile bootstrap is not at small n. n < 2 (or a nan value) gives (nan, nan)."""
    x = _as_values(values)
    if x.size < 2 or np.isnan(x).any():
        return (float("nan"), float("nan"))
    m, se = float(x.mean()), float(x.std(ddof=1)) / math.sqrt(x.size)
    half = float(sps.t.ppf(0.5 + level / 2.0, x.size - 1)) * se
    return (m - half, m + half)


def bootstrap_t_interval(
    values: Sequence[float],
    level: float = LEVEL,
    n_boot: int = N_BOOT,
    seed: int = BOOT_SEED,
) -> tuple[float, float]:
    """Studentised bootstrap interval of the mean: the quantiles of the resampled t statistic
    (mean* - mean) / se* replace t_{n-1}, which corrects for skew (second-order accurate) where
    the t-interval assumes symmetry. Resamples with se* = 0 are dropped. Seeded."""
    x = _as_values(values)
    if x.size < 2 or np.isnan(x).any():
        return (float("nan"), float("nan"))
    n = x.size
    m, se = float(x.mean()), float(x.std(ddof=1)) / math.sqrt(n)
    if se == 0:
        return (m, m)
    rng = np.random.default_rng(seed)
    chunk = max(1, 4_000_000 // n)  # bound memory for many units
    ts = []
    for start in range(0, n_boot, chunk):
        xb = x[rng.integers(0, n, size=(min(chunk, n_boot - start), n))]
        seb = xb.std(axis=1, ddof=1) / math.sqrt(n)
        ok = seb > 0
        ts.append((xb.mean(axis=1)[ok] - m) / seb[ok])
    tb = np.concatenate(ts)
    if tb.size == 0:
        return (float("nan"), float("nan"))
    tail = (1.0 - level) / 2.0
    q_lo, q_hi = np.quantile(tb, [tail, 1.0 - tail])
    return (m - float(q_hi) * se, m - float(q_lo) * se)


def jackknife_interval(
    estimate: float, leave_one_out: Sequence[float], level: float = LEVEL
) -> tuple[float, float]:
    """estimate +- t_{n-1} se_jack, se_jack^2 = (n-1)/n sum (theta_(-i) - mean)^2, for a
    statistic of n instances that is no mean of independent units (S-Tau's pairs share
    instances). `leave_one_out` holds the statistic without each instance in turn. Below 3
    instances (or with a nan) it is (nan, nan): two instances leave one pair, no spread."""
    loo = _as_values(leave_one_out)
    n = loo.size
    if n < 3 or np.isnan(loo).any() or not math.isfinite(estimate):
        return (float("nan"), float("nan"))
    se = math.sqrt((n - 1) / n * float(np.sum((loo - loo.mean()) ** 2)))
    half = float(sps.t.ppf(0.5 + level / 2.0, n - 1)) * se
    return (estimate - half, estimate + half)


def within(bounds: tuple[float, float], lo: float, hi: float) -> tuple[float, float]:
    """An interval cut to the values its parameter can take (a tau's TAU_RANGE). The cut
    interval covers whenever the uncut one does, since the parameter lies in `bounds`: a
    t-interval's 1.07 for a tau says nothing that 1.0 does not."""
    low, high = bounds
    return (max(lo, low) if math.isfinite(lo) else lo, min(hi, high) if math.isfinite(hi) else hi)


def interval(values: Sequence[float], level: float = LEVEL) -> tuple[tuple[float, float], str]:
    """The interval inference reports, and its method: "t" below T_BELOW units (too few to
    estimate skew), "bootstrap-t" at or above."""
    x = _as_values(values)
    if x.size < T_BELOW:
        return t_interval(x, level), "t"
    return bootstrap_t_interval(x, level), "bootstrap-t"


# --------------------------------------------------------------------------- tests


def t_p(values: Sequence[float], threshold: float, direction: str) -> float:
    """One-sided one-sample t-test p of H0 'mean at or on the other side of threshold' against
    H1 'mean <direction> threshold'. With sd = 0 the data decide alone: p = 0 when the mean is
    strictly on the claimed side, else 1. n < 2 (or nan) gives nan."""
    _check_side(direction)
    x = _as_values(values)
    if x.size < 2 or np.isnan(x).any() or np.isnan(threshold):
        return float("nan")
    diff, sd = float(x.mean()) - threshold, float(x.std(ddof=1))
    sign = 1.0 if direction == ">" else -1.0
    if sd == 0:
        return 0.0 if sign * diff > 0 else 1.0
    t = sign * diff / (sd / math.sqrt(x.size))
    return float(sps.t.sf(t, x.size - 1))


def sign_flip_p(
    values: Sequence[float],
    threshold: float,
    direction: str,
    n_exact: int = 16,
    n_mc: int = 20000,
    seed: int = BOOT_SEED,
) -> float:
    """One-sided sign-flip (randomisation) p of the mean of (values - threshold): under H0 the
    deviations are symmetric about 0, so every pattern of signs is equally likely. All 2^n
    patterns when n <= n_exact (the observed one counts, so p >= 2^-n), else a seeded Monte
    Carlo with p = (1 + count) / (1 + n_mc). Distribution-free beside t_p; nan for no values."""
    _check_side(direction)
    x = _as_values(values)
    if x.size == 0 or np.isnan(x).any() or np.isnan(threshold):
        return float("nan")
    dev = x - threshold
    sign = 1.0 if direction == ">" else -1.0
    a = np.abs(dev)
    observed = sign * float(dev.sum())
    tol = 1e-9 * max(float(a.sum()), 1e-300)  # equal sums computed in another order
    n = x.size
    if n <= n_exact:
        bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
        sums = (1.0 - 2.0 * bits) @ a  # symmetric set of patterns: the sign does not matter
        return float(np.count_nonzero(sums >= observed - tol) / sums.size)
    rng = np.random.default_rng(seed)
    count, chunk = 0, max(1, 2_000_000 // n)
    for start in range(0, n_mc, chunk):
        signs = rng.choice(np.array([-1.0, 1.0]), size=(min(chunk, n_mc - start), n))
        count += int(np.count_nonzero(signs @ a >= observed - tol))
    return (1.0 + count) / (1.0 + n_mc)


# --------------------------------------------------------------------------- multiplicity


def _finite_order(p: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arr = np.asarray(p, dtype=float).ravel()
    keep = np.flatnonzero(~np.isnan(arr))
    order = keep[np.argsort(arr[keep], kind="stable")]
    return arr, order, arr[order]


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error rate, valid under any dependence
    between findings): in ascending order, max over j <= i of (m - j + 1) p_(j), capped at 1.
    Same order as the input; NaN stays NaN and is not counted in the family size m."""
    arr, order, sp = _finite_order(p)
    out = np.full(arr.shape, np.nan)
    m = sp.size
    if m:
        out[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * sp))
    return out


def benjamini_hochberg(p: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values (q-values, false-discovery rate): in
    ascending order, min over j >= i of m p_(j) / j, capped at 1. Same order and NaN handling
    as holm."""
    arr, order, sp = _finite_order(p)
    out = np.full(arr.shape, np.nan)
    m = sp.size
    if m:
        raw = m * sp / np.arange(1, m + 1)
        out[order] = np.minimum(1.0, np.minimum.accumulate(raw[::-1])[::-1])
    return out


# --------------------------------------------------------------------------- power


def _t_power(n: int, d: float, alpha: float) -> float:
    """Power of the one-sided one-sample t-test at level alpha, n units, effect d >= 0."""
    crit = sps.t.ppf(1.0 - alpha, n - 1)
    return float(1.0 - sps.nct.cdf(crit, n - 1, d * math.sqrt(n)))


def n_needed(
    d: float, alpha: float = ALPHA / 2, power: float = POWER, max_n: int = MAX_N
) -> int | None:
    """Smallest n >= 2 at which a one-sided one-sample t-test at level alpha has `power` at
    standardised effect |d| (exact, noncentral t). None for d = 0 or nan, or when more than
    max_n units are needed: then no feasible run decides the effect. Power grows with n, so a
    bracket around the normal approximation is found by doubling and closed by bisection."""
    if d is None or np.isnan(d) or d == 0:
        return None
    d = abs(float(d))
    if math.isinf(d):
        return 2

    def enough(n: int) -> bool:
        return _t_power(n, d, alpha) >= power

    if not enough(max_n):
        return None
    z = sps.norm.ppf(1.0 - alpha) + sps.norm.ppf(power)
    guess = int(min(max(2.0, (z / d) ** 2 + z**2 / 4.0), max_n))  # normal approx, a bit low
    if enough(guess):
        hi, step = guess, 1
        while hi > 2:  # walk down by doubling steps until it fails
            lo = max(2, hi - step)
            if not enough(lo):
                break
            hi, step = lo, step * 2
        else:
            return 2
    else:
        lo, step = guess, 1
        while True:  # walk up by doubling steps until it suffices (max_n does)
            hi = min(max_n, lo + step)
            if enough(hi):
                break
            lo, step = hi, step * 2
    while hi - lo > 1:  # enough(hi), not enough(lo)
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid
    return hi


# --------------------------------------------------------------------------- rank agreement


def pair_permutation_p(tau: np.ndarray, n_a: int) -> tuple[float, float, float]:
    """Two-sample permutation test for agreement within two groups of rank vectors.

    Each item appears in several pairs, so pair-taus are not independent units; permuting the
    items' group labels respects that. `tau` is the k x k symmetric matrix of Kendall taus
    between k items (diagonal ignored); items 0..n_a-1 are group A, the rest group B (each
    >= 2 items). Statistic: mean pair-tau within A minus mean pair-tau within B, over all
    C(k, n_a) relabellings exactly. Returns (statistic, p_less, p_greater), the shares of
    relabellings with statistic <= / >= the observed one (observed included). Valid under
    exchangeability of the k items."""
    t = np.asarray(tau, dtype=float)
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise ValueError(f"tau must be a square matrix, got shape {t.shape}")
    k = t.shape[0]
    if n_a < 2 or k - n_a < 2:
        raise ValueError(f"each group needs >= 2 items, got {n_a} and {k - n_a}")
    if not np.allclose(t, t.T, equal_nan=True):
        raise ValueError("tau must be symmetric")
    t = t.copy()
    np.fill_diagonal(t, 0.0)
    if np.isnan(t).any():
        return (float("nan"), float("nan"), float("nan"))
    n_b = k - n_a
    pairs_a, pairs_b = n_a * (n_a - 1) / 2.0, n_b * (n_b - 1) / 2.0
    combos = np.array(list(itertools.combinations(range(k), n_a)))
    member = np.zeros((combos.shape[0], k))
    np.put_along_axis(member, combos, 1.0, axis=1)
    other = 1.0 - member
    within_a = np.einsum("ij,jk,ik->i", member, t, member) / 2.0 / pairs_a
    within_b = np.einsum("ij,jk,ik->i", other, t, other) / 2.0 / pairs_b
    stat = within_a - within_b
    observed = float(stat[0])  # combinations start with (0, ..., n_a - 1), the actual labels
    tol = 1e-9 * max(1.0, float(np.abs(t).max()))
    p_less = float(np.count_nonzero(stat <= observed + tol) / stat.size)
    p_greater = float(np.count_nonzero(stat >= observed - tol) / stat.size)
    return (observed, p_less, p_greater)


# --------------------------------------------------------------------------- inference


@dataclass(frozen=True)
class Inference:
    """What the units say about a claim (see infer)."""

    n: int
    effect: float  # mean of the values
    sd: float  # sample std, ddof = 1 (nan for n < 2)
    ci_low: float
    ci_high: float
    interval_method: str  # "t" or "bootstrap-t"
    d: float  # (effect - threshold) / sd; for "~": (margin - |effect - threshold|) / sd
    p_claim: float  # one-sided p for the claim (TOST p for "~")
    p_other: float  # one-sided p for the opposite side
    p_sign: float  # sign-flip p for the claim
    p_raw: float  # min(1, 2 min(p_claim, p_other)): the two-sided p a family adjusts
    n_needed: int | None  # n at which the observed d would be decided with power POWER


def infer(values: Sequence[float], claim: Claim) -> Inference:
    """Interval, tests and power for `claim` over the units' values. For '~' the claim is
    TOST (both one-sided tests against threshold -+ margin must reject), the other side is
    'outside the margin'. n < 2 gives nan fields (the effect stays the one value) and
    n_needed None."""
    x = _as_values(values)
    n = int(x.size)
    (lo, hi), method = interval(x)
    nan = float("nan")
    effect = float(x.mean()) if n else nan
    if n < 2 or np.isnan(x).any():
        return Inference(n, effect, nan, nan, nan, method, nan, nan, nan, nan, nan, None)
    sd = float(x.std(ddof=1))
    thr = claim.threshold
    with np.errstate(divide="ignore", invalid="ignore"):
        if claim.direction == "~":
            low, high = thr - claim.margin, thr + claim.margin
            d = float(np.float64(claim.margin - abs(effect - thr)) / sd)
            p_claim = max(t_p(x, low, ">"), t_p(x, high, "<"))
            p_other = min(1.0, 2.0 * min(t_p(x, low, "<"), t_p(x, high, ">")))
            p_sign = max(sign_flip_p(x, low, ">"), sign_flip_p(x, high, "<"))
        else:
            d = float(np.float64(effect - thr) / sd)
            p_claim = t_p(x, thr, claim.direction)
            p_other = t_p(x, thr, _OTHER[claim.direction])
            p_sign = sign_flip_p(x, thr, claim.direction)
    p_raw = min(1.0, 2.0 * min(p_claim, p_other)) if not np.isnan(p_claim + p_other) else nan
    return Inference(n, effect, sd, lo, hi, method, d, p_claim, p_other, p_sign, p_raw, n_needed(d))


def decide(
    inference: Inference,
    p_adjusted: float,
    alpha: float = ALPHA,
    min_units: int = MIN_UNITS,
) -> tuple[str, str]:
    """(verdict, reason) from an inference and its family-adjusted p: decided when there are
    min_units units and p_adjusted < alpha, towards the side with the smaller p; otherwise
    inconclusive, "underpowered" when more units would decide the observed effect at alpha,
    "significant before adjustment only" when they sufficed for alpha but not for the
    family's adjustment (more units would still decide it), "compatible with both" when no
    feasible n would (effect at the threshold) or n sufficed and even the raw test did not."""
    n = inference.n
    if n >= min_units and p_adjusted < alpha:
        if inference.p_claim < inference.p_other:
            return SUPPORTED, DECIDED
        return CONTRADICTED, DECIDED
    if n < min_units or (inference.n_needed is not None and inference.n_needed > n):
        return INCONCLUSIVE, UNDERPOWERED
    if inference.p_raw < alpha <= p_adjusted:
        return INCONCLUSIVE, ADJUSTED
    return INCONCLUSIVE, BOTH
