"""The super-net of a space, with real module copies for each sharing policy.

The space's skeleton (nas.model.skeletons) gives the stem and the layers after it; for the
paper's space (Appendix A): stem (two 3x3 conv + BN to 48 channels) -> 4 cells (1x1
preprocess to 16 channels, DAG, concat of nodes) -> global average pool -> linear. Only the
selected op of each edge runs.

Sharing: the stem and the first `shared_cells` cells exist once; later cells and the
classifier exist once per child (holding only that child's ops). With shared_cells ==
n_cells the classifier is shared too (full sharing); prefix-k with k == n_cells keeps a
classifier per child, as in paper Section 4.3.

A child's own copies behave as in the paper's code, which keeps one network and swaps each
child's unshared weights (and their momentum) in and out around its steps (its architect.py
save/restore): all children's own copies start from the same weights, and they move only on
their child's steps (`drop_own_grads`).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from nas.core.spaces import CellSpace
from nas.model.cell import Cell
from nas.model.ops import reference_mode, tune_cpu_malloc
from nas.model.skeletons import SKELETONS, Shape, shared_layers


class _GlobalAvgPoolFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return F.adaptive_avg_pool2d(x, 1)

    @staticmethod
    def backward(ctx, g):
        n, c, h, w = ctx.shape
        # the values of adaptive_avg_pool2d's own backward (g / (h*w) everywhere), left as a
        # broadcast view: the consumer (the cell's concatenation) writes its parts directly
        # in the input's memory format instead of transposing a materialised NCHW gradient
        return (g / (h * w)).expand(n, c, h, w)


class GlobalAvgPool(nn.AdaptiveAvgPool2d):
    """AdaptiveAvgPool2d(1) (same forward) with a layout-friendly backward."""

    def __init__(self) -> None:
        super().__init__(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if reference_mode() or not (torch.is_grad_enabled() and x.requires_grad):
            return super().forward(x)
        return _GlobalAvgPoolFn.apply(x)


def _own_cells(start: nn.ModuleList, child_ops: list[str]) -> nn.ModuleList:
    """A copy of the `start` cells (all ops) keeping only this child's op on each edge."""
    cells = copy.deepcopy(start)
    for cell in cells:
        if not isinstance(cell, Cell):  # a fixed layer of the skeleton
            continue
        for e, op in enumerate(child_ops):
            cell.edges[e] = nn.ModuleDict({op: cell.edges[e][op]})
    return cells


class SuperNet(nn.Module):
    """A super-net over `children`; see the module docstring for what is shared."""

    def __init__(
        self,
        space: CellSpace,
        children: list[str],
        shared_cells: int,
        classifier_shared: bool,
        n_cells: int = 4,
        stem_channels: int = 48,
        cell_channels: int = 16,
        n_classes: int = 10,
        bn_momentum: float = 0.4,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        for child in children:
            space.check_child(child)
        self.space = space
        self.child_names = list(children)
        self.n_cells = n_cells
        self.cell_channels = cell_channels  # per model (nas.model.packed multiplies the tensors)
        skeleton = SKELETONS[space.skeleton]
        shape = Shape(space, n_cells, stem_channels, cell_channels, bn_momentum, in_channels)
        self.stem = skeleton.stem(shape)
        layers = skeleton.layers(shape)
        split = shared_layers(layers, shared_cells)
        # "cells": the layers after the stem, search cells and the skeleton's fixed layers
        self.shared_cells = nn.ModuleList(spec.build() for spec in layers[:split])
        self.child_cells = nn.ModuleDict()
        if split < len(layers):
            start = nn.ModuleList(spec.build() for spec in layers[split:])
            for child in children:
                self.child_cells[child] = _own_cells(start, space.child_ops(child))
        self.gap = GlobalAvgPool()
        cell_out = skeleton.features(shape)
        if classifier_shared:
            self.classifier: nn.Module = nn.Linear(cell_out, n_classes)
        else:
            head = nn.Linear(cell_out, n_classes)
            self.classifier = nn.ModuleDict({child: copy.deepcopy(head) for child in children})
        self._ops = {child: space.child_ops(child) for child in children}
        self._own: dict[str, list[nn.Parameter]] = {}  # own_parameters, cached

    def forward(self, x: torch.Tensor, child: str) -> torch.Tensor:
        return self.forward_from_stem(self.stem(x), child)

    def own_parameters(self, child: str) -> list[nn.Parameter]:
        """The weights only `child` has: its own cells and classifier (none under full
        sharing)."""
        own = self._own.get(child)
        if own is None:
            parts: list[nn.Module] = []
            if len(self.child_cells):
                parts.append(self.child_cells[child])
            if isinstance(self.classifier, nn.ModuleDict):
                parts.append(self.classifier[child])
            own = self._own[child] = [p for m in parts for p in m.parameters()]
        return own

    def drop_own_grads(self, child: str) -> None:
        """After `child`'s optimizer step: its own weights drop their gradients, so later
        steps of other children leave them as they are (SGD skips a weight without a
        gradient: no momentum, no weight decay). The shared weights keep theirs (grad_clear)."""
        for p in self.own_parameters(child):
            p.grad = None

    def forward_from_stem(self, h: torch.Tensor, child: str) -> torch.Tensor:
        """Everything after the stem: lets evaluation compute the stem once for all children."""
        ops = self._ops[child]
        for cell in self.shared_cells:
            h = cell(h, ops)
        if len(self.child_cells):
            for cell in self.child_cells[child]:
                h = cell(h, ops)
        return self.head(child)(self.gap(h).flatten(1))

    def head(self, child: str) -> nn.Module:
        """The classifier `child` uses: its own under prefix sharing, else the shared one."""
        c = self.classifier
        return c[child] if isinstance(c, nn.ModuleDict) else c


def build_supernet(cfg, n_classes: int, in_channels: int = 3) -> SuperNet:
    """The super-net a RunConfig asks for, initialised from cfg.init_seed."""
    tune_cpu_malloc()
    torch.manual_seed(cfg.init_seed)
    shared = cfg.shared_cells()
    return SuperNet(
        cfg.space,
        cfg.run_children(),
        shared_cells=shared,
        classifier_shared=cfg.classifier_shared(),
        n_cells=cfg.n_cells,
        stem_channels=cfg.stem_channels,
        cell_channels=cfg.cell_channels,
        n_classes=n_classes,
        bn_momentum=cfg.bn_momentum,
        in_channels=in_channels,
    )
