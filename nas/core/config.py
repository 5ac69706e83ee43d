"""Run configuration: one super-net instance (or one group of it), validated before any work.

A run config is a flat YAML mapping; `load_config` merges a file with `key=value` overrides
(values parsed as YAML) and checks every key, so bad input fails before training starts.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nas.core import safeyaml
from nas.core.datasets import DATASETS, VALIDATIONS
from nas.core.sample import check_size, stratified_sample
from nas.core.searchspace import GROUPINGS, MEASURED_GROUPINGS, parse_partition
from nas.core.sharing import STRATEGIES, strategy_of
from nas.core.spaces import PAPER_OPS, SPACES, CellSpace, make_space

if TYPE_CHECKING:  # annotations only: nas.run.data imports torch
    from nas.run.data import Split

# nas.model.evaluate implements these engines (a test checks they agree); named here so that
# reading a config never imports torch. "auto" picks one per device.
ENGINES = ("batched", "memo")
ORDERS = ("fixed", "shuffled", "reshuffled")
GRAD_CLEARS = ("zero", "none")
PRECISIONS = ("fp32", "tf32", "bf16")


class ConfigError(ValueError):
    """A config key has a bad value; the message names the key."""


@dataclass
class RunConfig:
    # data
    dataset: str = "cifar10"
    data_root: str = "data"
    validation: str = "test"
    holdout: int = 5000
    # search space (nas.core.spaces) and network (paper Appendix A)
    search_space: str = "darts"
    n_nodes: int = 2
    ops: list[str] = field(default_factory=lambda: list(PAPER_OPS))
    n_cells: int = 4
    stem_channels: int = 48
    cell_channels: int = 16
    bn_momentum: float = 0.4
    # sharing: all children share; a group of a partition; or a shared prefix of k cells
    sharing: str = "all"
    m: int = 1
    grouping: str = "similar"
    group: int = 0
    partition_seed: int = 42  # the paper code's stable_partition
    # a measured grouping's partition (nas.measure.interference): groups separated by ";", children
    # by ","; the run's identity holds it, so a new measurement is a new run
    partition: str = ""
    k: int = 0
    # optimisation (paper Section 3.1)
    epochs: int = 200
    batch_size: int = 256
    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 1e-3
    grad_clear: str = "zero"
    # each epoch trains the first 1/step_share of its mini-batches (rounded up): the
    # equal-compute control sets it to m, so m groups together take about share-all's steps,
    # the lr schedule over each group's own (12 short epochs, not 12/m long ones)
    step_share: int = 1
    # few-shot warm start: begin at epoch warm_epoch from the snapshot warm_start names
    # ("{seed}" replaced by the init seed): weights, BN statistics, SGD momentum and the
    # gradients it held, as if the snapshot's run went on with this run's children
    warm_start: str = ""
    warm_epoch: int = 0
    # seeds and child order
    init_seed: int = 0
    order: str = "fixed"
    order_seed: int = 0
    # mini-batch order and augmentation; None: the init seed, as the paper's code, whose one
    # --seed drove the weights and the data loader alike
    data_seed: int | None = None
    # evaluation and snapshots
    eval_epochs: list[int] | str = "all"
    dense_last: int = 0
    eval_batch_size: int = 2000
    # a large space's children evaluated (nas.core.sample): 0 = every child; N = a seeded sample
    # of N children balanced over ops on every edge, the same at every point (and the children
    # prefix sharing trains, as each holds its own cells); eval_all_final: every child at the end
    eval_sample: int = 0
    eval_sample_seed: int = 0
    eval_all_final: bool = False
    # group sharing splits the sample above, not the whole space: with m = the sample's size,
    # each sampled child trained alone (a large space's ground truth)
    group_sample: bool = False
    # evaluation engine (nas.model.evaluate): auto = per-child "memo" on the CPU, "batched" (all
    # children stacked, ~15x fewer kernels) elsewhere; both give the same records
    eval_engine: str = "auto"
    # evaluations after single mini-batches (dense and finetune points) read only the first N
    # validation images (0 = all, the paper): the CPU scale model's way to afford long windows
    # while epoch points and the ground truth use the whole split
    minibatch_eval_images: int = 0
    snapshot_epochs: list[int] = field(default_factory=list)
    # all children evaluated after each of the last N mini-batches before every snapshot
    # (point kind "snapshot"): Figure 4's shared curve leading into its finetuning
    snapshot_dense: int = 0
    # interference telemetry (nas.run.telemetry; 0 = off): before each of the last dense_last
    # mini-batches, the cosine between the trained child's gradient on the shared weights and
    # those of this many other children (a seeded sample), written to telemetry.csv
    telemetry_children: int = 0
    # execution
    device: str = "auto"
    channels_last: bool = True
    threads: int = 0
    # fp32: strict float32 (the paper's numbers); tf32: TF32 matmuls/convs on NVIDIA GPUs;
    # bf16: bfloat16 autocast for forward passes (training and evaluation). Both change records.
    precision: str = "fp32"

    @property
    def space(self) -> CellSpace:
        return make_space(self.search_space, self.n_nodes, tuple(self.ops))

    def sample(self) -> list[str]:
        """The children evaluated at every point: the space's sample, or all of them."""
        if not self.eval_sample:
            return self.space.children
        return stratified_sample(self.space, self.eval_sample, self.eval_sample_seed)

    def grouped_children(self) -> list[str]:
        """The children group sharing splits into m groups (config group_sample)."""
        return self.sample() if self.group_sample else self.space.children

    def eval_children(self, final: bool = False) -> list[str]:
        """The children of this run that an evaluation point scores (`final`: the run's last
        point, where eval_all_final asks for all of them)."""
        children = self.run_children()
        if not self.eval_sample or (final and self.eval_all_final):
            return children
        chosen = set(self.sample())
        return [c for c in children if c in chosen]

    def recorded_children(self) -> list[str]:
        """The children a run's records hold (run.json says so; nas.core.completeness)."""
        return self.eval_children(final=self.epochs in self.eval_epoch_set())

    def run_children(self) -> list[str]:
        """Children this run trains (its sharing strategy says: all, or one group)."""
        return strategy_of(self).run_children(self)

    def shared_cells(self) -> int:
        """How many cells (after the stem) all children of this run share."""
        return strategy_of(self).shared_cells(self)

    def classifier_shared(self) -> bool:
        return strategy_of(self).classifier_shared(self)

    def steps_per_epoch(self, n_train: int) -> int:
        return math.ceil(math.ceil(n_train / self.batch_size) / self.step_share)

    def eval_epoch_set(self) -> set[int]:
        """The epochs evaluated at their end (a warm start's begin after warm_epoch)."""
        if self.eval_epochs == "all":
            return set(range(self.warm_epoch + 1, self.epochs + 1))
        if self.eval_epochs == "last":
            return {self.epochs}
        return set(self.eval_epochs)

    def eval_split(self, val: Split, kind: str) -> Split:
        """The validation images a point of this kind is evaluated on (see
        minibatch_eval_images)."""
        n = self.minibatch_eval_images
        if kind == "epoch" or not n or n >= len(val):
            return val
        return type(val)(val.images[:n], val.labels[:n])

    def batch_seed(self) -> int:
        """The seed of this run's mini-batch order and augmentation."""
        return self.init_seed if self.data_seed is None else self.data_seed

    def to_dict(self) -> dict[str, Any]:
        """The run's identity (config.json, checkpoints): every field, except options added
        after runs existed while they are at their default (LATE_OPTIONS), so a run folder
        written before them keeps its identity and nothing finished is trained again."""
        out = dataclasses.asdict(self)
        for key, default in LATE_OPTIONS.items():
            if out[key] == default:
                del out[key]
        return out


LATE_OPTIONS: dict[str, Any] = {
    "telemetry_children": 0,
    "partition": "",
    "step_share": 1,
    "warm_start": "",
    "warm_epoch": 0,
    "search_space": "darts",
    "eval_sample": 0,
    "eval_sample_seed": 0,
    "eval_all_final": False,
    "group_sample": False,
}


# Sizes far beyond any study (the paper's longest run is 2000 epochs): a larger value is a typo
# that would otherwise end in a MemoryError or a job that never ends.
UPPER_BOUNDS: dict[str, int] = {
    "epochs": 100_000,
    "batch_size": 1 << 16,
    "n_cells": 64,
    "stem_channels": 4096,
    "cell_channels": 4096,
    "dense_last": 10_000_000,
    "snapshot_dense": 10_000_000,
    "eval_batch_size": 1 << 20,
}


def _check(cond: bool, key: str, msg: str) -> None:
    if not cond:
        raise ConfigError(f"config key '{key}': {msg}")


def _check_choice(cfg: RunConfig, key: str, choices: tuple[str, ...]) -> None:
    value = getattr(cfg, key)
    _check(
        value in choices,
        key,
        f"unknown value {safeyaml.excerpt(value)}; choose one of {list(choices)}",
    )


_TYPE_NAMES = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "None": "null",
    "list[int]": "a list of integers",
    "list[str]": "a list of strings",
}


def _is(value: Any, annotation: str) -> bool:
    """Whether `value` has the type a RunConfig annotation names (a bool is not a number)."""
    if annotation == "None":
        return value is None
    if annotation.startswith("list["):
        inner = annotation[5:-1]
        return isinstance(value, (list, tuple)) and all(_is(v, inner) for v in value)
    if isinstance(value, bool):
        return annotation == "bool"
    kinds = {"int": int, "float": (int, float), "str": str, "bool": bool}
    return isinstance(value, kinds[annotation])


def check_types(cfg: RunConfig) -> None:
    """Every key against its annotation, before any value is compared with anything: so
    `lr: x` is a message, not a TypeError, and `batch_size: true` is not batch size 1.
    Numbers must be finite: `lr: .inf` would train to NaN and exit 0."""
    for f in dataclasses.fields(cfg):
        value, options = getattr(cfg, f.name), [t.strip() for t in str(f.type).split("|")]
        if not any(_is(value, t) for t in options):
            want = " or ".join(_TYPE_NAMES[t] for t in options)
            got = f"got {safeyaml.excerpt(value)} ({type(value).__name__})"
            _check(False, f.name, f"must be {want}, {got}{_number_hint(value, options)}")
        if isinstance(value, float):
            _check(math.isfinite(value), f.name, f"must be a finite number, got {value}")


def _number_hint(value: Any, options: list[str]) -> str:
    """YAML 1.1 reads 1e-3 and 1.0e3 as text (a float needs a dot and a signed exponent):
    say how to write it, for the keys that take a number."""
    try:
        number = float(value if isinstance(value, str) else "not a number")
    except ValueError:
        return ""
    if "float" in options:
        return f"; YAML reads it as text: write it as {number!r} or {number:.1e}"
    if "int" in options and number.is_integer():
        return f"; YAML reads it as text: write it as digits, {int(number)}"
    return ""


def validate(cfg: RunConfig) -> RunConfig:
    """Raise ConfigError naming the first bad key."""
    check_types(cfg)
    for key, choices in [
        ("dataset", DATASETS),
        ("validation", VALIDATIONS),
        ("sharing", tuple(STRATEGIES)),
        ("grouping", GROUPINGS),
        ("order", ORDERS),
        ("grad_clear", GRAD_CLEARS),
        ("precision", PRECISIONS),
    ]:
        _check_choice(cfg, key, choices)
    _check_choice(cfg, "search_space", tuple(SPACES))
    try:
        space = cfg.space
    except ValueError as err:
        raise ConfigError(f"config key 'ops'/'n_nodes': {err}") from err
    try:
        space.check_network(cfg.n_cells, cfg.stem_channels, cfg.cell_channels)
    except ValueError as err:
        key, _, why = str(err).partition(": ")
        raise ConfigError(f"config key '{key}' ({cfg.search_space} space): {why}") from err
    if cfg.eval_sample:
        try:
            check_size(space, cfg.eval_sample)
        except ValueError as err:
            raise ConfigError(f"config key 'eval_sample': {err}") from err
    repeated = sorted({op for op in cfg.ops if cfg.ops.count(op) > 1})
    _check(not repeated, "ops", f"each op once, got {repeated} more than once")
    n_children = space.n_children
    for key in ("epochs", "batch_size", "n_cells", "stem_channels", "cell_channels"):
        _check(isinstance(getattr(cfg, key), int) and getattr(cfg, key) >= 1, key, "must be >= 1")
    for key, most in UPPER_BOUNDS.items():
        value = getattr(cfg, key)
        _check(value <= most, key, f"at most {most:,}, got {value:,}: is it a typo?")
    _check(0 <= cfg.k <= cfg.n_cells, "k", f"must be in 0..n_cells={cfg.n_cells}, got {cfg.k}")
    _check(
        not cfg.group_sample or cfg.eval_sample,
        "group_sample",
        "groups of the sample need a sample (eval_sample)",
    )
    grouped = cfg.eval_sample if cfg.group_sample else n_children
    _check(
        cfg.m >= 1 and grouped % cfg.m == 0,
        "m",
        f"must divide the number of children ({grouped}{' sampled' * cfg.group_sample}), "
        f"got {cfg.m}",
    )
    _check(0 <= cfg.group < cfg.m, "group", f"must be in 0..m-1={cfg.m - 1}, got {cfg.group}")
    _check(0.0 <= cfg.bn_momentum <= 1.0, "bn_momentum", "must be in [0, 1]")
    _check(0.0 <= cfg.momentum < 1.0, "momentum", "must be in [0, 1)")
    _check(cfg.lr > 0 and 0 <= cfg.lr_min <= cfg.lr, "lr_min", "need 0 <= lr_min <= lr, lr > 0")
    _check(cfg.weight_decay >= 0, "weight_decay", "must be >= 0")
    _check(cfg.step_share >= 1, "step_share", f"must be >= 1, got {cfg.step_share}")
    _check_warm_start(cfg)
    if cfg.partition:
        _check_partition(cfg, space.children)
    _check(cfg.dense_last >= 0, "dense_last", "must be >= 0")
    _check(cfg.snapshot_dense >= 0, "snapshot_dense", "must be >= 0")
    if cfg.telemetry_children:
        n_run = len(cfg.run_children())
        _check(
            0 < cfg.telemetry_children < n_run,
            "telemetry_children",
            f"must be >= 0 and below the run's {n_run} children",
        )
    for key in (
        "init_seed",
        "order_seed",
        "partition_seed",
        "eval_sample_seed",
        "threads",
        "holdout",
        "minibatch_eval_images",
    ):
        _check(getattr(cfg, key) >= 0, key, f"must be >= 0, got {getattr(cfg, key)}")
    _check(
        cfg.data_seed is None or (isinstance(cfg.data_seed, int) and cfg.data_seed >= 0),
        "data_seed",
        f"must be an integer >= 0 or null (= the init seed), got {cfg.data_seed!r}",
    )
    _check(cfg.eval_batch_size >= 1, "eval_batch_size", "must be >= 1")
    engines = ["auto", *ENGINES]
    _check(cfg.eval_engine in engines, "eval_engine", f"one of {engines}, got {cfg.eval_engine!r}")
    if isinstance(cfg.eval_epochs, str):
        _check(cfg.eval_epochs in ("all", "last"), "eval_epochs", "'all', 'last' or a list")
    else:
        bad = [e for e in cfg.eval_epochs if not 1 <= e <= cfg.epochs]
        _check(not bad, "eval_epochs", f"epochs {bad} outside 1..{cfg.epochs}")
    bad = [e for e in cfg.snapshot_epochs if not 1 <= e <= cfg.epochs]
    _check(not bad, "snapshot_epochs", f"epochs {bad} outside 1..{cfg.epochs}")
    _check(
        re.fullmatch(r"auto|(cpu|cuda|mps)(:[0-9]+)?", cfg.device) is not None,
        "device",
        f"unknown device {safeyaml.excerpt(cfg.device)}: write auto, cpu, cuda, cuda:N or mps",
    )
    return cfg


def _check_warm_start(cfg: RunConfig) -> None:
    _check(
        0 <= cfg.warm_epoch < cfg.epochs,
        "warm_epoch",
        f"must be in 0..epochs-1={cfg.epochs - 1}, got {cfg.warm_epoch}",
    )
    _check(
        bool(cfg.warm_start) == bool(cfg.warm_epoch),
        "warm_start",
        "give warm_start (a snapshot path) and warm_epoch (its epoch) together",
    )
    early = [e for e in cfg.snapshot_epochs if e <= cfg.warm_epoch]
    _check(not early, "snapshot_epochs", f"epochs {early} are before the warm start's epoch")
    if isinstance(cfg.eval_epochs, list):
        early = [e for e in cfg.eval_epochs if e <= cfg.warm_epoch]
        _check(not early, "eval_epochs", f"epochs {early} are before the warm start's epoch")


def _check_partition(cfg: RunConfig, children: list[str]) -> None:
    """A measured partition: every child of the space once, in m groups of equal size."""
    _check(
        cfg.sharing == "groups" and cfg.grouping in MEASURED_GROUPINGS,
        "partition",
        f"only for group sharing with a measured grouping {list(MEASURED_GROUPINGS)}",
    )
    groups = parse_partition(cfg.partition)
    names = sorted(c for g in groups for c in g)
    _check(names == sorted(children), "partition", "must hold every child of the space once")
    _check(
        len(groups) == cfg.m and len({len(g) for g in groups}) == 1,
        "partition",
        f"must have m={cfg.m} groups of equal size, got sizes {[len(g) for g in groups]}",
    )


def check_dense_window(cfg: RunConfig, steps_per_epoch: int) -> None:
    """The dense windows must fit in the run (the one at its end, and the one before its first
    snapshot); needs the data set size, so checked at load."""
    total = (cfg.epochs - cfg.warm_epoch) * steps_per_epoch  # the steps this run trains
    _check(
        cfg.dense_last <= total,
        "dense_last",
        f"window of {cfg.dense_last} mini-batches is longer than the run ({total})",
    )
    first = (min(cfg.snapshot_epochs, default=cfg.epochs) - cfg.warm_epoch) * steps_per_epoch
    _check(
        cfg.snapshot_dense <= first,
        "snapshot_dense",
        f"window of {cfg.snapshot_dense} mini-batches is longer than the run before its first "
        f"snapshot ({first})",
    )


def unknown_keys(where: str, unknown: list[Any], known: set[str]) -> str:
    """The message for keys a section does not have: each with the nearest known key."""
    parts = []
    for key in unknown[:5]:
        near = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
        parts.append(safeyaml.excerpt(key, 40) + (f" (did you mean {near[0]!r}?)" if near else ""))
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    return f"{where}: unknown key {', '.join(parts)}{more}; known keys: {', '.join(sorted(known))}"


def from_dict(values: dict[str, Any]) -> RunConfig:
    known = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(values) - known, key=str)
    if unknown:
        raise ConfigError(unknown_keys("run config", unknown, known))
    # a text key that is off when empty (partition, warm_start): `--set warm_start=` is off
    empty = {f.name for f in dataclasses.fields(RunConfig) if f.default == ""}
    values = {k: "" if k in empty and v is None else v for k, v in values.items()}
    return validate(RunConfig(**values))


def format_override(value: Any) -> str:
    """A config value as the YAML text `parse_overrides` reads back (None -> null)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(str(x) for x in value) + "]"
    return str(value)


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"override {pair!r} is not key=value")
        key, value = pair.split("=", 1)
        out[key.strip()] = _yaml(value, f"--set {pair}")
    return out


def _yaml(text: str, where: str) -> Any:
    """YAML text parsed (nas.core.safeyaml: unique keys, bounded), or a one-line error."""
    return safeyaml.load(text, where)


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    values: dict[str, Any] = {}
    if path is not None:
        loaded = safeyaml.load_file(path) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: a run config must be a YAML mapping")
        values.update(loaded)
    values.update(parse_overrides(overrides or []))
    return from_dict(values)
