"""Full sharing (paper Section 3): every child of the space in one super-net, every weight
shared."""

from __future__ import annotations


class ShareAll:
    def run_children(self, cfg) -> list[str]:
        return cfg.space.children

    def shared_cells(self, cfg) -> int:
        return cfg.n_cells

    def classifier_shared(self, cfg) -> bool:
        return True
