"""The search space: ops, edges, child names and partitions of children into groups."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

PAPER_OPS: tuple[str, ...] = ("max_pool_3x3", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_5x5")
# every op a space may name; nas.model.ops builds each (a test checks the two agree)
OP_NAMES: tuple[str, ...] = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
# measured groupings: a partition from a share-all run's interference (nas.measure.interference),
# which the run config carries (key `partition`); the others follow from the space and a seed
MEASURED_GROUPINGS = ("correlation", "gradient")
GROUPINGS = ("random", "similar", *MEASURED_GROUPINGS)


@dataclass(frozen=True)
class SearchSpace:
    """A DARTS-style cell of `n_nodes` densely connected nodes; one op per edge.

    A child is named by one digit per edge (1-based op index), edges ordered by target
    node then source node: for 2 nodes, (0,1), (0,2), (1,2), so "111".."444".
    """

    n_nodes: int = 2
    ops: tuple[str, ...] = PAPER_OPS

    def __post_init__(self) -> None:
        if self.n_nodes < 1:
            raise ValueError(f"n_nodes must be >= 1, got {self.n_nodes}")
        if not 1 <= len(self.ops) <= 9:
            raise ValueError(f"the space needs 1..9 ops (one digit each), got {len(self.ops)}")
        unknown = [op for op in self.ops if op not in OP_NAMES]
        if unknown:
            raise ValueError(f"unknown op(s) {unknown}; known ops: {sorted(OP_NAMES)}")

    @property
    def edges(self) -> list[tuple[int, int]]:
        return [(i, j) for j in range(1, self.n_nodes + 1) for i in range(j)]

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


def parse_partition(text: str) -> list[list[str]]:
    """A measured partition as the run config holds it (key `partition`): groups separated
    by ";", children by "," ("a,b;c,d" -> [[a, b], [c, d]])."""
    return [[c.strip() for c in g.split(",") if c.strip()] for g in text.split(";")]


def partition(children: list[str], m: int, grouping: str, seed: int = 42) -> list[list[str]]:
    """Split children into m equal groups; each group keeps lexicographic order.

    "similar" slices the lexicographic order into blocks (paper Section 4.2.2). "random"
    (Section 4.2.1) draws as the paper's code does (search.py, `stable_partition: seed`):
    child i (lexicographic) goes to group mapping[i], mapping = [i % m for i in range(n)]
    shuffled by numpy's RandomState(seed). Seed 42, its configs' value, gives the paper's
    groups (m = 16: 143, 144, 344 and 424 together, its Figure 6).
    """
    n = len(children)
    if m < 1 or n % m:
        raise ValueError(f"m={m} must be a positive divisor of the number of children ({n})")
    if grouping not in GROUPINGS:
        raise ValueError(f"unknown grouping {grouping!r}; choose one of {list(GROUPINGS)}")
    if grouping in MEASURED_GROUPINGS:
        raise ValueError(
            f"grouping {grouping!r} is measured: its partition comes from nas.measure.interference "
            "(run config key `partition`; nas train --partition-file)"
        )
    ordered = sorted(children)
    if grouping == "random":
        mapping = [i % m for i in range(n)]
        np.random.RandomState(seed).shuffle(mapping)
        return [[c for c, g in zip(ordered, mapping, strict=True) if g == k] for k in range(m)]
    size = n // m
    return [sorted(ordered[g * size : (g + 1) * size]) for g in range(m)]
