"""The paper's space: a DARTS-style cell (1x1 preprocess, output the concatenation of its
nodes) in the paper's skeleton (Appendix A). `n_nodes` 2 and the paper's four ops give its
64 children, "111".."444"; `n_nodes` 3 gives 4,096."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from nas.core.spaces.base import CellSpace

PAPER_OPS: tuple[str, ...] = ("max_pool_3x3", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_5x5")
DARTS_OPS: tuple[str, ...] = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)


@dataclass(frozen=True)
class Darts(CellSpace):
    n_nodes: int = 2
    ops: tuple[str, ...] = PAPER_OPS

    name: ClassVar[str] = "darts"
    known_ops: ClassVar[tuple[str, ...]] = DARTS_OPS
    cell_output: ClassVar[str] = "concat"
    skeleton: ClassVar[str] = "darts"
