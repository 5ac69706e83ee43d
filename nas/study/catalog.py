"""Every product of the study (tables, figures, the findings section), each defined once.

An entry says which runs the product reads (a function of the ``Study``), which experiments
it needs switched on, the function of ``nas.analysis.products`` that builds it, and its caption. The
workflow turns the entries into its table, figure and findings jobs (workflow/rules/
common.smk), the report shows each entry's caption, and `snakemake` builds the enabled ones.
Adding a table is one builder in ``nas.analysis.products`` and one entry here.

Runs are given as files relative to the results folder, grouped {label: [instance: [file,
...]]}: a run's records (``runs/<run path>/records.csv``) or a finetuning output.
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
from nas.study import experiments
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
    caption: str  # a table's: also its .md and .tex caption
    notes: str = ""  # shown in the report after the caption
    hours: Callable[[Study, Files], dict[str, float]] | None = None  # cost per run label

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


def _families(study: Study) -> Files:
    return {name: each(family(study, name)) for name in FAMILIES if study.enabled(name)}


def families_and_gt(study: Study) -> Files:
    """Tables 1-2 and Figure 2: the enabled share-all families and the ground truth."""
    return {**_families(study), "ground_truth": _ground_truth(study)}


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
    hours = float(np.mean([sum(map(cost.run_hours, inst)) for inst in insts]))
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
        runs = files["ground_truth"]
        hours["ground_truth"] = float(np.mean([sum(map(cost.run_hours, i)) for i in runs]))
    return hours


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


# --------------------------------------------------------------------------- captions

DIFFERENT_EPOCHS = (
    "different_epochs: the last `last_epochs` epochs of one reshuffled-order instance; which "
    "one the paper does not state. Ours: the instance of lower-median {by} (its own {cols}); "
    "different_epochs_median_all: each column's median over all instances; "
    "different_epochs_mean_all: each column's mean over them."
)
PAPER_BESIDE = "Columns ending in ``_paper`` hold the published values."
STATISTICS = (
    "Beyond the paper (nas/analysis/rankstats.py): ``_lo``/``_hi``, the 95 % t-interval of the "
    "mean over instances; ``spearman``; ``sparse_tau``, Kendall tau with accuracies rounded to "
    "0.1 %; ``p_at_5``/``p_at_10``, the share of the ground truth's top 5/10 in the rank's; "
    "``top5_best``/``top5_worst``, the best and worst ground-truth rank among the rank's top 5; "
    "each a mean over instances{window}. {ceiling}"
)
CEILING_ROW = (
    "Row ``split_half_agreement``: tau between the mean accuracies of disjoint halves of the "
    "ground-truth seeds (mean over the splits; lo and hi, or max and min, its range over them), "
    "how well two ground truths of half the seeds each agree: a floor on the full ground "
    "truth's reliability, not a ceiling. Row ``perfect_rank_bound`` (Table 2): the GT-Tau a "
    "ranking by the children's true accuracies would reach against the mean of all seeds "
    "(simulated from the seeds' spread, nas.analysis.rankstats), the level no estimate can be "
    "expected "
    "to pass. (Row ``ground_truth`` compares each seed with the mean of the others, leave one "
    "out, as the findings do.)"
)
CEILING_COLUMN = CEILING_ROW.replace("Row ``split_half_agreement``", "``gt_split_half``").replace(
    " (mean over the splits; lo and hi, or max and min, its range over them)", ""
)
WINDOWED = " (of the window's points, averaged)"
DENSE = (
    "Each curve is one child's validation accuracy after each of the last ``run.dense_last`` "
    "mini-batches; lighter colours are better ground-truth ranks, and a diamond marks the child "
    "trained at that mini-batch."
)

TRADEOFF = (
    "Which sharing for which budget (beyond the paper): every strategy's GT-Tau-Mean-k (k = "
    "``window``) with its 95 % t-interval over instances, T1R and T3R of the final "
    "rank, against the device-hours one instance costs (nas.study.cost); ``pareto``: "
    "no other strategy costs as little and ranks better."
)
TRADEOFF_NOTES = (
    "Strategies: ``share-all``; ``groups:<grouping>/<m>`` (random, similar, and the measured "
    "correlation and gradient groupings); ``warm:<grouping>/<m>``, groups warm-started from "
    "share-all's snapshot (few-shot NAS); ``equal:<grouping>/<m>``, groups at share-all's "
    "total steps; ``prefix:<epochs>/<k>``; ``ground_truth``, each seed against the mean of "
    "the others. Hours come from ``throughput`` (the scale preset: CPU figures) and include "
    "share-all's training up to the snapshot a warm start or measured partition reads."
)

# --------------------------------------------------------------------------- the registry

P = Product
PRODUCTS: tuple[Product, ...] = (
    P(
        "table1",
        "table",
        needs=(),
        runs=families_and_gt,
        build=products.table1,
        caption=(
            "Instability of multiple instances: S-Tau (mean, max, min) at the final epoch. "
            + DIFFERENT_EPOCHS.format(by="S-Tau over those epochs", cols="Max and Min")
        ),
        notes=PAPER_BESIDE + " ``s_tau_lo``/``s_tau_hi``: the 95 % jackknife t-interval over "
        "instances (the pairs share instances; none for the different-epochs rows, epochs of "
        "one run). " + CEILING_ROW,
    ),
    P(
        "table2",
        "table",
        needs=(),
        runs=families_and_gt,
        build=products.table2,
        caption=(
            "Comparison with ground truth: GT-Tau, T1R and T3R (mean and std of 10 numbers). "
            + DIFFERENT_EPOCHS.format(by="final GT-Tau", cols="means and stds over those epochs")
        ),
        notes=PAPER_BESIDE + " " + STATISTICS.format(window="", ceiling=CEILING_ROW),
    ),
    P(
        "table3a",
        "table",
        needs=("groups",),
        runs=with_gt(group_runs),
        build=products.table3a,
        caption="Group sharing: GT-Tau-Mean-k and GT-Tau-Std-k, mean and std over instances.",
        notes=PAPER_BESIDE
        + " k is ``window`` (the paper: 64). "
        + STATISTICS.format(window=WINDOWED, ceiling=CEILING_COLUMN),
    ),
    P(
        "table3b",
        "table",
        needs=("prefix",),
        runs=with_gt(prefix_runs),
        build=products.table3b,
        caption="Prefix sharing at the longest training: GT-Tau-Mean-k and GT-Tau-Std-k.",
        notes=PAPER_BESIDE
        + " ``epochs`` is our longest prefix run (the paper's: 2000). "
        + STATISTICS.format(window=WINDOWED, ceiling=CEILING_COLUMN),
    ),
    P(
        "table4",
        "table",
        needs=("prefix",),
        runs=with_gt(prefix_runs),
        build=products.table4,
        caption="Prefix sharing: GT-Tau and accuracy statistics over the last k mini-batches.",
        notes=PAPER_BESIDE + " " + STATISTICS.format(window=WINDOWED, ceiling=CEILING_COLUMN),
    ),
    P(
        "table5",
        "table",
        needs=("ground_truth",),
        runs=ground_truth_runs,
        build=products.table5,
        caption="Ground truth: accuracy of each child trained alone (mean, std over seeds), rank.",
        notes=PAPER_BESIDE,
    ),
    P(
        "strategies",
        "table",
        needs=("strategies",),
        runs=with_gt(strategies_runs),
        build=products.strategies_table,
        caption=(
            "Extra sharing strategies (``experiments.strategies``) beside share-all: GT-Tau and "
            "accuracy statistics over the last k mini-batches, as in Table 4."
        ),
        notes=(
            "``children``: how many children one run ranks (GT-Tau compares them with the "
            "ground truth's ranks of the same children). k is ``window``. "
            + STATISTICS.format(window=WINDOWED, ceiling=CEILING_COLUMN)
        ),
    ),
    P(
        "aggregation",
        "table",
        needs=(),
        runs=_families,
        build=products.aggregation_table,
        caption=(
            "Rank aggregation (beyond the paper): GT-Tau, T1R and T3R of a rank read once "
            "(``final``), averaged over the last k mini-batches (``last_minibatches``, k = "
            "``window``) or the last epochs (``last_epochs``), and the consensus (mean rank) of "
            "a family's instances."
        ),
        notes=(
            "``gt_tau_lo``/``gt_tau_hi``: 95 % t-interval over instances (consensus: the "
            "jackknife's, leaving out one voting instance at a time). ``gain``: GT-Tau minus "
            "``final``'s, paired by instance, "
            "with its interval (consensus: minus the instances' mean final GT-Tau, no interval). "
            "Dense points are evaluated on ``run.minibatch_eval_images`` images, epoch points on "
            "the whole validation split." + " " + STATISTICS.format(window="", ceiling="")
        ),
    ),
    P(
        "recalibration",
        "table",
        needs=("bn_recalibration",),
        runs=recalibration_runs,
        build=products.recalibration_table,
        caption=(
            "BN recalibration (beyond the paper): GT-Tau, T1R and T3R of every child evaluated "
            'from the final weights of each "different seeds" instance after its BN statistics '
            "are recomputed on N training mini-batches (N = 0: the super-net's own statistics, "
            "the paper's evaluation)."
        ),
        notes=(
            "``gt_tau_lo``/``gt_tau_hi``: 95 % t-interval over instances; ``gain``: GT-Tau "
            "minus N = 0's, paired by instance, with its interval; ``acc_mean``: the children's "
            "mean accuracy; ``seconds_per_child``: wall "
            "seconds to recalibrate and evaluate one child (``experiments.bn_recalibration``)."
            + " "
            + STATISTICS.format(window="", ceiling="")
        ),
    ),
    P(
        "intext",
        "table",
        needs=(),
        runs=all_runs,
        build=products.intext_table,
        caption=(
            "The paper's in-text numbers (ranges, a case study, a bound) beside ours; a range "
            "is low-high, a single value has low = high."
        ),
        notes=(
            "From Sections 3.2, 3.3, 4.2.1, 4.3 and Appendix A.2.2 "
            "(``nas/analysis/intext.py``): ``paper`` "
            "as printed, ``paper_low``/``paper_high`` and ``ours_low``/``ours_high`` the range, "
            "``n`` the units summarised, ``note`` what to read it against. The prefix rows give, "
            "per k, the first evaluated epoch at which the mean GT-Tau over instances is above 0.6 "
            "(the paper: k = 0 takes over 1000 of 2000 epochs)."
        ),
    ),
    P(
        "prefix_curve",
        "table",
        needs=("prefix",),
        runs=with_gt(prefix_runs),
        build=products.prefix_curve_table,
        caption=(
            "Prefix sharing: GT-Tau of the epoch points, mean and std over instances, "
            "per run length and k (the figure prefix_curve draws)."
        ),
        notes=(
            "Epoch points every ``experiments.prefix.eval_every`` epochs and the last. "
            "``gt_tau_lo``/``gt_tau_hi``: 95 % t-interval of the mean over instances. "
            + CEILING_COLUMN
        ),
    ),
    P(
        "figure2",
        "figure",
        needs=(),
        runs=families_and_gt,
        build=products.figure2,
        caption=(
            'S-Tau after every epoch for "Diff. seeds", "Diff. orders (shuffle)" and the ground '
            "truth: how much the instances of a family agree on the ranking (Section 3.2)."
        ),
        notes=(
            "Epochs drawn: ``figures.figure2_epochs`` (the paper's 120-200). A ground truth "
            "trained longer than the super-nets (``experiments.ground_truth.epochs``) is drawn "
            "as its final S-Tau, dashed."
        ),
    ),
    P(
        "figure3",
        "figure",
        needs=("different_orders_shuffle",),
        runs=shuffled_runs,
        build=products.figure3,
        caption=(
            "Distribution of the rank of each child, ordered from the ground-truth best to worst: "
            "(a) the final rank over the reshuffled-order instances, (b) the rank over the last "
            "``last_epochs`` epochs of one of them. Boxes span the quartiles, with a line at the "
            "median; whiskers show the range; outliers are circles."
        ),
    ),
    P(
        "figure4",
        "figure",
        needs=("finetune",),
        runs=with_gt(finetune_runs),
        build=products.figure4,
        caption=(
            'Finetuning from snapshots of the first "different seeds" instance (Section 3.3): '
            "accuracy of every child (top) and GT-Tau (bottom), one column per snapshot epoch "
            "(``experiments.finetune.epochs``). The dash-dotted black line: the ground truth's "
            "split-half agreement."
        ),
        notes=(
            "Solid: the source run's own evaluations after each of the mini-batches before the "
            "snapshot (``experiments.finetune.before``), all children sharing one copy; dotted: "
            "each child finetuned alone from the snapshot. x counts mini-batches from the snapshot."
        ),
    ),
    P(
        "figure5",
        "figure",
        needs=("different_seeds", "different_orders_shuffle"),
        runs=dense_pair_runs,
        build=products.figure5,
        caption=(
            "Validation accuracy of all children over the last mini-batches, (a) ordered (the "
            'first "different seeds" instance), (b) shuffled (a new order every 64 mini-batches).'
        ),
        notes=DENSE + " Ordered, the pattern repeats with the period of the child order.",
    ),
    P(
        "figure6",
        "figure",
        needs=("groups",),
        runs=group_pair_runs,
        build=products.figure6,
        caption=(
            "Validation accuracy of one group of group sharing (random grouping, m = "
            "``figures.group_m``, the group holding ``figures.group_child``) over the last "
            "mini-batches, (a) within its group, (b) the same children under full sharing (m = 1)."
        ),
        notes=(
            "A colour per child (legend: its ground-truth rank); a diamond marks the child trained "
            "at that mini-batch."
        ),
    ),
    P(
        "figure7",
        "figure",
        needs=("long",),
        runs=long_runs,
        build=products.figure7,
        caption=(
            "Validation accuracy of all children over the last mini-batches of a share-all run of "
            "``experiments.long.epochs`` epochs (the paper: 2000), drawn as Figure 5a."
        ),
        notes=DENSE,
    ),
    P(
        "figure8",
        "figure",
        needs=("bn_momentum",),
        runs=with_gt(bn_runs),
        build=products.figure8,
        caption=(
            "GT-Tau over the last mini-batches, one curve per instance, one panel per BN momentum "
            "(``experiments.bn_momentum.values``; the paper: 0.1 and 0.9). The dash-dotted black "
            "line: the ground truth's split-half agreement."
        ),
    ),
    P(
        "figure9",
        "figure",
        needs=("sgd_momentum",),
        runs=sgd_runs,
        build=products.figure9,
        caption=(
            "Validation accuracy of all children over the last mini-batches, one panel per SGD "
            'momentum: the baseline ``run.momentum`` (the first "different seeds" instance, as '
            "in Figure 5a) and every value of ``experiments.sgd_momentum.values`` (the paper: 0, "
            "where the accuracy varies over a wider range)."
        ),
        notes=DENSE,
    ),
    P(
        "prefix_curve",
        "figure",
        needs=("prefix",),
        runs=with_gt(prefix_runs),
        build=products.prefix_curve_figure,
        caption=(
            "Prefix sharing (Section 4.3): GT-Tau against epochs, one line per k (mean over "
            "instances, a band of one std), one panel per run length; the dashed line is 0.6, a "
            "circle each k's first epoch above it; the dash-dotted black line the ground truth's "
            "split-half agreement."
        ),
        notes=(
            "The paper: k = 0 takes over 1000 of 2000 epochs. Not a figure of the paper: it draws "
            "the curve behind that sentence."
        ),
    ),
    P(
        "interference",
        "figure",
        needs=("telemetry",),
        runs=telemetry_runs,
        build=products.interference_figure,
        caption=(
            "Interference telemetry (beyond the paper): before each of the last mini-batches of "
            'the first "different seeds" instance, the cosine between the trained child\'s '
            "gradient on the shared weights and a sampled other child's, against the rank that "
            "other child gains at that mini-batch (its rank before minus after; positive: it "
            "climbed)."
        ),
        notes=(
            "``experiments.telemetry.children`` other children per mini-batch; the title gives "
            "Kendall tau between cosine and rank gain over the pairs drawn."
        ),
    ),
    P(
        "tradeoff",
        "table",
        needs=(),
        runs=with_gt(tradeoff_runs),
        hours=tradeoff_hours,
        build=products.tradeoff_table,
        caption=TRADEOFF,
        notes=TRADEOFF_NOTES,
    ),
    P(
        "tradeoff",
        "figure",
        needs=(),
        runs=with_gt(tradeoff_runs),
        hours=tradeoff_hours,
        build=products.tradeoff_figure,
        caption=TRADEOFF,
        notes=TRADEOFF_NOTES + " Bars: the interval; the line joins the front.",
    ),
    P(
        "interference_partition",
        "figure",
        needs=("groups", "interference"),
        runs=partition_runs,
        build=products.partition_figure,
        caption=(
            "Groupings from measured interference (beyond the paper): each measured similarity "
            "between children, ordered by the groups of its balanced partition (lines: group "
            "borders), at Figure 6's m when a measured grouping is trained at it, else the "
            "largest such m."
        ),
        notes=(
            "``correlation``: of the children's accuracy changes over the mini-batches before "
            'the first "different seeds" instance\'s snapshot at the epoch '
            "``experiments.interference.epoch``; "
            "``gradient``: the cosine of their gradients on the shared weights at that snapshot. "
            "Titles: the mean similarity within groups, for this partition and for the similar "
            "(lexicographic) one."
        ),
    ),
    P(
        "findings",
        "section",
        needs=(),
        runs=all_runs,
        build=products.findings_section,
        caption=(
            "The paper's observations as tests registered before the run "
            "(``nas/analysis/reference/claims.yaml``): for each, its statistic over "
            "independent units "
            "(instances), a 95 % t-interval, the standardised effect, the two-sided p and the p "
            "adjusted over its family (Holm for the paper's claims, Benjamini-Hochberg beyond "
            "it), n and the n the observed effect would need, and a verdict with its reason: "
            "supported or contradicted (adjusted p below alpha), or inconclusive because "
            "underpowered, compatible with both, not testable at this scale, or descriptive "
            "(one run). ``results/findings_units.csv`` holds every unit's value."
        ),
    ),
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
