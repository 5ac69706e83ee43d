"""Figure 7's long share-all run (Section 4.4): only its last mini-batches are read, so it
evaluates those and its final epoch, not every one of its epochs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.study.experiments.base import Experiment, Instances

if TYPE_CHECKING:
    from nas.study.plan import Study


class Long(Experiment):
    """Figure 7: share-all runs of experiments.long.epochs, one per seed (paired with the
    "different seeds" instance of that seed)."""

    name = "long"
    sets = ("long",)

    def runs(self, study: Study) -> list[str]:
        epochs = int(study.exp["long"]["epochs"])
        return [
            study.share("fixed", s, 0, epochs=epochs, tag="long", eval_epochs="last")
            for s in range(study.ablation_seeds("long"))
        ]

    def instances(self, study: Study) -> dict[tuple, Instances]:
        return {(): [[p] for p in self.runs(study)]}

    def jobs(self, study: Study) -> dict[str, list[str]]:
        return {self.name: self.runs(study)}
