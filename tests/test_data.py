"""Data: CIFAR-format round trip, verification, the download boundary, subsets, augmentation."""

import hashlib
import os
import pickle
import tarfile
import urllib.error

import numpy as np
import pytest
import torch
import torchvision.datasets.utils
from torchvision.datasets import CIFAR10

from landscape import data
from landscape.errors import LandscapeError


@pytest.fixture(autouse=True)
def _fresh_cache():
    data._load_cached.cache_clear()
    yield
    data._load_cached.cache_clear()


def test_synthetic_set_is_written_in_cifar_batch_format(data_dir):
    folder = data_dir / data.SYNTHETIC_FOLDER
    for name in data.TRAIN_FILES + data.TEST_FILES:
        with open(folder / name, "rb") as fh:
            entry = pickle.load(fh, encoding="latin1")
        assert entry["data"].dtype == np.uint8 and entry["data"].shape == (2000, 3072)
        assert len(entry["labels"]) == 2000 and set(entry["labels"]) == set(range(10))
    train, test = data.load("synthetic", "train", data_dir), data.load("synthetic", "test", data_dir)
    assert train.images.shape == (10_000, 3, 32, 32) and train.images.dtype == torch.uint8
    assert test.labels.shape == (2000,) and test.labels.dtype == torch.int64
    # what the sweeps check a subset against, before reading any data
    assert (data.split_size("synthetic", "train"), data.split_size("synthetic", "test")) == (
        len(train), len(test))
    assert (data.split_size("cifar10", "train"), data.split_size("cifar10", "test")) == (
        50_000, 10_000)
    # the parser's channel-major reshape: row 0 of the pickle is image 0's R plane, then G, B
    with open(folder / "data_batch_1", "rb") as fh:
        row = pickle.load(fh, encoding="latin1")["data"][0]
    assert torch.equal(train.images[0, 1].flatten(), torch.from_numpy(row[1024:2048]))


def test_synthetic_set_is_deterministic(tmp_path):
    data.prepare_synthetic(tmp_path / "a")
    data.prepare_synthetic(tmp_path / "b")
    manifest = data.SYNTHETIC_FOLDER + "/" + data.SYNTHETIC_CHECKSUMS
    assert (tmp_path / "a" / manifest).read_text() == (tmp_path / "b" / manifest).read_text()


def test_synthetic_classes_are_balanced_learnable_and_not_separable(data_dir):
    train = data.load("synthetic", "train", data_dir)
    counts = torch.bincount(train.labels, minlength=10)
    assert counts.min() > 800 and counts.max() < 1200
    # class means carry the signal, but blends and noise keep some test images ambiguous
    means = torch.stack([train.images[train.labels == c].float().mean(0) for c in range(10)])
    test = data.load("synthetic", "test", data_dir)
    dist = torch.cdist(test.images.float().flatten(1), means.flatten(1))
    accuracy = (dist.argmin(1) == test.labels).float().mean().item()
    assert 0.5 < accuracy < 0.99


def test_corrupted_batch_file_is_named(tmp_path):
    folder = data.prepare_synthetic(tmp_path)
    victim = folder / "data_batch_3"
    payload = bytearray(victim.read_bytes())
    payload[5000] ^= 0xFF
    victim.write_bytes(bytes(payload))
    with pytest.raises(LandscapeError, match=r"data_batch_3 is missing, truncated or corrupted"):
        data.load("synthetic", "train", tmp_path)


def test_unparsable_batch_file_is_named(tmp_path):
    bad = tmp_path / "data_batch_1"
    bad.write_bytes(b"\x80\x04garbage")
    with pytest.raises(LandscapeError, match=r"cannot parse CIFAR batch file .*data_batch_1"):
        data.read_batches([bad])


class _Payload:
    """Unpickling this runs ``touch MARKER``: what a hostile batch file would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _swap_in(folder, name, payload: bytes) -> None:
    """Replace batch ``name`` by ``payload`` and update the manifest to match it."""
    (folder / name).write_bytes(payload)
    manifest = folder / data.SYNTHETIC_CHECKSUMS
    lines = [f"{hashlib.md5(payload).hexdigest()}  {name}" if line.endswith(f"  {name}")
             else line for line in manifest.read_text().splitlines()]
    manifest.write_text("\n".join(lines) + "\n")


def test_batch_file_with_code_is_refused_without_running_it(tmp_path, cli_error):
    folder = data.prepare_synthetic(tmp_path)
    marker = tmp_path / "MARKER"
    with open(folder / "data_batch_2", "rb") as fh:
        entry = pickle.load(fh)
    entry["labels"] = _Payload(marker)  # a matching manifest line: the checksum passes
    _swap_in(folder, "data_batch_2", pickle.dumps(entry, protocol=2))
    with pytest.raises(LandscapeError, match=r"data_batch_2 is a pickle that would run code to "
                       r"load \(posix\.system\); refused"):
        data.load("synthetic", "train", tmp_path)
    message = cli_error("data", "--dataset", "synthetic", "--data-dir", tmp_path)
    assert "data_batch_2" in message and "would run code" in message
    assert not marker.exists()
    # the same guard sits on the CIFAR-10 path: one parser reads both
    with pytest.raises(LandscapeError, match="would run code"):
        data.read_batches([folder / "data_batch_2"])
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_batch_files_of_any_pickle_protocol_parse(tmp_path, protocol):
    # Python 2's CIFAR-10 files (protocol 2, latin-1 strings), NumPy 1 and 2 module names
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 3072), dtype=np.uint8)
    entry = {"batch_label": "b", "labels": [1, 2, 3], "data": images,
             "filenames": [b"a.png", b"b.png", b"c.png"], "count": np.int64(3)}
    payload = pickle.dumps(entry, protocol=protocol)
    if protocol == 2:  # names are newline-terminated: spell them as NumPy 1 (and CIFAR) did
        assert b"numpy._core" in payload
        payload = payload.replace(b"numpy._core", b"numpy.core")
    (tmp_path / "batch").write_bytes(payload)
    got, labels = data.read_batches([tmp_path / "batch"])
    np.testing.assert_array_equal(got, images.reshape(-1, 3, 32, 32))
    assert labels.tolist() == [1, 2, 3]


def test_cifar10_facts_agree_with_torchvision():
    assert (data.CIFAR10_URL, data.CIFAR10_ARCHIVE, data.CIFAR10_ARCHIVE_MD5, data.CIFAR10_FOLDER) == (
        CIFAR10.url, CIFAR10.filename, CIFAR10.tgz_md5, CIFAR10.base_folder)
    assert data.CIFAR10_MD5 == dict(CIFAR10.train_list + CIFAR10.test_list)
    assert list(data.TRAIN_FILES + data.TEST_FILES) == list(data.CIFAR10_MD5)


def test_failed_download_says_where_to_put_the_archive(tmp_path, monkeypatch):
    calls = []

    def offline(url, root, filename=None, md5=None, **kwargs):
        calls.append((url, filename, md5))
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", offline)
    with pytest.raises(LandscapeError) as err:
        data.load("cifar10", "train", tmp_path)
    assert calls == [("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                      "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")]
    message = str(err.value)
    assert "cifar-10-python.tar.gz" in message and str(tmp_path) in message and "synthetic" in message


def test_no_download_flag_never_touches_the_network(tmp_path, monkeypatch):
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive",
                        lambda *a, **k: pytest.fail("tried to download"))
    with pytest.raises(LandscapeError, match="downloads are disabled"):
        data.load("cifar10", "test", tmp_path, download=False)


def test_truncated_archive_is_named_not_used(tmp_path, monkeypatch):
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(__file__, arcname="cifar-10-batches-py/readme.txt")
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive",
                        lambda *a, **k: pytest.fail("must not re-download over a bad file"))
    with pytest.raises(LandscapeError, match=r"cifar-10-python.tar.gz is truncated or corrupted"):
        data.load("cifar10", "train", tmp_path)


def test_cifar10_batches_are_verified_by_md5(tmp_path, monkeypatch):
    """Batch files with the right names but wrong contents are refused, naming the file."""
    folder = tmp_path / "cifar-10-batches-py"
    data.prepare_synthetic(tmp_path)
    folder.mkdir()
    for name in data.TRAIN_FILES + data.TEST_FILES:
        (folder / name).write_bytes((tmp_path / data.SYNTHETIC_FOLDER / name).read_bytes())
    with pytest.raises(LandscapeError, match=r"data_batch_1 is missing, truncated or corrupted"):
        data.load("cifar10", "train", tmp_path)
    # with the real checksums substituted, the same files parse through the CIFAR-10 path
    sums = {n: hashlib.md5((folder / n).read_bytes()).hexdigest() for n in data.CIFAR10_MD5}
    monkeypatch.setattr(data, "CIFAR10_MD5", sums)
    assert len(data.load("cifar10", "test", tmp_path)) == 2000


def test_unknown_names_are_refused(tmp_path):
    with pytest.raises(LandscapeError, match="unknown data set 'mnist'"):
        data.load("mnist", "train", tmp_path)
    with pytest.raises(LandscapeError, match="unknown split 'val'"):
        data.load("synthetic", "val", tmp_path)


def test_subsets():
    assert torch.equal(data.subset_indices(10, None), torch.arange(10))
    assert torch.equal(data.subset_indices(10, 4, "first"), torch.arange(4))
    a = data.subset_indices(1000, 50, "random", seed=1)
    assert torch.equal(a, data.subset_indices(1000, 50, "random", seed=1))
    assert not torch.equal(a, data.subset_indices(1000, 50, "random", seed=2))
    assert len(set(a.tolist())) == 50 and a.max() < 1000
    with pytest.raises(LandscapeError, match="subset size 11"):
        data.subset_indices(10, 11)
    with pytest.raises(LandscapeError, match="unknown subset rule"):
        data.subset_indices(10, 5, "last")


def test_normalization_constants():
    images = torch.tensor([125.3, 123.0, 113.9]).round().to(torch.uint8).view(1, 3, 1, 1)
    out = data.normalize(images.expand(1, 3, 2, 2))
    assert out.abs().max() < 0.01  # the mean pixel maps to ~0
    white = data.normalize(torch.full((1, 3, 1, 1), 255, dtype=torch.uint8)).flatten()
    expected = [(1 - m) / s for m, s in zip(data.MEAN, data.STD)]
    assert torch.allclose(white, torch.tensor(expected))


def test_augmentation_is_a_padded_crop_or_its_mirror(data_dir):
    images = data.load("synthetic", "train", data_dir).images[:64]
    out = data.augment(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    flipped = 0
    for k in range(len(images)):
        windows = [padded[k, :, r:r + 32, c:c + 32] for r in range(9) for c in range(9)]
        plain = any(torch.equal(out[k], w) for w in windows)
        mirrored = any(torch.equal(out[k], w.flip(-1)) for w in windows)
        assert plain or mirrored, k
        flipped += mirrored and not plain
    assert 10 < flipped < 54  # about half are flipped
    again = data.augment(images, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
