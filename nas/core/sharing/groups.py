"""Group sharing (paper Section 4.2): the children are split into m groups (config keys m,
grouping, partition_seed); one run trains group `group` as its own fully shared super-net.
m = the number of children is each child trained alone (the ground truth). A measured grouping
(nas.measure.interference) brings its partition in the run config (key `partition`). With
group_sample the groups split the space's sample (eval_sample) instead: m = the sample's size
trains each sampled child alone, the ground truth of a large space."""

from __future__ import annotations

from nas.core.searchspace import parse_partition, partition


class Groups:
    def run_children(self, cfg) -> list[str]:
        if cfg.partition:
            return sorted(parse_partition(cfg.partition)[cfg.group])
        return partition(cfg.grouped_children(), cfg.m, cfg.grouping, cfg.partition_seed)[cfg.group]

    def shared_cells(self, cfg) -> int:
        return cfg.n_cells

    def classifier_shared(self, cfg) -> bool:
        return True
