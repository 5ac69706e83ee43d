"""Sharing strategies as a registry: the run config, the super-net and the plan's cost model
ask the strategy, so a new one is a class and a registry line (here a toy one)."""

from __future__ import annotations

import pytest

from nas import sharing
from nas.config import ConfigError
from nas.records import read_records
from nas.supernet import build_supernet
from nas.train import run_training
from tests.conftest import tiny_config


class MaxPoolFirst:
    """Toy: only the children whose first edge is max pooling, the first cell shared, a
    classifier each."""

    def run_children(self, cfg) -> list[str]:
        return [c for c in cfg.space.children if c[0] == "1"]

    def shared_cells(self, cfg) -> int:
        return 1

    def classifier_shared(self, cfg) -> bool:
        return False


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(sharing.STRATEGIES, "toy", MaxPoolFirst())


def test_the_registry_answers_for_every_paper_strategy():
    assert set(sharing.STRATEGIES) == {"all", "groups", "prefix"}
    assert len(tiny_config().run_children()) == 64
    assert len(tiny_config(sharing="groups", m=16, group=3).run_children()) == 4
    prefix = tiny_config(sharing="prefix", k=1)
    assert prefix.shared_cells() == 1 and not prefix.classifier_shared()


def test_an_unregistered_strategy_is_a_config_error():
    with pytest.raises(ConfigError, match="'sharing'"):
        tiny_config(sharing="toy")


def test_a_registered_toy_strategy_builds_and_trains(toy, tmp_path):
    cfg = tiny_config(sharing="toy", epochs=1, dense_last=1)
    assert cfg.run_children() == [c for c in cfg.space.children if c.startswith("1")]
    net = build_supernet(cfg, 10)
    assert len(net.shared_cells) == 1 and set(net.child_cells) == set(cfg.run_children())
    records = read_records(run_training(cfg, tmp_path / "toy", log=lambda *_: None))
    assert set(records.child) == set(cfg.run_children())
