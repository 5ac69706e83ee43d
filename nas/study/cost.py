"""What a study's jobs cost, from the configured throughput: device-hours per job, per run and
per experiment (`nas plan`), the SLURM time limits (common.smk) and the trade-off's hours.

The estimate counts training steps and the (child, image) pairs the evaluation points add
(epochs, dense windows, snapshot windows); packed seeds are not assumed to save anything.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from nas.core.completeness import snapshot_steps
from nas.core.config import from_dict
from nas.study.plan import Job, Study, range_size


class Cost:
    """The cost model of one planned study."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self._waits: dict[str, float] | None = None  # downstream_hours, once asked

    @cached_property
    def sizes(self) -> tuple[int, int]:
        """(training, validation) images of the study's dataset."""
        return self.study.sizes()

    def job_hours(self, job: Job) -> float:
        """Estimated device-hours from the configured throughput figures."""
        return sum(self.job_parts(job))

    def job_parts(self, job: Job) -> tuple[float, float]:
        """(training, evaluation) device-hours: the evaluation part is what the evaluation
        points (epochs, dense windows, snapshot windows) add to the training itself."""
        tp = self.study.config["throughput"]
        n_train, n_val = self.sizes
        cfg = from_dict({**self.study.base, **job.overrides})
        spe = cfg.steps_per_epoch(n_train)
        steps = (cfg.epochs - cfg.warm_epoch) * spe
        n_groups = range_size(job.groups) if job.groups else 1
        n_groups *= range_size(job.seeds) if job.seeds else 1  # packing is not assumed to save
        every = cfg.eval_epochs
        epoch_evals = cfg.epochs if every == "all" else 1 if every == "last" else len(every)
        dense_images = min(n_val, cfg.minibatch_eval_images or n_val)
        snaps = snapshot_steps(cfg.snapshot_epochs, cfg.snapshot_dense, spe)
        dense_from = cfg.epochs * spe - cfg.dense_last
        dense = cfg.dense_last + sum(1 for s in snaps if s <= dense_from)  # not in the window
        images = dense * dense_images + epoch_evals * n_val
        n_eval = _eval_size(cfg)
        child_images = images * n_eval
        if cfg.eval_all_final:  # the last point scores every child, not the sample
            child_images += n_val * (_eval_size(cfg, final=True) - n_eval)
        train_s = steps * cfg.batch_size / float(tp["train_images_per_s"])
        eval_s = child_images / float(tp["eval_child_images_per_s"])
        return n_groups * train_s / 3600.0, n_groups * eval_s / 3600.0

    def run_hours(self, records_file: str) -> float:
        """Device-hours of the run whose records file (relative to results/) this is: its
        job's, split among the seeds a packed job trains."""
        path = records_file.removesuffix("/records.csv")
        if "/runs/" in path:  # under some results folder
            path = path[path.rindex("/runs/") + 1 :]
        path = path.removeprefix("runs/")
        job = self.study.jobs[self.study.member_of.get(path, path)]
        return self.job_hours(job) / (range_size(job.seeds) if job.seeds else 1)

    def share_hours_until(self, epoch: int) -> float:
        """Training device-hours of a "different seeds" instance up to `epoch`: what a warm
        start or a measured partition spends before it can begin."""
        train, _ = self.job_parts(self.study.jobs[self.study.reference_run()])
        return train * epoch / self.study.epochs

    def downstream_hours(self, path: str) -> float:
        """The longest estimated training job that waits for job `path` (a warm start reads
        its snapshot, a measured grouping its records or snapshot), for the critical path:
        a run that starts such a chain is scheduled as if it were that long, so the chain does
        not end the study with one core busy and the others idle."""
        if self._waits is None:
            waits = {}
            for job in self.study.jobs.values():
                sources = [s.removeprefix("snapshots/").rsplit("/", 1)[0] for s in job.snapshots]
                sources += [self.study.reference_run()] if job.partition else []
                cost = self.job_hours(job)
                for source in sources:
                    waits[source] = max(waits.get(source, 0.0), cost)
            self._waits = waits
        return self._waits.get(path, 0.0)

    def summary(self) -> list[dict[str, Any]]:
        """Per experiment: training jobs, trainings (a packed job holds several), estimated
        GPU-hours and the part of them spent evaluating; the last row counts each job once,
        however many experiments share it."""
        self.study.all_jobs()
        rows = []
        groups = {**self.study.experiment_jobs(), "total (unique jobs)": list(self.study.jobs)}
        for name, paths in groups.items():
            jobs = [self.study.jobs[p] for p in dict.fromkeys(paths)]
            costs = [self.job_parts(j) for j in jobs]
            rows.append(
                {
                    "experiment": name,
                    "jobs": len(jobs),
                    "trainings": sum(j.trainings() for j in jobs),
                    "gpu_hours": round(sum(map(sum, costs)), 2),
                    "eval_gpu_hours": round(sum(e for _, e in costs), 2),
                }
            )
        return rows


def _eval_size(cfg, final: bool = False) -> int:
    """The children an evaluation point of one run scores (its sample's, config eval_sample);
    a measured partition is not known before its job runs, but its groups have the size of
    any other partition into m."""
    try:
        return len(cfg.eval_children(final))
    except ValueError:
        share = cfg.eval_sample / cfg.space.n_children if cfg.eval_sample and not final else 1
        return round(cfg.space.n_children // cfg.m * share)
