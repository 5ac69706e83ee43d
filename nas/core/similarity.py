"""Similarities between children and their balanced partitions into groups (no torch).

The plan, the tables and the figures read these; nas.measure.interference measures the gradient
signal with torch and writes through here.

``correlation`` similarity is the Pearson correlation between two children's accuracy changes
from one mini-batch to the next, over the mini-batches evaluated just before a snapshot (the
run's "snapshot" points). Children whose accuracy rises and falls together are helped and hurt
by the same steps. Changes, not levels: the levels share the run's trend, which would make
every pair look alike.

A balanced partition into m groups of equal size maximises the summed similarity within
groups: a greedy start (the most similar free pair, grown by the child most similar to the
group) improved by swapping two children of different groups while that gains (a
Kernighan-Lin local search). Everything is deterministic: ties go to the first child in
lexicographic order, so a similarity file gives one partition.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nas.core.config import ConfigError
from nas.core.records import atomic_write_text

MIN_CORRELATION_POINTS = 3  # accuracy points a correlation of changes needs
SIMILARITY_COLUMNS = ["child_a", "child_b", "similarity"]
PARTITION_COLUMNS = ["child", "group"]


def correlation_similarity(records: pd.DataFrame, epoch: int) -> pd.DataFrame:
    """Children x children: the correlation of their accuracy changes over the "snapshot"
    points before epoch `epoch` (0 where a child's accuracy never changed)."""
    sub = records[(records.point_kind == "snapshot") & (records.epoch == epoch)]
    if sub.step.nunique() < MIN_CORRELATION_POINTS:
        raise ConfigError(
            f"correlation grouping: the run has {sub.step.nunique()} snapshot points before "
            f"epoch {epoch}; it needs at least {MIN_CORRELATION_POINTS} "
            "(experiments.finetune.before)"
        )
    wide = sub.pivot_table(index="step", columns="child", values="accuracy").sort_index()
    changes = wide.diff().iloc[1:]
    values = changes.corr().fillna(0.0).to_numpy(copy=True)
    np.fill_diagonal(values, 1.0)
    names = [str(c) for c in wide.columns]
    return pd.DataFrame(values, index=names, columns=names)


# --------------------------------------------------------------------------- partitions


def balanced_partition(similarity: pd.DataFrame, m: int) -> list[list[str]]:
    """m groups of equal size maximising the summed similarity within groups (see the module
    docstring); groups sorted, each by child name, then by their first child."""
    names = [str(c) for c in similarity.index]
    n = len(names)
    if m < 1 or n % m:
        raise ValueError(f"m={m} must be a positive divisor of the number of children ({n})")
    s = similarity.loc[names, names].to_numpy(dtype=float)
    s = (s + s.T) / 2
    np.fill_diagonal(s, 0.0)
    label = _greedy_groups(s, n // m)
    label = _improve_by_swaps(s, label, m)
    groups = [sorted(names[i] for i in range(n) if label[i] == g) for g in range(m)]
    return sorted(groups)


def _greedy_groups(s: np.ndarray, size: int) -> np.ndarray:
    """Each group grown from the most similar free pair by the free child most similar to
    it (first index on ties)."""
    n = len(s)
    label = np.full(n, -1)
    g = 0
    while (label < 0).any():
        free = np.flatnonzero(label < 0)
        if size == 1:
            group = [int(free[0])]
        else:
            sub = s[np.ix_(free, free)]
            iu = np.triu_indices(len(free), 1)
            best = int(np.argmax(sub[iu]))
            group = [int(free[iu[0][best]]), int(free[iu[1][best]])]
            while len(group) < size:
                cand = np.array([i for i in free if i not in group])
                group.append(int(cand[np.argmax(s[np.ix_(cand, group)].sum(axis=1))]))
        label[group] = g
        g += 1
    return label


def _improve_by_swaps(s: np.ndarray, label: np.ndarray, m: int, tol: float = 1e-9) -> np.ndarray:
    """Swap the two children of different groups whose exchange gains the most, until none
    gains: the summed within-group similarity only grows, so this ends."""
    label = label.copy()
    n = len(s)
    for _ in range(n * n):
        member = np.eye(m)[label]  # n x m
        t = s @ member  # t[i, g]: child i's summed similarity to group g
        own = t[np.arange(n), label]
        cross = t[:, label]  # cross[i, j] = t[i, group of j]
        gain = cross + cross.T - own[:, None] - own[None, :] - 2 * s
        gain[label[:, None] == label[None, :]] = -np.inf
        best = int(np.argmax(gain))
        i, j = divmod(best, n)
        if gain[i, j] <= tol:
            break
        label[i], label[j] = label[j], label[i]
    return label


def within_similarity(similarity: pd.DataFrame, groups: list[list[str]]) -> float:
    """The mean similarity of two different children of one group (the partition's score)."""
    pairs = [similarity.loc[a, b] for g in groups for a in g for b in g if a < b]
    return float(np.mean(pairs)) if pairs else float("nan")


# --------------------------------------------------------------------------- files


def write_similarity(matrix: pd.DataFrame, path: str | Path) -> None:
    """Tidy CSV: one row per ordered pair of children (SIMILARITY_COLUMNS)."""
    long = matrix.rename_axis(index="child_a", columns="child_b").stack()
    table = long.rename("similarity").reset_index()
    atomic_write_text(path, table[SIMILARITY_COLUMNS].to_csv(index=False))


def _read_csv(path: str | Path, what: str, dtype: dict[str, type]) -> pd.DataFrame:
    """A CSV the project wrote, or a one-line error naming the file (not pandas' message)."""
    try:
        return pd.read_csv(path, dtype=dtype)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError):
        raise ValueError(f"{path}: empty or not a {what} CSV (rewrite it, or delete it)") from None


def read_similarity(path: str | Path) -> pd.DataFrame:
    table = _read_csv(path, "similarity", {"child_a": str, "child_b": str})
    missing = [c for c in SIMILARITY_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: not a similarity file, missing columns {missing}")
    try:
        wide = table.pivot(index="child_a", columns="child_b", values="similarity")
    except ValueError:
        raise ValueError(f"{path}: a pair of children is given twice") from None
    if wide.isna().any().any() or list(wide.index) != list(wide.columns):
        raise ValueError(f"{path}: the similarity is not given for every pair of children")
    return wide


def write_partition(groups: list[list[str]], path: str | Path) -> None:
    rows = [(c, g) for g, group in enumerate(groups) for c in group]
    table = pd.DataFrame(rows, columns=PARTITION_COLUMNS)
    atomic_write_text(path, table.to_csv(index=False))


def read_partition(path: str | Path) -> list[list[str]]:
    table = _read_csv(path, "partition", {"child": str})
    missing = [c for c in PARTITION_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: not a partition file, missing columns {missing}")
    if table.empty:
        raise ValueError(f"{path}: a partition file with no children (rewrite it, or delete it)")
    return [sorted(part.child) for _, part in table.groupby("group", sort=True)]


def partition_text(groups: list[list[str]]) -> str:
    """The run config's `partition` value (nas.core.searchspace.parse_partition reads it)."""
    return ";".join(",".join(g) for g in groups)
