"""Tables 1-2's share-all families: instances that differ in their init seed or child order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.core.runset import RunSet
from nas.study.experiments.base import Experiment, Files, Instances
from nas.study.paths import each

if TYPE_CHECKING:
    from nas.study.plan import Study

FAMILIES = {  # family -> (child order, which seed varies)
    "different_seeds": ("fixed", "init"),
    "different_orders": ("shuffled", "order"),
    "different_orders_shuffle": ("reshuffled", "order"),
}
SHARE_ALL = "share-all"  # the "different seeds" family as a row of the trade-off table


class Family(Experiment):
    """Share-all instances of one family (experiments.<name>, a toggle)."""

    sets = ("family", SHARE_ALL)
    fields = (("name", str),)

    def __init__(self, name: str) -> None:
        self.name = name
        self.order, self.varies = FAMILIES[name]

    def paths(self, study: Study) -> list[str]:
        """Its instances' run paths (one share-all run each), in seed order."""
        init, order = self.varies == "init", self.varies == "order"
        return [
            study.share(self.order, i if init else 0, i if order else 0) for i in range(study.n)
        ]

    def instances(self, study: Study) -> dict[tuple, Instances]:
        return {(self.name,): [[p] for p in self.paths(study)]}

    def jobs(self, study: Study) -> dict[str, list[str]]:
        return {self.name: self.paths(study)}

    def tradeoff(self, study: Study) -> Files:
        """Share-all's row: the "different seeds" family."""
        if self.name != "different_seeds":
            return {}
        return {RunSet(SHARE_ALL): each(self.paths(study))}
