"""Throughput of the paper's network: training, evaluation of all children, packed training.

Synthetic inputs at the paper's shape (batch 256, 3x32x32, 10 classes), already on the
device, so the figures measure the compute path only. The model first trains a few steps on
them, so the evaluation runs with realistic BN running statistics (an untrained net's
activations shrink towards denormal floats, which are slow on CPUs).

* train: nas.run.train.train_step (channels-last by default), img/s.
* eval: nas.model.evaluate.evaluate_children over all 64 children, child-img/s, with the engine
  the device gets by default, then with each engine (memo, batched), each with its operator
  calls for one batch of the evaluation batch size (nas.model.opcount: what a GPU would launch);
  and the operator calls of one training step.
* packed (K > 0): K models packed along channels (nas.model.packed), model-img/s, next to K
  sequential single-model runs (= train img/s).
* plain: the straightforward path: NCHW, nas.model.ops.reference_kernels (no fast paths,
  untuned allocator), and per-child evaluation with the stem recomputed for every child
  (evaluate_child_plain). Run first, so that the allocator tuning of the fast path does not
  help it. It measures close to the paper's own code (benchmarks/original_bench.py, which
  needs a checkout of that code), a little faster as it skips its `w * op(x)` passes.

Each figure is the best of `repeats` timed rounds (one untimed warm-up before).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import torch

from nas.core.config import RunConfig
from nas.model.engine_batched import BatchedEngine
from nas.model.evaluate import (
    ENGINES,
    engine_for,
    evaluate_child_plain,
    evaluate_children,
    evaluate_scores,
)
from nas.model.opcount import operator_calls
from nas.model.ops import reference_kernels
from nas.model.supernet import build_supernet
from nas.run.data import Split
from nas.run.train import make_optimizer, precision_context, resolve_device, train_step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device: torch.device) -> float:
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def _best(fn, device: torch.device, repeats: int) -> float:
    return min(_timed(fn, device) for _ in range(max(1, repeats)))


def _engines(model, children, val, batch_size, channels_last, repeats, eval_children) -> dict:
    """Each evaluation engine: its throughput over all children, and its operator calls
    (nas.model.opcount) for one pass over all children (one pass of the batched engine's images),
    counted in one thread (the profiler sees only the calling thread); on a GPU also each
    engine's peak memory."""
    dev = val.labels.device
    per_pass = BatchedEngine(model, children).images_per_pass(batch_size, val.images)
    one_batch = Split(val.images[:per_pass], val.labels[:per_pass])
    out: dict[str, Any] = {"eval_batched_images_per_pass": per_pass}
    threads = torch.get_num_threads()
    for name in ENGINES:

        def run(v=val, name=name):
            eval_children(model, children, v, batch_size, channels_last, name)

        run()  # warm-up: allocations, kernel set-up
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        t = _best(run, dev, repeats)
        out[f"eval_{name}_child_images_per_s"] = round(len(children) * len(val) / t, 1)
        if dev.type == "cuda":
            out[f"eval_{name}_peak_mib"] = round(torch.cuda.max_memory_allocated(dev) / 2**20)
        torch.set_num_threads(1)
        try:
            calls = operator_calls(lambda n=name: run(one_batch, n))
        finally:
            torch.set_num_threads(threads)
        out[f"eval_{name}_operator_calls"] = sum(calls.values())
    out["eval_operator_calls_memo_vs_batched"] = round(
        out["eval_memo_operator_calls"] / out["eval_batched_operator_calls"], 2
    )
    return out


def _train_operator_calls(cfg, model, opt, x, y, child: str, dev) -> dict:
    """Operator calls of one training step (forward, backward, optimizer step)."""
    calls = operator_calls(lambda: train_step(cfg, model, opt, x, y, child))
    _sync(dev)
    return {"train_step_operator_calls": sum(calls.values())}


@dataclass(frozen=True)
class BenchSettings:
    """What `nas bench` measures, and at which sizes (its command-line options)."""

    device: str = "auto"
    batch_size: int = 256
    image_size: int = 32
    train_steps: int = 20
    eval_images: int = 512
    channels_last: bool = True
    plain: bool = False  # also time the straightforward path (first, see the docstring)
    eval_batch_size: int | None = None  # default: batch_size
    packed: int = 0  # K > 0: also K models packed along channels
    repeats: int = 1
    plain_train_steps: int = 4
    plain_eval_images: int = 256
    tf32: bool = False
    bf16: bool = False


@dataclass
class _Bench:
    """One benchmark's device, run config, synthetic data and timers."""

    s: BenchSettings
    dev: torch.device
    cfg: RunConfig
    x_cpu: torch.Tensor
    y: torch.Tensor
    val: Split

    @property
    def children(self) -> list[str]:
        return self.cfg.run_children()

    @property
    def uniform(self) -> list[str]:
        """Warm-up children: together they hold every op on every edge."""
        return [c for c in self.children if len(set(c)) == 1]

    @property
    def eval_batch_size(self) -> int:
        return self.s.eval_batch_size or self.s.batch_size

    def best(self, fn) -> float:
        return _best(fn, self.dev, self.s.repeats)

    def in_precision(self, fn):
        """Evaluation runs in the training precision, as in nas.run.train."""

        def run(*args):
            with precision_context(self.cfg, self.dev):
                return fn(*args)

        return run

    def trainer(self, model, opt, x):
        """Training steps over the children in a fixed stride, and a warm-up over the
        uniform children (one-time kernel set-up)."""
        cfg, y, children = self.cfg, self.y, self.children

        def run(n: int, offset: int = 0) -> None:
            for i in range(n):
                train_step(cfg, model, opt, x, y, children[((i + offset) * 7) % len(children)])

        def warm_up() -> None:
            for child in self.uniform:
                train_step(cfg, model, opt, x, y, child)

        run.warm_up = warm_up
        return run


def _setup(s: BenchSettings) -> _Bench:
    dev = resolve_device(s.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = s.tf32
        torch.backends.cudnn.allow_tf32 = s.tf32
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True  # what nas.run.train.setup_torch sets
    precision = "bf16" if s.bf16 else "tf32" if s.tf32 and dev.type == "cuda" else "fp32"
    cfg = RunConfig(
        dataset="cifar10", device=str(dev), channels_last=s.channels_last, precision=precision
    )
    gen = torch.Generator().manual_seed(0)
    shape = (s.image_size, s.image_size)
    x_cpu = torch.randn(s.batch_size, 3, *shape, generator=gen)
    y = torch.randint(0, 10, (s.batch_size,), generator=gen).to(dev)
    val = Split(
        torch.randn(s.eval_images, 3, *shape, generator=gen).to(dev),
        torch.randint(0, 10, (s.eval_images,), generator=gen).to(dev),
    )
    return _Bench(s, dev, cfg, x_cpu, y, val)


def _header(b: _Bench) -> dict[str, Any]:
    s, dev = b.s, b.dev
    return {
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_avg_start": [round(v, 2) for v in os.getloadavg()],
        "batch_size": s.batch_size,
        "image_size": s.image_size,
        "eval_batch_size": b.eval_batch_size,
        "eval_images": s.eval_images,
        "train_steps": s.train_steps,
        "repeats": s.repeats,
        "channels_last": s.channels_last,
        "tf32": s.tf32 if dev.type == "cuda" else None,
        "bf16": s.bf16,
    }


def _plain(b: _Bench) -> dict[str, Any]:
    """The straightforward path: reference kernels, NCHW, one child at a time."""
    s, out = b.s, {}
    with reference_kernels():
        model = build_supernet(b.cfg, n_classes=10).to(b.dev)
        opt = make_optimizer(b.cfg, model)
        run = b.trainer(model, opt, b.x_cpu.to(b.dev))
        run.warm_up()
        t = b.best(lambda: run(s.plain_train_steps))
        out["plain_train_images_per_s"] = round(s.plain_train_steps * s.batch_size / t, 1)
        n = s.plain_eval_images
        pval = Split(b.val.images[:n].contiguous(), b.val.labels[:n])
        for child in b.uniform:
            evaluate_child_plain(model, child, Split(pval.images[:8], pval.labels[:8]))
        t = b.best(
            lambda: [evaluate_child_plain(model, c, pval, b.eval_batch_size) for c in b.children]
        )
        out["plain_eval_child_images_per_s"] = round(len(b.children) * len(pval) / t, 1)
    return out


def _fast(b: _Bench) -> dict[str, Any]:
    """The default path: training, evaluation with the device's engine and with each."""
    s, out = b.s, {}
    mf = torch.channels_last if s.channels_last else torch.contiguous_format
    x = b.x_cpu.to(b.dev, memory_format=mf)
    model = build_supernet(b.cfg, n_classes=10).to(b.dev).to(memory_format=mf)
    opt = make_optimizer(b.cfg, model)
    run = b.trainer(model, opt, x)
    run.warm_up()
    t = b.best(lambda: run(s.train_steps, 2))
    out["train_images_per_s"] = round(s.train_steps * s.batch_size / t, 1)
    eval_children = b.in_precision(evaluate_children)
    eval_children(model, b.uniform, b.val, b.eval_batch_size, s.channels_last)
    t = b.best(lambda: eval_children(model, b.children, b.val, b.eval_batch_size, s.channels_last))
    out["eval_engine"] = engine_for(b.dev).__name__
    out["eval_child_images_per_s"] = round(len(b.children) * s.eval_images / t, 1)
    out.update(
        _engines(
            model, b.children, b.val, b.eval_batch_size, s.channels_last, s.repeats, eval_children
        )
    )
    out.update(_train_operator_calls(b.cfg, model, opt, x, b.y, b.children[5], b.dev))
    return out


def _packed(b: _Bench, sequential: float) -> dict[str, Any]:
    """K models packed along channels (nas.model.packed), next to K sequential runs (one
    model's training rate, `sequential` images/s)."""
    from nas.model.packed import build_packed

    s, k, out = b.s, b.s.packed, {}
    mf = torch.channels_last if s.channels_last else torch.contiguous_format
    x = b.x_cpu.to(b.dev, memory_format=mf)
    model = build_packed(b.cfg, list(range(k)), 10, b.dev)
    opt = make_optimizer(b.cfg, model)
    # each model reads its own batch (data_seed follows the init seed): K stacked images
    xk = x if b.cfg.data_seed is not None else torch.cat([x] * k, dim=1)
    run = b.trainer(model, opt, xk)
    run.warm_up()
    t = b.best(lambda: run(s.train_steps, 2))
    out["packed_models"] = k
    out["packed_train_model_images_per_s"] = round(k * s.train_steps * s.batch_size / t, 1)
    out["packed_train_vs_sequential"] = round(
        out["packed_train_model_images_per_s"] / sequential, 2
    )
    n_val = max(1, s.eval_images // k)
    pval = Split(b.val.images[:n_val], b.val.labels[:n_val])
    eval_scores = b.in_precision(evaluate_scores)
    t = b.best(lambda: eval_scores(model, b.children, pval, b.eval_batch_size, s.channels_last, k))
    out["packed_eval_child_model_images_per_s"] = round(k * len(b.children) * len(pval) / t, 1)
    return out


def bench(settings: BenchSettings | None = None) -> dict[str, Any]:
    """Best-effort steady-state figures as a dict (see the module docstring): the plain
    path first (nothing of the fast path has run in this process yet), then the default
    path, then packed models."""
    b = _setup(settings or BenchSettings())
    out = _header(b)
    if b.s.plain:
        out.update(_plain(b))
    out.update(_fast(b))
    if b.s.plain:
        out["speedup_train_vs_plain"] = round(
            out["train_images_per_s"] / out["plain_train_images_per_s"], 2
        )
        out["speedup_eval_vs_plain"] = round(
            out["eval_child_images_per_s"] / out["plain_eval_child_images_per_s"], 2
        )
    if b.s.packed:
        out.update(_packed(b, out["train_images_per_s"]))
    out["load_avg_end"] = [round(v, 2) for v in os.getloadavg()]
    return out
