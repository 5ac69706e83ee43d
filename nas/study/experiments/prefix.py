"""Prefix sharing (Tables 3b-4): the first k cells shared, the rest each child's own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.study.experiments.base import Experiment, Files, Instances

if TYPE_CHECKING:
    from nas.study.plan import Study


class Prefix(Experiment):
    name = "prefix"
    sets = ("prefix",)
    fields = (("epochs", int), ("k", int))

    def instances(self, study: Study) -> dict[tuple, Instances]:
        p = study.exp["prefix"]
        return {
            (e, k): [[study.prefix(e, k, i)] for i in range(study.n)]
            for e in p["epochs"]
            for k in p["k"]
        }

    def job_key(self, key: tuple) -> list[str]:
        epochs, k = key
        return [f"e{epochs}", f"k{k}"]

    def tradeoff(self, study: Study) -> Files:
        return self.files(study)
