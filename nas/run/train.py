"""The training driver: one run trains K members, with dense evaluation, snapshots and resume.

A member is one instance of the study (one init seed). K = 1 is a plain run of one SuperNet;
K > 1 trains the members of a seed-packed job as one packed model (the transform is
nas.model.packed), each member with its own mini-batches. Either way the same loop, step,
evaluation, checkpoint format and group loop run, and each member's folder receives the
records.csv, run.json and snapshots of its own run.

Every random choice is random-access from explicit seeds (data order per epoch, augmentation
per step, child per step), so a run resumed from a checkpoint at any step produces exactly
the records of an uninterrupted run.
"""

from __future__ import annotations

import contextlib
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

import pandas as pd
import torch
import torch.nn.functional as F

from nas import __version__
from nas.core.completeness import snapshot_steps
from nas.core.config import (
    LATE_OPTIONS,
    ConfigError,
    RunConfig,
    check_dense_window,
    from_dict,
    validate,
)
from nas.core.records import (
    Record,
    atomic_write_bytes,
    atomic_write_text,
    write_json,
    write_records,
)
from nas.core.schedule import ChildSchedule, derived_seed
from nas.model.evaluate import evaluate_scores
from nas.model.packed import (
    build_packed,
    pack_optimizer_state,
    pack_state,
    unpack_optimizer_state,
    unpack_state,
)
from nas.model.supernet import SuperNet, build_supernet
from nas.run import telemetry
from nas.run.checkpoint import (
    discard_foreign,
    load_checkpoint,
    records_to_rows,
    rows_to_records,
    save_checkpoint,
)
from nas.run.data import Dataset, augment, load_dataset
from nas.run.runfolder import FolderLock, check_folder, check_writable, claim

STOP_SIGNALS = (signal.SIGTERM, signal.SIGURG, signal.SIGINT)  # SIGINT: Ctrl-C


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
    try:
        device = torch.device(name)
    except RuntimeError:  # reached only by a device string that skipped nas.core.config
        raise ConfigError(f"config key 'device': unknown device {name!r}") from None
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


def member_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of one model (logits N x classes), or the sum of the members' mean
    cross-entropies (N x K x classes, labels N x K or shared N), so each member of a packed
    model gets the gradient it would get alone."""
    if logits.dim() == 2:
        return F.cross_entropy(logits, y)
    ys = [y[:, k] if y.dim() == 2 else y for k in range(logits.shape[1])]
    return sum(F.cross_entropy(logits[:, k], yk) for k, yk in enumerate(ys))


def train_step(cfg: RunConfig, model: SuperNet, opt, x, y, child: str) -> torch.Tensor:
    """One mini-batch on one child. grad_clear="zero" is what the paper's code did
    (PyTorch <= 1.x zero_grad): shared ops used before keep a zero gradient, so weight decay
    and momentum still move them when they are not selected. "none" leaves them untouched.
    A child's own (unshared) copies move only on its steps (SuperNet.drop_own_grads)."""
    opt.zero_grad(set_to_none=cfg.grad_clear == "none")
    with precision_context(cfg, x.device):
        logits = model(x, child)
    loss = member_loss(logits.float(), y)
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
    """A snapshot of one model: tensors and plain types only (see nas.run.checkpoint)."""
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
    """Restore a snapshot into `model` and, given `opt`, the optimizer state and the
    gradients it held; without `opt` the weights only (finetuning starts a fresh SGD)."""
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
    """Turns SIGTERM/SIGURG/SIGINT into a flag checked between mini-batches (so Ctrl-C saves
    the checkpoint as SIGTERM does; a second Ctrl-C stops at once). Nested uses share the
    outermost flag, so a signal while a job sets up its next group is not lost."""

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
        if signum == signal.SIGINT and self.signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now, without the checkpoint
        self.signum = signum

    def __exit__(self, *exc) -> None:
        if self._owner:
            for sig, old in self._old.items():
                signal.signal(sig, old)
            StopFlag._active, self._owner = None, False


def _relabel(evaluated: list[list[Record]], kind: str, epoch: int) -> list[list[Record]]:
    """A point evaluated once may serve two kinds (the last dense point is also an epoch point,
    a dense point before the last snapshot also a snapshot point): reuse its evaluation."""
    return [
        [Record(kind, epoch, r.step, r.trained_child, r.child, r.accuracy, r.loss) for r in rs]
        for rs in evaluated
    ]


@dataclass
class Progress:
    """Where a training run stands: its step, records (a list per member) and timing."""

    step: int = 0
    records: list[list[Record]] = field(default_factory=lambda: [[]])
    timing: dict[str, Any] = field(
        default_factory=lambda: {"train_s": 0.0, "eval_s": 0.0, "attempts": 1}
    )
    telemetry: list[tuple] = field(default_factory=list)  # nas.run.telemetry rows, when on

    def extend(self, new: list[list[Record]]) -> None:
        """Add one evaluation's records (a list per member) to each member's records."""
        for mine, part in zip(self.records, new, strict=True):
            mine += part


def member_configs(cfg: RunConfig, init_seeds: list[int]) -> list[RunConfig]:
    return [dataclasses.replace(cfg, init_seed=s) for s in init_seeds]


class MemberBatches:
    """Each member's own mini-batch (BatchSource of its config): for one member, or members
    that share a data seed, that batch; otherwise the members' images stacked along channels
    (N x K*C x H x W) and their labels N x K, which a packed model's stem reads grouped."""

    def __init__(self, members: list[RunConfig], data: Dataset) -> None:
        self.sources = [BatchSource(c, data) for c in members]
        if len({c.batch_seed() for c in members}) == 1:
            self.sources = self.sources[:1]

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        if len(self.sources) == 1:
            return self.sources[0].batch(step)
        xs, ys = zip(*(src.batch(step) for src in self.sources), strict=True)
        return torch.cat(xs, dim=1), torch.stack(ys, dim=1)


@dataclass
class Members:
    """What one run trains: K member configs, their folders, and the model computing them
    all (the SuperNet itself for K = 1, a packed one otherwise)."""

    configs: list[RunConfig]
    dirs: list[Path]
    model: SuperNet
    children: list[str]
    n_classes: int

    @property
    def packed(self) -> bool:
        return len(self.configs) > 1

    @property
    def identity(self) -> dict[str, Any]:
        """What a checkpoint of this run must have been written by."""
        return {"config": self.configs[0].to_dict(), "init_seeds": self.seeds}

    @property
    def seeds(self) -> list[int]:
        return [c.init_seed for c in self.configs]


def build_members(configs: list[RunConfig], dirs: list[Path], n_classes: int, device) -> Members:
    cfg = configs[0]
    if len(configs) == 1:
        model = build_supernet(cfg, n_classes).to(device)
        if cfg.channels_last:
            model = model.to(memory_format=torch.channels_last)
    else:
        model = build_packed(cfg, [c.init_seed for c in configs], n_classes, device)
    return Members(configs, dirs, model, cfg.run_children(), n_classes)


def evaluate_members(
    members: Members, data: Dataset, kind: str, epoch: int, step: int, trained: str
) -> list[list[Record]]:
    """Every child the point scores (config eval_sample) evaluated with each member's
    weights: a list of records per member."""
    cfg, model = members.configs[0], members.model
    children = cfg.eval_children(final=kind == "epoch" and epoch == cfg.epochs)
    k = len(members.configs) if members.packed else 0
    with precision_context(cfg, data.val.labels.device):
        acc, loss = evaluate_scores(
            model,
            children,
            cfg.eval_split(data.val, kind),
            cfg.eval_batch_size,
            cfg.channels_last,
            k,
            cfg.eval_engine,
        )
    if members.packed:  # each score is a list over the members
        per_member = [[(a[i], lo[i]) for a, lo in zip(acc, loss, strict=True)] for i in range(k)]
    else:
        per_member = [list(zip(acc, loss, strict=True))]
    return [
        [
            Record(kind, epoch, step, trained, c, *score)
            for c, score in zip(children, scores, strict=True)
        ]
        for scores in per_member
    ]


def member_states(members: Members, opt) -> list[tuple[SuperNet, Any]]:
    """(model, optimizer) of each member as a separate run would hold them: the run's own
    for K = 1, unpacked copies for a packed model (so snapshots load in nas.measure.finetune)."""
    if not members.packed:
        return [(members.model, opt)]
    names, opt_state, out = grad_names(members.model), opt.state_dict(), []
    for k, cfg in enumerate(members.configs):
        single = build_supernet(cfg, members.n_classes)
        single.load_state_dict(unpack_state(members.model, k))
        single_opt = make_optimizer(cfg, single)
        single_opt.load_state_dict(unpack_optimizer_state(members.model, opt_state, k))
        restore_grads(single, names)
        out.append((single, single_opt))
    return out


@dataclass
class Loop:
    """The run's hooks the loop calls: step, evaluation (records per member), snapshot,
    checkpoint and log."""

    members: Members
    data: Dataset
    opt: Any
    ckpt: Path
    run: Progress
    log: Callable[[str], Any]

    def evaluate(self, kind: str, epoch: int, step: int, trained: str) -> list[list[Record]]:
        return evaluate_members(self.members, self.data, kind, epoch, step, trained)

    def snapshot(self, done: int) -> None:
        pairs = member_states(self.members, self.opt)
        for cfg, out, (model, opt) in zip(
            self.members.configs, self.members.dirs, pairs, strict=True
        ):
            path = out / "snapshots" / f"epoch_{done}.pt"
            save_state(path, cfg, model, opt, self.run.step, {"epoch": done})

    def checkpoint(self) -> None:
        """One format for every run: the run's identity, model, optimizer and gradients held,
        and each member's records so far."""
        model = self.members.model
        state = {
            **self.members.identity,
            "step": self.run.step,
            "model": model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "grad_names": grad_names(model),
            "records": [records_to_rows(r) for r in self.run.records],
            "timing": self.run.timing,
        }
        if self.members.configs[0].telemetry_children:
            state["telemetry"] = [list(row) for row in self.run.telemetry]
        save_checkpoint(self.ckpt, state)

    def resume(self, total: int) -> bool:
        """Continue from the checkpoint if there is one (written by this very run)."""
        if not self.ckpt.exists():
            return False
        state = load_checkpoint(self.ckpt)
        if _identity_of(state) != self.members.identity:
            raise ValueError(
                f"{self.ckpt} was written by a different config or seed list; delete it (or "
                "pass --overwrite) to start this run afresh"
            )
        self.members.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        restore_grads(self.members.model, state["grad_names"])
        records = [rows_to_records(r) for r in state["records"]]
        telemetry = [tuple(row) for row in state.get("telemetry", [])]
        self.run = Progress(state["step"], records, state["timing"], telemetry)
        self.run.timing["attempts"] += 1
        self.log(f"resumed from {self.ckpt} at step {self.run.step}/{total}")
        return True


# Keys a warm start's snapshot must share with the run: what its weights and SGD state mean
WARM_KEYS = (
    "dataset", "validation", "holdout", "search_space", "n_nodes", "ops", "n_cells",
    "stem_channels",
    "cell_channels", "bn_momentum", "epochs", "batch_size", "lr", "lr_min", "momentum",
    "weight_decay", "grad_clear", "init_seed", "data_seed", "precision", "step_share",
)  # fmt: skip


def warm_state(cfg: RunConfig, steps_per_epoch: int) -> dict[str, Any]:
    """The snapshot a warm start begins from (config warm_start, its {seed} this member's),
    refused unless it was taken at warm_epoch by a fully shared run of the same training."""
    path = Path(cfg.warm_start.replace("{seed}", str(cfg.init_seed)))
    if not path.is_file():
        raise ConfigError(f"config key 'warm_start': no snapshot {path}")
    state = load_checkpoint(path)
    theirs = state["config"]
    differ = [k for k in WARM_KEYS if theirs.get(k, LATE_OPTIONS.get(k)) != getattr(cfg, k)]
    if differ or theirs.get("sharing") not in ("all", "groups"):
        what = f"differs in {differ}" if differ else f"is of sharing {theirs.get('sharing')!r}"
        raise ConfigError(f"config key 'warm_start': snapshot {path} {what}")
    unseen = sorted(set(cfg.run_children()) - set(_snapshot_children(theirs, path)))
    if unseen:
        raise ConfigError(
            f"config key 'warm_start': snapshot {path} is of a group that never trained "
            f"children {unseen[:8]}{' ...' if len(unseen) > 8 else ''}: warm-start from a "
            "fully shared snapshot, or from the same partition's group"
        )
    start = cfg.warm_epoch * steps_per_epoch
    if state.get("epoch") != cfg.warm_epoch or state["step"] != start:
        raise ConfigError(
            f"config key 'warm_start': snapshot {path} is of epoch {state.get('epoch')} "
            f"(step {state['step']}), not warm_epoch {cfg.warm_epoch} (step {start})"
        )
    return state


def _snapshot_children(theirs: dict[str, Any], path: Path) -> list[str]:
    """The children the snapshot's run trained (all of them for share-all)."""
    try:
        return from_dict(dict(theirs)).run_children()
    except ConfigError as err:
        where = f"config key 'warm_start': snapshot {path}"
        raise ConfigError(f"{where} holds no valid config ({err})") from None


def warm_start(loop: Loop, steps_per_epoch: int) -> None:
    """Begin at the snapshots' step with their weights, BN statistics, SGD momentum and the
    gradients they held: each member from its own seed's snapshot, packed if need be."""
    members, states = loop.members, [warm_state(c, steps_per_epoch) for c in loop.members.configs]
    if members.packed:
        members.model.load_state_dict(pack_state(members.model, [s["model"] for s in states]))
        loop.opt.load_state_dict(
            pack_optimizer_state(members.model, [s["optimizer"] for s in states])
        )
    else:
        members.model.load_state_dict(states[0]["model"])
        loop.opt.load_state_dict(states[0]["optimizer"])
    restore_grads(members.model, states[0]["grad_names"])
    loop.run.step = states[0]["step"]
    loop.log(f"warm start at step {loop.run.step} from {members.configs[0].warm_start}")


def _telemetry(cfg: RunConfig, model, x, y, child: str, children, step: int) -> list[tuple]:
    """nas.run.telemetry's rows before mini-batch `step` + 1 (timed apart from training)."""
    with precision_context(cfg, x.device):
        k, seed = cfg.telemetry_children, cfg.init_seed
        return telemetry.sample(model, x, y, child, children, k, seed, step + 1)


def run_loop(loop: Loop, stop: StopFlag) -> None:
    """The training loop from loop.run.step on: lr schedule, child order, dense and
    per-epoch evaluation, snapshots, a checkpoint after every epoch and on a stop signal."""
    cfg, data, model, opt = loop.members.configs[0], loop.data, loop.members.model, loop.opt
    schedule = ChildSchedule(loop.members.children, cfg.order, cfg.order_seed)
    batches = MemberBatches(loop.members.configs, data)
    spe = cfg.steps_per_epoch(len(data.train))
    total = cfg.epochs * spe
    dense_from = total - cfg.dense_last
    eval_epochs = cfg.eval_epoch_set()
    before_snapshot = snapshot_steps(cfg.snapshot_epochs, cfg.snapshot_dense, spe)
    suffix = f", {len(loop.members.configs)} packed models" if loop.members.packed else ""
    run = loop.run
    model.train()
    while run.step < total:
        t0 = time.perf_counter()
        epoch = run.step // spe
        for group in opt.param_groups:
            group["lr"] = lr_at(cfg, epoch)
        x, y = batches.batch(run.step)
        child = schedule.child_at(run.step)
        if cfg.telemetry_children and run.step >= dense_from:
            t_tel = time.perf_counter()
            run.telemetry += _telemetry(cfg, model, x, y, child, loop.members.children, run.step)
            spent = time.perf_counter() - t_tel
            run.timing["telemetry_s"] = run.timing.get("telemetry_s", 0.0) + spent
            t0 += spent
        train_step(cfg, model, opt, x, y, child)
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
                _relabel(evaluated, "snapshot", snap)
                if evaluated
                else loop.evaluate("snapshot", snap, step, child)
            )
        if step % spe == 0:
            done = step // spe
            if done in eval_epochs:
                new = (
                    _relabel(evaluated, "epoch", done)
                    if evaluated and not cfg.minibatch_eval_images
                    else loop.evaluate("epoch", done, step, child)
                )
                run.extend(new)
            if done in cfg.snapshot_epochs:
                loop.snapshot(done)
            run.timing["eval_s"] += time.perf_counter() - t1
            loop.checkpoint()
            loop.log(f"epoch {done}/{cfg.epochs} done (step {step}){suffix}")
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
    """Train one instance (a run of one member); see train_members."""
    return train_members(cfg, [cfg.init_seed], [out_dir], checkpoint, log, overwrite)[0]


def train_members(
    cfg: RunConfig,
    init_seeds: list[int],
    out_dirs: list[str | Path],
    checkpoint: str | Path | None = None,
    log=print,
    overwrite: bool = False,
) -> list[Path]:
    """Train one instance per init seed (cfg otherwise as given), all in one model, and write
    each seed's records.csv and run.json into its out_dir. Seeds whose out_dir holds their
    finished run are skipped; a folder of another config is refused unless `overwrite`
    (nas.run.runfolder). Resumes from `checkpoint` (default: resume.pt in the first pending
    out_dir); SIGTERM/SIGURG save it and exit."""
    if len(init_seeds) != len(out_dirs) or not init_seeds:
        raise ValueError("give one out_dir per init seed (and at least one seed)")
    if len(set(init_seeds)) != len(init_seeds):
        raise ValueError(f"init seeds repeat: {init_seeds}")
    members = member_configs(cfg, init_seeds)
    dirs = [Path(d) for d in out_dirs]
    for d in dirs:
        check_writable(d)
    todo = [(c, d) for c, d in zip(members, dirs, strict=True) if not _finished(c, d, overwrite)]
    if not todo:
        log(f"{_which(members, dirs)}: already finished with these arguments; nothing to do")
        return [d / "records.csv" for d in dirs]
    with StopFlag() as stop:
        device = setup_torch(cfg)
        data = load_run_data(cfg, device)
        with contextlib.ExitStack() as held:
            for _, d in todo:
                held.enter_context(FolderLock(d))
            todo = [(c, d) for c, d in todo if not claim(d, c.to_dict(), overwrite, log)]
            if todo:  # else other processes finished them meanwhile
                _train_locked(todo, checkpoint, log, stop, device, data, overwrite)
    return [d / "records.csv" for d in dirs]


def _finished(cfg: RunConfig, out: Path, overwrite: bool) -> bool:
    return check_folder(out, cfg.to_dict(), overwrite)


def _which(members: list[RunConfig], dirs: list[Path]) -> str:
    return str(dirs[0]) if len(dirs) == 1 else f"seeds {[c.init_seed for c in members]}"


def _train_locked(todo, checkpoint, log, stop: StopFlag, device, data, overwrite) -> None:
    configs, dirs = [c for c, _ in todo], [d for _, d in todo]
    if len(configs) > 1 and configs[0].telemetry_children:
        raise ConfigError("config key 'telemetry_children': not with seed packing (one run only)")
    members = build_members(configs, dirs, data.n_classes, device)
    ckpt = Path(checkpoint) if checkpoint else dirs[0] / "resume.pt"
    if overwrite:
        discard_foreign(ckpt, lambda s: _identity_of(s) == members.identity, log)
    opt = make_optimizer(configs[0], members.model)
    total = configs[0].epochs * configs[0].steps_per_epoch(len(data.train))
    loop = Loop(members, data, opt, ckpt, Progress(records=[[] for _ in configs]), log)
    if not loop.resume(total) and configs[0].warm_epoch:
        warm_start(loop, configs[0].steps_per_epoch(len(data.train)))
    run_loop(loop, stop)
    for k, (cfg, out) in enumerate(zip(configs, dirs, strict=True)):
        info = run_info(cfg, device, cfg.recorded_children(), total, loop.run.timing)
        if members.packed:
            info["packed"] = {"init_seeds": members.seeds, "index": k}
        write_records(out / "records.csv", loop.run.records[k])
        if cfg.telemetry_children:
            table = pd.DataFrame(loop.run.telemetry, columns=telemetry.COLUMNS)
            atomic_write_text(out / "telemetry.csv", table.to_csv(index=False))
        write_json(out / "run.json", info)
    ckpt.unlink(missing_ok=True)


def _identity_of(state: dict[str, Any]) -> dict[str, Any]:
    return {"config": state.get("config"), "init_seeds": state.get("init_seeds")}


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
    cfg: RunConfig,
    init_seeds: list[int],
    groups: list[int],
    out_dirs: list[str | Path],
    log=print,
    overwrite: bool = False,
) -> list[Path]:
    """Train several groups of one partition in one process (packing many short runs into
    one allocation), one after another, each for all `init_seeds` at once (train_members).
    Each group keeps its own folder g<NNN> inside each seed's out_dir, so a stopped job skips
    the groups it finished; each records.csv concatenates its groups in group order."""
    members = member_configs(cfg, init_seeds)
    dirs = [Path(d) for d in out_dirs]
    for d in dirs:
        check_writable(d)
    pairs = list(zip(members, dirs, strict=True))
    if all(_finished(c, d, overwrite) and _groups_done(d) == groups for c, d in pairs):
        log(f"{_which(members, dirs)}: groups {groups} already finished with these arguments")
        return [d / "records.csv" for d in dirs]
    with StopFlag() as stop, contextlib.ExitStack() as held:
        for c, d in pairs:
            held.enter_context(FolderLock(d))
            claim(d, c.to_dict(), overwrite, log)
        for g in groups:
            if stop.signum is not None:
                raise Interrupted(128 + stop.signum)
            gcfg = validate(dataclasses.replace(cfg, group=g))
            subs = [group_dir(d, g) for d in dirs]
            pending = [
                not _finished(c, s, overwrite)
                for c, s in zip(member_configs(gcfg, init_seeds), subs, strict=True)
            ]
            if any(pending):
                log(f"group {g} of {cfg.m}: children {gcfg.run_children()}, seeds {init_seeds}")
            train_members(gcfg, init_seeds, subs, log=log, overwrite=overwrite)
        return [concat_groups(c, groups, d) for c, d in pairs]


def _groups_done(out_dir: Path) -> list[int] | None:
    return json.loads((out_dir / "run.json").read_text()).get("groups")


def group_dir(out_dir: Path, g: int) -> Path:
    return out_dir / f"g{g:03d}"


def concat_groups(cfg: RunConfig, groups: list[int], out_dir: Path) -> Path:
    """out_dir/records.csv: the groups' records one after another (one header), and a
    run.json naming the groups, all their children and the run length, from which
    nas.core.completeness knows what the records must hold."""
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


def write_manifest(path: str | Path, init_seeds: list[int], records: list[Path]) -> None:
    """A seed-packed job's output: which records file holds which seed's run (tidy CSV)."""
    rows = "".join(f"{s},{r}\n" for s, r in zip(init_seeds, records, strict=True))
    atomic_write_bytes(Path(path), ("init_seed,records\n" + rows).encode())
