"""A trainer that stops when whatever started it dies (`--die-with-parent`).

A workflow manager killed with SIGKILL cannot stop its jobs, and a trainer left running
keeps a GPU busy and writes into a folder a rerun will use. Snakemake starts each job as
`bash -c "nas train ..."`, so the trainer's parent is that shell, which outlives Snakemake.
So two watches, both sending this process SIGTERM (which nas.run.train turns into "save the
checkpoint and exit"): the kernel's parent-death signal (Linux prctl PR_SET_PDEATHSIG) for
the parent, and a thread that notices the parent being re-parented when the grandparent
dies. Off by default: `nohup nas train ... &` from a login shell must survive the logout.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1


def parent_of(pid: int) -> int | None:
    """The parent pid of `pid` from /proc (None if it is gone or there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # fields after "(comm)": state, ppid


def die_with_parent(poll_s: float = 1.0) -> None:
    """From now on, SIGTERM this process when its parent or grandparent dies (Linux)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    parent = os.getppid()
    grandparent = parent_of(parent)
    if parent == 1:  # already orphaned: nothing to watch
        return
    watch = threading.Thread(
        target=_watch, args=(parent, grandparent, poll_s), name="nas-lifeline", daemon=True
    )
    watch.start()


def _watch(parent: int, grandparent: int | None, poll_s: float) -> None:
    while True:
        time.sleep(poll_s)
        if os.getppid() != parent or parent_of(parent) != grandparent:
            os.kill(os.getpid(), signal.SIGTERM)
            return
