"""Tests that the packaged copies of the paper's tables are complete and transcribed as printed."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from nas.analysis import reference as ref

ALL_CHILDREN = ["".join(d) for d in itertools.product("1234", repeat=3)]


def test_table5_has_all_64_children_as_strings():
    t5 = ref.paper_table5()
    assert list(t5.index) == ALL_CHILDREN
    assert all(isinstance(c, str) for c in t5.index)
    assert list(t5.columns) == ["acc_mean", "acc_std", "rank"]


def test_table5_spot_values():
    t5 = ref.paper_table5()
    assert t5.loc["434", "rank"] == 1
    assert t5.loc["434", "acc_mean"] == pytest.approx(85.23)
    assert t5.loc["434", "acc_std"] == pytest.approx(0.17)
    assert t5.loc["111", "rank"] == 64
    assert t5.loc["111", "acc_mean"] == pytest.approx(70.13)
    assert t5.loc["443", "rank"] == 2
    assert t5.loc["141", "acc_std"] == pytest.approx(1.04)


def test_table5_ranks_as_printed():
    rank = ref.ground_truth_rank()
    assert rank.between(1, 64).all()
    # Printed ties: 34 (133, 414) and 43 (143, 413); 35 and 44 are therefore absent.
    counts = rank.value_counts()
    assert sorted(counts[counts > 1].index) == [34, 43]
    assert sorted(rank[rank == 43].index) == ["143", "413"]
    assert sorted(rank[rank == 34].index) == ["133", "414"]
    assert set(range(1, 65)) - set(rank) == {35, 44}


def test_table5_ranks_follow_accuracy():
    # Sorting by printed rank must give non-increasing accuracy (ranks use unrounded means).
    t5 = ref.paper_table5().sort_values("rank", kind="stable")
    assert t5["acc_mean"].is_monotonic_decreasing


def test_ground_truth_series():
    acc = ref.ground_truth_accuracy()
    rank = ref.ground_truth_rank()
    assert list(acc.index) == ALL_CHILDREN
    assert list(rank.index) == ALL_CHILDREN
    assert acc["424"] == pytest.approx(84.77)
    assert rank.dtype.kind == "i"


def test_loaders_return_fresh_copies():
    t5 = ref.paper_table5()
    t5.loc["111", "rank"] = 999
    t1 = ref.paper_table("table1")
    t1.loc[0, "s_tau"] = 999
    assert ref.ground_truth_rank()["111"] == 64
    assert ref.paper_table("table1").loc[0, "s_tau"] == pytest.approx(0.5415)


def test_table1():
    t1 = ref.paper_table("table1").set_index("experiment")
    assert list(t1.index) == [
        "different_seeds",
        "different_orders",
        "different_orders_shuffle",
        "random_rank",
        "ground_truth",
        "different_epochs",
    ]
    assert t1.loc["different_orders", "min_tau"] == pytest.approx(-0.0129)
    assert t1.loc["ground_truth", "s_tau"] == pytest.approx(0.7120)
    assert (t1["min_tau"] <= t1["s_tau"]).all() and (t1["s_tau"] <= t1["max_tau"]).all()


def test_table2():
    t2 = ref.paper_table("table2").set_index("experiment")
    assert len(t2) == 5 and "random_rank" not in t2.index
    assert t2.loc["ground_truth", "gt_tau_mean"] == pytest.approx(0.7985)
    assert t2.loc["different_seeds", "t1r_mean"] == pytest.approx(18.5)
    assert t2.loc["different_epochs", "t3r_std"] == pytest.approx(7.4404)


def test_table3a():
    t3a = ref.paper_table("table3a")
    assert len(t3a) == 14
    assert set(t3a["grouping"]) == {"random", "similar"}
    for grouping in ("random", "similar"):
        assert list(t3a.loc[t3a["grouping"] == grouping, "m"]) == [1, 2, 4, 8, 16, 32, 64]
    row = t3a[(t3a["grouping"] == "similar") & (t3a["m"] == 4)].iloc[0]
    assert row["mean64"] == pytest.approx(0.7075)
    assert row["std64_std"] == pytest.approx(0.0156)
    # m = 1 (full sharing) and m = 64 (no sharing) are the same experiment in both groupings.
    for m in (1, 64):
        a = t3a[(t3a["grouping"] == "random") & (t3a["m"] == m)].drop(columns="grouping")
        b = t3a[(t3a["grouping"] == "similar") & (t3a["m"] == m)].drop(columns="grouping")
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_table4_and_table3b():
    t4 = ref.paper_table("table4")
    assert len(t4) == 10
    assert sorted(set(t4["epochs"])) == [200, 2000]
    row = t4[(t4["epochs"] == 200) & (t4["k"] == 0)].iloc[0]
    assert row["gt_tau_mean64"] == pytest.approx(0.0441)
    assert row["gt_tau_mean64_std"] == pytest.approx(0.1348)
    assert row["acc_mean"] == pytest.approx(0.6083)
    t3b = ref.paper_table("table3b")
    assert list(t3b["k"]) == [0, 1, 2, 3, 4]
    assert t3b.loc[0, "gt_tau_mean64"] == pytest.approx(0.6960)
    assert t3b.loc[4, "gt_tau_std64_std"] == pytest.approx(0.0163)


def test_unknown_table_lists_valid_names():
    with pytest.raises(ValueError, match="table1.*table4"):
        ref.paper_table("table9")
