"""Rank aggregation: does a rank read from more than one point agree better with the truth?

The paper's Observation 3 is that ranks read at neighbouring epochs, or after neighbouring
mini-batches, disagree; a search that reads its rank once takes whichever of them it lands
on. Averaging is the obvious remedy nobody measured. Each method here turns the records of a
share-all instance into one accuracy per child:

* ``final``: the last epoch point, the paper's single rank;
* ``last_minibatches``: each child's mean accuracy over the last ``window`` dense points;
* ``last_epochs``: each child's mean accuracy over the last ``last_epochs`` epoch points;

and ``consensus``: the mean over the family's instances of each child's ``final`` rank (a
Borda count), one rank from several super-nets. A method is one function and one line in
METHODS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from nas.analysis import metrics, rankstats, stats, tables

Method = Callable[[pd.DataFrame, int, int], pd.Series]


def final(inst: pd.DataFrame, window: int, last_epochs: int) -> pd.Series:
    return tables.final_accuracy(inst)


def last_minibatches(inst: pd.DataFrame, window: int, last_epochs: int) -> pd.Series:
    return tables.last_rows(tables.dense_matrix(inst), window, "last_minibatches").mean()


def last_epochs_mean(inst: pd.DataFrame, window: int, last_epochs: int) -> pd.Series:
    return tables.last_rows(tables.epoch_matrix(inst), last_epochs, "last_epochs").mean()


METHODS: dict[str, Method] = {
    "final": final,
    "last_minibatches": last_minibatches,
    "last_epochs": last_epochs_mean,
}
CONSENSUS = "consensus"
COLUMNS = ["family", "method", "gt_tau_mean", "gt_tau_lo", "gt_tau_hi", "t1r_mean", "t3r_mean"]
COLUMNS += ["gain_mean", "gain_lo", "gain_hi", *rankstats.STAT_COLUMNS, "n"]


def consensus(accs: Sequence[pd.Series]) -> pd.Series:
    """Each child's mean rank over the instances, negated so that higher is better (the
    metrics read accuracies, where higher is better)."""
    ranks = pd.concat([metrics.ranks_from_accuracy(a) for a in accs], axis=1)
    return -ranks.mean(axis=1)


def _method_row(family: str, name: str, accs: list[pd.Series], base: list[float], gt) -> dict:
    """GT-Tau (mean and t-interval over instances), T1R, T3R of one method, and its
    gain over ``final`` (paired by instance)."""
    taus, t1s, t3s = zip(*(tables.tau_tnr(a, gt) for a in accs), strict=True)
    gains = [t - b for t, b in zip(taus, base, strict=True)]
    (lo, hi), _ = stats.interval(gains)
    return {
        "family": family,
        "method": name,
        "gt_tau_mean": float(np.mean(taus)),
        **rankstats.interval(taus, "gt_tau"),
        "t1r_mean": float(np.mean(t1s)),
        "t3r_mean": float(np.mean(t3s)),
        "gain_mean": float(np.mean(gains)),
        "gain_lo": lo,
        "gain_hi": hi,
        **tables.rank_statistics(accs, gt),
        "n": len(accs),
    }


def _consensus_row(
    family: str, finals: list[pd.Series], final_taus: list[float], gt: pd.DataFrame
) -> dict:
    """The consensus rank of all instances; its interval is the jackknife's over the
    instances that vote (nas.analysis.stats.jackknife_interval; none below 3), and its gain is over
    the instances' mean final GT-Tau (one number: no interval)."""
    tau, t1, t3 = tables.tau_tnr(consensus(finals), gt)
    loo = [
        tables.tau_tnr(consensus(finals[:k] + finals[k + 1 :]), gt)[0] for k in range(len(finals))
    ]
    lo, hi = stats.within(stats.TAU_RANGE, *stats.jackknife_interval(tau, loo))
    gain = tau - float(np.mean(final_taus))
    return {
        "family": family,
        "method": CONSENSUS,
        "gt_tau_mean": tau,
        "gt_tau_lo": float(lo),
        "gt_tau_hi": float(hi),
        "t1r_mean": float(t1),
        "t3r_mean": float(t3),
        "gain_mean": gain,
        "gain_lo": np.nan,
        "gain_hi": np.nan,
        **tables.rank_statistics([consensus(finals)], gt),
        "n": len(finals),
    }


def aggregation_table(
    families: dict[str, list[pd.DataFrame]], gt: pd.DataFrame, window: int, last_epochs: int
) -> pd.DataFrame:
    """Per share-all family, each method's GT-Tau (mean over instances, 95 % t-interval), T1R
    and T3R, and its gain in GT-Tau over ``final`` (per instance, paired; the t-interval of the
    mean gain), then the consensus of the family's instances."""
    gt = tables.as_gt(gt)
    rows = []
    for family, insts in families.items():
        if not insts:
            continue
        per_method = {m: [f(i, window, last_epochs) for i in insts] for m, f in METHODS.items()}
        base = [tables.tau_tnr(a, gt)[0] for a in per_method["final"]]
        rows += [_method_row(family, m, accs, base, gt) for m, accs in per_method.items()]
        if len(insts) > 1:
            rows.append(_consensus_row(family, per_method["final"], base, gt))
    return pd.DataFrame(rows, columns=COLUMNS).astype({"n": int})
