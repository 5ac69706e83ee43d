"""The datasets a run can name, and their sizes, without loading anything (no torch).

Plans check a config against these before any job runs; nas.run.data loads the images.
"""

from __future__ import annotations

from nas.core import motifs

DATASETS = ("cifar10", "digits", "motifs")
VALIDATIONS = ("test", "holdout")
SIZES = {
    "cifar10": (50000, 10000),
    "digits": (1438, 359),
    "motifs": (motifs.N_TRAIN, motifs.N_TEST),
}  # (train, test) images


def check_name(name: str) -> None:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")


def dataset_sizes(name: str, validation: str = "test", holdout: int = 5000) -> tuple[int, int]:
    """(train, validation) sizes without loading anything: lets plans check before jobs run."""
    check_name(name)
    n_train, n_test = SIZES[name]
    return (n_train - holdout, holdout) if validation == "holdout" else (n_train, n_test)
