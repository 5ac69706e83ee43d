"""The evaluation engine equals the plain per-child evaluation; the fast kernels equal theirs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import nas.model.engine_batched
from nas.core.config import RunConfig
from nas.model.cell import cat_channels
from nas.model.evaluate import engine_for, evaluate_child_plain, evaluate_children, evaluate_scores
from nas.model.opcount import operator_calls
from nas.model.ops import DepthwiseConv2d, max_pool_3x3, reference_kernels
from nas.model.packed import build_packed
from nas.model.supernet import build_supernet
from nas.run.data import Split
from tests.conftest import tiny_config

CL = torch.channels_last


def _trained_bn(model, size: int):
    """Realistic BN running statistics: train-mode forwards that reach every op."""
    model.train()
    gen = torch.Generator().manual_seed(1)
    names = model.child_names
    uniform = [c for c in names if len(set(c)) == 1]
    with torch.no_grad():
        for child in uniform if len(uniform) == len(model.space.ops) else names:
            model(torch.randn(16, 3, size, size, generator=gen), child)
    return model.eval()


def _val(n: int, size: int, seed: int = 0) -> Split:
    gen = torch.Generator().manual_seed(seed)
    return Split(
        torch.randn(n, 3, size, size, generator=gen), torch.randint(0, 10, (n,), generator=gen)
    )


def _assert_same(fast, plain):
    assert set(fast) == set(plain)
    for child, (acc, loss) in plain.items():
        assert fast[child][0] == acc, child
        assert fast[child][1] == pytest.approx(loss, rel=1e-6, abs=0), child


ENGINES = ["memo", "batched"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "overrides,channels_last",
    [
        ({}, True),
        ({}, False),
        ({"sharing": "prefix", "k": 1}, True),
        ({"sharing": "prefix", "k": 2}, True),
        ({"sharing": "groups", "m": 4, "group": 1}, True),
    ],
)
def test_engine_equals_plain_evaluation(overrides, channels_last, engine):
    cfg = tiny_config(**overrides)
    model = _trained_bn(build_supernet(cfg, 10), 8)
    if channels_last:
        model = model.to(memory_format=CL)
    val = _val(80, 8)
    children = cfg.run_children()
    fast = evaluate_children(model, children, val, 48, channels_last, engine)
    plain = {c: evaluate_child_plain(model, c, val, 48) for c in children}
    _assert_same(fast, plain)
    assert not model.training  # _trained_bn left it in eval mode; evaluation keeps the mode


@pytest.mark.parametrize("engine", ENGINES)
def test_paper_width_network_equal_and_threads_change_nothing(engine):
    cfg = RunConfig(device="cpu")
    model = _trained_bn(build_supernet(cfg, 10), 8).to(memory_format=CL)
    val = _val(40, 8)
    children = cfg.run_children()[::5]
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = evaluate_children(model, children, val, 32, True, engine)
        torch.set_num_threads(2)  # CPU: children split over Python threads
        two = evaluate_children(model, children, val, 32, True, engine)
    finally:
        torch.set_num_threads(before)
    assert one == two
    _assert_same(one, {c: evaluate_child_plain(model, c, val, 32) for c in children})


def test_batched_engine_runs_each_module_once_per_batch_on_the_children_using_it(monkeypatch):
    monkeypatch.setattr(nas.model.engine_batched, "CPU_MAX_SAMPLES", 64 * 32)  # 32 images a pass
    cfg = tiny_config()  # full sharing, 2 cells, 64 children
    model = _trained_bn(build_supernet(cfg, 10), 8).to(memory_format=CL)
    calls: dict[str, list[int]] = {}

    def count(name):
        def hook(_module, args, _out):
            calls.setdefault(name, []).append(len(args[0]))

        return hook

    model.stem.register_forward_hook(count("stem"))
    for k, cell in enumerate(model.shared_cells):
        cell.preprocess.register_forward_hook(count(f"c{k}.pre"))
        for e in range(3):
            for name, op in cell.edges[e].items():
                last = list(op.modules())[-1]  # the op's final BN (after_relu skips forward)
                last.register_forward_hook(count(f"c{k}.e{e}.{name}"))
    val = _val(64, 8)
    evaluate_children(model, cfg.run_children(), val, 32, True, "batched")  # 2 batches
    assert calls["stem"] == [32, 32] and calls["c0.pre"] == [32, 32]
    for o in cfg.ops:
        # cell 0: edges (0,1) and (0,2) read node 0, one value for all children; edge (1,2)
        # reads node 1, of which there are 4 values (one per op on edge (0,1))
        assert calls[f"c0.e0.{o}"] == calls[f"c0.e1.{o}"] == [32, 32]
        assert calls[f"c0.e2.{o}"] == [4 * 32] * 2
        # cell 1: every child's input differs; an op runs once on the 16 children picking it
        assert all(calls[f"c1.e{e}.{o}"] == [16 * 32] * 2 for e in range(3))
    assert calls["c1.pre"] == [64 * 32] * 2


def test_memo_engine_computes_shared_values_once_per_batch():
    cfg = tiny_config()  # full sharing, 2 cells
    model = _trained_bn(build_supernet(cfg, 10), 8).to(memory_format=CL)
    calls: dict[str, int] = {}

    def count(name):
        def hook(*_):
            calls[name] = calls.get(name, 0) + 1

        return hook

    cell = model.shared_cells[0]
    model.stem.register_forward_hook(count("stem"))
    cell.preprocess.register_forward_hook(count("pre"))
    for e in range(3):
        for name, op in cell.edges[e].items():
            last = list(op.modules())[-1]  # the op's final BN
            last.register_forward_hook(count(f"e{e}.{name}"))
    val = _val(64, 8)
    evaluate_children(model, cfg.run_children(), val, 32, True, "memo")  # 2 batches
    assert calls["stem"] == 2 and calls["pre"] == 2
    ops = cfg.ops
    # edge (0,1) and (0,2) read the shared node 0: each op once per batch; edge (1,2) reads
    # node 1, which depends on the first digit: each op 4 times per batch
    assert all(calls[f"e0.{o}"] == 2 and calls[f"e1.{o}"] == 2 for o in ops)
    assert all(calls[f"e2.{o}"] == 2 * 4 for o in ops)


def test_engines_agree_on_packed_models():
    cfg = tiny_config()
    model = build_packed(cfg, [0, 3], 10, torch.device("cpu"))
    _trained_bn(model, 8)
    val = _val(40, 8)
    children = cfg.run_children()[::3]
    memo = evaluate_scores(model, children, val, 16, False, 2, "memo")
    batched = evaluate_scores(model, children, val, 16, False, 2, "batched")
    assert memo[0] == batched[0]
    assert np.allclose(memo[1], batched[1], rtol=1e-6, atol=0)


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown evaluation engine 'fast'"):
        engine_for(torch.device("cpu"), "fast")


def test_evaluation_restores_training_mode():
    cfg = tiny_config()
    model = build_supernet(cfg, 10)
    model.train()
    evaluate_children(model, ["123"], _val(10, 8), 8, False)
    assert model.training


@pytest.mark.parametrize("fmt", [CL, torch.contiguous_format])
@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (1, 2, 5, 3), (2, 1, 2, 2), (1, 1, 1, 4)])
def test_separable_max_pool_is_bitwise_max_pool(fmt, shape):
    x = torch.randn(shape).contiguous(memory_format=fmt)
    x[0, 0, 0, 0] = float("inf")
    with torch.no_grad():
        assert torch.equal(max_pool_3x3(x), F.max_pool2d(x, 3, 1, 1))
        y = torch.randn(2, 4, 6, 6).contiguous(memory_format=fmt)
        y[1, 2, 3, 3] = float("nan")
        a, b = max_pool_3x3(y), F.max_pool2d(y, 3, 1, 1)
        assert torch.equal(a.isnan(), b.isnan())
        assert torch.equal(a.nan_to_num(), b.nan_to_num())


@pytest.mark.parametrize("kernel,dilation,size", [(3, 1, 8), (5, 1, 8), (5, 2, 8), (3, 2, 7)])
def test_depthwise_conv_backward_matches_pytorch(kernel, dilation, size):
    torch.manual_seed(0)
    pad = dilation * (kernel - 1) // 2
    conv = DepthwiseConv2d(6, 6, kernel, 1, pad, dilation=dilation, groups=6, bias=False)
    x = torch.randn(4, 6, size, size).contiguous(memory_format=CL).requires_grad_()
    g = torch.randn(4, 6, size, size).contiguous(memory_format=CL)
    out = conv(x)
    out.backward(g)
    gx, gw = x.grad.clone(), conv.weight.grad.clone()
    x.grad, conv.weight.grad = None, None
    ref = F.conv2d(x, conv.weight, None, 1, pad, dilation, 6)
    ref.backward(g)
    assert torch.equal(out, ref)
    torch.testing.assert_close(gx, x.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gw, conv.weight.grad, rtol=1e-5, atol=1e-4)


def test_channel_cat_keeps_memory_format_in_backward_and_groups_blocks():
    a = torch.randn(2, 4, 3, 3).contiguous(memory_format=CL).requires_grad_()
    b = torch.randn(2, 6, 3, 3).contiguous(memory_format=CL).requires_grad_()
    out = cat_channels([a, b])
    assert torch.equal(out, torch.cat([a, b], 1)) and out.is_contiguous(memory_format=CL)
    out.backward(torch.randn_like(out))
    assert a.grad.is_contiguous(memory_format=CL) and b.grad.is_contiguous(memory_format=CL)
    # groups=2: block k of the output is [a's block k, b's block k]
    with torch.no_grad():
        packed = cat_channels([a, b], groups=2)
        want = torch.cat([a[:, :2], b[:, :3], a[:, 2:], b[:, 3:]], 1)
        assert torch.equal(packed, want)


def test_reference_kernels_compute_the_same_training_step():
    cfg = tiny_config()
    x = torch.randn(16, 3, 8, 8).contiguous(memory_format=CL)
    outs = []
    for ref in (False, True):
        model = build_supernet(cfg, 10).to(memory_format=CL)
        if ref:
            with reference_kernels():
                outs.append(model(x, "214"))
        else:
            outs.append(model(x, "214"))
    assert torch.equal(outs[0], outs[1])


def test_operator_calls_count_kernels_not_views():
    x = torch.randn(4, 3)
    calls = operator_calls(lambda: (torch.relu(x).view(3, 4).t() + 1).sum())
    assert sum(calls.values()) == 3, calls  # relu (clamp_min), add, sum; view and t launch none


def test_batched_engine_needs_ten_times_fewer_operator_calls():
    cfg = RunConfig(device="cpu")  # the paper's network and 64 children
    model = _trained_bn(build_supernet(cfg, 10), 4)
    val = _val(8, 4)
    children = cfg.run_children()
    memo, batched = (
        sum(
            operator_calls(
                lambda e=e: evaluate_children(model, children, val, 8, False, e)
            ).values()
        )
        for e in ENGINES
    )
    assert memo >= 10 * batched, (memo, batched)
