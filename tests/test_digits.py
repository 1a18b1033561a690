"""The digits data set: scikit-learn's 8x8 digits converted once into CIFAR-10's batch layout.

Every expectation is computed here from ``sklearn.datasets.load_digits()`` itself.
"""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

import landscape
from landscape import data, digits
from landscape.cli import main
from landscape.errors import LandscapeError
from landscape.train import TrainConfig, train


@pytest.fixture(autouse=True)
def _fresh_cache():
    data._load_cached.cache_clear()
    yield
    data._load_cached.cache_clear()


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    data.prepare_digits(root)
    return root


@pytest.fixture(scope="module")
def sklearn_digits():
    bunch = load_digits()
    return bunch.images, bunch.target


def test_splits_are_stratified_80_20_with_fixed_counts(digits_dir, sklearn_digits):
    train, test = data.load("digits", "train", digits_dir), data.load("digits", "test", digits_dir)
    assert (len(train), len(test)) == (1437, 360)
    assert (data.split_size("digits", "train"), data.split_size("digits", "test")) == (1437, 360)
    assert train.images.shape == (1437, 3, 32, 32) and train.images.dtype == torch.uint8
    per_class = np.bincount(sklearn_digits[1], minlength=10)
    test_counts = torch.bincount(test.labels, minlength=10).numpy()
    np.testing.assert_array_equal(test_counts, np.full(10, 36))
    np.testing.assert_array_equal(torch.bincount(train.labels, minlength=10).numpy(),
                                  per_class - 36)
    # a class-balanced 80/20 split: every class within 1 point of 20 % in the test split
    assert np.all(np.abs(test_counts / per_class - 0.2) < 0.01)
    # stored shuffled: the first 100 training images hold every class
    assert len(set(train.labels[:100].tolist())) == 10


def test_images_are_the_digits_themselves(digits_dir, sklearn_digits):
    images8, target = sklearn_digits
    train_rows, test_rows = digits.split_indices(target)
    assert sorted([*train_rows, *test_rows]) == list(range(len(target)))  # a partition
    for split, rows in (("train", train_rows), ("test", test_rows)):
        s = data.load("digits", split, digits_dir)
        x = s.images.numpy().astype(np.int64)
        # grey: three equal channels; nearest-neighbour 4x: every 4 x 4 block is one value
        assert (x == x[:, :1]).all()
        blocks = x[:, 0].reshape(len(x), 8, 4, 8, 4)
        assert (blocks == blocks[:, :, :1, :, :1]).all()
        small = x[:, 0, ::4, ::4]
        np.testing.assert_array_equal(small, (images8[rows].astype(np.int64) * 255 + 8) // 16)
        np.testing.assert_array_equal((small * 16 + 127) // 255, images8[rows])  # invertible
        np.testing.assert_array_equal(s.labels.numpy(), target[rows])


def test_value_map_spans_0_to_255_exactly():
    levels = digits.to_uint8(np.arange(17))
    assert levels[0] == 0 and levels[-1] == 255 and (np.diff(levels.astype(int)) > 0).all()


def test_normalization_constants_are_the_training_splits_own(digits_dir):
    x = data.load("digits", "train", digits_dir).images.double() / 255
    mean = x.mean(dim=(0, 2, 3))
    std = x.permute(1, 0, 2, 3).flatten(1).std(dim=1, unbiased=False)
    np.testing.assert_allclose(digits.MEAN, mean.numpy(), atol=5e-7)
    np.testing.assert_allclose(digits.STD, std.numpy(), atol=5e-7)
    assert data.load("digits", "test", digits_dir).mean == digits.MEAN
    assert data.NORMALIZATION["digits"] == (digits.MEAN, digits.STD)
    # a blank (all-zero) image, normalized with the set's own constants
    blank = data.load("digits", "train", digits_dir).inputs(torch.zeros(1, 3, 32, 32).byte())
    assert blank[0, :, 0, 0].tolist() == pytest.approx([-digits.MEAN[0] / digits.STD[0]] * 3)


def test_manifest_verifies_and_names_a_damaged_file(tmp_path):
    folder = data.prepare_digits(tmp_path)
    manifest = (folder / data.CHECKSUMS).read_text().split()
    assert manifest[1::2] == [*data.TRAIN_FILES, *data.TEST_FILES]
    batch = folder / "data_batch_3"
    damaged = bytearray(batch.read_bytes())
    damaged[-100] ^= 1
    batch.write_bytes(bytes(damaged))
    with pytest.raises(LandscapeError, match=r"data_batch_3 is missing, truncated or corrupted"):
        data.load("digits", "train", tmp_path)


def test_conversion_is_deterministic(tmp_path):
    a, b = data.prepare_digits(tmp_path / "a"), data.prepare_digits(tmp_path / "b")
    for name in (*data.TRAIN_FILES, *data.TEST_FILES, data.CHECKSUMS):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_cli_converts_offline(tmp_path, monkeypatch, capsys):
    def no_network(*args, **kwargs):
        raise AssertionError("the digits must not touch the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    assert main(["data", "--dataset", "digits", "--data-dir", str(tmp_path)]) in (0, None)
    out = capsys.readouterr().out
    assert "digits is ready" in out and "1,437 train, 360 test" in out
    assert (tmp_path / data.DIGITS_FOLDER / data.CHECKSUMS).is_file()


def test_training_and_the_api_read_it_with_its_own_normalization(digits_dir):
    cfg = TrainConfig(model="resnet20", dataset="digits", data_dir=str(digits_dir), epochs=1,
                      train_size=64, test_size=32, milestones=(1,), save_every=1, seed=0,
                      device="cpu", batch_size=32)
    with torch.random.fork_rng(devices=[]):
        final = train(cfg, digits_dir / "run", progress=False)
    assert final.is_file()

    test = data.load("digits", "test", digits_dir).select(torch.arange(40))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 10))
    curve = landscape.loss_surface(model, test, "-1:1:3", None, progress=False)
    x = data.normalize(test.images, torch.float32, digits.MEAN, digits.STD)
    with torch.no_grad():
        expected = F.cross_entropy(model(x), test.labels).item()
    assert curve.loss[1] == pytest.approx(expected, rel=1e-5)


def test_missing_scikit_learn_is_named_with_the_fix(tmp_path, monkeypatch, cli_error):
    def no_sklearn():
        raise ModuleNotFoundError("No module named 'sklearn'")

    monkeypatch.setattr(digits, "source", no_sklearn)
    message = cli_error("data", "--dataset", "digits", "--data-dir", tmp_path)
    assert "scikit-learn" in message and "pip install scikit-learn" in message
    assert not (tmp_path / data.DIGITS_FOLDER / data.CHECKSUMS).exists()
