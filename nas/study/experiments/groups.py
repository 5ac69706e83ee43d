"""Group sharing (Table 3a): the children split into m groups, each group one super-net."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas.study.experiments.base import Experiment, Files, Instances

if TYPE_CHECKING:
    from nas.study.plan import Study


class GroupSets(Experiment):
    """Run sets of m groups by (grouping, m): group sharing and its variants."""

    fields = (("grouping", str), ("m", int))

    def job_key(self, key: tuple) -> list[str]:
        grouping, m = key
        return [grouping, f"m{m}"]

    def tradeoff(self, study: Study) -> Files:
        """Rows strictly between share-all (m = 1) and the ground truth (m = all)."""
        return {s: f for s, f in self.files(study).items() if 1 < s.get("m") < study.n_children}


class Groups(GroupSets):
    """experiments.groups' groupings at its m, and with experiments.interference on, the
    measured groupings at that section's m."""

    name = "groups"
    sets = ("groups",)

    def instances(self, study: Study) -> dict[tuple, Instances]:
        g = study.exp["groups"]
        pairs = [(grouping, m) for grouping in g["grouping"] for m in g["m"]]
        if study.enabled("interference"):
            i = study.exp["interference"]
            pairs += [(grouping, m) for grouping in i["grouping"] for m in i["m"]]
        return {
            (grouping, int(m)): [study.group_instance(grouping, int(m), i) for i in range(study.n)]
            for grouping, m in dict.fromkeys(pairs)
        }

    def plan(self, study: Study) -> None:
        self.instances(study)
        study.group_instance("random", study.figure_group_m(), 0)  # Figure 6's, whatever m


def sweep(study: Study, name: str, instance) -> dict[tuple, Instances]:
    """Instances by (grouping, m) over a section's groupings and m."""
    section = study.exp[name]
    return {
        (grouping, int(m)): [instance(grouping, int(m), i) for i in range(study.n)]
        for grouping in section["grouping"]
        for m in section["m"]
    }
