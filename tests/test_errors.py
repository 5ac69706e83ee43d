"""User errors: one line naming the key or file and the problem, exit 2, no traceback
(--debug or NAS_DEBUG=1 for the trace), found before any training."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nas.cli import main
from tests.test_train import TINY


def _sets(*extra: str) -> list[str]:
    return [a for kv in [*TINY, *extra] for a in ("--set", kv)]


def _one_line(capsys, code: int, *words: str) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err, err
    return err


@pytest.mark.parametrize(
    "override, key",
    [
        ("lr=x", "'lr'"),
        ("m=x", "'m'"),
        ("group=x", "'group'"),
        ("k=x", "'k'"),
        ("dense_last=x", "'dense_last'"),
        ("momentum=x", "'momentum'"),
        ("eval_epochs=2", "'eval_epochs'"),
        ("threads=-1", "'threads'"),
        ("batch_size=true", "'batch_size'"),  # a bool is not an int (it trained with 1)
        ("channels_last=1", "'channels_last'"),
        ("snapshot_epochs=[1.5]", "'snapshot_epochs'"),
        ("ops=[max_pool_3x3, max_pool_3x3, avg_pool_3x3]", "'ops'"),
        ("init_seed=-5", "'init_seed'"),
        ("order_seed=-1", "'order_seed'"),
        ("eval_engine=fast", "'eval_engine'"),
        ("lr=[", "--set lr=["),
        ("lr=1e-3", "write it as 0.001"),
    ],
)
def test_bad_values_are_one_line_before_anything_starts(tmp_path, capsys, override, key):
    code = main(["train", *_sets(override), "--out", str(tmp_path / "run")])
    _one_line(capsys, code, key)
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_one_line(tmp_path, capsys):
    code = main(["train", *_sets("device=cuda"), "--out", str(tmp_path / "run")])
    _one_line(capsys, code, "'device'", "cuda")
    assert not (tmp_path / "run").exists()


def test_config_naming_a_folder_is_one_line(tmp_path, capsys):
    code = main(["train", "--config", str(tmp_path), "--out", str(tmp_path / "run")])
    _one_line(capsys, code, str(tmp_path), "folder")


def test_yaml_syntax_error_names_the_file_and_line(tmp_path, capsys):
    bad = tmp_path / "run.yaml"
    bad.write_text("epochs: 3\nlr: [0.1\n")
    code = main(["train", "--config", str(bad), "--out", str(tmp_path / "run")])
    _one_line(capsys, code, str(bad), "line")


def test_out_naming_a_file_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code = main(["train", *_sets(), "--out", str(tmp_path / "file" / "run")])
    _one_line(capsys, code, "is a file")
    code = main(["train", *_sets(), "--out", str(tmp_path / "file")])
    _one_line(capsys, code, "is a file")
    assert (tmp_path / "file").read_text() == "x"


def test_unwritable_out_is_refused_before_training(tmp_path, capsys):
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o500)
    target = locked if not _writable(locked) else Path("/sys/nas-test-run")
    if _writable(target.parent):
        pytest.skip("no unwritable folder here (running as root without /sys?)")
    code = main(["train", *_sets(), "--out", str(target / "run")])
    _one_line(capsys, code, "cannot write")


def _writable(folder: Path) -> bool:
    try:
        (folder / ".probe").touch()
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


def test_full_disk_is_one_line_naming_the_file(tmp_path, capsys, monkeypatch):
    class FullDisk(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")  # as the kernel: no file

    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: os.close(fd) or FullDisk())
    code = main(["train", *_sets(), "--out", str(tmp_path / "run")])
    monkeypatch.setattr(os, "fdopen", real_fdopen)
    _one_line(capsys, code, "No space left on device", str(tmp_path / "run"))
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("groups", ["5-2", "a-b", "1,1", "-3"])
def test_bad_group_ranges_are_one_line(tmp_path, capsys, groups):
    grouped = _sets("sharing=groups", "m=32")  # every index named is a group of it
    code = main(["train", *grouped, "--groups", groups, "--out", str(tmp_path / "run")])
    _one_line(capsys, code, "--groups")
    assert not (tmp_path / "run").exists()


def test_bad_seed_list_and_out_template_are_one_line(tmp_path, capsys):
    tpl = str(tmp_path / "s{seed}")
    code = main(["train-packed", *_sets(), "--init-seeds", "3-1", "--out-template", tpl])
    _one_line(capsys, code, "--init-seeds")
    short = _sets("epochs=1", "dense_last=1")
    code = main(["train-packed", *short, "--init-seeds", "0-1", "--out-template", tpl + "{x}"])
    assert code == 0 and (tmp_path / "s1{x}" / "records.csv").exists()  # braces are a name


def test_finetune_out_naming_a_folder_is_one_line(tmp_path, capsys):
    code = main(["finetune", *_sets(), "--snapshot", "x.pt", "--out", str(tmp_path)])
    _one_line(capsys, code, "is a folder")


def test_debug_flag_and_environment_show_the_traceback(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="'lr'"):
        main(["train", *_sets("lr=x"), "--out", str(tmp_path / "run"), "--debug"])
    monkeypatch.setenv("NAS_DEBUG", "1")
    with pytest.raises(ValueError, match="'lr'"):
        main(["train", *_sets("lr=x"), "--out", str(tmp_path / "run")])


def test_the_real_command_prints_one_line(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "nas", "train", "--set", "lr=x", "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        "nas train: error: config key 'lr': must be a number, got 'x' (str)"
    ]


def test_a_sweep_with_a_bad_override_fails_before_submitting_anything(tmp_path, monkeypatch):
    """Every run config of a sweep is validated first: no submitit executor is made, no run
    folder written, when one of them is wrong."""
    from nas.cluster import submit
    from nas.core.config import ConfigError

    def no_executor(*args, **kwargs):
        raise AssertionError("an executor was made before the configs were checked")

    monkeypatch.setattr(submit, "_executor", no_executor)
    with pytest.raises(ConfigError, match="'epochs'"):
        submit.sweep([{"init_seed": 0}, {"epochs": 0}], tmp_path / "sweep", preflight=False)
    assert not (tmp_path / "sweep").exists()
    assert submit.run_config({"init_seed": 3}, {"epochs": 2}).epochs == 2
