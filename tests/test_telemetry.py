"""Interference telemetry (nas.run.telemetry): it measures without changing the run."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from nas.core.config import ConfigError
from nas.model.supernet import build_supernet
from nas.run.telemetry import cosines, others_at
from nas.run.train import run_training
from tests.conftest import tiny_config

GROUP = dict(sharing="groups", m=16, group=0, dense_last=3)  # 4 children


def test_records_are_byte_identical_with_telemetry_on(tmp_path):
    quiet = lambda *_: None  # noqa: E731
    run_training(tiny_config(**GROUP), tmp_path / "off", log=quiet)
    run_training(tiny_config(**GROUP, telemetry_children=2), tmp_path / "on", log=quiet)
    off, on = tmp_path / "off", tmp_path / "on"
    assert (on / "records.csv").read_bytes() == (off / "records.csv").read_bytes()
    assert not (off / "telemetry.csv").exists()
    rows = pd.read_csv(on / "telemetry.csv", dtype={"trained_child": str, "child": str})
    assert list(rows.columns) == ["step", "trained_child", "child", "cosine"]
    records = pd.read_csv(on / "records.csv", dtype={"trained_child": str})
    dense = records[records.point_kind == "dense"].groupby("step").trained_child.first()
    assert sorted(rows.step.unique()) == list(dense.index)  # the dense window's mini-batches
    assert (rows.groupby("step").size() == 2).all() and rows.cosine.between(-1, 1).all()
    trained = rows.groupby("step").trained_child.first()
    assert trained.equals(dense.loc[trained.index])  # the child that step trained
    assert (rows.child != rows.trained_child).all()


def test_cosines_restore_gradients_and_bn_and_match_a_direct_computation():
    cfg = tiny_config(**GROUP)
    model = build_supernet(cfg, 10)
    x, y = torch.randn(16, 3, 8, 8), torch.randint(0, 10, (16,))
    first = [p for p in model.parameters()][0]
    first.grad = torch.ones_like(first)
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    children = cfg.run_children()
    got = cosines(model, x, y, children[0], children[1:3])
    assert torch.equal(first.grad, torch.ones_like(first))
    assert all(p.grad is None for p in list(model.parameters())[1:])
    assert all(torch.equal(buffers[k], v) for k, v in model.named_buffers())

    def grad(child: str) -> torch.Tensor:  # by hand, on a copy in the same state
        copy = build_supernet(cfg, 10)
        copy.load_state_dict(model.state_dict())
        torch.nn.functional.cross_entropy(copy(x, child), y).backward()
        params = [*copy.stem.parameters(), *copy.shared_cells.parameters()]
        params += [*copy.classifier.parameters()]
        return torch.cat([(p.grad if p.grad is not None else 0 * p).flatten() for p in params])

    expect = [
        torch.nn.functional.cosine_similarity(grad(children[0]), grad(c), dim=0)
        for c in children[1:3]
    ]
    assert got == pytest.approx([float(e) for e in expect], abs=1e-5)


def test_sample_is_seeded_and_refuses_too_many():
    kids = [f"{i}" for i in range(10)]
    assert others_at(kids, "3", 4, 7, 100) == others_at(kids, "3", 4, 7, 100)
    assert "3" not in others_at(kids, "3", 9, 7, 100)
    with pytest.raises(ConfigError, match="telemetry_children"):
        tiny_config(**GROUP, telemetry_children=4)
