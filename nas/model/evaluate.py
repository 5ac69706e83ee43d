"""Evaluation of every child of a run with the current (shared) weights.

Eval mode (running BN statistics), as the paper's code did. Two engines compute the same
accuracies and losses (tests/test_evaluate.py checks both against `evaluate_child_plain`):

* `batched` (nas.model.engine_batched): all children at once, each op of a shared cell run once on
  the stacked inputs of the children that pick it. Hundreds of kernels per evaluation
  instead of thousands: the GPU's engine, where eager PyTorch is bound by kernel dispatch.
* `memo` (nas.model.engine_memo): children one by one, each distinct value computed once. No
  copies between ops: the CPU's engine, where memory traffic, not dispatch, is the cost.

`engine="auto"` picks memo on the CPU and batched elsewhere; `nas bench` times both and
counts their operator calls, so the choice is a measured one. Scores are accumulated on
the device and read back once at the end.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from nas.model.engine_batched import BatchedEngine
from nas.model.engine_memo import MemoEngine
from nas.model.ops import tune_cpu_malloc
from nas.model.supernet import SuperNet

if TYPE_CHECKING:  # the type only: nas.run.data loads it, a layer above
    from nas.run.data import Split

ENGINES = {"batched": BatchedEngine, "memo": MemoEngine}


def engine_for(device: torch.device, engine: str = "auto") -> type:
    """The engine class `engine` names; "auto": memo on the CPU, batched elsewhere."""
    if engine == "auto":
        engine = "memo" if device.type == "cpu" else "batched"
    if engine not in ENGINES:
        raise ValueError(f"unknown evaluation engine {engine!r}; known: auto, {sorted(ENGINES)}")
    return ENGINES[engine]


def _batches(val: Split, batch_size: int, channels_last: bool):
    for start in range(0, len(val), batch_size):
        x = val.images[start : start + batch_size]
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        yield x, val.labels[start : start + batch_size]


def _score(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(correct, summed cross-entropy) per block of `logits` (blocks x images x classes, or
    blocks x images x models x classes for packed models)."""
    yk = y.view(1, -1, *([1] * (logits.dim() - 3))).expand(logits.shape[:-1])
    correct = (logits.argmax(-1) == yk).sum(1)
    ce = F.cross_entropy(logits.float().movedim(-1, 1), yk, reduction="none")
    return correct, ce.double().sum(1)


def _accumulate(run, children, val, batch_size, channels_last, correct, loss, index):
    """Adds the scores of engine `run` over `children` (global positions `index`) into
    correct and loss."""
    dev = val.labels.device
    per_pass = run.images_per_pass(batch_size, val.images)
    # index tensors made once per evaluation, not per batch: on a GPU each would be a copy
    # from the host in the loop
    indices: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
    for x, y in _batches(val, per_pass, channels_last):
        for which, blocks, logits in run(x):
            c, lo = _score(logits, y)
            key = (tuple(which), tuple(blocks))
            if key not in indices:
                at = index[torch.tensor(which, device=dev)]
                indices[key] = at, torch.tensor(blocks, device=dev)
            at, blocks_t = indices[key]
            correct[at] += c[blocks_t]
            loss[at] += lo[blocks_t]


def _cpu_workers(children: list[str], val: Split) -> int:
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
    engine: str = "auto",
) -> dict[str, tuple[float, float]]:
    """{child: (accuracy, mean cross-entropy)} on `val`; one host sync at the end."""
    acc, mean_loss = evaluate_scores(model, children, val, batch_size, channels_last, 0, engine)
    return {c: (acc[i], mean_loss[i]) for i, c in enumerate(children)}


@torch.inference_mode()
def evaluate_scores(
    model: SuperNet,
    children: list[str],
    val: Split,
    batch_size: int = 2000,
    channels_last: bool = False,
    n_models: int = 0,
    engine: str = "auto",
) -> tuple[list, list]:
    """Accuracies and mean losses in `children` order; with `n_models` K > 0 (a packed
    model, nas.model.packed) each entry is a list over the K models."""
    tune_cpu_malloc()
    dev = val.labels.device
    make = engine_for(dev, engine)
    shape = (len(children), n_models) if n_models else (len(children),)
    correct = torch.zeros(shape, dtype=torch.long, device=dev)
    loss = torch.zeros(shape, dtype=torch.float64, device=dev)
    workers = _cpu_workers(children, val) if make.splits_over_threads else 1
    digits = sorted({c[0] for c in children})
    groups = [[c for c in children if c[0] in digits[k::workers]] for k in range(workers)]
    position = {c: i for i, c in enumerate(children)}
    was_training = model.training
    model.eval()

    def work(group: list[str]) -> None:
        index = torch.tensor([position[c] for c in group], device=dev)
        c, lo = torch.zeros_like(correct), torch.zeros_like(loss)
        _accumulate(make(model, group), group, val, batch_size, channels_last, c, lo, index)
        with lock:
            correct.add_(c)
            loss.add_(lo)

    lock = threading.Lock()
    try:
        _run_workers(work, groups)
    finally:
        model.train(was_training)
    n = len(val)
    return (correct.double() / n).tolist(), (loss / n).tolist()


def _run_workers(work, groups: list[list[str]]) -> None:
    """work(group) for each group: inline for one, else one Python thread each with one
    intra-op thread (errors re-raised here)."""
    if len(groups) == 1:
        work(groups[0])
        return
    errors: list[BaseException] = []

    def guarded(group: list[str]) -> None:
        try:
            with torch.inference_mode():
                work(group)
        except BaseException as err:  # re-raised in the caller
            errors.append(err)

    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        threads = [threading.Thread(target=guarded, args=(g,)) for g in groups if g]
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
