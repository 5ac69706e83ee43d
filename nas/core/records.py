"""Accuracy records: the one kind of data every table and figure is computed from.

A run writes a tidy CSV, one row per (evaluation point, child). `to_wide` turns the rows of
one point kind into the layout the original study published (one column per child).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from nas.core.completeness import check_complete

POINT_KINDS = ("epoch", "dense", "snapshot", "finetune")
_UMASK = os.umask(0)
os.umask(_UMASK)


@dataclass(frozen=True)
class Record:
    point_kind: str  # epoch | dense | snapshot (a mini-batch before a snapshot) | finetune
    epoch: int  # epochs completed (dense: the epoch in progress, 1-based; snapshot: its epoch)
    step: int  # mini-batches completed (finetune: finetuning steps completed)
    trained_child: str  # the child trained at the last step ("" before any step)
    child: str
    accuracy: float
    loss: float


COLUMNS = [f.name for f in fields(Record)]


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temp file beside `path`, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are for the whole group
        os.replace(tmp, path)
    except OSError as err:  # a full disk names no file: name the one being written
        Path(tmp).unlink(missing_ok=True)
        if err.filename is None:
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def records_to_csv(records: list[Record]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for rec in records:
        writer.writerow(astuple(rec))
    return buf.getvalue()


def write_records(path: str | Path, records: list[Record]) -> None:
    atomic_write_text(path, records_to_csv(records))


def read_records(path: str | Path) -> pd.DataFrame:
    """Read a tidy records CSV, keeping child names as strings, rows in time order (point
    kind, epoch, step). Anything that would silently change a table is an error naming the
    file: a cut-off line, a repeated row, an accuracy outside 0..1, a point that lacks some
    children, or (see nas.core.completeness) fewer points than the run's run.json promises."""
    path = Path(path)
    text = path.read_text()
    _check_lines(text, path)
    df = pd.read_csv(
        io.StringIO(text), dtype={"child": str, "trained_child": str}, keep_default_na=False
    )
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: not a records file, missing columns {missing}")
    df = _check_values(df, path)
    _check_points(df, path)
    check_complete(path, df)
    order = {kind: i for i, kind in enumerate(POINT_KINDS)}
    return df.sort_values(
        ["point_kind", "epoch", "step", "child"],
        key=lambda col: col.map(order) if col.name == "point_kind" else col,
        kind="stable",
        ignore_index=True,
    )


def _check_lines(text: str, path: Path) -> None:
    """Writers end every line (and so the file) with a newline, and every row has a field
    per column: anything else is a file cut off while written or copied."""
    if text and not text.endswith("\n"):
        raise ValueError(f"{path}: truncated (its last line is cut off)")
    rows = list(csv.reader(io.StringIO(text)))
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(rows[0]):
            raise ValueError(f"{path}: line {i} has {len(row)} fields, not {len(rows[0])}")


def _check_values(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    kinds = sorted(set(df.point_kind) - set(POINT_KINDS))
    if kinds:
        raise ValueError(f"{path}: unknown point kind(s) {kinds}")
    for col in ("epoch", "step"):
        if df[col].dtype.kind not in "iu":
            raise ValueError(f"{path}: column {col!r} holds values that are not integers")
    df = df.assign(
        accuracy=pd.to_numeric(df.accuracy, errors="coerce"),
        loss=pd.to_numeric(df.loss, errors="coerce"),  # nan where unknown (from_wide)
    )
    bad = df.index[~df.accuracy.between(0, 1)]
    if len(bad):
        raise ValueError(
            f"{path}: line {bad[0] + 2}: accuracy must be a number in 0..1, "
            f"got {df.accuracy[bad[0]]}"
        )
    return df


def _check_points(df: pd.DataFrame, path: Path) -> None:
    """One row per (point, child), and every point evaluates the same children."""
    key = ["point_kind", "epoch", "step", "child"]
    dup = df.index[df.duplicated(key)]
    if len(dup):
        raise ValueError(f"{path}: line {dup[0] + 2} repeats an earlier (point, child) row")
    n_children = df.child.nunique()
    per_point = df.groupby(key[:3]).child.nunique()
    short = per_point[per_point < n_children]
    if len(short):
        raise ValueError(
            f"{path}: truncated or partial: point {short.index[0]} has {short.iloc[0]} of "
            f"{n_children} children"
        )


def to_wide(df: pd.DataFrame, point_kind: str, index: str = "step") -> pd.DataFrame:
    """Rows = evaluation points in time order (`index` column), columns = children."""
    sub = df[df["point_kind"] == point_kind]
    if sub.empty:
        raise ValueError(f"no records of point kind {point_kind!r}")
    wide = sub.pivot_table(index=index, columns="child", values="accuracy", aggfunc="first")
    wide = wide.sort_index()
    wide.columns = [str(c) for c in wide.columns]
    return wide[sorted(wide.columns)]


def from_wide(wide: pd.DataFrame, point_kind: str) -> list[Record]:
    """Records from the published wide layout (index = step or epoch); loss is unknown (NaN)."""
    out = []
    by_epoch = wide.index.name == "epoch"
    for point, row in wide.iterrows():
        for child, acc in row.items():
            p = int(point)
            out.append(
                Record(
                    point_kind,
                    p if by_epoch else 0,
                    0 if by_epoch else p,
                    "",
                    str(child),
                    float(acc),
                    float("nan"),
                )
            )
    return out
