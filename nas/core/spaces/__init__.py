"""Search spaces, one module per space; SPACES is the registry (run config key
`search_space`). Adding a space is a module defining a `CellSpace` and one line here; its
ops must exist in nas.model.ops and its skeleton in nas.model.skeletons (tests check both).
"""

from __future__ import annotations

from nas.core.spaces.base import CellSpace
from nas.core.spaces.darts import PAPER_OPS, Darts
from nas.core.spaces.nasbench201 import NasBench201

SPACES: dict[str, type[CellSpace]] = {
    "darts": Darts,
    "nasbench201": NasBench201,
}


def make_space(name: str, n_nodes: int, ops: tuple[str, ...] | list[str]) -> CellSpace:
    """The space `name` with these nodes and ops (ValueError naming what is wrong)."""
    if name not in SPACES:
        raise ValueError(f"unknown search space {name!r}; known: {list(SPACES)}")
    return SPACES[name](n_nodes, tuple(ops))


__all__ = ["PAPER_OPS", "SPACES", "CellSpace", "Darts", "NasBench201", "make_space"]
