"""Measurements of share-all runs beyond the paper: measured interference (the snapshot
partitions read), BN recalibration and interference telemetry. They add no training rows
to the plan: they read the "different seeds" instances."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nas.core.runset import RunSet
from nas.study.experiments.base import Experiment, Files, Instances
from nas.study.paths import each, recalibration_file, telemetry_file

if TYPE_CHECKING:
    from nas.study.plan import Study


class Measurement(Experiment):
    def instances(self, study: Study) -> dict[tuple, Instances]:
        return {(): [[p] for p in study.seed_instances()]}

    def jobs(self, study: Study) -> dict[str, list[str]]:
        return {}


class Interference(Measurement):
    """Measured partitions read the first "different seeds" instance (its snapshot and the
    mini-batches evaluated before it); the groups they make are rows of Groups."""

    name = "interference"

    def instances(self, study: Study) -> dict[tuple, Instances]:
        return {(): [[study.reference_run()]]}

    def files(self, study: Study) -> Files:
        return {}


class Recalibration(Measurement):
    """Every child evaluated from each "different seeds" instance's final weights after its
    BN statistics are recomputed."""

    name = "bn_recalibration"
    sets = ("recalibration",)
    reader = "recalibration"

    def enabled(self, study: Study) -> bool:
        return bool(study.recalibration_batches())

    def files(self, study: Study) -> Files:
        return {self.run_set(): [[recalibration_file(p)] for p in study.seed_instances()]}


class Telemetry(Measurement):
    """Gradient cosines between children on each "different seeds" instance's last
    mini-batches: their records and their telemetry."""

    name = "telemetry"
    sets = ("telemetry",)
    fields = (("part", str),)

    def run_set(self, *values: Any, experiment: str = "") -> RunSet:
        plain = super().run_set(*values, experiment=experiment)
        if plain.get("part") not in ("records", "telemetry"):
            raise ValueError(f"telemetry: a part is records or telemetry, got {values}")
        reader = "telemetry" if plain.get("part") == "telemetry" else "records"
        return RunSet(plain.experiment, plain.key, reader)

    def files(self, study: Study) -> Files:
        paths = study.seed_instances()
        return {
            self.run_set("records"): each(paths),
            self.run_set("telemetry"): [[telemetry_file(p)] for p in paths],
        }
