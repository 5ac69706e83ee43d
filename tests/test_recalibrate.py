"""BN recalibration (nas.measure.recalibrate): N = 0 is the paper's evaluation, the super-net's
statistics come back after every child, and N > 0 equals a straightforward recomputation."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch import nn

from nas.analysis.recalibration import recalibration_table
from nas.cli import main
from nas.core.records import read_records
from nas.measure.recalibrate import kept_bn_state, recalibrate, run_recalibration
from nas.model.evaluate import evaluate_child_plain
from nas.model.supernet import build_supernet
from nas.run.train import BatchSource, load_run_data, load_state, run_training
from tests.conftest import tiny_config

GROUP = dict(sharing="groups", m=16, group=0)  # 4 children: seconds


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    cfg = tiny_config(epochs=2, snapshot_epochs=[2], **GROUP)
    out = tmp_path_factory.mktemp("run")
    run_training(cfg, out, log=lambda *_: None)
    return cfg, out


def _model(cfg, snap):
    data = load_run_data(cfg, torch.device("cpu"))
    model = build_supernet(cfg, data.n_classes)
    step = load_state(snap, cfg, model)["step"]
    return model, data, step


def _buffers(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.named_buffers()}


def test_zero_batches_is_the_records_final_evaluation_and_deterministic(snapshot, tmp_path):
    cfg, out = snapshot
    snap = out / "snapshots/epoch_2.pt"
    a = run_recalibration(cfg, snap, [0, 3], tmp_path / "a.csv", log=lambda *_: None)
    b = run_recalibration(cfg, snap, [0, 3], tmp_path / "b.csv", log=lambda *_: None)
    assert a.read_bytes().split(b"\n")[0] == b"batches,child,acc,loss,seconds"
    got, again = pd.read_csv(a, dtype={"child": str}), pd.read_csv(b, dtype={"child": str})
    pd.testing.assert_frame_equal(got.drop(columns="seconds"), again.drop(columns="seconds"))
    rec = read_records(out / "records.csv")
    final = rec[(rec.point_kind == "epoch") & (rec.epoch == 2)].set_index("child").accuracy
    zero = got[got.batches == 0].set_index("child").acc
    pd.testing.assert_series_equal(zero.sort_index(), final.sort_index(), check_names=False)
    three = got[got.batches == 3].set_index("child").acc
    assert not three.equals(zero)  # the child's own statistics change what it predicts


def test_recalibration_equals_a_plain_recomputation_and_restores_the_supernet(snapshot):
    cfg, out = snapshot
    model, data, step = _model(cfg, out / "snapshots/epoch_2.pt")
    batches = [BatchSource(cfg, data).batch(step + i)[0] for i in range(3)]
    child = cfg.run_children()[1]
    before = _buffers(model)
    with kept_bn_state(model):
        recalibrate(model, child, batches)
        ours = evaluate_child_plain(model, child, data.val)
    after = _buffers(model)
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)  # bit for bit
    momenta = {m.momentum for m in model.modules() if isinstance(m, nn.BatchNorm2d)}
    assert None not in momenta

    fresh, _, _ = _model(cfg, out / "snapshots/epoch_2.pt")  # independent: by hand
    for bn in (m for m in fresh.modules() if isinstance(m, nn.BatchNorm2d)):
        bn.reset_running_stats()
        bn.momentum = None
    fresh.train()
    with torch.no_grad():
        for x in batches:
            fresh(x, child)
    assert evaluate_child_plain(fresh, child, data.val) == ours


def test_table_pairs_gains_by_instance():
    children = ["11", "12", "21", "22"]
    gt = pd.DataFrame({"acc_mean": [90.0, 80.0, 70.0, 60.0], "rank": [1, 2, 3, 4]}, children)
    gt.index.name = "child"

    def inst(before: list[float], after: list[float]) -> pd.DataFrame:
        rows = [(0, c, a, 0.0, 0.1) for c, a in zip(children, before, strict=True)]
        rows += [(8, c, a, 0.0, 0.3) for c, a in zip(children, after, strict=True)]
        return pd.DataFrame(rows, columns=["batches", "child", "acc", "loss", "seconds"])

    shuffled, right = [0.6, 0.7, 0.8, 0.9], [0.9, 0.8, 0.7, 0.6]
    table = recalibration_table([inst(shuffled, right), inst(shuffled, right)], gt)
    assert list(table.batches) == [0, 8]
    row = table.set_index("batches").loc[8]
    assert row.gt_tau_mean == pytest.approx(1.0) and row.gain_mean == pytest.approx(2.0)
    assert row.t1r_mean == 1 and row.seconds_per_child == pytest.approx(0.3) and row.n == 2
    assert row.acc_mean == pytest.approx(0.75)


@pytest.mark.parametrize("text", ["3,-1", "2,2", "a"])
def test_cli_refuses_bad_batch_counts_before_loading_anything(tmp_path, capsys, text):
    code = main(
        ["recalibrate", "--set", "dataset=digits", "--snapshot", str(tmp_path / "none.pt")]
        + ["--batches", text, "--out", str(tmp_path / "r.csv")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--batches" in err and "Traceback" not in err
