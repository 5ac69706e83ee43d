"""Shared fixtures: tiny configs that train in seconds on the CPU."""

from __future__ import annotations

import pytest
import torch

from nas.config import RunConfig, validate


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
