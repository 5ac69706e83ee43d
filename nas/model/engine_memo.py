"""The per-child evaluation engine: each distinct value computed once, children one by one.

The CPU's engine (nas.model.evaluate picks it there). Under weight sharing much of what the
children compute is the same computation: the stem for all of them; in a shared first cell
also the 1x1 preprocess, the op outputs of the edges from node 0 (shared by the children
with the same digit on that edge) and any op applied to a state that several children share
(in the paper's space edge (1,2) on node 1: 16 distinct outputs for 64 children). This
engine computes each distinct (module, input) pair once per batch, and otherwise runs each
child on its own: many small kernels, no copies. On a CPU that is faster than stacking the
children (nas.model.engine_batched), whose gathers and concatenations cost more memory traffic
than the dispatch they save; on a GPU the dispatch is what counts.

How: every value gets an integer id naming its provenance ("the batch", "module m applied to
value v", "v + w", ...). A dry run over the children counts how often each id is asked for;
the real run, per batch, keeps a value while children still need it and drops it after its
last use. No host sync and no per-image Python per batch.

Exactness: the same modules on the same inputs as `evaluate_child_plain`, only not repeated,
plus two rewrites that change no bit: ReLU is applied once per value (`relu(v)` is a value
too), and a cell output read through the next cell's ReLU is built as the concatenation of
its parts' ReLUs (ReLU is elementwise; no separate concatenation pass of the raw states).
Accuracies and losses are identical (bitwise on the CPU; tests/test_evaluate.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from nas.model.cell import cat_channels, cat_into
from nas.model.ops import apply_op
from nas.model.supernet import SuperNet


class _Handle:
    """A value of the memoised evaluation: its provenance id and (in the real run) tensor.
    A concatenation is lazy: it keeps its parts and builds the tensor only if read raw."""

    __slots__ = ("key", "_tensor", "parts", "groups")

    def __init__(self, key: int, tensor: torch.Tensor | None, parts=None, groups: int = 1):
        self.key, self._tensor, self.parts, self.groups = key, tensor, parts, groups

    @property
    def tensor(self) -> torch.Tensor | None:
        if self._tensor is None and self.parts is not None and self.parts[0].tensor is not None:
            self._tensor = cat_channels([p.tensor for p in self.parts], self.groups)
        return self._tensor


def _relu_into(src: torch.Tensor, out: torch.Tensor) -> None:
    torch.clamp_min(src, 0, out=out)  # what F.relu computes


def _relu_of_cat(h: _Handle) -> torch.Tensor:
    """relu(cat(parts)) written part by part into one buffer (the same bits)."""
    return cat_into([p.tensor for p in h.parts], h.groups, _relu_into)


def _leading_relu(m: nn.Module) -> bool:
    return isinstance(m, nn.Sequential) and len(m) > 1 and isinstance(m[0], nn.ReLU)


class Memo:
    """An evaluator for `Cell.run` that computes each distinct value once.

    The first pass over the children is a dry run (`counting`): nothing is computed, each
    request is counted. Then, per batch, `start_batch` and the same sequence of requests
    computes each value at its first request and keeps it until its last counted use."""

    def __init__(self) -> None:
        self._ids: dict[tuple, int] = {}
        self._uses: dict[int, int] = {}
        self._left: dict[int, int] = {}
        self._cache: dict[int, torch.Tensor] = {}
        self.counting = True
        self.computed = 0  # values computed in the real runs (for tests and the bench)
        self.requested = 0  # values asked for in the real runs

    def _id(self, key: tuple) -> int:
        i = self._ids.get(key)
        if i is None:
            i = self._ids[key] = len(self._ids)
        return i

    def start_batch(self) -> None:
        self.counting = False
        self._left = dict(self._uses)
        self._cache.clear()

    def leaf(self, name: str, tensor: torch.Tensor | None) -> _Handle:
        return _Handle(self._id(("leaf", name)), tensor)

    def apply(self, tag, fn, *args: _Handle) -> _Handle:
        """fn(*args) (a tensor), known by (tag, args' ids); `tag` names the function. In the
        dry run fn is called once per new id (it may make nested requests) with tensors
        None, and its result is ignored."""
        key = (tag, *(a.key for a in args))
        if self.counting:
            i = self._ids.get(key)
            first = i is None
            if first:
                i = self._ids[key] = len(self._ids)
            self._uses[i] = self._uses.get(i, 0) + 1
            if first:
                fn(*args)
            return _Handle(i, None)
        i = self._ids[key]
        self.requested += 1
        t = self._cache.get(i)
        if t is None:
            t = fn(*args)
            self.computed += 1
        left = self._left[i] - 1
        self._left[i] = left
        if left:
            self._cache[i] = t
        else:
            self._cache.pop(i, None)
        return _Handle(i, t)

    # ------------------------------------------------ the evaluator interface of Cell.run
    def module(self, m: nn.Module, x: _Handle) -> _Handle:
        if x.parts is not None and _leading_relu(m):
            rest = list(m)[1:]

            def run_cat(a: _Handle):
                if self.counting:
                    return None
                h = _relu_of_cat(a)
                for layer in rest:
                    h = layer(h)
                return h

            return self.apply(id(m), run_cat, x)
        return self.apply(id(m), lambda a: None if self.counting else m(a.tensor), x)

    def op(self, edge: nn.ModuleDict, name: str, x: _Handle) -> _Handle:
        op = edge[name]

        def relu(a: _Handle):
            return None if self.counting else F.relu(a.tensor)

        def run(a: _Handle):
            def xr():
                return self.apply("relu", relu, a).tensor

            if self.counting:
                return xr() if getattr(op, "has_leading_relu", False) else None
            return apply_op(op, a.tensor, xr)

        return self.apply(id(op), run, x)

    def add(self, a: _Handle, b: _Handle) -> _Handle:
        return self.apply("add", lambda p, q: None if self.counting else p.tensor + q.tensor, a, b)

    def cat(self, xs: list[_Handle], groups: int = 1) -> _Handle:
        return _Handle(self._id(("cat", groups, *(h.key for h in xs))), None, tuple(xs), groups)


def _child_logits(model: SuperNet, child: str, x: _Handle, memo: Memo) -> _Handle:
    """`model(x, child)` through the memo: the same module calls in the same order."""
    ops = model._ops[child]
    h = memo.module(model.stem, x)
    for cell in model.shared_cells:
        h = cell.run(h, ops, memo)
    if len(model.child_cells):
        for cell in model.child_cells[child]:
            h = cell.run(h, ops, memo)
    head = model.head(child)

    def run(a: _Handle):
        return None if memo.counting else head(model.gap(a.tensor).flatten(1))

    return memo.apply(("head", id(head)), run, h)


def plan(model: SuperNet, children: list[str]) -> Memo:
    """The dry run: a Memo that knows how often each value of these children is needed."""
    memo = Memo()
    x = memo.leaf("x", None)
    for child in sorted(children):
        _child_logits(model, child, x, memo)
    return memo


class MemoEngine:
    """Evaluates `children` one by one per batch, sharing every distinct value (see the
    module docstring). Call it on a batch: yields (children, blocks, logits) as
    nas.model.evaluate scores them, one child at a time."""

    splits_over_threads = True  # its small per-child tensors run best one thread each

    def __init__(self, model: SuperNet, children: list[str]) -> None:
        self.model, self.children = model, children
        self.memo = plan(model, children)
        self._order = sorted(range(len(children)), key=lambda i: children[i])  # the plan's

    def images_per_pass(self, batch_size: int, val_images: torch.Tensor) -> int:
        return batch_size

    def __call__(self, x: torch.Tensor) -> Iterator[tuple[list[int], list[int], torch.Tensor]]:
        self.memo.start_batch()
        leaf = self.memo.leaf("x", x)
        for i in self._order:
            logits = _child_logits(self.model, self.children[i], leaf, self.memo).tensor
            yield [i], [0], logits[None]
