"""Groups warm-started from a share-all snapshot (few-shot NAS's warm start, beyond the
paper): m groups begin as copies of a "different seeds" instance at the warm epoch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.study.experiments.base import Instances
from nas.study.experiments.groups import GroupSets, sweep

if TYPE_CHECKING:
    from nas.study.plan import Study


class WarmStart(GroupSets):
    name = "warm_start"
    sets = ("warm",)

    def instances(self, study: Study) -> dict[tuple, Instances]:
        return sweep(study, self.name, study.warm_instance)
