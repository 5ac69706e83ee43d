"""What a published benchmark table says about its own ground truth (beyond the paper):
how well its training seeds agree, the best cell, and the noise ceiling any ranking of its
cells is read against. NAS-Bench-201's (nas.core.nasbench201) first."""

from __future__ import annotations

import pandas as pd

from nas.analysis import metrics, rankstats


def table_facts(accuracies: pd.DataFrame) -> dict:
    """Facts of a seeds table (rows cells, one column per training seed, NaN where a cell
    has fewer seeds): Kendall tau between the first two seeds over every cell; S-Tau and the
    split-half agreement over the cells that have every seed; the best cell by mean."""
    complete = accuracies.dropna()
    seeds = [complete[c] for c in complete.columns]
    mean = accuracies.mean(axis=1)
    best = mean.idxmax()
    return {
        "cells": len(accuracies),
        "cells_all_seeds": len(complete),
        "seeds": accuracies.shape[1],
        "tau_seed0_seed1": metrics.kendall_tau(accuracies.iloc[:, 0], accuracies.iloc[:, 1]),
        "s_tau": metrics.s_tau(seeds)["mean"],
        "split_half_agreement": rankstats.split_half_agreement(seeds)["ceiling"],
        "best_child": best,
        "best_acc_mean": float(mean[best]),
        "acc_min": float(mean.min()),
        "acc_median": float(mean.median()),
    }
