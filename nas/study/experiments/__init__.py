"""The study's experiments, each one module and one line here.

An experiment (nas.study.experiments.base.Experiment) names its config switch, asks the
planner for its runs, and hands its run sets (nas.core.runset.RunSet) to the products, the
findings and the trade-off table, typed when the study is planned. The planner, the plan's
rows, the catalog's inputs and the findings all iterate this registry; adding an experiment
is a module and a line below (docs/extending.md). Order: the plan's rows (results/plan.csv).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.core.runset import RunSet
from nas.study.experiments.base import Experiment, Files
from nas.study.experiments.equal_compute import EqualCompute
from nas.study.experiments.family import FAMILIES, SHARE_ALL, Family
from nas.study.experiments.finetune import Finetune
from nas.study.experiments.ground_truth import GroundTruth
from nas.study.experiments.groups import Groups
from nas.study.experiments.interference import Interference
from nas.study.experiments.long import Long
from nas.study.experiments.momentum import Momentum
from nas.study.experiments.prefix import Prefix
from nas.study.experiments.recalibration import Recalibration
from nas.study.experiments.strategies import Strategies
from nas.study.experiments.telemetry import Telemetry
from nas.study.experiments.warm_start import WarmStart

if TYPE_CHECKING:
    from nas.study.plan import Study

EXPERIMENTS: dict[str, Experiment] = {
    "different_seeds": Family("different_seeds"),
    "different_orders": Family("different_orders"),
    "different_orders_shuffle": Family("different_orders_shuffle"),
    "ground_truth": GroundTruth(),
    "groups": Groups(),
    "prefix": Prefix(),
    "finetune": Finetune(),
    "long": Long(),
    "bn_momentum": Momentum("bn_momentum", "bn", tag="bn", run_key="bn_momentum"),
    "sgd_momentum": Momentum("sgd_momentum", "sgd", tag="mom", run_key="momentum"),
    "strategies": Strategies(),
    "warm_start": WarmStart(),
    "equal_compute": EqualCompute(),
    "interference": Interference(),
    "bn_recalibration": Recalibration(),
    "telemetry": Telemetry(),
}

__all__ = ["EXPERIMENTS", "FAMILIES", "SHARE_ALL", "Experiment", "Files", "RunSet"]


def enabled(study: Study) -> list[Experiment]:
    """The experiments this study runs, in registry order."""
    return [e for e in EXPERIMENTS.values() if e.enabled(study)]


def run_sets(study: Study) -> Files:
    """Every enabled experiment's run sets (the findings and the in-text numbers read them)."""
    return {s: files for e in enabled(study) for s, files in e.files(study).items()}


def tradeoff_sets(study: Study) -> Files:
    """Every strategy a budget could pick, as rows of the trade-off table."""
    return {s: files for e in enabled(study) for s, files in e.tradeoff(study).items()}


def paths(study: Study, family: str) -> list[str]:
    """The run paths of a share-all family's instances, in seed order."""
    experiment = EXPERIMENTS[family]
    assert isinstance(experiment, Family), family
    return experiment.paths(study)
