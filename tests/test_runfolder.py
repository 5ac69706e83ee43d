"""A run folder knows what made it: reruns with other arguments are refused (or, with
--overwrite, start afresh), the same arguments leave a finished run alone, and only one
process writes a folder at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nas.cli import main
from nas.core.config import load_config
from nas.core.records import read_records
from nas.run.runfolder import RUN_FILES
from nas.run.train import Interrupted, run_training
from tests.test_train import TINY

SHORT = [*TINY, "epochs=2", "dense_last=2"]


def _sets(*extra: str) -> list[str]:
    return [a for kv in [*SHORT, *extra] for a in ("--set", kv)]


def _train(out: Path, *extra: str, flags: tuple[str, ...] = ()) -> int:
    return main(["train", *_sets(*extra), "--out", str(out), *flags])


def test_same_arguments_over_a_finished_run_do_nothing_and_say_so(tmp_path, capsys):
    assert _train(tmp_path / "run") == 0
    records = tmp_path / "run" / "records.csv"
    before = (records.read_bytes(), records.stat().st_mtime_ns)
    capsys.readouterr()
    assert _train(tmp_path / "run") == 0
    assert "nothing to do" in capsys.readouterr().out
    assert (records.read_bytes(), records.stat().st_mtime_ns) == before


def test_other_arguments_over_a_finished_run_are_refused_naming_the_difference(tmp_path, capsys):
    assert _train(tmp_path / "run") == 0
    before = (tmp_path / "run" / "records.csv").read_bytes()
    capsys.readouterr()
    assert _train(tmp_path / "run", "init_seed=7") == 2
    err = capsys.readouterr().err
    assert "init_seed 0 -> 7" in err and "--overwrite" in err and "--out" in err
    assert (tmp_path / "run" / "records.csv").read_bytes() == before


def test_overwrite_replaces_a_run_of_other_arguments(tmp_path):
    assert _train(tmp_path / "run") == 0
    assert _train(tmp_path / "run", "init_seed=7", flags=("--overwrite",)) == 0
    assert _train(tmp_path / "fresh", "init_seed=7") == 0
    got = (tmp_path / "run" / "records.csv").read_bytes()
    assert got == (tmp_path / "fresh" / "records.csv").read_bytes()


def test_groups_of_other_arguments_never_mix(tmp_path, capsys):
    grouped = ["sharing=groups", "m=32", "epochs=1", "dense_last=1"]
    run = tmp_path / "grp"
    assert _train(run, *grouped, flags=("--groups", "0-1")) == 0
    before = (run / "records.csv").read_bytes()
    for groups in ("0-1", "0-2"):
        code = _train(run, *grouped, "init_seed=5", "epochs=2", flags=("--groups", groups))
        assert code == 2 and "init_seed 0 -> 5" in capsys.readouterr().err
    assert (run / "records.csv").read_bytes() == before and not (run / "g002").exists()
    assert _train(run, *grouped, flags=("--groups", "0-2")) == 0  # same config: extends
    assert read_records(run / "records.csv").child.nunique() == 6


def test_train_packed_refuses_other_arguments_and_overwrites_on_request(tmp_path, capsys):
    tpl = str(tmp_path / "s{seed}")
    packed = ["train-packed", "--init-seeds", "0-1", "--out-template", tpl]
    assert main([*packed, *_sets()]) == 0
    before = (tmp_path / "s1" / "records.csv").read_bytes()
    capsys.readouterr()
    assert main([*packed, *_sets("lr=0.05")]) == 2
    assert "lr 0.025 -> 0.05" in capsys.readouterr().err
    assert (tmp_path / "s1" / "records.csv").read_bytes() == before
    assert main([*packed, *_sets()]) == 0 and "nothing to do" in capsys.readouterr().out
    assert main([*packed, *_sets("lr=0.05"), "--overwrite"]) == 0
    assert (tmp_path / "s1" / "records.csv").read_bytes() != before


def test_a_locked_folder_is_refused_naming_its_writer(tmp_path, capsys):
    from nas.run.runfolder import FolderLock

    with FolderLock(tmp_path / "run"):
        assert _train(tmp_path / "run") == 2
        err = capsys.readouterr().err
        assert f"pid {os.getpid()}" in err and "being written" in err
    assert _train(tmp_path / "run") == 0  # released


def test_a_lock_whose_holder_was_killed_is_not_stuck(tmp_path):
    from nas.run.runfolder import FolderLock, RunFolderError

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from nas.run.runfolder import FolderLock\n"
            "with FolderLock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)",
            str(tmp_path / "run"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunFolderError), FolderLock(tmp_path / "run"):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (tmp_path / "run" / ".lock").exists()  # the file stays; the lock does not
    with FolderLock(tmp_path / "run"):
        pass


def test_two_trainers_on_one_folder_one_fails_and_nothing_is_lost(tmp_path):
    def start(seed: int) -> subprocess.Popen:
        args = _sets(f"init_seed={seed}")
        cmd = [sys.executable, "-m", "nas", "train", *args, "--out", str(tmp_path / "run")]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    procs = [start(1), start(2)]
    codes = [p.wait(timeout=300) for p in procs]
    assert sorted(codes) == [0, 2], [p.stderr.read() for p in procs]
    winner = 1 + codes.index(0)
    assert _train(tmp_path / "alone", f"init_seed={winner}") == 0
    got = (tmp_path / "run" / "records.csv").read_bytes()
    assert got == (tmp_path / "alone" / "records.csv").read_bytes()


def test_overwrite_still_resumes_a_run_of_the_same_arguments(tmp_path, capsys):
    """What the workflow relies on: a requeued job (same arguments) resumes its checkpoint,
    while a job whose parameters changed starts afresh."""
    out = tmp_path / "run"

    def stop_after_first_epoch(msg: str) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    cfg = load_config(None, SHORT)
    with pytest.raises(Interrupted):
        run_training(cfg, out, log=stop_after_first_epoch)
    assert (out / "resume.pt").exists()
    capsys.readouterr()
    assert _train(out, flags=("--overwrite",)) == 0
    assert "resumed from" in capsys.readouterr().out
    assert _train(tmp_path / "whole") == 0
    assert (out / "records.csv").read_bytes() == (tmp_path / "whole" / "records.csv").read_bytes()

    with pytest.raises(Interrupted):
        run_training(cfg, tmp_path / "changed", log=stop_after_first_epoch)
    assert _train(tmp_path / "changed", "init_seed=3", flags=("--overwrite",)) == 0
    assert "resumed from" not in capsys.readouterr().out
    assert _train(tmp_path / "seed3", "init_seed=3") == 0
    got = (tmp_path / "changed" / "records.csv").read_bytes()
    assert got == (tmp_path / "seed3" / "records.csv").read_bytes()


@pytest.mark.parametrize("dangling", [False, True])
def test_a_lock_planted_as_a_link_is_refused_and_its_target_untouched(tmp_path, capsys, dangling):
    """A symbolic link at <run>/.lock would make the lock truncate its target (or create it)."""
    victim = tmp_path / "victim.txt"
    if not dangling:
        victim.write_text("precious")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / ".lock").symlink_to(victim)
    assert _train(tmp_path / "run") == 2
    err = capsys.readouterr().err
    assert ".lock is a symbolic link" in err and "nothing was written" in err
    assert victim.read_text() == "precious" if not dangling else not victim.exists()
    assert not (tmp_path / "run" / "records.csv").exists()


@pytest.mark.parametrize("name", [*RUN_FILES, "g000"])
def test_a_link_planted_at_any_file_the_run_writes_is_refused(tmp_path, capsys, name):
    """Each entry a run writes, removes or descends into: planted as a link to a victim,
    the run refuses before any write and the victim keeps its bytes."""
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / name).symlink_to(victim)
    assert _train(tmp_path / "run", flags=("--overwrite",)) == 2
    assert f"{name} is a symbolic link" in capsys.readouterr().err
    assert victim.read_text() == "precious"
    assert not (tmp_path / "run" / "records.csv").is_file() or name == "records.csv"


def test_overwrite_says_what_it_left_alone(tmp_path, capsys):
    assert _train(tmp_path / "run") == 0
    (tmp_path / "run" / "notes.txt").write_text("a user's file")
    capsys.readouterr()
    assert _train(tmp_path / "run", "init_seed=7", flags=("--overwrite",)) == 0
    out = capsys.readouterr().out
    assert "--overwrite" in out and "left alone: notes.txt" in out
    assert (tmp_path / "run" / "notes.txt").read_text() == "a user's file"


def test_overwrite_through_a_linked_snapshots_folder_removes_nothing(tmp_path, capsys):
    assert _train(tmp_path / "run") == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.pt").write_bytes(b"x")
    snapshots = tmp_path / "run" / "snapshots"
    if snapshots.exists():
        import shutil

        shutil.rmtree(snapshots)
    snapshots.symlink_to(elsewhere, target_is_directory=True)
    before = (tmp_path / "run" / "records.csv").read_bytes()
    capsys.readouterr()
    assert _train(tmp_path / "run", "init_seed=7", flags=("--overwrite",)) == 2
    assert "snapshots is a symbolic link" in capsys.readouterr().err
    assert (elsewhere / "keep.pt").read_bytes() == b"x"
    assert (tmp_path / "run" / "records.csv").read_bytes() == before


def test_ctrl_c_saves_the_checkpoint_and_exits_130_without_a_traceback(tmp_path, capsys):
    """SIGINT as a terminal sends it, mid-run: the checkpoint of the current mini-batch is
    kept, and the rerun ends with the records of an uninterrupted run."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "nas", "train", *_sets("epochs=4"), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("epoch 1/"):
            proc.send_signal(signal.SIGINT)
            break
    rest, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "checkpoint saved" in rest and (out / "resume.pt").exists()
    assert _train(out, "epochs=4") == 0
    assert "resumed from" in capsys.readouterr().out
    assert _train(tmp_path / "whole", "epochs=4") == 0
    assert (out / "records.csv").read_bytes() == (tmp_path / "whole" / "records.csv").read_bytes()


def test_a_stale_temp_file_is_removed_on_the_next_start(tmp_path):
    """A kill between a checkpoint's temp write and its rename leaves .resume.pt.<x>.tmp."""
    out = tmp_path / "run"
    out.mkdir()
    stale = [out / ".resume.pt.a1b2c3d4.tmp", out / ".records.csv.zz_9YY8x.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    (out / ".notes.tmp").write_text("a user's file, not one of ours")
    assert _train(out) == 0
    assert not any(p.exists() for p in stale) and (out / ".notes.tmp").exists()


def test_an_out_inside_another_run_folder_is_refused(tmp_path, capsys):
    assert _train(tmp_path / "outer") == 0
    capsys.readouterr()
    assert _train(tmp_path / "outer" / "inner") == 2
    err = capsys.readouterr().err
    assert "inside the run folder" in err and str(tmp_path / "outer") in err
    assert not (tmp_path / "outer" / "inner").exists()
    argv = ["train-packed", *_sets(), "--init-seeds", "0-1"]
    assert main([*argv, "--out-template", str(tmp_path / "outer" / "s{seed}")]) == 2
    assert "inside the run folder" in capsys.readouterr().err
