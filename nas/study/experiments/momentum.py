"""Figures 8-9's momentum ablations (Section 4.4): share-all runs at each BN momentum or
each SGD momentum, one per seed; read, and so evaluated, as the long run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nas.study.experiments.base import Experiment, Instances

if TYPE_CHECKING:
    from nas.study.plan import Study


class Momentum(Experiment):
    """Runs at each value of a momentum (Figure 8: BN, Figure 9: SGD), one per seed."""

    fields = (("value", float),)

    def __init__(self, name: str, label: str, tag: str, run_key: str) -> None:
        self.name, self.sets, self.tag, self.run_key = name, (label,), tag, run_key

    def runs(self, study: Study) -> dict[Any, list[str]]:
        """Each value's runs (the value as the config spells it names the runs' folders)."""
        return {
            v: [
                study.share(
                    "fixed", s, 0, tag=f"{self.tag}{v}", eval_epochs="last", **{self.run_key: v}
                )
                for s in range(study.ablation_seeds(self.name))
            ]
            for v in study.exp[self.name]["values"]
        }

    def instances(self, study: Study) -> dict[tuple, Instances]:
        return {(v,): [[p] for p in paths] for v, paths in self.runs(study).items()}

    def jobs(self, study: Study) -> dict[str, list[str]]:
        return {self.name: [p for paths in self.runs(study).values() for p in paths]}
