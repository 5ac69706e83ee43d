"""A run folder: what made it, who writes it, and whether new arguments may use it.

Before training, a run writes config.json into its folder: the run config that made it
(for a packed run, each member folder gets its member's). Rerunning into a folder with
other arguments is refused with what differs, unless `overwrite` (then the run's own files
are removed and it starts fresh); the same arguments resume an unfinished run and leave a
finished one alone. One writer per folder: an flock on <folder>/.lock, which the kernel
releases when its holder dies, so a crashed or killed trainer never leaves it stuck.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from nas.core.config import ConfigError
from nas.core.records import write_json

IDENTITY = "config.json"
LOCK = ".lock"
GROUP_FOLDERS = "g[0-9][0-9][0-9]"  # the groups of a --groups run, one folder each
# Everything a run writes into its folder (g<NNN>: the groups of a --groups run).
RUN_FILES = (
    "records.csv",
    "run.json",
    IDENTITY,
    "resume.pt",
    "resume_packed.pt",
    "snapshots",
    "telemetry.csv",
)


class RunFolderError(ConfigError):
    """The folder cannot take this run (other arguments, another writer, not writable)."""


def check_writable(path: str | Path, what: str = "--out") -> None:
    """Fail now, not after an epoch, if `path` (a folder, made if missing) cannot be
    written: a file in the way, or a read-only or foreign folder. Creates nothing."""
    path = Path(path).absolute()
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise RunFolderError(f"{what} {path}: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise RunFolderError(f"{what} {path}: cannot write in {existing} ({err.strerror})") from err


def recorded_config(folder: Path) -> dict[str, Any] | None:
    """The config that made the run in `folder` (config.json, or a finished run's run.json
    from before config.json existed); None for a new folder."""
    for name in (IDENTITY, "run.json"):
        path = folder / name
        if path.exists():
            try:
                config = json.loads(path.read_text())["config"]
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
                raise RunFolderError(
                    f"{path}: damaged ({type(err).__name__}: {str(err)[:80]}), so the run it "
                    f"belongs to is unknown; --overwrite replaces that run, or delete {folder}"
                ) from None
            if not isinstance(config, dict):
                raise RunFolderError(
                    f"{path}: damaged (its config is not a mapping); "
                    f"--overwrite replaces that run, or delete {folder}"
                )
            return config
    return None


def differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    return ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in keys)


def is_finished(folder: Path) -> bool:
    return (folder / "records.csv").exists() and (folder / "run.json").exists()


def check_folder(folder: str | Path, config: dict[str, Any], overwrite: bool) -> bool:
    """Whether `folder` already holds this finished run. Raises RunFolderError if it holds
    a run of another config, unless `overwrite`. Reads only."""
    folder = Path(folder)
    try:
        old = recorded_config(folder)
    except RunFolderError:
        if overwrite:  # a damaged identity: the run is replaced like one of other arguments
            return False
        raise
    if old is None or old == config:
        return old is not None and is_finished(folder)
    if overwrite:
        return False
    raise RunFolderError(
        f"{folder} holds a run of other arguments ({differences(old, config)}); choose "
        "another --out, or pass --overwrite to replace it"
    )


def check_no_links(folder: Path) -> None:
    """Refuse a run folder whose managed entries are symbolic links: writing, truncating or
    removing through one would touch a file the run did not make (anyone who can write into
    a shared results folder could plant one)."""
    managed = [folder / LOCK, *(folder / n for n in RUN_FILES), *folder.glob(GROUP_FOLDERS)]
    links = [str(p) for p in managed if p.is_symlink()]
    if links:
        raise RunFolderError(
            f"{folder}: {', '.join(links)} is a symbolic link; the run writes only what it "
            "made, so nothing was written or removed: remove the link, or choose another --out"
        )


def claim(folder: str | Path, config: dict[str, Any], overwrite: bool, log=print) -> bool:
    """Under the folder's lock: check it (see check_folder), clear a run of another config
    when `overwrite` (saying what it left alone), and record this config. Returns whether
    the run is already finished."""
    folder = Path(folder)
    check_no_links(folder)
    remove_stale_temps(folder)
    if check_folder(folder, config, overwrite):
        return True
    try:
        replace = recorded_config(folder) not in (None, config)
    except RunFolderError:  # damaged, and check_folder let it pass: --overwrite
        replace = True
    if replace:
        clear(folder)
        left = sorted(p.name for p in folder.iterdir() if p.name != LOCK)
        kept = f"; left alone: {', '.join(left[:10])}{' ...' if len(left) > 10 else ''}"
        log(f"--overwrite: removed the run in {folder}" + (kept if left else ""))
    write_json(folder / IDENTITY, {"config": config})
    return False


# nas.core.records.atomic_write_bytes's temp files: ".<name>.<mkstemp's 8 characters>.tmp"
_TEMP = re.compile(r"\.(.+)\.[A-Za-z0-9_]{8}\.tmp")


def remove_stale_temps(folder: Path) -> list[Path]:
    """Under the folder's lock, no write of ours is under way: a temp file left beside a run
    file (a kill between its write and its rename) is stale. Removes only those, in the
    folder, its snapshots and its groups' folders, and never through a link."""
    places = [folder, folder / "snapshots", *folder.glob(GROUP_FOLDERS)]
    stale = [
        p
        for place in places
        if place.is_dir() and not place.is_symlink()
        for p in place.iterdir()
        if _TEMP.fullmatch(p.name) and p.is_file() and not p.is_symlink()
    ]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def enclosing_run(folder: Path) -> Path | None:
    """The run folder (its lock and its config.json or run.json) that holds `folder`, if
    any: a run inside another would be deleted by that run's --overwrite, or mix its files."""
    for parent in Path(folder).resolve().parents:
        ours = (parent / IDENTITY).is_file() or (parent / "run.json").is_file()
        if ours and (parent / LOCK).exists():
            return parent
    return None


def clear(folder: Path) -> None:
    """Remove the run's own files (never anything else a user put in the folder)."""
    for path in [*(folder / n for n in RUN_FILES), *folder.glob(GROUP_FOLDERS)]:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


class FolderLock:
    """Exclusive use of a run folder while training writes it (made if missing)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        check_no_links(self.folder)
        try:  # O_NOFOLLOW: a link planted after the check is refused too, never followed
            fd = os.open(self.folder / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        except OSError as err:
            raise RunFolderError(f"{self.folder / LOCK}: cannot open ({err.strerror})") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise RunFolderError(
                f"{self.folder} is being written by {holder}; wait for it to finish, or "
                "choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"nas pid {os.getpid()} on {platform.node()}".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
