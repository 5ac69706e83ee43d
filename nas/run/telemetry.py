"""Interference telemetry: how much does training one child pull the others' weights apart?

Weight sharing's cost is interference: a step for one child moves ops that other children
use. Before each of the last `dense_last` mini-batches of a run (config telemetry_children =
K > 0), the gradient of the child about to be trained and those of K other children (a seeded
sample) are computed on the same mini-batch and the cosine between the trained child's and
each other's is recorded, on the weights the children share (stem, shared cells, a shared
classifier). A negative cosine means the step works against that child. The figure relates it
to the rank change the other child sees at that mini-batch (nas.analysis.figures.interference).

Measuring must not change the run: gradients and BN statistics are put back as they were
(which parameters hold a gradient changes what SGD updates), nothing random is drawn from the
training's generators, and the records are byte-identical with telemetry on or off
(tests/test_telemetry.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nas.core.schedule import derived_seed
from nas.model.supernet import SuperNet
from nas.run.bnstate import kept_bn_state

COLUMNS = ["step", "trained_child", "child", "cosine"]
TELEMETRY_STREAM = 5  # derived_seed stream of the sample of other children


def shared_parameters(model: SuperNet) -> list[nn.Parameter]:
    """The weights every child of the run may use: stem, shared cells, a shared classifier."""
    parts: list[nn.Module] = [model.stem, model.shared_cells]
    if not isinstance(model.classifier, nn.ModuleDict):
        parts.append(model.classifier)
    return [p for part in parts for p in part.parameters()]


def others_at(children: list[str], trained: str, k: int, seed: int, step: int) -> list[str]:
    """K children other than the trained one, drawn for this step from the run's seed."""
    pool = [c for c in children if c != trained]
    gen = torch.Generator().manual_seed(derived_seed(seed, TELEMETRY_STREAM, step))
    return [pool[i] for i in torch.randperm(len(pool), generator=gen)[:k].tolist()]


def child_gradient(model: SuperNet, x, y, child: str, params: list[nn.Parameter]) -> torch.Tensor:
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x, child).float(), y).backward()
    return torch.cat(
        [(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in params]
    )


def cosines(
    model: SuperNet, x: torch.Tensor, y: torch.Tensor, trained: str, others: list[str]
) -> list[float]:
    """Cosine between the trained child's gradient and each other's, on the shared weights;
    the model's gradients and BN statistics are as before afterwards."""
    params = shared_parameters(model)
    held = [(p, p.grad) for p in model.parameters()]
    try:
        with kept_bn_state(model):
            mine = child_gradient(model, x, y, trained, params)
            out = [
                float(F.cosine_similarity(mine, child_gradient(model, x, y, c, params), dim=0))
                for c in others
            ]
    finally:
        for p, grad in held:
            p.grad = grad
    return out


def sample(
    model: SuperNet, x, y, trained: str, children: list[str], k: int, seed: int, step: int
) -> list[tuple[int, str, str, float]]:
    """The telemetry rows of one mini-batch (COLUMNS); `step` is the step it becomes."""
    others = others_at(children, trained, k, seed, step)
    return [
        (step, trained, c, cos)
        for c, cos in zip(others, cosines(model, x, y, trained, others), strict=True)
    ]
