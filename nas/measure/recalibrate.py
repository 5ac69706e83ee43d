"""BN recalibration: evaluate each child with batch-norm statistics of its own.

The paper evaluates every child with the super-net's running BN statistics (eval mode), which
average the activations of all children trained in the last few hundred steps, not the
child's own. Users of one-shot NAS keep asking whether recomputing them per child first
changes the ranking (e.g. megvii-model/SinglePathOneShot issue 6). Here a child's statistics
are recomputed on N training mini-batches (cumulative average, so the super-net's values do
not leak in), the child is evaluated, and every BN buffer is put back, so the next child starts
from the super-net as trained. N = 0 is the paper's evaluation.

The mini-batches are the run's own, from the snapshot's step on (BatchSource), so every child
sees the same images and the result is deterministic. nas.analysis.recalibration tables what this
writes, without torch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nas.core.config import RunConfig
from nas.core.records import atomic_write_text
from nas.model.evaluate import evaluate_children
from nas.model.supernet import SuperNet, build_supernet
from nas.run.bnstate import batch_norms, kept_bn_state
from nas.run.train import BatchSource, load_run_data, load_state, precision_context, setup_torch

CSV_COLUMNS = ["batches", "child", "acc", "loss", "seconds"]


@torch.no_grad()
def recalibrate(model: SuperNet, child: str, batches: Sequence[torch.Tensor]) -> None:
    """Replace the BN statistics with the cumulative average over `batches` of the child's
    own activations (momentum None); the model is left in eval mode. Use inside
    kept_bn_state to get the super-net's statistics back."""
    if not batches:
        model.eval()
        return
    for bn in batch_norms(model):
        bn.reset_running_stats()
        bn.momentum = None
    model.train()
    for x in batches:
        model(x, child)
    model.eval()


def check_batch_counts(counts: Sequence[int]) -> list[int]:
    counts = list(counts)
    bad = [n for n in counts if not isinstance(n, int) or n < 0]
    if bad or not counts:
        raise ValueError(f"recalibration batch counts must be integers >= 0, got {counts}")
    if len(set(counts)) != len(counts):
        raise ValueError(f"recalibration batch counts repeat: {counts}")
    return counts


def run_recalibration(
    cfg: RunConfig,
    snapshot: str | Path,
    batch_counts: Sequence[int],
    out_path: str | Path,
    children: list[str] | None = None,
    log=print,
) -> Path:
    """Each child evaluated (the epoch points' split) from `snapshot`'s weights after its BN
    statistics are recomputed on N training mini-batches, for each N of `batch_counts`;
    writes CSV_COLUMNS (one row per N and child) atomically."""
    counts = check_batch_counts(batch_counts)
    device = setup_torch(cfg)
    data = load_run_data(cfg, device)
    source = BatchSource(cfg, data)
    model = build_supernet(cfg, data.n_classes).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    start = int(load_state(Path(snapshot), cfg, model)["step"])  # weights only
    batches = [source.batch(start + i)[0] for i in range(max(counts))]
    val = cfg.eval_split(data.val, "epoch")
    rows = []
    for n in counts:
        for child in children or cfg.eval_children():
            began = time.perf_counter()
            with kept_bn_state(model), precision_context(cfg, device):
                recalibrate(model, child, batches[:n])
                acc, loss = evaluate_children(
                    model, [child], val, cfg.eval_batch_size, cfg.channels_last, cfg.eval_engine
                )[child]
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            rows.append((n, child, acc, loss, time.perf_counter() - began))
        mean_acc = np.mean([r[2] for r in rows if r[0] == n])
        log(f"recalibrated on {n} mini-batches: mean accuracy {mean_acc:.4f}")
    table = pd.DataFrame(rows, columns=CSV_COLUMNS)
    atomic_write_text(out_path, table.to_csv(index=False))
    return Path(out_path)
