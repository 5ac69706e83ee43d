"""What an experiment is: a config switch, the runs it plans, and the run sets it hands on.

An experiment asks the planner (nas.study.plan.Study) for its runs; the planner knows how a
run of each kind is made (its path, its overrides), the experiment knows which runs it wants.
The same calls answer paths once the study is planned, so `instances` both plans and reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nas.core.runset import RunSet
from nas.study.paths import records

if TYPE_CHECKING:
    from nas.study.plan import Study

Instances = list[list[str]]  # instance -> the run paths (or files) that together form it
Files = dict[RunSet, Instances]


class Experiment:
    """Defaults for an experiment; a module overrides what differs.

    name: its switch, the config section experiments.<name>.
    sets: the experiment name of its run sets (the first; a family's row in the trade-off
    table is the second).
    fields: the names and types of its run sets' key, in label order.
    """

    name: str = ""
    sets: tuple[str, ...] = ()
    fields: tuple[tuple[str, type], ...] = ()
    reader: str = "records"

    def enabled(self, study: Study) -> bool:
        return study.enabled(self.name)

    def instances(self, study: Study) -> dict[tuple, Instances]:
        """Run paths of each instance, by key (the values of `fields`)."""
        raise NotImplementedError

    def plan(self, study: Study) -> None:
        """Register its jobs (called once, while the study is planned, when enabled)."""
        self.instances(study)

    def run_set(self, *values: Any, experiment: str = "") -> RunSet:
        """Its run set at these key values, each of its field's type."""
        if len(values) != len(self.fields):
            names = [n for n, _ in self.fields]
            raise ValueError(f"{self.name}: a run set's key is {names}, got {list(values)}")
        key = tuple((name, kind(v)) for (name, kind), v in zip(self.fields, values, strict=True))
        return RunSet(experiment or self.sets[0], key, self.reader)

    def files(self, study: Study) -> Files:
        """Each run set's instances as files under results/ (records, by default)."""
        return {
            self.run_set(*key): [records(inst) for inst in insts]
            for key, insts in self.instances(study).items()
        }

    def jobs(self, study: Study) -> dict[str, list[str]]:
        """Job paths per row of the plan (nas.study.cost.summary): one row per key."""
        return {
            "_".join([self.name, *self.job_key(key)]): study.job_paths(insts)
            for key, insts in self.instances(study).items()
        }

    def job_key(self, key: tuple) -> list[str]:
        return [str(v) for v in key]

    def tradeoff(self, study: Study) -> Files:
        """Rows of the trade-off table (nas.analysis.tradeoff): none unless it is a sharing
        strategy a researcher could pick for a budget."""
        return {}


class Measurement(Experiment):
    """A measurement of the "different seeds" instances: no training rows of its own."""

    def instances(self, study: Study) -> dict[tuple, Instances]:
        return {(): [[p] for p in study.seed_instances()]}

    def jobs(self, study: Study) -> dict[str, list[str]]:
        return {}
