"""Training one super-net instance (or one group), with dense evaluation, snapshots and resume.

Every random choice is random-access from explicit seeds (data order per epoch, augmentation
per step, child per step), so a run resumed from a checkpoint at any step produces exactly
the records of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import math
import platform
import signal
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from nas import __version__
from nas.config import RunConfig, check_dense_window, validate
from nas.data import Dataset, augment, load_dataset
from nas.evaluate import evaluate_children
from nas.records import Record, atomic_write_bytes, atomic_write_text, write_json, write_records
from nas.schedule import ChildSchedule, derived_seed
from nas.supernet import SuperNet, build_supernet

STOP_SIGNALS = (signal.SIGTERM, signal.SIGURG)


class Interrupted(SystemExit):
    """Raised after a checkpoint was saved because SLURM (or a person) asked the job to stop."""


def lr_at(cfg: RunConfig, epoch: int) -> float:
    """Cosine annealing without restart, per epoch (as torch's CosineAnnealingLR)."""
    cos = (1 + math.cos(math.pi * epoch / cfg.epochs)) / 2
    return cfg.lr_min + (cfg.lr - cfg.lr_min) * cos


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def setup_torch(cfg: RunConfig) -> torch.device:
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.backends.cudnn.deterministic = True  # as the paper did
    torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = cfg.precision == "tf32"
    torch.backends.cudnn.allow_tf32 = cfg.precision == "tf32"
    return resolve_device(cfg.device)


def precision_context(cfg: RunConfig, device: torch.device):
    """bfloat16 autocast when cfg.precision is "bf16" (off by default: it changes records)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16")


def load_run_data(cfg: RunConfig, device: torch.device) -> Dataset:
    data = load_dataset(
        cfg.dataset,
        cfg.data_root,
        validation=cfg.validation,
        holdout=cfg.holdout,
        split_seed=cfg.data_seed,
        device=device,
    )
    check_dense_window(cfg, cfg.steps_per_epoch(len(data.train)))
    return data


class BatchSource:
    """The mini-batch for any global step: epoch permutation and augmentation from seeds."""

    def __init__(self, cfg: RunConfig, data: Dataset) -> None:
        self.cfg, self.data = cfg, data
        self.spe = cfg.steps_per_epoch(len(data.train))
        self._perm_epoch, self._perm = -1, None

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, b = divmod(step, self.spe)
        if epoch != self._perm_epoch:
            gen = torch.Generator().manual_seed(derived_seed(self.cfg.data_seed, 1, epoch))
            perm = torch.randperm(len(self.data.train), generator=gen)
            self._perm, self._perm_epoch = perm.to(self.data.train.images.device), epoch
        idx = self._perm[b * self.cfg.batch_size : (b + 1) * self.cfg.batch_size]
        gen = torch.Generator().manual_seed(derived_seed(self.cfg.data_seed, 2, step))
        x = augment(
            self.data.train.images[idx], self.data.crop_padding, gen, fill=self.data.pad_fill
        )
        if self.cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, self.data.train.labels[idx]


def make_optimizer(cfg: RunConfig, model: SuperNet) -> torch.optim.SGD:
    """One SGD over all copies: momentum buffers belong to the weight copy they update."""
    return torch.optim.SGD(
        model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )


def train_step(cfg: RunConfig, model: SuperNet, opt, x, y, child: str) -> torch.Tensor:
    """One mini-batch on one child. grad_clear="zero" is what the paper's code did
    (PyTorch <= 1.x zero_grad): ops used before keep a zero gradient, so weight decay and
    momentum still move them when they are not selected. "none" leaves them untouched."""
    opt.zero_grad(set_to_none=cfg.grad_clear == "none")
    with precision_context(cfg, x.device):
        logits = model(x, child)
    loss = F.cross_entropy(logits.float(), y)
    loss.backward()
    opt.step()
    return loss.detach()


def grad_names(model: SuperNet) -> list[str]:
    return [n for n, p in model.named_parameters() if p.grad is not None]


def restore_grads(model: SuperNet, names: list[str]) -> None:
    """Recreate the zero gradients a checkpointed run held (they change what SGD updates)."""
    wanted = set(names)
    for n, p in model.named_parameters():
        p.grad = torch.zeros_like(p) if n in wanted else None


def save_state(path: Path, cfg, model, opt, step: int, extra: dict[str, Any]) -> None:
    import io

    buf = io.BytesIO()
    state = {
        "config": cfg.to_dict(),
        "step": step,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "grad_names": grad_names(model),
        **extra,
    }
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_state(path: Path, cfg: RunConfig, model, opt) -> dict[str, Any]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state["config"] != cfg.to_dict():
        raise ValueError(
            f"{path} was written by a different config; delete it to start this run afresh"
        )
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    restore_grads(model, state["grad_names"])
    return state


class StopFlag:
    """Turns SIGTERM/SIGURG into a flag checked between mini-batches. Nested uses share the
    outermost flag, so a signal while a packed job sets up its next group is not lost."""

    _active: StopFlag | None = None

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict = {}
        self._owner = False

    def __enter__(self) -> StopFlag:
        if StopFlag._active is not None:
            return StopFlag._active
        self._owner, StopFlag._active = True, self
        for sig in STOP_SIGNALS:
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.signum = signum

    def __exit__(self, *exc) -> None:
        if self._owner:
            for sig, old in self._old.items():
                signal.signal(sig, old)
            StopFlag._active, self._owner = None, False


def _eval_records(cfg, model, children, data, kind, epoch, step, trained) -> list[Record]:
    with precision_context(cfg, data.val.labels.device):
        scores = evaluate_children(
            model, children, data.val, cfg.eval_batch_size, cfg.channels_last
        )
    return [Record(kind, epoch, step, trained, c, acc, loss) for c, (acc, loss) in scores.items()]


def _as_epoch_records(dense: list[Record], epoch: int) -> list[Record]:
    """The last dense point is also an epoch point: reuse its evaluation."""
    return [
        Record("epoch", epoch, r.step, r.trained_child, r.child, r.accuracy, r.loss) for r in dense
    ]


def run_training(
    cfg: RunConfig,
    out_dir: str | Path,
    checkpoint: str | Path | None = None,
    log=print,
) -> Path:
    """Train one instance; write records.csv and run.json into out_dir. Resumes from
    `checkpoint` (default out_dir/resume.pt) if it exists; SIGTERM/SIGURG save it and exit."""
    with StopFlag() as stop:
        return _train(cfg, Path(out_dir), checkpoint, log, stop)


def _train(cfg: RunConfig, out_dir: Path, checkpoint, log, stop: StopFlag) -> Path:
    ckpt = Path(checkpoint) if checkpoint else out_dir / "resume.pt"
    device = setup_torch(cfg)
    data = load_run_data(cfg, device)
    model = build_supernet(cfg, data.n_classes).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(cfg, model)
    children = cfg.run_children()
    schedule = ChildSchedule(children, cfg.order, cfg.order_seed)
    batches = BatchSource(cfg, data)
    spe, total = batches.spe, cfg.epochs * batches.spe
    dense_from = total - cfg.dense_last
    eval_epochs = cfg.eval_epoch_set()

    step, records, timing = 0, [], {"train_s": 0.0, "eval_s": 0.0, "attempts": 1}
    if ckpt.exists():
        state = load_state(ckpt, cfg, model, opt)
        step, records, timing = state["step"], state["records"], state["timing"]
        timing["attempts"] += 1
        log(f"resumed from {ckpt} at step {step}/{total}")

    def checkpoint_now() -> None:
        save_state(ckpt, cfg, model, opt, step, {"records": records, "timing": timing})

    model.train()
    while step < total:
        t0 = time.perf_counter()
        epoch = step // spe
        for group in opt.param_groups:
            group["lr"] = lr_at(cfg, epoch)
        x, y = batches.batch(step)
        child = schedule.child_at(step)
        train_step(cfg, model, opt, x, y, child)
        step += 1
        t1 = time.perf_counter()
        timing["train_s"] += t1 - t0
        evaluated = None
        if step > dense_from:
            evaluated = _eval_records(cfg, model, children, data, "dense", epoch + 1, step, child)
            records += evaluated
        if step % spe == 0:
            done = step // spe
            if done in eval_epochs:
                records += (
                    _as_epoch_records(evaluated, done)
                    if evaluated
                    else _eval_records(cfg, model, children, data, "epoch", done, step, child)
                )
            if done in cfg.snapshot_epochs:
                save_state(
                    out_dir / "snapshots" / f"epoch_{done}.pt",
                    cfg,
                    model,
                    opt,
                    step,
                    {"epoch": done},
                )
            timing["eval_s"] += time.perf_counter() - t1
            checkpoint_now()
            log(f"epoch {done}/{cfg.epochs} done (step {step})")
        else:
            timing["eval_s"] += time.perf_counter() - t1
        if stop.signum is not None:
            checkpoint_now()
            log(f"signal {stop.signum}: checkpoint saved at step {step}; exiting")
            raise Interrupted(128 + stop.signum)

    write_records(out_dir / "records.csv", records)
    write_json(out_dir / "run.json", run_info(cfg, device, children, total, timing))
    ckpt.unlink(missing_ok=True)
    return out_dir / "records.csv"


def run_info(cfg, device, children, total_steps, timing) -> dict[str, Any]:
    return {
        "config": cfg.to_dict(),
        "children": children,
        "total_steps": total_steps,
        "device": str(device),
        "torch": torch.__version__,
        "nas": __version__,
        "host": platform.node(),
        "timing": timing,
    }


def run_groups(cfg: RunConfig, groups: list[int], out_dir: str | Path, log=print) -> Path:
    """Train several groups of one partition in one process (packing many short runs into
    one allocation), one after another. Each group keeps its own folder, so a stopped job
    skips the groups it finished; records.csv concatenates them in group order."""
    out_dir = Path(out_dir)
    with StopFlag() as stop:
        for g in groups:
            _train_group(cfg, g, out_dir / f"g{g:03d}", stop, log)
    return concat_records([out_dir / f"g{g:03d}" / "records.csv" for g in groups], out_dir)


def concat_records(files: list[Path], out_dir: Path) -> Path:
    """out_dir/records.csv: the groups' records one after another (one header)."""
    parts = [f.read_text() for f in files]
    header = parts[0].split("\n", 1)[0]
    body = "".join(p.split("\n", 1)[1] for p in parts)
    atomic_write_text(out_dir / "records.csv", header + "\n" + body)
    return out_dir / "records.csv"


def _train_group(cfg: RunConfig, g: int, sub: Path, stop: StopFlag, log) -> None:
    """One group of a packed job; finished groups are skipped, a pending signal stops here."""
    if stop.signum is not None:
        raise Interrupted(128 + stop.signum)
    if not (sub / "records.csv").exists():
        gcfg = validate(dataclasses.replace(cfg, group=g))
        log(f"group {g} of {cfg.m}: children {gcfg.run_children()}")
        run_training(gcfg, sub, log=log)
