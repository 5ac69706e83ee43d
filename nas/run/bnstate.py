"""BN state saved and put back: measuring a child must not change the super-net's statistics.

BN recalibration (nas.measure.recalibrate) overwrites the running statistics per child, and the
interference telemetry (nas.run.telemetry) runs forward passes in train mode, which update them;
both restore every BN module's buffers and momentum afterwards with kept_bn_state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn


def batch_norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@contextlib.contextmanager
def kept_bn_state(model: nn.Module) -> Iterator[None]:
    """Every BN module's buffers and momentum as they were on entry, restored on exit (also
    on an error)."""
    saved = [
        (bn, bn.momentum, {k: b.clone() for k, b in bn.named_buffers(recurse=False)})
        for bn in batch_norms(model)
    ]
    try:
        yield
    finally:
        for bn, momentum, buffers in saved:
            bn.momentum = momentum
            for k, b in buffers.items():
                getattr(bn, k).copy_(b)
