"""Smoke tests for nas.analysis.figures: every figure renders non-empty PNG and PDF files from
small data."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from nas.analysis import figures
from nas.analysis.reference import paper_table5
from nas.core.records import COLUMNS

# A quarter of the search space keeps rendering fast; the figures take any subset of children.
CHILDREN = ["".join(p) for p in itertools.product("1234", repeat=3)][::4]
GT = paper_table5()
GT_FRAC = (GT["acc_mean"] / 100.0).reindex(CHILDREN).to_numpy()


def instance(seed: int, n_epochs: int = 4, n_dense: int = 6, groups: int = 1) -> pd.DataFrame:
    """Ground truth + noise; with ``groups`` > 1 each group trains its own child at every step."""
    rng = np.random.default_rng(seed)
    size = len(CHILDREN) // groups
    rows = []
    for epoch in range(1, n_epochs + 1):
        accs = GT_FRAC + rng.normal(0, 0.02, len(CHILDREN))
        rows += [
            ("epoch", epoch, epoch * 10, "", c, a, 0.0) for c, a in zip(CHILDREN, accs, strict=True)
        ]
    last = n_epochs * 10
    for step in range(last - n_dense + 1, last + 1):
        accs = GT_FRAC + rng.normal(0, 0.02, len(CHILDREN))
        for i, (c, a) in enumerate(zip(CHILDREN, accs, strict=True)):
            group = i // size
            trained = CHILDREN[group * size + step % size]
            rows.append(("dense", n_epochs, step, trained, c, a, 0.0))
    return pd.DataFrame(rows, columns=COLUMNS)


def finetune_records(epoch: int, steps: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(epoch)
    rows = []
    for c, base in zip(CHILDREN, GT_FRAC, strict=True):
        for s in range(steps + 1):
            acc = base + rng.normal(0, 0.05 / (s + 1))
            rows.append(("finetune", epoch, s, c if s else "", c, acc, 0.0))
    return pd.DataFrame(rows, columns=COLUMNS)


def check(paths, tmp_path, name):
    assert [p.name for p in paths] == [f"{name}.png", f"{name}.pdf"]
    for p in paths:
        assert p.parent == tmp_path and p.stat().st_size > 1000
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temp files behind


def test_figure2(tmp_path):
    families = {
        "different_seeds": [instance(s) for s in range(3)],
        "different_orders_shuffle": [instance(s + 3) for s in range(3)],
    }
    from nas.analysis.tables import epoch_matrix

    gt_epochs = [epoch_matrix(instance(s + 9)) for s in range(2)]
    check(figures.figure2(families, gt_epochs, tmp_path / "fig2"), tmp_path, "fig2")
    check(figures.figure2(families, None, tmp_path / "fig2b"), tmp_path, "fig2b")


def test_figure3(tmp_path):
    insts = [instance(s) for s in range(3)]
    paths = figures.figure3(insts, insts[0], GT, tmp_path / "fig3", last_epochs=3)
    check(paths, tmp_path, "fig3")
    with pytest.raises(ValueError, match="last 10 epochs"):
        figures.figure3(insts, insts[0], GT, tmp_path / "x")


def test_figure4(tmp_path):
    finetune = {200: finetune_records(200), 100: finetune_records(100)}
    check(figures.figure4(finetune, GT, tmp_path / "fig4"), tmp_path, "fig4")


def test_figure5_7_9(tmp_path):
    check(figures.figure5(instance(0), instance(1), GT, tmp_path / "fig5"), tmp_path, "fig5")
    check(figures.figure7(instance(2), GT, tmp_path / "fig7"), tmp_path, "fig7")
    panels = {"0.9 (baseline)": instance(3), "0.0": instance(4)}
    check(figures.figure9(panels, GT, tmp_path / "fig9"), tmp_path, "fig9")


def test_figure6(tmp_path):
    group = instance(0, groups=4)
    children = CHILDREN[:4]  # one group of 4
    paths = figures.figure6(group, instance(1), children, GT, tmp_path / "fig6")
    check(paths, tmp_path, "fig6")


def test_figure8(tmp_path):
    insts = {"0.1": [instance(s) for s in range(2)], "0.9": [instance(s + 2) for s in range(2)]}
    check(figures.figure8(insts, GT, tmp_path / "fig8"), tmp_path, "fig8")


# --------------------------------------------------------------------------- data ranges


def _lines(ax, style: str | None = None) -> list:
    return [line for line in ax.get_lines() if style is None or line.get_linestyle() == style]


def test_figure2_draws_only_the_configured_epochs():
    families = {"different_seeds": [instance(s, n_epochs=8) for s in range(3)]}
    fig = figures.draw_figure2(families, None, epochs=(5, 7))
    (line,) = _lines(fig.axes[0])
    assert list(line.get_xdata()) == [5, 6, 7] and np.all(np.abs(line.get_ydata()) <= 1)
    (every,) = _lines(figures.draw_figure2(families, None).axes[0])
    assert list(every.get_xdata()) == list(range(1, 9))
    with pytest.raises(ValueError, match="figure2_epochs"):
        figures.draw_figure2(families, None, epochs=(120, 200))


def test_figure2_draws_a_longer_ground_truth_as_its_final_s_tau():
    """Children alone trained for other epochs than the super-nets: no curve over the
    super-nets' epochs, but their final S-Tau as a labelled dashed line."""
    from nas.analysis import tables

    families = {"different_seeds": [instance(s, n_epochs=8) for s in range(3)]}
    same = [tables.epoch_matrix(instance(10 + s, n_epochs=8)) for s in range(3)]
    fig = figures.draw_figure2(families, same, epochs=(5, 8))
    gt_line = [ln for ln in _lines(fig.axes[0]) if ln.get_label() == "Ground truth"]
    assert len(gt_line) == 1 and list(gt_line[0].get_xdata()) == [5, 6, 7, 8]

    longer = [tables.epoch_matrix(instance(10 + s, n_epochs=20)).loc[[20]] for s in range(3)]
    _assert_final_s_tau_dashed(families, longer, 20)


def _assert_final_s_tau_dashed(families: dict, gt: list, epochs: int) -> None:
    """Figure 2 over epochs 5-8 draws `gt`'s final S-Tau as one labelled dashed line."""
    from nas.analysis import tables

    fig = figures.draw_figure2(families, gt, epochs=(5, 8))
    (dashed,) = _lines(fig.axes[0], "--")
    final = tables.s_tau_per_epoch(gt)["s_tau"].iloc[-1]
    assert dashed.get_label() == f"Ground truth (after {epochs} epochs)"
    assert list(dashed.get_ydata()) == [final, final]


def test_figure2_draws_a_ground_truth_read_only_at_the_end_as_a_line():
    """Children alone evaluated only after their last epoch (the scale presets): one point
    would be invisible, so their final S-Tau is a dashed line across the drawn epochs."""
    from nas.analysis import tables

    families = {"different_seeds": [instance(s, n_epochs=8) for s in range(3)]}
    final_only = [tables.epoch_matrix(instance(10 + s, n_epochs=8)).loc[[8]] for s in range(3)]
    _assert_final_s_tau_dashed(families, final_only, 8)


def snapshot_records(epoch: int, n: int = 4, spe: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(epoch)
    end = epoch * spe
    rows = [
        ("snapshot", epoch, step, "", c, a, 0.0)
        for step in range(end - n + 1, end + 1)
        for c, a in zip(CHILDREN, GT_FRAC + rng.normal(0, 0.02, len(CHILDREN)), strict=True)
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def test_figure4_draws_the_shared_part_solid_before_the_finetuning_dotted(tmp_path):
    finetune = {2: finetune_records(2, steps=3), 4: finetune_records(4, steps=3)}
    shared = pd.concat([snapshot_records(2), snapshot_records(4)], ignore_index=True)
    fig = figures.draw_figure4(finetune, GT, shared)
    for col in range(2):
        top, bottom = fig.axes[col], fig.axes[2 + col]
        for ax in (top, bottom):
            solid, dotted = _lines(ax, "-"), _lines(ax, ":")
            assert solid and dotted
            assert all(list(line.get_xdata()) == [-3, -2, -1, 0] for line in solid)
            assert all(list(line.get_xdata()) == [0, 1, 2, 3] for line in dotted)
        assert len(_lines(top, "-")) == len(CHILDREN)  # one solid curve per child
        ys = np.concatenate([line.get_ydata() for line in _lines(bottom)])
        assert np.all(np.abs(ys) <= 1)  # GT-Tau
    check(figures.figure4(finetune, GT, tmp_path / "fig4s", shared), tmp_path, "fig4s")


def test_figure4_names_its_ceiling_line_in_a_legend():
    fig = figures.draw_figure4({2: finetune_records(2, steps=3)}, GT, ceiling=0.6)
    bottom = fig.axes[1]
    (ceiling,) = _lines(bottom, "-.")
    assert list(ceiling.get_ydata()) == [0.6, 0.6]
    assert [t.get_text() for t in bottom.get_legend().get_texts()] == [figures.CEILING_LABEL]
    assert figures.draw_figure4({2: finetune_records(2, steps=3)}, GT).axes[1].get_legend() is None


def test_prefix_curve_draws_each_k_over_its_epochs(tmp_path):
    from nas.analysis.tables import prefix_curve

    insts = {(4, k): [instance(s + k) for s in range(2)] for k in (0, 2)}
    insts[(2, 0)] = [instance(9, n_epochs=2)]
    curve = prefix_curve(insts, GT)
    fig = figures.draw_prefix_curve(curve)
    long, short = fig.axes[:2]
    data = [line for line in _lines(long, "-") if line.get_label().startswith("k = ")]
    assert [line.get_label() for line in data] == ["k = 0", "k = 2"]
    assert all(list(line.get_xdata()) == [1, 2, 3, 4] for line in data)
    assert all(np.all(np.abs(line.get_ydata()) <= 1) for line in data)
    assert long.get_title().endswith("4 epochs") and short.get_title().endswith("2 epochs")
    check(figures.prefix_curve(curve, tmp_path / "prefix"), tmp_path, "prefix")


# --------------------------------------------------------------------------- plotted data


def _child_lines(ax) -> dict[str, object]:
    """The per-child accuracy curves of a dense panel, by child (their labels)."""
    return {line.get_label(): line for line in ax.get_lines() if line.get_label() in CHILDREN}


def _assert_dense_panel(ax, inst: pd.DataFrame) -> None:
    """One curve per child, each that child's accuracy at the dense points, x = 1..n."""
    from nas.analysis.tables import dense_matrix

    matrix = dense_matrix(inst)
    lines = _child_lines(ax)
    assert sorted(lines) == sorted(matrix.columns)
    for child, line in lines.items():
        assert list(line.get_xdata()) == list(range(1, len(matrix) + 1))
        np.testing.assert_allclose(line.get_ydata(), matrix[child].to_numpy())


def test_figure9_draws_every_sgd_momentum_with_its_own_data():
    panels = {"0.9 (baseline)": instance(3), "0.0": instance(4), "0.5": instance(5)}
    fig = figures.draw_figure9(panels, GT)
    data_axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in data_axes] == [
        "(a) SGD momentum = 0.9 (baseline)",
        "(b) SGD momentum = 0.0",
        "(c) SGD momentum = 0.5",
    ]
    for ax, inst in zip(data_axes, panels.values(), strict=True):
        _assert_dense_panel(ax, inst)
    with pytest.raises(ValueError, match="at least one"):
        figures.draw_figure9({}, GT)


def test_figure5_draws_the_ordered_and_the_shuffled_instance():
    ordered, shuffled = instance(0), instance(1)
    ax_a, ax_b = figures.draw_figure5(ordered, shuffled, GT).axes[:2]
    assert (ax_a.get_title(), ax_b.get_title()) == ("(a) Ordered", "(b) Shuffled")
    _assert_dense_panel(ax_a, ordered)
    _assert_dense_panel(ax_b, shuffled)


def test_figure8_draws_each_instances_gt_tau_per_bn_momentum():
    from nas.analysis.tables import dense_matrix, gt_tau_curve

    insts = {"0.1": [instance(s) for s in range(2)], "0.9": [instance(s + 2) for s in range(3)]}
    fig = figures.draw_figure8(insts, GT)
    for ax, (momentum, runs) in zip(fig.axes, insts.items(), strict=True):
        assert ax.get_title() == f"BN momentum = {momentum}"
        lines = ax.get_lines()
        assert [line.get_label() for line in lines] == [
            f"instance {i + 1}" for i in range(len(runs))
        ]
        for line, inst in zip(lines, runs, strict=True):
            tau = gt_tau_curve(dense_matrix(inst), GT)
            np.testing.assert_allclose(line.get_ydata(), tau.to_numpy())
            assert list(line.get_xdata()) == list(range(1, len(tau) + 1))


def _box_medians(ax) -> list[float]:
    """The medians of a rank-box panel, left to right (the lines as wide as a box, 0.6)."""
    medians = [
        line
        for line in ax.get_lines()
        if len(line.get_xdata()) == 2
        and np.isclose(np.ptp(line.get_xdata()), 0.6)
        and line.get_ydata()[0] == line.get_ydata()[1]
    ]
    return [float(m.get_ydata()[0]) for m in sorted(medians, key=lambda m: m.get_xdata()[0])]


def test_figure3_draws_each_childs_ranks_in_ground_truth_order():
    from nas.analysis.tables import epoch_matrix, final_accuracy, rank_matrix

    insts = [instance(s) for s in range(3)]
    ax_a, ax_b = figures.draw_figure3(insts, insts[1], GT, last_epochs=3).axes[:2]
    order = list(GT.loc[CHILDREN].sort_values("rank").index)
    finals = rank_matrix(pd.DataFrame([final_accuracy(i) for i in insts]))
    last = rank_matrix(epoch_matrix(insts[1]).iloc[-3:])
    assert _box_medians(ax_a) == [float(finals[c].median()) for c in order]
    assert _box_medians(ax_b) == [float(last[c].median()) for c in order]
    assert ax_a.get_title() == "(a) Final rank of 3 instances"


def test_figure6_draws_only_the_groups_children_in_both_panels():
    group, share = instance(0, groups=4), instance(1)
    children = CHILDREN[:4]
    ax_a, ax_b = figures.draw_figure6(group, share, children, GT).axes[:2]
    from nas.analysis.tables import dense_matrix

    for ax, inst in ((ax_a, group), (ax_b, share)):
        lines = _child_lines(ax)
        assert sorted(lines) == sorted(children)
        matrix = dense_matrix(inst)
        for child, line in lines.items():
            np.testing.assert_allclose(line.get_ydata(), matrix[child].to_numpy())


def test_figure7_draws_the_long_runs_last_mini_batches():
    inst = instance(2, n_dense=8)
    _assert_dense_panel(figures.draw_figure7(inst, GT).axes[0], inst)


def test_gt_tau_figures_draw_the_split_half_agreement_at_its_value():
    """Figures 4 and 8 and the prefix curve draw the ceiling on their GT-Tau axes, at its
    value and labelled; without one, no such line."""
    from nas.analysis.tables import prefix_curve

    def ceilings(fig) -> list[float]:
        return [
            float(line.get_ydata()[0])
            for ax in fig.axes
            for line in ax.get_lines()
            if line.get_label() == figures.CEILING_LABEL
        ]

    finetune = {2: finetune_records(2, steps=3)}
    assert ceilings(figures.draw_figure4(finetune, GT, ceiling=0.7)) == [0.7]
    assert ceilings(figures.draw_figure4(finetune, GT)) == []
    bn = {"0.1": [instance(1)], "0.9": [instance(2)]}
    assert ceilings(figures.draw_figure8(bn, GT, ceiling=0.65)) == [0.65, 0.65]
    curve = prefix_curve({(4, 0): [instance(3)]}, GT)
    assert ceilings(figures.draw_prefix_curve(curve, ceiling=0.5)) == [0.5]


def test_interference_pairs_rank_gains_and_the_figure_plots_them():
    """Rank gain of the other child between consecutive dense points, read back from the
    scatter; the window's first mini-batch has no point before it and is dropped."""
    from nas.analysis import tables

    inst = instance(5, n_dense=4)  # dense steps 37..40
    dense = tables.dense_matrix(inst)
    ranks = tables.rank_matrix(dense)
    telemetry = pd.DataFrame(
        [(37, "111", "121", 0.5), (38, "111", "121", -0.2), (40, "131", "441", 0.1)],
        columns=["step", "trained_child", "child", "cosine"],
    )
    pairs = tables.interference_pairs(inst, telemetry)
    assert list(pairs.step) == [38, 40]
    assert pairs.rank_gain.tolist() == [
        ranks.at[37, "121"] - ranks.at[38, "121"],
        ranks.at[39, "441"] - ranks.at[40, "441"],
    ]
    fig = figures.draw_interference(inst, telemetry)
    (points,) = fig.axes[0].collections
    np.testing.assert_allclose(points.get_offsets(), pairs[["cosine", "rank_gain"]].to_numpy())
    assert "2 pairs" in fig.axes[0].get_title()
