"""A fixed, seeded, stratified sample of a space's children: what a large space evaluates.

Evaluating all 15,625 children of NAS-Bench-201's space at every point would dwarf the
training, and rank statistics need only a fair sample. The sample is balanced: on every
edge, every op is picked by the same number of children (n / number of ops), so no op's
weights are over-represented in the ranks. It is a Latin-hypercube-like design: each edge's
column is a seeded permutation of the ops repeated n / ops times; rows that repeat a child
are repaired by swapping entries within a column, which keeps every column's balance.
"""

from __future__ import annotations

import itertools
from collections import Counter
from functools import lru_cache

import numpy as np

from nas.core.spaces.base import CellSpace

ROUNDS = 1000  # repair rounds before giving up (a sample near the whole space may not exist)


def check_size(space: CellSpace, n: int) -> None:
    """ValueError unless n children can form a balanced sample of `space`."""
    n_ops, total = len(space.ops), space.n_children
    if n < n_ops or n % n_ops or n > total:
        raise ValueError(
            f"a stratified sample needs a multiple of the {n_ops} ops between {n_ops} and the "
            f"space's {total:,} children, got {n}"
        )


def stratified_sample(space: CellSpace, n: int, seed: int) -> list[str]:
    """n distinct children of `space`, balanced over ops on every edge, sorted; the same for
    the same (space, n, seed) on every machine."""
    check_size(space, n)
    return list(_sample(len(space.ops), len(space.edges), n, seed))


@lru_cache(maxsize=32)
def _sample(n_ops: int, n_edges: int, n: int, seed: int) -> tuple[str, ...]:
    if n == n_ops**n_edges:  # the whole space
        return tuple(_name(row) for row in itertools.product(range(n_ops), repeat=n_edges))
    rng = np.random.RandomState(seed)
    columns = [rng.permutation(np.repeat(np.arange(n_ops), n // n_ops)) for _ in range(n_edges)]
    design = np.stack(columns, 1)
    rows = [tuple(r) for r in design.tolist()]
    count = Counter(rows)
    for _ in range(ROUNDS):
        dups = [i for i, r in enumerate(rows) if count[r] > 1]
        if not dups:
            return tuple(sorted(_name(r) for r in rows))
        for i in dups:  # swap one entry of each repeated row with another row's
            if count[rows[i]] < 2:
                continue
            edge, j = rng.randint(n_edges), rng.randint(n)
            for k in (i, j):
                count[rows[k]] -= 1
            a, b = list(rows[i]), list(rows[j])
            a[edge], b[edge] = b[edge], a[edge]
            rows[i], rows[j] = tuple(a), tuple(b)
            for k in (i, j):
                count[rows[k]] += 1
    raise RuntimeError(f"no balanced sample of {n} children found (seed {seed}): ask for fewer")


def _name(row) -> str:
    return "".join(str(d + 1) for d in row)
