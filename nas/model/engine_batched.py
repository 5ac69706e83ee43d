"""The batched evaluation engine: all children at once, each op run once on the children
that pick it.

The GPU's engine (nas.model.evaluate picks it off the CPU). In eval mode every op works per
sample, and every child that picks op o on an edge of a shared cell uses the same weights.
So at each point of a shared cell the engine holds the distinct values of all children
stacked along the batch dimension (`Rows`), and runs each edge's op once on the stacked
inputs of all children that pick it, the cell's preprocess once on all of them, each node's
sum and the cell's concatenation once. The stem runs once per batch; in the first cell the
values are still few (node 0 is one value, node 1 four), and only distinct values are ever
computed. Cells a child owns (prefix sharing) and a child's own classifier run per child, as
their weights differ.

Kernel launches per evaluation drop from thousands to hundreds (`nas bench` counts them),
which is what bounds a GPU on this small network. The price is memory traffic: children's
values are gathered and concatenated between ops, which on a CPU costs more than the
dispatch it saves (nas.model.engine_memo is faster there; `nas bench` times both). The stacked
tensors hold children times images, so the images per pass are capped (`MAX_SAMPLES`).

Exactness: the same modules on the same inputs as `evaluate_child_plain`, only several
children's inputs in one call, plus one rewrite that changes no value: the leading ReLU of
the ops is applied once per stacked state. Convolution kernels may block a larger batch
differently, so bits can differ in the last place; tests/test_evaluate.py checks equal
accuracies and losses to 1e-6 relative. BN is not folded into the convolutions, as folding
changes the rounding.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from nas.model.cell import cat_channels
from nas.model.ops import apply_op, reference_mode
from nas.model.supernet import SuperNet

# CPU: samples (children x images) per stacked tensor, the measured best of 128-16384 on
# the paper's network (2 cores, 2026-11-30); larger tensors fall out of cache and run up to
# 3x slower.
CPU_MAX_SAMPLES = 1024
# GPU: as many images per pass as fit in half the free memory, counting this many stacked
# cell-width states alive at once per sample (an estimate; `nas bench` reports the peak)
LIVE_STATES = 16


class Rows:
    """The values of all children at one point of the network: `tensor` stacks R distinct
    values along the batch dimension (R blocks of `batch` samples); child i's value is block
    `of[i]`."""

    __slots__ = ("tensor", "of", "batch", "_relu")

    def __init__(self, tensor: torch.Tensor, of: Sequence[int], batch: int) -> None:
        self.tensor, self.of, self.batch = tensor, tuple(of), batch
        self._relu: torch.Tensor | None = None

    @property
    def n_rows(self) -> int:
        return self.tensor.shape[0] // self.batch

    def relu(self) -> torch.Tensor:
        """relu(tensor), once for all ops that start with a ReLU."""
        if self._relu is None:
            self._relu = F.relu(self.tensor)
        return self._relu

    def take(self, rows: list[int], relu: bool = False) -> torch.Tensor:
        """Blocks `rows` of the tensor (or of its ReLU), stacked in that order: a view when
        they are a run of consecutive blocks, else one gather in the same memory format."""
        t = self.relu() if relu else self.tensor
        first = rows[0]
        if rows == list(range(first, first + len(rows))):
            return t[first * self.batch : (first + len(rows)) * self.batch]
        index = torch.tensor(rows, device=t.device)
        return t.unflatten(0, (self.n_rows, self.batch))[index].flatten(0, 1)


def _distinct(keys: Sequence[tuple]) -> tuple[list[tuple], list[int]]:
    """The distinct keys in sorted order, and each key's position among them."""
    order = sorted(set(keys))
    where = {k: i for i, k in enumerate(order)}
    return order, [where[k] for k in keys]


class Batched:
    """The evaluator of `Cell.run` for all children at once: values are `Rows`, and the op
    choice of an edge is a tuple with one op name per child."""

    def module(self, m: nn.Module, x: Rows) -> Rows:
        return Rows(m(x.tensor), x.of, x.batch)

    def op(self, edge: nn.ModuleDict, choice: Sequence[str], x: Rows) -> Rows:
        keys, of = _distinct(list(zip(choice, x.of, strict=True)))
        parts = []
        for name in dict.fromkeys(k[0] for k in keys):  # keys are sorted: one run per op
            op = edge[name]
            rows = [r for o, r in keys if o == name]
            leading_relu = getattr(op, "has_leading_relu", False)

            def xr(rows=rows) -> torch.Tensor:
                return x.take(rows, relu=True)

            plain_input = not leading_relu or reference_mode()
            parts.append(apply_op(op, x.take(rows) if plain_input else None, xr))
        return Rows(torch.cat(parts) if len(parts) > 1 else parts[0], of, x.batch)

    def add(self, a: Rows, b: Rows) -> Rows:
        keys, of = _distinct(list(zip(a.of, b.of, strict=True)))
        total = a.take([k[0] for k in keys]) + b.take([k[1] for k in keys])
        return Rows(total, of, a.batch)

    def cat(self, xs: list[Rows], groups: int = 1) -> Rows:
        keys, of = _distinct(list(zip(*(x.of for x in xs), strict=True)))
        parts = [x.take([k[i] for k in keys]) for i, x in enumerate(xs)]
        return Rows(cat_channels(parts, groups), of, xs[0].batch)


class BatchedEngine:
    """Evaluates all `children` together (see the module docstring). Call it on a batch:
    yields (children, blocks, logits) as nas.model.evaluate scores them."""

    splits_over_threads = False  # its large stacked tensors use intra-op threads

    def __init__(self, model: SuperNet, children: list[str]) -> None:
        self.model, self.children = model, children
        ops = [model._ops[c] for c in children]
        self.choices = [tuple(o[e] for o in ops) for e in range(len(model.space.edges))]

    def images_per_pass(self, batch_size: int, val_images: torch.Tensor) -> int:
        """`batch_size`, capped so that the children's stacked values fit: CPU_MAX_SAMPLES
        on the CPU, half the free memory on a GPU."""
        n = max(1, len(self.children))
        if val_images.device.type == "cpu":
            return max(1, min(batch_size, CPU_MAX_SAMPLES // n))
        model = self.model
        width = model.space.cell_width(model.cell_channels) * getattr(model, "n_models", 1)
        per_image = LIVE_STATES * width * val_images[0, 0].numel() * val_images.element_size()
        free, _total = torch.cuda.mem_get_info(val_images.device)
        return max(1, min(batch_size, free // 2 // (per_image * n)))

    def shared(self, x: torch.Tensor) -> Rows:
        """Stem and shared cells for all children: one row per distinct value."""
        h = Rows(self.model.stem(x), [0] * len(self.children), len(x))
        for cell in self.model.shared_cells:
            h = cell.run(h, self.choices, Batched())
        return h

    def __call__(self, x: torch.Tensor) -> Iterator[tuple[list[int], list[int], torch.Tensor]]:
        model, h = self.model, self.shared(x)
        if len(model.child_cells) or isinstance(model.classifier, nn.ModuleDict):
            for i, child in enumerate(self.children):
                own = h.take([h.of[i]])
                for cell in model.child_cells[child] if len(model.child_cells) else ():
                    own = cell(own, model._ops[child])
                yield [i], [0], model.head(child)(model.gap(own).flatten(1))[None]
            return
        logits = model.classifier(model.gap(h.tensor).flatten(1))
        yield list(range(len(self.children))), list(h.of), logits.unflatten(0, (h.n_rows, h.batch))
