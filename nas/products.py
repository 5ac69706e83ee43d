"""The study's products (ground-truth table, Tables 1-5, Figures 2-9, the in-text numbers,
the prefix curve) from records files.

The workflow's scripts call these with the records files of each product's instances
(grouped as {label: [instance: [records file, ...]]}); everything here reads data the
training rules wrote, never logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from nas import analysis, figures, findings, intext, metrics, reference
from nas.records import atomic_write_text
from nas.searchspace import partition

Instances = dict[str, list[list[str]]]

DIFFERENT_EPOCHS = (
    "different_epochs: the last `last_epochs` epochs of one reshuffled-order instance; which "
    "one the paper does not state. Ours: the instance of lower-median {by} (its own {cols}); "
    "different_epochs_median_all: each column's median over all instances; "
    "different_epochs_mean_all: each column's mean over them."
)
CAPTIONS = {
    "table1": "Instability of multiple instances: S-Tau (mean, max, min) at the final epoch. "
    + DIFFERENT_EPOCHS.format(by="S-Tau over those epochs", cols="Max and Min"),
    "table2": "Comparison with ground truth: GT-Tau, T1R and T3R (mean and std of 10 numbers). "
    + DIFFERENT_EPOCHS.format(by="final GT-Tau", cols="means and stds over those epochs"),
    "table3a": "Group sharing: GT-Tau-Mean-k and GT-Tau-Std-k, mean and std over instances.",
    "table3b": "Prefix sharing at the longest training: GT-Tau-Mean-k and GT-Tau-Std-k.",
    "table4": "Prefix sharing: GT-Tau and accuracy statistics over the last k mini-batches.",
    "table5": "Ground truth: accuracy of each child trained alone (mean, std over seeds), rank.",
    "intext": "The paper's in-text numbers (ranges, a case study, a bound) beside ours; a range "
    "is low-high, a single value has low = high.",
    "prefix_curve": "Prefix sharing: GT-Tau of the epoch points, mean and std over instances, "
    "per run length and k (the figure prefix_curve draws).",
}


def read_ground_truth(path: str | Path) -> pd.DataFrame:
    """child-indexed acc_mean (percent), acc_std, rank (1 = best), checked (see metrics)."""
    return metrics.read_ground_truth(path)


def _final(instances: list[list[str]]) -> list[pd.Series]:
    return [analysis.final_accuracy(analysis.load_instance(files)) for files in instances]


def _load(instances: list[list[str]]) -> list[pd.DataFrame]:
    return [analysis.load_instance(files) for files in instances]


def write_ground_truth(instances: list[list[str]], source: str, out: str | Path) -> None:
    """From the trained children (one instance per seed), or the paper's Table 5."""
    if source == "paper":
        table = reference.paper_table5().reset_index()
    else:
        table = analysis.table5(_final(instances))
    atomic_write_text(out, table[["child", "acc_mean", "acc_std", "rank"]].to_csv(index=False))


def _split_key(label: str) -> tuple[str, str]:
    a, _, b = label.partition("/")
    return a, b


def make_table(name: str, inst: Instances, gt_path: str, stem: str | Path, config: dict) -> None:
    gt = read_ground_truth(gt_path)
    gt_inst = _final(inst["ground_truth"]) if inst.get("ground_truth") else None
    families = {k: _load(v) for k, v in inst.items() if k.startswith("different_")}
    window, last = int(config.get("window", 64)), int(config.get("last_epochs", 10))
    if name == "table1":
        ours, keys = analysis.table1(families, gt_inst, last_epochs=last), ["experiment"]
    elif name == "table2":
        ours, keys = analysis.table2(families, gt, gt_inst, last_epochs=last), ["experiment"]
    elif name == "table3a":
        groups = {
            (g, int(m)): _load(v) for g, m in map(_split_key, inst) for v in [inst[f"{g}/{m}"]]
        }
        ours, keys = analysis.table3a(groups, gt, window), ["grouping", "m"]
    elif name in ("table3b", "table4"):
        ours, keys = analysis.table4(_prefix_instances(inst), gt, window), ["epochs", "k"]
        if name == "table3b":
            ours = ours[ours.epochs == ours.epochs.max()].drop(
                columns=["acc_mean", "acc_mean_std", "acc_std", "acc_std_std"]
            )
            keys = ["k"]
    elif name == "table5":
        ours, keys = analysis.table5(gt_inst or []), ["child"]
    elif name in OURS_ONLY:
        ours = OURS_ONLY[name](inst, gt_path, config)
        return analysis.write_table(ours, Path(stem), CAPTIONS[name])
    else:
        raise ValueError(f"unknown table {name!r}")
    paper = reference.paper_table(name)
    if name == "table5":
        paper = paper.reset_index() if "child" not in paper.columns else paper
    analysis.write_table(analysis.beside_paper(ours, paper, keys), Path(stem), CAPTIONS[name])


def _prefix_instances(inst: Instances) -> dict[tuple[int, int], list[pd.DataFrame]]:
    """Prefix runs keyed (epochs, k) from labels 'epochs/k' (workflow/rules/prefix.smk)."""
    return {(int(e), int(k)): _load(inst[f"{e}/{k}"]) for e, k in map(_split_key, inst)}


def _intext(inst: Instances, gt_path: str, config: dict) -> pd.DataFrame:
    return intext.table(findings_runs(inst, gt_path, config))


def _prefix_curve(inst: Instances, gt_path: str, config: dict) -> pd.DataFrame:
    return analysis.prefix_curve(_prefix_instances(inst), read_ground_truth(gt_path))


# Tables the paper has no table for: their paper values, if any, are in their own columns.
OURS_ONLY = {"intext": _intext, "prefix_curve": _prefix_curve}


def make_figure(name: str, inst: Instances, gt_path: str, stem: str | Path, config: dict) -> Any:
    gt = read_ground_truth(gt_path)
    stem = Path(stem)
    if name == "figure2":
        families = {k: _load(v) for k, v in inst.items() if k.startswith("different_")}
        gt_epochs = [analysis.epoch_matrix(i) for i in _load(inst.get("ground_truth") or [])]
        epochs = config.get("figures", {}).get("figure2_epochs")
        return figures.figure2(families, gt_epochs or None, stem, epochs=epochs)
    if name == "figure3":
        shuffled = _load(inst["shuffled"])
        return figures.figure3(
            shuffled, shuffled[0], gt, stem, last_epochs=int(config.get("last_epochs", 10))
        )
    if name == "figure4":
        tuned = {
            int(k.removeprefix("epoch")): analysis.load_instance(v[0])
            for k, v in inst.items()
            if k != "source"
        }
        source = _load(inst["source"])[0] if inst.get("source") else None
        return figures.figure4(tuned, gt, stem, shared=source)
    if name == "figure5":
        return figures.figure5(_load(inst["ordered"])[0], _load(inst["shuffled"])[0], gt, stem)
    if name == "figure6":
        group, share = _load(inst["group"])[0], _load(inst["share"])[0]
        return figures.figure6(group, share, figure6_children(config, list(gt.index)), gt, stem)
    if name == "figure7":
        return figures.figure7(_load(inst["long"])[0], gt, stem)
    if name == "figure8":
        return figures.figure8({k: _load(v) for k, v in inst.items()}, gt, stem)
    if name == "figure9":
        return figures.figure9(next(iter(_load(v)[0] for v in inst.values())), gt, stem)
    if name == "prefix_curve":
        return figures.prefix_curve(analysis.prefix_curve(_prefix_instances(inst), gt), stem)
    raise ValueError(f"unknown figure {name!r}")


def figure6_children(config: dict, children: list[str]) -> list[str]:
    """The random-partition group (m = figures.group_m) that holds figures.group_child."""
    fig = config.get("figures", {})
    m, child = int(fig.get("group_m", 16)), str(fig.get("group_child", "424"))
    seed = int(config["experiments"]["groups"].get("partition_seed", 42))
    for group in partition(sorted(children), m, "random", seed):
        if child in group:
            return group
    raise ValueError(f"figures.group_child {child!r} is not a child of the search space")


def findings_runs(inst: Instances, gt_path: str, config: dict) -> findings.Runs:
    """Load every experiment the findings read; labels are '<experiment>:<key>' (see
    workflow/rules/findings.smk)."""
    fig = config.get("figures", {})
    runs = findings.Runs(
        gt=read_ground_truth(gt_path),
        window=int(config.get("window", 64)),
        last_epochs=int(config.get("last_epochs", 10)),
        group_m=int(fig.get("group_m", 16)),
        partition_seed=int(config["experiments"].get("groups", {}).get("partition_seed", 42)),
    )
    for label, instances in inst.items():
        kind, _, key = label.partition(":")
        if kind == "ground_truth":
            runs.gt_instances = _final(instances)
        elif kind == "family":
            runs.families[key] = _load(instances)
        elif kind == "groups":
            grouping, m = _split_key(key)
            runs.groups[(grouping, int(m))] = _load(instances)
        elif kind == "prefix":
            epochs, k = _split_key(key)
            runs.prefix[(int(epochs), int(k))] = _load(instances)
        elif kind == "finetune":
            runs.finetune[int(key)] = analysis.load_instance(instances[0])
        elif kind == "long":
            runs.long = _load(instances)[0]
        elif kind == "bn":
            runs.bn[float(key)] = _load(instances)
        elif kind == "sgd":
            runs.sgd[float(key)] = _load(instances)[0]
        else:
            raise ValueError(f"findings: unknown input label {label!r}")
    return runs


def make_findings(inst: Instances, gt_path: str, csv_path: str, md_path: str, config: dict) -> None:
    """results/findings.{csv,md}: every observation of the paper with its verdict on this run."""
    runs = findings_runs(inst, gt_path, config)
    header = (
        f"Data set `{config.get('dataset')}`, {config.get('instances')} instances, window "
        f"{runs.window} mini-batches, last {runs.last_epochs} epochs; ground truth "
        f"`{config.get('ground_truth', 'trained')}`."
    )
    findings.write_findings(findings.evaluate(runs), csv_path, md_path, header)
