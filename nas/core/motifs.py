"""`motifs`: a procedurally generated image task for the CPU scale model of the study.

Why not digits: on scikit-learn's digits the children trained alone ranked each other almost
at random (ground-truth S-Tau 0.2 in the old quick preset): its 359 test images resolve
accuracy to 0.28 points, horizontal flips (the paper's augmentation) change a digit's meaning,
and global average pooling loses where the strokes are. A scale model needs a task on which
the *architecture* decides the accuracy, and a test split large enough to see it.

The task: each class is one random pattern (a *motif*, 7 x 7 pixels, 18 of them lit, the same
number for every motif so brightness says nothing). An image holds two copies of its class's
motif at random places, with random strength and colour, over coloured noise, plus one
*distractor* motif from a bank that no class owns. A 7 x 7 shape is wider than the stem's
receptive field (5 x 5), so the cells must see it: the separable and dilated convolutions
(receptive fields 5 to 9) can, max pooling (3 x 3, no weights) cannot, and children rank by
how much of each they have. Classes depend on shape only (colour, position and strength are
drawn independently of the class). Horizontal flips keep the task the same (a flipped motif is
one more pattern to learn).

Everything is drawn from `seed` with numpy's default_rng: the same seed gives bit-identical
splits on every machine. Train and test images come from disjoint random streams.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

N_CLASSES = 10
IMAGE_SIZE = 12
MOTIF_SIZE = 7
LIT = 18  # lit pixels per motif
N_TRAIN = 4000
N_TEST = 5000
N_DISTRACTORS = 6
SEED = 2020  # the paper's year; any fixed seed would do
NOISE = 0.3  # std of the per-pixel noise, relative to a motif's strength of about 1


def motif_bank(n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` distinct random binary 5 x 5 motifs of LIT pixels each (n x 5 x 5).

    Every motif has the same number of lit pixels, so brightness says nothing about the
    class: only the shape does (with 8-14 pixels, max-pooling children learnt brightness and
    ranked first, the opposite of the paper's CIFAR-10)."""
    out: list[np.ndarray] = []
    cells = MOTIF_SIZE * MOTIF_SIZE
    while len(out) < n:
        m = np.zeros(cells, dtype=np.float32)
        m[rng.choice(cells, size=LIT, replace=False)] = 1.0
        m = m.reshape(MOTIF_SIZE, MOTIF_SIZE)
        if not any(np.array_equal(m, o) for o in out):
            out.append(m)
    return np.stack(out)


def _stamp(img: np.ndarray, motif: np.ndarray, rng: np.random.Generator) -> None:
    """Add `motif` at a random place, with a random strength and colour, to img (3 x H x W)."""
    y, x = rng.integers(0, IMAGE_SIZE - MOTIF_SIZE + 1, size=2)
    colour = rng.uniform(0.4, 1.0, size=3) * rng.uniform(0.7, 1.3)
    img[:, y : y + MOTIF_SIZE, x : x + MOTIF_SIZE] += colour[:, None, None] * motif


def _images(
    n: int, classes: np.ndarray, distractors: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`n` images (n x 3 x H x W float32) with balanced labels in a random order."""
    labels = rng.permutation(np.arange(n) % len(classes)).astype(np.int64)
    size = (3, IMAGE_SIZE, IMAGE_SIZE)
    images = np.empty((n, *size), dtype=np.float32)
    for i, label in enumerate(labels):
        img = rng.normal(0.0, NOISE, size=size).astype(np.float32)
        img += rng.uniform(-0.5, 0.5, size=(3, 1, 1)).astype(np.float32)  # a colour cast
        for _ in range(2):
            _stamp(img, classes[label], rng)
        _stamp(img, distractors[rng.integers(len(distractors))], rng)
        images[i] = img
    return images, labels


@lru_cache(maxsize=2)
def make_motifs(seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels), unnormalised, from `seed`.

    Cached: a job that trains many groups generates the task once. Callers must not modify
    the arrays (copy them first)."""
    root = np.random.SeedSequence(seed)
    bank_rng, train_rng, test_rng = (np.random.default_rng(s) for s in root.spawn(3))
    bank = motif_bank(N_CLASSES + N_DISTRACTORS, bank_rng)
    classes, distractors = bank[:N_CLASSES], bank[N_CLASSES:]
    x_train, y_train = _images(N_TRAIN, classes, distractors, train_rng)
    x_test, y_test = _images(N_TEST, classes, distractors, test_rng)
    return x_train, y_train, x_test, y_test
