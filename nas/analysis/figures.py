"""The paper's figures (2-9) drawn from accuracy records.

Figures are built on ``matplotlib.figure.Figure`` rendered by the Agg/PDF canvases directly, so
importing this module never touches pyplot's global backend or needs a display. Each function
writes ``<out>.png`` and ``<out>.pdf`` atomically (temp file + ``os.replace`` via
``records.atomic_write_bytes``) and returns the two paths. Data conventions are those of
``nas.analysis.tables``: instances are tidy records DataFrames, ``gt`` is indexed by child with
acc_mean and rank.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from nas.analysis import tables
from nas.core.records import atomic_write_bytes

__all__ = [
    "FAMILY_LABELS",
    "figure2",
    "figure3",
    "figure4",
    "figure5",
    "figure6",
    "figure7",
    "figure8",
    "figure9",
    "prefix_curve",
]

FAMILY_LABELS = {
    "different_seeds": "Diff. seeds",
    "different_orders": "Diff. orders",
    "different_orders_shuffle": "Diff. orders (shuffle)",
}
RANK_CMAP = "viridis_r"  # rank 1 -> light (yellow), worst -> dark, as in the paper
MARKER = "D"  # the paper marks the child trained at each mini-batch with a diamond


# --------------------------------------------------------------------------- helpers


def _save(fig: Figure, out: str | Path) -> list[Path]:
    """Render PNG and PDF to memory, then write each atomically; fixed PDF date = same bytes.

    Margins are fixed by ``_new_figure`` rather than ``bbox_inches="tight"``, which would lay
    out all text a second time per format (it doubled the rendering time).
    """
    out = Path(out)
    paths = []
    for ext, kwargs in (("png", {"dpi": 150}), ("pdf", {"metadata": {"CreationDate": None}})):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, **kwargs)
        path = out.parent / f"{out.name}.{ext}"
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    return paths


def _new_figure(
    width: float,
    height: float,
    left: float = 0.75,
    right: float = 0.2,
    bottom: float = 0.6,
    top: float = 0.4,
    wspace: float = 0.15,
    hspace: float = 0.2,
) -> Figure:
    """A figure with fixed margins given in inches, so they fit the labels at any size."""
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=wspace,
        hspace=hspace,
    )
    return fig


CEILING_LABEL = "GT split-half"


def ceiling_line(ax: Axes, ceiling: float | None) -> None:
    """The ground truth's split-half agreement (nas.analysis.rankstats) on a GT-Tau axis, when
    known: how
    well two half-size ground truths agree, so a curve is read against the data's own noise."""
    if ceiling is not None:
        ax.axhline(ceiling, ls="-.", color="black", lw=1.0, label=CEILING_LABEL)


def _rank_colors(gt: pd.DataFrame, children: Sequence[str]) -> tuple[dict[str, tuple], Normalize]:
    """Colour per child from its ground-truth rank: lighter = better."""
    gt = tables.as_gt(gt)
    ranks = gt["rank"].astype(float)
    norm = Normalize(vmin=float(ranks.min()), vmax=float(ranks.max()))
    cmap = matplotlib.colormaps[RANK_CMAP]
    missing = [c for c in children if c not in gt.index]
    if missing:
        raise ValueError(f"children missing from ground truth: {', '.join(missing)}")
    return {c: cmap(norm(ranks[c])) for c in children}, norm


def _rank_colorbar(fig: Figure, ax: Axes | Sequence[Axes], norm: Normalize) -> None:
    sm = ScalarMappable(norm=norm, cmap=RANK_CMAP)
    fig.colorbar(sm, ax=ax, label="Ground-truth rank", fraction=0.04, pad=0.02)


def _gt_order(gt: pd.DataFrame, children: Sequence[str]) -> list[str]:
    """Children from ground-truth best to worst (rank, then accuracy, then name: deterministic)."""
    gt = tables.as_gt(gt)
    sub = gt.loc[list(children)]
    frame = pd.DataFrame(
        {"rank": sub["rank"].to_numpy(), "acc": -sub["acc_mean"].to_numpy()},
        index=[str(c) for c in sub.index],
    )
    frame["name"] = frame.index
    return list(frame.sort_values(["rank", "acc", "name"], kind="stable").index)


def _plot_dense_accuracy(
    ax: Axes,
    inst: pd.DataFrame,
    gt: pd.DataFrame,
    title: str,
    children: Sequence[str] | None = None,
    colors: dict[str, tuple] | None = None,
) -> Normalize:
    """One panel of Figures 5/6/7/9: each child's accuracy over the dense points.

    x is the position within the window (1 = oldest mini-batch shown). A diamond marks the child
    trained at that mini-batch (for grouped instances, the one trained in the plotted group).
    """
    matrix = tables.dense_matrix(inst)
    if children is not None:
        missing = [c for c in children if c not in matrix.columns]
        if missing:
            raise ValueError(f"children not in instance: {', '.join(missing)}")
        matrix = matrix[list(children)]
    by_rank, norm = _rank_colors(gt, list(matrix.columns))
    colors = colors or by_rank
    x = pd.Series(np.arange(1, len(matrix) + 1), index=matrix.index)
    # Worst first so the light (good) curves are drawn on top.
    for child in reversed(_gt_order(gt, matrix.columns)):
        ax.plot(x, matrix[child], color=colors[child], lw=0.8, label=child)
    marks = [
        (x[step], matrix.at[step, child], colors[child])
        for step, child in tables.trained_at(inst, matrix.columns).itertuples(index=False)
        if child in matrix.columns and step in matrix.index
    ]
    if marks:
        xs, ys, cs = zip(*marks, strict=True)
        ax.scatter(xs, ys, s=12, c=list(cs), marker=MARKER, edgecolors="black", linewidths=0.3)
    ax.set_title(title)
    ax.set_xlabel("Mini-batch")
    ax.set_ylabel("Validation accuracy")
    ax.set_xlim(0.5, len(matrix) + 0.5)
    return norm


# --------------------------------------------------------------------------- figures


def figure2(
    families: dict[str, list[pd.DataFrame]],
    gt_epoch_instances: list[pd.DataFrame] | None,
    out: str | Path,
    names: Sequence[str] = ("different_seeds", "different_orders_shuffle"),
    epochs: Sequence[int] | None = None,
) -> list[Path]:
    """Figure 2, written as PNG and PDF (see draw_figure2)."""
    return _save(draw_figure2(families, gt_epoch_instances, names, epochs), out)


def draw_figure2(
    families: dict[str, list[pd.DataFrame]],
    gt_epoch_instances: list[pd.DataFrame] | None,
    names: Sequence[str] = ("different_seeds", "different_orders_shuffle"),
    epochs: Sequence[int] | None = None,
) -> Figure:
    """Figure 2: S-Tau after every epoch (over a family's instances, at epochs all evaluated).

    ``names`` picks the families drawn (the paper shows seeds and shuffle; absent ones are
    skipped). ``epochs`` = (first, last) limits the curves to the paper's range (120-200: the
    last epochs, where the instability is read; config figures.figure2_epochs); None draws
    every evaluated epoch. The ground-truth curve needs per-epoch accuracy of independently
    trained runs, so it takes ``gt_epoch_instances``: wide epoch matrices (rows = epochs,
    columns = children, as ``tables.epoch_matrix`` returns); None draws no ground truth.
    """
    curves = {
        FAMILY_LABELS.get(name, name): tables.s_tau_per_epoch(
            [tables.epoch_matrix(i) for i in families[name]]
        )
        for name in names
        if name in families
    }
    fig = _new_figure(5, 4.1, bottom=1.2)
    ax = fig.add_subplot()
    for label, curve in curves.items():
        curve = _epoch_range(curve, epochs)
        ax.plot(curve.index, curve["s_tau"], label=label)
    if gt_epoch_instances is not None:
        _ground_truth_curve(ax, tables.s_tau_per_epoch(gt_epoch_instances), curves, epochs)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Epochs")
    ax.set_ylabel("S-Tau")
    ax.set_title("S-Tau after every epoch")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize="small")
    return fig


def _ground_truth_curve(
    ax: Axes,
    gt: pd.DataFrame,
    curves: dict[str, pd.DataFrame],
    epochs: Sequence[int] | None,
) -> None:
    """The ground truth's S-Tau: a curve over the same epochs when the children alone trained
    as long as the super-nets and were evaluated at two or more of the drawn epochs;
    otherwise (trained for other epochs, or evaluated only at the end, as the scale presets
    do) its final value as a dashed line, labelled with its own length: one point alone
    draws no visible line."""
    last = max((int(c.index.max()) for c in curves.values()), default=None)
    if last is None or int(gt.index.max()) == last:
        curve = _epoch_range(gt, epochs)
        if len(curve) > 1:
            ax.plot(curve.index, curve["s_tau"], label="Ground truth", color="black")
            return
    final = int(gt.index.max())
    label = f"Ground truth (after {final} epochs)"
    ax.axhline(float(gt["s_tau"].iloc[-1]), color="black", linestyle="--", label=label)


def _epoch_range(curve: pd.DataFrame, epochs: Sequence[int] | None) -> pd.DataFrame:
    """The rows of an epoch-indexed curve within [first, last]; an empty range is an error."""
    if epochs is None:
        return curve
    first, last = epochs
    within = curve.loc[(curve.index >= first) & (curve.index <= last)]
    if within.empty:
        raise ValueError(
            f"figure2 epochs {first}-{last} hold no epoch that all instances evaluated "
            f"(they evaluated {list(curve.index)}); see figures.figure2_epochs"
        )
    return within


def _rank_boxes(ax: Axes, ranks: pd.DataFrame, order: list[str], title: str) -> None:
    data = [ranks[c].to_numpy() for c in order]
    pos = np.arange(1, len(order) + 1)
    ax.boxplot(data, positions=pos, widths=0.6, flierprops={"marker": "o", "ms": 3})
    ticks = pos[::5]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xlabel("Child models (ground-truth best \u2192 worst)")
    ax.set_ylabel("Rank")
    ax.set_title(title)


def figure3(
    final_ranks_instances: list[pd.DataFrame],
    one_instance: pd.DataFrame,
    gt: pd.DataFrame,
    out: str | Path,
    last_epochs: int = 10,
) -> list[Path]:
    return _save(draw_figure3(final_ranks_instances, one_instance, gt, last_epochs), out)


def draw_figure3(
    final_ranks_instances: list[pd.DataFrame],
    one_instance: pd.DataFrame,
    gt: pd.DataFrame,
    last_epochs: int = 10,
) -> Figure:
    """Figure 3: rank distribution per child, ordered ground-truth best to worst.

    (a) final-epoch ranks across ``final_ranks_instances``; (b) ranks over the last
    ``last_epochs`` epochs of ``one_instance``. Similar panels = one instance suffices.
    """
    finals = pd.DataFrame([tables.final_accuracy(i) for i in final_ranks_instances])
    ranks_a = tables.rank_matrix(finals)
    epochs = tables.epoch_matrix(one_instance)
    if last_epochs < 1 or last_epochs > len(epochs):
        raise ValueError(f"need the last {last_epochs} epochs but only {len(epochs)} exist")
    ranks_b = tables.rank_matrix(epochs.iloc[-last_epochs:])
    order = _gt_order(gt, ranks_a.columns)
    fig = _new_figure(12, 4, wspace=0.05)
    ax_a, ax_b = fig.subplots(1, 2, sharey=True)
    _rank_boxes(ax_a, ranks_a, order, f"(a) Final rank of {len(finals)} instances")
    _rank_boxes(ax_b, ranks_b, order, f"(b) Rank of last {last_epochs} epochs")
    return fig


def figure4(
    finetune: dict[int, pd.DataFrame],
    gt: pd.DataFrame,
    out: str | Path,
    shared: pd.DataFrame | None = None,
    ceiling: float | None = None,
) -> list[Path]:
    """Figure 4, written as PNG and PDF (see draw_figure4)."""
    return _save(draw_figure4(finetune, gt, shared, ceiling), out)


def draw_figure4(
    finetune: dict[int, pd.DataFrame],
    gt: pd.DataFrame,
    shared: pd.DataFrame | None = None,
    ceiling: float | None = None,
) -> Figure:
    """Figure 4: the shared super-net up to each snapshot, then every child finetuned alone.

    One column per snapshot epoch (keys, ascending): top, each child's accuracy per
    mini-batch; bottom, GT-Tau per mini-batch. x counts mini-batches from the snapshot: the
    solid part (x <= 0) is the source run's own snapshot points (``shared``, its records; point
    kind "snapshot"), where all children share one copy; the dotted part (x >= 0) is
    finetuning, each child alone, as the paper draws them. Step 0 of both is the snapshot
    (circled on the GT-Tau curve). Without ``shared`` only the dotted part is drawn.
    ``ceiling``: the ground truth's split-half agreement, a dash-dotted black line on the
    GT-Tau panels.
    """
    if not finetune:
        raise ValueError("figure4 needs at least one snapshot")
    snaps = sorted(finetune)
    fig = _new_figure(5 * len(snaps) + 1, 7, right=0.8, hspace=0.35, wspace=0.25)
    axes = np.asarray(fig.subplots(2, len(snaps), squeeze=False))
    norm = None
    for j, epoch in enumerate(snaps):
        parts = [("-", tables.snapshot_matrix(shared, epoch))] if shared is not None else []
        parts.append((":", tables.finetune_matrix(finetune[epoch])))
        norm = _figure4_column(axes[:, j], parts, gt, epoch, (j, len(snaps) + j))
        ceiling_line(axes[1, j], ceiling)
        if ceiling is not None:  # the PNG alone says what the dash-dotted line is
            axes[1, j].legend(fontsize="small")
    for ax in axes.ravel():
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _rank_colorbar(fig, axes.ravel().tolist(), norm)
    return fig


def _figure4_column(
    axes: np.ndarray,
    parts: list[tuple[str, pd.DataFrame]],
    gt: pd.DataFrame,
    epoch: int,
    panels: tuple[int, int],
) -> Normalize:
    """One snapshot's accuracy (top) and GT-Tau (bottom), a line style per part."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    colors, norm = _rank_colors(gt, list(parts[-1][1].columns))
    top, bottom = axes
    for style, matrix in parts:
        for child in reversed(_gt_order(gt, matrix.columns)):
            top.plot(matrix.index, matrix[child], style, color=colors[child], lw=0.8)
        tau = tables.gt_tau_curve(matrix, gt)
        bottom.plot(tau.index, tau, linestyle=style, marker=".", color="tab:blue")
    at0 = tables.gt_tau_curve(parts[-1][1].loc[[0]], gt)
    bottom.plot([0], at0, "o", mfc="none", ms=8, color="tab:blue")
    top.set_title(f"({letters[panels[0]]}) Accuracy, finetune at epoch {epoch}")
    bottom.set_title(f"({letters[panels[1]]}) GT-Tau, finetune at epoch {epoch}")
    for ax, label in ((top, "Validation accuracy"), (bottom, "GT-Tau")):
        ax.set_xlabel("Mini-batches from the snapshot")
        ax.set_ylabel(label)
    return norm


def figure5(
    ordered: pd.DataFrame, shuffled: pd.DataFrame, gt: pd.DataFrame, out: str | Path
) -> list[Path]:
    """Figure 5, written as PNG and PDF (see draw_figure5)."""
    return _save(draw_figure5(ordered, shuffled, gt), out)


def draw_figure5(ordered: pd.DataFrame, shuffled: pd.DataFrame, gt: pd.DataFrame) -> Figure:
    """Figure 5: all children's accuracy over the dense points, (a) ordered, (b) shuffled."""
    fig = _new_figure(13, 4.5, wspace=0.05)
    ax_a, ax_b = fig.subplots(1, 2, sharey=True)
    _plot_dense_accuracy(ax_a, ordered, gt, "(a) Ordered")
    norm = _plot_dense_accuracy(ax_b, shuffled, gt, "(b) Shuffled")
    _rank_colorbar(fig, [ax_a, ax_b], norm)
    return fig


def figure6(
    group_instance: pd.DataFrame,
    share_instance: pd.DataFrame,
    children: list[str],
    gt: pd.DataFrame,
    out: str | Path,
) -> list[Path]:
    return _save(draw_figure6(group_instance, share_instance, children, gt), out)


def draw_figure6(
    group_instance: pd.DataFrame,
    share_instance: pd.DataFrame,
    children: list[str],
    gt: pd.DataFrame,
) -> Figure:
    """Figure 6: one group's children, (a) in their group, (b) the same ones under full sharing.

    A few curves only, so each child gets its own colour and a legend instead of rank shading.
    """
    cmap = matplotlib.colormaps["tab10"]
    colors = {c: cmap(i % 10) for i, c in enumerate(children)}
    fig = _new_figure(12, 4, wspace=0.05)
    ax_a, ax_b = fig.subplots(1, 2, sharey=True)
    _plot_dense_accuracy(ax_a, group_instance, gt, "(a) Group sharing", children, colors)
    _plot_dense_accuracy(ax_b, share_instance, gt, "(b) Full sharing (m = 1)", children, colors)
    ranks = tables.as_gt(gt)["rank"]
    handles = [
        Line2D([], [], color=colors[c], label=f"{c} (GT rank {int(ranks[c])})") for c in children
    ]
    ax_b.legend(handles=handles, fontsize="small")
    return fig


def figure7(inst: pd.DataFrame, gt: pd.DataFrame, out: str | Path) -> list[Path]:
    return _save(draw_figure7(inst, gt), out)


def draw_figure7(inst: pd.DataFrame, gt: pd.DataFrame) -> Figure:
    """Figure 7: Figure 5a's plot for a 2000-epoch instance (same periodicity, higher accuracy)."""
    fig = _new_figure(7, 4.5)
    ax = fig.add_subplot()
    title = "Validation accuracy, last mini-batches of 2000 epochs"
    _rank_colorbar(fig, ax, _plot_dense_accuracy(ax, inst, gt, title))
    return fig


def figure8(
    instances: dict[str, list[pd.DataFrame]],
    gt: pd.DataFrame,
    out: str | Path,
    ceiling: float | None = None,
) -> list[Path]:
    """Figure 8, written as PNG and PDF (see draw_figure8)."""
    return _save(draw_figure8(instances, gt, ceiling), out)


def draw_figure8(
    instances: dict[str, list[pd.DataFrame]], gt: pd.DataFrame, ceiling: float | None = None
) -> Figure:
    """Figure 8: GT-Tau over the dense points, one curve per instance, one panel per BN momentum.

    Keys are the BN momentum values as labels (e.g. "0.1", "0.9"). ``ceiling``: the ground
    truth's split-half agreement, a dash-dotted black line.
    """
    if not instances:
        raise ValueError("figure8 needs at least one BN momentum")
    fig = _new_figure(6 * len(instances), 4, wspace=0.05)
    axes = np.atleast_1d(fig.subplots(1, len(instances), sharey=True, squeeze=False)[0])
    for ax, (momentum, insts) in zip(axes, instances.items(), strict=True):
        for i, inst in enumerate(insts):
            tau = tables.gt_tau_curve(tables.dense_matrix(inst), gt)
            ax.plot(np.arange(1, len(tau) + 1), tau.to_numpy(), label=f"instance {i + 1}")
        ceiling_line(ax, ceiling)
        ax.set_title(f"BN momentum = {momentum}")
        ax.set_xlabel("Mini-batch")
        ax.set_ylabel("GT-Tau")
        ax.legend(fontsize="small")
    return fig


def figure9(panels: dict[str, pd.DataFrame], gt: pd.DataFrame, out: str | Path) -> list[Path]:
    """Figure 9, written as PNG and PDF (see draw_figure9)."""
    return _save(draw_figure9(panels, gt), out)


def draw_figure9(panels: dict[str, pd.DataFrame], gt: pd.DataFrame) -> Figure:
    """Figure 9: Figure 5a's plot once per SGD momentum, side by side on one accuracy scale.

    ``panels`` maps a momentum's label (e.g. "0.9 (baseline)", "0.0") to its instance, in the
    order drawn. The paper compares momentum 0 with the baseline 0.9 ("the accuracy seems to
    vary in a greater range"); a config may list several values, and each gets its panel.
    """
    if not panels:
        raise ValueError("figure9 needs at least one SGD momentum")
    fig = _new_figure(6 * len(panels) + 1, 4.5, right=0.8, wspace=0.05)
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True, squeeze=False)[0])
    letters = "abcdefghijklmnopqrstuvwxyz"
    norm = None
    for i, (ax, (label, inst)) in enumerate(zip(axes, panels.items(), strict=True)):
        norm = _plot_dense_accuracy(ax, inst, gt, f"({letters[i]}) SGD momentum = {label}")
        if i:
            ax.set_ylabel("")  # the shared scale is labelled once, left of the first panel
    _rank_colorbar(fig, axes.tolist(), norm)
    return fig


def prefix_curve(
    curve: pd.DataFrame, out: str | Path, threshold: float = 0.6, ceiling: float | None = None
) -> list[Path]:
    """The prefix GT-Tau curve, written as PNG and PDF (see draw_prefix_curve)."""
    return _save(draw_prefix_curve(curve, threshold, ceiling), out)


def draw_prefix_curve(
    curve: pd.DataFrame, threshold: float = 0.6, ceiling: float | None = None
) -> Figure:
    """Prefix sharing: GT-Tau against epochs, one line per k (mean over instances, a band of
    one std), one panel per run length (``tables.prefix_curve``). The dashed line is
    Section 4.3's 0.6 ("k = 0 takes over 1000 epochs to climb up to above 0.6"); a circle
    marks each k's first epoch above it (``tables.first_above``); the dash-dotted black line is
    the ground truth's split-half agreement (``ceiling``, when known)."""
    if curve.empty:
        raise ValueError("prefix curve: no epoch points")
    lengths = sorted(curve["run_epochs"].unique(), reverse=True)
    fig = _new_figure(5 * len(lengths), 4, right=1.2, wspace=0.2)
    axes = np.atleast_1d(fig.subplots(1, len(lengths), sharey=True, squeeze=False)[0])
    firsts = tables.first_above(curve, threshold).set_index(["run_epochs", "k"])["first_epoch"]
    for ax, run_epochs in zip(axes, lengths, strict=True):
        for k, part in curve[curve["run_epochs"] == run_epochs].groupby("k"):
            _prefix_line(ax, part, f"k = {k}", firsts[(run_epochs, k)])
        ax.axhline(threshold, ls="--", color="grey", lw=0.8)
        ceiling_line(ax, ceiling)
        ax.set_title(f"Prefix sharing, {run_epochs} epochs")
        ax.set_xlabel("Epochs")
        ax.set_ylabel("GT-Tau")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def _prefix_line(ax: Axes, part: pd.DataFrame, label: str, first: float) -> None:
    """One k's mean GT-Tau with a one-std band, its first epoch above the threshold circled."""
    mean, std = part["gt_tau_mean"], part["gt_tau_std"]
    (line,) = ax.plot(part["epoch"], mean, ".-", label=label)
    ax.fill_between(part["epoch"], mean - std, mean + std, alpha=0.15, color=line.get_color())
    if not np.isnan(first):
        y = float(mean[part["epoch"] == first].iloc[0])
        ax.plot([first], [y], "o", mfc="none", ms=9, color=line.get_color())


def interference(inst: pd.DataFrame, telemetry: pd.DataFrame, out: str | Path) -> list[Path]:
    """The interference figure, written as PNG and PDF (see draw_interference)."""
    return _save(draw_interference(inst, telemetry), out)


def draw_interference(inst: pd.DataFrame, telemetry: pd.DataFrame) -> Figure:
    """Each point one (mini-batch, other child) pair of the telemetry: the cosine between the
    trained child's gradient and the other's (x) against the rank the other gained at that
    mini-batch (y, ``tables.interference_pairs``); the title gives Kendall tau over them."""
    pairs = tables.interference_pairs(inst, telemetry)
    if pairs.empty:
        raise ValueError("interference figure: no telemetry pair has a dense point before it")
    fig = _new_figure(6, 4.5)
    ax = fig.subplots()
    ax.scatter(pairs["cosine"], pairs["rank_gain"], s=12, alpha=0.6)
    ax.axvline(0.0, color="grey", lw=0.8, ls="--")
    ax.axhline(0.0, color="grey", lw=0.8, ls="--")
    tau = tables.kendall_pairs(pairs["cosine"], pairs["rank_gain"])
    ax.set_title(f"Interference: Kendall tau {tau:.2f} over {len(pairs)} pairs")
    ax.set_xlabel("Cosine of gradients (trained child, other child)")
    ax.set_ylabel("Rank gained by the other child")
    return fig


# --------------------------------------------------------------------------- beyond: sharing

KIND_STYLE = {  # the trade-off figure's marker and colour per kind of strategy
    "share-all": ("o", "black"),
    "groups": ("s", "tab:blue"),
    "warm": ("^", "tab:orange"),
    "equal": ("v", "tab:green"),
    "prefix": ("D", "tab:purple"),
    "ground_truth": ("*", "tab:red"),
}


def tradeoff(table: pd.DataFrame, ceiling: float | None, out: str | Path) -> list[Path]:
    """The trade-off figure, written as PNG and PDF (see draw_tradeoff)."""
    return _save(draw_tradeoff(table, ceiling), out)


def draw_tradeoff(table: pd.DataFrame, ceiling: float | None = None) -> Figure:
    """GT-Tau-Mean-k against device-hours per instance (log axis), one point per strategy of
    nas.analysis.tradeoff's table with its interval; the Pareto front joined by a line."""
    if table.empty:
        raise ValueError("trade-off figure: no strategy to draw")
    fig = _new_figure(8, 5.5, right=2.4)
    ax = fig.subplots()
    for kind, part in table.groupby("kind", sort=False):
        marker, color = KIND_STYLE.get(str(kind), ("x", "grey"))
        err = [part.gt_tau_mean - part.gt_tau_lo, part.gt_tau_hi - part.gt_tau_mean]
        ax.errorbar(
            part.device_hours, part.gt_tau_mean, yerr=err, fmt=marker, color=color,
            label=str(kind), capsize=2, ms=6, lw=0.8,
        )  # fmt: skip
        for _, row in part.iterrows():
            name = row.strategy.partition(":")[2] or row.strategy
            ax.annotate(name, (row.device_hours, row.gt_tau_mean), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")  # fmt: skip
    front = table[table.pareto].sort_values("device_hours")
    ax.plot(front.device_hours, front.gt_tau_mean, color="grey", lw=1.0, ls=":", label="front")
    ceiling_line(ax, ceiling)
    ax.set_xscale("log")
    ax.set_xlabel("Device-hours per instance (plan's cost model)")
    ax.set_ylabel("GT-Tau-Mean-k")
    ax.set_title("Which sharing for which budget")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    return fig


def partition(panels: dict[str, tuple[pd.DataFrame, list[list[str]]]], out: str | Path):
    """The measured partitions figure, written as PNG and PDF (see draw_partition)."""
    return _save(draw_partition(panels), out)


def draw_partition(panels: dict[str, tuple[pd.DataFrame, list[list[str]]]]) -> Figure:
    """Per measured grouping, its children x children similarity ordered by its partition's
    groups, with the group borders; the title compares the mean similarity within groups with
    that of the similar (lexicographic) partition of the same sizes."""
    from nas.core.similarity import within_similarity

    if not panels:
        raise ValueError("partition figure: no measured grouping to draw")
    fig = _new_figure(5.2 * len(panels), 5.6, left=0.5, right=0.9, bottom=0.5, top=0.6)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (name, (matrix, groups)) in zip(axes, panels.items(), strict=True):
        order = [c for g in groups for c in g]
        size = len(groups[0])
        lexicographic = sorted(order)
        similar = [lexicographic[i : i + size] for i in range(0, len(order), size)]
        image = ax.imshow(matrix.loc[order, order].to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
        for border in range(size, len(order), size):
            ax.axhline(border - 0.5, color="black", lw=0.6)
            ax.axvline(border - 0.5, color="black", lw=0.6)
        ax.set_title(
            f"{name}, m = {len(groups)}: within {within_similarity(matrix, groups):.2f}"
            f" (similar {within_similarity(matrix, similar):.2f})",
            fontsize=9,
        )
        ax.set_xticks([])
        ax.set_yticks(range(0, len(order), size), [order[i] for i in range(0, len(order), size)])
        ax.tick_params(labelsize=6)
    fig.colorbar(image, ax=list(axes), shrink=0.8)
    return fig
