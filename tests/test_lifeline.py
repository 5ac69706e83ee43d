"""A trainer started as a workflow job (`bash -c "nas train ..."`) stops, saving its
checkpoint, when the workflow manager is killed with SIGKILL."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.test_train import TINY

# What Snakemake does: a shell per job, which waits for the trainer.
MANAGER = """
import subprocess, sys
job = subprocess.Popen(["bash", "-c", "set -euo pipefail; " + sys.argv[1]])
print(job.pid, flush=True)
job.wait()
"""


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat fields after "(comm)": state, ppid, ... ([] once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _alive(pid: int) -> bool:
    return _stat(pid)[:1] not in ([], ["Z"])


def _wait_for(cond, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.2)
    return False


def _children(pid: int) -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _stat(int(p))[1:2] == [str(pid)]]


def test_trainer_stops_when_the_workflow_manager_is_killed(tmp_path):
    out, log = tmp_path / "run", tmp_path / "train.log"
    sets = [a for kv in [*TINY, "epochs=400"] for a in ("--set", kv)]
    train = [sys.executable, "-m", "nas", "train", *sets, "--out", str(out), "--die-with-parent"]
    cmd = f"{shlex.join(train)} > {shlex.quote(str(log))} 2>&1"
    manager = subprocess.Popen(
        [sys.executable, "-c", MANAGER, cmd], stdout=subprocess.PIPE, text=True
    )
    shell = int(manager.stdout.readline())
    trainer = None
    try:
        assert _wait_for(lambda: "epoch 1/" in _text(log), 120), _text(log)
        (trainer,) = _children(shell)
        manager.send_signal(signal.SIGKILL)
        manager.wait()
        assert _wait_for(lambda: not _alive(trainer), 60), "the trainer outlived its manager"
        assert "checkpoint saved" in _text(log) and (out / "resume.pt").exists()
    finally:
        for pid in (trainer, shell):
            if pid and _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if manager.poll() is None:
            manager.kill()


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""
