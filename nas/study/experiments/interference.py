"""Groupings from measured interference (beyond the paper): the partitions read the first
"different seeds" instance's snapshot and the mini-batches evaluated before it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.study.experiments.base import Files, Instances, Measurement

if TYPE_CHECKING:
    from nas.study.plan import Study


class Interference(Measurement):
    """Measured partitions read the first "different seeds" instance (its snapshot and the
    mini-batches evaluated before it); the groups they make are rows of Groups."""

    name = "interference"

    def instances(self, study: Study) -> dict[tuple, Instances]:
        return {(): [[study.reference_run()]]}

    def files(self, study: Study) -> Files:
        return {}
