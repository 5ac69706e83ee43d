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


def bench(
    device: str = "auto",
    batch_size: int = 256,
    image_size: int = 32,
    train_steps: int = 20,
    eval_images: int = 512,
    channels_last: bool = True,
    plain: bool = False,
    eval_batch_size: int | None = None,
    packed: int = 0,
    repeats: int = 1,
    plain_train_steps: int = 4,
    plain_eval_images: int = 256,
    tf32: bool = False,
    bf16: bool = False,
) -> dict[str, Any]:
    """Best-effort steady-state figures as a dict (see the module docstring)."""
    dev = resolve_device(device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True  # what nas.run.train.setup_torch sets
    eval_batch_size = eval_batch_size or batch_size
    precision = "bf16" if bf16 else "tf32" if tf32 and dev.type == "cuda" else "fp32"
    cfg = RunConfig(
        dataset="cifar10", device=str(dev), channels_last=channels_last, precision=precision
    )
    children = cfg.run_children()
    gen = torch.Generator().manual_seed(0)
    x_cpu = torch.randn(batch_size, 3, image_size, image_size, generator=gen)
    y = torch.randint(0, 10, (batch_size,), generator=gen).to(dev)
    val = Split(
        torch.randn(eval_images, 3, image_size, image_size, generator=gen).to(dev),
        torch.randint(0, 10, (eval_images,), generator=gen).to(dev),
    )
    out: dict[str, Any] = {
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_avg_start": [round(v, 2) for v in os.getloadavg()],
        "batch_size": batch_size,
        "image_size": image_size,
        "eval_batch_size": eval_batch_size,
        "eval_images": eval_images,
        "train_steps": train_steps,
        "repeats": repeats,
        "channels_last": channels_last,
        "tf32": tf32 if dev.type == "cuda" else None,
        "bf16": bf16,
    }
    step_fn = train_step

    def in_precision(fn):  # evaluation runs in the training precision, as in nas.run.train
        def run(*args):
            with precision_context(cfg, dev):
                return fn(*args)

        return run

    eval_children, eval_scores = in_precision(evaluate_children), in_precision(evaluate_scores)

    # warm-up children: together they hold every op on every edge (one-time kernel set-up)
    uniform = [c for c in children if len(set(c)) == 1]

    def trainer(model, opt, x, fn=step_fn):
        def run(n: int, offset: int = 0) -> None:
            for i in range(n):
                fn(cfg, model, opt, x, y, children[((i + offset) * 7) % len(children)])

        def warm_up() -> None:
            for child in uniform:
                fn(cfg, model, opt, x, y, child)

        run.warm_up = warm_up
        return run

    if plain:  # first: nothing of the fast path has run in this process yet
        with reference_kernels():
            model = build_supernet(cfg, n_classes=10).to(dev)
            opt = make_optimizer(cfg, model)
            run = trainer(model, opt, x_cpu.to(dev), train_step)
            run.warm_up()
            t = _best(lambda: run(plain_train_steps), dev, repeats)
            out["plain_train_images_per_s"] = round(plain_train_steps * batch_size / t, 1)
            pval = Split(
                val.images[:plain_eval_images].contiguous(), val.labels[:plain_eval_images]
            )
            for child in uniform:
                evaluate_child_plain(model, child, Split(pval.images[:8], pval.labels[:8]))
            t = _best(
                lambda: [evaluate_child_plain(model, c, pval, eval_batch_size) for c in children],
                dev,
                repeats,
            )
            out["plain_eval_child_images_per_s"] = round(len(children) * len(pval) / t, 1)
            del model, opt

    mf = torch.channels_last if channels_last else torch.contiguous_format
    x = x_cpu.to(dev, memory_format=mf)
    model = build_supernet(cfg, n_classes=10).to(dev).to(memory_format=mf)
    opt = make_optimizer(cfg, model)
    run = trainer(model, opt, x)
    run.warm_up()
    t = _best(lambda: run(train_steps, 2), dev, repeats)
    out["train_images_per_s"] = round(train_steps * batch_size / t, 1)
    eval_children(model, uniform, val, eval_batch_size, channels_last)
    t = _best(
        lambda: eval_children(model, children, val, eval_batch_size, channels_last),
        dev,
        repeats,
    )
    out["eval_engine"] = engine_for(dev).__name__
    out["eval_child_images_per_s"] = round(len(children) * eval_images / t, 1)
    out.update(
        _engines(model, children, val, eval_batch_size, channels_last, repeats, eval_children)
    )
    out.update(_train_operator_calls(cfg, model, opt, x, y, children[5], dev))
    if plain:
        out["speedup_train_vs_plain"] = round(
            out["train_images_per_s"] / out["plain_train_images_per_s"], 2
        )
        out["speedup_eval_vs_plain"] = round(
            out["eval_child_images_per_s"] / out["plain_eval_child_images_per_s"], 2
        )
    del model, opt

    if packed:
        from nas.model.packed import build_packed

        seeds = list(range(packed))
        model = build_packed(cfg, seeds, 10, dev)
        opt = make_optimizer(cfg, model)
        # each model reads its own batch (data_seed follows the init seed): K stacked images
        xk = x if cfg.data_seed is not None else torch.cat([x] * packed, dim=1)
        run = trainer(model, opt, xk, train_step)
        run.warm_up()
        t = _best(lambda: run(train_steps, 2), dev, repeats)
        out["packed_models"] = packed
        out["packed_train_model_images_per_s"] = round(packed * train_steps * batch_size / t, 1)
        out["packed_train_vs_sequential"] = round(
            out["packed_train_model_images_per_s"] / out["train_images_per_s"], 2
        )
        n_val = max(1, eval_images // packed)
        pval = Split(val.images[:n_val], val.labels[:n_val])
        t = _best(
            lambda: eval_scores(model, children, pval, eval_batch_size, channels_last, packed),
            dev,
            repeats,
        )
        out["packed_eval_child_model_images_per_s"] = round(
            packed * len(children) * len(pval) / t, 1
        )
    out["load_avg_end"] = [round(v, 2) for v in os.getloadavg()]
    return out
