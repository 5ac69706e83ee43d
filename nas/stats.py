"""Intervals and verdicts: how a number from a run becomes a statement one can check.

A finding (nas.findings) reduces a run's records to *units* (instances, groups, mini-batches
or children, whichever the experiment repeats), one value each, and a statistic of those
values (a mean, or a std). Its 95 % interval is a percentile bootstrap over the units, with a
fixed seed so that the report is reproducible. A claim says on which side of a threshold the
statistic lies; the verdict reads the interval against it:

* supported: the whole interval is on the claimed side;
* contradicted: the whole interval is on the other side;
* inconclusive: the interval straddles the threshold, or there are fewer than MIN_UNITS units
  (a bootstrap over one or two numbers says nothing about their spread).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
MIN_UNITS = 3
N_BOOT = 2000
LEVEL = 0.95
BOOT_SEED = 20200907  # fixed: the same records give the same intervals


def mean(values: np.ndarray) -> float:
    return float(np.mean(values))


def std(values: np.ndarray) -> float:
    """Population std (ddof = 0), as the paper's GT-Tau-Std-k."""
    return float(np.std(values))


def bootstrap_interval(
    values: Sequence[float],
    statistic: Callable[[np.ndarray], float] = mean,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    seed: int = BOOT_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic` over `values` (resampled with replacement).

    Returns (nan, nan) for no values; a single value gives a zero-width interval (the verdict
    treats too few units as inconclusive, not this interval)."""
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


@dataclass(frozen=True)
class Claim:
    """'the statistic is <direction> threshold', e.g. Claim('<', 0.71)."""

    direction: str
    threshold: float

    def __post_init__(self) -> None:
        if self.direction not in ("<", ">"):
            raise ValueError(f"a claim's direction is '<' or '>', got {self.direction!r}")

    def text(self) -> str:
        return f"{self.direction} {self.threshold:.4g}"


def verdict(claim: Claim, interval: tuple[float, float], n_units: int) -> str:
    """supported / contradicted / inconclusive, from the interval (see the module doc)."""
    lo, hi = interval
    if n_units < MIN_UNITS or np.isnan(lo) or np.isnan(hi) or np.isnan(claim.threshold):
        return INCONCLUSIVE
    above, below = lo > claim.threshold, hi < claim.threshold
    if claim.direction == ">":
        return SUPPORTED if above else CONTRADICTED if below else INCONCLUSIVE
    return SUPPORTED if below else CONTRADICTED if above else INCONCLUSIVE
