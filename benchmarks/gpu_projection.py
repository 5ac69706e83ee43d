"""Projected GPU time of the paper-scale workloads, for when no GPU was available to measure.

A projection, not a measurement: it counts what the paper's network does (FLOPs and kernels,
by running it on the CPU under a counter) and prices them with a simple model of a GPU,
whose parameters are arguments (FLOPs are those of convolutions and matrix products, as
torch.utils.flop_counter counts them; batch norms, ReLUs and pooling are left to the
per-kernel term):

    seconds = FLOPs / (peak * efficiency) + kernels * seconds_per_kernel

The defaults describe an H100 running eager PyTorch in float32 (no TF32): 67 TFLOP/s peak
(H100 SXM FP32, vendor figure), 15 % of it reached by these small 16-48-channel convolutions,
and 8 microseconds of host-side dispatch per kernel (eager PyTorch's per-op overhead, which
bounds small networks: the GPU waits for Python). Measure with benchmarks/run_bench.sh on a
real GPU to replace all of this.

    python benchmarks/gpu_projection.py [--efficiency 0.15] [--us-per-kernel 8] [--pack 10]

Workloads (config/config.yaml): one share-all instance = 200 epochs x 196 mini-batches of
256 + all 64 children evaluated on 10,000 images after every epoch and after each of the
last 128 mini-batches (328 points); ground truth = 640 trainings of 39,200 mini-batches (each
evaluates its one child at 328 points), trained `--pack` seeds per packed model.
"""

from __future__ import annotations

import argparse
import json
import math

import torch
from torch.utils.flop_counter import FlopCounterMode

from nas.core.config import RunConfig
from nas.model.evaluate import evaluate_scores
from nas.model.opcount import operator_calls
from nas.model.packed import build_packed
from nas.model.supernet import build_supernet
from nas.run.data import Split
from nas.run.train import make_optimizer, train_step

BATCH, N_TRAIN, N_VAL, EPOCHS, DENSE = 256, 50_000, 10_000, 200, 128
COUNT_BATCH = 8  # FLOPs are linear in the batch: count on a small one, scale up


def _flops(fn) -> float:
    """Convolution and matmul FLOPs of fn, which must not run a backward pass:
    torch.utils.flop_counter overcounts the backward of grouped convolutions by the group
    count (seen with torch 2.14), so training is priced as 3x its forward below."""
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return float(counter.get_total_flops())


def _kernels(fn) -> int:
    """Kernel-launching operator calls of fn (nas.model.opcount, torch.profiler)."""
    return sum(operator_calls(fn).values())


def train_step_cost(pack: int) -> tuple[float, int]:
    """Mean (FLOPs per mini-batch of BATCH, kernels) of a training step over all children;
    `pack` > 1: a packed step of that many models.
    FLOPs: 3x the forward's (forward, input gradient, weight gradient)."""
    cfg = RunConfig(dataset="cifar10", device="cpu", channels_last=False)
    children = cfg.run_children()
    if pack > 1:
        model, step = build_packed(cfg, list(range(pack)), 10, "cpu"), train_step
    else:
        model, step = build_supernet(cfg, 10), train_step
    opt = make_optimizer(cfg, model)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(COUNT_BATCH, 3, 32, 32, generator=gen)
    y = torch.randint(0, 10, (COUNT_BATCH,), generator=gen)
    if pack > 1:  # each packed model reads its own images (data_seed follows the init seed)
        x = torch.cat([x] * pack, dim=1)
    flops, kernels = 0.0, 0
    for c in children:
        with torch.no_grad():
            flops += 3 * _flops(lambda c=c: model(x, c))
        kernels += _kernels(lambda c=c: step(cfg, model, opt, x, y, c))
    n = len(children)
    return flops / n * BATCH / COUNT_BATCH, round(kernels / n)


def eval_cost(eval_batch: int) -> tuple[float, int]:
    """(FLOPs, kernels) of evaluating all 64 children on N_VAL images with the GPU's engine
    (nas.model.engine_batched), one pass per `eval_batch` images: it assumes the GPU holds a pass
    of that many images (`nas bench` on a GPU reports the pass it takes and its peak)."""
    cfg = RunConfig(dataset="cifar10", device="cpu", channels_last=False)
    model = build_supernet(cfg, 10)
    children = cfg.run_children()
    gen = torch.Generator().manual_seed(0)
    val = Split(
        torch.randn(COUNT_BATCH, 3, 32, 32, generator=gen),
        torch.randint(0, 10, (COUNT_BATCH,), generator=gen),
    )

    def run():  # one pass: COUNT_BATCH is below the GPU's images per pass
        return evaluate_scores(model, children, val, COUNT_BATCH, engine="batched")

    flops, kernels = _flops(run), _kernels(run)
    return flops * N_VAL / COUNT_BATCH, kernels * math.ceil(N_VAL / eval_batch)


def seconds(flops: float, kernels: int, args) -> float:
    return flops / (args.peak_tflops * 1e12 * args.efficiency) + kernels * args.us_per_kernel * 1e-6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peak-tflops", type=float, default=67.0)
    ap.add_argument("--efficiency", type=float, default=0.15)
    ap.add_argument("--us-per-kernel", type=float, default=8.0)
    ap.add_argument("--pack", type=int, default=10)
    ap.add_argument("--eval-batch", type=int, default=2000)
    args = ap.parse_args()
    torch.set_num_threads(1)

    steps = EPOCHS * math.ceil(N_TRAIN / BATCH)
    points = EPOCHS + DENSE
    tf, tk = train_step_cost(1)
    pf, pk = train_step_cost(args.pack)
    ef, ek = eval_cost(args.eval_batch)
    one_child_eval = (ef / 64, ek // 64)  # a ground-truth run evaluates its one child

    share_train = steps * seconds(tf, tk, args)
    share_eval = points * seconds(ef, ek, args)
    gt_packs = math.ceil(640 / args.pack)
    gt_train = gt_packs * steps * seconds(pf, pk, args)
    gt_eval = 640 * points * seconds(*one_child_eval, args)
    out = {
        "model": {k: getattr(args, k) for k in ("peak_tflops", "efficiency", "us_per_kernel")},
        "train_step": {"gflops": round(tf / 1e9, 2), "kernels": tk},
        f"packed_train_step_x{args.pack}": {"gflops": round(pf / 1e9, 2), "kernels": pk},
        "eval_64_children_10k_images": {"gflops": round(ef / 1e9, 1), "kernels": ek},
        "share_all_instance_minutes": {
            "train": round(share_train / 60, 1),
            "eval": round(share_eval / 60, 1),
            "total": round((share_train + share_eval) / 60, 1),
        },
        "ground_truth_gpu_hours": {
            "packed_jobs": gt_packs,
            "train": round(gt_train / 3600, 2),
            "eval": round(gt_eval / 3600, 2),
            "total": round((gt_train + gt_eval) / 3600, 2),
            "unpacked_total": round((640 * steps * seconds(tf, tk, args) + gt_eval) / 3600, 2),
        },
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
