"""What a finished run's records must hold, from the run.json written beside them.

A records file cut short at a line boundary still parses, and every table would silently be
computed from fewer epochs (a different "final" epoch). run.json records the run's config,
its children and its length, from which the exact evaluation points follow.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

Point = tuple[str, int, int]  # (point_kind, epoch, step)


def snapshot_steps(snapshot_epochs: list[int], n: int, steps_per_epoch: int) -> dict[int, int]:
    """Step -> snapshot epoch, for the last `n` mini-batches before each snapshot: the points
    Figure 4 draws solid (all children sharing one copy) before its finetuning part."""
    out: dict[int, int] = {}
    for epoch in sorted(snapshot_epochs):
        end = int(epoch) * steps_per_epoch
        out.update({s: int(epoch) for s in range(max(1, end - n + 1), end + 1)})
    return out


def expected_points(info: dict[str, Any]) -> set[Point]:
    """Every (point_kind, epoch, step) that training evaluates, as nas.run.train.run_loop does."""
    cfg, total = info["config"], int(info["total_steps"])
    epochs, dense_last = int(cfg["epochs"]), int(cfg.get("dense_last", 0))
    spe = total // epochs
    evals = cfg.get("eval_epochs", "all")
    if evals == "all":
        evals = range(1, epochs + 1)
    elif evals == "last":
        evals = [epochs]
    points = {("epoch", int(e), int(e) * spe) for e in evals}
    dense = range(total - dense_last + 1, total + 1)
    points |= {("dense", (s - 1) // spe + 1, s) for s in dense}
    snaps = snapshot_steps(cfg.get("snapshot_epochs", []), int(cfg.get("snapshot_dense", 0)), spe)
    points |= {("snapshot", epoch, s) for s, epoch in snaps.items()}
    start = int(cfg.get("warm_epoch", 0)) * spe  # a warm start trains (and evaluates) after it
    return {p for p in points if p[2] > start}


def check_complete(path: str | Path, df: pd.DataFrame) -> None:
    """Refuse a records file that lacks points or children its run.json promises (no
    run.json beside it, e.g. finetuning output: nothing to compare with)."""
    path = Path(path)
    info_path = path.parent / "run.json"
    if path.name != "records.csv" or not info_path.exists():
        return
    info = json.loads(info_path.read_text())
    have = set(zip(df.point_kind, df.epoch.astype(int), df.step.astype(int), strict=True))
    want = expected_points(info)
    missing, extra = sorted(want - have), sorted(have - want)
    if missing or extra:
        what = f"lacks {len(missing)} evaluation point(s) (first: {missing[0]})" if missing else ""
        what = what or f"has {len(extra)} point(s) the run never evaluates (first: {extra[0]})"
        raise ValueError(f"{path}: truncated or partial: {what}, by {info_path.name}")
    children = set(info["children"])
    if set(df.child) != children:
        lost = sorted(children - set(df.child))
        raise ValueError(
            f"{path}: truncated or partial: children {lost[:8]} missing, by {info_path.name}"
        )
