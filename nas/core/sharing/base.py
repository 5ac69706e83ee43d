"""What every sharing strategy answers (see nas.core.sharing)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from nas.core.config import RunConfig


class Strategy(Protocol):
    def run_children(self, cfg: RunConfig) -> list[str]:
        """The children one run of this config trains (and evaluates)."""
        ...

    def shared_cells(self, cfg: RunConfig) -> int:
        """How many cells after the stem all of the run's children share; each later cell
        exists once per child, holding only that child's ops."""
        ...

    def classifier_shared(self, cfg: RunConfig) -> bool:
        """Whether the children share one classifier (else one per child)."""
        ...
