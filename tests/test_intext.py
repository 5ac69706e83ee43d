"""The in-text numbers table on synthetic runs whose values are known by construction."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from nas.analysis import intext, metrics
from nas.analysis.findings import Runs
from tests.test_findings import CHILDREN, TRUTH, gt_table, instance, noisy


def _prefix_instance(climb: list[float], seed: int) -> pd.DataFrame:
    """Epoch points every 10 epochs whose ranks follow the truth more and more (signal)."""
    return instance({10 * (i + 1): noisy(seed + i, s) for i, s in enumerate(climb)})


def test_prefix_bound_is_the_first_epoch_above_the_threshold_per_k():
    runs = Runs(gt=gt_table())
    rising = [0.0, 0.0, 1.0, 1.0]  # random ranks, then the truth's order from epoch 30
    runs.sets["prefix"] = {
        (40, 0): [_prefix_instance(rising, s) for s in (0, 10)],
        (40, 2): [_prefix_instance([0.0] * 4, s) for s in (20, 30)],  # never climbs
        (4, 0): [_prefix_instance([1.0], 40)],  # a shorter run: not the one the bound reads
    }
    table = intext.table(runs).set_index("id")
    k0, k2 = table.loc["s43_prefix_first_above_k0"], table.loc["s43_prefix_first_above_k2"]
    assert k0.ours_low == k0.ours_high == 30 and k0.n == 2 and k0.paper_low == 1000
    assert "0.75 of the 40-epoch run" in k0.note
    assert math.isnan(k2.ours_low) and k2.paper == "" and math.isnan(k2.paper_low)
    assert "never" in k2.note


def test_last_epochs_s_tau_range_over_instances_and_the_different_epochs_gt_tau():
    runs = Runs(gt=gt_table(), last_epochs=3)
    insts = [
        instance({e: noisy(10 * s + e, sig) for e in range(1, 6)})
        for s, sig in enumerate([1.0, 0.3, 0.1])
    ]
    runs.sets["family"] = {"different_orders_shuffle": insts}
    table = intext.table(runs).set_index("id")
    row = table.loc["s32_last_epochs_s_tau"]
    per_instance = [
        metrics.s_tau([noisy(10 * s + e, sig) for e in (3, 4, 5)])["mean"]
        for s, sig in enumerate([1.0, 0.3, 0.1])
    ]
    assert row.ours_low == pytest.approx(min(per_instance))
    assert row.ours_high == pytest.approx(max(per_instance)) and row.n == 3
    assert (row.paper_low, row.paper_high) == (0.39, 0.63)
    gt_row = table.loc["s32_different_epochs_gt_tau"]
    # the median final GT-Tau is the signal-0.3 instance: its last 3 epochs' GT-Tau range
    taus = [metrics.gt_tau(noisy(10 + e, 0.3), TRUTH) for e in (3, 4, 5)]
    assert gt_row.ours_low == pytest.approx(min(taus)) and gt_row.ours_high == pytest.approx(
        max(taus)
    )


def test_case_study_averages_the_groups_of_both_runs():
    runs = Runs(gt=gt_table(), window=4, group_m=16)
    follows = instance({s: TRUTH for s in range(1, 5)}, kind="dense")  # GT-Tau 1 in each group
    reversed_ = instance({s: -TRUTH for s in range(1, 5)}, kind="dense")  # -1 in each group
    runs.sets["groups"] = {("random", 16): [reversed_], ("random", 1): [follows]}
    table = intext.table(runs).set_index("id")
    assert table.loc["s421_case_study_groups", "ours_low"] == pytest.approx(-1.0)
    assert table.loc["s421_case_study_share_all", "ours_high"] == pytest.approx(1.0)
    assert table.loc["s421_case_study_groups", "n"] == 16
    assert table.loc["s421_case_study_share_all", "paper_low"] == 0.5610


def test_sgd_range_and_switched_off_experiments_give_no_row():
    runs = Runs(gt=gt_table())
    rows = {
        s: TRUTH if s % 2 else pd.Series(np.linspace(0.6, 0.9, 64), index=CHILDREN)
        for s in range(1, 5)
    }
    runs.sets["sgd"] = {0.0: [instance(rows, kind="dense")]}
    table = intext.table(runs)
    assert list(table.id) == ["a22_sgd_momentum0_gt_tau"]  # nothing else ran
    row = table.iloc[0]
    assert (row.ours_low, row.ours_high, row.n) == (pytest.approx(-1.0), pytest.approx(1.0), 4)
    assert list(table.columns) == intext.COLUMNS


def test_finetune_rows_read_the_second_half_of_each_snapshots_steps():
    runs = Runs(gt=gt_table())
    reversed_ = pd.Series(TRUTH.to_numpy()[::-1], index=CHILDREN)  # GT-Tau -1
    early = {0: reversed_, 1: reversed_, 2: TRUTH, 3: TRUTH}  # steps 2-3: GT-Tau 1
    late = {0: reversed_, 1: TRUTH, 2: reversed_, 3: TRUTH}
    runs.sets["finetune"] = {
        100: [instance(early, kind="finetune")],
        200: [instance(late, kind="finetune")],
    }
    table = intext.table(runs).set_index("id")
    e, lt = table.loc["s33_finetune_earlier_snapshot"], table.loc["s33_finetune_later_snapshot"]
    assert (e.ours_low, e.ours_high, e.n) == (pytest.approx(1.0), pytest.approx(1.0), 2)
    assert (lt.ours_low, lt.ours_high) == (pytest.approx(-1.0), pytest.approx(1.0))
    assert "epoch 100" in e.note and "epoch 200" in lt.note and lt.paper_low == 0.8
