"""The `nas` command line as a person uses it."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from nas.analysis import reference
from nas.analysis.metrics import write_wide
from nas.cli import main
from nas.core.records import Record, from_wide, read_records, to_wide, write_records


def _wide_from_gt(path, noise_rows=3):
    gt = reference.ground_truth_accuracy()
    rows = {step: gt.values / 100 for step in range(1, noise_rows + 1)}
    wide = pd.DataFrame.from_dict(rows, orient="index", columns=list(gt.index))
    wide.index.name = "step"
    write_wide(wide, path)
    return wide


def test_metrics_of_the_ground_truth_itself_is_perfect(tmp_path, capsys):
    _wide_from_gt(tmp_path / "acc.csv")
    assert main(["metrics", str(tmp_path / "acc.csv"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["final_gt_tau"] == pytest.approx(1.0)
    assert out["gt_tau_mean"] == pytest.approx(1.0) and out["gt_tau_std"] == pytest.approx(0.0)
    assert out["t1r_mean"] == 1 and out["t3r_mean"] == 1


def test_metrics_with_own_ground_truth_and_window(tmp_path, capsys):
    wide = _wide_from_gt(tmp_path / "acc.csv", noise_rows=4)
    reversed_gt = pd.DataFrame({"child": wide.columns, "acc_mean": -wide.iloc[0].values})
    reversed_gt.to_csv(tmp_path / "gt.csv", index=False)
    args = ["metrics", str(tmp_path / "acc.csv"), "--ground-truth", str(tmp_path / "gt.csv")]
    assert main([*args, "--window", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["final_gt_tau"] == pytest.approx(-1.0)
    assert out["t1r_mean"] == 64


def test_malformed_accuracy_csv_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("step,111,112\n1,0.5,abc\n")
    assert main(["metrics", str(tmp_path / "bad.csv")]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "Traceback" not in err


def test_python_dash_m_nas_works():
    out = subprocess.run([sys.executable, "-m", "nas", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "train" in out.stdout and "bench" in out.stdout


def test_bench_prints_every_figure_as_json(capsys):
    """A tiny `nas bench`: training, evaluation, the straightforward path and packed models
    all run and report positive throughputs (the figures themselves are benchmarks)."""
    tiny = ["--device", "cpu", "--batch-size", "8", "--image-size", "8", "--train-steps", "1"]
    tiny += ["--eval-images", "8", "--plain-train-steps", "1", "--plain-eval-images", "8"]
    assert main(["bench", *tiny, "--plain", "--packed", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    figures = [
        "train_images_per_s",
        "eval_child_images_per_s",
        "plain_train_images_per_s",
        "plain_eval_child_images_per_s",
        "packed_train_model_images_per_s",
        "packed_eval_child_model_images_per_s",
    ]
    assert all(out[k] > 0 for k in figures), out
    assert out["device"] == "cpu" and out["packed_models"] == 2


def test_tidy_records_round_trip_through_the_wide_layout(tmp_path):
    recs = [
        Record("dense", 1, s, "111", c, 0.1 * s + (c == "112") * 0.01, 1.0)
        for s in (1, 2)
        for c in ("111", "112")
    ]
    write_records(tmp_path / "r.csv", recs)
    df = read_records(tmp_path / "r.csv")
    wide = to_wide(df, "dense")
    assert list(wide.columns) == ["111", "112"] and list(wide.index) == [1, 2]
    assert wide.loc[2, "112"] == pytest.approx(0.21)
    back = from_wide(wide, "dense")
    assert [(r.step, r.child, r.accuracy) for r in back] == [
        (r.step, r.child, r.accuracy) for r in recs
    ]
    with pytest.raises(ValueError, match="finetune"):
        to_wide(df, "finetune")
