"""Extra sharing strategies (experiments.strategies): a strategy registered in
nas.core.sharing, trained `instances` times like share-all, beside it in one table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.core.config import ConfigError
from nas.study.experiments.base import Experiment, Instances

if TYPE_CHECKING:
    from nas.study.plan import Study


class Strategies(Experiment):
    name = "strategies"
    sets = ("strategy",)
    fields = (("name", str),)

    def instances(self, study: Study) -> dict[tuple, Instances]:
        entries = study.exp["strategies"]
        names = [e["name"] for e in entries]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(f"experiments.strategies: names repeat: {twice}")
        return {(e["name"],): [[study.strategy(e, i)] for i in range(study.n)] for e in entries}

    def jobs(self, study: Study) -> dict[str, list[str]]:
        return {
            f"strategy_{name}": study.job_paths(insts)
            for (name,), insts in self.instances(study).items()
        }
