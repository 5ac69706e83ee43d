"""Training one super-net instance (or one group), with dense evaluation, snapshots and resume.

Every random choice is random-access from explicit seeds (data order per epoch, augmentation
per step, child per step), so a run resumed from a checkpoint at any step produces exactly
the records of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from nas import __version__
from nas.checkpoint import (
    discard_foreign,
    load_checkpoint,
    records_to_rows,
    rows_to_records,
    save_checkpoint,
)
from nas.completeness import snapshot_steps
from nas.config import ConfigError, RunConfig, check_dense_window, validate
from nas.data import Dataset, augment, load_dataset
from nas.evaluate import evaluate_children
from nas.records import Record, atomic_write_text, write_json, write_records
from nas.runfolder import FolderLock, check_folder, check_writable, claim
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
    """The torch device of config key `device`; one this machine lacks is a ConfigError
    here, before any work (not at validation: a login node plans for GPU nodes)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    available = {
        "cuda": torch.cuda.is_available,
        "mps": lambda: torch.backends.mps.is_available(),
    }.get(device.type, lambda: True)
    if not available():
        raise ConfigError(
            f"config key 'device': {name!r} is not available on this machine; "
            "use device=auto (a GPU if there is one) or device=cpu"
        )
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ConfigError(
            f"config key 'device': {name!r}, but this machine has "
            f"{torch.cuda.device_count()} CUDA device(s)"
        )
    return device


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
        split_seed=0 if cfg.data_seed is None else cfg.data_seed,  # one split for a pack
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
            gen = torch.Generator().manual_seed(derived_seed(self.cfg.batch_seed(), 1, epoch))
            perm = torch.randperm(len(self.data.train), generator=gen)
            self._perm, self._perm_epoch = perm.to(self.data.train.images.device), epoch
        idx = self._perm[b * self.cfg.batch_size : (b + 1) * self.cfg.batch_size]
        gen = torch.Generator().manual_seed(derived_seed(self.cfg.batch_seed(), 2, step))
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
    (PyTorch <= 1.x zero_grad): shared ops used before keep a zero gradient, so weight decay
    and momentum still move them when they are not selected. "none" leaves them untouched.
    A child's own (unshared) copies move only on its steps (SuperNet.drop_own_grads)."""
    opt.zero_grad(set_to_none=cfg.grad_clear == "none")
    with precision_context(cfg, x.device):
        logits = model(x, child)
    loss = F.cross_entropy(logits.float(), y)
    loss.backward()
    opt.step()
    model.drop_own_grads(child)
    return loss.detach()


def grad_names(model: SuperNet) -> list[str]:
    return [n for n, p in model.named_parameters() if p.grad is not None]


def restore_grads(model: SuperNet, names: list[str]) -> None:
    """Recreate the zero gradients a checkpointed run held (they change what SGD updates)."""
    wanted = set(names)
    for n, p in model.named_parameters():
        p.grad = torch.zeros_like(p) if n in wanted else None


def save_state(path: Path, cfg, model, opt, step: int, extra: dict[str, Any]) -> None:
    """A checkpoint or snapshot: tensors and plain types only (see nas.checkpoint)."""
    state = {
        "config": cfg.to_dict(),
        "step": step,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "grad_names": grad_names(model),
        **extra,
    }
    save_checkpoint(path, state)


def load_state(path: Path, cfg: RunConfig, model, opt=None) -> dict[str, Any]:
    """Restore a checkpoint or snapshot into `model` and, given `opt`, the optimizer state and
    the gradients it held; without `opt` the weights only (finetuning starts a fresh SGD)."""
    state = load_checkpoint(path)
    if state["config"] != cfg.to_dict():
        raise ValueError(
            f"{path} was written by a different config; delete it (or pass --overwrite) to "
            "start this run afresh"
        )
    model.load_state_dict(state["model"])
    if opt is not None:
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
            model,
            children,
            cfg.eval_split(data.val, kind),
            cfg.eval_batch_size,
            cfg.channels_last,
            cfg.eval_engine,
        )
    return [Record(kind, epoch, step, trained, c, acc, loss) for c, (acc, loss) in scores.items()]


def _relabel(evaluated: list[Record], kind: str, epoch: int) -> list[Record]:
    """A point evaluated once may serve two kinds (the last dense point is also an epoch point,
    a dense point before the last snapshot also a snapshot point): reuse its evaluation."""
    return [
        Record(kind, epoch, r.step, r.trained_child, r.child, r.accuracy, r.loss) for r in evaluated
    ]


@dataclass
class Progress:
    """Where a training run stands: its step, records (a list per model) and timing."""

    step: int = 0
    records: list[list[Record]] = field(default_factory=lambda: [[]])
    timing: dict[str, Any] = field(
        default_factory=lambda: {"train_s": 0.0, "eval_s": 0.0, "attempts": 1}
    )

    def extend(self, new: list[list[Record]]) -> None:
        """Add one evaluation's records (a list per model) to each model's records."""
        for mine, part in zip(self.records, new, strict=True):
            mine += part


@dataclass
class Loop:
    """What differs between a single and a packed run: its step, its evaluation (records per
    model), snapshots, checkpoint, and the suffix of its epoch log line."""

    step: Callable
    evaluate: Callable[[str, int, int, str], list[list[Record]]]
    snapshot: Callable[[int], None]
    checkpoint: Callable[[], None]
    log: Callable[[str], Any]
    log_suffix: str = ""
    batches: Any = None  # an object with batch(step) -> (x, y); default BatchSource(cfg, data)


def run_loop(cfg, model, opt, data, children, run: Progress, loop: Loop, stop: StopFlag) -> None:
    """The training loop of one run from run.step on: lr schedule, child order, dense and
    per-epoch evaluation, snapshots, a checkpoint after every epoch and on a stop signal."""
    schedule = ChildSchedule(children, cfg.order, cfg.order_seed)
    batches = loop.batches or BatchSource(cfg, data)
    spe = cfg.steps_per_epoch(len(data.train))
    total = cfg.epochs * spe
    dense_from = total - cfg.dense_last
    eval_epochs = cfg.eval_epoch_set()
    before_snapshot = snapshot_steps(cfg.snapshot_epochs, cfg.snapshot_dense, spe)
    model.train()
    while run.step < total:
        t0 = time.perf_counter()
        epoch = run.step // spe
        for group in opt.param_groups:
            group["lr"] = lr_at(cfg, epoch)
        x, y = batches.batch(run.step)
        child = schedule.child_at(run.step)
        loop.step(cfg, model, opt, x, y, child)
        run.step += 1
        step = run.step
        t1 = time.perf_counter()
        run.timing["train_s"] += t1 - t0
        evaluated = None
        if step > dense_from:
            evaluated = loop.evaluate("dense", epoch + 1, step, child)
            run.extend(evaluated)
        if step in before_snapshot:
            snap = before_snapshot[step]
            run.extend(
                [_relabel(ev, "snapshot", snap) for ev in evaluated]
                if evaluated
                else loop.evaluate("snapshot", snap, step, child)
            )
        if step % spe == 0:
            done = step // spe
            if done in eval_epochs:
                new = (
                    [_relabel(ev, "epoch", done) for ev in evaluated]
                    if evaluated and not cfg.minibatch_eval_images
                    else loop.evaluate("epoch", done, step, child)
                )
                run.extend(new)
            if done in cfg.snapshot_epochs:
                loop.snapshot(done)
            run.timing["eval_s"] += time.perf_counter() - t1
            loop.checkpoint()
            loop.log(f"epoch {done}/{cfg.epochs} done (step {step}){loop.log_suffix}")
        else:
            run.timing["eval_s"] += time.perf_counter() - t1
        if stop.signum is not None:
            loop.checkpoint()
            loop.log(f"signal {stop.signum}: checkpoint saved at step {step}; exiting")
            raise Interrupted(128 + stop.signum)


def run_training(
    cfg: RunConfig,
    out_dir: str | Path,
    checkpoint: str | Path | None = None,
    log=print,
    overwrite: bool = False,
) -> Path:
    """Train one instance; write records.csv and run.json into out_dir. Resumes from
    `checkpoint` (default out_dir/resume.pt) if it exists; SIGTERM/SIGURG save it and exit.
    A folder finished with this config is left alone; one of another config is refused
    unless `overwrite` (see nas.runfolder)."""
    out_dir = Path(out_dir)
    check_writable(out_dir)
    if check_folder(out_dir, cfg.to_dict(), overwrite):
        log(f"{out_dir}: already finished with these arguments; nothing to do")
        return out_dir / "records.csv"
    with StopFlag() as stop:
        return _train(cfg, out_dir, checkpoint, log, stop, overwrite)


def _train(cfg: RunConfig, out_dir: Path, checkpoint, log, stop: StopFlag, overwrite) -> Path:
    ckpt = Path(checkpoint) if checkpoint else out_dir / "resume.pt"
    device = setup_torch(cfg)
    data = load_run_data(cfg, device)
    with FolderLock(out_dir):
        if claim(out_dir, cfg.to_dict(), overwrite):  # another process finished it meanwhile
            return out_dir / "records.csv"
        if overwrite:
            discard_foreign(ckpt, lambda state: state["config"] == cfg.to_dict(), log)
        return _train_locked(cfg, out_dir, ckpt, log, stop, device, data)


def _train_locked(cfg, out_dir: Path, ckpt: Path, log, stop: StopFlag, device, data) -> Path:
    model = build_supernet(cfg, data.n_classes).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(cfg, model)
    children = cfg.run_children()
    total = cfg.epochs * cfg.steps_per_epoch(len(data.train))
    run = Progress()
    if ckpt.exists():
        state = load_state(ckpt, cfg, model, opt)
        run = Progress(state["step"], [rows_to_records(state["records"])], state["timing"])
        run.timing["attempts"] += 1
        log(f"resumed from {ckpt} at step {run.step}/{total}")

    def checkpoint_now() -> None:
        extra = {"records": records_to_rows(run.records[0]), "timing": run.timing}
        save_state(ckpt, cfg, model, opt, run.step, extra)

    def snapshot(done: int) -> None:
        path = out_dir / "snapshots" / f"epoch_{done}.pt"
        save_state(path, cfg, model, opt, run.step, {"epoch": done})

    def evaluate(kind: str, epoch: int, step: int, trained: str) -> list[list[Record]]:
        return [_eval_records(cfg, model, children, data, kind, epoch, step, trained)]

    loop = Loop(train_step, evaluate, snapshot, checkpoint_now, log)
    run_loop(cfg, model, opt, data, children, run, loop, stop)
    records, timing = run.records[0], run.timing

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


def run_groups(
    cfg: RunConfig, groups: list[int], out_dir: str | Path, log=print, overwrite: bool = False
) -> Path:
    """Train several groups of one partition in one process (packing many short runs into
    one allocation), one after another. Each group keeps its own folder, so a stopped job
    skips the groups it finished; records.csv concatenates them in group order."""
    out_dir = Path(out_dir)
    check_writable(out_dir)
    if check_folder(out_dir, cfg.to_dict(), overwrite) and _groups_done(out_dir) == groups:
        log(f"{out_dir}: groups {groups} already finished with these arguments; nothing to do")
        return out_dir / "records.csv"
    with StopFlag() as stop, FolderLock(out_dir):
        claim(out_dir, cfg.to_dict(), overwrite)
        for g in groups:
            _train_group(cfg, g, group_dir(out_dir, g), stop, log, overwrite)
        return concat_groups(cfg, groups, out_dir)


def _groups_done(out_dir: Path) -> list[int] | None:
    return json.loads((out_dir / "run.json").read_text()).get("groups")


def group_dir(out_dir: Path, g: int) -> Path:
    return out_dir / f"g{g:03d}"


def concat_groups(cfg: RunConfig, groups: list[int], out_dir: Path) -> Path:
    """out_dir/records.csv: the groups' records one after another (one header), and a
    run.json naming the groups, all their children and the run length, from which
    nas.completeness knows what the records must hold."""
    subs = [group_dir(out_dir, g) for g in groups]
    parts = [(d / "records.csv").read_text() for d in subs]
    header = parts[0].split("\n", 1)[0]
    body = "".join(p.split("\n", 1)[1] for p in parts)
    infos = [json.loads((d / "run.json").read_text()) for d in subs]
    info = {
        "config": cfg.to_dict(),
        "groups": groups,
        "children": [c for i in infos for c in i["children"]],
        "total_steps": infos[0]["total_steps"],
        "nas": __version__,
    }
    atomic_write_text(out_dir / "records.csv", header + "\n" + body)
    write_json(out_dir / "run.json", info)
    return out_dir / "records.csv"


def _train_group(cfg: RunConfig, g: int, sub: Path, stop: StopFlag, log, overwrite) -> None:
    """One group of a packed job; finished groups are skipped, a pending signal stops here."""
    if stop.signum is not None:
        raise Interrupted(128 + stop.signum)
    gcfg = validate(dataclasses.replace(cfg, group=g))
    if not check_folder(sub, gcfg.to_dict(), overwrite):
        log(f"group {g} of {cfg.m}: children {gcfg.run_children()}")
        run_training(gcfg, sub, log=log, overwrite=overwrite)
