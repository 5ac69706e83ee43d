"""Evaluation of every child of a run with the current (shared) weights.

Eval mode (running BN statistics), as the paper's code did. The stem is the same for every
child, so it runs once per validation batch; each child then runs only its remainder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nas.data import Split
from nas.supernet import SuperNet


def _batches(val: Split, batch_size: int, channels_last: bool):
    for start in range(0, len(val), batch_size):
        x = val.images[start : start + batch_size]
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        yield x, val.labels[start : start + batch_size]


@torch.inference_mode()
def evaluate_children(
    model: SuperNet,
    children: list[str],
    val: Split,
    batch_size: int = 2000,
    channels_last: bool = False,
) -> dict[str, tuple[float, float]]:
    """{child: (accuracy, mean cross-entropy)} on `val`; one host sync at the end."""
    was_training = model.training
    model.eval()
    correct = torch.zeros(len(children), dtype=torch.long, device=val.labels.device)
    loss = torch.zeros(len(children), dtype=torch.float64, device=val.labels.device)
    for x, y in _batches(val, batch_size, channels_last):
        h = model.stem(x)
        for i, child in enumerate(children):
            logits = model.forward_from_stem(h, child)
            correct[i] += (logits.argmax(1) == y).sum()
            loss[i] += F.cross_entropy(logits.float(), y, reduction="sum").double()
    model.train(was_training)
    n = len(val)
    acc, mean_loss = (correct.double() / n).tolist(), (loss / n).tolist()
    return {c: (acc[i], mean_loss[i]) for i, c in enumerate(children)}


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
