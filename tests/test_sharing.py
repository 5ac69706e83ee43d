"""Sharing strategies as a registry: the run config, the super-net and the plan's cost model
ask the strategy, so a new one is a class and a registry line (here a toy one)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from nas.core import sharing
from nas.core.config import ConfigError
from nas.core.records import read_records
from nas.model.supernet import build_supernet
from nas.run.train import run_training
from tests.conftest import copy_repo, tiny_config, toy_workflow


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


TOY_MODULE = '''"""Toy strategy: only the children whose first edge is max pooling."""


class MaxPoolFirst:
    def run_children(self, cfg):
        return [c for c in cfg.space.children if c[0] == "1"]

    def shared_cells(self, cfg):
        return 1

    def classifier_shared(self, cfg):
        return False
'''


def _add_toy_strategy(repo: Path) -> None:
    """A new strategy as the README says: its module, and its line in STRATEGIES (with the
    import beside the others)."""
    (repo / "nas/core/sharing/max_pool_first.py").write_text(TOY_MODULE)
    init = repo / "nas/core/sharing/__init__.py"
    text = init.read_text()
    imports, entry = "from nas.core.sharing.groups import Groups\n", '    "prefix": Prefix(),\n'
    assert imports in text and entry in text
    text = text.replace(
        imports, imports + "from nas.core.sharing.max_pool_first import MaxPoolFirst\n"
    )
    init.write_text(text.replace(entry, entry + '    "toy": MaxPoolFirst(),\n'))


def test_the_workflow_plans_and_tabulates_a_new_strategy_from_config(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    _add_toy_strategy(repo)
    extra = tmp_path / "toy.yaml"
    extra.write_text(
        yaml.safe_dump(
            {
                "ground_truth": "paper",  # the published Table 5: no children to train here
                "experiments": {"strategies": [{"name": "toy", "sharing": "toy"}]},
            }
        )
    )
    target = "results/tables/strategies.csv"
    snakemake = toy_workflow(repo, extra, target)

    plan = snakemake("-n", "-p")
    toy_jobs = set(re.findall(r"results/runs/strategy/toy/e2/init(\d)/records.csv", plan))
    assert toy_jobs == {"0", "1"}  # tiny.yaml: 2 instances
    assert "--set sharing=toy" in plan and "train_strategy" in plan
    snakemake()
    table = pd.read_csv(repo / target)
    assert list(table.strategy) == ["share-all", "toy"]
    assert list(table.children) == [64, 16] and list(table.n) == [2, 2]
    assert table.gt_tau_mean64.between(-1, 1).all() and table.acc_mean.between(0, 1).all()


def test_a_strategy_the_registry_lacks_stops_the_plan_naming_it(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    extra = tmp_path / "toy.yaml"
    extra.write_text(
        yaml.safe_dump({"experiments": {"strategies": [{"name": "toy", "sharing": "toy"}]}})
    )
    out = subprocess.run(
        ["snakemake", "-n", "--configfile", "config/quick.yaml", str(extra), "--cores", "1"],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    text = out.stdout + out.stderr
    assert out.returncode != 0 and "experiments.strategies" in text and "'sharing'" in text
    assert "Job stats" not in text
