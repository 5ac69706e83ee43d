"""Checkpoint and snapshot files: written atomically, read without running any code.

Snapshots are files researchers share, and a resume file can be left in a run folder by
anyone; unpickling them in full would let such a file run code. So every file is read with
`torch.load(weights_only=True)`, which accepts only tensors and plain types (dict, list,
tuple, str, int, float, bool, None), and everything nas stores is of those types: records
are stored as tuples, not as `Record` objects.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import astuple
from pathlib import Path
from typing import Any

import torch

from nas.core.records import Record, atomic_write_bytes


class CheckpointError(ValueError):
    """A checkpoint or snapshot that cannot be read safely; the message names the file."""


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write `state` (tensors and plain types only) to `path` atomically."""
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The state saved at `path`, on the CPU. Refuses anything but tensors and plain types
    (so no code runs) and names the file when it is corrupt, truncated or not a checkpoint."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise  # missing or unreadable: the caller's message is the right one
    except OSError as err:  # e.g. EINVAL from a truncated file's zip index
        raise CheckpointError(
            f"{path}: damaged or truncated ({_reason(err)}); if it is a resume file, delete "
            "it to start the run afresh"
        ) from err
    except Exception as err:  # torch raises many kinds on a file it cannot read
        raise CheckpointError(
            f"{path}: not a checkpoint nas can read safely ({_reason(err)}); if it is a "
            "resume file, delete it to start the run afresh"
        ) from err
    if not isinstance(state, dict) or "config" not in state:
        raise CheckpointError(f"{path}: not a nas checkpoint (no config in it)")
    return state


def discard_foreign(path: Path, is_ours: Callable[[dict[str, Any]], bool], log) -> None:
    """For --overwrite: remove the checkpoint at `path` unless it is readable and `is_ours`
    (written for these arguments), so the run starts afresh instead of stopping. It is never
    unpickled in full, so a hostile or old-format file (records as objects) is just dropped."""
    if not path.exists():
        return
    try:
        ours = is_ours(load_checkpoint(path))
    except CheckpointError as err:
        log(f"--overwrite: dropping unreadable {path} ({err})")
        ours = False
    if not ours:
        path.unlink()


def _reason(err: Exception) -> str:
    """The informative line of torch's (long) loading error."""
    text = str(err)
    found = re.search(r"WeightsUnpickler error: ([^.\n]*)", text)
    if found:
        return found.group(1).strip()
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(err).__name__}: {first[:160]}" if first else type(err).__name__


def records_to_rows(records: list[Record]) -> list[tuple]:
    """Records as plain tuples, the form a checkpoint stores them in."""
    return [astuple(r) for r in records]


def rows_to_records(rows: list) -> list[Record]:
    return [Record(*row) for row in rows]
