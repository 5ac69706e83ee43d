"""The ground truth: every child trained alone, once per seed (config ground_truth: trained)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.study.experiments.base import Experiment, Instances

if TYPE_CHECKING:
    from nas.study.plan import Study


class GroundTruth(Experiment):
    name = "ground_truth"
    sets = ("ground_truth",)

    def enabled(self, study: Study) -> bool:
        return study.trained_gt()  # not the paper's published Table 5

    def instances(self, study: Study) -> dict[tuple, Instances]:
        return {(): [study.alone_instance(s) for s in range(study.gt_seeds())]}

    def jobs(self, study: Study) -> dict[str, list[str]]:
        return {self.name: study.job_paths(self.instances(study)[()])}
