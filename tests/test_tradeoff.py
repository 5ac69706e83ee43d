"""The trade-off table: Pareto front, leave-one-out ground truth and rows on synthetic runs
whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nas.analysis import tables, tradeoff
from nas.core.runset import RunSet
from tests.test_figures import CHILDREN, GT, GT_FRAC, instance


def test_pareto_front_keeps_the_undominated_rows():
    costs = [1.0, 2.0, 2.0, 3.0, 4.0, 0.5]
    quality = [0.3, 0.5, 0.4, 0.5, 0.7, float("nan")]
    assert tradeoff.pareto_front(costs, quality) == [True, True, False, False, True, False]


def test_labels_name_their_columns():
    warm = tradeoff.describe(RunSet("warm", (("grouping", "correlation"), ("m", 8))))
    assert (warm["kind"], warm["grouping"], warm["m"]) == ("warm", "correlation", 8)
    assert np.isnan(warm["k"]) and np.isnan(warm["epochs"])
    prefix = tradeoff.describe(RunSet("prefix", (("epochs", 36), ("k", 2))))
    assert (prefix["kind"], prefix["epochs"], prefix["k"]) == ("prefix", 36, 2)
    assert tradeoff.describe(RunSet("share-all"))["kind"] == "share-all"


def test_leave_one_out_of_identical_seeds_is_perfect():
    acc = pd.Series(GT_FRAC, index=CHILDREN)
    scores = tables.leave_one_out_scores([acc, acc, acc])
    assert [s[0] for s in scores] == pytest.approx([1.0] * 3)
    assert all(s[1] == 1 for s in scores)


def test_table_orders_by_cost_and_marks_the_front():
    """A noisy strategy that costs more than a clean one is off the front."""
    share_all, groups = RunSet("share-all"), RunSet("groups", (("grouping", "similar"), ("m", 8)))
    runs = {
        share_all: [instance(s) for s in range(3)],
        groups: [instance(s + 10) for s in range(3)],
    }
    noisy = []
    for s in range(3):
        inst = instance(s + 20)
        rng = np.random.default_rng(s)
        inst["accuracy"] = rng.uniform(0.1, 0.9, len(inst))  # ranks unrelated to the truth
        noisy.append(inst)
    runs[RunSet("equal", (("grouping", "similar"), ("m", 8)))] = noisy
    hours = {"share-all": 1.0, "groups:similar/8": 0.5, "equal:similar/8": 2.0}
    table = tradeoff.tradeoff_table(runs, GT, window=4, hours=hours)
    assert list(table.strategy) == ["groups:similar/8", "share-all", "equal:similar/8"]
    assert table.set_index("strategy").loc["equal:similar/8", "pareto"] == False  # noqa: E712
    assert table.set_index("strategy").loc["groups:similar/8", "pareto"] == True  # noqa: E712
    assert (table.gt_tau_lo <= table.gt_tau_mean + 1e-12).all()
    assert (table.gt_tau_mean <= table.gt_tau_hi + 1e-12).all()
    assert table.loc[0, "gt_tau_mean"] > 0.4 > 0.2 > table.loc[2, "gt_tau_mean"]
    assert list(table.n) == [3, 3, 3] and table.loc[0, "m"] == 8


def test_the_ground_truth_row_has_the_jackknife_over_its_seeds():
    """Its seeds' leave-one-out scores share seeds: no t-interval over them."""
    rng = np.random.default_rng(4)
    finals = [
        pd.Series(GT_FRAC + rng.normal(0, 0.02, len(GT_FRAC)), index=CHILDREN) for _ in range(4)
    ]
    runs = {RunSet("share-all"): [instance(s) for s in range(3)]}
    hours = {"share-all": 1.0, "ground_truth": 5.0}
    table = tradeoff.tradeoff_table(runs, GT, window=4, hours=hours, gt_finals=finals)
    row = table.set_index("strategy").loc["ground_truth"]
    band = tables.leave_one_out_interval(finals)
    assert (row.gt_tau_lo, row.gt_tau_hi) == pytest.approx((band["gt_tau_lo"], band["gt_tau_hi"]))
    scores = [s[0] for s in tables.leave_one_out_scores(finals)]
    assert row.gt_tau_mean == pytest.approx(np.mean(scores)) and row.n == 4
    assert row.gt_tau_lo < row.gt_tau_mean < row.gt_tau_hi
