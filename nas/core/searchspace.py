"""Partitions of a space's children into groups (the spaces themselves: nas.core.spaces)."""

from __future__ import annotations

import numpy as np

# measured groupings: a partition from a share-all run's interference (nas.measure.interference),
# which the run config carries (key `partition`); the others follow from the space and a seed
MEASURED_GROUPINGS = ("correlation", "gradient")
GROUPINGS = ("random", "similar", *MEASURED_GROUPINGS)


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
