"""What every search space is: a cell of densely connected nodes with one op per edge.

A space names its children, the ops on their edges, how a cell combines its nodes, and the
skeleton of the network around the cells (nas.model.skeletons builds it). Everything
downstream (run configs, the super-net, the engines, groupings, the plan) asks the space.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class CellSpace:
    """A cell of `n_nodes` nodes after its input; node j sums one op of each earlier node.

    A child is named by one digit per edge (1-based op index), edges ordered by target node
    then source node: for 2 nodes, (0,1), (0,2), (1,2). Subclasses say which ops exist, how
    the cell's output is formed and which skeleton holds the cells.
    """

    n_nodes: int
    ops: tuple[str, ...]

    name: ClassVar[str] = ""
    known_ops: ClassVar[tuple[str, ...]] = ()
    # "concat": the cell's output concatenates its nodes (DARTS); "last": it is the last node
    cell_output: ClassVar[str] = "concat"
    # the network around the cells (nas.model.skeletons.SKELETONS)
    skeleton: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if self.n_nodes < 1:
            raise ValueError(f"n_nodes must be >= 1, got {self.n_nodes}")
        if not 1 <= len(self.ops) <= 9:
            raise ValueError(f"the space needs 1..9 ops (one digit each), got {len(self.ops)}")
        unknown = [op for op in self.ops if op not in self.known_ops]
        if unknown:
            raise ValueError(
                f"unknown op(s) {unknown} in the {self.name} space; known ops: "
                f"{sorted(self.known_ops)}"
            )

    @property
    def edges(self) -> list[tuple[int, int]]:
        return [(i, j) for j in range(1, self.n_nodes + 1) for i in range(j)]

    @property
    def n_children(self) -> int:
        return len(self.ops) ** len(self.edges)

    @property
    def children(self) -> list[str]:
        """All child names in lexicographic order."""
        digits = [str(d) for d in range(1, len(self.ops) + 1)]
        return ["".join(p) for p in itertools.product(digits, repeat=len(self.edges))]

    def check_child(self, child: str) -> None:
        if len(child) != len(self.edges) or any(
            not c.isdigit() or not 1 <= int(c) <= len(self.ops) for c in child
        ):
            raise ValueError(
                f"child {child!r} is not in the space: want {len(self.edges)} digits in "
                f"1..{len(self.ops)}"
            )

    def child_ops(self, child: str) -> list[str]:
        """The op name on each edge (in `edges` order) for a child."""
        self.check_child(child)
        return [self.ops[int(c) - 1] for c in child]

    def check_network(self, n_cells: int, stem_channels: int, cell_channels: int) -> None:
        """ValueError (naming the key) if the skeleton cannot be built with these sizes."""

    def cell_width(self, cell_channels: int) -> int:
        """Channels of a cell's output, given the channels of its nodes."""
        return cell_channels * self.n_nodes if self.cell_output == "concat" else cell_channels
