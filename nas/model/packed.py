"""Packing: several models of one architecture as one model, a transform of SuperNets.

The instances of a family that differ only by their seed (the 10 seeds of one ground-truth
child; the "different seeds" instances of Table 1) train the same child at every step. Packing
stacks the K models along channels: every convolution becomes a grouped one (K times the
groups), every batch norm holds K x C channels (per-channel statistics are per-model
statistics, running ones included), the classifier is a batched matmul, and cell outputs are
concatenated block by block. Each model may read its own mini-batch: the K images are stacked
along channels and the stem's first conv runs grouped; given one shared batch (evaluation,
or one data seed for all) the same conv runs ungrouped (`PackedInputConv`). Each model's
weights are initialised by nas.model.supernet's build_supernet with its own seed, exactly as a
separate run's are, then stacked.

nas.run.train trains a packed model like any other (its loss sums the members' losses, so each
member's gradient is its own; SGD is elementwise, so one optimizer over the stacked
parameters is K optimizers) and unpacks each member's state for its snapshots. What differs
from separate runs is only floating-point rounding (grouped vs single kernels, summation
order), which training amplifies over time: tests/test_packed.py states the tolerance. The
point is the GPU, where one small model leaves most of the device idle; on a 2-core CPU
packing saves little (see benchmarks/RESULTS.md).
"""

from __future__ import annotations

import copy
import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from nas.core.config import RunConfig
from nas.model.cell import Cell
from nas.model.supernet import SuperNet, build_supernet

_STEM_INPUT_CONV = "stem.0"  # reads the image(s)


class PackedLinear(nn.Module):
    """K linear layers applied to K channel blocks: N x (K*in) -> N x K x out."""

    def __init__(self, linears: list[nn.Linear]) -> None:
        super().__init__()
        self.n_models = len(linears)
        self.in_features = linears[0].in_features
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in linears]))
        self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in linears]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # one F.linear per model (not one batched matmul): the same kernel as a separate
        # model's, so the same bits
        xs = x.unflatten(1, (self.n_models, self.in_features))
        return torch.stack(
            [F.linear(xs[:, k], self.weight[k], self.bias[k]) for k in range(self.n_models)], 1
        )


class PackedInputConv(nn.Conv2d):
    """The stem's first conv of K packed models (weight K*out x C x kh x kw): on one shared
    batch (C channels) an ordinary conv; on the models' own batches stacked along channels
    (K*C) a grouped one. The same weights, and block k of the output is model k's either way."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        groups = x.shape[1] // self.weight.shape[1]
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, groups)


def _pack_conv(convs: list[nn.Conv2d], stem_input: bool) -> nn.Conv2d:
    c, k = convs[0], len(convs)
    new = (PackedInputConv if stem_input else type(c))(
        c.in_channels if stem_input else c.in_channels * k,  # the input conv: see above
        c.out_channels * k,
        c.kernel_size,
        c.stride,
        c.padding,
        c.dilation,
        c.groups if stem_input else c.groups * k,
        bias=c.bias is not None,
    )
    with torch.no_grad():
        new.weight.copy_(torch.cat([m.weight for m in convs]))
        if c.bias is not None:
            new.bias.copy_(torch.cat([m.bias for m in convs]))
    return new


def _pack_bn(bns: list[nn.BatchNorm2d]) -> nn.BatchNorm2d:
    b = bns[0]
    new = nn.BatchNorm2d(
        b.num_features * len(bns), b.eps, b.momentum, b.affine, b.track_running_stats
    )
    with torch.no_grad():
        if b.affine:
            new.weight.copy_(torch.cat([m.weight for m in bns]))
            new.bias.copy_(torch.cat([m.bias for m in bns]))
        if b.track_running_stats:
            new.running_mean.copy_(torch.cat([m.running_mean for m in bns]))
            new.running_var.copy_(torch.cat([m.running_var for m in bns]))
            new.num_batches_tracked.copy_(b.num_batches_tracked)
    return new


def pack_models(models: list[SuperNet]) -> SuperNet:
    """One SuperNet computing all `models` (same architecture) side by side; its forward
    takes one shared N x C x H x W batch or an N x (K*C) x H x W stack of the models' own
    and returns N x K x classes logits. state_dict keys are the models' own (see
    `unpack_state`)."""
    packed = copy.deepcopy(models[0])
    k = len(models)
    for name, mod in list(packed.named_modules()):
        if isinstance(mod, nn.Conv2d):
            new = _pack_conv([m.get_submodule(name) for m in models], name == _STEM_INPUT_CONV)
        elif isinstance(mod, nn.BatchNorm2d):
            new = _pack_bn([m.get_submodule(name) for m in models])
        elif isinstance(mod, nn.Linear):
            new = PackedLinear([m.get_submodule(name) for m in models])
        else:
            if isinstance(mod, Cell):
                mod.pack = k
            continue
        parent, _, attr = name.rpartition(".")
        setattr(packed.get_submodule(parent) if parent else packed, attr, new)
    packed.n_models = k
    packed._own = {}  # its parameters are new objects
    return packed


def _stacked_keys(packed: SuperNet) -> set[str]:
    """Names of the tensors stacked on a new leading dim (PackedLinear), not concatenated."""
    return {
        f"{name}.{p}"
        for name, mod in packed.named_modules()
        if isinstance(mod, PackedLinear)
        for p in ("weight", "bias")
    }


def _unstack(t: torch.Tensor, k: int, n_models: int, stacked: bool) -> torch.Tensor:
    """Model k's part of a packed tensor: packed tensors concatenate (or, `stacked`, stack)
    the models' tensors along dim 0; 0-dim tensors (BN's counter) are shared."""
    if t.dim() == 0:
        return t.clone()
    if stacked:
        return t[k].clone()
    return t.chunk(n_models, dim=0)[k].clone()


def unpack_state(packed: SuperNet, k: int) -> dict[str, torch.Tensor]:
    """Model k's state_dict (the keys of a separately built SuperNet)."""
    n, stacked = packed.n_models, _stacked_keys(packed)
    return {key: _unstack(t, k, n, key in stacked) for key, t in packed.state_dict().items()}


def unpack_optimizer_state(packed: SuperNet, opt_state: dict, k: int) -> dict:
    """Model k's part of the packed SGD's state_dict (parameters in the same order)."""
    n, stacked = packed.n_models, _stacked_keys(packed)
    is_stacked = [name in stacked for name, _ in packed.named_parameters()]
    state = {
        i: {
            name: _unstack(v, k, n, is_stacked[i]) if isinstance(v, torch.Tensor) else v
            for name, v in s.items()
        }
        for i, s in opt_state["state"].items()
    }
    return {"state": state, "param_groups": copy.deepcopy(opt_state["param_groups"])}


def _stack(ts: list[torch.Tensor], stacked: bool) -> torch.Tensor:
    """The packed tensor of the models' tensors (the inverse of _unstack)."""
    if ts[0].dim() == 0:
        return ts[0].clone()
    return torch.stack(ts) if stacked else torch.cat(ts, dim=0)


def pack_state(packed: SuperNet, states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The packed model's state_dict from each model's own (the inverse of unpack_state):
    a warm start loads each member's snapshot into one packed model."""
    stacked = _stacked_keys(packed)
    return {key: _stack([s[key] for s in states], key in stacked) for key in states[0]}


def pack_optimizer_state(packed: SuperNet, opt_states: list[dict]) -> dict:
    """The packed SGD's state_dict from each model's (the inverse of unpack_optimizer_state);
    every model must hold state for the same parameters."""
    stacked = _stacked_keys(packed)
    is_stacked = [name in stacked for name, _ in packed.named_parameters()]
    keys = [sorted(s["state"]) for s in opt_states]
    if any(k != keys[0] for k in keys):
        raise ValueError("the snapshots' optimizers hold state for different parameters")
    state = {
        i: {
            name: _stack([s["state"][i][name] for s in opt_states], is_stacked[i])
            if isinstance(v, torch.Tensor)
            else v
            for name, v in opt_states[0]["state"][i].items()
        }
        for i in keys[0]
    }
    return {"state": state, "param_groups": copy.deepcopy(opt_states[0]["param_groups"])}


def build_packed(cfg: RunConfig, init_seeds: list[int], n_classes: int, device) -> SuperNet:
    """The packed SuperNet of `cfg` for these init seeds, on `device`, in cfg's layout."""
    models = [build_supernet(dataclasses.replace(cfg, init_seed=s), n_classes) for s in init_seeds]
    model = pack_models(models).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model
