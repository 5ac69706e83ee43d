"""How each of the study's products is built from records: one function per table, figure and
report section, registered (with its runs, caption and switch) in ``nas.study.catalog``.

A builder receives ``Inputs``: the records files of the product's runs, grouped as
{label: [instance: [records file, ...]]}, the ground-truth table and the study config. A table
builder returns its frame (ours, with the paper's values beside where the paper has them);
``nas.study.catalog`` writes it with the product's caption. A figure or section builder writes its
own files under the stem it is given. Everything here reads data the training rules wrote,
never logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from nas.analysis import (
    aggregation,
    figures,
    findings,
    intext,
    metrics,
    rankstats,
    recalibration,
    reference,
    tables,
    tradeoff,
)
from nas.core import nasbench201, similarity
from nas.core.config import from_dict
from nas.core.records import atomic_write_text
from nas.core.runset import RunSet
from nas.core.searchspace import partition

Instances = dict[str, list[list[str]]]
GROUND_TRUTH = "ground_truth"  # the label of the ground-truth seeds' records


def read_ground_truth(path: str | Path) -> pd.DataFrame:
    """child-indexed acc_mean (percent), acc_std, rank (1 = best), checked (see metrics)."""
    return metrics.read_ground_truth(path)


@dataclass
class Inputs:
    """What one product reads: its runs' records files, the ground truth and the config.

    Records are loaded on demand, per label, so a builder names the runs it uses and nothing
    else is read; the labels are those ``nas.study.catalog`` gives the product's runs. The
    runs an experiment hands on arrive typed as well (``sets``: each label's RunSet), so a
    builder reads them by their key's fields, never by parsing a label.
    """

    files: Instances
    gt_path: str | Path
    config: dict[str, Any]
    hours: dict[str, float] = field(default_factory=dict)  # per label: one instance's cost
    sets: dict[str, RunSet] = field(default_factory=dict)  # label -> its run set

    @cached_property
    def gt(self) -> pd.DataFrame:
        return read_ground_truth(self.gt_path)

    @property
    def window(self) -> int:
        return int(self.config["window"])

    @property
    def last_epochs(self) -> int:
        return int(self.config["last_epochs"])

    def load(self, label: str | RunSet) -> list[pd.DataFrame]:
        """The instances of one label, each its runs' records concatenated."""
        return [tables.load_instance(files) for files in self.files[str(label)]]

    def of(self, experiment: str) -> dict[Any, list[pd.DataFrame]]:
        """An experiment's run sets, loaded, by their key's value ((grouping, m), ...)."""
        return {s.value: self.load(s) for s in self.sets.values() if s.experiment == experiment}

    def first(self, label: str) -> pd.DataFrame:
        return self.load(label)[0]

    def gt_finals(self) -> list[pd.Series] | None:
        """Final accuracy per trained ground-truth seed; None with the paper's Table 5."""
        return self._gt_finals

    @cached_property
    def _gt_finals(self) -> list[pd.Series] | None:
        """Read once: a product that asks for the finals and the split-half agreement loads the
        ground-truth seeds' records once."""
        if not self.files.get("ground_truth"):
            return None
        return [tables.final_accuracy(inst) for inst in self.load("ground_truth")]

    def labels(self) -> list[str]:
        """The labels of the product's own runs (all but the ground-truth seeds)."""
        return [k for k in self.files if k != GROUND_TRUTH]

    def ceiling(self) -> float | None:
        """The ground truth's split-half agreement (nas.analysis.rankstats); None without two
        trained
        seeds."""
        finals = self.gt_finals()
        return (
            rankstats.split_half_agreement(finals)["ceiling"]
            if finals and len(finals) > 1
            else None
        )

    def families(self) -> dict[str, list[pd.DataFrame]]:
        """The share-all families of Tables 1-2 (labels 'different_*')."""
        return {k: self.load(k) for k in self.files if k.startswith("different_")}

    def prefix(self) -> dict[tuple[int, int], list[pd.DataFrame]]:
        """Prefix runs keyed (epochs, k)."""
        return self.of("prefix")


def write_ground_truth(
    instances: list[list[str]],
    source: str,
    out: str | Path,
    children: list[str] | None = None,
    dataset: str = "cifar10",
) -> pd.DataFrame:
    """From the trained children (one instance per seed), the paper's Table 5, or
    NAS-Bench-201's published table for `children` (the children the study evaluates).
    Returns the table written, so a caller can say what it holds."""
    if source == "paper":
        table = reference.paper_table5().reset_index()
    elif source == "nasbench201":
        table = nasbench201.ground_truth(nasbench201.seed_accuracies(dataset), children)
    else:
        finals = Inputs({"ground_truth": instances}, "", {}).gt_finals() or []
        table = tables.table5(finals)
    table = table[["child", "acc_mean", "acc_std", "rank"]]
    atomic_write_text(out, table.to_csv(index=False))
    return table


# --------------------------------------------------------------------------- tables


def table1(src: Inputs) -> pd.DataFrame:
    ours = tables.table1(src.families(), src.gt_finals(), last_epochs=src.last_epochs)
    return tables.beside_paper(ours, reference.paper_table("table1"), ["experiment"])


def table2(src: Inputs) -> pd.DataFrame:
    ours = tables.table2(src.families(), src.gt, src.gt_finals(), last_epochs=src.last_epochs)
    return tables.beside_paper(ours, reference.paper_table("table2"), ["experiment"])


def table3a(src: Inputs) -> pd.DataFrame:
    ours = tables.table3a(src.of("groups"), src.gt, src.window, src.ceiling())
    return tables.beside_paper(ours, reference.paper_table("table3a"), ["grouping", "m"])


def table3b(src: Inputs) -> pd.DataFrame:
    ours = tables.table3b(tables.table4(src.prefix(), src.gt, src.window, src.ceiling()))
    return tables.beside_paper(ours, reference.paper_table("table3b"), ["k"])


def table4(src: Inputs) -> pd.DataFrame:
    ours = tables.table4(src.prefix(), src.gt, src.window, src.ceiling())
    return tables.beside_paper(ours, reference.paper_table("table4"), ["epochs", "k"])


def table5(src: Inputs) -> pd.DataFrame:
    ours = tables.table5(src.gt_finals() or [])
    return tables.beside_paper(ours, reference.paper_table("table5"), ["child"])


def strategies_table(src: Inputs) -> pd.DataFrame:
    runs = {k: src.load(k) for k in src.labels()}
    return tables.strategies_table(runs, src.gt, src.window, src.ceiling())


def aggregation_table(src: Inputs) -> pd.DataFrame:
    return aggregation.aggregation_table(src.families(), src.gt, src.window, src.last_epochs)


def recalibration_table(src: Inputs) -> pd.DataFrame:
    [label] = src.labels()
    return recalibration.recalibration_table(_read(src, src.sets[label]), src.gt)


def _tradeoff(src: Inputs) -> pd.DataFrame:
    hours = src.hours  # device-hours per strategy: the study's cost model (nas.study.catalog)
    runs = {s: src.load(s) for s in src.sets.values() if s.experiment != GROUND_TRUTH}
    return tradeoff.tradeoff_table(runs, src.gt, src.window, hours, src.gt_finals())


def tradeoff_table(src: Inputs) -> pd.DataFrame:
    return tables.with_split_half(_tradeoff(src), src.ceiling())


def tradeoff_figure(src: Inputs, stem: Path) -> Any:
    return figures.tradeoff(_tradeoff(src), src.ceiling(), stem)


def partition_figure(src: Inputs, stem: Path) -> Any:
    panels = {}
    for grouping, [[matrix, groups]] in src.files.items():
        panels[grouping] = (similarity.read_similarity(matrix), similarity.read_partition(groups))
    return figures.partition(panels, stem)


def intext_table(src: Inputs) -> pd.DataFrame:
    """The paper's in-text numbers: their printed values are columns of their own."""
    return intext.table(findings_runs(src))


def prefix_curve_table(src: Inputs) -> pd.DataFrame:
    return tables.prefix_curve(src.prefix(), src.gt, src.ceiling())


# --------------------------------------------------------------------------- figures


def figure2(src: Inputs, stem: Path) -> Any:
    trained = src.load("ground_truth") if "ground_truth" in src.files else []
    gt_epochs = [tables.epoch_matrix(i) for i in trained]
    epochs = src.config["figures"]["figure2_epochs"]
    return figures.figure2(src.families(), gt_epochs or None, stem, epochs=epochs)


def figure3(src: Inputs, stem: Path) -> Any:
    shuffled = src.load("shuffled")
    return figures.figure3(shuffled, shuffled[0], src.gt, stem, last_epochs=src.last_epochs)


def figure4(src: Inputs, stem: Path) -> Any:
    tuned = {epoch: insts[0] for epoch, insts in src.of("finetune").items()}
    source = src.first("source") if src.files.get("source") else None
    return figures.figure4(tuned, src.gt, stem, shared=source, ceiling=src.ceiling())


def figure5(src: Inputs, stem: Path) -> Any:
    return figures.figure5(src.first("ordered"), src.first("shuffled"), src.gt, stem)


def figure6(src: Inputs, stem: Path) -> Any:
    children = figure6_children(src.config, list(src.gt.index))
    return figures.figure6(src.first("group"), src.first("share"), children, src.gt, stem)


def figure7(src: Inputs, stem: Path) -> Any:
    return figures.figure7(src.first("long"), src.gt, stem)


def figure8(src: Inputs, stem: Path) -> Any:
    return figures.figure8({k: src.load(k) for k in src.labels()}, src.gt, stem, src.ceiling())


def figure9(src: Inputs, stem: Path) -> Any:
    """The baseline momentum's run (label ``baseline``, when the seeds family is on), then
    every SGD momentum of the config (its run sets)."""
    panels = {}
    if src.files.get("baseline"):
        baseline = from_dict(dict(src.config.get("run", {}))).momentum
        panels[f"{baseline} (baseline)"] = src.first("baseline")
    for value, insts in src.of("sgd").items():
        panels[str(value)] = insts[0]
    return figures.figure9(panels, src.gt, stem)


def prefix_curve_figure(src: Inputs, stem: Path) -> Any:
    curve = tables.prefix_curve(src.prefix(), src.gt)
    return figures.prefix_curve(curve, stem, ceiling=src.ceiling())


def read_telemetry(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"trained_child": str, "child": str})


def interference_figure(src: Inputs, stem: Path) -> Any:
    [[telemetry_file]] = src.files["telemetry"]
    return figures.interference(src.first("records"), read_telemetry(telemetry_file), stem)


def _figure_partition(config: dict) -> tuple[int, int | None]:
    """(m, partition seed) of Figure 6's random partition: figures.group_m and
    experiments.groups.partition_seed (None when the groups experiment is absent)."""
    groups = config["experiments"].get("groups")  # absent: the experiment is off
    return int(config["figures"]["group_m"]), groups["partition_seed"] if groups else None


def figure6_children(config: dict, children: list[str]) -> list[str]:
    """The evaluated children (`children`: the ground truth's) of the random-partition group
    (m = figures.group_m) of the space that holds figures.group_child."""
    m, seed = _figure_partition(config)
    child = str(config["figures"]["group_child"])
    if child not in children:
        raise ValueError(
            f"figures.group_child {child!r} is not an evaluated child of the search space "
            f"(run.eval_sample: the sample's children; e.g. {sorted(children)[:3]})"
        )
    space = from_dict(dict(config.get("run", {}))).space
    evaluated = set(children)
    for group in partition(space.children, m, "random", seed):
        if child in group:
            return [c for c in group if c in evaluated]
    raise AssertionError("a partition holds every child")


# --------------------------------------------------------------------------- findings


def findings_runs(src: Inputs) -> findings.Runs:
    """Load every run set the findings read (the experiments' run sets, nas.study.catalog)."""
    group_m, partition_seed = _figure_partition(src.config)
    runs = findings.Runs(
        gt=src.gt,
        epochs=from_dict(dict(src.config.get("run", {}))).epochs,
        window=src.window,
        last_epochs=src.last_epochs,
        group_m=group_m,
        partition_seed=partition_seed,
    )
    for run_set in src.sets.values():
        instances = _read(src, run_set)
        if run_set.experiment == GROUND_TRUTH:
            runs.gt_instances = [tables.final_accuracy(inst) for inst in instances]
        else:
            runs.sets.setdefault(run_set.experiment, {})[run_set.value] = instances
    return runs


def _read(src: Inputs, run_set: RunSet) -> list[pd.DataFrame]:
    """A run set's instances, each read as its reader says: records (concatenated), BN
    recalibration's table, or a telemetry file."""
    if run_set.reader == "records":
        return src.load(run_set)
    read = read_telemetry if run_set.reader == "telemetry" else _read_recalibration
    return [read(f) for [f] in src.files[str(run_set)]]


def _read_recalibration(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"child": str})


def _space_note(config: dict) -> str:
    """What the ranks are over, for a space other than the paper's or a sampled one."""
    run = from_dict(dict(config.get("run", {})))
    if run.search_space == "darts" and not run.eval_sample:
        return ""
    n, total = len(run.sample()), run.space.n_children
    over = f"a seeded sample of {n:,} of its {total:,} children" if run.eval_sample else "all"
    return (
        f" Search space `{run.search_space}`; every rank statistic is over {over} "
        f"(run.eval_sample, balanced over the ops on every edge)."
    )


def findings_section(src: Inputs, stem: Path) -> None:
    """<stem>.csv and .md: every observation of the paper with its verdict on this run."""
    runs = findings_runs(src)
    config = src.config
    header = (
        f"Data set `{config.get('dataset')}`, {config.get('instances')} instances, window "
        f"{runs.window} mini-batches, last {runs.last_epochs} epochs; ground truth "
        f"`{config.get('ground_truth', 'trained')}`.{_space_note(config)}"
    )
    csv, md, units = (stem.parent / f"{stem.name}{ext}" for ext in (".csv", ".md", "_units.csv"))
    table, unit_values = findings.evaluate_with_units(runs)
    findings.write_findings(table, csv, md, header, unit_values, units)
