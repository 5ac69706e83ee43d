"""Every product of the study (tables, figures, the findings section), each defined once.

An entry says which runs the product reads (a function of the ``Study``), which experiments
it needs switched on and the function of ``nas.analysis.products`` that builds it; its
caption is text in captions.yaml. The workflow turns the entries into its table, figure and
findings jobs (workflow/rules/common.smk), the report shows each entry's caption, and
`snakemake` builds the enabled ones. Adding a table is one builder in
``nas.analysis.products``, one line here and one caption.

Runs are given as files relative to the results folder, grouped {label: [instance: [file,
...]]}: a run's records (``runs/<run path>/records.csv``) or a finetuning output. A label is
a product's own name for its runs or an experiment's run set (nas.core.runset.RunSet).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from nas.analysis import products, tables
from nas.core.runset import RunSet
from nas.core.searchspace import MEASURED_GROUPINGS
from nas.core.studyconfig import fill_defaults
from nas.study import captions, experiments
from nas.study.cost import Cost
from nas.study.experiments import EXPERIMENTS, FAMILIES, SHARE_ALL
from nas.study.paths import FOLDERS, each, partition_file, records, similarity_file
from nas.study.plan import Study

Files = dict[str | RunSet, list[list[str]]]  # a product's own names, or the registry's run sets
Kind = Literal["table", "figure", "section"]

EXTENSIONS: dict[str, tuple[str, ...]] = {
    "table": (".csv", ".md", ".tex"),
    "figure": (".png", ".pdf"),
    "section": (".csv", ".md"),
}


@dataclass(frozen=True)
class Product:
    """One table, figure or report section: what it reads, what builds it, what it shows."""

    name: str  # file stem under its kind's folder (a table and a figure may share one)
    kind: Kind
    needs: tuple[str, ...]  # experiments that must be on (see switch_on); () = always made
    runs: Callable[[Study], Files]
    build: Callable[..., Any]  # table: Inputs -> DataFrame; else (Inputs, stem) -> files
    hours: Callable[[Study, Files], dict[str, float]] | None = None  # cost per run label

    @property
    def caption(self) -> str:
        """Its caption (captions.yaml); a table's is also its .md and .tex caption."""
        return captions.caption(self.kind, self.name)

    @property
    def notes(self) -> str:
        """What the report shows after the caption."""
        return captions.notes(self.kind, self.name)

    def stem(self) -> str:
        """Its path without extension, relative to the results folder."""
        return str(Path(FOLDERS[self.kind]) / self.name)

    def outputs(self) -> list[str]:
        return [self.stem() + ext for ext in EXTENSIONS[self.kind]]

    def report_caption(self) -> str:
        return "\n\n".join(part for part in (self.caption, self.notes) if part)


# --------------------------------------------------------------------------- runs


def instances(study: Study, name: str) -> dict[tuple, list[list[str]]]:
    """An experiment's instances (run paths) by key."""
    return EXPERIMENTS[name].instances(study)


def family(study: Study, name: str) -> list[str]:
    return experiments.paths(study, name)


def telemetry_runs(study: Study) -> Files:
    """The interference figure: the first telemetry run's records and its telemetry."""
    files = EXPERIMENTS["telemetry"].files(study)
    return {s.get("part"): insts[:1] for s, insts in files.items()}


def recalibration_runs(study: Study) -> Files:
    """The BN recalibration table: one file per "different seeds" instance."""
    return dict(EXPERIMENTS["bn_recalibration"].files(study))


def _ground_truth(study: Study) -> list[list[str]]:
    """Ground-truth instances (one per seed); none with the paper's Table 5."""
    gt = EXPERIMENTS["ground_truth"]
    return [records(inst) for inst in gt.instances(study)[()]] if gt.enabled(study) else []


def families(study: Study) -> Files:
    """Tables 1-2, Figure 2, the aggregation table: the enabled share-all families."""
    return {name: each(family(study, name)) for name in FAMILIES if study.enabled(name)}


def with_gt(runs: Callable[[Study], Files]) -> Callable[[Study], Files]:
    """`runs` and the ground-truth seeds (label ``ground_truth``), for a table that reports
    the ground truth's split-half agreement beside its own rows."""

    def both(study: Study) -> Files:
        return {**runs(study), "ground_truth": _ground_truth(study)}

    both.__name__ = f"{runs.__name__}_and_gt"
    return both


def ground_truth_runs(study: Study) -> Files:
    return {"ground_truth": _ground_truth(study)}


def shuffled_runs(study: Study) -> Files:
    return {"shuffled": each(family(study, "different_orders_shuffle"))}


def dense_pair_runs(study: Study) -> Files:
    """Figure 5: the first ordered and the first reshuffled instance."""
    return {
        "ordered": each([study.reference_run()]),
        "shuffled": each(family(study, "different_orders_shuffle")[:1]),
    }


def finetune_runs(study: Study) -> Files:
    """Figure 4: each snapshot's finetuning of the first source, and that source's snapshot
    points."""
    tuned = EXPERIMENTS["finetune"].files(study)
    out: Files = {s: insts[:1] for s, insts in tuned.items()}
    if study.finetune_before():
        out["source"] = each([study.reference_run()])
    return out


def group_runs(study: Study) -> Files:
    return dict(EXPERIMENTS["groups"].files(study))


def group_pair_runs(study: Study) -> Files:
    """Figure 6: the first instance at m = figures.group_m (random) and at m = 1."""
    return {
        "group": [records(study.group_instance("random", study.figure_group_m(), 0))],
        "share": [records(study.group_instance("random", 1, 0))],
    }


def prefix_runs(study: Study) -> Files:
    return dict(EXPERIMENTS["prefix"].files(study))


def _each(study: Study, name: str) -> dict[tuple, list[list[str]]]:
    """An experiment's instances as records files, by key."""
    return {key: [records(i) for i in insts] for key, insts in instances(study, name).items()}


def long_runs(study: Study) -> Files:
    return {"long": _each(study, "long")[()][:1]}


def bn_runs(study: Study) -> Files:
    return {f"bn{value}": insts for (value,), insts in _each(study, "bn_momentum").items()}


def sgd_runs(study: Study) -> Files:
    """Figure 9: each SGD momentum's first run and, when the seeds family is on, the
    ``baseline``: the first instance, the same run at the baseline momentum (Figure 5a)."""
    out: Files = {}
    if study.enabled("different_seeds"):
        out["baseline"] = each([study.reference_run()])
    out.update({s: insts[:1] for s, insts in EXPERIMENTS["sgd_momentum"].files(study).items()})
    return out


def strategies_runs(study: Study) -> Files:
    """The strategies table: share-all (the different-seeds family), when on, as the
    reference row, then each extra strategy of experiments.strategies."""
    out: Files = {}
    if study.enabled("different_seeds"):
        out[SHARE_ALL] = each(family(study, "different_seeds"))
    out.update({name: insts for (name,), insts in _each(study, "strategies").items()})
    return out


def _instance_hours(cost: Cost, run_set: RunSet, insts: Sequence[Sequence[str]]) -> float:
    """Mean device-hours of one instance (its runs' jobs, a packed job's split among its
    seeds), plus share-all's training up to the snapshot a warm start or measured partition
    reads."""
    hours = _mean_hours(cost, insts)
    if run_set.experiment == "warm":
        hours += cost.share_hours_until(cost.study.warm_epoch())
    elif run_set.get("grouping") in MEASURED_GROUPINGS:
        hours += cost.share_hours_until(cost.study.interference_epoch())
    return hours


def tradeoff_hours(study: Study, files: Files) -> dict[str, float]:
    """Device-hours of one instance of each strategy, and of the ground truth's seeds."""
    cost = Cost(study)
    hours = {
        str(s): _instance_hours(cost, s, insts)
        for s, insts in files.items()
        if isinstance(s, RunSet)
    }
    if files.get("ground_truth"):
        hours["ground_truth"] = _mean_hours(cost, files["ground_truth"])
    return hours


def _mean_hours(cost: Cost, insts: Sequence[Sequence[str]]) -> float:
    """Mean device-hours of one instance: its runs' jobs, a packed job split among its seeds."""
    return float(np.mean([sum(map(cost.run_hours, inst)) for inst in insts]))


def tradeoff_runs(study: Study) -> Files:
    """The trade-off table: every strategy a budget could pick (the experiments' tradeoff
    run sets: share-all, groups, warm and equal-compute groups, prefix), instances as the
    tables read them; m = 1 (share-all) and m = all children trained as long as the
    super-nets (the ground truth) are rows of their own."""
    return dict(experiments.tradeoff_sets(study))


def partition_runs(study: Study) -> Files:
    """The partition figure: per measured grouping, its similarity and its partition at the
    figure's m."""
    m = study.partition_figure_m()
    return {g: [[similarity_file(g), partition_file(g, m)]] for g in study.measured_groupings()}


def all_runs(study: Study) -> Files:
    """Every enabled experiment's run sets, the trained ground truth's among them (the
    findings, in-text numbers)."""
    return dict(experiments.run_sets(study))


# --------------------------------------------------------------------------- the registry

P, TABLE, FIGURE, SECTION = Product, "table", "figure", "section"
PRODUCTS: tuple[Product, ...] = (
    # name, kind, the experiments it needs, its runs, its builder; captions: captions.yaml
    P("table1", TABLE, (), with_gt(families), products.table1),
    P("table2", TABLE, (), with_gt(families), products.table2),
    P("table3a", TABLE, ("groups",), with_gt(group_runs), products.table3a),
    P("table3b", TABLE, ("prefix",), with_gt(prefix_runs), products.table3b),
    P("table4", TABLE, ("prefix",), with_gt(prefix_runs), products.table4),
    P("table5", TABLE, ("ground_truth",), ground_truth_runs, products.table5),
    P("strategies", TABLE, ("strategies",), with_gt(strategies_runs), products.strategies_table),
    P("aggregation", TABLE, (), families, products.aggregation_table),
    P(
        "recalibration",
        TABLE,
        ("bn_recalibration",),
        recalibration_runs,
        products.recalibration_table,
    ),
    P("intext", TABLE, (), all_runs, products.intext_table),
    P("prefix_curve", TABLE, ("prefix",), with_gt(prefix_runs), products.prefix_curve_table),
    P("figure2", FIGURE, (), with_gt(families), products.figure2),
    P("figure3", FIGURE, ("different_orders_shuffle",), shuffled_runs, products.figure3),
    P("figure4", FIGURE, ("finetune",), with_gt(finetune_runs), products.figure4),
    P(
        "figure5",
        FIGURE,
        ("different_seeds", "different_orders_shuffle"),
        dense_pair_runs,
        products.figure5,
    ),
    P("figure6", FIGURE, ("groups",), group_pair_runs, products.figure6),
    P("figure7", FIGURE, ("long",), long_runs, products.figure7),
    P("figure8", FIGURE, ("bn_momentum",), with_gt(bn_runs), products.figure8),
    P("figure9", FIGURE, ("sgd_momentum",), sgd_runs, products.figure9),
    P("prefix_curve", FIGURE, ("prefix",), with_gt(prefix_runs), products.prefix_curve_figure),
    P("interference", FIGURE, ("telemetry",), telemetry_runs, products.interference_figure),
    P("tradeoff", TABLE, (), with_gt(tradeoff_runs), products.tradeoff_table, tradeoff_hours),
    P("tradeoff", FIGURE, (), with_gt(tradeoff_runs), products.tradeoff_figure, tradeoff_hours),
    P(
        "interference_partition",
        FIGURE,
        ("groups", "interference"),
        partition_runs,
        products.partition_figure,
    ),
    P("findings", SECTION, (), all_runs, products.findings_section),
)


# --------------------------------------------------------------------------- lookups


def labelled(files: Files) -> dict[str, list[list[str]]]:
    """Files by label: how a product's runs travel through the workflow's parameters."""
    return {str(label): insts for label, insts in files.items()}


def switch_on(study: Study, switch: str) -> bool:
    """Whether a product's experiment is on: ``ground_truth`` means the children are trained
    (config ground_truth: trained, not the paper's Table 5); any other name is the
    experiments.<name> toggle."""
    if switch == "ground_truth":
        return study.trained_gt()
    return study.enabled(switch)


def enabled(study: Study, kind: Kind | None = None) -> list[Product]:
    """The products this study makes (of one kind, or all), in registry order."""
    return [
        p
        for p in PRODUCTS
        if (kind is None or p.kind == kind) and all(switch_on(study, s) for s in p.needs)
    ]


def lookup(kind: str, name: str) -> Product:
    for product in PRODUCTS:
        if product.kind == kind and product.name == name:
            return product
    known = ", ".join(p.name for p in PRODUCTS if p.kind == kind)
    raise ValueError(f"unknown {kind} {name!r}; known: {known}")


def build(
    product: Product, files: Files, gt_path: str | Path, stem: str | Path, config: dict
) -> Any:
    """Build one product from its runs' records files (paths as the workflow passes them,
    labelled). The study is planned again to type the labels: each of the product's run sets
    (nas.core.runset) comes back as the experiment declared it, never parsed from a label."""
    config = fill_defaults(config)
    study = Study(config)
    planned = product.runs(study)
    sets = {str(s): s for s in planned if isinstance(s, RunSet) and str(s) in files}
    hours = product.hours(study, planned) if product.hours else {}
    src = products.Inputs(labelled(files), gt_path, config, hours, sets)
    if product.kind == "table":
        return tables.write_table(product.build(src), Path(stem), product.caption)
    return product.build(src, Path(stem))
