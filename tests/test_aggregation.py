"""Rank aggregation (nas.analysis.aggregation) on synthetic instances whose answer is known."""

import numpy as np
import pandas as pd
import pytest
from test_analysis import CHILDREN, GT, GT_FRAC, make_instance, noisy_instance

from nas.analysis import aggregation, metrics


def test_methods_read_the_points_they_name():
    inst = noisy_instance(0, 0.02, n_epochs=6, n_dense=8)
    wide = {"columns": "child", "values": "accuracy"}
    epochs = inst[inst.point_kind == "epoch"].pivot(index="epoch", **wide)
    dense = inst[inst.point_kind == "dense"].pivot(index="step", **wide)
    pd.testing.assert_series_equal(
        aggregation.last_minibatches(inst, 3, 2), dense.iloc[-3:].mean(), check_names=False
    )
    pd.testing.assert_series_equal(
        aggregation.last_epochs_mean(inst, 3, 2), epochs.iloc[-2:].mean(), check_names=False
    )
    pd.testing.assert_series_equal(
        aggregation.final(inst, 3, 2), epochs.iloc[-1], check_names=False
    )


def test_consensus_is_the_mean_rank():
    a = pd.Series([0.9, 0.8, 0.7], index=list("xyz"))
    b = pd.Series([0.7, 0.9, 0.8], index=list("xyz"))
    c = pd.Series([0.8, 0.9, 0.7], index=list("xyz"))
    # ranks x: 1, 3, 2 -> 2; y: 2, 1, 1 -> 4/3; z: 3, 2, 3 -> 8/3; higher is better
    got = aggregation.consensus([a, b, c])
    assert got.to_dict() == pytest.approx({"x": -2.0, "y": -4 / 3, "z": -8 / 3})


def test_averaging_independent_noise_gains_and_the_table_agrees_with_metrics():
    """Each dense point is the truth plus independent noise: the window mean has 1/sqrt(k) of
    its noise, so its GT-Tau beats the single final point's in every instance."""
    insts = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        truth = GT_FRAC.to_numpy()
        epochs = truth + rng.normal(0, 0.03, (4, len(CHILDREN)))
        dense = truth + rng.normal(0, 0.03, (16, len(CHILDREN)))
        dense[-1] = epochs[-1]  # the final epoch point is the last mini-batch
        insts.append(make_instance(epochs, dense))
    table = aggregation.aggregation_table({"different_seeds": insts}, GT, 16, 4)
    rows = table.set_index("method")
    assert list(rows.index) == ["final", "last_minibatches", "last_epochs", "consensus"]
    final_taus = [metrics.gt_tau(aggregation.final(i, 16, 4), GT["acc_mean"]) for i in insts]
    assert rows.loc["final", "gt_tau_mean"] == pytest.approx(np.mean(final_taus))
    assert rows.loc["final", "gain_mean"] == 0.0
    assert rows.loc["last_minibatches", "gain_lo"] > 0  # every instance gains
    assert rows.loc["consensus", "gain_mean"] > 0 and rows.loc["consensus", "n"] == 4
    lo, hi = rows.loc["consensus", ["gt_tau_lo", "gt_tau_hi"]]
    assert lo <= rows.loc["consensus", "gt_tau_mean"] <= hi
