"""Groups at share-all's total steps (beyond the paper): each of m groups trains on 1/m of
every epoch's mini-batches, so the groups together cost about one share-all run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.study.experiments.base import Instances
from nas.study.experiments.groups import GroupSets, sweep

if TYPE_CHECKING:
    from nas.study.plan import Study


class EqualCompute(GroupSets):
    name = "equal_compute"
    sets = ("equal",)

    def instances(self, study: Study) -> dict[tuple, Instances]:
        return sweep(study, self.name, study.equal_instance)
