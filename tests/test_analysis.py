"""Tests for nas.analysis.tables on small synthetic instances with a known relation to a ground
truth."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from nas.analysis import metrics
from nas.analysis import tables as an
from nas.analysis.reference import paper_table, paper_table5
from nas.core.records import COLUMNS, Record, write_records

CHILDREN = ["".join(p) for p in itertools.product("1234", repeat=3)]
GT = paper_table5()
GT_FRAC = (GT["acc_mean"] / 100.0).reindex(CHILDREN)


def make_instance(
    epoch_rows: np.ndarray,
    dense_rows: np.ndarray | None = None,
    children: list[str] = CHILDREN,
    first_epoch: int = 1,
    steps_per_epoch: int = 100,
) -> pd.DataFrame:
    """Tidy records: row i of epoch_rows is epoch first_epoch+i; dense rows end at the last step.

    The child trained at each dense step cycles through ``children`` (like the fixed order).
    """
    rows = []
    for i, accs in enumerate(epoch_rows):
        epoch = first_epoch + i
        for child, acc in zip(children, accs, strict=True):
            rows.append(("epoch", epoch, epoch * steps_per_epoch, "", child, float(acc), 0.0))
    if dense_rows is not None:
        last = (first_epoch + len(epoch_rows) - 1) * steps_per_epoch
        for i, accs in enumerate(dense_rows):
            step = last - len(dense_rows) + 1 + i
            trained = children[step % len(children)]
            for child, acc in zip(children, accs, strict=True):
                rows.append(("dense", step // steps_per_epoch + 1, step, trained, child, acc, 0.0))
    return pd.DataFrame(rows, columns=COLUMNS)


def noisy(rng: np.random.Generator, n_rows: int, noise: float) -> np.ndarray:
    """Rows of accuracies = ground truth (fractions) + Gaussian noise."""
    return GT_FRAC.to_numpy() + rng.normal(0.0, noise, size=(n_rows, len(CHILDREN)))


def noisy_instance(seed: int, noise: float, n_epochs: int = 12, n_dense: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return make_instance(noisy(rng, n_epochs, noise), noisy(rng, n_dense, noise))


def exact_instance(n_epochs: int = 12, n_dense: int = 8) -> pd.DataFrame:
    """Every point equals the ground truth: GT-Tau 1 everywhere."""
    return make_instance(np.tile(GT_FRAC.to_numpy(), (n_epochs, 1)), np.tile(GT_FRAC, (n_dense, 1)))


# --------------------------------------------------------------------------- matrices


def test_matrices_are_time_ordered_and_complete():
    inst = noisy_instance(0, 0.01, n_epochs=5, n_dense=4)
    shuffled = inst.sample(frac=1.0, random_state=1)  # row order must not matter
    em = an.epoch_matrix(shuffled)
    dm = an.dense_matrix(shuffled)
    assert list(em.index) == [1, 2, 3, 4, 5]
    assert list(em.columns) == CHILDREN and dm.shape == (4, 64)
    assert list(dm.index) == sorted(dm.index)
    final = an.final_accuracy(shuffled)
    pd.testing.assert_series_equal(final, em.iloc[-1])
    ranks = an.rank_matrix(em)
    assert (ranks.apply(sorted, axis=1).tolist()[0]) == list(range(1, 65))


def test_incomplete_points_fail_loudly():
    inst = noisy_instance(0, 0.01, n_epochs=3, n_dense=2)
    cut = inst[~((inst["point_kind"] == "epoch") & (inst["epoch"] == 3) & (inst["child"] == "444"))]
    with pytest.raises(ValueError, match="lack some children.*444"):
        an.epoch_matrix(cut)


def test_load_instance_concatenates_group_files(tmp_path):
    inst = noisy_instance(0, 0.01, n_epochs=2, n_dense=2)
    halves = [inst[inst["child"] < "300"], inst[inst["child"] >= "300"]]
    paths = []
    for i, half in enumerate(halves):
        path = tmp_path / f"group{i}.csv"
        write_records(path, [Record(*row) for row in half.itertuples(index=False)])
        paths.append(path)
    loaded = an.load_instance(paths)
    assert len(loaded) == len(inst)
    pd.testing.assert_frame_equal(an.epoch_matrix(loaded), an.epoch_matrix(inst))
    assert an.load_instance(paths[0])["child"].nunique() == 32


def test_trained_at_restricts_to_children():
    inst = noisy_instance(0, 0.01, n_epochs=2, n_dense=4)
    pairs = an.trained_at(inst)
    assert len(pairs) == 4 and pairs["step"].is_monotonic_increasing
    trained = set(pairs["trained_child"])
    subset = an.trained_at(inst, children=[sorted(trained)[0]])
    assert len(subset) == 4  # the trained child is recorded on every child's row


# --------------------------------------------------------------------------- Table 1


def test_table1_identical_family_has_s_tau_one():
    inst = noisy_instance(0, 0.02)
    families = {
        "different_seeds": [inst, inst.copy(), inst.copy()],
        "different_orders_shuffle": [noisy_instance(s, 0.02) for s in range(3)],
    }
    t1 = an.table1(families, None, last_epochs=5, seed=0)
    cols = ["experiment", "s_tau", "max_tau", "min_tau", "s_tau_lo", "s_tau_hi", "n"]
    assert list(t1.columns) == cols
    assert list(t1["experiment"]) == [
        "different_seeds",
        "different_orders_shuffle",
        "random_rank",
        "ground_truth",
        "split_half_agreement",
        "different_epochs",
        "different_epochs_median_all",
        "different_epochs_mean_all",
    ]
    seeds = t1.set_index("experiment").loc["different_seeds"]
    assert seeds["s_tau"] == pytest.approx(1.0) and seeds["min_tau"] == pytest.approx(1.0)
    assert seeds["n"] == 3
    gt_row = t1.set_index("experiment").loc["ground_truth"]
    assert np.isnan(gt_row["s_tau"]) and gt_row["n"] == 0


def test_table1_random_rank_is_seeded_and_near_zero():
    families = {"different_seeds": [noisy_instance(s, 0.02) for s in range(2)]}
    a = an.table1(families, None, seed=3).set_index("experiment").loc["random_rank"]
    b = an.table1(families, None, seed=3).set_index("experiment").loc["random_rank"]
    c = an.table1(families, None, seed=4).set_index("experiment").loc["random_rank"]
    assert a["s_tau"] == b["s_tau"] and a["s_tau"] != c["s_tau"]
    assert a["n"] == 10 and abs(a["s_tau"]) < 0.2 and a["min_tau"] <= a["s_tau"] <= a["max_tau"]


def test_table1_ground_truth_and_different_epochs_median():
    rng = np.random.default_rng(0)
    gt_instances = [pd.Series(row, index=CHILDREN) for row in noisy(rng, 4, 0.005)]
    # Noise grows with the seed, so per-instance S-Tau over epochs falls with it: the lower
    # median of 4 instances is the one ranked 2nd-lowest, i.e. noise 0.03 (index 2).
    shuffle = [noisy_instance(s, noise) for s, noise in enumerate([0.005, 0.01, 0.03, 0.06])]
    t1 = an.table1({"different_orders_shuffle": shuffle}, gt_instances, last_epochs=6)
    rows = t1.set_index("experiment")
    expected_gt = metrics.s_tau(gt_instances)
    assert rows.loc["ground_truth", "s_tau"] == pytest.approx(expected_gt["mean"])
    assert rows.loc["ground_truth", "n"] == 4
    last = an.epoch_matrix(shuffle[2]).iloc[-6:]
    expected = metrics.s_tau([r for _, r in last.iterrows()])
    assert rows.loc["different_epochs", "s_tau"] == pytest.approx(expected["mean"])
    assert rows.loc["different_epochs", "max_tau"] == pytest.approx(expected["max"])
    assert rows.loc["different_epochs", "n"] == 6


def test_table1_rejects_unknown_family_and_short_history():
    inst = noisy_instance(0, 0.01, n_epochs=3)
    with pytest.raises(ValueError, match="unknown families"):
        an.table1({"diff_seeds": [inst, inst]}, None)
    with pytest.raises(ValueError, match="last 10 points"):
        an.table1({"different_orders_shuffle": [inst, inst]}, None, last_epochs=10)


# --------------------------------------------------------------------------- Table 2


def test_table2_ground_truth_equal_instances_score_perfectly():
    exact = exact_instance()
    gt_instances = [GT_FRAC.copy(), GT_FRAC.copy()]
    families = {"different_seeds": [exact, exact], "different_orders_shuffle": [exact] * 3}
    t2 = an.table2(families, GT, gt_instances, last_epochs=5).set_index("experiment")
    assert list(t2.index) == [
        "different_seeds",
        "different_orders_shuffle",
        "ground_truth",
        "split_half_agreement",
        "perfect_rank_bound",
        "different_epochs",
        "different_epochs_median_all",
        "different_epochs_mean_all",
    ]
    assert t2.loc["split_half_agreement", "gt_tau_mean"] == pytest.approx(1.0)  # equal seeds
    assert t2.loc["perfect_rank_bound", "gt_tau_mean"] == pytest.approx(1.0)  # no seed noise
    for name in t2.index.drop(["split_half_agreement", "perfect_rank_bound"]):
        assert t2.loc[name, "gt_tau_mean"] == pytest.approx(1.0)
        assert t2.loc[name, "gt_tau_std"] == pytest.approx(0.0)
        assert t2.loc[name, "t1r_mean"] == 1.0 and t2.loc[name, "t3r_mean"] == 1.0
    assert t2.loc["different_epochs", "n"] == 5


def test_table2_ground_truth_row_scores_each_seed_against_the_others():
    """Leave one out: a seed is never compared with a mean that contains it."""
    rng = np.random.default_rng(3)
    seeds = [GT_FRAC + rng.normal(0, 0.01, len(GT_FRAC)) for _ in range(3)]
    t2 = an.table2({}, an.table5(seeds), seeds).set_index("experiment")
    loo = [tau for tau, _, _ in an.leave_one_out_scores(seeds)]
    assert t2.loc["ground_truth", "gt_tau_mean"] == pytest.approx(np.mean(loo))
    including = np.mean([an.tau_tnr(s, an.table5(seeds))[0] for s in seeds])
    assert t2.loc["ground_truth", "gt_tau_mean"] < including  # what the old row reported


def test_table2_values_match_metrics_and_median_instance():
    insts = [noisy_instance(s, noise) for s, noise in enumerate([0.002, 0.02, 0.05])]
    t2 = an.table2({"different_orders_shuffle": insts}, GT, None, last_epochs=4)
    rows = t2.set_index("experiment")
    finals = [an.final_accuracy(i) for i in insts]
    taus = [metrics.gt_tau(f, GT["acc_mean"]) for f in finals]
    t1s = [metrics.top_n_rank(f, GT["rank"], 1) for f in finals]
    assert rows.loc["different_orders_shuffle", "gt_tau_mean"] == pytest.approx(np.mean(taus))
    assert rows.loc["different_orders_shuffle", "gt_tau_std"] == pytest.approx(np.std(taus))
    assert rows.loc["different_orders_shuffle", "t1r_std"] == pytest.approx(np.std(t1s))
    assert np.isnan(rows.loc["ground_truth", "gt_tau_mean"])
    median = insts[int(np.argsort(taus)[1])]
    last = an.epoch_matrix(median).iloc[-4:]
    expect = [metrics.gt_tau(r, GT["acc_mean"]) for _, r in last.iterrows()]
    assert rows.loc["different_epochs", "gt_tau_mean"] == pytest.approx(np.mean(expect))


# --------------------------------------------------------------------------- Tables 3 and 4


def test_table3a_shape_ranges_and_agreement_with_metrics():
    groups = {
        ("similar", 4): [noisy_instance(s, 0.01) for s in range(2)],
        ("random", 1): [noisy_instance(s + 10, 0.03) for s in range(3)],
        ("random", 64): [exact_instance()],
    }
    t3 = an.table3a(groups, GT, window=8)
    paper = ["grouping", "m", "mean64", "mean64_std", "std64", "std64_std"]
    assert list(t3.columns) == [*paper, *an.EXTRA_WINDOW_COLUMNS, "n"]
    assert list(zip(t3["grouping"], t3["m"], strict=True)) == [
        ("random", 1),
        ("random", 64),
        ("similar", 4),
    ]
    assert ((t3["mean64"] > 0) & (t3["mean64"] <= 1)).all()
    assert (t3[["mean64_std", "std64", "std64_std"]] >= 0).all().all()
    per = [
        metrics.windowed_gt_tau(an.dense_matrix(i), GT["acc_mean"], 8)
        for i in groups[("random", 1)]
    ]
    row = t3.iloc[0]
    assert row["mean64"] == pytest.approx(np.mean([p[0] for p in per]))
    assert row["std64_std"] == pytest.approx(np.std([p[1] for p in per]))
    exact = t3.iloc[1]
    assert exact["mean64"] == pytest.approx(1.0) and exact["std64"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="window"):
        an.table3a(groups, GT, window=9)


def test_table4_accuracy_columns_and_table3b():
    prefix = {
        (200, 1): [noisy_instance(s, 0.01) for s in range(2)],
        (2000, 0): [noisy_instance(s + 5, 0.01) for s in range(2)],
        (2000, 2): [noisy_instance(s + 7, 0.02) for s in range(2)],
    }
    t4 = an.table4(prefix, GT, window=4)
    assert list(t4.columns[: len(paper_table("table4").columns)]) == list(
        paper_table("table4").columns
    )
    assert list(zip(t4["epochs"], t4["k"], strict=True)) == [(2000, 0), (2000, 2), (200, 1)]
    stats = []
    for inst in prefix[(200, 1)]:
        per_child = an.dense_matrix(inst).iloc[-4:].mean()
        stats.append((per_child.mean(), per_child.std(ddof=0)))
    row = t4.iloc[2]
    assert row["acc_mean"] == pytest.approx(np.mean([s[0] for s in stats]))
    assert row["acc_std"] == pytest.approx(np.mean([s[1] for s in stats]))
    assert row["acc_mean_std"] == pytest.approx(np.std([s[0] for s in stats]))
    assert 0.6 < row["acc_mean"] < 0.9 and (t4["gt_tau_mean64"].between(-1, 1)).all()
    t3b = an.table3b(t4)
    assert list(t3b["k"]) == [0, 2]
    paper = list(paper_table("table3b").columns)
    assert list(t3b.columns[1 : 1 + len(paper)]) == paper
    assert set(t3b["epochs"]) == {2000} and t3b.columns[0] == "epochs"


def test_strategies_table_rows_follow_the_labels_with_table4s_statistics():
    noisy = [noisy_instance(s, 0.01) for s in range(2)]
    exact = [exact_instance() for _ in range(2)]
    table = an.strategies_table({"share-all": noisy, "toy": exact}, GT, window=4)
    assert list(table["strategy"]) == ["share-all", "toy"]
    assert list(table["children"]) == [an.dense_matrix(noisy[0]).shape[1]] * 2
    assert list(table["n"]) == [2, 2]
    same = an.table4({(1, 0): noisy}, GT, window=4).iloc[0]
    for col in ("gt_tau_mean64", "gt_tau_std64", "acc_mean", "acc_std"):
        assert table.iloc[0][col] == pytest.approx(same[col])
    assert table.iloc[1]["gt_tau_mean64"] == pytest.approx(1.0)  # no noise: the GT's ranks


# --------------------------------------------------------------------------- Table 5


def test_table5_percent_population_std_and_stable_ranks():
    children = ["111", "112", "113"]
    runs = [
        pd.Series([0.80, 0.70, 0.70], index=children),
        pd.Series([0.90, 0.70, 0.70], index=children),
    ]
    t5 = an.table5(runs)
    assert list(t5.columns) == ["child", "acc_mean", "acc_std", "rank"]
    t5 = t5.set_index("child")
    assert t5.loc["111", "acc_mean"] == pytest.approx(85.0)
    assert t5.loc["111", "acc_std"] == pytest.approx(5.0)  # population std of 80, 90
    assert t5["rank"].to_dict() == {"111": 1, "112": 2, "113": 3}  # tie -> child order
    with pytest.raises(ValueError, match="fractions"):
        an.table5([pd.Series([80.0, 70.0, 70.0], index=children)])


def test_table5_usable_as_ground_truth():
    rng = np.random.default_rng(1)
    runs = [pd.Series(r, index=CHILDREN) for r in noisy(rng, 3, 0.002)]
    t5 = an.table5(runs)
    assert sorted(t5["rank"]) == list(range(1, 65))
    # Either layout serves as gt: child as a column (table5) or as the index (a CSV read).
    t2 = an.table2({"different_seeds": [exact_instance()] * 2}, t5, runs)
    t2i = an.table2({"different_seeds": [exact_instance()] * 2}, t5.set_index("child"), runs)
    pd.testing.assert_frame_equal(t2, t2i)
    assert t2["gt_tau_mean"].between(0.5, 1.0).all()
    t3 = an.table3a({("random", 1): [exact_instance()]}, t5, window=4)
    assert t3.loc[0, "mean64"] > 0.5


# --------------------------------------------------------------------------- output


def test_beside_paper_aligns_paper_values():
    ours = pd.DataFrame(
        {
            "experiment": ["different_seeds", "made_up"],
            "s_tau": [0.5, 0.1],
            "max_tau": [0.7, 0.2],
            "min_tau": [0.2, 0.0],
            "n": [10, 10],
        }
    )
    out = an.beside_paper(ours, paper_table("table1"), ["experiment"])
    assert list(out.columns) == [
        "experiment",
        "s_tau",
        "s_tau_paper",
        "max_tau",
        "max_tau_paper",
        "min_tau",
        "min_tau_paper",
        "n",
    ]
    assert out.loc[0, "s_tau_paper"] == pytest.approx(0.5415)
    assert out.loc[0, "s_tau"] == 0.5
    assert np.isnan(out.loc[1, "s_tau_paper"])


def test_beside_paper_numeric_keys_and_index_keys():
    t3 = pd.DataFrame({"grouping": ["similar"], "m": [16.0], "mean64": [0.7]})
    out = an.beside_paper(t3, paper_table("table3a"), ["grouping", "m"])
    assert out.loc[0, "mean64_paper"] == pytest.approx(0.7200)
    ours5 = an.table5([GT_FRAC, GT_FRAC])
    out5 = an.beside_paper(ours5, paper_table5(), ["child"])
    assert out5.set_index("child").loc["434", "acc_mean_paper"] == pytest.approx(85.23)
    assert out5["acc_mean"].to_numpy() == pytest.approx(out5["acc_mean_paper"].to_numpy())


def test_write_table_writes_csv_md_tex(tmp_path):
    df = pd.DataFrame(
        {"experiment": ["different_seeds", "ground_truth"], "s_tau": [0.54151, np.nan], "n": [3, 0]}
    )
    paths = an.write_table(df, tmp_path / "out" / "table1", "Table 1: S-Tau & 100% ranks")
    assert [p.name for p in paths] == ["table1.csv", "table1.md", "table1.tex"]
    assert all(p.stat().st_size > 0 for p in paths)
    md = paths[1].read_text()
    assert "| experiment | s_tau | n |" in md and "| different_seeds | 0.5415 | 3 |" in md
    tex = paths[2].read_text()
    assert r"\begin{tabular}{lrr}" in tex and r"S-Tau \& 100\% ranks" in tex
    assert r"different\_seeds & 0.5415 & 3 \\" in tex
    back = pd.read_csv(paths[0])
    assert back.loc[0, "s_tau"] == pytest.approx(0.54151)
    t5_paths = an.write_table(paper_table5(), tmp_path / "t5", "Table 5")
    assert pd.read_csv(t5_paths[0], dtype={"child": str}).columns[0] == "child"


# --------------------------------------------------------------------------- fidelity


def test_different_epochs_other_readings_are_median_and_mean_over_instances():
    shuffle = [noisy_instance(s, noise) for s, noise in enumerate([0.005, 0.01, 0.03, 0.06])]
    families = {"different_orders_shuffle": shuffle}
    t1 = an.table1(families, None, last_epochs=6).set_index("experiment")
    t2 = an.table2(families, GT, None, last_epochs=6).set_index("experiment")
    lasts = [list(an.epoch_matrix(i).iloc[-6:].iterrows()) for i in shuffle]
    s_taus = [metrics.s_tau([r for _, r in rows])["mean"] for rows in lasts]
    gt_taus = [np.mean([metrics.gt_tau(r, GT["acc_mean"]) for _, r in rows]) for rows in lasts]
    assert t1.loc["different_epochs_median_all", "s_tau"] == pytest.approx(np.median(s_taus))
    assert t1.loc["different_epochs_mean_all", "s_tau"] == pytest.approx(np.mean(s_taus))
    assert t2.loc["different_epochs_median_all", "gt_tau_mean"] == pytest.approx(np.median(gt_taus))
    assert t2.loc["different_epochs_mean_all", "gt_tau_mean"] == pytest.approx(np.mean(gt_taus))
    # the chosen instance differs from both other readings here (4 instances: no middle one)
    assert t1.loc["different_epochs", "s_tau"] != pytest.approx(np.median(s_taus))
    assert list(t1.index[-3:]) == [
        "different_epochs",
        "different_epochs_median_all",
        "different_epochs_mean_all",
    ]
    assert (t1.loc[t1.index.str.startswith("different_epochs"), "n"] == 6).all()


def test_snapshot_matrix_counts_mini_batches_up_to_the_snapshot():
    rows = [
        ("snapshot", epoch, step, "", c, 0.5, 0.0)
        for epoch, steps in ((1, (98, 99, 100)), (2, (199, 200)))
        for step in steps
        for c in CHILDREN
    ]
    inst = pd.DataFrame(rows, columns=COLUMNS)
    assert list(an.snapshot_matrix(inst, 1).index) == [-2, -1, 0]
    assert list(an.snapshot_matrix(inst, 2).index) == [-1, 0]
    with pytest.raises(ValueError, match="snapshot_dense"):
        an.snapshot_matrix(inst, 3)


def test_prefix_curve_and_the_first_epoch_above_the_threshold():
    exact, shuffled = GT_FRAC.to_numpy(), np.roll(GT_FRAC.to_numpy(), 32)
    climbing = make_instance(np.array([shuffled, shuffled, exact]), steps_per_epoch=10)
    flat = make_instance(np.array([shuffled] * 3), steps_per_epoch=10)
    curve = an.prefix_curve({(3, 0): [climbing, climbing], (3, 2): [flat]}, GT)
    assert list(curve.columns) == an.PREFIX_CURVE_COLUMNS
    k0 = curve[curve.k == 0]
    assert list(k0.epoch) == [1, 2, 3] and (k0.n == 2).all()
    assert k0.gt_tau_mean.iloc[-1] == pytest.approx(1.0) and (k0.gt_tau_std == 0).all()
    assert curve.gt_tau_mean.between(-1, 1).all()
    first = an.first_above(curve, 0.6).set_index("k").first_epoch
    assert first[0] == 3 and np.isnan(first[2])
