"""Packed training: several models of one architecture trained at once, in one process.

The instances of a family that differ only by their seed (the 10 seeds of one ground-truth
child; the "different seeds" instances of Table 1) train the same child at every step. Packing
stacks the K models along channels: every convolution becomes a grouped one (K times the
groups), every batch norm holds K x C channels (per-channel statistics are per-model
statistics, running ones included), the classifier is a batched matmul, and cell outputs are
concatenated block by block. Each model reads its own mini-batch (with `data_seed: null`, the
default, batches follow the init seed, as in the paper's code): the K images are stacked
along channels and the stem's first conv runs grouped; given one shared batch (evaluation,
or one data seed for all) the same conv runs ungrouped (`PackedInputConv`). Each model's
weights are initialised by nas.supernet's build_supernet with its own seed, exactly as
nas.train.run_training does, then stacked.

The loss is the sum of the K models' mean cross-entropies, so each model's gradient is its
own; SGD (momentum, weight decay, grad_clear="zero" semantics) is elementwise, so one
optimizer over the stacked parameters is K optimizers. What differs from separate runs is
only floating-point rounding (grouped vs single kernels, summation order), which training
amplifies over time: tests/test_packed.py states the tolerance.

`run_packed_training` writes, per seed, the records.csv / run.json that
`run_training(replace(cfg, init_seed=seed), out_dir)` writes (run.json also names the pack),
plus that run's snapshots; one resumable checkpoint covers the pack. The point is the GPU,
where one small model leaves most of the device idle; on a 2-core CPU packing saves little
(see benchmarks/RESULTS.md).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from nas.checkpoint import (
    discard_foreign,
    load_checkpoint,
    records_to_rows,
    rows_to_records,
    save_checkpoint,
)
from nas.config import RunConfig
from nas.evaluate import evaluate_scores
from nas.records import Record, atomic_write_bytes, write_json, write_records
from nas.runfolder import FolderLock, check_folder, check_writable, claim
from nas.supernet import Cell, SuperNet, build_supernet
from nas.train import (
    BatchSource,
    Interrupted,
    Loop,
    Progress,
    StopFlag,
    concat_groups,
    grad_names,
    group_dir,
    load_run_data,
    make_optimizer,
    precision_context,
    restore_grads,
    run_info,
    run_loop,
    save_state,
    setup_torch,
)

_STEM_INPUT_CONV = "stem.0"  # reads the image(s)


class PackedLinear(nn.Module):
    """K linear layers applied to K channel blocks: N x (K*in) -> N x K x out."""

    def __init__(self, linears: list[nn.Linear]) -> None:
        super().__init__()
        self.n_models = len(linears)
        self.in_features = linears[0].in_features
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in linears]))
        self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in linears]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # one F.linear per model (not one batched matmul): the same kernel as a separate
        # model's, so the same bits
        xs = x.unflatten(1, (self.n_models, self.in_features))
        return torch.stack(
            [F.linear(xs[:, k], self.weight[k], self.bias[k]) for k in range(self.n_models)], 1
        )


class PackedInputConv(nn.Conv2d):
    """The stem's first conv of K packed models (weight K*out x C x kh x kw): on one shared
    batch (C channels) an ordinary conv; on the models' own batches stacked along channels
    (K*C) a grouped one. The same weights, and block k of the output is model k's either way."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        groups = x.shape[1] // self.weight.shape[1]
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, groups)


def _pack_conv(convs: list[nn.Conv2d], stem_input: bool) -> nn.Conv2d:
    c, k = convs[0], len(convs)
    new = (PackedInputConv if stem_input else type(c))(
        c.in_channels if stem_input else c.in_channels * k,  # the input conv: see above
        c.out_channels * k,
        c.kernel_size,
        c.stride,
        c.padding,
        c.dilation,
        c.groups if stem_input else c.groups * k,
        bias=c.bias is not None,
    )
    with torch.no_grad():
        new.weight.copy_(torch.cat([m.weight for m in convs]))
        if c.bias is not None:
            new.bias.copy_(torch.cat([m.bias for m in convs]))
    return new


def _pack_bn(bns: list[nn.BatchNorm2d]) -> nn.BatchNorm2d:
    b = bns[0]
    new = nn.BatchNorm2d(
        b.num_features * len(bns), b.eps, b.momentum, b.affine, b.track_running_stats
    )
    with torch.no_grad():
        if b.affine:
            new.weight.copy_(torch.cat([m.weight for m in bns]))
            new.bias.copy_(torch.cat([m.bias for m in bns]))
        if b.track_running_stats:
            new.running_mean.copy_(torch.cat([m.running_mean for m in bns]))
            new.running_var.copy_(torch.cat([m.running_var for m in bns]))
            new.num_batches_tracked.copy_(b.num_batches_tracked)
    return new


def pack_models(models: list[SuperNet]) -> SuperNet:
    """One SuperNet computing all `models` (same architecture) side by side; its forward
    takes one shared N x C x H x W batch or an N x (K*C) x H x W stack of the models' own
    and returns N x K x classes logits. state_dict keys are the models' own (see
    `unpack_state`)."""
    packed = copy.deepcopy(models[0])
    k = len(models)
    for name, mod in list(packed.named_modules()):
        if isinstance(mod, nn.Conv2d):
            new = _pack_conv([m.get_submodule(name) for m in models], name == _STEM_INPUT_CONV)
        elif isinstance(mod, nn.BatchNorm2d):
            new = _pack_bn([m.get_submodule(name) for m in models])
        elif isinstance(mod, nn.Linear):
            new = PackedLinear([m.get_submodule(name) for m in models])
        else:
            if isinstance(mod, Cell):
                mod.pack = k
            continue
        parent, _, attr = name.rpartition(".")
        setattr(packed.get_submodule(parent) if parent else packed, attr, new)
    packed.n_models = k
    packed._own = {}  # its parameters are new objects
    return packed


def _stacked_keys(packed: SuperNet) -> set[str]:
    """Names of the tensors stacked on a new leading dim (PackedLinear), not concatenated."""
    return {
        f"{name}.{p}"
        for name, mod in packed.named_modules()
        if isinstance(mod, PackedLinear)
        for p in ("weight", "bias")
    }


def _unstack(t: torch.Tensor, k: int, n_models: int, stacked: bool) -> torch.Tensor:
    """Model k's part of a packed tensor: packed tensors concatenate (or, `stacked`, stack)
    the models' tensors along dim 0; 0-dim tensors (BN's counter) are shared."""
    if t.dim() == 0:
        return t.clone()
    if stacked:
        return t[k].clone()
    return t.chunk(n_models, dim=0)[k].clone()


def unpack_state(packed: SuperNet, k: int) -> dict[str, torch.Tensor]:
    """Model k's state_dict (the keys of a separately built SuperNet)."""
    n, stacked = packed.n_models, _stacked_keys(packed)
    return {key: _unstack(t, k, n, key in stacked) for key, t in packed.state_dict().items()}


def unpack_optimizer_state(packed: SuperNet, opt_state: dict, k: int) -> dict:
    """Model k's part of the packed SGD's state_dict (parameters in the same order)."""
    n, stacked = packed.n_models, _stacked_keys(packed)
    is_stacked = [name in stacked for name, _ in packed.named_parameters()]
    state = {
        i: {
            name: _unstack(v, k, n, is_stacked[i]) if isinstance(v, torch.Tensor) else v
            for name, v in s.items()
        }
        for i, s in opt_state["state"].items()
    }
    return {"state": state, "param_groups": copy.deepcopy(opt_state["param_groups"])}


def packed_train_step(cfg: RunConfig, model: SuperNet, opt, x, y, child: str) -> torch.Tensor:
    """nas.train.train_step for a packed model: the loss is the sum of the models' mean
    cross-entropies, so each model gets the gradient it would get alone."""
    opt.zero_grad(set_to_none=cfg.grad_clear == "none")
    with precision_context(cfg, x.device):
        logits = model(x, child).float()  # N x K x classes
    ys = [y[:, k] if y.dim() == 2 else y for k in range(logits.shape[1])]  # own or shared labels
    loss = sum(F.cross_entropy(logits[:, k], yk) for k, yk in enumerate(ys))
    loss.backward()
    opt.step()
    model.drop_own_grads(child)
    return loss.detach()


def _member_configs(cfg: RunConfig, init_seeds: list[int]) -> list[RunConfig]:
    return [dataclasses.replace(cfg, init_seed=s) for s in init_seeds]


def shares_batches(cfg: RunConfig, init_seeds: list[int]) -> bool:
    """Whether the packed models of these seeds read one batch (one data seed for all)."""
    return len({c.batch_seed() for c in _member_configs(cfg, init_seeds)}) == 1


class PackedBatches:
    """Each packed model's own mini-batch (nas.train.BatchSource of its config): images
    stacked along channels (N x K*C x H x W), labels N x K."""

    def __init__(self, cfg: RunConfig, init_seeds: list[int], data) -> None:
        self.sources = [BatchSource(c, data) for c in _member_configs(cfg, init_seeds)]

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = zip(*(src.batch(step) for src in self.sources), strict=True)
        return torch.cat(xs, dim=1), torch.stack(ys, dim=1)


def build_packed(cfg: RunConfig, init_seeds: list[int], n_classes: int, device) -> SuperNet:
    """The packed SuperNet of `cfg` for these init seeds, on `device`, in cfg's layout."""
    models = [build_supernet(c, n_classes) for c in _member_configs(cfg, init_seeds)]
    model = pack_models(models).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def _eval_records(cfg, model, children, data, kind, epoch, step, trained) -> list[list[Record]]:
    with precision_context(cfg, data.val.labels.device):
        acc, loss = evaluate_scores(
            model,
            children,
            cfg.eval_split(data.val, kind),
            cfg.eval_batch_size,
            cfg.channels_last,
            model.n_models,
            cfg.eval_engine,
        )
    return [
        [
            Record(kind, epoch, step, trained, c, acc[i][k], loss[i][k])
            for i, c in enumerate(children)
        ]
        for k in range(model.n_models)
    ]


def _save_snapshots(cfg, seeds, out_dirs, model, opt, step, done, n_classes) -> None:
    """Per model, the snapshot file run_training writes (loadable by nas.finetune)."""
    names = grad_names(model)
    opt_state = opt.state_dict()
    for k, (cfg_k, out) in enumerate(zip(_member_configs(cfg, seeds), out_dirs, strict=True)):
        single = build_supernet(cfg_k, n_classes)
        single.load_state_dict(unpack_state(model, k))
        single_opt = make_optimizer(cfg_k, single)
        single_opt.load_state_dict(unpack_optimizer_state(model, opt_state, k))
        restore_grads(single, names)
        path = Path(out) / "snapshots" / f"epoch_{done}.pt"
        save_state(path, cfg_k, single, single_opt, step, {"epoch": done})


def _save_packed(path: Path, cfg, seeds, model, opt, step, records, timing) -> None:
    state = {
        "config": cfg.to_dict(),
        "init_seeds": list(seeds),
        "step": step,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "grad_names": grad_names(model),
        "records": [records_to_rows(r) for r in records],
        "timing": timing,
    }
    save_checkpoint(path, state)


def run_packed_training(
    cfg: RunConfig,
    init_seeds: list[int],
    out_dirs: list[str | Path],
    checkpoint: str | Path | None = None,
    log=print,
    overwrite: bool = False,
) -> list[Path]:
    """Train one instance per init seed (cfg otherwise as given) packed into one model;
    write each seed's records.csv and run.json into its out_dir, as run_training would.
    Seeds whose out_dir holds their finished run are skipped; a folder of another config is
    refused unless `overwrite` (nas.runfolder). Resumes from `checkpoint` (default first
    pending out_dir / resume_packed.pt); SIGTERM/SIGURG save it and exit."""
    if len(init_seeds) != len(out_dirs) or not init_seeds:
        raise ValueError("give one out_dir per init seed (and at least one seed)")
    if len(set(init_seeds)) != len(init_seeds):
        raise ValueError(f"init seeds repeat: {init_seeds}")
    out_dirs = [Path(d) for d in out_dirs]
    members = _member_configs(cfg, init_seeds)
    configs = {s: c.to_dict() for s, c in zip(init_seeds, members, strict=True)}
    for d in out_dirs:
        check_writable(d)
    todo = [
        (s, d)
        for s, d in zip(init_seeds, out_dirs, strict=True)
        if not check_folder(d, configs[s], overwrite)
    ]
    if not todo:
        log(f"seeds {init_seeds}: already finished with these arguments; nothing to do")
        return [d / "records.csv" for d in out_dirs]
    seeds, dirs = [s for s, _ in todo], [d for _, d in todo]
    ckpt = Path(checkpoint) if checkpoint else dirs[0] / "resume_packed.pt"
    pack = (cfg.to_dict(), seeds)
    device = setup_torch(cfg)
    data = load_run_data(cfg, device)
    with contextlib.ExitStack() as held:
        for s, d in todo:
            held.enter_context(FolderLock(d))
            claim(d, configs[s], overwrite)
        if overwrite:
            discard_foreign(ckpt, lambda state: _pack_of(state) == pack, log)
        _train_pack(cfg, seeds, dirs, ckpt, log, device, data)
    return [d / "records.csv" for d in out_dirs]


def _pack_of(state: dict) -> tuple[dict, list[int]]:
    """What a packed checkpoint trains: its config and seed list."""
    return state["config"], state.get("init_seeds")


def _train_pack(cfg: RunConfig, seeds, dirs: list[Path], ckpt: Path, log, device, data) -> None:
    pack = (cfg.to_dict(), seeds)
    model = build_packed(cfg, seeds, data.n_classes, device)
    opt = make_optimizer(cfg, model)
    children = cfg.run_children()
    total = cfg.epochs * cfg.steps_per_epoch(len(data.train))
    n = len(seeds)
    run = Progress(records=[[] for _ in seeds])
    if ckpt.exists():
        state = load_checkpoint(ckpt)
        if _pack_of(state) != pack:
            raise ValueError(
                f"{ckpt} was written by a different config or seed list; delete it (or pass "
                "--overwrite) to start this packed run afresh"
            )
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        restore_grads(model, state["grad_names"])
        records = [rows_to_records(r) for r in state["records"]]
        run = Progress(state["step"], records, state["timing"])
        run.timing["attempts"] += 1
        log(f"resumed from {ckpt} at step {run.step}/{total}")

    def checkpoint_now() -> None:
        _save_packed(ckpt, cfg, seeds, model, opt, run.step, run.records, run.timing)

    def snapshot(done: int) -> None:
        _save_snapshots(cfg, seeds, dirs, model, opt, run.step, done, data.n_classes)

    def evaluate(kind: str, epoch: int, step: int, trained: str) -> list[list[Record]]:
        return _eval_records(cfg, model, children, data, kind, epoch, step, trained)

    batches = None if shares_batches(cfg, seeds) else PackedBatches(cfg, seeds, data)
    loop = Loop(
        packed_train_step, evaluate, snapshot, checkpoint_now, log, f", {n} packed models", batches
    )
    with StopFlag() as stop:
        run_loop(cfg, model, opt, data, children, run, loop, stop)
    records, timing = run.records, run.timing

    for k, (cfg_k, out) in enumerate(zip(_member_configs(cfg, seeds), dirs, strict=True)):
        info = run_info(cfg_k, device, children, total, timing)
        info["packed"] = {"init_seeds": seeds, "index": k}
        write_records(out / "records.csv", records[k])
        write_json(out / "run.json", info)
    ckpt.unlink(missing_ok=True)


def run_packed_groups(
    cfg: RunConfig,
    init_seeds: list[int],
    groups: list[int],
    out_dirs: list[Path],
    log=print,
    overwrite: bool = False,
) -> list[Path]:
    """`nas.train.run_groups` for several init seeds at once: each group is trained as one
    packed model of all seeds (its folder g<NNN> inside each seed's out_dir); finished
    groups are skipped on a rerun; each seed's records.csv concatenates its groups."""
    out_dirs = [Path(d) for d in out_dirs]
    members = [c.to_dict() for c in _member_configs(cfg, init_seeds)]
    for c, d in zip(members, out_dirs, strict=True):
        check_writable(d)
        check_folder(d, c, overwrite)
    with StopFlag() as stop, contextlib.ExitStack() as held:
        for c, d in zip(members, out_dirs, strict=True):
            held.enter_context(FolderLock(d))
            claim(d, c, overwrite)
        for g in groups:
            if stop.signum is not None:
                raise Interrupted(128 + stop.signum)
            gcfg = dataclasses.replace(cfg, group=g)
            log(f"group {g} of {cfg.m}: children {gcfg.run_children()}, seeds {init_seeds}")
            subs = [group_dir(d, g) for d in out_dirs]
            run_packed_training(gcfg, init_seeds, subs, log=log, overwrite=overwrite)
        return [
            concat_groups(c, groups, d)
            for c, d in zip(_member_configs(cfg, init_seeds), out_dirs, strict=True)
        ]


def write_manifest(path: str | Path, init_seeds: list[int], records: list[Path]) -> None:
    """A packed job's output: which records file holds which seed's run (tidy CSV)."""
    rows = "".join(f"{s},{r}\n" for s, r in zip(init_seeds, records, strict=True))
    atomic_write_bytes(Path(path), ("init_seed,records\n" + rows).encode())
