"""Finetuning from snapshots (Section 3.3): every child finetuned alone from a snapshot of
each "different seeds" instance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.study.experiments.base import Experiment, Files, Instances
from nas.study.paths import finetune_file

if TYPE_CHECKING:
    from nas.study.plan import Study


class Finetune(Experiment):
    name = "finetune"
    sets = ("finetune",)
    fields = (("epoch", int),)

    def enabled(self, study: Study) -> bool:
        return bool(study.finetune_epochs())

    def instances(self, study: Study) -> dict[tuple, Instances]:
        """The sources: every "different seeds" instance (the finding's unit)."""
        return {(): [[p] for p in study.seed_instances()]}

    def jobs(self, study: Study) -> dict[str, list[str]]:
        return {"finetune_sources": study.seed_instances()}

    def files(self, study: Study) -> Files:
        sources = range(len(study.seed_instances()))
        return {
            self.run_set(e): [[finetune_file(e, s)] for s in sources]
            for e in study.finetune_epochs()
        }
