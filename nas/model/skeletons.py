"""The network around the cells, one skeleton per kind of space (the space's `skeleton`).

A skeleton builds a stem, the layers after it in order (the search cells and any fixed layers
between them) and says how wide the classifier's input is. The super-net shares a prefix of
the layers and copies the rest per child (prefix sharing counts cells: a fixed layer goes with
the cell after it, the last fixed layers with the last cell).

* `darts`: the paper's Appendix A: two 3x3 conv + BN, then n_cells cells of one width.
* `nasbench201`: NAS-Bench-201's: a 3x3 conv + BN, three stages of n_cells / 3 cells at C, 2C
  and 4C channels joined by residual reduction blocks (stride 2), then BN-ReLU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from nas.core.spaces import CellSpace
from nas.model.cell import Cell


@dataclass(frozen=True)
class Shape:
    """What a skeleton is built from (the run config's network keys)."""

    space: CellSpace
    n_cells: int
    stem_channels: int
    cell_channels: int
    bn_momentum: float
    in_channels: int


@dataclass(frozen=True)
class LayerSpec:
    """One layer after the stem: `build()` makes it; `is_cell` says whether it is a search cell."""

    build: Callable[[], nn.Module]
    is_cell: bool


class Fixed(nn.Module):
    """A layer without choices between cells, with the interface of a cell (`run`, and a
    forward that takes the child's ops and ignores them)."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor, child_ops=None) -> torch.Tensor:
        return self.body(x)

    def run(self, x, child_ops, ev):
        return ev.module(self.body, x)


class ResidualReduction(nn.Module):
    """NAS-Bench-201's ResNet basic block with stride 2: ReLU-conv3x3(stride 2)-BN,
    ReLU-conv3x3-BN, plus a shortcut of 2x2 average pooling and a 1x1 conv."""

    def __init__(self, c_in: int, c_out: int, bn_momentum: float) -> None:
        super().__init__()
        self.conv_a = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(c_in, c_out, 3, 2, 1, bias=False),
            nn.BatchNorm2d(c_out, momentum=bn_momentum),
        )
        self.conv_b = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c_out, momentum=bn_momentum),
        )
        self.downsample = nn.Sequential(
            nn.AvgPool2d(2, 2, 0), nn.Conv2d(c_in, c_out, 1, 1, 0, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class Darts:
    def stem(self, s: Shape) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(s.in_channels, s.stem_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(s.stem_channels, momentum=s.bn_momentum),
            nn.Conv2d(s.stem_channels, s.stem_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(s.stem_channels, momentum=s.bn_momentum),
        )

    def layers(self, s: Shape) -> list[LayerSpec]:
        width = s.space.cell_width(s.cell_channels)
        c_ins = [s.stem_channels] + [width] * (s.n_cells - 1)
        all_ops = [list(s.space.ops)] * len(s.space.edges)

        def cell(i: int) -> Callable[[], nn.Module]:
            return lambda: Cell(s.space, c_ins[i], s.cell_channels, s.bn_momentum, all_ops)

        return [LayerSpec(cell(i), True) for i in range(s.n_cells)]

    def features(self, s: Shape) -> int:
        return s.space.cell_width(s.cell_channels)


class NasBench201:
    STAGES = 3

    def stem(self, s: Shape) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(s.in_channels, s.cell_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(s.cell_channels, momentum=s.bn_momentum),
        )

    def layers(self, s: Shape) -> list[LayerSpec]:
        all_ops = [list(s.space.ops)] * len(s.space.edges)
        per_stage = s.n_cells // self.STAGES
        out: list[LayerSpec] = []

        def cell(c: int) -> Callable[[], nn.Module]:
            return lambda: Cell(s.space, c, c, s.bn_momentum, all_ops)

        def reduction(c_in: int, c_out: int) -> Callable[[], nn.Module]:
            return lambda: Fixed(ResidualReduction(c_in, c_out, s.bn_momentum))

        for stage in range(self.STAGES):
            c = s.cell_channels << stage
            if stage:
                out.append(LayerSpec(reduction(c // 2, c), False))
            out += [LayerSpec(cell(c), True) for _ in range(per_stage)]
        last = self.features(s)
        out.append(
            LayerSpec(
                lambda: Fixed(
                    nn.Sequential(nn.BatchNorm2d(last, momentum=s.bn_momentum), nn.ReLU())
                ),
                False,
            )
        )
        return out

    def features(self, s: Shape) -> int:
        return s.cell_channels << (self.STAGES - 1)


SKELETONS = {"darts": Darts(), "nasbench201": NasBench201()}


def shared_layers(layers: list[LayerSpec], shared_cells: int) -> int:
    """How many of `layers` a super-net sharing its first `shared_cells` cells shares: up to
    and with that cell (all of them when every cell is shared; none for 0)."""
    n_cells = sum(spec.is_cell for spec in layers)
    if shared_cells >= n_cells:
        return len(layers)
    seen = 0
    for i, spec in enumerate(layers):
        if seen == shared_cells:
            return i
        seen += spec.is_cell
    return len(layers)
