"""Which sharing for which budget (beyond the paper): every strategy's ranking quality against
what one instance of it costs, and the Pareto front of the two.

A row is a strategy of the study: share-all, group sharing per grouping and m (random,
similar, and the measured groupings of nas.measure.interference), warm-started groups, groups at
equal compute, prefix sharing per run length and k, and the ground truth (every child trained
alone). Its quality is GT-Tau-Mean-k over the last `window` mini-batches (mean over instances,
95 % t-interval) with T1R and T3R of the final epoch's rank; the ground truth's is
each seed against the mean of the other seeds (leave one out), as it has no reference of its
own. Its cost is the device-hours of one instance from the plan's cost model (nas.study.plan,
the configured throughput), which nas.study.catalog hands in, so a study planned for a GPU
reads GPU-hours; a strategy that reads a share-all snapshot (a warm start, a measured
partition) also pays share-all's training up to that epoch. A row is on the front when no
other row costs as little or less and ranks better.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nas.analysis import rankstats, tables
from nas.core.runset import RunSet

GROUND_TRUTH = "ground_truth"
COLUMNS = ["strategy", "kind", "grouping", "m", "k", "epochs", "gt_tau_mean", "gt_tau_lo"]
COLUMNS += ["gt_tau_hi", "t1r_mean", "t3r_mean", "device_hours", "pareto", "n"]


def describe(run_set: RunSet) -> dict:
    """The columns a strategy's run set names: kind (its experiment), grouping, m, k, epochs
    (empty where its key has no such field)."""
    fields = {"grouping": "", "m": np.nan, "k": np.nan, "epochs": np.nan}
    return {"kind": run_set.experiment, **{f: run_set.get(f, v) for f, v in fields.items()}}


def instance_scores(inst: pd.DataFrame, gt: pd.DataFrame, window: int) -> tuple[float, int, int]:
    """GT-Tau-Mean-k over the window, and T1R and T3R of the final epoch's rank."""
    tau = tables.window_gt_tau(tables.dense_matrix(inst), gt, window)[0]  # Table 3a's mean64
    _, t1, t3 = tables.tau_tnr(tables.final_accuracy(inst), gt)
    return float(tau), int(t1), int(t3)


def pareto_front(costs: Sequence[float], quality: Sequence[float]) -> list[bool]:
    """Whether each row is undominated: no other row costs no more and ranks better (or
    costs less and ranks as well)."""
    c, q = np.asarray(costs, float), np.asarray(quality, float)
    out = []
    for i in range(len(c)):
        dominated = ((c <= c[i]) & (q > q[i])) | ((c < c[i]) & (q >= q[i]))
        out.append(bool(np.isfinite(q[i]) and not dominated.any()))
    return out


def tradeoff_table(
    runs: dict[RunSet, list[pd.DataFrame]],
    gt: pd.DataFrame,
    window: int,
    hours: dict[str, float],
    gt_finals: Sequence[pd.Series] | None = None,
) -> pd.DataFrame:
    """One row per strategy of `runs` (and the ground truth, given two or more seeds),
    cheapest first; COLUMNS. `hours` is keyed by the run sets' labels."""
    gt = tables.as_gt(gt)
    scored = {s: [instance_scores(i, gt, window) for i in insts] for s, insts in runs.items()}
    if gt_finals is not None and len(gt_finals) > 1 and GROUND_TRUTH in hours:
        scored[RunSet(GROUND_TRUTH)] = tables.leave_one_out_scores(gt_finals)
    rows = []
    for run_set, scores in scored.items():
        taus, t1s, t3s = zip(*scores, strict=True)
        label = run_set.label
        is_gt = run_set.experiment == GROUND_TRUTH  # its seeds' scores share seeds
        rows.append(
            {
                "strategy": label,
                **describe(run_set),
                "gt_tau_mean": float(np.mean(taus)),
                **(
                    tables.leave_one_out_interval(gt_finals)
                    if is_gt
                    else rankstats.interval(taus, "gt_tau")
                ),
                "t1r_mean": float(np.mean(t1s)),
                "t3r_mean": float(np.mean(t3s)),
                "device_hours": hours[label],
                "n": len(scores),
            }
        )
    out = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "pareto"])
    out.insert(len(out.columns) - 1, "pareto", pareto_front(out.device_hours, out.gt_tau_mean))
    out = out.sort_values(["device_hours", "strategy"], kind="stable", ignore_index=True)
    return out.astype({"n": int})
