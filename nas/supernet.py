"""The super-net of paper Appendix A, with real module copies for each sharing policy.

Stem (two 3x3 conv + BN to 48 channels) -> 4 cells (1x1 preprocess to 16 channels, DAG,
concat of nodes) -> global average pool -> linear. Only the selected op of each edge runs.

Sharing: the stem and the first `shared_cells` cells exist once; later cells and the
classifier exist once per child (holding only that child's ops). With shared_cells ==
n_cells the classifier is shared too (full sharing); prefix-k with k == n_cells keeps a
classifier per child, as in paper Section 4.3.
"""

from __future__ import annotations

import torch
from torch import nn

from nas.ops import make_op, relu_conv_bn
from nas.searchspace import SearchSpace


class Cell(nn.Module):
    """One cell; `ops_per_edge[e]` lists the op names it holds for edge e."""

    def __init__(
        self,
        space: SearchSpace,
        c_in: int,
        channels: int,
        bn_momentum: float,
        ops_per_edge: list[list[str]],
    ) -> None:
        super().__init__()
        self.edges_ij = space.edges
        self.n_nodes = space.n_nodes
        self.preprocess = relu_conv_bn(c_in, channels, bn_momentum)
        self.edges = nn.ModuleList(
            nn.ModuleDict({op: make_op(op, channels, bn_momentum) for op in ops})
            for ops in ops_per_edge
        )

    def forward(self, x: torch.Tensor, child_ops: list[str]) -> torch.Tensor:
        states = [self.preprocess(x)]
        for j in range(1, self.n_nodes + 1):
            node = None
            for e, (i, target) in enumerate(self.edges_ij):
                if target == j:
                    out = self.edges[e][child_ops[e]](states[i])
                    node = out if node is None else node + out
            states.append(node)
        return torch.cat(states[1:], dim=1)


class SuperNet(nn.Module):
    """A super-net over `children`; see the module docstring for what is shared."""

    def __init__(
        self,
        space: SearchSpace,
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
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(stem_channels, momentum=bn_momentum),
            nn.Conv2d(stem_channels, stem_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(stem_channels, momentum=bn_momentum),
        )
        cell_out = cell_channels * space.n_nodes
        c_ins = [stem_channels] + [cell_out] * (n_cells - 1)
        all_ops = [list(space.ops)] * len(space.edges)
        self.shared_cells = nn.ModuleList(
            Cell(space, c_ins[i], cell_channels, bn_momentum, all_ops) for i in range(shared_cells)
        )
        self.child_cells = nn.ModuleDict()
        if shared_cells < n_cells:
            for child in children:
                own = [[op] for op in space.child_ops(child)]
                self.child_cells[child] = nn.ModuleList(
                    Cell(space, c_ins[i], cell_channels, bn_momentum, own)
                    for i in range(shared_cells, n_cells)
                )
        self.gap = nn.AdaptiveAvgPool2d(1)
        if classifier_shared:
            self.classifier: nn.Module = nn.Linear(cell_out, n_classes)
        else:
            self.classifier = nn.ModuleDict(
                {child: nn.Linear(cell_out, n_classes) for child in children}
            )
        self._ops = {child: space.child_ops(child) for child in children}

    def forward(self, x: torch.Tensor, child: str) -> torch.Tensor:
        return self.forward_from_stem(self.stem(x), child)

    def forward_from_stem(self, h: torch.Tensor, child: str) -> torch.Tensor:
        """Everything after the stem: lets evaluation compute the stem once for all children."""
        ops = self._ops[child]
        for cell in self.shared_cells:
            h = cell(h, ops)
        if len(self.child_cells):
            for cell in self.child_cells[child]:
                h = cell(h, ops)
        h = self.gap(h).flatten(1)
        head = (
            self.classifier[child]
            if isinstance(self.classifier, nn.ModuleDict)
            else self.classifier
        )
        return head(h)


def build_supernet(cfg, n_classes: int, in_channels: int = 3) -> SuperNet:
    """The super-net a RunConfig asks for, initialised from cfg.init_seed."""
    torch.manual_seed(cfg.init_seed)
    shared = cfg.shared_cells()
    return SuperNet(
        cfg.space,
        cfg.run_children(),
        shared_cells=shared,
        classifier_shared=cfg.sharing != "prefix",
        n_cells=cfg.n_cells,
        stem_channels=cfg.stem_channels,
        cell_channels=cfg.cell_channels,
        n_classes=n_classes,
        bn_momentum=cfg.bn_momentum,
        in_channels=in_channels,
    )
