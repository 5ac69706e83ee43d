"""The paper's tables computed from accuracy records (Tables 1-5 and their comparisons).

Data model used throughout:

* an *instance* is a tidy records DataFrame (as ``records.read_records`` returns) covering all
  children of one super-net instance; group runs are already concatenated, so every evaluation
  point holds one accuracy per child. Accuracies are fractions (0..1);
* ``gt`` is a ground-truth DataFrame indexed by child (str) with columns acc_mean (percent),
  acc_std and rank (1 = best), like ``reference.paper_table5()`` or ``table5(...)``;
* *ground-truth instances* are Series (child -> final accuracy of that child trained alone with
  one seed); ``None`` where the user took the paper's Table 5 as ground truth.

All taus, ranks and aggregates come from ``nas.analysis.metrics`` so tables and ``nas metrics`` can
never
disagree; this module only decides *which* vectors are compared. Everything is pure except
``load_instance`` and ``write_table``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nas.analysis import metrics, rankstats, stats
from nas.core.records import atomic_write_text, read_records, to_wide

__all__ = [
    "FAMILIES",
    "as_gt",
    "beside_paper",
    "different_epochs_instance",
    "dense_matrix",
    "epoch_matrix",
    "final_accuracy",
    "finetune_matrix",
    "first_above",
    "gt_tau_curve",
    "load_instance",
    "prefix_curve",
    "rank_matrix",
    "s_tau_per_epoch",
    "snapshot_matrix",
    "table1",
    "table2",
    "table3a",
    "table3b",
    "table4",
    "table5",
    "trained_at",
    "write_table",
]

# The Table 1/2 experiment families, in the paper's row order (names as in nas/analysis/reference
# CSVs).
FAMILIES: tuple[str, ...] = ("different_seeds", "different_orders", "different_orders_shuffle")
SHUFFLE = "different_orders_shuffle"
N_RANDOM_RANKS = 10


# --------------------------------------------------------------------------- instances


def load_instance(paths: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """One instance from one or several records files (a grouped instance has one per group)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    frames = [read_records(p) for p in paths]
    if not frames:
        raise ValueError("load_instance needs at least one records file")
    return pd.concat(frames, ignore_index=True)


def _complete(wide: pd.DataFrame, what: str) -> pd.DataFrame:
    """Refuse points that lack some child: a truncated group run must not shift 'final'."""
    bad = wide.index[wide.isna().any(axis=1)]
    if len(bad):
        missing = sorted(wide.columns[wide.loc[bad[0]].isna()])
        raise ValueError(
            f"{what}: {len(bad)} point(s) lack some children (first: {bad[0]}, missing "
            f"{', '.join(missing[:8])}{'...' if len(missing) > 8 else ''}); "
            "is a group run missing or unfinished?"
        )
    return wide


def epoch_matrix(inst: pd.DataFrame) -> pd.DataFrame:
    """Epoch evaluations as a wide matrix: rows = epochs (ascending), columns = children."""
    return _complete(to_wide(inst, "epoch", index="epoch"), "epoch points")


def dense_matrix(inst: pd.DataFrame) -> pd.DataFrame:
    """Per-mini-batch evaluations at the end of training: rows = steps, columns = children."""
    return _complete(to_wide(inst, "dense", index="step"), "dense points")


def finetune_matrix(records: pd.DataFrame) -> pd.DataFrame:
    """Finetuning evaluations from ONE snapshot: rows = finetune steps (0 = shared weights)."""
    sub = records[records["point_kind"] == "finetune"]
    epochs = sorted(set(sub["epoch"]))
    if len(epochs) > 1:
        raise ValueError(f"finetune records hold several snapshot epochs {epochs}; split them")
    return _complete(to_wide(sub, "finetune", index="step"), "finetune points")


def snapshot_matrix(inst: pd.DataFrame, epoch: int) -> pd.DataFrame:
    """The shared weights' mini-batches leading to the snapshot of ``epoch``: rows = steps
    counted from the snapshot (..., -1, 0; 0 = the snapshot itself, where finetuning starts
    at its own step 0), columns = children."""
    sub = inst[(inst["point_kind"] == "snapshot") & (inst["epoch"] == epoch)]
    if sub.empty:
        raise ValueError(f"no snapshot points before epoch {epoch}; is snapshot_dense 0?")
    wide = _complete(to_wide(sub, "snapshot", index="step"), "snapshot points")
    wide.index = wide.index - wide.index.max()
    return wide


def final_accuracy(inst: pd.DataFrame) -> pd.Series:
    """Accuracy per child at the last epoch point: the rank an instance 'generates'."""
    return epoch_matrix(inst).iloc[-1]


def rank_matrix(matrix: pd.DataFrame) -> pd.DataFrame:
    """Ranks (1 = best, stable ties) of each row of a wide accuracy matrix."""
    return matrix.apply(metrics.ranks_from_accuracy, axis=1).astype(int)


def trained_at(inst: pd.DataFrame, children: Sequence[str] | None = None) -> pd.DataFrame:
    """(step, trained_child) pairs of the dense points, as recorded on the rows of ``children``.

    Restricting to the plotted children matters for grouped instances, where each group trains
    its own child at the same step.
    """
    sub = inst[inst["point_kind"] == "dense"]
    if children is not None:
        sub = sub[sub["child"].isin(list(children))]
    pairs = sub[["step", "trained_child"]].astype({"trained_child": str})
    pairs = pairs[pairs["trained_child"] != ""].drop_duplicates()
    return pairs.sort_values(["step", "trained_child"]).reset_index(drop=True)


# --------------------------------------------------------------------------- ground truth


def as_gt(gt: pd.DataFrame) -> pd.DataFrame:
    """Ground truth indexed by child name (str), whether ``child`` is the index or a column.

    Lets ``table5(...)`` output, a ground-truth CSV and ``paper_table5()`` all serve as ``gt``.
    """
    if "child" in gt.columns:
        gt = gt.set_index("child")
    missing = [c for c in ("acc_mean", "rank") if c not in gt.columns]
    if missing:
        raise ValueError(f"ground truth lacks column(s) {missing}")
    out = gt.copy()
    out.index = pd.Index([str(c) for c in gt.index], name="child")
    return out


def gt_accuracy(gt: pd.DataFrame, children: Iterable[str]) -> pd.Series:
    """Ground-truth accuracy for exactly these children (an instance may cover a subset)."""
    gt = as_gt(gt)
    children = list(children)
    missing = [c for c in children if c not in gt.index]
    if missing:
        raise ValueError(f"children missing from ground truth: {', '.join(map(str, missing))}")
    return gt.loc[children, "acc_mean"].astype(float)


def gt_rank(gt: pd.DataFrame) -> pd.Series:
    return as_gt(gt)["rank"].astype(int)


def tau_tnr(acc: pd.Series, gt: pd.DataFrame) -> tuple[float, int, int]:
    """GT-Tau, T1R and T3R of one generated rank (the three numbers of Table 2)."""
    rank = gt_rank(gt)
    return (
        metrics.gt_tau(acc, gt_accuracy(gt, acc.index)),
        metrics.top_n_rank(acc, rank, 1),
        metrics.top_n_rank(acc, rank, min(3, len(acc))),
    )


def gt_tau_curve(matrix: pd.DataFrame, gt: pd.DataFrame) -> pd.Series:
    """GT-Tau of every row of a wide matrix (Figures 4c/d and 8)."""
    gt_acc = gt_accuracy(gt, matrix.columns)
    return pd.Series(
        [metrics.gt_tau(row, gt_acc) for _, row in matrix.iterrows()],
        index=matrix.index,
        name="gt_tau",
        dtype=float,
    )


def _lower_median(values: Sequence[float]) -> int:
    """Position of the median value; for an even count the lower one, so it is a real instance."""
    order = np.argsort(np.asarray(values, dtype=float), kind="stable")
    return int(order[(len(order) - 1) // 2])


def last_rows(matrix: pd.DataFrame, n: int, what: str) -> pd.DataFrame:
    if n < 1 or n > len(matrix):
        raise ValueError(f"{what}: need the last {n} points but only {len(matrix)} exist")
    return matrix.iloc[-n:]


def row_list(matrix: pd.DataFrame) -> list[pd.Series]:
    return [row for _, row in matrix.iterrows()]


# --------------------------------------------------------------------------- telemetry


def interference_pairs(inst: pd.DataFrame, telemetry: pd.DataFrame) -> pd.DataFrame:
    """Telemetry rows (nas.run.telemetry) with the rank each other child gained at that
    mini-batch: its rank in the dense point before minus after (positive: it climbed). Rows
    whose mini-batch has no dense point before it (the window's first) are dropped."""
    ranks = rank_matrix(dense_matrix(inst))
    before = ranks.shift(1)
    out = telemetry.copy()
    out["rank_gain"] = [
        before.at[s, c] - ranks.at[s, c] if s in ranks.index else np.nan
        for s, c in zip(out["step"], out["child"], strict=True)
    ]
    return out.dropna(subset=["rank_gain"]).reset_index(drop=True)


def kendall_pairs(x: pd.Series, y: pd.Series) -> float:
    """Kendall tau-b between two columns of the same rows (NaN when one is constant)."""
    return metrics.kendall_tau(x.reset_index(drop=True), y.reset_index(drop=True))


# --------------------------------------------------------------------------- Table 1


def _check_families(families: dict[str, list[pd.DataFrame]]) -> list[str]:
    unknown = [name for name in families if name not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown families {unknown}; valid names: {', '.join(FAMILIES)}")
    return [name for name in FAMILIES if name in families]


def _s_tau_row(experiment: str, accs: Sequence[pd.Series], independent: bool = True) -> dict:
    """S-Tau over ranks; its interval only where the ranks are independent instances (the
    epochs of one run are not: their row has no interval)."""
    if len(accs) < 2:
        raise ValueError(f"{experiment}: S-Tau needs at least 2 ranks, got {len(accs)}")
    st = metrics.s_tau(accs)
    lo, hi = s_tau_interval(accs) if independent else (math.nan, math.nan)
    return {
        "experiment": experiment,
        "s_tau": st["mean"],
        "max_tau": st["max"],
        "min_tau": st["min"],
        "s_tau_lo": lo,
        "s_tau_hi": hi,
        "n": len(accs),
    }


def s_tau_interval(accs: Sequence[pd.Series]) -> tuple[float, float]:
    """95 % jackknife t-interval of S-Tau over instances (nas.analysis.stats.jackknife_interval):
    the
    pairs share instances, so the instance is the unit left out; (nan, nan) below 3."""
    n = len(accs)
    tau = np.full((n, n), np.nan)
    for i, j in itertools.combinations(range(n), 2):
        tau[i, j] = tau[j, i] = metrics.kendall_tau(accs[i], accs[j])
    pairs = np.triu_indices(n, 1)
    loo = [np.nanmean(np.delete(np.delete(tau, k, 0), k, 1)) if n > 2 else np.nan for k in range(n)]
    return stats.within(stats.TAU_RANGE, *stats.jackknife_interval(float(np.mean(tau[pairs])), loo))


def _ceiling_row(gt_instances: Sequence[pd.Series] | None, columns: dict[str, str]) -> dict:
    """The ground truth's split-half agreement (nas.analysis.rankstats) as a table row: `columns`
    maps the
    ceiling's keys to the table's columns; NaN without trained seeds or with only one."""
    row: dict = {"experiment": "split_half_agreement"}
    if gt_instances is None or len(gt_instances) < 2:
        return {**row, **{c: math.nan for c in columns.values()}, "n": 0}
    ceiling = rankstats.split_half_agreement(gt_instances)
    return {**row, **{c: ceiling[k] for k, c in columns.items()}, "n": ceiling["ceiling_seeds"]}


def _bound_row(gt_instances: Sequence[pd.Series] | None, column: str) -> dict:
    """The perfect-rank bound (nas.analysis.rankstats) as a table row, in `column`; NaN without two
    trained seeds."""
    row: dict = {"experiment": "perfect_rank_bound"}
    if gt_instances is None or len(gt_instances) < 2:
        return {**row, column: math.nan, "n": 0}
    return {**row, column: rankstats.perfect_rank_bound(gt_instances), "n": len(gt_instances)}


def _nan_row(experiment: str, columns: Sequence[str]) -> dict:
    return {"experiment": experiment, **{c: math.nan for c in columns}, "n": 0}


def s_tau_per_epoch(matrices: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """S-Tau at every epoch that all instances evaluated (Figure 2): columns s_tau, max, min."""
    if len(matrices) < 2:
        raise ValueError(f"S-Tau needs at least 2 instances, got {len(matrices)}")
    common = matrices[0].index
    for m in matrices[1:]:
        common = common.intersection(m.index)
    rows = []
    for epoch in sorted(common):
        st = metrics.s_tau([m.loc[epoch] for m in matrices])
        rows.append(
            {"epoch": epoch, "s_tau": st["mean"], "max_tau": st["max"], "min_tau": st["min"]}
        )
    return pd.DataFrame(rows, columns=["epoch", "s_tau", "max_tau", "min_tau"]).set_index("epoch")


def table1(
    families: dict[str, list[pd.DataFrame]],
    gt_instances: list[pd.Series] | None,
    last_epochs: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """Table 1: S-Tau (mean/max/min over pairs of ranks) per experiment.

    Family rows compare the final-epoch ranks of their instances. ``random_rank`` is 10 random
    permutations (numpy ``default_rng(seed)``) as the no-information baseline; ``ground_truth``
    compares independently trained runs (NaN if ``gt_instances`` is None). ``different_epochs``
    compares the last ``last_epochs`` epoch ranks within one "different orders (shuffle)"
    instance; as the paper shows "the median number among instances", it reports the instance
    whose S-Tau is the (lower) median, its Max and Min from that same instance. Two other
    readings follow it (``different_epochs_median_all``: each column's median over all
    instances; ``different_epochs_mean_all``: their mean). ``n`` is the number of ranks
    compared (per instance, for the different-epochs rows). ``s_tau_lo``/``s_tau_hi``: 95 %
    jackknife t-interval over the ranks compared (``s_tau_interval``). ``split_half_agreement``: tau
    between the means of disjoint halves of the ground-truth seeds (nas.analysis.rankstats), its
    mean,
    max and min over the splits; ``n`` the seeds.
    """
    names = _check_families(families)
    rows = []
    finals: dict[str, list[pd.Series]] = {}
    for name in names:
        finals[name] = [final_accuracy(inst) for inst in families[name]]
        rows.append(_s_tau_row(name, finals[name]))

    if finals:
        children = list(next(iter(finals.values()))[0].index)
    elif gt_instances:
        children = list(gt_instances[0].index)
    else:
        raise ValueError("table1 needs at least one family or ground-truth instances")
    rng = np.random.default_rng(seed)
    randoms = [
        pd.Series(rng.permutation(len(children)) + 1.0, index=children)
        for _ in range(N_RANDOM_RANKS)
    ]
    rows.append(_s_tau_row("random_rank", randoms))

    if gt_instances is None:
        rows.append(_nan_row("ground_truth", _T1_COLUMNS))
    else:
        rows.append(_s_tau_row("ground_truth", list(gt_instances)))
    ceiling = {"ceiling": "s_tau", "ceiling_max": "max_tau", "ceiling_min": "min_tau"}
    rows.append(_ceiling_row(gt_instances, ceiling))

    if SHUFFLE in families:
        per_instance = [
            _s_tau_row(
                "different_epochs",
                row_list(last_rows(epoch_matrix(inst), last_epochs, "different_epochs")),
                independent=False,
            )
            for inst in families[SHUFFLE]
        ]
        chosen = per_instance[_lower_median([r["s_tau"] for r in per_instance])]
        rows += [chosen, *_other_readings(per_instance, _T1_COLUMNS)]

    out = pd.DataFrame(rows, columns=["experiment", *_T1_COLUMNS, "n"])
    return out.astype({"n": int})


_T1_COLUMNS = ["s_tau", "max_tau", "min_tau", "s_tau_lo", "s_tau_hi"]


DIFFERENT_EPOCHS_READINGS = {
    "different_epochs_median_all": np.median,
    "different_epochs_mean_all": np.mean,
}


def _other_readings(per_instance: Sequence[dict], columns: Sequence[str]) -> list[dict]:
    """The "different epochs" row read two other ways the paper's text allows (it states
    neither): each column's median over all instances, and each column's mean over them.
    ``n`` stays the number of epochs per instance."""
    return [
        {
            "experiment": name,
            **{c: float(reduce([r[c] for r in per_instance])) for c in columns},
            "n": per_instance[0]["n"],
        }
        for name, reduce in DIFFERENT_EPOCHS_READINGS.items()
    ]


# --------------------------------------------------------------------------- Table 2

_T2_COLUMNS = ["gt_tau_mean", "gt_tau_std", "t1r_mean", "t1r_std", "t3r_mean", "t3r_std"]
_T2_COLUMNS += ["gt_tau_lo", "gt_tau_hi", *rankstats.STAT_COLUMNS]


def rank_statistics(accs: Sequence[pd.Series], gt: pd.DataFrame) -> dict:
    """The reviewer's statistics of some ranks against the ground truth (nas.analysis.rankstats):
    each
    one's mean over the ranks."""
    return _rank_statistics([(a, gt) for a in accs])


def _rank_statistics(pairs: Sequence[tuple[pd.Series, pd.DataFrame]]) -> dict:
    per = []
    for acc, gt in pairs:
        gt = as_gt(gt)
        per.append(rankstats.instance_statistics(acc, gt_accuracy(gt, acc.index), gt_rank(gt)))
    return rankstats.mean_over_instances(per)


def leave_one_out(finals: Sequence[pd.Series]) -> list[tuple[pd.Series, pd.DataFrame]]:
    """Each ground-truth seed with the reference it is scored against: the mean of the other
    seeds (acc_mean, rank), so no seed is compared with a mean that contains it."""
    out = []
    for i, acc in enumerate(finals):
        others = pd.concat([f for j, f in enumerate(finals) if j != i], axis=1).mean(axis=1)
        ref = pd.DataFrame({"acc_mean": others, "rank": metrics.ranks_from_accuracy(others)})
        out.append((acc, ref))
    return out


def leave_one_out_scores(finals: Sequence[pd.Series]) -> list[tuple[float, int, int]]:
    """Each ground-truth seed's GT-Tau, T1R and T3R against the mean of the other seeds."""
    return [tau_tnr(acc, ref) for acc, ref in leave_one_out(finals)]


def leave_one_out_interval(finals: Sequence[pd.Series]) -> dict:
    """{gt_tau_lo, gt_tau_hi}: the 95 % interval of the ground truth's mean leave-one-out
    GT-Tau. Its seeds' scores are no independent units (each seed is also in the others'
    references), so a t-interval over them covers 0.88-0.92 at 3-10 seeds; this is the
    jackknife over seeds instead (each seed left out, the mean recomputed among the rest;
    coverage simulated in tests/test_stats.py). NaN below 3 seeds."""
    n = len(finals)
    if n < 3:
        return {"gt_tau_lo": math.nan, "gt_tau_hi": math.nan}
    rest = [[f for j, f in enumerate(finals) if j != i] for i in range(n)]
    without = [_mean_loo_gt_tau(r) for r in rest]
    lo, hi = stats.jackknife_interval(_mean_loo_gt_tau(finals), without)
    lo, hi = stats.within(stats.TAU_RANGE, lo, hi)
    return {"gt_tau_lo": lo, "gt_tau_hi": hi}


def _mean_loo_gt_tau(finals: Sequence[pd.Series]) -> float:
    """The mean GT-Tau of leave_one_out_scores, without their TnR."""
    return float(np.mean([metrics.gt_tau(acc, ref.acc_mean) for acc, ref in leave_one_out(finals)]))


def _t2_row(
    experiment: str, accs: Sequence[pd.Series], gt: pd.DataFrame, independent: bool = True
) -> dict:
    return _t2_row_of(experiment, [(acc, gt) for acc in accs], independent)


def _t2_row_of(
    experiment: str, pairs: Sequence[tuple[pd.Series, pd.DataFrame]], independent: bool = True
) -> dict:
    """A Table 2 row from (rank, the reference it is scored against) pairs; an interval only
    where the ranks are independent instances (not the epochs of one run)."""
    triples = [tau_tnr(acc, gt) for acc, gt in pairs]
    if not triples:
        raise ValueError(f"{experiment}: no ranks to compare with the ground truth")
    taus, t1s, t3s = zip(*triples, strict=True)
    row: dict = {"experiment": experiment}
    for key, values in (("gt_tau", taus), ("t1r", t1s), ("t3r", t3s)):
        row[f"{key}_mean"], row[f"{key}_std"] = metrics.mean_std(values)
    no_interval = {"gt_tau_lo": math.nan, "gt_tau_hi": math.nan}
    row.update(rankstats.interval(taus, "gt_tau") if independent else no_interval)
    row.update(_rank_statistics(pairs))
    row["n"] = len(triples)
    return row


def table2(
    families: dict[str, list[pd.DataFrame]],
    gt: pd.DataFrame,
    gt_instances: list[pd.Series] | None,
    last_epochs: int = 10,
) -> pd.DataFrame:
    """Table 2: GT-Tau, T1R and T3R, mean ± population std over 10 numbers.

    Family rows use each instance's final-epoch rank; ``ground_truth`` compares each
    independently trained run with the mean of the others (leave one out: the paper's 0.7985
    compares each of its 10 seeds with a mean that includes it, which with 3 seeds would
    inflate it; NaN without two trained seeds);
    ``different_epochs`` uses the last ``last_epochs`` epochs of ONE "different orders
    (shuffle)" instance, the one whose final GT-Tau is the (lower) median, like the paper's
    "one instance ... with final GT-Tau 0.47"; then the two other readings of Table 1.
    Beyond the paper: ``gt_tau_lo``/``gt_tau_hi``, the 95 % t-interval of the mean
    GT-Tau over the ranks (ground truth: the jackknife over its seeds, whose leave-one-out
    scores share seeds), and the means of nas.analysis.rankstats' statistics.
    ``split_half_agreement``:
    ``gt_tau_mean`` is the tau between disjoint halves of the ground-truth seeds, lo and hi
    its min and max over the splits (not a bootstrap); ``n`` the seeds.
    """
    names = _check_families(families)
    gt = as_gt(gt)
    rows = []
    for name in names:
        rows.append(_t2_row(name, [final_accuracy(inst) for inst in families[name]], gt))

    if gt_instances is None or len(gt_instances) < 2:
        rows.append(_nan_row("ground_truth", _T2_COLUMNS))
    else:
        row = _t2_row_of("ground_truth", leave_one_out(gt_instances))
        rows.append({**row, **leave_one_out_interval(gt_instances)})
    ceiling = {"ceiling": "gt_tau_mean", "ceiling_min": "gt_tau_lo", "ceiling_max": "gt_tau_hi"}
    rows.append(_ceiling_row(gt_instances, ceiling))
    rows.append(_bound_row(gt_instances, "gt_tau_mean"))

    if SHUFFLE in families:
        insts = families[SHUFFLE]
        per_instance = [
            _t2_row(
                "different_epochs",
                row_list(last_rows(epoch_matrix(inst), last_epochs, "different_epochs")),
                gt,
                independent=False,
            )
            for inst in insts
        ]
        rows.append(per_instance[different_epochs_instance(insts, gt)])
        rows += _other_readings(per_instance, _T2_COLUMNS)

    out = pd.DataFrame(rows, columns=["experiment", *_T2_COLUMNS, "n"])
    return out.astype({"n": int})


def different_epochs_instance(insts: Sequence[pd.DataFrame], gt: pd.DataFrame) -> int:
    """Table 2's "different epochs" instance: the one whose final GT-Tau is the (lower)
    median, as the paper takes "one instance ... with final GT-Tau 0.47"."""
    return _lower_median([tau_tnr(final_accuracy(inst), gt)[0] for inst in insts])


# --------------------------------------------------------------------------- Tables 3 and 4


def window_taus(dense: pd.DataFrame, gt: pd.DataFrame, window: int) -> pd.Series:
    """GT-Tau of each of the last ``window`` rows of an instance's dense matrix."""
    return gt_tau_curve(last_rows(dense, window, "dense window"), gt)


def window_gt_tau(dense: pd.DataFrame, gt: pd.DataFrame, window: int) -> tuple[float, float]:
    """GT-Tau-Mean-k and GT-Tau-Std-k (population std, as the paper's) of the last ``window``
    rows of an instance's dense matrix: the one definition tables, findings and the trade-off
    use."""
    return metrics.mean_std(window_taus(dense, gt, window))


def _window_statistics(
    insts: Sequence[pd.DataFrame], means: Sequence[float], gt: pd.DataFrame, window: int, what: str
) -> dict:
    """Beyond the paper, for a windowed row: the 95 % t-interval over instances of
    GT-Tau-Mean-k (the instances' ``means``) and nas.analysis.rankstats' statistics, each averaged
    over
    the window and then over instances."""
    gt = as_gt(gt)
    per = []
    for inst in insts:
        matrix = last_rows(dense_matrix(inst), window, what)
        per.append(
            rankstats.window_statistics(matrix, gt_accuracy(gt, matrix.columns), gt_rank(gt))
        )
    return {**rankstats.interval(means, "mean64"), **rankstats.mean_over_instances(per)}


EXTRA_WINDOW_COLUMNS = ["mean64_lo", "mean64_hi", *rankstats.STAT_COLUMNS]


def with_split_half(df: pd.DataFrame, ceiling: float | None) -> pd.DataFrame:
    """A ``gt_split_half`` column (the ground truth's split-half agreement, nas.analysis.rankstats)
    when known."""
    if ceiling is not None:
        df.insert(len(df.columns) - 1, "gt_split_half", ceiling)
    return df


def _mean_std_pairs(pairs: Sequence[tuple[float, float]], names: tuple[str, str]) -> dict:
    """Average the per-instance (mean, std) pairs over instances, with their population std."""
    if not pairs:
        raise ValueError("no instances")
    firsts, seconds = zip(*pairs, strict=True)
    a, a_std = metrics.mean_std(firsts)
    b, b_std = metrics.mean_std(seconds)
    return {names[0]: a, f"{names[0]}_std": a_std, names[1]: b, f"{names[1]}_std": b_std}


def table3a(
    groups: dict[tuple[str, int], list[pd.DataFrame]],
    gt: pd.DataFrame,
    window: int,
    ceiling: float | None = None,
) -> pd.DataFrame:
    """Table 3a (group sharing): GT-Tau-Mean-k / Std-k, mean ± std over instances.

    Keys are (grouping, m) with grouping "random" or "similar". Columns keep the paper's
    "mean64"/"std64" names whatever ``window`` is, so they line up with ``paper_table("table3a")``;
    then EXTRA_WINDOW_COLUMNS (``_window_statistics``) and, given the ground truth's noise
    ceiling, ``gt_split_half``; ``n`` counts instances.
    """
    rows = []
    for (grouping, m), insts in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        pairs = [window_gt_tau(dense_matrix(inst), gt, window) for inst in insts]
        what = f"{grouping} m={m}"
        rows.append(
            {
                "grouping": grouping,
                "m": int(m),
                **_mean_std_pairs(pairs, ("mean64", "std64")),
                **_window_statistics(insts, [p[0] for p in pairs], gt, window, what),
                "n": len(insts),
            }
        )
    cols = ["grouping", "m", "mean64", "mean64_std", "std64", "std64_std"]
    return with_split_half(pd.DataFrame(rows, columns=[*cols, *EXTRA_WINDOW_COLUMNS, "n"]), ceiling)


def window_summary(insts: Sequence[pd.DataFrame], gt: pd.DataFrame, window: int, what: str) -> dict:
    """GT-Tau-Mean-k / Std-k and the children's accuracy mean / std over the last ``window``
    mini-batches, each a per-instance pair averaged over instances (Table 4's scheme): each
    child's accuracy is averaged over the window, then mean and std across children."""
    taus, accs = [], []
    for inst in insts:
        matrix = dense_matrix(inst)
        taus.append(metrics.windowed_gt_tau(matrix, gt_accuracy(gt, matrix.columns), window))
        per_child = last_rows(matrix, window, what).mean(axis=0)
        accs.append(metrics.accuracy_mean_std(per_child))
    extra = _window_statistics(insts, [t[0] for t in taus], gt, window, what) if insts else {}
    return {
        **_mean_std_pairs(taus, ("gt_tau_mean64", "gt_tau_std64")),
        **_mean_std_pairs(accs, ("acc_mean", "acc_std")),
        **{k.replace("mean64", "gt_tau_mean64"): v for k, v in extra.items()},
        "n": len(insts),
    }


WINDOW_COLUMNS = [
    "gt_tau_mean64",
    "gt_tau_mean64_std",
    "gt_tau_std64",
    "gt_tau_std64_std",
    "acc_mean",
    "acc_mean_std",
    "acc_std",
    "acc_std_std",
    "gt_tau_mean64_lo",
    "gt_tau_mean64_hi",
    *rankstats.STAT_COLUMNS,
    "n",
]


def table4(
    prefix: dict[tuple[int, int], list[pd.DataFrame]],
    gt: pd.DataFrame,
    window: int,
    ceiling: float | None = None,
) -> pd.DataFrame:
    """Table 4 (prefix sharing, Appendix B), keyed by (epochs, k).

    GT-Tau columns as in Table 3a, accuracy as in ``window_summary``; mean ± std over
    instances. Rows: epochs descending, then k (the paper's order); ``n`` counts instances.
    """
    rows = [
        {"epochs": int(e), "k": int(k), **window_summary(insts, gt, window, f"epochs={e} k={k}")}
        for (e, k), insts in sorted(prefix.items(), key=lambda kv: (-kv[0][0], kv[0][1]))
    ]
    return with_split_half(pd.DataFrame(rows, columns=["epochs", "k", *WINDOW_COLUMNS]), ceiling)


def strategies_table(
    runs: dict[str, list[pd.DataFrame]],
    gt: pd.DataFrame,
    window: int,
    ceiling: float | None = None,
) -> pd.DataFrame:
    """The extra sharing strategies (config experiments.strategies) beside share-all: one row
    per label in the given order, the columns of Table 4 and the children each run ranks."""
    rows = []
    for label, insts in runs.items():
        summary = window_summary(insts, gt, window, label)  # refuses a label without instances
        children = dense_matrix(insts[0]).shape[1]
        rows.append({"strategy": label, "children": children, **summary})
    out = pd.DataFrame(rows, columns=["strategy", "children", *WINDOW_COLUMNS])
    return with_split_half(out, ceiling)


def table3b(t4: pd.DataFrame) -> pd.DataFrame:
    """Table 3b: Table 4's GT-Tau columns at its largest epoch count (2000 in the paper).

    The one definition of Table 3b: the product and the paper's reference both derive it
    here. ``epochs`` stays as the first column, since a scaled study's longest run is not the
    paper's 2000 epochs (``reference.paper_table`` drops it: the printed table has none).
    """
    cols = ["epochs", "k", "gt_tau_mean64", "gt_tau_mean64_std", "gt_tau_std64"]
    cols += ["gt_tau_std64_std"]
    extra = ("gt_tau_mean64_lo", "gt_tau_mean64_hi", *rankstats.STAT_COLUMNS, "gt_split_half", "n")
    cols += [c for c in extra if c in t4.columns]  # the paper's Table 4 has none of them
    return t4.loc[t4["epochs"] == t4["epochs"].max(), cols].reset_index(drop=True)


# --------------------------------------------------------------------------- prefix over epochs

PREFIX_CURVE_COLUMNS = ["run_epochs", "k", "epoch", "gt_tau_mean", "gt_tau_std"]
PREFIX_CURVE_COLUMNS += ["gt_tau_lo", "gt_tau_hi", "n"]


def prefix_curve(
    prefix: dict[tuple[int, int], list[pd.DataFrame]],
    gt: pd.DataFrame,
    ceiling: float | None = None,
) -> pd.DataFrame:
    """GT-Tau of the epoch points of prefix runs (Section 4.3's climb over epochs): per run
    length, k and evaluated epoch, mean, population std and the 95 % t-interval of
    the mean over instances, and given the split-half agreement, ``gt_split_half``. Tidy, sorted."""
    rows = []
    for (run_epochs, k), insts in sorted(prefix.items()):
        curves = pd.concat([gt_tau_curve(epoch_matrix(i), gt) for i in insts], axis=1)
        for epoch, taus in curves.dropna().iterrows():
            mean, std = metrics.mean_std(list(taus))
            rows.append(
                {
                    "run_epochs": int(run_epochs),
                    "k": int(k),
                    "epoch": int(epoch),
                    "gt_tau_mean": mean,
                    "gt_tau_std": std,
                    **rankstats.interval(list(taus), "gt_tau"),
                    "n": len(taus),
                }
            )
    return with_split_half(pd.DataFrame(rows, columns=PREFIX_CURVE_COLUMNS), ceiling)


def first_above(curve: pd.DataFrame, threshold: float = 0.6) -> pd.DataFrame:
    """Per run length and k, the first evaluated epoch whose mean GT-Tau exceeds
    ``threshold`` (NaN if none does): "takes over 1000 epochs to climb up to above 0.6"."""
    rows = []
    for (run_epochs, k), part in curve.groupby(["run_epochs", "k"], sort=True):
        above = part.loc[part["gt_tau_mean"] > threshold, "epoch"]
        first = float(above.min()) if len(above) else math.nan
        rows.append({"run_epochs": run_epochs, "k": k, "first_epoch": first})
    return pd.DataFrame(rows, columns=["run_epochs", "k", "first_epoch"])


# --------------------------------------------------------------------------- Table 5


def table5(gt_instances: list[pd.Series]) -> pd.DataFrame:
    """Table 5 from trained ground-truth runs (one Series child -> accuracy per seed).

    Returns columns child, acc_mean, acc_std (percent; population std over runs), rank (1 = best,
    ties broken stably in child order, so unlike the printed table no rank repeats), one row per
    child in name order. It serves as ``gt`` directly (see ``as_gt``). Inputs are fractions
    (0..1), as in records; a value above 1 is refused rather than silently scaled twice.
    """
    if not gt_instances:
        raise ValueError("table5 needs at least one ground-truth instance")
    runs = pd.concat([s.astype(float) for s in gt_instances], axis=1, keys=range(len(gt_instances)))
    if runs.isna().any().any():
        raise ValueError("ground-truth instances cover different children")
    if (runs.to_numpy() > 1.0).any():
        raise ValueError("ground-truth accuracies must be fractions (0..1), got values above 1")
    runs.index = [str(c) for c in runs.index]
    runs = runs.sort_index()
    acc_mean = runs.mean(axis=1) * 100.0
    out = pd.DataFrame(
        {
            "acc_mean": acc_mean,
            "acc_std": runs.std(axis=1, ddof=0) * 100.0,
            "rank": metrics.ranks_from_accuracy(acc_mean).astype(int),
        }
    )
    out.index.name = "child"
    return out.reset_index()


# --------------------------------------------------------------------------- comparison & output


def _with_keys(df: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Bring keys kept in the index (e.g. Table 5's ``child``) back as columns."""
    if all(k in df.columns for k in keys):
        return df
    out = df.reset_index()
    missing = [k for k in keys if k not in out.columns]
    if missing:
        raise ValueError(f"key column(s) {missing} not found")
    return out


def _norm_key(values: pd.Series) -> pd.Series:
    """Merge key that equates 16, 16.0 and "16" (CSV round-trips vary the key's type)."""
    if pd.api.types.is_numeric_dtype(values):
        floats = values.astype(float)
        if all(float(v).is_integer() for v in floats):
            return floats.map(lambda v: str(int(v)))
        return floats.map(repr)
    return values.astype(str).str.strip()


def beside_paper(ours: pd.DataFrame, paper: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Our table with each shared numeric column followed by the paper's value as ``col_paper``.

    Left join on ``keys`` (rows the paper lacks get NaN); keys may live in either frame's index.
    Experiments must use the snake_case names of the nas/analysis/reference CSVs.
    """
    ours = _with_keys(ours, keys)
    paper = _with_keys(paper, keys)
    shared = [
        c
        for c in ours.columns
        if c not in keys
        and c in paper.columns
        and pd.api.types.is_numeric_dtype(ours[c])
        and pd.api.types.is_numeric_dtype(paper[c])
    ]
    if paper.duplicated(subset=keys).any():
        raise ValueError(f"paper table has duplicate keys {keys}")
    tmp = [f"__key{i}" for i in range(len(keys))]
    left = ours.assign(**{t: _norm_key(ours[k]) for t, k in zip(tmp, keys, strict=True)})
    right = paper[keys + shared].assign(
        **{t: _norm_key(paper[k]) for t, k in zip(tmp, keys, strict=True)}
    )
    right = right.drop(columns=keys).rename(columns={c: f"{c}_paper" for c in shared})
    merged = left.merge(right, on=tmp, how="left", validate="many_to_one").drop(columns=tmp)
    order: list[str] = []
    for c in ours.columns:
        order.append(c)
        if c in shared:
            order.append(f"{c}_paper")
    return merged[order]


def _cell(value, fmt_float: str = "{:.4f}") -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "NaN" if math.isnan(value) else fmt_float.format(float(value))
    return str(value)


def _for_output(df: pd.DataFrame) -> pd.DataFrame:
    """Named index (e.g. Table 5's child) becomes a column; an anonymous one is dropped."""
    if df.index.name is not None or isinstance(df.index, pd.MultiIndex):
        return df.reset_index()
    return df.reset_index(drop=True)


def _markdown(df: pd.DataFrame) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    lines = [
        "| " + " | ".join(esc(str(c)) for c in df.columns) + " |",
        "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
    ]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(esc(_cell(v)) for v in row) + " |")
    return "\n".join(lines) + "\n"


_TEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _tex_escape(text: str) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in text)


def _latex(df: pd.DataFrame, caption: str, label: str) -> str:
    align = "".join("r" if pd.api.types.is_numeric_dtype(df[c]) else "l" for c in df.columns)
    lines = [
        r"\begin{table}[ht]",
        r"\centering",
        rf"\caption{{{_tex_escape(caption)}}}",
        rf"\label{{tab:{label}}}",
        rf"\begin{{tabular}}{{{align}}}",
        r"\hline",
        " & ".join(_tex_escape(str(c)) for c in df.columns) + r" \\",
        r"\hline",
    ]
    for row in df.itertuples(index=False):
        lines.append(" & ".join(_tex_escape(_cell(v)) for v in row) + r" \\")
    lines += [r"\hline", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_table(df: pd.DataFrame, stem: str | Path, caption: str) -> list[Path]:
    """Write ``stem``.csv (full precision), .md and .tex (4 decimals), each atomically.

    The LaTeX is a plain tabular written here, so no jinja2 (pandas' to_latex) is needed.
    Returns the three paths.
    """
    stem = Path(stem)
    out = _for_output(df)
    label = "".join(ch if ch.isalnum() else "-" for ch in stem.name)
    paths = [stem.parent / f"{stem.name}{ext}" for ext in (".csv", ".md", ".tex")]
    atomic_write_text(paths[0], out.to_csv(index=False, lineterminator="\n"))
    atomic_write_text(paths[1], f"{caption}\n\n" + _markdown(out))
    atomic_write_text(paths[2], _latex(out, caption, label))
    return paths
