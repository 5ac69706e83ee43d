"""Golden tests for nas.analysis.metrics: every expected value is worked out by hand in a
comment."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nas.analysis import metrics as m

CHILDREN = ["A", "B", "C", "D"]


def vec(values, index=CHILDREN) -> pd.Series:
    return pd.Series(values, index=list(index), dtype=float)


# x = identity order, y = one adjacent swap (B/C), z = full reversal of x.
X = vec([1, 2, 3, 4])
Y = vec([1, 3, 2, 4])
Z = vec([4, 3, 2, 1])


# --------------------------------------------------------------------------- ranks


def test_ranks_from_accuracy_basic():
    # Highest accuracy gets rank 1.
    ranks = m.ranks_from_accuracy(vec([0.5, 0.9, 0.1, 0.7]))
    assert ranks.to_dict() == {"A": 3, "B": 1, "C": 4, "D": 2}


def test_ranks_from_accuracy_ties_are_stable():
    # A and C tie at 0.8: A comes first in index order so it wins.
    ranks = m.ranks_from_accuracy(vec([0.8, 0.2, 0.8, 0.9]))
    assert ranks.to_dict() == {"A": 2, "B": 4, "C": 3, "D": 1}
    # Reversing index order flips the tie.
    rev = vec([0.9, 0.8, 0.2, 0.8], index=["D", "C", "B", "A"])
    assert m.ranks_from_accuracy(rev).to_dict() == {"D": 1, "C": 2, "B": 4, "A": 3}


def test_ranks_from_accuracy_many_ties_stable():
    # All equal: rank = position in the Series.
    acc = vec([0.5] * 4)
    assert list(m.ranks_from_accuracy(acc)) == [1, 2, 3, 4]


def test_ranks_reject_nan_and_duplicates():
    with pytest.raises(ValueError, match="non-finite.*B"):
        m.ranks_from_accuracy(vec([1, np.nan, 2, 3]))
    with pytest.raises(ValueError, match="duplicate children: A"):
        m.ranks_from_accuracy(vec([1, 2, 3, 4], index=["A", "A", "B", "C"]))


# --------------------------------------------------------------------------- kendall


def test_kendall_tau_one_swap():
    # 6 pairs; only (B, C) is discordant -> tau = (5 - 1) / 6 = 2/3.
    assert m.kendall_tau(X, Y) == pytest.approx(2 / 3)


def test_kendall_tau_reversal_and_identity():
    assert m.kendall_tau(X, X) == pytest.approx(1.0)
    assert m.kendall_tau(X, Z) == pytest.approx(-1.0)


def test_kendall_tau_b_with_ties():
    # a = [1,2,3,4], b = [1,1,2,3]. n0 = 6 pairs; (A,B) tied in b (n2 = 1), no ties in a;
    # the other 5 pairs are concordant, 0 discordant.
    # tau_b = (5 - 0) / sqrt((6 - 0) * (6 - 1)) = 5 / sqrt(30) = 0.91287...
    assert m.kendall_tau(X, vec([1, 1, 2, 3])) == pytest.approx(5 / math.sqrt(30))


def test_kendall_tau_aligns_on_child_name():
    # Y written in a different index order must give the same answer.
    y_shuffled = Y[["D", "B", "A", "C"]]
    assert m.kendall_tau(X, y_shuffled) == pytest.approx(2 / 3)


def test_kendall_tau_names_missing_children():
    other = vec([1, 2, 3, 4], index=["A", "B", "C", "E"])
    with pytest.raises(ValueError, match="missing from second vector: D") as exc:
        m.kendall_tau(X, other)
    assert "missing from first vector: E" in str(exc.value)


def test_gt_tau_is_kendall_against_ground_truth():
    assert m.gt_tau(Y, X) == pytest.approx(2 / 3)


def test_spearman_one_swap():
    # ranks x = 1..4, y = 1,3,2,4: d^2 = 0+1+1+0 = 2; rho = 1 - 6*2/(4*15) = 0.8.
    assert m.spearman(X, Y) == pytest.approx(0.8)


# --------------------------------------------------------------------------- S-Tau


def test_s_tau_three_instances():
    # tau(X,Y) = 2/3, tau(X,Z) = -1, tau(Y,Z) = -tau(Y,X) = -2/3 (Z reverses X).
    # mean = (2/3 - 1 - 2/3) / 3 = -1/3; max 2/3; min -1.
    got = m.s_tau([X, Y, Z])
    assert got["mean"] == pytest.approx(-1 / 3)
    assert got["max"] == pytest.approx(2 / 3)
    assert got["min"] == pytest.approx(-1.0)
    assert set(got) == {"mean", "max", "min"}


def test_s_tau_needs_two():
    with pytest.raises(ValueError, match="at least 2"):
        m.s_tau([X])


# --------------------------------------------------------------------------- TnR & top-k

GT_RANK = pd.Series({"A": 3, "B": 1, "C": 2, "D": 4})


def test_top_n_rank_ties_broken_stably():
    # A and B tie at 0.9; A is first, so the top-1 is A (gt rank 3), not B (gt rank 1).
    acc = vec([0.9, 0.9, 0.5, 0.1])
    assert m.top_n_rank(acc, GT_RANK, 1) == 3
    # top-2 = {A, B} -> best gt rank 1.
    assert m.top_n_rank(acc, GT_RANK, 2) == 1
    # With B listed first the tie goes to B.
    assert m.top_n_rank(acc[["B", "A", "C", "D"]], GT_RANK, 1) == 1


def test_top_n_rank_validates():
    with pytest.raises(ValueError, match="1..4"):
        m.top_n_rank(X, GT_RANK, 5)
    with pytest.raises(ValueError, match="missing from ground-truth rank: D"):
        m.top_n_rank(X, GT_RANK.drop("D"), 1)


def test_topk_gt_rank_range():
    # acc order best-first: A(0.9), B(0.9), C(0.5), D(0.1); top-3 = A,B,C -> gt ranks 3,1,2.
    acc = vec([0.9, 0.9, 0.5, 0.1])
    assert m.topk_gt_rank_range(acc, GT_RANK, 3) == (1, 3)
    assert m.topk_gt_rank_range(acc, GT_RANK, 1) == (3, 3)


def test_precision_at_k():
    # top-2 by Y = {D, B}; ground-truth (X) top-2 = {D, C}; overlap {D} -> 1/2.
    assert m.precision_at_k(Y, X, 2) == pytest.approx(0.5)
    assert m.precision_at_k(X, X, 3) == pytest.approx(1.0)
    # Z is reversed: top-1 = A vs truth D -> 0.
    assert m.precision_at_k(Z, X, 1) == 0.0


# --------------------------------------------------------------------------- aggregates


def test_mean_std_population():
    # values 1, 2, 3, 4: mean 2.5; deviations +-1.5, +-0.5 -> var = (2.25*2 + 0.25*2)/4 = 1.25.
    mean, std = m.mean_std([1, 2, 3, 4])
    assert mean == pytest.approx(2.5)
    assert std == pytest.approx(math.sqrt(1.25))
    with pytest.raises(ValueError):
        m.mean_std([])


def test_accuracy_mean_std():
    # 0.7 and 0.9: mean 0.8, population std 0.1.
    mean, std = m.accuracy_mean_std(pd.Series({"111": 0.7, "112": 0.9}))
    assert (mean, std) == (pytest.approx(0.8), pytest.approx(0.1))


MATRIX = pd.DataFrame(
    [X.to_numpy(), Y.to_numpy(), Z.to_numpy()],
    index=pd.Index([10, 20, 30], name="step"),
    columns=CHILDREN,
)


def test_windowed_gt_tau_window_2():
    # Per-row GT-Tau against X: row1 1, row2 2/3, row3 -1.
    # Last 2 rows: 2/3 and -1 -> mean -1/6; population std = |2/3 - (-1)| / 2 = 5/6.
    mean, std = m.windowed_gt_tau(MATRIX, X, 2)
    assert mean == pytest.approx(-1 / 6)
    assert std == pytest.approx(5 / 6)


def test_windowed_gt_tau_window_3():
    # Taus 1, 2/3, -1: mean 2/9; deviations 7/9, 4/9, -11/9
    # -> var = (49 + 16 + 121) / 81 / 3 = 62/81, std = sqrt(62)/9 = 0.87489.
    mean, std = m.windowed_gt_tau(MATRIX, X, 3)
    assert mean == pytest.approx(2 / 9)
    assert std == pytest.approx(math.sqrt(62) / 9)


def test_windowed_gt_tau_window_1_and_bounds():
    assert m.windowed_gt_tau(MATRIX, X, 1) == (pytest.approx(-1.0), pytest.approx(0.0))
    with pytest.raises(ValueError, match="window"):
        m.windowed_gt_tau(MATRIX, X, 4)
    with pytest.raises(ValueError, match="window"):
        m.windowed_gt_tau(MATRIX, X, 0)


def test_summarize_run():
    # gt_rank for ground truth X: D best (1) ... A worst (4).
    gt_rank = pd.Series({"A": 4, "B": 3, "C": 2, "D": 1})
    got = m.summarize_run(MATRIX, X, gt_rank, 2)
    # Row Y: top1 = D -> 1; top3 = D,B,C -> 1. Row Z: top1 = A -> 4; top3 = A,B,C -> 2.
    assert got == {
        "gt_tau_mean": pytest.approx(-1 / 6),
        "gt_tau_std": pytest.approx(5 / 6),
        "t1r_mean": pytest.approx(2.5),
        "t3r_mean": pytest.approx(1.5),
        "final_gt_tau": pytest.approx(-1.0),
    }


# --------------------------------------------------------------------------- wide CSV


def write_text(tmp_path: Path, text: str, name: str = "run.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_wide_keeps_child_names_as_strings(tmp_path):
    path = write_text(tmp_path, "step,111,112,444\n1,0.5,0.6,0.7\n2,50,60.5,70\n")
    df = m.read_wide(path)
    assert list(df.columns) == ["111", "112", "444"]
    assert all(isinstance(c, str) for c in df.columns)
    assert df.index.name == "step"
    assert list(df.index) == [1, 2]
    # Values are not converted: fractions and percents are kept as stored.
    assert df.loc[2, "112"] == 60.5
    assert df.loc[1, "111"] == 0.5


def test_read_wide_epoch_header(tmp_path):
    path = write_text(tmp_path, "epoch,111\n0.5,0.1\n")
    df = m.read_wide(path)
    assert df.index.name == "epoch"
    assert df.index[0] == 0.5


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("step\n1\n", "at least one child"),
        ("step,111,112\n", "no data rows"),
        ("step,111,111\n1,0.1,0.2\n", "duplicate column name.*111"),
        ("step,111,\n1,0.1,0.2\n", "empty child column name"),
        (",111\n1,0.1\n", "first column has an empty header"),
        ("step,111,112\n1,0.1\n", "data row 1 has 2 fields"),
        ("step,111,112\nabc,0.1,0.2\n", "'step' value 'abc'"),
        ("step,111,112\n1,0.1,0.2\n2,0.1,oops\n", "data row 2: column '112' value 'oops'"),
        ("step,111,112\n1,0.1,nan\n", "column '112' value 'nan'"),
        ("step,111,112\n1,inf,0.2\n", "column '111' value 'inf'"),
        ("step,111,112\n1,,0.2\n", "column '111' value ''"),
    ],
)
def test_read_wide_rejects_malformed(tmp_path, text, problem):
    path = write_text(tmp_path, text)
    with pytest.raises(ValueError, match=problem) as exc:
        m.read_wide(path)
    assert str(path) in str(exc.value)


def test_write_read_round_trip(tmp_path):
    df = pd.DataFrame(
        {"111": [0.1, 0.123456789012345], "444": [1 / 3, 85.23]},
        index=pd.Index([196, 392], name="step"),
    )
    path = tmp_path / "wide.csv"
    m.write_wide(df, path)
    back = m.read_wide(path)
    pd.testing.assert_frame_equal(back, df, check_column_type=False, check_index_type=False)
    assert list(back.columns) == ["111", "444"]
    # Atomic write leaves no temp files behind.
    assert os.listdir(tmp_path) == ["wide.csv"]


def test_write_wide_default_index_name(tmp_path):
    df = pd.DataFrame({"111": [0.5]})
    path = tmp_path / "w.csv"
    m.write_wide(df, path)
    assert path.read_text().splitlines()[0] == "step,111"


def test_write_wide_overwrites_atomically(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("old")
    m.write_wide(pd.DataFrame({"111": [0.5]}, index=pd.Index([1], name="epoch")), path)
    assert m.read_wide(path).index.name == "epoch"
    assert os.listdir(tmp_path) == ["w.csv"]
