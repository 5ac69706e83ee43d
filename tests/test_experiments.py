"""The experiment registry: the planner, the plan's rows, the catalog and the findings read
every experiment from it, so a new one is a module and a registry line (here a toy one)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from nas.core.runset import RunSet
from nas.study import catalog, experiments
from nas.study.cost import Cost
from nas.study.experiments import EXPERIMENTS
from nas.study.plan import Study
from tests.conftest import ROOT, copy_repo, toy_workflow

FULL = yaml.safe_load((ROOT / "config/config.yaml").read_text())

TOY_MODULE = '''"""Toy experiment: share-all at half the learning rate, a trade-off row."""

from nas.core.config import from_dict
from nas.core.runset import RunSet
from nas.study.experiments.base import Experiment
from nas.study.paths import each


class HalfLr(Experiment):
    name = "half_lr"
    sets = ("half_lr",)

    def enabled(self, study):
        return True  # no config section: always on

    def runs(self, study):
        lr = from_dict(dict(study.base)).lr / 2
        return [study.share("fixed", s, 0, tag="halflr", lr=lr) for s in range(study.n)]

    def instances(self, study):
        return {(): [[p] for p in self.runs(study)]}

    def tradeoff(self, study):
        return {RunSet("half_lr"): each(self.runs(study))}
'''


def test_the_plan_is_the_registry_s_experiments():
    """Every job belongs to an enabled experiment, and the plan's rows are theirs in
    registry order."""
    study = Study(FULL)
    planned: set[str] = set()
    for experiment in experiments.enabled(study):
        for insts in experiment.instances(study).values():
            planned |= set(study.job_paths(insts))
    figure6 = study.job_paths([study.group_instance("random", study.figure_group_m(), 0)])
    assert planned | set(figure6) == set(study.jobs)
    rows = [r["experiment"] for r in Cost(study).summary()][:-1]
    assert rows == list(study.experiment_jobs())
    assert rows[:4] == ["different_seeds", "different_orders", "different_orders_shuffle"] + [
        "ground_truth"
    ]


def test_run_sets_are_typed_by_the_experiment_that_declares_them():
    study = Study(FULL)
    sets = experiments.run_sets(study)
    groups = RunSet("groups", (("grouping", "random"), ("m", 4)))
    assert groups in sets and groups.label == "groups:random/4" and groups.value == ("random", 4)
    assert RunSet("sgd", (("value", 0.0),)) in sets  # the config's 0 is a float value
    finetune = [s for s in sets if s.experiment == "finetune"]
    assert [s.value for s in finetune] == [100, 200]
    assert all(isinstance(s.get("m"), int) for s in sets if s.experiment in ("groups", "warm"))
    assert {s.reader for s in sets} == {"records", "recalibration"}  # telemetry is off
    with pytest.raises(ValueError, match="a run set's key is"):
        EXPERIMENTS["groups"].run_set("random")
    with pytest.raises(ValueError, match="invalid literal"):
        EXPERIMENTS["groups"].run_set("random", "four")


def test_every_product_reads_only_planned_runs_under_one_label_each():
    study = Study(FULL)
    for product in catalog.enabled(study):
        runs = product.runs(study)
        labels = list(catalog.labelled(runs))
        assert len(labels) == len(set(labels)), product.name


def test_a_registered_toy_experiment_is_planned_and_priced(monkeypatch):
    namespace: dict = {}
    exec(compile(TOY_MODULE, "toy.py", "exec"), namespace)
    monkeypatch.setitem(EXPERIMENTS, "half_lr", namespace["HalfLr"]())
    study = Study(FULL)
    toy = [p for p in study.jobs if "/halflr/" in p]
    assert len(toy) == 10 and all(study.jobs[p].overrides["lr"] == 0.0125 for p in toy)
    assert "half_lr" in {r["experiment"] for r in Cost(study).summary()}
    rows = catalog.tradeoff_runs(study)
    assert RunSet("half_lr") in rows and catalog.tradeoff_hours(study, rows)["half_lr"] > 0


def _add_toy_experiment(repo: Path) -> None:
    """A new experiment as docs/extending.md says: its module, and its line in EXPERIMENTS
    (with the import beside the others)."""
    (repo / "nas/study/experiments/half_lr.py").write_text(TOY_MODULE)
    init = repo / "nas/study/experiments/__init__.py"
    text = init.read_text()
    imports = "from nas.study.experiments.groups import Groups\n"
    entry = '    "telemetry": Telemetry(),\n'
    assert imports in text and entry in text
    text = text.replace(imports, imports + "from nas.study.experiments.half_lr import HalfLr\n")
    init.write_text(text.replace(entry, entry + '    "half_lr": HalfLr(),\n'))


def test_the_workflow_plans_and_tabulates_a_new_experiment(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    _add_toy_experiment(repo)
    extra = tmp_path / "toy.yaml"
    off = {"enabled": False}
    experiments_off = {
        name: off
        for name in ("groups", "prefix", "finetune", "long", "bn_momentum", "sgd_momentum")
    }
    extra.write_text(
        yaml.safe_dump(
            {
                "ground_truth": "paper",  # the published Table 5: no children to train here
                "experiments": {
                    "different_orders": False,
                    "different_orders_shuffle": False,
                    **experiments_off,
                    "warm_start": off,
                    "equal_compute": off,
                    "interference": off,
                    "bn_recalibration": off,
                },
            }
        )
    )
    target = "results/tables/tradeoff.csv"
    snakemake = toy_workflow(repo, extra, target)

    plan = snakemake("-n", "-p")
    toy_jobs = set(re.findall(r"results/runs/share/e2/fixed/halflr/init(\d)_ord0/records", plan))
    assert toy_jobs == {"0", "1"}  # tiny.yaml: 2 instances
    assert "--set lr=0.0125" in plan
    snakemake()
    table = pd.read_csv(repo / target).set_index("strategy")
    assert set(table.index) == {"share-all", "half_lr"} and list(table.n) == [2, 2]
    assert table.loc["half_lr", "kind"] == "half_lr" and table.device_hours.gt(0).all()
    assert table.gt_tau_mean.between(-1, 1).all()
