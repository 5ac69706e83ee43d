"""From the study config to training jobs: how a run of each kind is made (its path under
results/runs, its run-config overrides). Which runs the study needs is each experiment's
answer (nas.study.experiments, a registry the planner iterates); the Snakefile turns the
jobs into rules; nas.study.cost prices them.

Identical runs are one job: the m = 1 group instance is the share-all "different seeds"
instance, and the m = 64 group instance is the ground truth (every child trained alone).

Two packing options: `groups_per_job` trains several groups of a partition one after another
in one job; `seeds_per_job` trains the init seeds of group and ground-truth instances together
as one packed model (nas.model.packed). A seed of a packed job is a member run: its records live in
`<job>/init<seed>/records.csv`, and the job's own output is `<job>/pack.csv`, listing them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from nas.core.config import (
    ConfigError,
    RunConfig,
    check_dense_window,
    format_override,
    from_dict,
)
from nas.core.datasets import dataset_sizes
from nas.core.searchspace import MEASURED_GROUPINGS
from nas.core.similarity import MIN_CORRELATION_POINTS
from nas.core.studyconfig import with_defaults
from nas.study import experiments
from nas.study.paths import (
    RESULTS,
    RUN_PATTERNS,
    partition_file,
    snapshot_file,
)


class DuplicateFamilyWarning(UserWarning):
    """A share-all family whose instances equal another family's, record for record."""


@dataclass(frozen=True)
class Job:
    """One training process: a run folder under results/runs, and the run config overrides."""

    path: str
    kind: str  # share | groups | alone | prefix | strategy
    overrides: dict[str, Any] = field(hash=False)
    groups: str = ""  # "a-b" for packed group jobs
    seeds: str = ""  # "a-b" for jobs that train these init seeds as one packed model
    partition: str = ""  # a measured partition it trains (file under results/), else ""
    snapshots: tuple[str, ...] = ()  # snapshots a warm start reads (files under results/)

    def members(self) -> dict[int, str]:
        """Init seed -> member run path, for a seed-packed job."""
        return {s: f"{self.path}/init{s}" for s in _range(self.seeds)} if self.seeds else {}

    def sets(self) -> list[str]:
        return [f"{k}={format_override(v)}" for k, v in sorted(self.overrides.items())]

    def trainings(self) -> int:
        """Separate trainings this job does (groups times packed seeds)."""
        groups = range_size(self.groups) if self.groups else 1
        return groups * (range_size(self.seeds) if self.seeds else 1)


class Study:
    """Every job of the configured study, and each experiment's instances as job paths."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = with_defaults(config)  # checked; every default from the schema
        self.base = dict(self.config["run"])
        self.base.setdefault("dataset", self.config["dataset"])
        self.base.setdefault("data_root", self.config["data_root"])
        self.n = int(self.config["instances"])
        self.exp = self.config["experiments"]
        run = self.run = from_dict(dict(self.base))  # run keys: RunConfig's defaults
        self.epochs = run.epochs
        self.jobs: dict[str, Job] = {}
        self.member_of: dict[str, str] = {}  # member run path -> its seed-packed job path
        self.wildcards: dict[str, set[str]] = {}  # each path wildcard -> the values jobs take
        self.n_children = run.space.n_children
        self.sampled = bool(run.eval_sample)  # a sample of the space is evaluated
        # the children trained alone for the ground truth: every child, or the sample's
        self.n_alone = run.eval_sample or self.n_children
        self._planning = True
        self._plan()
        self._planning = False

    # -- job factories -------------------------------------------------------------------
    def _path(self, pattern: str, **values: Any) -> str:
        """A run path of RUN_PATTERNS[pattern]; while planning, its wildcards' values are
        noted (the workflow constrains each wildcard to them)."""
        if self._planning:
            for name, value in values.items():
                self.wildcards.setdefault(name, set()).add(str(value))
        return RUN_PATTERNS[pattern].format(**values)

    def _add(self, job: Job) -> str:
        """Register a job while planning; afterwards the same call only answers its path,
        and a job outside the plan (an experiment switched off) is an error, not a new job."""
        if not self._planning and job.path not in self.jobs:
            raise KeyError(
                f"run {job.path} is not in this study's plan: is its experiment switched on "
                "in the config?"
            )
        self.jobs.setdefault(job.path, job)
        return job.path

    def share(
        self,
        order: str,
        init: int,
        order_seed: int,
        epochs: int | None = None,
        tag: str = "base",
        **hyper: Any,
    ) -> str:
        epochs = epochs or self.epochs
        over = {
            "sharing": "all",
            "order": order,
            "init_seed": init,
            "order_seed": order_seed,
            "epochs": epochs,
            "snapshot_epochs": self.snapshot_epochs(epochs),
            **hyper,
        }
        path = self._path(
            "share", epochs=epochs, order=order, tag=tag, seed=init, order_seed=order_seed
        )
        source = path in self.seed_instance_paths()
        if source and self.finetune_epochs():
            over["snapshot_dense"] = self.finetune_before()
        if source and self.enabled("telemetry"):  # at most all the other children
            asked = int(self.exp["telemetry"]["children"])
            over["telemetry_children"] = min(asked, self.n_children - 1)
        if path == self._share_path(0) and self.enabled("interference"):
            over["snapshot_dense"] = self.finetune_before() or int(self.config["window"])
        if self.recalibration_batches() and (order, tag, order_seed) == ("fixed", "base", 0):
            final = [epochs] if epochs not in over["snapshot_epochs"] else []
            over["snapshot_epochs"] = over["snapshot_epochs"] + final  # BN recalibration's
        return self._add(Job(path, "share", over))

    def snapshot_epochs(self, epochs: int) -> list[int]:
        """The snapshots of a share-all run: finetuning's, and the epoch measured partitions
        and warm starts read."""
        wanted = set(self.finetune_epochs()) | set(self.sharing_epochs())
        return sorted(e for e in wanted if e <= epochs)

    def sharing_epochs(self) -> list[int]:
        """The share-all epochs that interference grouping and warm starts read ([] if off)."""
        out = [self.interference_epoch()] if self.enabled("interference") else []
        return out + ([self.warm_epoch()] if self.enabled("warm_start") else [])

    def interference_epoch(self) -> int:
        """The share-all snapshot measured partitions read (experiments.interference.epoch;
        by default the first finetuning epoch, else half the run)."""
        epoch = self.exp["interference"]["epoch"]
        if epoch is None:
            epoch = self.finetune_epochs()[0] if self.finetune_epochs() else self.epochs // 2
        return _check_epoch(int(epoch), self.epochs, "experiments.interference.epoch")

    def warm_epoch(self) -> int:
        """The epoch warm-started groups begin at (experiments.warm_start.epoch; by default
        the interference epoch)."""
        epoch = self.exp["warm_start"]["epoch"]
        epoch = self.interference_epoch() if epoch is None else int(epoch)
        return _check_epoch(epoch, self.epochs, "experiments.warm_start.epoch")

    def reference_run(self) -> str:
        """The first "different seeds" instance: the run measured partitions read (its
        snapshot and the mini-batches evaluated before it), Figure 4's finetuning source,
        the telemetry figure's run and Figure 5a's ordered run."""
        return self.share("fixed", 0, 0)

    def seed_instances(self) -> list[str]:
        """The "different seeds" instances: the sources of finetuning, BN recalibration and
        telemetry (the findings' unit is the instance)."""
        return [self.share("fixed", s, 0) for s in range(self.n)]

    def measured_groupings(self) -> list[str]:
        """The measured groupings some experiment trains (each one interference job)."""
        return [g for g in MEASURED_GROUPINGS if self.partition_m(g)]

    def partition_figure_m(self) -> int:
        """The m whose measured partitions the figure draws: Figure 6's m when a measured
        grouping is trained at it, else the largest such m."""
        ms = sorted({m for g in self.measured_groupings() for m in self.partition_m(g)})
        return self.figure_group_m() if self.figure_group_m() in ms else ms[-1]

    def declared_snapshot_epochs(self) -> list[int]:
        """The epochs of the declared snapshot files (finetuning, BN recalibration's last
        epoch, measured partitions and warm starts)."""
        final = [self.epochs] if self.recalibration_batches() else []
        return sorted({*self.finetune_epochs(), *self.sharing_epochs(), *final})

    def partition_m(self, grouping: str) -> list[int]:
        """Every m a measured grouping is trained at (Table 3a rows, warm starts, equal
        compute), for its interference job; m = 1 and m = all children need no file."""
        ms = set()
        for name in ("interference", "warm_start", "equal_compute"):
            section, on = self.exp[name], self.enabled(name)
            on = on and (name != "interference" or self.enabled("groups"))  # Table 3a's rows
            if on and grouping in section["grouping"]:
                ms |= {int(m) for m in section["m"]}
        return sorted(m for m in ms if 1 < m < self.n_children)

    def recalibration_batches(self) -> list[int]:
        """The N of BN recalibration (experiments.bn_recalibration.batches); [] when off."""
        if not self.enabled("bn_recalibration"):
            return []
        return [int(n) for n in self.exp["bn_recalibration"]["batches"]]

    def finetune_before(self) -> int:
        """Mini-batches before each snapshot at which the finetuning source evaluates every
        child (Figure 4's solid part); by default as many as the finetuning steps after it."""
        if not self.finetune_epochs():
            return 0
        ft = self.exp["finetune"]
        return int(ft["steps"] if ft["before"] is None else ft["before"])

    def seed_instance_paths(self) -> list[str]:
        """The "different seeds" instances' paths, without planning them: only these runs
        pay for snapshot points, not every share-all run with snapshots."""
        return [self._share_path(s) for s in range(self.n)]

    def finetune_epochs(self) -> list[int]:
        return list(self.exp["finetune"]["epochs"]) if self.enabled("finetune") else []

    def group_instance(self, grouping: str, m: int, init: int) -> list[str]:
        """Job paths whose records together form one instance of m groups."""
        grouping = self._as_partition(grouping, m)
        if m == 1:
            return [self.share("fixed", init, 0)]
        if m == self.n_children and self.alone_is_group():
            return self.alone_instance(init)
        values = {"epochs": self.epochs, "grouping": grouping, "m": m}
        return self._packed("groups", values, m, init, self.n, self._group_over(grouping, m))

    def _as_partition(self, grouping: str, m: int) -> str:
        """A measured grouping into one group or into singletons is the only partition of
        that size: the similar one (the same jobs, no partition file)."""
        return (
            "similar" if grouping in MEASURED_GROUPINGS and m in (1, self.n_children) else grouping
        )

    def _group_over(self, grouping: str, m: int) -> dict[str, Any]:
        return {
            "sharing": "groups",
            "m": m,
            "grouping": grouping,
            "partition_seed": int(self.exp["groups"]["partition_seed"]),
            **self.window_only(),
        }

    def warm_instance(self, grouping: str, m: int, init: int) -> list[str]:
        """One instance of m groups that begin as copies of share-all instance `init` at the
        warm epoch and train the remaining epochs (few-shot NAS's warm start). m = 1 is that
        share-all run itself (tests/test_warm_equal.py: the same records)."""
        if m == 1:
            return [self.share("fixed", init, 0)]
        grouping, epoch = self._as_partition(grouping, m), self.warm_epoch()
        for s in range(self.n):
            self.share("fixed", s, 0)  # the snapshots' runs
        template = snapshot_file(self._share_path(seed="{seed}"), epoch)
        over = {
            **self._group_over(grouping, m),
            "warm_start": f"{RESULTS}/{template}",
            "warm_epoch": epoch,
        }
        values = {"epochs": self.epochs, "warm": epoch, "grouping": grouping, "m": m}
        return self._packed("warm", values, m, init, self.n, over)

    def equal_instance(self, grouping: str, m: int, init: int) -> list[str]:
        """One instance of m groups each trained on 1/m of every epoch's mini-batches (rounded
        up): the groups together take share-all's steps. m = 1 is share-all."""
        if m == 1:
            return [self.share("fixed", init, 0)]
        grouping = self._as_partition(grouping, m)
        over = {**self._group_over(grouping, m), "step_share": m}
        steps = from_dict({**self.base, "step_share": m}).steps_per_epoch(self.sizes()[0])
        values = {"epochs": self.epochs, "steps": steps, "grouping": grouping, "m": m}
        return self._packed("equal", values, m, init, self.n, over)

    def _share_path(self, seed: Any) -> str:
        """The path of "different seeds" instance `seed` (a value or "{seed}")."""
        return RUN_PATTERNS["share"].format(
            epochs=self.epochs, order="fixed", tag="base", seed=seed, order_seed=0
        )

    def window_only(self) -> dict[str, Any]:
        """Tables 3-4 read only the last `window` mini-batches (and the final epoch): group and
        prefix runs evaluate just those, which at paper scale is 5x fewer evaluations."""
        return {"eval_epochs": "last", "dense_last": int(self.config["window"])}

    def alone_instance(self, init: int) -> list[str]:
        """Job paths of ground-truth seed `init`: every child trained alone.

        When the ground truth trains for as many epochs as the super-nets (the paper's "same
        setting") and Table 3a has an m = 64 row, these runs are also that group instance, so
        they evaluate what group runs evaluate. Otherwise they are a reference only: evaluated
        once, after the last epoch (each evaluation of a child alone costs a forward pass over
        the test images that no other child shares: about half the job on the scale model)."""
        m = self.n_alone
        epochs = self.gt_epochs()
        trained = self.gt_seeds() if self.trained_gt() else 0
        if self.alone_is_group():
            seeds = max(trained, self.n)
            extra: dict[str, Any] = {}
        else:
            seeds = self.gt_seeds()
            extra = {"epochs": epochs, "eval_epochs": "last", "dense_last": 0}
        return self._packed(
            "alone",
            {"epochs": epochs},
            m,
            init,
            seeds,
            {"sharing": "groups", "m": m, "grouping": "similar", **self._sampled(), **extra},
        )

    def _sampled(self) -> dict[str, Any]:
        """The alone runs' key in a sampled space: their groups split the sample."""
        return {"group_sample": True} if self.sampled else {}

    def alone_is_group(self) -> bool:
        """Whether the children trained alone are also Table 3a's m = 64 instance."""
        groups = self.exp["groups"]
        return (
            not self.sampled
            and self.gt_epochs() == self.epochs
            and self.enabled("groups")
            and self.n_children in {int(m) for m in groups["m"]}
        )

    def gt_seeds(self) -> int:
        return int(self.exp["ground_truth"]["seeds"] or self.n)

    def gt_epochs(self) -> int:
        """Epochs of each child trained alone: the super-nets' unless the config sets them."""
        return int(self.exp["ground_truth"]["epochs"] or self.epochs)

    def _packed(
        self,
        kind: str,
        values: dict[str, Any],
        m: int,
        init: int,
        n_seeds: int,
        over: dict[str, Any],
    ) -> list[str]:
        """Run paths of one instance (init seed `init`) of m groups, `groups_per_job` groups
        per job; with `seeds_per_job` > 1, member runs of jobs that pack seeds. `values`: the
        kind's path wildcards other than the seeds and groups."""
        per_job = int(self.config["groups_per_job"])
        per_pack = int(self.config["seeds_per_job"])
        lo = init - init % per_pack
        hi = max(init, min(lo + per_pack, n_seeds) - 1)
        reads = self._reads(over, range(lo, hi + 1) if per_pack > 1 else [init])
        paths = []
        for start in range(0, m, per_job):
            groups = f"{start}-{min(m, start + per_job) - 1}"
            if per_pack == 1:
                paths.append(
                    self._add(
                        Job(
                            self._path(kind, **values, seed=init, groups=groups),
                            kind,
                            {"order": "fixed", "init_seed": init, **over},
                            groups,
                            **reads,
                        )
                    )
                )
                continue
            job = Job(
                self._path(f"{kind}_packed", **values, seeds=f"{lo}-{hi}", groups=groups),
                kind,
                {"order": "fixed", **over},
                groups,
                f"{lo}-{hi}",
                **reads,
            )
            self._add(job)
            member = job.members()[init]
            self.member_of[member] = job.path
            paths.append(member)
        return paths

    def _reads(self, over: dict[str, Any], seeds: Iterable[int]) -> dict[str, Any]:
        """What a group job reads besides the data: its measured partition, the snapshots
        its seeds warm-start from (Job fields)."""
        out: dict[str, Any] = {}
        if over.get("grouping") in MEASURED_GROUPINGS and 1 < over["m"] < self.n_children:
            out["partition"] = partition_file(over["grouping"], over["m"])
        if over.get("warm_epoch"):
            epoch = over["warm_epoch"]
            out["snapshots"] = tuple(snapshot_file(self._share_path(s), epoch) for s in seeds)
        return out

    def prefix(self, epochs: int, k: int, init: int) -> str:
        over = {
            "sharing": "prefix",
            "k": k,
            "epochs": epochs,
            "init_seed": init,
            "order": "fixed",
            **self.window_only(),
            "eval_epochs": self.prefix_eval_epochs(epochs),
        }
        return self._add(Job(self._path("prefix", epochs=epochs, k=k, seed=init), "prefix", over))

    def prefix_eval_epochs(self, epochs: int) -> list[int] | str:
        """Every `eval_every` epochs and the last: the GT-Tau-against-epochs curve behind
        Section 4.3's "over 1000 epochs to climb above 0.6" (the authors' 2000-epoch configs
        evaluated every 100 epochs). 0 evaluates the last epoch only."""
        every = int(self.exp["prefix"]["eval_every"])
        if not every or every >= epochs:
            return "last"
        return sorted({*range(every, epochs + 1, every), epochs})

    def strategy(self, entry: dict[str, Any], init: int) -> str:
        """One instance of an extra sharing strategy (experiments.strategies): a fixed-order
        run of init seed `init` whose window is evaluated, as a prefix or group instance."""
        over = {
            "order": "fixed",
            "init_seed": init,
            **self.window_only(),
            **entry["set"],
            "sharing": entry["sharing"],
        }
        epochs = int(over.get("epochs", self.epochs))
        path = self._path("strategy", name=entry["name"], epochs=epochs, seed=init)
        return self._add(Job(path, "strategy", over))

    # -- experiments ---------------------------------------------------------------------
    def enabled(self, name: str) -> bool:
        value = self.exp.get(name, False)
        return bool(value.get("enabled", True)) if isinstance(value, dict) else bool(value)

    def ablation_seeds(self, name: str) -> int:
        """Seeds of the long and momentum runs (experiments.<name>.seeds; null = as many
        as the "different seeds" instances they are paired with)."""
        seeds = self.exp[name].get("seeds")
        return self.n if seeds is None else int(seeds)

    def all_jobs(self) -> dict[str, Job]:
        """Every job of the study, planned once when the Study was made."""
        return self.jobs

    def _plan(self) -> None:
        """Plan every enabled experiment (nas.study.experiments): only here do queries
        register jobs."""
        for experiment in experiments.enabled(self):
            experiment.plan(self)

    def figure_group_m(self) -> int:
        """The m of Figure 6's random partition (config figures.group_m)."""
        return int(self.config["figures"]["group_m"])

    def trained_gt(self) -> bool:
        """Whether the ground truth is trained here (config ground_truth), not published (the
        paper's Table 5, NAS-Bench-201's table)."""
        return self.config["ground_truth"] == "trained"

    def evaluated_children(self) -> list[str]:
        """The children every share-all point scores: the space's sample (run key
        eval_sample) or all of them; the published ground truth is written for these."""
        return self.run.sample()

    def _check_published_ground_truth(self) -> None:
        """ground_truth: nasbench201 reads NAS-Bench-201's table: its space and CIFAR-10."""
        run = self.run
        if run.search_space != "nasbench201" or run.dataset != "cifar10":
            raise ConfigError(
                "ground_truth: nasbench201 is NAS-Bench-201's published CIFAR-10 table: it needs "
                f"run.search_space nasbench201 and dataset cifar10, got {run.search_space!r} "
                f"and {run.dataset!r}"
            )

    def _check_figure_child(self) -> None:
        """Figure 6 draws the group of figures.group_child: an evaluated child, or the
        figure would fail after every run has trained."""
        child = str(self.config["figures"]["group_child"])
        evaluated = self.evaluated_children()
        if child not in evaluated:
            what = "a child of the sample (run.eval_sample)" if self.sampled else "a child"
            raise ConfigError(f"figures.group_child: {child!r} is not {what}; e.g. {evaluated[:3]}")

    def validate(self) -> None:
        """Check every job's run config (and its dense window) before anything runs."""
        if self.config["ground_truth"] == "nasbench201":
            self._check_published_ground_truth()
        if self.enabled("groups"):
            self._check_figure_child()
        if (
            self.enabled("interference")
            and self.enabled("groups")
            and not self.measured_groupings()
        ):
            raise ConfigError(
                "experiments.interference: no m strictly between 1 and the number of children "
                f"({self.n_children}); those partitions are the similar ones, nothing to measure"
            )
        if "correlation" in self.measured_groupings():
            before = self.jobs[self.reference_run()].overrides.get("snapshot_dense", 0)
            if before < MIN_CORRELATION_POINTS:
                raise ConfigError(
                    f"experiments.interference: the correlation grouping reads the mini-batches "
                    f"evaluated before the snapshot, {before} here; it needs at least "
                    f"{MIN_CORRELATION_POINTS} (experiments.finetune.before)"
                )
        for job in self.all_jobs().values():
            try:
                cfg = from_dict({**self.base, **job.overrides})
                n_train, _ = dataset_sizes(cfg.dataset, cfg.validation, cfg.holdout)
                check_dense_window(cfg, cfg.steps_per_epoch(n_train))
            except ConfigError as err:
                raise ConfigError(f"{self.experiment_of(job)} (job {job.path}): {err}") from None
            if (
                job.kind == "share"
                and cfg.order == "reshuffled"
                and self.enabled("different_orders")
            ):
                self._check_reshuffles(cfg, cfg.steps_per_epoch(n_train))

    def _check_reshuffles(self, cfg: RunConfig, steps_per_epoch: int) -> None:
        """A reshuffled order draws its next order after one mini-batch per child: a run of no
        more mini-batches than children trains exactly different_orders' instances, a
        duplicate that enters the findings as a second test. A warning, not an error: the
        pipeline check (config/quick.yaml) runs every family on purpose. config/large.yaml
        keeps the reshuffled family (Figures 3 and 5 and Obs. 3 read it)."""
        trained = (cfg.epochs - cfg.warm_epoch) * steps_per_epoch
        if trained <= self.n_children:
            warnings.warn(
                f"experiments.different_orders_shuffle: a reshuffled order changes after "
                f"{self.n_children:,} mini-batches (one per child), but a super-net trains "
                f"{trained:,}: its instances equal different_orders' exactly; switch one of "
                f"the two off (Figures 3 and 5 and Obs. 3 read this one), or train more than "
                f"{self.n_children:,} mini-batches",
                DuplicateFamilyWarning,
                stacklevel=2,
            )

    def experiment_of(self, job: Job) -> str:
        return {
            "share": "run / experiments (share-all)",
            "groups": "experiments.groups",
            "alone": "experiments.ground_truth",
            "prefix": "experiments.prefix",
            "strategy": "experiments.strategies",
            "warm": "experiments.warm_start",
            "equal": "experiments.equal_compute",
        }[job.kind]

    def sizes(self) -> tuple[int, int]:
        """(training, validation) images of the study's dataset, without loading it."""
        cfg = from_dict(dict(self.base))
        return dataset_sizes(cfg.dataset, cfg.validation, cfg.holdout)

    def experiment_jobs(self) -> dict[str, list[str]]:
        """Job paths of each row of the plan (a job may serve several experiments)."""
        return {row: jobs for e in experiments.enabled(self) for row, jobs in e.jobs(self).items()}

    def job_paths(self, instances: list[list[str]]) -> list[str]:
        """The jobs that train these instances' runs (a packed job once)."""
        paths = (self.member_of.get(p, p) for inst in instances for p in inst)
        return list(dict.fromkeys(paths))


def _check_epoch(epoch: int, epochs: int, key: str) -> int:
    if not 1 <= epoch < epochs:
        raise ConfigError(f"{key}: must be an epoch in 1..{epochs - 1} of share-all, got {epoch}")
    return epoch


def _range(text: str) -> range:
    lo, _, hi = text.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def range_size(text: str) -> int:
    return len(_range(text))
