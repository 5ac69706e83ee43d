"""BN recalibration (beyond the paper): every child evaluated from each "different seeds"
instance's final weights after its BN statistics are recomputed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.study.experiments.base import Files, Measurement
from nas.study.paths import recalibration_file

if TYPE_CHECKING:
    from nas.study.plan import Study


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
