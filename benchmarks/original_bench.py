"""Throughput of the paper's own code, at `nas bench`'s settings, for a side-by-side figure.

The paper's code (github.com/ultmaster/deeper-insights-weight-sharing) is not part of this
project and none of it is copied here: pass a checkout of it with --repo. This script drives
its model the way its search.py does for a share-all instance with its
experiments/final/share_all_ep200.yml (SearchCNNController, 4 cells of 2 nodes, alphas fixed
to one child; per step: model.train(), zero_grad, forward, cross-entropy, backward, SGD step
(w_grad_clip 0: no clipping), top-1/top-5 accuracy and .item(); validation: model.eval(),
no_grad, per batch logits, loss, accuracy, .item()), on
the same synthetic on-device inputs as `nas bench` (batch 256, 3x32x32, float32, NCHW as
the original), so data loading is excluded for both.

    python benchmarks/original_bench.py --repo PATH [--train-steps 8] [--eval-images 256]

Prints JSON: original_train_images_per_s (best of --repeats rounds of --train-steps steps
over varying children) and original_eval_child_images_per_s (all 64 children, each
validated on --eval-images images in batches of 256). benchmarks/run_bench.sh runs it
next to `nas bench` when ORIGINAL_REPO is set.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time

import torch
from torch import nn


def _accuracy(logits: torch.Tensor, y: torch.Tensor, topk=(1, 5)) -> list[torch.Tensor]:
    """Top-k accuracy as pt.darts' utils.accuracy computes it (the original's helper)."""
    _, pred = logits.topk(max(topk), 1, True, True)
    correct = pred.t().eq(y.view(1, -1).expand(max(topk), -1))
    return [correct[:k].reshape(-1).float().sum(0).mul_(1.0 / len(y)) for k in topk]


def _commit(repo: str) -> str:
    try:
        return subprocess.run(
            ["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repo", required=True, help="checkout of the paper's code")
    p.add_argument("--train-steps", type=int, default=8)
    p.add_argument("--eval-images", type=int, default=256)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    if not os.path.isfile(os.path.join(args.repo, "models", "search_cnn.py")):
        sys.exit(f"--repo {args.repo}: no models/search_cnn.py there (the paper's code?)")
    sys.path.insert(0, os.path.abspath(args.repo))
    from models.search_cnn import SearchCNNController  # the paper's code

    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(256, 3, 32, 32, generator=gen), torch.randint(0, 10, (256,), generator=gen)
    n_val = args.eval_images
    vx = torch.randn(n_val, 3, 32, 32, generator=gen)
    vy = torch.randint(0, 10, (n_val,), generator=gen)
    model = SearchCNNController(3, 16, 10, 4, nn.CrossEntropyLoss(), n_nodes=2, bn_momentum=0.4)
    opt = torch.optim.SGD(model.weights(), 0.025, momentum=0.9, weight_decay=1e-3)
    children = list(itertools.product(range(4), repeat=3))
    uniform = [c for c in children if len(set(c)) == 1]

    def step(child) -> None:
        model.generate_and_fill_alphas("fixed", select=list(child))
        model.train()
        opt.zero_grad()
        logits = model(x)
        loss = model.criterion(logits, y)
        loss.backward()
        opt.step()
        prec1, prec5 = _accuracy(logits, y)
        loss.item(), prec1.item(), prec5.item()

    def validate(child, n: int) -> None:
        model.generate_and_fill_alphas("fixed", select=list(child))
        model.eval()
        with torch.no_grad():
            for s in range(0, n, 256):
                logits = model(vx[s : s + 256])
                loss = model.criterion(logits, vy[s : s + 256])
                prec1, prec5 = _accuracy(logits, vy[s : s + 256])
                loss.item(), prec1.item(), prec5.item()

    out = {
        "original_repo_commit": _commit(args.repo),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_avg_start": [round(v, 2) for v in os.getloadavg()],
    }
    for child in uniform:  # warm-up: every op on every edge once
        step(child)
    t = _best(
        lambda: [step(children[((i + 2) * 7) % 64]) for i in range(args.train_steps)],
        args.repeats,
    )
    out["original_train_images_per_s"] = round(args.train_steps * 256 / t, 1)
    for child in uniform:
        validate(child, 8)
    t = _best(lambda: [validate(c, n_val) for c in children], args.repeats)
    out["original_eval_child_images_per_s"] = round(len(children) * n_val / t, 1)
    out["load_avg_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
