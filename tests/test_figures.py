"""Smoke tests for nas.figures: every figure renders non-empty PNG and PDF files from small data."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from nas import figures
from nas.records import COLUMNS
from nas.reference import paper_table5

# A quarter of the search space keeps rendering fast; the figures take any subset of children.
CHILDREN = ["".join(p) for p in itertools.product("1234", repeat=3)][::4]
GT = paper_table5()
GT_FRAC = (GT["acc_mean"] / 100.0).reindex(CHILDREN).to_numpy()


def instance(seed: int, n_epochs: int = 4, n_dense: int = 6, groups: int = 1) -> pd.DataFrame:
    """Ground truth + noise; with ``groups`` > 1 each group trains its own child at every step."""
    rng = np.random.default_rng(seed)
    size = len(CHILDREN) // groups
    rows = []
    for epoch in range(1, n_epochs + 1):
        accs = GT_FRAC + rng.normal(0, 0.02, len(CHILDREN))
        rows += [
            ("epoch", epoch, epoch * 10, "", c, a, 0.0) for c, a in zip(CHILDREN, accs, strict=True)
        ]
    last = n_epochs * 10
    for step in range(last - n_dense + 1, last + 1):
        accs = GT_FRAC + rng.normal(0, 0.02, len(CHILDREN))
        for i, (c, a) in enumerate(zip(CHILDREN, accs, strict=True)):
            group = i // size
            trained = CHILDREN[group * size + step % size]
            rows.append(("dense", n_epochs, step, trained, c, a, 0.0))
    return pd.DataFrame(rows, columns=COLUMNS)


def finetune_records(epoch: int, steps: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(epoch)
    rows = []
    for c, base in zip(CHILDREN, GT_FRAC, strict=True):
        for s in range(steps + 1):
            acc = base + rng.normal(0, 0.05 / (s + 1))
            rows.append(("finetune", epoch, s, c if s else "", c, acc, 0.0))
    return pd.DataFrame(rows, columns=COLUMNS)


def check(paths, tmp_path, name):
    assert [p.name for p in paths] == [f"{name}.png", f"{name}.pdf"]
    for p in paths:
        assert p.parent == tmp_path and p.stat().st_size > 1000
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temp files behind


def test_figure2(tmp_path):
    families = {
        "different_seeds": [instance(s) for s in range(3)],
        "different_orders_shuffle": [instance(s + 3) for s in range(3)],
    }
    from nas.analysis import epoch_matrix

    gt_epochs = [epoch_matrix(instance(s + 9)) for s in range(2)]
    check(figures.figure2(families, gt_epochs, tmp_path / "fig2"), tmp_path, "fig2")
    check(figures.figure2(families, None, tmp_path / "fig2b"), tmp_path, "fig2b")


def test_figure3(tmp_path):
    insts = [instance(s) for s in range(3)]
    paths = figures.figure3(insts, insts[0], GT, tmp_path / "fig3", last_epochs=3)
    check(paths, tmp_path, "fig3")
    with pytest.raises(ValueError, match="last 10 epochs"):
        figures.figure3(insts, insts[0], GT, tmp_path / "x")


def test_figure4(tmp_path):
    finetune = {200: finetune_records(200), 100: finetune_records(100)}
    check(figures.figure4(finetune, GT, tmp_path / "fig4"), tmp_path, "fig4")


def test_figure5_7_9(tmp_path):
    check(figures.figure5(instance(0), instance(1), GT, tmp_path / "fig5"), tmp_path, "fig5")
    check(figures.figure7(instance(2), GT, tmp_path / "fig7"), tmp_path, "fig7")
    check(figures.figure9(instance(3), GT, tmp_path / "fig9"), tmp_path, "fig9")


def test_figure6(tmp_path):
    group = instance(0, groups=4)
    children = CHILDREN[:4]  # one group of 4
    paths = figures.figure6(group, instance(1), children, GT, tmp_path / "fig6")
    check(paths, tmp_path, "fig6")


def test_figure8(tmp_path):
    insts = {"0.1": [instance(s) for s in range(2)], "0.9": [instance(s + 2) for s in range(2)]}
    check(figures.figure8(insts, GT, tmp_path / "fig8"), tmp_path, "fig8")
