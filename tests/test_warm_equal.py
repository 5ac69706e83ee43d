"""Issue 12's run-level pieces: the few-shot warm start, the equal-compute control and a
measured partition carried in the run config."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch
from conftest import tiny_config
from test_packed import _compare

from nas.core.config import ConfigError, from_dict, validate
from nas.model.packed import pack_optimizer_state, pack_state, unpack_optimizer_state, unpack_state
from nas.model.supernet import build_supernet
from nas.run.train import make_optimizer, run_training, train_members


def _share_all(tmp_path, **extra):
    cfg = tiny_config(epochs=3, snapshot_epochs=[1], eval_epochs="last", **extra)
    out = tmp_path / "share"
    run_training(cfg, out)
    return cfg, out


def _warm(share_cfg, snapshot: str, **extra):
    values = dataclasses.asdict(share_cfg) | {
        "sharing": "groups",
        "m": 1,
        "grouping": "similar",
        "snapshot_epochs": [],
        "warm_start": snapshot,
        "warm_epoch": 1,
        **extra,
    }
    return from_dict(values)


def test_warm_start_at_m1_continues_the_share_all_run_exactly(tmp_path):
    """One group of every child, warm from the epoch-1 snapshot: the same run as share-all
    from there on, so its records are the share-all run's after epoch 1, byte for byte."""
    cfg, out = _share_all(tmp_path)
    warm = _warm(cfg, str(out / "snapshots" / "epoch_1.pt"))
    run_training(warm, tmp_path / "warm")
    ours = pd.read_csv(tmp_path / "warm" / "records.csv")
    theirs = pd.read_csv(out / "records.csv")
    theirs = theirs[theirs.step > ours.step.min() - 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, theirs)
    assert ours.step.min() > 1 * 14  # digits: 14 mini-batches of 128 per epoch


def test_warm_start_of_packed_seeds_loads_each_seeds_own_snapshot(tmp_path):
    """Two seeds packed, each from its own seed's snapshot ({seed} in the path): the same
    records as each seed warm-started alone (up to packing's rounding)."""
    for seed in (0, 1):
        run_training(
            tiny_config(epochs=3, snapshot_epochs=[1], eval_epochs="last", init_seed=seed),
            tmp_path / f"share{seed}",
        )
    template = str(tmp_path / "share{seed}" / "snapshots" / "epoch_1.pt")
    warm = _warm(tiny_config(epochs=3, eval_epochs="last"), template)
    train_members(warm, [0, 1], [tmp_path / "p0", tmp_path / "p1"])
    for seed in (0, 1):
        run_training(dataclasses.replace(warm, init_seed=seed), tmp_path / f"alone{seed}")
        _compare(tmp_path / f"p{seed}" / "records.csv", tmp_path / f"alone{seed}" / "records.csv")


def test_pack_state_inverts_unpack_state():
    cfgs = [tiny_config(init_seed=s) for s in (0, 1, 2)]
    models = [build_supernet(c, 10) for c in cfgs]
    from nas.model.packed import pack_models

    packed = pack_models(models)
    states = [unpack_state(packed, k) for k in range(3)]
    repacked = pack_state(packed, states)
    for key, t in packed.state_dict().items():
        assert torch.equal(repacked[key], t), key
    x = torch.randn(4, 3, 8, 8)
    opt = make_optimizer(cfgs[0], packed)
    packed(x, "111").sum().backward()
    opt.step()
    singles = [unpack_optimizer_state(packed, opt.state_dict(), k) for k in range(3)]
    again = pack_optimizer_state(packed, singles)
    for i, st in opt.state_dict()["state"].items():
        assert torch.equal(again["state"][i]["momentum_buffer"], st["momentum_buffer"])


def test_warm_start_refuses_a_snapshot_of_another_training(tmp_path):
    cfg, out = _share_all(tmp_path)
    warm = _warm(cfg, str(out / "snapshots" / "epoch_1.pt"), lr=0.05)
    with pytest.raises(ConfigError, match=r"differs in \['lr'\]"):
        run_training(warm, tmp_path / "warm")
    missing = _warm(cfg, str(tmp_path / "nowhere.pt"))
    with pytest.raises(ConfigError, match="no snapshot"):
        run_training(missing, tmp_path / "warm2")


def test_warm_start_needs_its_epoch_and_a_later_window():
    with pytest.raises(ConfigError, match="warm_epoch"):
        tiny_config(epochs=2, warm_start="x.pt", warm_epoch=2)
    with pytest.raises(ConfigError, match="together"):
        tiny_config(epochs=2, warm_start="x.pt")
    with pytest.raises(ConfigError, match="snapshot_epochs"):
        tiny_config(epochs=3, warm_start="x.pt", warm_epoch=2, snapshot_epochs=[1])


@pytest.mark.parametrize("m", [2, 4, 16])
def test_equal_compute_groups_add_up_to_share_alls_steps(tmp_path, m):
    """step_share = m: each group trains ceil(steps per epoch / m) mini-batches an epoch, so
    the m groups together take share-all's steps (rounded up by under m per epoch)."""
    full = tiny_config()
    cfg = validate(dataclasses.replace(full, sharing="groups", m=m, step_share=m))
    n_train = 1797 - 297  # digits: the training images (tests/test_data.py)
    spe = full.steps_per_epoch(n_train)
    assert cfg.steps_per_epoch(n_train) == -(-spe // m)
    assert spe <= m * cfg.steps_per_epoch(n_train) < spe + m


def test_equal_compute_run_trains_its_share_of_the_steps(tmp_path):
    cfg = tiny_config(sharing="groups", m=2, step_share=2, dense_last=2)
    run_training(cfg, tmp_path / "eq")
    records = pd.read_csv(tmp_path / "eq" / "records.csv")
    spe = tiny_config().steps_per_epoch(1500)
    assert records.step.max() == 2 * -(-spe // 2)
    assert sorted(records[records.point_kind == "epoch"].epoch.unique()) == [1, 2]


def test_measured_partition_is_checked_and_names_the_groups():
    children = tiny_config().space.children
    groups = [children[i::4] for i in range(4)]
    text = ";".join(",".join(g) for g in groups)
    cfg = tiny_config(sharing="groups", m=4, grouping="correlation", partition=text, group=2)
    assert cfg.run_children() == sorted(groups[2])
    with pytest.raises(ConfigError, match="equal size"):
        tiny_config(sharing="groups", m=2, grouping="correlation", partition=text)
    with pytest.raises(ConfigError, match="measured grouping"):
        tiny_config(sharing="groups", m=4, grouping="random", partition=text)
    bad = text.replace(children[0], children[1], 1)
    with pytest.raises(ConfigError, match="every child"):
        tiny_config(sharing="groups", m=4, grouping="correlation", partition=bad)
    with pytest.raises(ValueError, match="measured"):
        tiny_config(sharing="groups", m=4, grouping="gradient").run_children()


def test_an_empty_text_override_is_off():
    """`--set warm_start=` (YAML null) switches a text key off, as its default "" does."""
    from nas.core.config import load_config

    cfg = load_config(None, ["dataset=digits", "warm_start=", "partition="])
    assert cfg.warm_start == "" and cfg.partition == "" and cfg.warm_epoch == 0


def test_warm_start_refuses_a_group_of_another_partition_and_takes_its_own(tmp_path):
    """A group's snapshot trained only its children: a run of other children warm-started
    from it would train them from weights that never saw them."""
    group = tiny_config(
        epochs=3, snapshot_epochs=[1], eval_epochs="last", sharing="groups", m=4, group=0
    )
    run_training(group, tmp_path / "g0")
    snapshot = str(tmp_path / "g0" / "snapshots" / "epoch_1.pt")
    other = _warm(group, snapshot, m=2, group=0, grouping="random")
    with pytest.raises(ConfigError, match="never trained children"):
        run_training(other, tmp_path / "other")
    assert not (tmp_path / "other" / "records.csv").exists()
    same = _warm(group, snapshot, m=4, group=0)
    run_training(same, tmp_path / "same")
    assert (tmp_path / "same" / "records.csv").exists()
