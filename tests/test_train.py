"""Training runs: reproducible records, resume after a stop, snapshots and finetuning."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from nas.core.config import ConfigError
from nas.core.records import read_records
from nas.measure.finetune import run_finetune
from nas.run.train import Interrupted, lr_at, run_training
from tests.conftest import tiny_config

TINY = [
    "dataset=digits",
    "epochs=3",
    "batch_size=128",
    "stem_channels=8",
    "cell_channels=4",
    "n_cells=2",
    "dense_last=4",
    "eval_batch_size=512",
    "device=cpu",
    "threads=1",
    "order=reshuffled",
    "order_seed=3",
]


def test_cosine_schedule_runs_from_lr_to_lr_min():
    cfg = tiny_config(epochs=200)
    assert lr_at(cfg, 0) == pytest.approx(0.025)
    assert lr_at(cfg, 200) == pytest.approx(0.001)
    assert lr_at(cfg, 100) == pytest.approx(0.013)


def test_records_cover_every_point_and_child(tmp_path):
    cfg = tiny_config(sharing="groups", m=16, group=2, grouping="random", eval_epochs=[2])
    run_training(cfg, tmp_path, log=lambda *_: None)
    df = read_records(tmp_path / "records.csv")
    assert set(df.child) == set(cfg.run_children()) and df.child.nunique() == 4
    assert sorted(df[df.point_kind == "epoch"].epoch.unique()) == [2]
    dense = df[df.point_kind == "dense"]
    assert sorted(dense.step.unique()) == [22, 23, 24]  # ceil(1438 / 128) = 12 steps x 2 epochs
    assert dense.accuracy.between(0, 1).all()
    # the trained child at each dense point follows the group's own fixed order
    group = sorted(cfg.run_children())
    assert list(dense.drop_duplicates("step").trained_child) == [group[s % 4] for s in (21, 22, 23)]
    assert not (tmp_path / "resume.pt").exists()


def test_same_config_gives_byte_identical_records(tmp_path):
    cfg = tiny_config(epochs=1, dense_last=2)
    a = run_training(cfg, tmp_path / "a", log=lambda *_: None)
    b = run_training(cfg, tmp_path / "b", log=lambda *_: None)
    assert a.read_bytes() == b.read_bytes()


def test_both_evaluation_engines_write_the_same_records(tmp_path):
    cfg = tiny_config(epochs=1, dense_last=2)
    memo = read_records(run_training(cfg, tmp_path / "m", log=lambda *_: None))
    batched_cfg = dataclasses.replace(cfg, eval_engine="batched")
    batched = read_records(run_training(batched_cfg, tmp_path / "b", log=lambda *_: None))
    keys = ["point_kind", "epoch", "step", "trained_child", "child", "accuracy"]
    assert memo[keys].equals(batched[keys])
    assert np.allclose(memo.loss, batched.loss, rtol=1e-6, atol=0)


def test_init_seed_changes_records(tmp_path):
    a = run_training(tiny_config(epochs=1), tmp_path / "a", log=lambda *_: None)
    b = run_training(tiny_config(epochs=1, init_seed=1), tmp_path / "b", log=lambda *_: None)
    assert a.read_bytes() != b.read_bytes()


def test_bf16_precision_trains_in_autocast_and_changes_records_a_little(tmp_path):
    """precision=bf16 (a GPU option, also runs on the CPU) is not the default: its records
    differ from float32's. How much is printed and quoted in benchmarks/RESULTS.md."""
    fp32 = read_records(run_training(tiny_config(), tmp_path / "a", log=lambda *_: None))
    bf16 = read_records(
        run_training(tiny_config(precision="bf16"), tmp_path / "b", log=lambda *_: None)
    )
    assert fp32[["point_kind", "step", "child"]].equals(bf16[["point_kind", "step", "child"]])
    d_acc = (fp32.accuracy - bf16.accuracy).abs()
    print(f"bf16 vs fp32: max |d acc| {d_acc.max():.4f}, mean {d_acc.mean():.4f}")
    assert 0 < d_acc.max() <= 0.2 and bf16.accuracy.between(0, 1).all()
    assert tiny_config().precision == "fp32"


@pytest.mark.parametrize("grad_clear", ["zero", "none"])
def test_stop_at_an_epoch_boundary_then_resume_gives_identical_records(tmp_path, grad_clear):
    cfg = tiny_config(epochs=3, grad_clear=grad_clear, order="shuffled")
    whole = run_training(cfg, tmp_path / "whole", log=lambda *_: None)

    def stop_after_first_epoch(msg: str) -> None:
        if msg.startswith("epoch 1/"):
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(Interrupted) as stopped:
        run_training(cfg, tmp_path / "cut", log=stop_after_first_epoch)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert (tmp_path / "cut" / "resume.pt").exists()
    assert not (tmp_path / "cut" / "records.csv").exists()
    resumed = run_training(cfg, tmp_path / "cut", log=lambda *_: None)
    assert resumed.read_bytes() == whole.read_bytes()


@pytest.mark.slow
def test_killed_cli_run_resumes_mid_epoch_with_identical_records(tmp_path):
    """A real process gets SIGTERM at an arbitrary step, exits non-zero, and resumes."""
    cmd = [sys.executable, "-m", "nas", "train", *sum((["--set", s] for s in TINY), [])]
    subprocess.run([*cmd, "--out", str(tmp_path / "whole")], check=True, capture_output=True)
    proc = subprocess.Popen(
        [*cmd, "--out", str(tmp_path / "cut")], stdout=subprocess.PIPE, text=True
    )
    for line in proc.stdout:
        if line.startswith("epoch 1/"):
            time.sleep(0.3)  # somewhere inside epoch 2
            proc.send_signal(signal.SIGTERM)
            break
    rest = proc.stdout.read()
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM, rest
    assert "checkpoint saved" in rest
    subprocess.run([*cmd, "--out", str(tmp_path / "cut")], check=True, capture_output=True)
    assert (tmp_path / "cut" / "records.csv").read_bytes() == (
        tmp_path / "whole" / "records.csv"
    ).read_bytes()


def test_checkpoint_from_another_config_is_refused(tmp_path):
    def stop(msg: str) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(Interrupted):
        run_training(tiny_config(epochs=2), tmp_path, log=stop)
    with pytest.raises(ValueError, match="other arguments"):  # the folder's config.json
        run_training(tiny_config(epochs=2, init_seed=5), tmp_path, log=lambda *_: None)
    (tmp_path / "config.json").unlink()  # a resume file alone still tells
    with pytest.raises(ValueError, match="different config"):
        run_training(tiny_config(epochs=2, init_seed=5), tmp_path, log=lambda *_: None)


def test_snapshot_then_finetune_every_child(tmp_path):
    cfg = tiny_config(epochs=2, snapshot_epochs=[1], sharing="groups", m=16, group=0)
    run_training(cfg, tmp_path, log=lambda *_: None)
    snap = tmp_path / "snapshots" / "epoch_1.pt"
    assert snap.exists()
    out = run_finetune(cfg, snap, steps=3, out_path=tmp_path / "ft.csv", log=lambda *_: None)
    df = read_records(out)
    assert len(df) == 4 * 4 and set(df.point_kind) == {"finetune"}
    assert (df.epoch == 1).all() and sorted(df.step.unique()) == [0, 1, 2, 3]
    # step 0 is the shared weights at the snapshot: equal to the epoch-1 evaluation
    rec = read_records(tmp_path / "records.csv")
    at1 = rec[(rec.point_kind == "epoch") & (rec.epoch == 1)].set_index("child").accuracy
    ft0 = df[df.step == 0].set_index("child").accuracy
    pd.testing.assert_series_equal(ft0.sort_index(), at1.sort_index(), check_names=False)


def test_snapshot_points_lead_into_the_finetuning(tmp_path):
    """Figure 4's solid part: every child after each of the last mini-batches before each
    snapshot; a point the end-of-run window evaluates is reused, not evaluated again."""
    cfg = tiny_config(
        epochs=2, snapshot_epochs=[1, 2], snapshot_dense=3, dense_last=2, sharing="groups", m=16
    )
    run_training(cfg, tmp_path, log=lambda *_: None)
    rec = read_records(tmp_path / "records.csv")  # complete against run.json
    snaps = rec[rec.point_kind == "snapshot"]
    steps = snaps.groupby("epoch").step.unique().map(sorted).to_dict()
    assert steps == {1: [10, 11, 12], 2: [22, 23, 24]}  # 12 mini-batches per epoch
    dense = rec[rec.point_kind == "dense"].set_index(["step", "child"]).accuracy
    at2 = snaps[snaps.step > 22].set_index(["step", "child"]).accuracy
    pd.testing.assert_series_equal(at2, dense.loc[at2.index])
    out = run_finetune(cfg, tmp_path / "snapshots/epoch_1.pt", 1, tmp_path / "ft.csv", log=print)
    ft0 = read_records(out).query("step == 0").set_index("child").accuracy
    last = snaps[snaps.step == 12].set_index("child").accuracy
    pd.testing.assert_series_equal(ft0.sort_index(), last.sort_index(), check_names=False)


def test_snapshot_window_longer_than_the_run_before_the_snapshot_is_refused():
    from nas.core.config import check_dense_window

    cfg = tiny_config(epochs=2, snapshot_epochs=[1], snapshot_dense=13)
    with pytest.raises(ConfigError, match="snapshot_dense"):
        check_dense_window(cfg, 12)


def test_finetune_starts_a_fresh_sgd_from_the_snapshot_weights(tmp_path):
    """As the paper's finetune.py: snapshot weights, no momentum carried over, no gradients;
    one step must equal exactly that, computed here by hand."""
    import torch

    from nas.model.evaluate import evaluate_children
    from nas.model.supernet import build_supernet
    from nas.run.train import BatchSource, load_run_data, load_state, make_optimizer, train_step

    cfg = tiny_config(epochs=2, snapshot_epochs=[1], momentum=0.9)
    run_training(cfg, tmp_path, log=lambda *_: None)
    snap = tmp_path / "snapshots" / "epoch_1.pt"
    child = "243"
    out = run_finetune(cfg, snap, 1, tmp_path / "ft.csv", children=[child], log=lambda *_: None)
    got = read_records(out).set_index("step").loc[1, "loss"]

    data = load_run_data(cfg, torch.device("cpu"))
    model = build_supernet(cfg, data.n_classes)
    state = load_state(snap, cfg, model, make_optimizer(cfg, model))
    model.zero_grad(set_to_none=True)
    opt = make_optimizer(cfg, model)  # empty momentum buffers
    for group in opt.param_groups:
        group["lr"] = lr_at(cfg, state["epoch"])
    x, y = BatchSource(cfg, data).batch(state["step"])
    train_step(cfg, model, opt, x, y, child)
    want = evaluate_children(model, [child], data.val, cfg.eval_batch_size)[child][1]
    assert got == pytest.approx(want, rel=1e-6)


def test_prefix_sharing_moves_a_childs_own_copies_only_on_its_steps():
    """The paper's code swaps a child's unshared weights (and momentum) out while the others
    train: here child A's own cells and classifier stay bit for bit through B's steps, while
    the shared cell's ops that B does not use still move (zeroed gradients, momentum)."""
    import torch

    from nas.model.supernet import build_supernet
    from nas.run.train import BatchSource, load_run_data, make_optimizer, train_step

    cfg = tiny_config(sharing="prefix", k=1, momentum=0.9)
    data = load_run_data(cfg, torch.device("cpu"))
    model = build_supernet(cfg, data.n_classes)
    opt = make_optimizer(cfg, model)
    x, y = BatchSource(cfg, data).batch(0)
    a, b = "222", "333"
    train_step(cfg, model, opt, x, y, a)
    own_a = [p.detach().clone() for p in model.own_parameters(a)]
    shared_a = model.shared_cells[0].edges[0]["sep_conv_3x3"]  # used by A, not by B
    before = [p.detach().clone() for p in shared_a.parameters()]
    for _ in range(3):
        train_step(cfg, model, opt, x, y, b)
    assert all(torch.equal(p, q) for p, q in zip(model.own_parameters(a), own_a, strict=True))
    moved = [not torch.equal(p, q) for p, q in zip(shared_a.parameters(), before, strict=True)]
    assert before and all(moved)


def test_batches_follow_the_init_seed_unless_a_data_seed_is_set():
    """The paper's code seeds weights and data loader with one --seed: by default (data_seed
    null) two init seeds see different mini-batches; an explicit data_seed pins them."""
    import dataclasses

    import torch

    from nas.run.train import BatchSource, load_run_data

    cfg = tiny_config()
    data = load_run_data(cfg, torch.device("cpu"))

    def first_batch(**over):
        return BatchSource(dataclasses.replace(cfg, **over), data).batch(0)[0]

    assert not torch.equal(first_batch(init_seed=0), first_batch(init_seed=1))
    assert torch.equal(first_batch(init_seed=1), first_batch(init_seed=2, data_seed=1))
    assert torch.equal(first_batch(init_seed=0, data_seed=7), first_batch(init_seed=1, data_seed=7))


def test_minibatch_points_read_the_first_images_and_epoch_points_all(tmp_path):
    """minibatch_eval_images: dense points on a prefix of the validation split (accuracy in
    steps of 1/N), the final epoch point still on all of it; 0 reuses the last dense point."""
    cfg = tiny_config(epochs=1, dense_last=2, minibatch_eval_images=50)
    run_training(cfg, tmp_path / "sub", log=lambda *_: None)
    df = read_records(tmp_path / "sub" / "records.csv")
    dense, epoch = df[df.point_kind == "dense"], df[df.point_kind == "epoch"]
    assert ((dense.accuracy * 50).round(6) % 1 == 0).all()
    full = tiny_config(epochs=1, dense_last=2)
    run_training(full, tmp_path / "all", log=lambda *_: None)
    ref = read_records(tmp_path / "all" / "records.csv")
    ref_epoch = ref[ref.point_kind == "epoch"].set_index("child").accuracy
    # the same weights at the end: the epoch point is the full-split evaluation
    pd.testing.assert_series_equal(epoch.set_index("child").accuracy, ref_epoch)
    last = dense[dense.step == dense.step.max()].set_index("child").accuracy
    assert not last.equals(ref_epoch)
