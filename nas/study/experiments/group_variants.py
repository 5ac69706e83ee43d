"""Group sharing's variants beyond the paper: groups warm-started from a share-all snapshot
(few-shot NAS) and groups at share-all's total steps (equal compute)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.study.experiments.base import Instances
from nas.study.experiments.groups import Groups

if TYPE_CHECKING:
    from nas.study.plan import Study


class WarmStart(Groups):
    name = "warm_start"
    sets = ("warm",)

    def instances(self, study: Study) -> dict[tuple, Instances]:
        return _sweep(study, self.name, study.warm_instance)

    def plan(self, study: Study) -> None:
        self.instances(study)


class EqualCompute(Groups):
    name = "equal_compute"
    sets = ("equal",)

    def instances(self, study: Study) -> dict[tuple, Instances]:
        return _sweep(study, self.name, study.equal_instance)

    def plan(self, study: Study) -> None:
        self.instances(study)


def _sweep(study: Study, name: str, instance) -> dict[tuple, Instances]:
    """Instances by (grouping, m) over a section's groupings and m."""
    section = study.exp[name]
    return {
        (grouping, int(m)): [instance(grouping, int(m), i) for i in range(study.n)]
        for grouping in section["grouping"]
        for m in section["m"]
    }
