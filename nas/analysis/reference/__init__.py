"""The paper's published numbers, kept as data so results can be compared against them.

Every CSV in this package is a verbatim transcription of a table in "Deeper Insights into
Weight Sharing in Neural Architecture Search" (Zhang et al.). Values are as printed: Table 5
accuracies are percents, Table 4 accuracies are fractions, and Table 5's ranks keep the printed
ties (34 and 43 appear twice; 35 and 44 never appear).

Files are read through ``importlib.resources`` so they load the same way from a source checkout
and from an installed wheel.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import pandas as pd

from nas.analysis import tables

__all__ = [
    "TABLES",
    "ground_truth_accuracy",
    "ground_truth_rank",
    "paper_table",
    "paper_table5",
]

# name -> CSV file; "table3b" is derived from Table 4 (tables.table3b: its 2000-epoch rows).
TABLES: tuple[str, ...] = ("table1", "table2", "table3a", "table3b", "table4", "table5")


@cache
def _read(filename: str) -> pd.DataFrame:
    """Read one packaged CSV; child names are kept as strings so "111" never becomes 111."""
    resource = files(__name__).joinpath(filename)
    with resource.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype={"child": str, "experiment": str, "grouping": str})


def paper_table5() -> pd.DataFrame:
    """Table 5 (ground-truth lookup table): index ``child`` (str), columns acc_mean, acc_std, rank.

    acc_mean/acc_std are percents over 10 independent trainings; rank is as printed (1 = best).
    """
    return _read("paper_table5.csv").set_index("child").sort_index()


def ground_truth_accuracy() -> pd.Series:
    """Ground-truth mean accuracy (percent) per child, the reference for GT-Tau."""
    return paper_table5()["acc_mean"].rename("gt_acc")


def ground_truth_rank() -> pd.Series:
    """Ground-truth rank per child as printed in Table 5 (1 = best), the reference for TnR."""
    return paper_table5()["rank"].astype(int).rename("gt_rank")


def paper_table(name: str) -> pd.DataFrame:
    """Return one of the paper's tables by name (see ``TABLES``) as a fresh DataFrame.

    table1: S-Tau per experiment; table2: GT-Tau/T1R/T3R per experiment; table3a: group
    sharing; table3b: prefix sharing (= Table 4 at 2000 epochs, GT-Tau columns); table4: prefix
    sharing at 200 and 2000 epochs; table5: the ground-truth lookup table.
    """
    if name == "table5":
        return paper_table5()
    if name == "table3b":
        return tables.table3b(_read("paper_table4.csv")).drop(columns="epochs")
    if name in ("table1", "table2", "table3a", "table4"):
        return _read(f"paper_{name}.csv").copy()
    raise ValueError(f"unknown paper table {name!r}; valid names: {', '.join(TABLES)}")
