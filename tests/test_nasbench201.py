"""NAS-Bench-201's published table (nas.core.nasbench201): read as plain data only, keyed
as the 3-node space names its children, and checked against facts published with it and an
independent scipy computation on all 15,625 cells."""

from __future__ import annotations

import itertools
import os
import pickle

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nas.analysis import metrics, rankstats
from nas.cli import main
from nas.core import nasbench201 as nb
from nas.core.spaces import Darts as SearchSpace

BEST = (  # NAS-Bench-201's best CIFAR-10 cell by mean validation accuracy
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
)


@pytest.fixture(scope="module")
def cifar10() -> pd.DataFrame:
    return nb.seed_accuracies("cifar10")


def test_a_table_that_names_a_global_is_refused_before_anything_runs():
    evil = pickle.dumps({"000000": {"val_acc": [os.getpid]}})
    with pytest.raises(pickle.UnpicklingError, match="refused: the table names a global"):
        nb.read_plain(evil)
    assert nb.read_plain(pickle.dumps({"a": [1.0, 2]})) == {"a": [1.0, 2]}


def test_a_table_of_the_wrong_shape_is_an_error_naming_the_problem():
    with pytest.raises(ValueError, match="want a dict of 15625 cells, got 1"):
        nb.accuracies_from({"000000": {"val_acc": [50.0]}}, "test")
    keys = ("".join(k) for k in itertools.product("01234", repeat=6))
    cells = {k: {"val_acc": [50.0, 51.0]} for k in keys}
    cells["000000"] = {"val_acc": [150.0]}
    with pytest.raises(ValueError, match="'000000' accuracy outside 0..100"):
        nb.accuracies_from(cells, "test")


def test_keys_are_the_3_node_space_s_child_names():
    assert SearchSpace(3).edges == list(nb.EDGES)
    assert nb.child_of("421211") == "532322" and nb.key_of("532322") == "421211"
    with pytest.raises(ValueError, match="six op indices"):
        nb.child_of("52")


def test_every_cell_is_there_with_two_or_three_seeds(cifar10):
    assert cifar10.shape == (15625, 3) and cifar10.index.is_monotonic_increasing
    assert cifar10[["seed0", "seed1"]].notna().all().all()
    assert cifar10.seed2.isna().sum() == 7456  # these cells were trained with 2 seeds


def test_the_edge_order_is_the_arch_string_s(cifar10):
    """Cells with `none` on every edge into node 3 have no path to the output: chance. Read
    in NASLib's order (edges by source) that set holds trained cells instead."""
    mean = cifar10.mean(axis=1)
    into_output = [3, 4, 5]  # 3<-0, 3<-1, 3<-2 in arch-string order
    dead = [c for c in mean.index if all(c[i] == "1" for i in into_output)]
    assert len(dead) == 125 and mean[dead].round(2).eq(9.71).all()
    by_source = [c for c in mean.index if all(c[i] == "1" for i in (2, 4, 5))]
    assert mean[by_source].max() > 80


def test_the_best_cell_is_the_published_optimum(cifar10):
    gt = nb.ground_truth(cifar10).set_index("child")
    best = gt.index[gt["rank"] == 1][0]
    assert round(gt.loc[best, "acc_mean"], 2) == 91.61
    assert nb.arch_string(best) == BEST
    assert sorted(gt["rank"]) == list(range(1, 15626))


def test_seed_agreement_and_noise_ceiling_equal_an_independent_scipy_computation(cifar10):
    tau01 = metrics.kendall_tau(cifar10.seed0, cifar10.seed1)
    assert tau01 == pytest.approx(stats.kendalltau(cifar10.seed0, cifar10.seed1)[0], abs=1e-12)
    assert tau01 == pytest.approx(0.91, abs=0.005)
    three = cifar10.dropna()
    seeds = [three[c] for c in three.columns]
    s_tau = metrics.s_tau(seeds)["mean"]
    pairs = [(0, 1), (0, 2), (1, 2)]
    independent = np.mean([stats.kendalltau(seeds[i], seeds[j])[0] for i, j in pairs])
    assert s_tau == pytest.approx(independent, abs=1e-12)
    ceiling = rankstats.split_half_agreement(seeds)["ceiling"]
    x = three.to_numpy()
    one_vs_rest = [
        stats.kendalltau(x[:, i], np.delete(x, i, axis=1).mean(axis=1))[0] for i in range(3)
    ]
    assert ceiling == pytest.approx(np.mean(one_vs_rest), abs=1e-12)


def test_the_command_writes_the_ground_truth_and_prints_the_table_s_facts(tmp_path, capsys):
    out = tmp_path / "ground_truth.csv"
    assert main(["nasbench201", "--dataset", "cifar10", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "best 91.61" in printed and BEST in printed
    gt = metrics.read_ground_truth(out)  # the format every product reads
    assert len(gt) == 15625 and gt["rank"].min() == 1
