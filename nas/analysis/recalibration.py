"""The BN recalibration table: GT-Tau per N recalibration mini-batches, paired by instance.

nas.measure.recalibrate measures (torch); this reads what it wrote (one CSV per instance: batches,
child, acc, loss, seconds), so tables and findings need no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nas.analysis import rankstats, stats, tables

TABLE_COLUMNS = ["batches", "gt_tau_mean", "gt_tau_lo", "gt_tau_hi", "t1r_mean", "t3r_mean"]
TABLE_COLUMNS += ["gain_mean", "gain_lo", "gain_hi", "acc_mean", "seconds_per_child"]
TABLE_COLUMNS += [*rankstats.STAT_COLUMNS, "n"]


def accuracies(records: pd.DataFrame) -> dict[int, pd.Series]:
    """{N: child -> accuracy} of one instance's recalibration CSV."""
    return {
        int(n): part.set_index("child")["acc"].rename(index=str)
        for n, part in records.groupby("batches", sort=True)
    }


def recalibration_gains(instances: Sequence[pd.DataFrame], gt: pd.DataFrame) -> dict[int, list]:
    """{N: per instance, GT-Tau after recalibrating on N mini-batches minus GT-Tau with the
    super-net's own statistics (N = 0)}."""
    out: dict[int, list] = {}
    for inst in instances:
        accs = accuracies(inst)
        if 0 not in accs:
            raise ValueError("a recalibration record lacks N = 0 (the super-net's statistics)")
        base = tables.tau_tnr(accs[0], gt)[0]
        for n, acc in accs.items():
            out.setdefault(n, []).append(tables.tau_tnr(acc, gt)[0] - base)
    return out


def recalibration_table(instances: Sequence[pd.DataFrame], gt: pd.DataFrame) -> pd.DataFrame:
    """Per N: GT-Tau (mean over instances and its 95 % t-interval), T1R and T3R, the
    gain over N = 0 paired by instance (with its interval), the children's mean accuracy
    (fraction), and the seconds per child that recalibration and evaluation took (the cost)."""
    gt = tables.as_gt(gt)
    gains = recalibration_gains(instances, gt)
    per_instance = [accuracies(inst) for inst in instances]
    rows = []
    for n in sorted(gains):
        accs = [acc[n] for acc in per_instance]
        scores = [tables.tau_tnr(acc, gt) for acc in accs]
        taus, t1s, t3s = zip(*scores, strict=True)
        seconds = [inst.loc[inst["batches"] == n, "seconds"].mean() for inst in instances]
        (lo, hi), _ = stats.interval(gains[n])
        rows.append(
            {
                "batches": n,
                "gt_tau_mean": float(np.mean(taus)),
                **rankstats.interval(taus, "gt_tau"),
                "t1r_mean": float(np.mean(t1s)),
                "t3r_mean": float(np.mean(t3s)),
                "gain_mean": float(np.mean(gains[n])),
                "gain_lo": lo,
                "gain_hi": hi,
                "acc_mean": float(np.mean([acc.mean() for acc in accs])),
                "seconds_per_child": float(np.mean(seconds)),
                **tables.rank_statistics(accs, gt),
                "n": len(instances),
            }
        )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)
