"""A cell of a super-net: its DAG of nodes, one op per edge, computed through an evaluator.

`Cell.run` is the one definition of a cell's computation: `Eager` runs it for one child, the
engines (nas.model.engine_batched, nas.model.engine_memo) for many children at once. A cell
of a DARTS-style space preprocesses its input with a 1x1 conv and concatenates its nodes; one
of NAS-Bench-201's space reads its input directly and outputs its last node (the space's
`cell_output`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nas.core.spaces import CellSpace
from nas.model.ops import apply_op, make_op, reference_mode, relu_conv_bn


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
    """One cell; `ops_per_edge[e]` lists the op names it holds for edge e. A concatenating
    cell (DARTS) preprocesses its input to `channels`; a last-node cell (NAS-Bench-201) reads
    it as it is, so its input has `channels` channels."""

    def __init__(
        self,
        space: CellSpace,
        c_in: int,
        channels: int,
        bn_momentum: float,
        ops_per_edge: list[list[str]],
    ) -> None:
        super().__init__()
        self.edges_ij = space.edges
        self.n_nodes = space.n_nodes
        self.pack = 1  # models packed along channels (nas.model.packed); not state
        self.concat = space.cell_output == "concat"
        if self.concat:
            self.preprocess = relu_conv_bn(c_in, channels, bn_momentum)
        elif c_in != channels:
            raise ValueError(f"a {space.name} cell reads {channels} channels, got {c_in}")
        self.edges = nn.ModuleList(
            nn.ModuleDict({op: make_op(op, channels, bn_momentum, space.name) for op in ops})
            for ops in ops_per_edge
        )

    def forward(self, x: torch.Tensor, child_ops: list[str]) -> torch.Tensor:
        return self.run(x, child_ops, Eager())

    def run(self, x, child_ops, ev):
        """The cell's computation through evaluator `ev`: `Eager` for one child (`child_ops`
        names an op per edge), or nas.model.evaluate's `Batched` for all children at once (values
        are stacked rows, `child_ops` holds a tuple of op names per edge): one definition
        of the cell for both."""
        states = [ev.module(self.preprocess, x) if self.concat else x]
        for j in range(1, self.n_nodes + 1):
            node = None
            for e, (i, target) in enumerate(self.edges_ij):
                if target == j:
                    out = ev.op(self.edges[e], child_ops[e], states[i])
                    node = out if node is None else ev.add(node, out)
            states.append(node)
        return ev.cat(states[1:], self.pack) if self.concat else states[-1]
