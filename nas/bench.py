"""Throughput of the paper's network: training images/s and evaluation child-images/s.

Synthetic inputs at the paper's shape (batch 256, 3x32x32, 10 classes) so the figure measures
the compute path only. `plain` times the straightforward path (NCHW, stem recomputed per
child) for comparison with the original implementation on the same machine.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from nas.config import RunConfig
from nas.data import Split
from nas.evaluate import evaluate_child_plain, evaluate_children
from nas.supernet import build_supernet
from nas.train import make_optimizer, resolve_device, train_step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device: torch.device) -> float:
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def bench(
    device: str = "auto",
    batch_size: int = 256,
    image_size: int = 32,
    train_steps: int = 20,
    eval_images: int = 512,
    channels_last: bool = True,
    plain: bool = False,
) -> dict[str, Any]:
    """Best-effort steady-state figures (one warm-up round is not timed)."""
    dev = resolve_device(device)
    cfg = RunConfig(dataset="cifar10", device=str(dev), channels_last=channels_last)
    model = build_supernet(cfg, n_classes=10).to(dev)
    mf = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=mf)
    opt = make_optimizer(cfg, model)
    children = cfg.run_children()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch_size, 3, image_size, image_size, generator=gen).to(dev, memory_format=mf)
    y = torch.randint(0, 10, (batch_size,), generator=gen).to(dev)
    val = Split(
        torch.randn(eval_images, 3, image_size, image_size, generator=gen).to(dev),
        torch.randint(0, 10, (eval_images,), generator=gen).to(dev),
    )

    def train(n: int) -> None:
        for i in range(n):
            train_step(cfg, model, opt, x, y, children[(i * 7) % len(children)])

    train(2)
    t_train = _timed(lambda: train(train_steps), dev)
    evaluate_children(model, children[:2], val, batch_size, channels_last)
    t_eval = _timed(lambda: evaluate_children(model, children, val, batch_size, channels_last), dev)
    out = {
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "torch_threads": torch.get_num_threads(),
        "batch_size": batch_size,
        "image_size": image_size,
        "channels_last": channels_last,
        "train_images_per_s": round(train_steps * batch_size / t_train, 1),
        "eval_child_images_per_s": round(len(children) * eval_images / t_eval, 1),
    }
    if plain:
        model = model.to(memory_format=torch.contiguous_format)
        val_nchw = Split(val.images.contiguous(), val.labels)
        t_plain = _timed(
            lambda: [evaluate_child_plain(model, c, val_nchw, batch_size) for c in children], dev
        )
        out["plain_eval_child_images_per_s"] = round(len(children) * eval_images / t_plain, 1)
    return out
