"""Tests of nas.run.data: loading (offline digits, fabricated CIFAR-10 archive) and augmentation."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from nas.core.datasets import DATASETS
from nas.run.data import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    Split,
    augment,
    load_dataset,
    write_fake_cifar10,
)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "unused-root")


# ----------------------------------------------------------------------------- digits


def test_digits_loads_offline_with_right_shapes(digits):
    assert digits.name == "digits"
    assert (digits.n_classes, digits.image_size, digits.crop_padding) == (10, 8, 1)
    assert len(digits.train) + len(digits.val) == 1797
    assert len(digits.val) == round(0.2 * 1797)
    for split in (digits.train, digits.val):
        assert split.images.shape[1:] == (3, 8, 8)
        assert split.images.dtype == torch.float32
        assert split.labels.dtype == torch.int64
        assert set(split.labels.tolist()) == set(range(10))
    # the grayscale image is replicated to all three channels
    assert torch.equal(digits.train.images[:, 0], digits.train.images[:, 2])


def test_digits_normalised_by_train_statistics(digits):
    x = digits.train.images
    torch.testing.assert_close(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        x.std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-5, rtol=0
    )
    # black (raw 0) is the minimum value, and pad_fill is exactly that value
    assert digits.pad_fill is not None
    torch.testing.assert_close(x.amin(dim=(0, 2, 3)), torch.tensor(digits.pad_fill))


def test_digits_split_is_fixed(digits):
    again = load_dataset("digits", "unused-root", split_seed=7)  # split_seed: holdout only
    assert torch.equal(again.val.images, digits.val.images)
    assert torch.equal(again.train.labels, digits.train.labels)


def test_holdout_sizes_disjoint_and_deterministic(digits):
    a = load_dataset("digits", "r", validation="holdout", holdout=200, split_seed=3)
    b = load_dataset("digits", "r", validation="holdout", holdout=200, split_seed=3)
    c = load_dataset("digits", "r", validation="holdout", holdout=200, split_seed=4)
    assert (len(a.train), len(a.val)) == (len(digits.train) - 200, 200)
    assert torch.equal(a.val.images, b.val.images) and torch.equal(a.train.labels, b.train.labels)
    assert not torch.equal(a.val.images, c.val.images)
    # train and holdout partition the training split, and the test set is not used
    full = {tuple(r.tolist()) for r in digits.train.images.flatten(1)}
    held = [tuple(r.tolist()) for r in a.val.images.flatten(1)]
    rest = [tuple(r.tolist()) for r in a.train.images.flatten(1)]
    assert set(held) <= full and set(rest) <= full
    assert sorted(held + rest) == sorted(tuple(r.tolist()) for r in digits.train.images.flatten(1))


@pytest.mark.parametrize("holdout", [0, -1, 1438, 5000])
def test_holdout_out_of_range(holdout):
    with pytest.raises(ValueError, match="holdout"):
        load_dataset("digits", "r", validation="holdout", holdout=holdout)


def test_device_argument_places_both_splits():
    d = load_dataset("digits", "r", device=torch.device("cpu"))
    assert d.train.images.device.type == "cpu" and d.val.labels.device.type == "cpu"
    moved = d.train.to("cpu")
    assert isinstance(moved, Split) and len(moved) == len(d.train)


# ----------------------------------------------------------------------------- errors


def test_unknown_dataset_names_it_and_valid_ones():
    with pytest.raises(ValueError, match="imagenet") as err:
        load_dataset("imagenet", "r")
    for name in DATASETS:
        assert name in str(err.value)


def test_unknown_validation():
    with pytest.raises(ValueError, match="valid"):
        load_dataset("digits", "r", validation="train")


def test_missing_cifar10_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_dataset("cifar10", tmp_path)
    msg = str(err.value)
    assert "nas download cifar10 --root" in msg and str(tmp_path) in msg


# ----------------------------------------------------------------------------- fabricated CIFAR-10


@pytest.fixture
def no_md5(monkeypatch):
    """Let torchvision accept the fabricated archive: skip its md5 check, nothing else.

    torchvision's CIFAR10 checks each file (and batches.meta) against the md5 of the real
    archive via `check_integrity`; fabricated content cannot pass that. Only here, in tests, we
    replace it with "the file exists", so everything the production path does (torchvision's
    pickle reading, .data/.targets, our conversion and normalisation) runs unchanged.
    """
    import torchvision.datasets.cifar as cifar

    real = cifar.check_integrity
    monkeypatch.setattr(cifar, "check_integrity", lambda fpath, md5=None: real(fpath, None))


def _read_written(folder, names):
    data, labels = [], []
    for name in names:
        with open(folder / name, "rb") as fh:
            entry = pickle.load(fh, encoding="latin1")
        data.append(entry["data"])
        labels += entry["labels"]
    return np.concatenate(data), labels


def test_fake_cifar10_round_trip(tmp_path, no_md5):
    folder = write_fake_cifar10(tmp_path, n_train=23, n_test=7, seed=1)
    d = load_dataset("cifar10", tmp_path)
    assert (d.n_classes, d.image_size, d.crop_padding) == (10, 32, 4)
    assert (len(d.train), len(d.val)) == (23, 7)

    mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    for split, names in (
        (d.train, [f"data_batch_{i}" for i in range(1, 6)]),
        (d.val, ["test_batch"]),
    ):
        raw, labels = _read_written(folder, names)
        # the pickle rows are CHW-flattened uint8, i.e. the exact pixels ToTensor would see
        pixels = torch.from_numpy(raw).view(-1, 3, 32, 32).float() / 255
        torch.testing.assert_close(split.images, (pixels - mean) / std)
        assert split.labels.tolist() == labels
    torch.testing.assert_close(torch.tensor(d.pad_fill), (-mean / std).flatten(), atol=1e-6, rtol=0)


def test_fake_cifar10_matches_torchvision_transforms(tmp_path, no_md5):
    """Our batched decoding equals the per-image ToTensor + Normalize pipeline of pt.darts."""
    from torchvision import transforms
    from torchvision.datasets import CIFAR10

    write_fake_cifar10(tmp_path, n_train=10, n_test=5, seed=2)
    d = load_dataset("cifar10", tmp_path)
    tf = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize(CIFAR10_MEAN, CIFAR10_STD)]
    )
    ref = CIFAR10(str(tmp_path), train=False, transform=tf)
    expected = torch.stack([ref[i][0] for i in range(len(ref))])
    torch.testing.assert_close(d.val.images, expected)


def test_fake_cifar10_holdout(tmp_path, no_md5):
    write_fake_cifar10(tmp_path, n_train=30, n_test=5)
    d = load_dataset("cifar10", tmp_path, validation="holdout", holdout=10, split_seed=0)
    assert (len(d.train), len(d.val)) == (20, 10)


# ----------------------------------------------------------------------------- augment


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _reference_augment(images, padding, generator, fill=None):
    """Naive per-image crop-then-flip with the same draws as `augment`."""
    n, c, h, w = images.shape
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5
    fill_t = torch.zeros(c) if fill is None else torch.as_tensor(fill, dtype=images.dtype)
    out = []
    for i in range(n):
        canvas = fill_t.view(c, 1, 1).repeat(1, h + 2 * padding, w + 2 * padding)
        canvas[:, padding : padding + h, padding : padding + w] = images[i]
        top, left = int(offsets[0, i]), int(offsets[1, i])
        crop = canvas[:, top : top + h, left : left + w]
        out.append(crop.flip(-1) if flips[i] else crop)
    return torch.stack(out), flips


@pytest.fixture
def batch():
    return torch.randn(16, 3, 6, 5, generator=_gen(42))


def test_augment_deterministic_and_shape(batch):
    a = augment(batch, 2, _gen(1))
    assert a.shape == batch.shape and a.dtype == batch.dtype
    assert torch.equal(a, augment(batch, 2, _gen(1)))
    assert not torch.equal(a, augment(batch, 2, _gen(2)))


@pytest.mark.parametrize("fill", [None, (-1.5, 0.25, 2.0)])
@pytest.mark.parametrize("padding", [1, 2, 4])
def test_augment_matches_naive_reference(batch, padding, fill):
    out = augment(batch, padding, _gen(5), fill=fill)
    ref, _ = _reference_augment(batch, padding, _gen(5), fill=fill)
    assert torch.equal(out, ref)


def test_augment_padding_zero_is_identity_up_to_flips(batch):
    out = augment(batch, 0, _gen(3))
    _, flips = _reference_augment(batch, 0, _gen(3))
    assert 0 < int(flips.sum()) < len(batch)  # both branches exercised
    assert torch.equal(out[~flips], batch[~flips])
    assert torch.equal(out[flips], torch.flip(batch[flips], dims=[-1]))


def test_augment_pads_with_fill(batch):
    # a huge padding forces some crops into the padding: their border takes the fill value
    fill = (7.0, 8.0, 9.0)
    out = augment(batch, 6, _gen(0), fill=fill)
    for ch, v in enumerate(fill):
        assert (out[:, ch] == v).any()
    assert (augment(batch, 6, _gen(0)) == 0).any()  # fill=None pads with 0 (normalised space)


def test_augment_rejects_bad_input(batch):
    with pytest.raises(ValueError):
        augment(batch[0], 1, _gen())
    with pytest.raises(ValueError):
        augment(batch, -1, _gen())


# ----------------------------------------------------------------------------- motifs


def test_motifs_are_made_deterministically_from_their_seed():
    from nas.core import motifs

    a = motifs.make_motifs(7)
    b = motifs.make_motifs.__wrapped__(7)  # bypass the cache: really generated again
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], motifs.make_motifs.__wrapped__(8)[0])


def test_motifs_load_balanced_with_the_declared_sizes():
    from nas.core import motifs
    from nas.core.datasets import dataset_sizes

    data = load_dataset("motifs", "unused-root")
    size = motifs.IMAGE_SIZE
    assert data.train.images.shape == (motifs.N_TRAIN, 3, size, size)
    assert (len(data.train), len(data.val)) == dataset_sizes("motifs")
    assert data.train.labels.bincount().tolist() == [motifs.N_TRAIN // 10] * 10
    assert data.val.labels.bincount().tolist() == [motifs.N_TEST // 10] * 10
    # normalised by the training split's statistics
    assert abs(float(data.train.images.mean())) < 1e-4
    assert float(data.train.images.std()) == pytest.approx(1.0, abs=1e-3)
    # loading twice gives equal tensors (the cached arrays were not normalised in place)
    again = load_dataset("motifs", "unused-root")
    assert torch.equal(again.train.images, data.train.images)


def test_motif_bank_holds_distinct_shapes_of_equal_brightness():
    from nas.core import motifs

    bank = motifs.motif_bank(16, np.random.default_rng(0))
    assert bank.shape == (16, motifs.MOTIF_SIZE, motifs.MOTIF_SIZE)
    assert set(bank.reshape(16, -1).sum(axis=1).tolist()) == {float(motifs.LIT)}
    assert len({m.tobytes() for m in bank}) == 16
