"""Prefix sharing (paper Section 4.3): the stem and the first k cells (config key k) are
shared by all children; later cells and the classifier exist once per child (with k equal to
the number of cells, only the classifier is a child's own, as in the paper). Each child holds
its own copies, so in a sampled space (config eval_sample) it trains the sample only."""

from __future__ import annotations


class Prefix:
    def run_children(self, cfg) -> list[str]:
        return cfg.sample()

    def shared_cells(self, cfg) -> int:
        return cfg.k

    def classifier_shared(self, cfg) -> bool:
        return False
