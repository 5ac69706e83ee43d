"""Finetuning every child alone from a super-net snapshot (paper Figure 4, Insight 2)."""

from __future__ import annotations

from pathlib import Path

import torch

from nas.core.config import RunConfig
from nas.core.records import Record, write_records
from nas.model.evaluate import evaluate_children
from nas.model.supernet import build_supernet
from nas.run.train import (
    BatchSource,
    load_run_data,
    load_state,
    lr_at,
    make_optimizer,
    precision_context,
    setup_torch,
    train_step,
)


def run_finetune(
    cfg: RunConfig,
    snapshot: str | Path,
    steps: int,
    out_path: str | Path,
    children: list[str] | None = None,
    log=print,
) -> Path:
    """Each child starts from `snapshot`'s weights, trains alone for `steps` mini-batches
    at the schedule's lr of the snapshot epoch, and is evaluated after each (step 0 = the
    shared weights as they were). Every child sees the same mini-batches. As the paper's
    finetune.py: a fresh SGD (no momentum carried over) and no gradients, so only the
    child's own ops move."""
    if steps < 1:
        raise ValueError(f"finetune steps must be >= 1, got {steps}")
    device = setup_torch(cfg)
    data = load_run_data(cfg, device)
    batches = BatchSource(cfg, data)
    children = children or cfg.eval_children()
    records: list[Record] = []
    for child in children:
        model = build_supernet(cfg, data.n_classes).to(device)
        if cfg.channels_last:
            model = model.to(memory_format=torch.channels_last)
        state = load_state(Path(snapshot), cfg, model)  # weights only: no grads, no momentum
        epoch, start = state["epoch"], state["step"]
        opt = make_optimizer(cfg, model)
        for group in opt.param_groups:
            group["lr"] = lr_at(cfg, epoch)
        model.train()
        for i in range(steps + 1):
            if i:
                x, y = batches.batch(start + i - 1)
                train_step(cfg, model, opt, x, y, child)
            with precision_context(cfg, data.val.labels.device):
                acc, loss = evaluate_children(
                    model,
                    [child],
                    cfg.eval_split(data.val, "finetune"),
                    cfg.eval_batch_size,
                    cfg.channels_last,
                    cfg.eval_engine,
                )[child]
            records.append(Record("finetune", epoch, i, child if i else "", child, acc, loss))
        log(f"finetuned {child} from epoch {epoch} for {steps} steps: acc {acc:.4f}")
    write_records(out_path, records)
    return Path(out_path)
