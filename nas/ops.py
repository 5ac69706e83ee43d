"""DARTS primitive operations, as the paper's code defined them (no reduction, stride 1).

Search-cell batch norms have no affine parameters (DARTS search setting). `bn_momentum` is in
PyTorch semantics: new = (1 - momentum) * old + momentum * batch statistic.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn


def relu_conv_bn(c_in: int, c_out: int, bn_momentum: float) -> nn.Sequential:
    """The 1x1 preprocess of a cell: ReLU - Conv1x1 - BN (no affine)."""
    return nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(c_in, c_out, 1, bias=False),
        nn.BatchNorm2d(c_out, affine=False, momentum=bn_momentum),
    )


def dil_conv(c: int, kernel: int, padding: int, dilation: int, bn_momentum: float) -> nn.Sequential:
    """ReLU - depthwise (dilated) conv - pointwise conv - BN."""
    return nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(c, c, kernel, 1, padding, dilation=dilation, groups=c, bias=False),
        nn.Conv2d(c, c, 1, bias=False),
        nn.BatchNorm2d(c, affine=False, momentum=bn_momentum),
    )


def sep_conv(c: int, kernel: int, bn_momentum: float) -> nn.Sequential:
    """Two dil_conv blocks with dilation 1 (DARTS SepConv)."""
    pad = kernel // 2
    return nn.Sequential(
        dil_conv(c, kernel, pad, 1, bn_momentum), dil_conv(c, kernel, pad, 1, bn_momentum)
    )


def pool_bn(c: int, kind: str, bn_momentum: float) -> nn.Sequential:
    pool = (
        nn.MaxPool2d(3, 1, 1) if kind == "max" else nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    )
    return nn.Sequential(pool, nn.BatchNorm2d(c, affine=False, momentum=bn_momentum))


OPS: dict[str, Callable[[int, float], nn.Module]] = {
    "max_pool_3x3": lambda c, m: pool_bn(c, "max", m),
    "avg_pool_3x3": lambda c, m: pool_bn(c, "avg", m),
    "sep_conv_3x3": lambda c, m: sep_conv(c, 3, m),
    "sep_conv_5x5": lambda c, m: sep_conv(c, 5, m),
    # As in the paper's code: a 5x5 kernel with dilation 2 (9x9 receptive field).
    "dil_conv_3x3": lambda c, m: dil_conv(c, 3, 2, 2, m),
    "dil_conv_5x5": lambda c, m: dil_conv(c, 5, 4, 2, m),
}


def make_op(name: str, channels: int, bn_momentum: float) -> nn.Module:
    if name not in OPS:
        raise ValueError(f"unknown op {name!r}; known ops: {sorted(OPS)}")
    return OPS[name](channels, bn_momentum)
