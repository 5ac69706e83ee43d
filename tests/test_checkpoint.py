"""Checkpoints and snapshots are read without running code, and bad ones are named."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nas.cli import main
from nas.run.train import run_training
from tests.conftest import tiny_config
from tests.test_train import TINY


class _Touch:
    """Unpickling this (in full) would create `path`: the crafted file's payload."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def _crafted(path: Path, marker: Path) -> Path:
    torch.save({"config": {}, "step": 0, "model": {}, "payload": _Touch(marker)}, path)
    return path


def _sets(*extra: str) -> list[str]:
    return [a for kv in [*TINY, *extra] for a in ("--set", kv)]


def _assert_refused(code: int, err: str, path: Path, marker: Path) -> None:
    assert not marker.exists(), "loading the file ran its code"
    assert code == 2 and str(path) in err and "Traceback" not in err


def test_crafted_snapshot_given_to_finetune_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "pwned"
    snap = _crafted(tmp_path / "shared.pt", marker)
    code = main(["finetune", *_sets(), "--snapshot", str(snap), "--out", str(tmp_path / "f.csv")])
    _assert_refused(code, capsys.readouterr().err, snap, marker)


def test_crafted_resume_file_left_in_a_run_folder_runs_nothing(tmp_path, capsys):
    marker, out = tmp_path / "pwned", tmp_path / "run"
    out.mkdir()
    ckpt = _crafted(out / "resume.pt", marker)
    code = main(["train", *_sets(), "--out", str(out)])
    _assert_refused(code, capsys.readouterr().err, ckpt, marker)


def test_crafted_packed_checkpoint_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "pwned"
    ckpt = _crafted(tmp_path / "pack.pt", marker)
    args = ["--init-seeds", "0-1", "--out-template", str(tmp_path / "s{seed}")]
    code = main(["train-packed", *_sets(), *args, "--checkpoint", str(ckpt)])
    _assert_refused(code, capsys.readouterr().err, ckpt, marker)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", b"PK\x03\x04truncated"])
def test_corrupt_resume_file_is_one_line_naming_it(tmp_path, capsys, content):
    out = tmp_path / "run"
    out.mkdir()
    (out / "resume.pt").write_bytes(content)
    code = main(["train", *_sets(), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert str(out / "resume.pt") in err and "delete it" in err


def test_snapshots_hold_only_tensors_and_plain_types(tmp_path):
    cfg = tiny_config(epochs=1, snapshot_epochs=[1])
    run_training(cfg, tmp_path, log=lambda *_: None)
    state = torch.load(tmp_path / "snapshots" / "epoch_1.pt", weights_only=True)
    assert state["config"] == cfg.to_dict() and state["epoch"] == 1


def test_overwrite_drops_an_unreadable_resume_file_without_running_it(tmp_path, capsys):
    """What a workflow job (--overwrite) does with a resume file it cannot read safely, such
    as one from an older nas that stored records as objects: start afresh."""
    marker, out = tmp_path / "pwned", tmp_path / "run"
    out.mkdir()
    _crafted(out / "resume.pt", marker)
    assert (
        main(["train", *_sets("epochs=1", "dense_last=1"), "--out", str(out), "--overwrite"]) == 0
    )
    assert not marker.exists() and (out / "records.csv").exists()
    assert "dropping unreadable" in capsys.readouterr().out
