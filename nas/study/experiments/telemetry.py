"""Interference telemetry (beyond the paper): gradient cosines between children on each
"different seeds" instance's last mini-batches, beside its records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nas.core.runset import RunSet
from nas.study.experiments.base import Files, Measurement
from nas.study.paths import each, telemetry_file

if TYPE_CHECKING:
    from nas.study.plan import Study


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
