"""Shared fixtures: tiny configs that train in seconds on the CPU."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from nas.core.config import RunConfig, validate

ROOT = Path(__file__).resolve().parents[1]


def copy_repo(dst: Path) -> Path:
    """The working tree (tracked and untracked, not ignored files), so the workflow tests
    leave results/ of the real checkout untouched."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)
    (dst / "results").mkdir(exist_ok=True)
    return dst


def tiny_config(**overrides) -> RunConfig:
    """Digits (offline), a narrow network, 2 epochs: seconds on a laptop CPU."""
    values = dict(
        dataset="digits",
        epochs=2,
        batch_size=128,
        stem_channels=8,
        cell_channels=4,
        n_cells=2,
        eval_epochs="all",
        dense_last=3,
        eval_batch_size=512,
        device="cpu",
        threads=1,
    )
    values.update(overrides)
    return validate(RunConfig(**values))


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    yield
