"""Packed training: K models in one, each matching its separate run up to rounding.

Tolerance (also in benchmarks/RESULTS.md). A packed model's forward is bitwise the separate
model's (train and eval mode), and so are the loss and classifier gradients; grouped-conv
weight gradients sum in another order (~1e-6 relative), and training amplifies that like
any rounding difference. On the tiny digits configs below (2 epochs, near-chance networks
where many predictions are near-ties) the packed-vs-separate records differ by no more than
the same separate run does between channels-last and NCHW memory formats (measured, seeds 2
and 5: max |d acc| 0.011 / 0.028 vs 0.064 / 0.031; mean 0.0005 / 0.0024 vs 0.0063 / 0.0041).
The test bounds: max |d acc| <= 0.05, mean |d acc| <= 0.005, loss within 2% relative.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal

import pytest
import torch

from nas.cli import main
from nas.core.records import read_records
from nas.model.packed import pack_models, unpack_optimizer_state, unpack_state
from nas.model.supernet import build_supernet
from nas.run.train import (
    Interrupted,
    MemberBatches,
    load_run_data,
    load_state,
    make_optimizer,
    member_configs,
    run_training,
    train_members,
    train_step,
)
from tests.conftest import tiny_config

CL = torch.channels_last
KEYS = ["point_kind", "epoch", "step", "trained_child", "child"]
ACC_MAX, ACC_MEAN, LOSS_RTOL = 0.05, 0.005, 2e-2


def _models(cfg, seeds):
    return [build_supernet(dataclasses.replace(cfg, init_seed=s), 10) for s in seeds]


def test_packed_forward_is_each_models_forward_and_state_unpacks_exactly():
    cfg = tiny_config()
    seeds = [0, 3, 7]
    singles = [m.to(memory_format=CL) for m in _models(cfg, seeds)]
    packed = pack_models(_models(cfg, seeds)).to(memory_format=CL)
    x = torch.randn(16, 3, 8, 8).contiguous(memory_format=CL)
    for mode in ("train", "eval"):
        for m in [packed, *singles]:
            m.train(mode == "train")
        with torch.no_grad():
            out = packed(x, "243")
            assert out.shape == (16, 3, 10)
            for k, m in enumerate(singles):
                assert torch.equal(out[:, k], m(x, "243")), (mode, k)
    for k, m in enumerate(singles):
        state = unpack_state(packed, k)
        assert list(state) == list(m.state_dict())
        assert all(torch.equal(state[n], t) for n, t in m.state_dict().items())


def test_packed_models_with_their_own_batches_compute_each_models_forward():
    """With a data seed per model (the default: the init seed), model k reads block k of
    an N x 3K x H x W stack of images."""
    cfg = tiny_config()
    seeds = [0, 3]
    data = load_run_data(cfg, torch.device("cpu"))
    own = MemberBatches(member_configs(cfg, seeds), data).batch(0)
    shared = member_configs(dataclasses.replace(cfg, data_seed=1), seeds)
    assert own[0].shape[1] == 6 and own[1].shape[1] == 2  # images stacked, labels per member
    assert MemberBatches(shared, data).batch(0)[0].shape[1] == 3  # one batch for both
    singles = [m.to(memory_format=CL) for m in _models(cfg, seeds)]
    packed = pack_models(_models(cfg, seeds)).to(memory_format=CL)
    xs = [torch.randn(16, 3, 8, 8).contiguous(memory_format=CL) for _ in seeds]
    with torch.no_grad():
        out = packed(torch.cat(xs, dim=1), "243")
        for k, m in enumerate(singles):
            assert torch.allclose(out[:, k], m(xs[k], "243"), rtol=1e-5, atol=1e-6), k


@pytest.mark.parametrize("grad_clear", ["zero", "none"])
def test_packed_steps_match_separate_steps_to_rounding(grad_clear):
    cfg = tiny_config(grad_clear=grad_clear)
    seeds = [0, 1]
    singles = [m.to(memory_format=CL) for m in _models(cfg, seeds)]
    opts = [make_optimizer(cfg, m) for m in singles]
    packed = pack_models(_models(cfg, seeds)).to(memory_format=CL)
    popt = make_optimizer(cfg, packed)
    gen = torch.Generator().manual_seed(0)
    for child in ["111", "222", "333"]:  # op 2 keeps moving under "zero" only
        x = torch.randn(32, 3, 8, 8, generator=gen).contiguous(memory_format=CL)
        y = torch.randint(0, 10, (32,), generator=gen)
        for m, o in zip(singles, opts, strict=True):
            train_step(cfg, m, o, x, y, child)
        train_step(cfg, packed, popt, x, y, child)  # the one step, for a packed model too
    for k, (m, o) in enumerate(zip(singles, opts, strict=True)):
        state = unpack_state(packed, k)
        for name, t in m.state_dict().items():
            torch.testing.assert_close(state[name], t, rtol=1e-5, atol=1e-6, msg=name)
        mine = unpack_optimizer_state(packed, popt.state_dict(), k)["state"]
        for i, s in o.state_dict()["state"].items():
            torch.testing.assert_close(mine[i]["momentum_buffer"], s["momentum_buffer"])


def _compare(packed_csv, single_csv):
    a, b = read_records(packed_csv), read_records(single_csv)
    assert a[KEYS].equals(b[KEYS])
    d_acc = (a.accuracy - b.accuracy).abs()
    assert d_acc.max() <= ACC_MAX and d_acc.mean() <= ACC_MEAN, d_acc.describe()
    assert ((a.loss - b.loss).abs() <= LOSS_RTOL * b.loss.abs()).all()


def test_packed_run_writes_each_seeds_records_like_separate_runs(tmp_path):
    """Full sharing: all 64 children evaluated at every point, for each packed model."""
    cfg = tiny_config(epochs=1, dense_last=2)
    seeds = [2, 5]
    outs = train_members(cfg, seeds, [tmp_path / f"p{s}" for s in seeds], log=lambda *_: None)
    single = run_training(
        dataclasses.replace(cfg, init_seed=5), tmp_path / "single", log=lambda *_: None
    )
    _compare(outs[1], single)
    info = json.loads((tmp_path / "p5" / "run.json").read_text())
    assert info["config"]["init_seed"] == 5 and info["packed"]["init_seeds"] == seeds


def test_ground_truth_pack_snapshots_and_cli_resume(tmp_path):
    """One child alone (a ground-truth run), 3 seeds, snapshots; stopped by SIGTERM after
    epoch 1 and resumed through the CLI: the records of an uninterrupted packed run."""
    cfg = tiny_config(sharing="groups", m=64, group=27, snapshot_epochs=[1])
    seeds = [0, 1, 2]
    whole = train_members(cfg, seeds, [tmp_path / f"w{s}" for s in seeds], log=lambda *_: None)
    assert not (tmp_path / "w0" / "resume.pt").exists()
    single = run_training(
        dataclasses.replace(cfg, init_seed=1), tmp_path / "single", log=lambda *_: None
    )
    _compare(whole[1], single)
    for s in seeds:
        snap = tmp_path / f"w{s}" / "snapshots" / "epoch_1.pt"
        cfg_s = dataclasses.replace(cfg, init_seed=s)
        model = build_supernet(cfg_s, 10)
        assert load_state(snap, cfg_s, model, make_optimizer(cfg_s, model))["epoch"] == 1

    def stop_after_first_epoch(msg: str) -> None:
        if msg.startswith("epoch 1/"):
            os.kill(os.getpid(), signal.SIGTERM)

    cut = [tmp_path / f"c{s}" for s in seeds]
    with pytest.raises(Interrupted):
        train_members(cfg, seeds, cut, log=stop_after_first_epoch)
    assert (cut[0] / "resume.pt").exists()
    sets = [f"--set={k}={'null' if v is None else v}" for k, v in dataclasses.asdict(cfg).items()]
    sets = [s for s in sets if not s.startswith("--set=ops=")]
    argv = ["train-packed", *sets, "--init-seeds", "0-2", "--out-template"]
    assert main([*argv, str(tmp_path / "c{seed}")]) == 0
    for w, c in zip(whole, cut, strict=True):
        assert (c / "records.csv").read_bytes() == w.read_bytes()


def test_packed_groups_cli_writes_each_seeds_group_records_and_a_manifest(tmp_path):
    """`nas train-packed --groups` (the workflow's seed-packed jobs): each seed's records.csv
    holds its groups in order, as `nas train --groups` writes them, up to the tolerance."""
    cfg = tiny_config(sharing="groups", m=16, grouping="random", epochs=1, dense_last=2)
    sets = [f"--set={k}={'null' if v is None else v}" for k, v in dataclasses.asdict(cfg).items()]
    sets = [s for s in sets if not s.startswith("--set=ops=")]
    manifest = tmp_path / "pack.csv"
    argv = ["train-packed", *sets, "--init-seeds", "3-4", "--groups", "5-6"]
    argv += ["--out-template", str(tmp_path / "init{seed}"), "--manifest", str(manifest)]
    assert main(argv) == 0
    assert manifest.read_text().splitlines() == [
        "init_seed,records",
        f"3,{tmp_path / 'init3' / 'records.csv'}",
        f"4,{tmp_path / 'init4' / 'records.csv'}",
    ]
    single = tmp_path / "single"
    assert main(["train", *sets, "--set=init_seed=4", "--groups", "5-6", "--out", str(single)]) == 0
    _compare(tmp_path / "init4" / "records.csv", single / "records.csv")
    packed = read_records(tmp_path / "init4" / "records.csv")
    assert packed.child.nunique() == 2 * 4  # two groups of 4 children each
