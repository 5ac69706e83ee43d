"""Data sets held as whole tensors on the training device, plus on-device augmentation.

The networks in this study are small, so a per-image PIL pipeline would starve the GPU. Instead
every split is decoded once into a normalised float32 tensor, moved to the device, and
mini-batches are cut and augmented there with batched tensor ops (`augment`).

Two data sets:

* ``cifar10``: the paper's data, read through torchvision's real ``CIFAR10`` reader and
  normalised with the constants of the paper's code base (pt.darts).
* ``digits``: scikit-learn's 8x8 digits, which ship with scikit-learn, so the whole pipeline can
  run offline (tests, smoke runs) without the CIFAR-10 archive.
* ``motifs``: a procedurally generated 12x12 task (``nas.core.motifs``), made from a fixed seed, on
  which the children differ by architecture: the CPU scale model of the study.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nas.core import motifs
from nas.core.datasets import VALIDATIONS, check_name

# pt.darts (the paper's code base) normalises CIFAR-10 with these after ToTensor's /255.
CIFAR10_MEAN = (0.49139968, 0.48215827, 0.44653124)
CIFAR10_STD = (0.24703233, 0.24348505, 0.26158768)

# The fixed digits train/test split: a permutation from this seed, the first fifth is "test".
# Fixed (not `split_seed`) so that the test set is the same in every run, like CIFAR-10's.
DIGITS_TEST_SEED = 12345
DIGITS_TEST_FRACTION = 0.2


@dataclass
class Split:
    """One split: normalised float32 images (N x 3 x H x W) and int64 labels (N)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.labels.ndim != 1:
            raise ValueError(
                f"images must be N x C x H x W and labels N, got {tuple(self.images.shape)} "
                f"and {tuple(self.labels.shape)}"
            )
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def to(self, device: str | torch.device) -> Split:
        """A copy on `device` (the same object's tensors if already there)."""
        return Split(self.images.to(device), self.labels.to(device))

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Dataset:
    """A loaded data set: what training needs to know besides the tensors.

    `pad_fill` is black (pixel value 0) in normalised space, per channel: pass it as
    ``augment(..., fill=data.pad_fill)`` to pad crops as torchvision's RandomCrop did before
    normalisation. ``None`` means pad with 0 in normalised space (the channel mean).
    """

    name: str
    train: Split
    val: Split
    n_classes: int
    image_size: int
    crop_padding: int
    pad_fill: tuple[float, ...] | None = None


def _black(mean: Sequence[float], std: Sequence[float]) -> tuple[float, ...]:
    """Where pixel value 0 lands after normalisation, per channel."""
    return tuple(float((0.0 - m) / s) for m, s in zip(mean, std, strict=True))


def _normalise(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """(x - mean) / std per channel, in place on `x` (N x C x H x W, float32)."""
    m = torch.tensor(mean, dtype=x.dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(1, -1, 1, 1)
    return x.sub_(m).div_(s)


# ----------------------------------------------------------------------------- CIFAR-10


def _cifar10_missing(root: Path) -> list[str]:
    """Files of the extracted archive that are absent under `root` (names from torchvision)."""
    from torchvision.datasets import CIFAR10

    folder = root / CIFAR10.base_folder
    names = [n for n, _ in CIFAR10.train_list + CIFAR10.test_list] + [CIFAR10.meta["filename"]]
    return [n for n in names if not (folder / n).is_file()]


def _cifar10_split(root: Path, train: bool, download: bool) -> Split:
    """One CIFAR-10 split through torchvision's reader, as ToTensor + Normalize would give it.

    We read the reader's ``.data`` (uint8 N x H x W x C) and ``.targets`` in one go instead of
    going through per-image PIL transforms; the result is the same tensor ToTensor() then
    Normalize(CIFAR10_MEAN, CIFAR10_STD) gives image by image.
    """
    from torchvision.datasets import CIFAR10

    if not download:
        missing = _cifar10_missing(root)
        if missing:
            raise FileNotFoundError(
                f"CIFAR-10 is missing under {root} (no {', '.join(missing)} in "
                f"{root / CIFAR10.base_folder}). This machine may have no internet: on a machine "
                f"with internet run `nas download cifar10 --root {root}` and copy {root} here, "
                f"or pass download=True."
            )
    ds = CIFAR10(str(root), train=train, download=download)
    x = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2).float().div_(255.0)
    x = _normalise(x.contiguous(), CIFAR10_MEAN, CIFAR10_STD)
    y = torch.as_tensor(ds.targets, dtype=torch.int64)
    return Split(x, y)


def download_dataset(name: str, root: str | Path) -> Path:
    """Fetch `name` into `root` (needs internet); returns `root`. Behind ``nas download``.

    ``digits`` ships with scikit-learn, so there is nothing to fetch for it.
    """
    check_name(name)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if name == "cifar10":
        from torchvision.datasets import CIFAR10

        CIFAR10(str(root), train=True, download=True)
        CIFAR10(str(root), train=False, download=True)
    return root


def write_fake_cifar10(
    root: str | Path, n_train: int = 100, n_test: int = 50, seed: int = 0
) -> Path:
    """Write a small random archive in the real CIFAR-10 python format; returns its folder.

    For tests and offline smoke runs of the real reader. The layout is the real one
    (``root/cifar-10-batches-py/data_batch_1..5``, ``test_batch``, ``batches.meta``; pickles of
    dicts with str keys ``data`` uint8 N x 3072 in CHW order, ``labels``, ``batch_label``,
    ``filenames``; meta key ``label_names``). The content is fabricated, so torchvision's md5
    check rejects it: whoever reads it must bypass that check (the tests monkeypatch it).
    """
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)

    def batch(path: Path, label: str, n: int) -> None:
        entry = {
            "batch_label": label,
            "labels": [int(v) for v in rng.integers(0, 10, size=n)],
            "data": rng.integers(0, 256, size=(n, 3 * 32 * 32), dtype=np.uint8),
            "filenames": [f"fake_{label.replace(' ', '_')}_{i}.png" for i in range(n)],
        }
        with open(path, "wb") as fh:
            pickle.dump(entry, fh, protocol=2)

    for i, part in enumerate(np.array_split(np.arange(n_train), 5), start=1):
        batch(folder / f"data_batch_{i}", f"training batch {i} of 5", len(part))
    batch(folder / "test_batch", "testing batch 1 of 1", n_test)
    meta = {
        "label_names": [f"class_{i}" for i in range(10)],
        "num_cases_per_batch": max(1, n_train // 5),
        "num_vis": 3 * 32 * 32,
    }
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump(meta, fh, protocol=2)
    return folder


# ----------------------------------------------------------------------------- digits


def _digits_splits() -> tuple[Split, Split, tuple[float, ...], tuple[float, ...]]:
    """Fixed train/test splits of sklearn's digits, scaled to [0, 1] and made 3-channel.

    Normalised by the per-channel mean/std of the whole training split (population std), as
    the CIFAR-10 constants are statistics of its whole training set; a holdout is carved out
    afterwards and does not change them. Returns (train, test, mean, std).
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.from_numpy(digits.images.astype(np.float32) / 16.0)  # N x 8 x 8, values 0..16
    x = x.unsqueeze(1).repeat(1, 3, 1, 1).contiguous()
    y = torch.from_numpy(digits.target.astype(np.int64))
    perm = np.random.default_rng(DIGITS_TEST_SEED).permutation(len(y))
    n_test = round(DIGITS_TEST_FRACTION * len(y))
    test_idx = torch.from_numpy(np.sort(perm[:n_test]))
    train_idx = torch.from_numpy(np.sort(perm[n_test:]))
    return _normalised_splits(x[train_idx], y[train_idx], x[test_idx], y[test_idx])


def _normalised_splits(
    x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor
) -> tuple[Split, Split, tuple[float, ...], tuple[float, ...]]:
    """Both splits normalised in place by the training split's channel mean and population
    std. Returns (train, test, mean, std)."""
    mean = tuple(float(v) for v in x_train.mean(dim=(0, 2, 3)))
    std = tuple(float(v) for v in x_train.std(dim=(0, 2, 3), unbiased=False))
    train = Split(_normalise(x_train, mean, std), y_train)
    test = Split(_normalise(x_test, mean, std), y_test)
    return train, test, mean, std


def _motifs_splits() -> tuple[Split, Split, tuple[float, ...], tuple[float, ...]]:
    """The motifs task's fixed splits, normalised by the training split's channel statistics
    (as digits and CIFAR-10). Returns (train, test, mean, std)."""
    arrays = motifs.make_motifs()
    return _normalised_splits(*(torch.tensor(a) for a in arrays))  # copies: the cache stays


# ----------------------------------------------------------------------------- loading


def _holdout(train: Split, holdout: int, split_seed: int) -> tuple[Split, Split]:
    """Hold out `holdout` training images (chosen by a permutation from `split_seed`)."""
    if not 1 <= holdout < len(train):
        raise ValueError(
            f"holdout must be in [1, {len(train) - 1}] for a training split of {len(train)} "
            f"images, got {holdout}"
        )
    perm = np.random.default_rng(split_seed).permutation(len(train))
    val_idx = torch.from_numpy(np.sort(perm[:holdout]))
    rest_idx = torch.from_numpy(np.sort(perm[holdout:]))
    return (
        Split(train.images[rest_idx], train.labels[rest_idx]),
        Split(train.images[val_idx], train.labels[val_idx]),
    )


def load_dataset(
    name: str,
    root: str | Path,
    validation: str = "test",
    holdout: int = 5000,
    split_seed: int = 0,
    download: bool = False,
    device: str | torch.device = "cpu",
) -> Dataset:
    """Load `name` with its validation split, both on `device`.

    validation="test" (the paper's choice) validates on the test set; "holdout" validates on
    `holdout` images held out of the training set (chosen from `split_seed`) and trains on the
    rest, for model selection that never sees the test set.
    """
    check_name(name)
    if validation not in VALIDATIONS:
        raise ValueError(f"unknown validation {validation!r}; valid: {', '.join(VALIDATIONS)}")
    root = Path(root)
    if name == "cifar10":
        train = _cifar10_split(root, train=True, download=download)
        test = _cifar10_split(root, train=False, download=download)
        n_classes, image_size, crop_padding = 10, 32, 4
        fill = _black(CIFAR10_MEAN, CIFAR10_STD)
    elif name == "motifs":
        train, test, mean, std = _motifs_splits()
        n_classes, image_size, crop_padding = motifs.N_CLASSES, motifs.IMAGE_SIZE, 1
        fill = None  # the images are noise around zero: pad with the mean, not "black"
    else:
        train, test, mean, std = _digits_splits()
        n_classes, image_size, crop_padding = 10, 8, 1
        fill = _black(mean, std)
    val = test
    if validation == "holdout":
        train, val = _holdout(train, holdout, split_seed)
    return Dataset(
        name=name,
        train=train.to(device),
        val=val.to(device),
        n_classes=n_classes,
        image_size=image_size,
        crop_padding=crop_padding,
        pad_fill=fill,
    )


# ----------------------------------------------------------------------------- augmentation


def augment(
    images: torch.Tensor,
    padding: int,
    generator: torch.Generator,
    fill: float | Sequence[float] | torch.Tensor | None = None,
) -> torch.Tensor:
    """Random crop with padding, then random horizontal flip (p=0.5), per image, batched.

    The same as torchvision's RandomCrop(size, padding) + RandomHorizontalFlip() applied image
    by image, but as a few tensor ops on the images' device, with no loop over images.

    Randomness: top/left offsets in [0, 2 * padding] then one flip draw per image, all drawn
    from `generator` (on its own device, normally CPU) and then moved to the images' device,
    so the result depends only on the generator's state, not on the device.

    Padding value: the images are already normalised, while torchvision pads the raw image
    with 0 (black). To be faithful pass ``fill=dataset.pad_fill`` (black in normalised space,
    per channel: (0 - mean) / std). ``fill=None`` pads with 0 in normalised space, i.e. with
    the channel mean, not with black.
    """
    if images.ndim != 4:
        raise ValueError(f"images must be N x C x H x W, got {tuple(images.shape)}")
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    n, c, h, w = images.shape
    dev = images.device
    offsets = torch.randint(
        0, 2 * padding + 1, (2, n), generator=generator, device=generator.device
    ).to(dev)
    flips = (torch.rand(n, generator=generator, device=generator.device) < 0.5).to(dev)

    p = padding
    padded = images.new_zeros((n, c, h + 2 * p, w + 2 * p))
    if fill is not None:
        padded += torch.as_tensor(fill, dtype=images.dtype, device=dev).reshape(-1, 1, 1)
    padded[:, :, p : p + h, p : p + w] = images

    rows = offsets[0, :, None] + torch.arange(h, device=dev)  # n x h
    cols = offsets[1, :, None] + torch.arange(w, device=dev)  # n x w
    cols = torch.where(flips[:, None], cols.flip(1), cols)  # a flipped crop reads columns R->L
    batch = torch.arange(n, device=dev)[:, None, None, None]
    chan = torch.arange(c, device=dev)[None, :, None, None]
    return padded[batch, chan, rows[:, None, :, None], cols[:, None, None, :]]
