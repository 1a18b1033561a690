"""Data sets as uint8 tensors: CIFAR-10 (downloaded, MD5-verified), an offline synthetic
twin, and scikit-learn's handwritten digits (a small real set that ships inside a package).

- ``cifar10``: 50,000 / 10,000 images, downloaded once, checked against the published MD5s;
- ``synthetic``: 10,000 / 2,000 generated images (``synthetic_arrays``), seeded, offline;
- ``digits``: 1,437 / 360 images converted once from ``sklearn.datasets.load_digits()``
  (8 x 8 grey -> 32 x 32 x 3 by 4 x 4 blocks, a fixed class-stratified split, its own
  normalization constants: ``landscape.digits`` says exactly how), offline.

The generated sets are written once with an MD5 list (``checksums.md5``, written last)
that every later load verifies. All three live on disk in CIFAR-10's python-pickle batch
format (``data_batch_1..5``, ``test_batch``: pickles with ``data`` (N x 3072 uint8) and
``labels``) and go through the same parser, so the tests exercise the real parsing path.
That parser runs no code from the files: its unpickler admits only the few NumPy and builtin
names an array needs, so a batch file with a ``__reduce__`` payload is refused, whatever its
checksum. A loaded split is a pair of tensors, ``images`` (N x 3 x 32 x 32 uint8) and
``labels`` (N int64), small enough to sit on the GPU whole, plus the per-channel ``mean``
and ``std`` its images are normalized with (``NORMALIZATION``: the paper's CIFAR-10
constants for cifar10 and synthetic, the digits' own for digits); normalization and
augmentation are batched tensor ops on that device.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from landscape import digits
from landscape.atomic import atomic_write_bytes, write_error
from landscape.choices import DATA_FOLDERS, DATASETS, SPLITS, SUBSET_RULES, TEST_FILES, TRAIN_FILES
from landscape.errors import LandscapeError
from landscape.paths import check_data_dir

NUM_CLASSES = 10

# Per-channel normalization of the paper and its reference implementation (REFERENCE.md 2).
MEAN = (125.3 / 255, 123.0 / 255, 113.9 / 255)
STD = (63.0 / 255, 62.1 / 255, 66.7 / 255)
# Each data set's (mean, std): the paper's for CIFAR-10 and its synthetic twin; the digits'
# own, from their training split (landscape.digits says how they were computed).
NORMALIZATION = {"cifar10": (MEAN, STD), "synthetic": (MEAN, STD),
                 "digits": (digits.MEAN, digits.STD)}

# CIFAR-10's archive and batch checksums, as torchvision's CIFAR10 class lists them (a test
# checks they agree); spelled out so that importing this module does not import torchvision.
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_FOLDER = DATA_FOLDERS["cifar10"]
CIFAR10_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}

SYNTHETIC_FOLDER = DATA_FOLDERS["synthetic"]
SYNTHETIC_SEED = 2018
SYNTHETIC_PER_BATCH = 2000  # 5 train batches -> 10,000 train images; 2,000 test images
CHECKSUMS = "checksums.md5"  # the MD5 list of a generated set (synthetic, digits)
SYNTHETIC_CHECKSUMS = CHECKSUMS
DIGITS_FOLDER = DATA_FOLDERS["digits"]
SPLIT_SIZES = {  # fixed by each set's checksummed files (tests compare them with the files)
    "cifar10": {"train": 50_000, "test": 10_000},
    "synthetic": {"train": SYNTHETIC_PER_BATCH * len(TRAIN_FILES),
                  "test": SYNTHETIC_PER_BATCH * len(TEST_FILES)},
    "digits": {"train": 1_437, "test": 360},
}


@dataclass(frozen=True)
class ImageSet:
    """One split of a data set: ``images`` uint8 [N, 3, 32, 32], ``labels`` int64 [N], and
    the per-channel ``mean`` and ``std`` (fractions of 255) that normalize its images.

    Any ``(inputs, targets)`` pair of tensors with the samples along dim 0 fits too: inputs
    that are not uint8 are taken as already preprocessed (``model_inputs``).
    """

    images: torch.Tensor
    labels: torch.Tensor
    mean: tuple[float, ...] = MEAN
    std: tuple[float, ...] = STD

    def __len__(self) -> int:
        return self.labels.shape[0]

    def to(self, device: torch.device | str) -> ImageSet:
        return replace(self, images=self.images.to(device), labels=self.labels.to(device))

    def select(self, indices: torch.Tensor) -> ImageSet:
        idx = indices.to(self.labels.device)
        return replace(self, images=self.images[idx], labels=self.labels[idx])

    def inputs(self, images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``model_inputs`` of a batch of this set's images, with this set's normalization."""
        return model_inputs(images, dtype, self.mean, self.std)


# ---------------------------------------------------------------------------------- loading


def load(name: str, split: str, data_dir: str | Path, download: bool = True) -> ImageSet:
    """Load ``split`` of data set ``name`` from ``data_dir`` (fetching or generating it once)."""
    if name not in DATASETS:
        raise LandscapeError(f"unknown data set {name!r}; valid: {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise LandscapeError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    root = check_data_dir(data_dir, name)
    images, labels = _load_cached(name, split, str(root), download)
    # Shared with the in-process cache: callers index and copy, never write in place.
    return ImageSet(torch.from_numpy(images), torch.from_numpy(labels), *NORMALIZATION[name])


def split_size(name: str, split: str) -> int:
    """The number of images of ``split`` of data set ``name``, known before reading it (its
    files are checksummed, so their sizes are fixed): checks run before any data is loaded."""
    return SPLIT_SIZES[name][split]


def prepare(name: str, data_dir: str | Path, download: bool = True
            ) -> tuple[Path, dict[str, int]]:
    """Make data set ``name`` ready under ``data_dir``; its folder and images per split."""
    sizes = {split: len(load(name, split, data_dir, download)) for split in SPLITS}
    return Path(data_dir).expanduser().resolve() / DATA_FOLDERS[name], sizes


@functools.lru_cache(maxsize=8)
def _load_cached(name: str, split: str, root: str, download: bool) -> tuple[np.ndarray, np.ndarray]:
    if name == "cifar10":
        folder = prepare_cifar10(Path(root), download=download)
    else:
        folder = prepare_generated(name, Path(root))
    files = TRAIN_FILES if split == "train" else TEST_FILES
    return read_batches([folder / f for f in files])


# What a CIFAR batch pickle may name: NumPy's array and scalar reconstruction (the module
# moved to numpy._core in NumPy 2; protocol 5 uses _frombuffer), the codec Python 3 uses for
# bytes at protocol 2, and plain builtin types. Dicts, lists, strings and bytes are opcodes.
_BATCH_GLOBALS = frozenset({
    *((module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray")
      for name in ("_reconstruct", "scalar")),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    *((module, name) for module in ("builtins", "__builtin__")
      for name in ("bytearray", "bytes", "dict", "list", "tuple", "set", "frozenset", "int",
                   "float", "complex", "str", "bool")),
})


class _BatchUnpickler(pickle.Unpickler):
    """An unpickler that builds arrays, dicts, lists and strings, and runs no other code."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _BATCH_GLOBALS:
            raise _CodeInPickle(f"{module}.{name}")
        return super().find_class(module, name)


class _CodeInPickle(pickle.UnpicklingError):
    """A pickle names something beyond arrays and builtin types: it would run code to load."""


def read_batches(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Parse CIFAR-style pickle batches into uint8 [N, 3, 32, 32] images and int64 labels.

    No code in a file runs: a pickle that names anything but NumPy arrays and builtin types
    (a ``__reduce__`` payload, say) is refused, naming the file.
    """
    all_images, all_labels = [], []
    for path in paths:
        try:
            with open(path, "rb") as fh:
                entry = _BatchUnpickler(fh, encoding="latin1").load()
            data = np.asarray(entry["data"], dtype=np.uint8)
            labels = np.asarray(entry.get("labels", entry.get("fine_labels")), dtype=np.int64)
            data = data.reshape(-1, 3, 32, 32)
        except _CodeInPickle as exc:
            raise LandscapeError(
                f"CIFAR batch file {path} is a pickle that would run code to load ({exc});"
                " refused: a batch file holds only arrays, lists and strings. Delete it and"
                " fetch or generate the data set again"
            ) from None
        except (OSError, pickle.UnpicklingError, EOFError, KeyError, ValueError, TypeError,
                AttributeError, IndexError) as exc:
            raise LandscapeError(f"cannot parse CIFAR batch file {path}: {exc}") from exc
        if data.shape[0] != labels.shape[0]:
            raise LandscapeError(
                f"CIFAR batch file {path} has {data.shape[0]} images but {labels.shape[0]} labels"
            )
        if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise LandscapeError(f"CIFAR batch file {path} has labels outside 0..9")
        all_images.append(data)
        all_labels.append(labels)
    return np.concatenate(all_images), np.concatenate(all_labels)


def prepare_cifar10(root: Path, download: bool = True) -> Path:
    """Ensure verified CIFAR-10 batch files under ``root``; download the archive if needed."""
    folder = root / CIFAR10_FOLDER
    if not _cifar10_complete(folder):
        archive = root / CIFAR10_ARCHIVE
        if archive.exists() and not _md5_matches(archive, CIFAR10_ARCHIVE_MD5):
            raise LandscapeError(
                f"{archive} is truncated or corrupted (MD5 mismatch, expected"
                f" {CIFAR10_ARCHIVE_MD5}); delete it and retry"
            )
        if not download and not archive.exists():
            raise LandscapeError(_manual_download_hint(root, "downloads are disabled"))
        try:
            _download_archive(root)
        except Exception as exc:  # urllib, socket and checksum errors alike
            raise LandscapeError(_manual_download_hint(root, f"download failed: {exc}")) from exc
    for name in TRAIN_FILES + TEST_FILES:
        path = folder / name
        if not _md5_matches(path, CIFAR10_MD5[name]):
            raise LandscapeError(
                f"{path} is missing, truncated or corrupted (MD5 mismatch, expected"
                f" {CIFAR10_MD5[name]}); delete {folder} and the archive, then retry"
            )
    return folder


def _download_archive(root: Path) -> None:
    """Fetch and unpack the archive with torchvision's utilities (MD5-checked; reuses a good file)."""
    from torchvision.datasets.utils import download_and_extract_archive

    download_and_extract_archive(
        CIFAR10_URL, str(root), filename=CIFAR10_ARCHIVE, md5=CIFAR10_ARCHIVE_MD5
    )


def _md5_matches(path: Path, md5: str) -> bool:
    """Whether ``path`` exists with this MD5. The standard library's ``file_digest``, not
    torchvision's ``check_integrity``: importing torchvision costs every job that loads
    data about 3.5 s (it pulls in ``torch._dynamo``), longer than checking the files."""
    if not path.is_file():
        return False
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "md5").hexdigest() == md5


def _cifar10_complete(folder: Path) -> bool:
    return all((folder / name).exists() for name in TRAIN_FILES + TEST_FILES)


def _manual_download_hint(root: Path, reason: str) -> str:
    return (
        f"CIFAR-10 is not in {root} and {reason}. Download {CIFAR10_URL} by hand and put"
        f" {CIFAR10_ARCHIVE} (MD5 {CIFAR10_ARCHIVE_MD5}) in {root}/, or run offline with the"
        " 'synthetic' or 'digits' data set"
    )


# ----------------------------------------------------------- generated sets: synthetic, digits


def prepare_synthetic(root: Path) -> Path:
    """Write the synthetic set once (with an MD5 list), then verify it on every load."""
    return prepare_generated("synthetic", root)


def prepare_digits(root: Path) -> Path:
    """Convert scikit-learn's digits once (``landscape.digits``), then verify them on every load."""
    return prepare_generated("digits", root)


def prepare_generated(name: str, root: Path) -> Path:
    """Write data set ``name`` (synthetic, digits) once with its MD5 list; verify every load."""
    folder = root / DATA_FOLDERS[name]
    manifest = folder / CHECKSUMS
    if not manifest.exists():
        _write_batches(folder, name, _GENERATORS[name]())
    expected = _read_manifest(manifest, folder)
    for file in TRAIN_FILES + TEST_FILES:
        path = folder / file
        if file not in expected or not _md5_matches(path, expected[file]):
            raise LandscapeError(
                f"{path} is missing, truncated or corrupted (MD5 mismatch with {manifest});"
                f" delete {folder} to regenerate it"
            )
    return folder


def _write_batches(folder: Path, name: str,
                   batches: Iterable[tuple[str, np.ndarray, np.ndarray]]) -> None:
    """Write ``(file, data [N, 3072] uint8, labels)`` batches as CIFAR pickles, then the MD5
    list; the pickles' bytes depend only on the arrays, so a conversion is reproducible."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(folder, exc) from exc
    sums = []
    for file, data, labels in batches:
        payload = pickle.dumps(
            {"batch_label": f"{name} {file}", "labels": labels.tolist(), "data": data},
            protocol=4,
        )
        atomic_write_bytes(folder / file, payload)
        sums.append(f"{hashlib.md5(payload).hexdigest()}  {file}\n")
    # The manifest is written last: its presence marks a complete, verified data set.
    atomic_write_bytes(folder / CHECKSUMS, "".join(sums).encode())


def _read_manifest(manifest: Path, folder: Path) -> dict[str, str]:
    """``{file name: MD5}`` from a ``md5sum``-style list; a damaged list is named, not parsed."""
    regenerate = f"delete {folder} to regenerate it"
    try:
        text = manifest.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise LandscapeError(f"checksum list {manifest} cannot be read ({exc}); {regenerate}"
                             ) from exc
    expected = {}
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not re.fullmatch(r"[0-9a-f]{32}", parts[0]):
            raise LandscapeError(
                f"checksum list {manifest} is damaged (line {number}: {line[:60]!r}, expected "
                f"'<32 hex digits>  <file name>'); {regenerate}"
            )
        expected[parts[1]] = parts[0]
    return expected


def synthetic_arrays(num: int, rng: np.random.Generator, prototypes: np.ndarray):
    """Draw ``num`` synthetic images: a class pattern blended with a distractor, shifted, noisy.

    Each class has a smooth colour pattern; every image mixes its class pattern with up to 45%
    of another class's, shifts it by up to 4 pixels, flips it half the time and adds strong
    pixel noise (2.5x the pattern's std). A ResNet-20 fits 2,000 of them in about 10 epochs,
    and its held-out accuracy stays clearly below 100%.
    """
    labels = rng.integers(0, NUM_CLASSES, size=num)
    distractors = (labels + rng.integers(1, NUM_CLASSES, size=num)) % NUM_CLASSES
    mix = rng.uniform(0.0, 0.45, size=(num, 1, 1, 1))
    x = (1 - mix) * prototypes[labels] + mix * prototypes[distractors]
    shifts = rng.integers(-4, 5, size=(num, 2))
    flips = rng.random(num) < 0.5
    for i in range(num):
        img = np.roll(x[i], tuple(shifts[i]), axis=(1, 2))
        x[i] = img[:, :, ::-1] if flips[i] else img
    x = x * rng.uniform(0.7, 1.3, size=(num, 1, 1, 1)) + rng.normal(0.0, 2.5, size=x.shape)
    images = np.clip(127.5 + 30.0 * x, 0, 255).astype(np.uint8)
    return images.reshape(num, -1), labels.astype(np.int64)


def _synthetic_prototypes(rng: np.random.Generator) -> np.ndarray:
    coarse = torch.from_numpy(rng.normal(size=(NUM_CLASSES, 3, 4, 4)))
    smooth = F.interpolate(coarse, size=(32, 32), mode="bicubic", align_corners=False)
    return (smooth / smooth.std(dim=(1, 2, 3), keepdim=True)).numpy()


def _synthetic_batches() -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(SYNTHETIC_SEED)
    prototypes = _synthetic_prototypes(rng)
    for file in TRAIN_FILES + TEST_FILES:
        yield (file, *synthetic_arrays(SYNTHETIC_PER_BATCH, rng, prototypes))


def _digits_batches() -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    try:
        splits = digits.split_arrays()
    except ImportError as exc:
        raise LandscapeError(
            f"the digits data set is converted from scikit-learn's copy, which is not "
            f"installed ({exc}); pip install scikit-learn"
        ) from exc
    images, labels = splits["train"]
    parts = np.array_split(np.arange(len(labels)), len(TRAIN_FILES))
    for file, rows in zip(TRAIN_FILES, parts, strict=True):
        yield file, images[rows].reshape(len(rows), -1), labels[rows]
    images, labels = splits["test"]
    yield TEST_FILES[0], images.reshape(len(labels), -1), labels


_GENERATORS: dict[str, Callable[[], Iterator[tuple[str, np.ndarray, np.ndarray]]]] = {
    "synthetic": _synthetic_batches, "digits": _digits_batches,
}

# ---------------------------------------------------------------------- subsets and batches


def subset_indices(total: int, size: int | None, rule: str = "first", seed: int = 0) -> torch.Tensor:
    """Indices of a subset: all images, the first ``size``, or ``size`` drawn with ``seed``."""
    if rule not in SUBSET_RULES:
        raise LandscapeError(f"unknown subset rule {rule!r}; valid: {', '.join(SUBSET_RULES)}")
    if size is None or size == total:
        return torch.arange(total)
    if not 0 < size <= total:
        raise LandscapeError(f"subset size {size} must be between 1 and the split's {total} images")
    if rule == "first":
        return torch.arange(size)
    gen = torch.Generator().manual_seed(seed)
    return torch.randperm(total, generator=gen)[:size].sort().values


def normalize(images: torch.Tensor, dtype: torch.dtype = torch.float32,
              mean: tuple[float, ...] = MEAN, std: tuple[float, ...] = STD) -> torch.Tensor:
    """uint8 [N, 3, H, W] -> normalized float with a per-channel mean and std (fractions of
    255; default the paper's CIFAR-10 constants)."""
    m = torch.tensor(mean, device=images.device, dtype=dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, device=images.device, dtype=dtype).view(1, -1, 1, 1)
    return (images.to(dtype) / 255 - m) / s


def model_inputs(inputs: torch.Tensor, dtype: torch.dtype = torch.float32,
                 mean: tuple[float, ...] = MEAN, std: tuple[float, ...] = STD) -> torch.Tensor:
    """What a model sees: uint8 images normalized (``mean``, ``std``: default the paper's
    constants) in ``dtype``; other floating inputs cast to ``dtype``; integer inputs (token
    ids...) unchanged."""
    if inputs.dtype == torch.uint8:
        return normalize(inputs, dtype, mean, std)
    return inputs.to(dtype) if inputs.is_floating_point() else inputs


def augment(images: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Random crop (zero padding) and horizontal flip of a whole uint8 batch, on its device."""
    n, _, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    offsets = torch.randint(
        0, 2 * padding + 1, (2, n), generator=generator, device=generator.device
    ).to(images.device)
    flips = torch.rand(n, generator=generator, device=generator.device).to(images.device) < 0.5
    rows = offsets[0, :, None] + torch.arange(h, device=images.device)  # [n, h]
    cols = offsets[1, :, None] + torch.arange(w, device=images.device)  # [n, w]
    cols = torch.where(flips[:, None], cols.flip(1), cols)
    batch = torch.arange(n, device=images.device)[:, None, None, None]
    channel = torch.arange(images.shape[1], device=images.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]
