"""NAS-Bench-201's space: a cell of 3 nodes over 5 ops (15,625 children), its output the
last node, in NAS-Bench-201's skeleton (a 3x3 stem, three stages of cells joined by residual
reduction blocks, BN-ReLU, pooling, a classifier).

A child's digits are NAS-Bench-201's op indices plus one, edge by edge in its arch-string
order, which is `edges` for 3 nodes (nas.core.nasbench201 reads its published table by that
key), so every child maps one-to-one to a NAS-Bench-201 cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from nas.core.spaces.base import CellSpace

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# NAS-Bench-201's edge order (source, target): its arch strings' and this space's `edges`
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


@dataclass(frozen=True)
class NasBench201(CellSpace):
    n_nodes: int = 3
    ops: tuple[str, ...] = OPS

    name: ClassVar[str] = "nasbench201"
    known_ops: ClassVar[tuple[str, ...]] = OPS
    cell_output: ClassVar[str] = "last"
    skeleton: ClassVar[str] = "nasbench201"

    def __post_init__(self) -> None:
        if self.n_nodes != 3 or tuple(self.ops) != OPS:
            raise ValueError(
                f"the nasbench201 space is NAS-Bench-201's cell: n_nodes 3 and ops "
                f"{list(OPS)} in that order (its children are the benchmark's cells), "
                f"got n_nodes {self.n_nodes} and ops {list(self.ops)}"
            )
        super().__post_init__()

    def check_network(self, n_cells: int, stem_channels: int, cell_channels: int) -> None:
        if n_cells % 3:
            raise ValueError(
                f"n_cells: three stages of equal length, a multiple of 3, got {n_cells}"
            )
        if stem_channels != cell_channels:
            raise ValueError(
                f"stem_channels: the stem feeds the first cell directly, so equal to "
                f"cell_channels ({cell_channels}), got {stem_channels}"
            )

    def benchmark_key(self, child: str) -> str:
        """The NAS-Bench-201 key (six op indices) of a child."""
        self.check_child(child)
        return "".join(str(int(c) - 1) for c in child)
