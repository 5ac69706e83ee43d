"""The super-net of paper Appendix A, with real module copies for each sharing policy.

Stem (two 3x3 conv + BN to 48 channels) -> 4 cells (1x1 preprocess to 16 channels, DAG,
concat of nodes) -> global average pool -> linear. Only the selected op of each edge runs.

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

from nas.core.searchspace import SearchSpace
from nas.model.ops import apply_op, make_op, reference_mode, relu_conv_bn, tune_cpu_malloc


def _format(x: torch.Tensor) -> torch.memory_format:
    cl = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
    return torch.channels_last if cl else torch.contiguous_format


def cat_into(xs, groups: int, fn=None) -> torch.Tensor:
    """Concatenate along channels into a new tensor in xs[0]'s memory format; with `groups`
    g, each input is g equal channel blocks and the output keeps them grouped: block k of the
    output is the concatenation of the inputs' blocks k (packed models, nas.model.packed). `fn`,
    if given, is an elementwise function with an `out=` form applied on the way."""
    n, _, h, w = xs[0].shape
    sizes = [x.shape[1] // groups for x in xs]
    out = torch.empty(
        (n, groups * sum(sizes), h, w),
        dtype=xs[0].dtype,
        device=xs[0].device,
        memory_format=_format(xs[0]),
    )
    view = out.unflatten(1, (groups, sum(sizes)))
    start = 0
    for x, c in zip(xs, sizes, strict=True):
        dst, src = view[:, :, start : start + c], x.unflatten(1, (groups, c))
        if fn is None:
            dst.copy_(src)
        else:
            fn(src, out=dst)
        start += c
    return out


class _CatChannels(torch.autograd.Function):
    """Channel concatenation (`cat_into`) whose backward hands each input its gradient in
    the input's own memory format (a plain cat's backward gives channel slices, neither NCHW-
    nor channels-last-contiguous, which send the batch norms feeding the cat to a ~8x slower
    CPU kernel)."""

    @staticmethod
    def forward(ctx, groups: int, *xs):
        ctx.groups = groups
        ctx.sizes = [x.shape[1] // groups for x in xs]
        ctx.formats = [_format(x) for x in xs]
        return cat_into(xs, groups)

    @staticmethod
    def backward(ctx, g):
        parts = torch.split(g.unflatten(1, (ctx.groups, sum(ctx.sizes))), ctx.sizes, dim=2)
        grads = tuple(
            p.flatten(1, 2).contiguous(memory_format=f)
            for p, f in zip(parts, ctx.formats, strict=True)
        )
        return (None, *grads)


def cat_channels(xs: list[torch.Tensor], groups: int = 1) -> torch.Tensor:
    """torch.cat(xs, 1) (the same values) with a memory-format-keeping backward; `groups`:
    see `cat_into`."""
    if groups == 1 and (reference_mode() or xs[0].dim() != 4):
        return torch.cat(xs, dim=1)
    if torch.is_grad_enabled() and any(x.requires_grad for x in xs):
        return _CatChannels.apply(groups, *xs)
    return cat_into(xs, groups)


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


class Eager:
    """How `Cell.run` computes: directly. The leading ReLU of the ops is applied once per
    node state (several edges read the same state), which changes no value."""

    def __init__(self) -> None:
        self._relu: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def module(self, m: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return m(x)

    def op(self, edge: nn.ModuleDict, name: str, x: torch.Tensor) -> torch.Tensor:
        op = edge[name]

        def xr() -> torch.Tensor:
            hit = self._relu.get(id(x))
            if hit is None:
                hit = self._relu[id(x)] = (x, F.relu(x))  # x kept alive: its id stays unique
            return hit[1]

        return apply_op(op, x, xr)

    def add(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b

    def cat(self, xs: list[torch.Tensor], groups: int = 1) -> torch.Tensor:
        return cat_channels(xs, groups)


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
        self.pack = 1  # models packed along channels (nas.model.packed); not state
        self.preprocess = relu_conv_bn(c_in, channels, bn_momentum)
        self.edges = nn.ModuleList(
            nn.ModuleDict({op: make_op(op, channels, bn_momentum) for op in ops})
            for ops in ops_per_edge
        )

    def forward(self, x: torch.Tensor, child_ops: list[str]) -> torch.Tensor:
        return self.run(x, child_ops, Eager())

    def run(self, x, child_ops, ev):
        """The cell's computation through evaluator `ev`: `Eager` for one child (`child_ops`
        names an op per edge), or nas.model.evaluate's `Batched` for all children at once (values
        are stacked rows, `child_ops` holds a tuple of op names per edge): one definition
        of the cell for both."""
        states = [ev.module(self.preprocess, x)]
        for j in range(1, self.n_nodes + 1):
            node = None
            for e, (i, target) in enumerate(self.edges_ij):
                if target == j:
                    out = ev.op(self.edges[e], child_ops[e], states[i])
                    node = out if node is None else ev.add(node, out)
            states.append(node)
        return ev.cat(states[1:], self.pack)


def _own_cells(start: nn.ModuleList, child_ops: list[str]) -> nn.ModuleList:
    """A copy of the `start` cells (all ops) keeping only this child's op on each edge."""
    cells = copy.deepcopy(start)
    for cell in cells:
        for e, op in enumerate(child_ops):
            cell.edges[e] = nn.ModuleDict({op: cell.edges[e][op]})
    return cells


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
        self.cell_channels = cell_channels  # per model (nas.model.packed multiplies the tensors)
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
            start = nn.ModuleList(
                Cell(space, c_ins[i], cell_channels, bn_momentum, all_ops)
                for i in range(shared_cells, n_cells)
            )
            for child in children:
                self.child_cells[child] = _own_cells(start, space.child_ops(child))
        self.gap = GlobalAvgPool()
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
