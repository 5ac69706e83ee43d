"""Shared fixtures: tiny configs that train in seconds on the CPU."""

from __future__ import annotations

import os
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


def toy_workflow(repo: Path, extra: Path, target: str):
    """`snakemake` in a copy of the repository (its own code first on the path) on the
    quick preset, tests/data/tiny.yaml and `extra`, building `target`; returns a runner
    that takes extra arguments (e.g. "-n", "-p") and returns the output, failing the test
    with the output's end when snakemake fails."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    layers = ["--configfile", "config/quick.yaml", "tests/data/tiny.yaml", str(extra)]

    def snakemake(*args: str) -> str:
        out = subprocess.run(
            ["snakemake", *args, *layers, "--cores", "2", target],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
        return out.stdout + out.stderr

    return snakemake
