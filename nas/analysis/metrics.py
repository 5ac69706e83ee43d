"""Rank-stability metrics from the paper (S-Tau, GT-Tau, TnR) and the wide CSV layout.

Conventions used throughout:

* children are identified by string names ("111".."444");
* an accuracy vector is a ``pandas.Series`` indexed by child name, higher = better;
* ranks are 1-based with 1 = best;
* ties in accuracy are broken stably: the child that comes first in the Series' index order
  wins, so results never depend on an unstable sort;
* "std" is the population standard deviation (ddof=0), matching the "standard variance of
  these 10 numbers" the paper reports.

All functions are pure (no I/O) except ``read_wide``/``write_wide``.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "accuracy_mean_std",
    "check_defined",
    "check_ranks",
    "gt_tau",
    "kendall_tau",
    "mean_std",
    "precision_at_k",
    "ranks_from_accuracy",
    "read_ground_truth",
    "read_wide",
    "s_tau",
    "spearman",
    "summarize_run",
    "top_n_rank",
    "topk_gt_rank_range",
    "windowed_gt_tau",
    "write_wide",
]


# --------------------------------------------------------------------------- helpers


def _check_vector(acc: pd.Series, what: str = "accuracy vector") -> np.ndarray:
    """Return the values as float64, rejecting duplicate children and non-finite values.

    A NaN would silently sort to an arbitrary place and corrupt every rank-based metric.
    """
    if not isinstance(acc, pd.Series):
        raise TypeError(f"{what} must be a pandas Series indexed by child name")
    if acc.index.has_duplicates:
        dups = sorted({str(c) for c in acc.index[acc.index.duplicated()]})
        raise ValueError(f"{what} has duplicate children: {', '.join(dups)}")
    values = acc.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        bad = [str(c) for c, v in zip(acc.index, values, strict=True) if not np.isfinite(v)]
        raise ValueError(f"{what} has non-finite values for children: {', '.join(bad)}")
    return values


def _align(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Align two vectors on child name; differing child sets are an error, never a silent drop."""
    va = _check_vector(a, "first vector")
    _check_vector(b, "second vector")
    missing_b = [str(c) for c in a.index if c not in b.index]
    missing_a = [str(c) for c in b.index if c not in a.index]
    if missing_a or missing_b:
        parts = []
        if missing_b:
            parts.append(f"missing from second vector: {', '.join(missing_b)}")
        if missing_a:
            parts.append(f"missing from first vector: {', '.join(missing_a)}")
        raise ValueError("vectors cover different children; " + "; ".join(parts))
    vb = b.reindex(a.index).to_numpy(dtype=float)
    return va, vb


def _stable_order(acc: pd.Series) -> pd.Index:
    """Children sorted best-first; ties keep their Series order (stable sort on -accuracy)."""
    values = _check_vector(acc)
    order = np.argsort(-values, kind="stable")
    return acc.index[order]


def _top(acc: pd.Series, n: int) -> pd.Index:
    """The top-n children by accuracy with stable tie-breaking."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 1 or n > len(acc):
        raise ValueError(f"n must be in 1..{len(acc)} (number of children), got {n}")
    return _stable_order(acc)[:n]


def _gt_ranks_for(children: Iterable, gt_rank: pd.Series) -> np.ndarray:
    """Look up ground-truth ranks, naming any child the ground truth does not know."""
    children = list(children)
    missing = [str(c) for c in children if c not in gt_rank.index]
    if missing:
        raise ValueError(f"children missing from ground-truth rank: {', '.join(missing)}")
    return gt_rank.loc[children].to_numpy()


# --------------------------------------------------------------------------- ranks & taus


def ranks_from_accuracy(acc: pd.Series) -> pd.Series:
    """1-based ranks (1 = highest accuracy), ties broken stably by index order.

    Stable tie-breaking makes ranks a deterministic function of the input order.
    """
    order = _stable_order(acc)
    ranks = pd.Series(np.arange(1, len(order) + 1), index=order, name="rank")
    return ranks.reindex(acc.index)


def kendall_tau(a: pd.Series, b: pd.Series) -> float:
    """Kendall tau-b between two vectors aligned by child name.

    tau-b (not tau-a) because accuracies can tie; it is the coefficient the paper's tau values
    are computed with (scipy's default). Returns NaN if either vector is constant.
    """
    va, vb = _align(a, b)
    if len(va) < 2:
        raise ValueError("Kendall tau needs at least 2 children")
    return float(stats.kendalltau(va, vb, variant="b").statistic)


def s_tau(accs: Sequence[pd.Series]) -> dict[str, float]:
    """S-Tau (paper eq. 2): mean, max and min tau over all N(N-1)/2 pairs of instances.

    Measures how reproducible the generated rank is across instances.
    """
    accs = list(accs)
    if len(accs) < 2:
        raise ValueError(f"S-Tau needs at least 2 instances, got {len(accs)}")
    taus = [kendall_tau(x, y) for x, y in itertools.combinations(accs, 2)]
    return {"mean": float(np.mean(taus)), "max": float(np.max(taus)), "min": float(np.min(taus))}


def gt_tau(acc: pd.Series, gt_acc: pd.Series) -> float:
    """GT-Tau: tau-b between an instance's accuracies and the ground-truth accuracies.

    Both must cover the same children; subset ``gt_acc`` yourself for partial evaluations.
    """
    return kendall_tau(acc, gt_acc)


def spearman(a: pd.Series, b: pd.Series) -> float:
    """Spearman rank correlation, aligned by child name (a second view on rank agreement)."""
    va, vb = _align(a, b)
    if len(va) < 2:
        raise ValueError("Spearman correlation needs at least 2 children")
    return float(stats.spearmanr(va, vb).statistic)


# --------------------------------------------------------------------------- top-n metrics


def top_n_rank(acc: pd.Series, gt_rank: pd.Series, n: int) -> int:
    """TnR: best (minimum) ground-truth rank among the top-n children by ``acc``.

    This is what a search that fully trains its n best candidates would end up with.
    """
    return int(_gt_ranks_for(_top(acc, n), gt_rank).min())


def topk_gt_rank_range(acc: pd.Series, gt_rank: pd.Series, k: int) -> tuple[int, int]:
    """(best, worst) ground-truth rank among the top-k children by ``acc``."""
    ranks = _gt_ranks_for(_top(acc, k), gt_rank)
    return int(ranks.min()), int(ranks.max())


def precision_at_k(acc: pd.Series, gt_acc: pd.Series, k: int) -> float:
    """Fraction of the top-k by ``acc`` that are also in the ground-truth top-k.

    Both top-k sets use the same stable tie-breaking.
    """
    _align(acc, gt_acc)
    chosen = set(_top(acc, k))
    truth = set(_top(gt_acc, k))
    return len(chosen & truth) / k


# --------------------------------------------------------------------------- aggregates


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and population std (ddof=0), the paper's "mean ± std over instances"."""
    arr = np.asarray(list(values), dtype=float)
    if arr.size == 0:
        raise ValueError("mean_std needs at least one value")
    return float(arr.mean()), float(arr.std(ddof=0))


def accuracy_mean_std(acc: pd.Series) -> tuple[float, float]:
    """Mean and population std of accuracy across children (Table 4's accuracy columns)."""
    return mean_std(_check_vector(acc))


def _window(matrix: pd.DataFrame, window: int) -> pd.DataFrame:
    """Last ``window`` rows; rows are evaluation points in time order."""
    if not isinstance(window, (int, np.integer)) or isinstance(window, bool):
        raise TypeError(f"window must be an int, got {type(window).__name__}")
    if window < 1 or window > len(matrix):
        raise ValueError(f"window must be in 1..{len(matrix)} (rows in matrix), got {window}")
    return matrix.iloc[-window:]


def windowed_gt_tau(matrix: pd.DataFrame, gt_acc: pd.Series, window: int) -> tuple[float, float]:
    """GT-Tau-Mean-k and GT-Tau-Std-k: mean and population std of per-row GT-Tau.

    The paper averages over the last k evaluations because a single evaluation point is noisy.
    """
    rows = _window(matrix, window)
    taus = [gt_tau(row, gt_acc) for _, row in rows.iterrows()]
    return mean_std(taus)


def summarize_run(
    matrix: pd.DataFrame, gt_acc: pd.Series, gt_rank: pd.Series, window: int
) -> dict[str, float]:
    """Summary of one instance's wide matrix (backs ``nas metrics``).

    Keys: gt_tau_mean, gt_tau_std (over the last ``window`` rows), t1r_mean, t3r_mean (TnR per
    row over the same window, averaged) and final_gt_tau (last row).
    """
    rows = _window(matrix, window)
    mean, std = windowed_gt_tau(matrix, gt_acc, window)
    t1 = [top_n_rank(row, gt_rank, 1) for _, row in rows.iterrows()]
    t3 = [top_n_rank(row, gt_rank, min(3, len(row))) for _, row in rows.iterrows()]
    return {
        "gt_tau_mean": mean,
        "gt_tau_std": std,
        "t1r_mean": float(np.mean(t1)),
        "t3r_mean": float(np.mean(t3)),
        "final_gt_tau": gt_tau(matrix.iloc[-1], gt_acc),
    }


# --------------------------------------------------------------------------- wide CSV I/O


def _parse_number(text: str) -> float | None:
    """Parse a finite number, or None; rejects '', 'nan', 'inf' which float() would accept."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_wide(path: str | os.PathLike) -> pd.DataFrame:
    """Read the original study's wide layout: a step/epoch column, then one column per child.

    Returns a DataFrame indexed by the first column (index name = its header, e.g. "step"),
    with one float column per child; child names stay strings ("111", not 111). Accuracies are
    returned as stored (fractions or percents). Raises ValueError naming the file and the
    problem on anything malformed, so bad data fails loudly instead of skewing the metrics.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [row for row in csv.reader(fh) if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"{path}: file is empty")
    header = [cell.strip() for cell in rows[0]]
    if len(header) < 2:
        raise ValueError(f"{path}: header needs a step/epoch column and at least one child")
    step_name, children = header[0], header[1:]
    if not step_name:
        raise ValueError(f"{path}: first column has an empty header")
    empty = [i + 2 for i, c in enumerate(children) if not c]
    if empty:
        raise ValueError(f"{path}: empty child column name at column(s) {empty}")
    counts = Counter(header)
    dups = sorted(name for name, count in counts.items() if count > 1)
    if dups:
        raise ValueError(f"{path}: duplicate column name(s): {', '.join(dups)}")
    if len(rows) < 2:
        raise ValueError(f"{path}: no data rows")

    steps: list[float] = []
    data = np.empty((len(rows) - 1, len(children)), dtype=float)
    for r, row in enumerate(rows[1:]):
        where = f"data row {r + 1}"
        if len(row) != len(header):
            raise ValueError(f"{path}: {where} has {len(row)} fields, header has {len(header)}")
        step = _parse_number(row[0].strip())
        if step is None:
            raise ValueError(
                f"{path}: {where}: column {step_name!r} value {row[0]!r} is not a finite number"
            )
        steps.append(step)
        for c, (child, cell) in enumerate(zip(children, row[1:], strict=True)):
            value = _parse_number(cell.strip())
            if value is None:
                raise ValueError(
                    f"{path}: {where}: column {child!r} value {cell!r} is not a finite number"
                )
            data[r, c] = value

    step_index: pd.Index
    if all(float(s).is_integer() for s in steps):
        step_index = pd.Index([int(s) for s in steps], dtype="int64", name=step_name)
    else:
        step_index = pd.Index(steps, dtype="float64", name=step_name)
    columns = pd.Index(children, dtype=object)
    return _in_time_order(pd.DataFrame(data, index=step_index, columns=columns), path)


def _in_time_order(matrix: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Rows sorted by step, so "final" and "last k" never depend on the file's row order;
    a repeated step or an accuracy outside 0..100 (fraction or percent) is an error."""
    name = matrix.index.name
    repeated = matrix.index[matrix.index.duplicated()]
    if len(repeated):
        raise ValueError(f"{path}: {name} {repeated[0]} appears more than once")
    values = matrix.to_numpy()
    if ((values < 0) | (values > 100)).any():
        r, c = np.argwhere((values < 0) | (values > 100))[0]
        raise ValueError(
            f"{path}: {name} {matrix.index[r]}: column {matrix.columns[c]!r} value "
            f"{values[r, c]} is not an accuracy (0..1 or 0..100)"
        )
    return matrix.sort_index(kind="stable")


def read_ground_truth(path: str | os.PathLike) -> pd.DataFrame:
    """A ground-truth CSV (child, acc_mean[, acc_std][, rank]) indexed by child name, with a
    rank column computed from acc_mean when absent. A missing column, a repeated child, a
    non-finite accuracy or a rank that contradicts the accuracies is an error naming the file:
    a wrong rank would silently change every TnR."""
    try:
        gt = pd.read_csv(path, dtype={"child": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a ground-truth CSV ({err})") from err
    missing = [c for c in ("child", "acc_mean") if c not in gt.columns]
    if missing:
        raise ValueError(f"{path}: ground truth lacks column(s) {missing}; has {list(gt.columns)}")
    gt = gt.set_index("child")
    what = f"{path}: acc_mean"
    _check_vector(pd.to_numeric(gt["acc_mean"], errors="coerce"), what)
    gt["acc_mean"] = gt["acc_mean"].astype(float)
    if "rank" in gt.columns:
        check_ranks(gt["acc_mean"], gt["rank"], str(path))
    else:
        gt["rank"] = ranks_from_accuracy(gt["acc_mean"])
    return gt


def check_ranks(acc: pd.Series, rank: pd.Series, what: str) -> None:
    """Each rank must agree with the accuracies: 1 + (children with a higher accuracy) at
    best, the children with an accuracy at least as high at worst (so tied accuracies may
    share a rank, as in the paper's Table 5, or be ranked in either order)."""
    values = pd.to_numeric(rank, errors="coerce").to_numpy(dtype=float)
    accs = acc.to_numpy(dtype=float)
    best = 1 + (accs[None, :] > accs[:, None]).sum(axis=1)
    worst = (accs[None, :] >= accs[:, None]).sum(axis=1)
    bad = np.nonzero(~((values >= best) & (values <= worst)))[0]
    if len(bad):
        i = bad[0]
        expect = f"{best[i]}" if best[i] == worst[i] else f"{best[i]}..{worst[i]}"
        raise ValueError(
            f"{what}: child {acc.index[i]} has rank {rank.iloc[i]} but its acc_mean "
            f"{accs[i]} ranks it {expect}"
        )


def check_defined(matrix: pd.DataFrame, what: str) -> None:
    """Every row must rank the children: a row where all accuracies are equal has no
    Kendall tau (it would print NaN)."""
    constant = matrix.index[matrix.nunique(axis=1) <= 1]
    if len(constant):
        raise ValueError(
            f"{what}: {matrix.index.name or 'row'} {constant[0]}: every child has the same "
            "accuracy, so GT-Tau is undefined"
        )


def write_wide(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` in the wide layout (index as the first column), atomically.

    The temp file lives in the target directory so ``os.replace`` is an atomic rename: readers
    (and a workflow manager checking outputs) never see a half-written file.
    """
    path = Path(path)
    columns = [str(c) for c in df.columns]
    if len(set(columns)) != len(columns):
        raise ValueError(f"{path}: refusing to write duplicate child column names")
    out = df.copy()
    out.columns = columns
    out.index = out.index.rename(df.index.name or "step")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            out.to_csv(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results should be readable by others
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
