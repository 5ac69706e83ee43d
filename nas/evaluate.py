"""Evaluation of every child of a run with the current (shared) weights.

Eval mode (running BN statistics), as the paper's code did. Under weight sharing much of what
the children compute is the same computation: the stem for all of them; in a shared first
cell also the 1x1 preprocess, the op outputs of the edges from node 0 (shared by the children
with the same digit on that edge) and any op applied to a state that several children share
(in the paper's space edge (1,2) on node 1: 16 distinct outputs for 64 children). The engine
here computes each distinct (module, input) pair once per batch.

How: every value gets an integer id naming its provenance ("the batch", "module m applied to
value v", "v + w", ...). A dry run over the children counts how often each id is asked for;
the real run, per batch, keeps a value while children still need it and drops it after its
last use. No host sync and no per-image Python per batch; the accuracy and loss sums stay on
the device until the end.

Exactness: the engine runs the same modules on the same inputs as `evaluate_child_plain`,
only not repeated, plus two rewrites that change no bit: ReLU is applied once per value
(`relu(v)` is a value too), and a cell output read through the next cell's ReLU is built as
the concatenation of its parts' ReLUs (ReLU is elementwise; no separate concatenation pass of
the raw states). Accuracies and losses are therefore identical; tests/test_evaluate.py checks
accuracy equality and loss to 1e-6 relative (they are in fact bitwise equal on the CPU).
BN is not folded into the convolutions for this reason: folding changes the rounding.
"""

from __future__ import annotations

import threading

import torch
import torch.nn.functional as F
from torch import nn

from nas.data import Split
from nas.ops import apply_op, tune_cpu_malloc
from nas.supernet import SuperNet, _cat_into, cat_channels


def _batches(val: Split, batch_size: int, channels_last: bool):
    for start in range(0, len(val), batch_size):
        x = val.images[start : start + batch_size]
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        yield x, val.labels[start : start + batch_size]


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
    return _cat_into([p.tensor for p in h.parts], h.groups, _relu_into)


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

    def op(self, op: nn.Module, x: _Handle) -> _Handle:
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


def _logits(model: SuperNet, child: str, x: _Handle, memo: Memo) -> _Handle:
    """`model(x, child)` through the memo: the same module calls in the same order."""
    ops = model._ops[child]
    h = memo.module(model.stem, x)
    for cell in model.shared_cells:
        h = cell.run(h, ops, memo)
    if len(model.child_cells):
        for cell in model.child_cells[child]:
            h = cell.run(h, ops, memo)
    head = (
        model.classifier[child] if isinstance(model.classifier, nn.ModuleDict) else model.classifier
    )

    def run(a: _Handle):
        return None if memo.counting else head(model.gap(a.tensor).flatten(1))

    return memo.apply(("head", id(head)), run, h)


def plan(model: SuperNet, children: list[str]) -> Memo:
    """The dry run: a Memo that knows how often each value of these children is needed."""
    memo = Memo()
    x = memo.leaf("x", None)
    for child in sorted(children):
        _logits(model, child, x, memo)
    return memo


def _evaluate(model, children, val, batch_size, channels_last, memo, correct, loss, index):
    for x, y in _batches(val, batch_size, channels_last):
        memo.start_batch()
        leaf = memo.leaf("x", x)
        for child in sorted(children):  # the dry run's order
            logits = _logits(model, child, leaf, memo).tensor
            i = index[child]
            if logits.dim() == 2:
                correct[i] += (logits.argmax(1) == y).sum()
                loss[i] += F.cross_entropy(logits.float(), y, reduction="sum").double()
            else:  # packed models (nas.packed): batch x models x classes
                yk = y[:, None].expand(-1, logits.shape[1])
                correct[i] += (logits.argmax(2) == yk).sum(0)
                ce = F.cross_entropy(logits.float().transpose(1, 2), yk, reduction="none")
                loss[i] += ce.double().sum(0)


def _cpu_workers(model: SuperNet, children: list[str], val: Split) -> int:
    """On the CPU, children split over Python threads (one intra-op thread each) scale better
    than intra-op threads on these small tensors (~1.15x on 2 cores). Split only by the
    first op digit, so the shared values of a child's first edge stay in one worker."""
    if val.labels.device.type != "cpu" or len(children) < 2:
        return 1
    return max(1, min(torch.get_num_threads(), len({c[0] for c in children})))


@torch.inference_mode()
def evaluate_children(
    model: SuperNet,
    children: list[str],
    val: Split,
    batch_size: int = 2000,
    channels_last: bool = False,
) -> dict[str, tuple[float, float]]:
    """{child: (accuracy, mean cross-entropy)} on `val`; one host sync at the end."""
    acc, mean_loss = evaluate_scores(model, children, val, batch_size, channels_last)
    return {c: (acc[i], mean_loss[i]) for i, c in enumerate(children)}


@torch.inference_mode()
def evaluate_scores(
    model: SuperNet,
    children: list[str],
    val: Split,
    batch_size: int = 2000,
    channels_last: bool = False,
    n_models: int = 0,
) -> tuple[list, list]:
    """Accuracies and mean losses in `children` order; with `n_models` K > 0 (a packed
    model, nas.packed) each entry is a list over the K models."""
    tune_cpu_malloc()
    was_training = model.training
    model.eval()
    dev = val.labels.device
    index = {c: i for i, c in enumerate(children)}
    shape = (len(children), n_models) if n_models else (len(children),)
    correct = torch.zeros(shape, dtype=torch.long, device=dev)
    loss = torch.zeros(shape, dtype=torch.float64, device=dev)
    workers = _cpu_workers(model, children, val)
    try:
        if workers == 1:
            memo = plan(model, children)
            _evaluate(model, children, val, batch_size, channels_last, memo, correct, loss, index)
        else:
            _evaluate_threads(
                model, children, val, batch_size, channels_last, workers, correct, loss, index
            )
    finally:
        model.train(was_training)
    n = len(val)
    return (correct.double() / n).tolist(), (loss / n).tolist()


def _evaluate_threads(
    model, children, val, batch_size, channels_last, workers, correct, loss, index
):
    digits = sorted({c[0] for c in children})
    shares = [digits[k::workers] for k in range(workers)]
    groups = [[c for c in children if c[0] in share] for share in shares]
    errors: list[BaseException] = []
    threads_before = torch.get_num_threads()

    def work(group: list[str]) -> None:
        try:
            with torch.inference_mode():
                memo = plan(model, group)
                c = torch.zeros_like(correct)
                lo = torch.zeros_like(loss)
                _evaluate(model, group, val, batch_size, channels_last, memo, c, lo, index)
                with lock:
                    correct.add_(c)
                    loss.add_(lo)
        except BaseException as err:  # re-raised in the caller
            errors.append(err)

    lock = threading.Lock()
    torch.set_num_threads(1)
    try:
        threads = [threading.Thread(target=work, args=(g,)) for g in groups if g]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        torch.set_num_threads(threads_before)
    if errors:
        raise errors[0]


@torch.inference_mode()
def evaluate_child_plain(
    model: SuperNet, child: str, val: Split, batch_size: int = 2000
) -> tuple[float, float]:
    """The straightforward per-child evaluation: the reference the fast path must equal."""
    was_training = model.training
    model.eval()
    correct, loss = 0, 0.0
    for x, y in _batches(val, batch_size, channels_last=False):
        logits = model(x, child)
        correct += int((logits.argmax(1) == y).sum())
        loss += float(F.cross_entropy(logits, y, reduction="sum").double())
    model.train(was_training)
    return correct / len(val), loss / len(val)
