"""`nas metrics` and the products refuse input that would give a silently wrong number."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from nas.analysis import products, reference
from nas.analysis.metrics import write_wide
from nas.cli import main
from nas.core.records import read_records
from nas.run.train import run_groups, run_training
from nas.study import catalog
from tests.conftest import ROOT, tiny_config


def _noisy_matrix(rows: int = 5) -> pd.DataFrame:
    """Rows drifting from a random order to the ground truth: later rows score better."""
    gt = reference.ground_truth_accuracy().to_numpy() / 100
    noise = np.random.default_rng(0).permutation(gt)
    data = [(1 - t) * noise + t * gt for t in np.linspace(0, 0.6, rows)]
    wide = pd.DataFrame(data, columns=list(reference.ground_truth_accuracy().index))
    wide.index = pd.Index(range(10, 10 * rows + 1, 10), name="step")
    return wide


def _metrics(capsys, path, *args: str) -> tuple[int, str, str]:
    code = main(["metrics", str(path), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _assert_one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    for word in words:
        assert word in err, err


def test_metrics_order_rows_by_step_themselves(tmp_path, capsys):
    wide = _noisy_matrix()
    write_wide(wide, tmp_path / "sorted.csv")
    write_wide(wide.iloc[::-1], tmp_path / "reversed.csv")
    _, fwd, _ = _metrics(capsys, tmp_path / "sorted.csv", "--json", "--window", "2")
    _, rev, _ = _metrics(capsys, tmp_path / "reversed.csv", "--json", "--window", "2")
    assert json.loads(fwd) == json.loads(rev)


def test_metrics_refuse_a_repeated_step(tmp_path, capsys):
    wide = _noisy_matrix()
    write_wide(pd.concat([wide, wide.iloc[-1:]]), tmp_path / "dup.csv")
    _assert_one_line_error(*_metrics(capsys, tmp_path / "dup.csv")[::2], "dup.csv", "step 50")


@pytest.mark.parametrize("flag", [[], ["--json"]])
def test_metrics_refuse_a_constant_row_instead_of_printing_nan(tmp_path, capsys, flag):
    wide = _noisy_matrix()
    wide.iloc[-1] = 0.5
    write_wide(wide, tmp_path / "flat.csv")
    code, out, err = _metrics(capsys, tmp_path / "flat.csv", *flag)
    assert "nan" not in out.lower() and "NaN" not in out
    _assert_one_line_error(code, err, "flat.csv", "same accuracy")


@pytest.mark.parametrize("value", [-0.1, 101.0])
def test_metrics_refuse_an_accuracy_out_of_range(tmp_path, capsys, value):
    wide = _noisy_matrix()
    wide.iloc[2, 3] = value
    write_wide(wide, tmp_path / "range.csv")
    _assert_one_line_error(*_metrics(capsys, tmp_path / "range.csv")[::2], "range.csv", "114")


def test_metrics_refuse_window_below_one(tmp_path, capsys):
    write_wide(_noisy_matrix(), tmp_path / "acc.csv")
    _assert_one_line_error(*_metrics(capsys, tmp_path / "acc.csv", "--window", "0")[::2], "window")


def _gt_file(tmp_path, **changes) -> str:
    gt = reference.paper_table5().reset_index()
    for col, (row, value) in changes.items():
        gt.loc[row, col] = value
    path = tmp_path / "gt.csv"
    gt.to_csv(path, index=False)
    return str(path)


def test_metrics_refuse_a_ground_truth_rank_that_contradicts_its_accuracies(tmp_path, capsys):
    write_wide(_noisy_matrix(), tmp_path / "acc.csv")
    gt = _gt_file(tmp_path, rank=(0, 1))  # child 111, the worst, claimed best
    code, _, err = _metrics(capsys, tmp_path / "acc.csv", "--ground-truth", gt)
    _assert_one_line_error(code, err, "gt.csv", "111", "rank")
    assert main(["metrics", str(tmp_path / "acc.csv"), "--ground-truth", _gt_file(tmp_path)]) == 0


def test_metrics_ground_truth_without_acc_mean_names_the_file(tmp_path, capsys):
    write_wide(_noisy_matrix(), tmp_path / "acc.csv")
    gt = tmp_path / "gt.csv"
    reference.paper_table5().reset_index().drop(columns="acc_mean").to_csv(gt, index=False)
    code, _, err = _metrics(capsys, tmp_path / "acc.csv", "--ground-truth", str(gt))
    _assert_one_line_error(code, err, "gt.csv", "acc_mean")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    run_training(tiny_config(epochs=3), out, log=lambda *_: None)
    return out / "records.csv"


def _damaged(tmp_path, finished, cut) -> str:
    lines = finished.read_text().splitlines(keepends=True)
    path = tmp_path / "records.csv"
    (tmp_path / "run.json").write_bytes((finished.parent / "run.json").read_bytes())
    path.write_text(cut(lines))
    return str(path)


def _study_config(**top: object) -> dict:
    """The paper's study config with top-level keys set (a product job plans the study)."""
    return {**yaml.safe_load((ROOT / "config/config.yaml").read_text()), **top}


@pytest.mark.parametrize(
    "cut, problem",
    [
        (lambda ls: "".join(ls[: len(ls) // 2]), "truncated"),  # at a line boundary
        (lambda ls: "".join(ls)[:-9], "cut off"),  # mid-line
        (lambda ls: "".join(ls[:-1]), "children"),  # one child short at the last point
        (lambda ls: "".join(ls + ls[-1:]), "repeats"),
        (lambda ls: "".join(ls[:-1]) + ls[-1].replace(",0.", ",1.5", 1), "0..1"),
    ],
)
def test_damaged_records_are_an_error_naming_the_file(tmp_path, finished, cut, problem):
    path = _damaged(tmp_path, finished, cut)
    with pytest.raises(ValueError, match=problem) as err:
        read_records(path)
    assert path in str(err.value)
    with pytest.raises(ValueError, match=problem):  # a product: the ground-truth table
        products.write_ground_truth([[path]], "trained", tmp_path / "gt.csv")
    assert not (tmp_path / "gt.csv").exists()
    gt = _gt_file(tmp_path)
    cfg = _study_config(last_epochs=2)
    for table in ("table1", "table2"):
        inst = {"different_seeds": [[str(finished)], [path]]}
        with pytest.raises(ValueError, match=problem):
            catalog.build(catalog.lookup("table", table), inst, gt, tmp_path / table, cfg)
        assert not (tmp_path / f"{table}.csv").exists()


def test_tables_from_intact_records_are_written(tmp_path, finished):
    inst = {"different_seeds": [[str(finished)], [str(finished)]]}
    table1 = catalog.lookup("table", "table1")
    catalog.build(table1, inst, _gt_file(tmp_path), tmp_path / "t1", _study_config(last_epochs=2))
    assert (tmp_path / "t1.csv").exists()


def test_records_come_back_in_time_order(tmp_path, finished):
    path = _damaged(tmp_path, finished, lambda ls: ls[0] + "".join(reversed(ls[1:])))
    assert read_records(path).equals(read_records(finished))


def test_a_grouped_run_missing_a_group_is_an_error(tmp_path):
    cfg = tiny_config(epochs=1, sharing="groups", m=16, grouping="random", dense_last=1)
    (records,) = run_groups(cfg, [cfg.init_seed], [0, 1], [tmp_path], log=lambda *_: None)
    assert read_records(records).child.nunique() == 8
    first_group = (tmp_path / "g000" / "records.csv").read_text()
    records.write_text(first_group)  # as if one group's records were lost
    with pytest.raises(ValueError, match="partial"):
        read_records(records)
