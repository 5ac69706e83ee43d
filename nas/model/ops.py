"""DARTS primitive operations, as the paper's code defined them (no reduction, stride 1).

Search-cell batch norms have no affine parameters (DARTS search setting). `bn_momentum` is in
PyTorch semantics: new = (1 - momentum) * old + momentum * batch statistic.

The ops are `nn.Sequential` subclasses holding exactly the modules (and so the state_dict keys)
of the plain DARTS definitions; they add fast paths that compute the same function:

* `after_relu(xr)`: the op given `xr = relu(x)` already computed, so a cell applies the
  leading ReLU once per node state instead of once per edge (`has_leading_relu`).
* `DepthwiseConv2d`: on the CPU with autograd, a backward that avoids oneDNN's slow depthwise
  kernels (input gradient as a forward depthwise conv with the flipped kernel; weight gradient
  of a dilated kernel through its polyphase, i.e. undilated, form). Forward is unchanged.
* pooling without autograd: 3x3/stride-1 max pooling as two separable 3-wide maxima, which
  is bitwise the same as `max_pool2d` (a max does not round) and about 2.5x faster on CPU.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


def relu_conv_bn(c_in: int, c_out: int, bn_momentum: float) -> nn.Sequential:
    """The 1x1 preprocess of a cell: ReLU - Conv1x1 - BN (no affine)."""
    return nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(c_in, c_out, 1, bias=False),
        nn.BatchNorm2d(c_out, affine=False, momentum=bn_momentum),
    )


# --------------------------------------------------------------------------- reference mode

_REFERENCE = False


@contextlib.contextmanager
def reference_kernels():
    """Within: the straightforward computation (no fast paths: PyTorch's own depthwise
    backward and max pooling, ReLU per edge, torch.cat, untuned allocator). For `nas bench
    --plain`, a stand-in for the original implementation; the values are the same."""
    global _REFERENCE
    old, _REFERENCE = _REFERENCE, True
    try:
        yield
    finally:
        _REFERENCE = old


def reference_mode() -> bool:
    return _REFERENCE


# --------------------------------------------------------------------------- CPU allocator

_MALLOC_TUNED = False


def tune_cpu_malloc() -> None:
    """Keep freed memory in glibc's heap instead of returning it to the OS after every op.

    PyTorch has no caching allocator on the CPU; with glibc's defaults each activation of a
    few MB is a fresh mmap whose pages fault in again (about 1.4 million page faults per
    evaluation of the 64 children on 128 images; ~20% of the time). Process-wide, once;
    a no-op where glibc is not the C library. Values: no mmap below 256 MiB, trim the heap
    only above 1 GiB free, grow it 64 MiB at a time."""
    global _MALLOC_TUNED
    if _MALLOC_TUNED or _REFERENCE:
        return
    _MALLOC_TUNED = True
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
        if not libc.mallopt(m_mmap_threshold, 256 << 20):  # older glibc: at most 32 MiB
            libc.mallopt(m_mmap_threshold, 32 << 20)
        libc.mallopt(m_trim_threshold, 1 << 30)
        libc.mallopt(m_top_pad, 64 << 20)
    except (OSError, AttributeError):
        pass


# --------------------------------------------------------------------------- depthwise conv


def _dw_weight_grad(g: torch.Tensor, x: torch.Tensor, w: torch.Tensor, pad: int, dil: int):
    """d loss / d w of a stride-1 depthwise conv (oneDNN's own kernel, undilated form)."""
    n, c, h, wd = x.shape
    if dil > 1 and h % dil == 0 and wd % dil == 0 and pad % dil == 0:
        # Polyphase: a dilation-d conv only mixes pixels of equal (row, col) mod d, so it is
        # an undilated conv on the d*d sub-images (oneDNN's dilated backward is ~3x slower).
        def split(t: torch.Tensor) -> torch.Tensor:
            t = t.reshape(n, c, h // dil, dil, wd // dil, dil).permute(0, 3, 5, 1, 2, 4)
            t = t.reshape(n * dil * dil, c, h // dil, wd // dil)
            return t.contiguous(memory_format=torch.channels_last)

        g, x, pad, dil = split(g), split(x), pad // dil, 1
    return torch.ops.aten.convolution_backward(
        g, x, w, None, [1, 1], [pad, pad], [dil, dil], False, [0, 0], c, [False, True, False]
    )[1]


class _DepthwiseConvFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, pad: int, dil: int):
        ctx.save_for_backward(x, w)
        ctx.pad, ctx.dil = pad, dil
        return F.conv2d(x, w, None, 1, pad, dil, x.shape[1])

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        pad, dil = ctx.pad, ctx.dil
        g = g.contiguous(memory_format=torch.channels_last)
        gx = gw = None
        if ctx.needs_input_grad[0]:
            # stride 1, "same" padding: the transposed conv is the conv with the flipped kernel
            gx = F.conv2d(g, w.flip(2, 3), None, 1, pad, dil, x.shape[1])
        if ctx.needs_input_grad[1]:
            gw = _dw_weight_grad(g, x, w, pad, dil)
        return gx, gw, None, None


class DepthwiseConv2d(nn.Conv2d):
    """Stride-1, 'same'-padded depthwise conv; an `nn.Conv2d` with a faster CPU backward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad, dil = self.padding[0], self.dilation[0]
        if (
            not _REFERENCE
            and x.device.type == "cpu"
            and not torch.is_autocast_enabled("cpu")  # its backward is float32 only
            and torch.is_grad_enabled()
            and (x.requires_grad or self.weight.requires_grad)
            and x.is_contiguous(memory_format=torch.channels_last)
            and x.shape[1] > 1
            and self.stride == (1, 1)
            and self.kernel_size[0] == self.kernel_size[1]
            and self.padding[0] == self.padding[1]
            and self.dilation[0] == self.dilation[1]
            and 2 * pad == dil * (self.kernel_size[0] - 1)
        ):
            return _DepthwiseConvFn.apply(x, self.weight, pad, dil)
        return super().forward(x)


# --------------------------------------------------------------------------- pooling


def max_pool_3x3(x: torch.Tensor) -> torch.Tensor:
    """`max_pool2d(x, 3, 1, 1)`: on the CPU without autograd, as two separable 3-wide
    maxima (bitwise equal: a max does not round; ~1.7x faster than PyTorch's channels-last
    kernel, which also computes argmax indices)."""
    if (
        _REFERENCE
        or x.device.type != "cpu"
        or (torch.is_grad_enabled() and x.requires_grad)
        or min(x.shape[-2:]) < 2
    ):
        return F.max_pool2d(x, 3, 1, 1)
    # rows: r[i] = max(x[i-1], x[i], x[i+1]) with missing neighbours ignored (-inf padding)
    r = torch.maximum(x[:, :, 1:], x[:, :, :-1])  # r[i] = max(x[i], x[i+1]), i < H-1
    rows = torch.empty_like(x)
    rows[:, :, 0] = r[:, :, 0]
    rows[:, :, -1] = r[:, :, -1]
    torch.maximum(r[:, :, 1:], x[:, :, :-2], out=rows[:, :, 1:-1])
    c = torch.maximum(rows[..., 1:], rows[..., :-1])
    out = torch.empty_like(x)
    out[..., 0] = c[..., 0]
    out[..., -1] = c[..., -1]
    torch.maximum(c[..., 1:], rows[..., :-2], out=out[..., 1:-1])
    return out


class _MaxPool3x3(nn.MaxPool2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return max_pool_3x3(x)


# --------------------------------------------------------------------------- ops


class DilConv(nn.Sequential):
    """ReLU - depthwise (dilated) conv - pointwise conv - BN."""

    has_leading_relu = True

    def __init__(self, c: int, kernel: int, padding: int, dilation: int, bn_momentum: float):
        super().__init__(
            nn.ReLU(),
            DepthwiseConv2d(c, c, kernel, 1, padding, dilation=dilation, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c, affine=False, momentum=bn_momentum),
        )

    def after_relu(self, xr: torch.Tensor) -> torch.Tensor:
        return self[3](self[2](self[1](xr)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _REFERENCE:
            return super().forward(x)
        return self.after_relu(F.relu(x))


class SepConv(nn.Sequential):
    """Two DilConv blocks with dilation 1 (DARTS SepConv)."""

    has_leading_relu = True

    def __init__(self, c: int, kernel: int, bn_momentum: float):
        pad = kernel // 2
        super().__init__(
            DilConv(c, kernel, pad, 1, bn_momentum), DilConv(c, kernel, pad, 1, bn_momentum)
        )

    def after_relu(self, xr: torch.Tensor) -> torch.Tensor:
        # the first block's BN output feeds only the second block's ReLU: relu in place
        return self[1].after_relu(F.relu(self[0].after_relu(xr), inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _REFERENCE:
            return super().forward(x)
        return self.after_relu(F.relu(x))


class PoolBN(nn.Sequential):
    """3x3 pooling (stride 1) - BN (no affine)."""

    has_leading_relu = False

    def __init__(self, c: int, kind: str, bn_momentum: float):
        pool = (
            _MaxPool3x3(3, 1, 1)
            if kind == "max"
            else nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        )
        super().__init__(pool, nn.BatchNorm2d(c, affine=False, momentum=bn_momentum))


class ReLUConvBN(nn.Sequential):
    """NAS-Bench-201's nor_conv_kxk: ReLU - conv kxk (stride 1, same padding) - BN (no affine
    in the super-net, as every search-cell op here)."""

    has_leading_relu = True

    def __init__(self, c: int, kernel: int, bn_momentum: float):
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(c, c, kernel, 1, kernel // 2, bias=False),
            nn.BatchNorm2d(c, affine=False, momentum=bn_momentum),
        )

    def after_relu(self, xr: torch.Tensor) -> torch.Tensor:
        return self[2](self[1](xr))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _REFERENCE:
            return super().forward(x)
        return self.after_relu(F.relu(x))


class Zero(nn.Module):
    """NAS-Bench-201's `none`: the edge contributes zeros (x * 0, as its code computes it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def dil_conv(c: int, kernel: int, padding: int, dilation: int, bn_momentum: float) -> nn.Sequential:
    """ReLU - depthwise (dilated) conv - pointwise conv - BN."""
    return DilConv(c, kernel, padding, dilation, bn_momentum)


def sep_conv(c: int, kernel: int, bn_momentum: float) -> nn.Sequential:
    """Two dil_conv blocks with dilation 1 (DARTS SepConv)."""
    return SepConv(c, kernel, bn_momentum)


def pool_bn(c: int, kind: str, bn_momentum: float) -> nn.Sequential:
    return PoolBN(c, kind, bn_momentum)


def apply_op(op: nn.Module, x: torch.Tensor, xr: Callable[[], torch.Tensor]) -> torch.Tensor:
    """op(x); `xr()` returns relu(x), computed once by the caller for all ops reading x."""
    if _REFERENCE:
        return op(x)
    if getattr(op, "has_leading_relu", False):
        return op.after_relu(xr())
    return op(x)


OPS: dict[str, Callable[[int, float], nn.Module]] = {
    "max_pool_3x3": lambda c, m: pool_bn(c, "max", m),
    "avg_pool_3x3": lambda c, m: pool_bn(c, "avg", m),
    "sep_conv_3x3": lambda c, m: sep_conv(c, 3, m),
    "sep_conv_5x5": lambda c, m: sep_conv(c, 5, m),
    # As in the paper's code: a 5x5 kernel with dilation 2 (9x9 receptive field).
    "dil_conv_3x3": lambda c, m: dil_conv(c, 3, 2, 2, m),
    "dil_conv_5x5": lambda c, m: dil_conv(c, 5, 4, 2, m),
}

# NAS-Bench-201's ops (nas.core.spaces.nasbench201), as its code builds them in a cell whose
# input and output widths agree: its pooling has no BN
NB201_OPS: dict[str, Callable[[int, float], nn.Module]] = {
    "none": lambda c, m: Zero(),
    "skip_connect": lambda c, m: nn.Identity(),
    "nor_conv_1x1": lambda c, m: ReLUConvBN(c, 1, m),
    "nor_conv_3x3": lambda c, m: ReLUConvBN(c, 3, m),
    "avg_pool_3x3": lambda c, m: nn.AvgPool2d(3, 1, 1, count_include_pad=False),
}

# the ops of each search space (nas.core.spaces.SPACES; a test checks they agree)
OPS_OF_SPACE: dict[str, dict[str, Callable[[int, float], nn.Module]]] = {
    "darts": OPS,
    "nasbench201": NB201_OPS,
}


def make_op(name: str, channels: int, bn_momentum: float, space: str = "darts") -> nn.Module:
    ops = OPS_OF_SPACE[space]
    if name not in ops:
        raise ValueError(f"unknown op {name!r} in the {space} space; known ops: {sorted(ops)}")
    return ops[name](channels, bn_momentum)
