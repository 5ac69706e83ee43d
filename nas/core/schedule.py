"""Which child trains at each mini-batch: random access, so a resumed run needs no RNG state."""

from __future__ import annotations

import numpy as np


def derived_seed(*parts: int) -> int:
    """A 63-bit seed derived from integers; independent streams for (seed, purpose, index)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint64)[0] >> 1)


class ChildSchedule:
    """fixed: lexicographic order, repeated; shuffled: one random order per instance, repeated;
    reshuffled: a new random order every len(children) mini-batches (paper Section 3.2).
    """

    def __init__(self, children: list[str], order: str, seed: int) -> None:
        if order not in ("fixed", "shuffled", "reshuffled"):
            raise ValueError(f"unknown order {order!r}; choose fixed, shuffled or reshuffled")
        self.children = sorted(children)
        self.order = order
        self.seed = seed
        self._once = self._permutation(0)

    def _permutation(self, block: int) -> list[str]:
        rng = np.random.default_rng(derived_seed(self.seed, 17, block))
        return [self.children[i] for i in rng.permutation(len(self.children))]

    def child_at(self, step: int) -> str:
        """The child trained at 0-based global mini-batch `step`."""
        n = len(self.children)
        if self.order == "fixed":
            return self.children[step % n]
        if self.order == "shuffled":
            return self._once[step % n]
        return self._permutation(step // n)[step % n]
