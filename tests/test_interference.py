"""Groupings from measured interference: the signals on inputs whose answer is known, and the
balanced partition's balance, optimality on planted groups and determinism."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import tiny_config

from nas.cli import main
from nas.core import similarity
from nas.core.config import ConfigError
from nas.measure import interference
from nas.run.train import run_training

CHILDREN = [f"{a}{b}{c}" for a, b, c in itertools.product("1234", repeat=3)]


def _planted(m: int, seed: int = 0, noise: float = 0.3) -> tuple[pd.DataFrame, list[list[str]]]:
    """A similarity with m planted groups (a seeded shuffle of the children): 1 within a
    group, 0 across, plus symmetric noise smaller than the gap."""
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(CHILDREN))
    size = len(CHILDREN) // m
    groups = [sorted(order[i : i + size]) for i in range(0, len(order), size)]
    label = {c: g for g, group in enumerate(groups) for c in group}
    s = np.array([[float(label[a] == label[b]) for b in CHILDREN] for a in CHILDREN])
    e = rng.uniform(-noise, noise, s.shape)
    return pd.DataFrame(s + (e + e.T) / 2, index=CHILDREN, columns=CHILDREN), sorted(groups)


@pytest.mark.parametrize("m", [2, 4, 8, 16, 32])
def test_partition_is_balanced_and_recovers_planted_groups(m):
    sim, planted = _planted(m, seed=m)
    groups = similarity.balanced_partition(sim, m)
    assert len(groups) == m and {len(g) for g in groups} == {64 // m}
    assert sorted(c for g in groups for c in g) == CHILDREN
    assert groups == planted


def test_partition_is_deterministic_whatever_the_row_order():
    sim, _ = _planted(8, seed=3, noise=1.5)  # noisy: many near-ties
    once = similarity.balanced_partition(sim, 8)
    shuffled = sim.sample(frac=1.0, random_state=1)
    shuffled = shuffled[list(shuffled.index)]
    assert similarity.balanced_partition(sim, 8) == once
    assert similarity.balanced_partition(shuffled, 8) == once


def test_local_search_only_improves_the_greedy_start():
    sim, _ = _planted(4, seed=5, noise=2.0)
    s = sim.to_numpy(copy=True)
    np.fill_diagonal(s, 0)
    greedy = similarity._greedy_groups(s, 16)
    better = similarity._improve_by_swaps(s, greedy, 4)

    def score(label):
        return sum(s[i, j] for i in range(64) for j in range(64) if label[i] == label[j])

    assert sorted(np.bincount(better)) == [16] * 4
    assert score(better) >= score(greedy)
    groups = similarity.balanced_partition(sim, 4)
    lexicographic = [CHILDREN[i : i + 16] for i in range(0, 64, 16)]
    assert similarity.within_similarity(sim, groups) > similarity.within_similarity(
        sim, lexicographic
    )


def test_partition_refuses_an_m_that_does_not_divide_the_children():
    with pytest.raises(ValueError, match="divisor"):
        similarity.balanced_partition(_planted(2)[0], 3)


def _snapshot_records(changes: dict[str, list[float]], epoch: int = 2) -> pd.DataFrame:
    rows = []
    for child, deltas in changes.items():
        acc = 0.5
        for i, d in enumerate([0.0, *deltas]):
            acc += d
            rows.append(("snapshot", epoch, 10 + i, "111", child, acc, 0.0))
    cols = ["point_kind", "epoch", "step", "trained_child", "child", "accuracy", "loss"]
    return pd.DataFrame(rows, columns=cols)


def test_correlation_reads_changes_not_levels():
    """b moves as a does (shifted up: the same changes), c against it, d never changes."""
    up = [0.01, -0.02, 0.03, -0.01]
    records = _snapshot_records(
        {"a": up, "b": [x + 0.0 for x in up], "c": [-x for x in up], "d": [0.0] * 4}
    )
    records.loc[records.child == "b", "accuracy"] += 0.2
    corr = similarity.correlation_similarity(records, 2)
    assert corr.loc["a", "b"] == pytest.approx(1.0)
    assert corr.loc["a", "c"] == pytest.approx(-1.0)
    assert corr.loc["a", "d"] == 0.0 and corr.loc["d", "d"] == 1.0
    with pytest.raises(ConfigError, match="at least 3"):
        similarity.correlation_similarity(records[records.step < 12], 2)


def test_gradient_similarity_is_a_cosine_matrix_and_leaves_the_snapshot(tmp_path):
    cfg = tiny_config(epochs=2, snapshot_epochs=[1], eval_epochs="last")
    run_training(cfg, tmp_path / "run")
    snapshot = tmp_path / "run" / "snapshots" / "epoch_1.pt"
    before = snapshot.read_bytes()
    sim = interference.gradient_similarity(snapshot, batches=2)
    assert list(sim.index) == list(sim.columns) == CHILDREN
    values = sim.to_numpy()
    assert np.allclose(values, values.T, atol=1e-5) and np.allclose(np.diag(values), 1, atol=1e-5)
    assert (np.abs(values) <= 1 + 1e-5).all() and values.std() > 0.01
    assert snapshot.read_bytes() == before
    again = interference.gradient_similarity(snapshot, batches=2)
    assert torch.equal(torch.tensor(again.to_numpy()), torch.tensor(values))


def test_files_round_trip_and_the_cli_partitions_them(tmp_path, capsys):
    sim, planted = _planted(4, seed=9)
    similarity.write_similarity(sim, tmp_path / "sim.csv")
    back = similarity.read_similarity(tmp_path / "sim.csv")
    assert np.allclose(back.loc[CHILDREN, CHILDREN].to_numpy(), sim.to_numpy())
    assert main(["partition", "--similarity", str(tmp_path / "sim.csv"), "--m", "4",
                 "--out", str(tmp_path / "m4.csv")]) == 0  # fmt: skip
    assert similarity.read_partition(tmp_path / "m4.csv") == planted
    assert "m=4: mean similarity within groups" in capsys.readouterr().out
    text = similarity.partition_text(planted)
    cfg = tiny_config(sharing="groups", m=4, grouping="gradient", partition=text, group=1)
    assert cfg.run_children() == planted[1]
    (tmp_path / "bad.csv").write_text("child_a,similarity\n111,1\n")
    assert main(["partition", "--similarity", str(tmp_path / "bad.csv"), "--m", "4",
                 "--out", str(tmp_path / "x.csv")]) == 2  # fmt: skip
