"""scikit-learn's handwritten digits as a small real data set in CIFAR-10's image layout.

``sklearn.datasets.load_digits()`` ships inside scikit-learn (no download): 1,797 grey 8 x 8
images of the digits 0-9, pixel values 0..16. ``landscape data --dataset digits`` converts
them once, into the same uint8 batch files and checksum list as the synthetic set
(``landscape.data``), so every stage reads them with the same parser:

- scaling: each pixel becomes a 4 x 4 block (nearest-neighbour 4x upsampling, 8 x 8 ->
  32 x 32); the grey value is copied to the three channels; 0..16 maps to 0..255 by
  ``(v * 255 + 8) // 16`` (0, 16, 32, ..., 239, 255: exact, and invertible);
- split: fixed, seeded and stratified by class, the same on every machine: of each class
  the ``TEST_PER_CLASS`` = 36 images whose key ``md5(f"digits-split-{SPLIT_SEED}-{i}")``
  (``i``: the row in ``load_digits()``) is smallest go to the test split, the rest to the
  training split: 360 test images (36 per class, 19.7 to 20.7 per cent of each class's 174
  to 183 images, so a class-balanced 80/20 split) and 1,437 training images (138 to 147
  per class). Hash keys rather than a random generator, so that no library's change of
  random stream can change the split. Each split is stored in the order of a second key,
  ``md5(f"digits-order-{SPLIT_SEED}-{i}")``, so that its first N images (``subset_rule:
  first``) are a class mix, not all zeros;
- files: the training split is cut into the five ``data_batch_*`` files (288, 288, 287,
  287, 287 images), the test split is ``test_batch``;
- normalization: ``MEAN`` and ``STD`` below, the data set's own statistics.

Torch-free; imported by ``landscape.data``, imports nothing of this package.
"""

from __future__ import annotations

import hashlib

import numpy as np

NUM_CLASSES = 10
SCALE = 4  # 8 x 8 -> 32 x 32
LEVELS = 16  # load_digits' pixels are 0..16
SPLIT_SEED = 2018
TEST_PER_CLASS = 36  # 360 test images, 1,437 training images

# Per-channel mean and std of the training split's pixels as fractions of 255 (channels are
# equal: grey copied three times), computed once by
#   x = training_arrays()[0] / 255;  x.mean(), x.std()   (population std, over N*32*32 pixels)
# (the 4 x 4 blocks leave both as on the 8 x 8 images). tests/test_digits.py recomputes them.
MEAN = (0.304832,) * 3
STD = (0.375643,) * 3


def to_uint8(values: np.ndarray) -> np.ndarray:
    """load_digits' 0..16 pixel values as 0..255: ``(v * 255 + 8) // 16``."""
    v = np.asarray(values).astype(np.int64)
    return ((v * 255 + LEVELS // 2) // LEVELS).astype(np.uint8)


def to_images(images8: np.ndarray) -> np.ndarray:
    """[N, 8, 8] grey images (0..16) -> uint8 [N, 3, 32, 32]: 4 x 4 blocks, grey in 3 channels."""
    grey = to_uint8(images8)
    big = grey.repeat(SCALE, axis=1).repeat(SCALE, axis=2)
    return np.ascontiguousarray(np.broadcast_to(big[:, None], (len(big), 3, *big.shape[1:])))


def _key(i: int, purpose: str = "split") -> bytes:
    return hashlib.md5(f"digits-{purpose}-{SPLIT_SEED}-{i}".encode()).digest()


def _order_key(i: int) -> bytes:
    return _key(i, "order")


def split_indices(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``load_digits()`` in the training and the test split, each in key order."""
    labels = np.asarray(labels)
    train, test = [], []
    for c in range(NUM_CLASSES):
        rows = sorted(np.flatnonzero(labels == c).tolist(), key=_key)
        test += rows[:TEST_PER_CLASS]
        train += rows[TEST_PER_CLASS:]
    # A second key orders each split: by the first key, every class's training rows would
    # start above that class's 36th-smallest key, bunching the first rows into few classes.
    return (np.array(sorted(train, key=_order_key), dtype=np.int64),
            np.array(sorted(test, key=_order_key), dtype=np.int64))


def source() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: [1797, 8, 8] pixel values 0..16 and int64 labels."""
    from sklearn.datasets import load_digits  # imported here: it takes a second

    bunch = load_digits()
    return bunch.images, bunch.target.astype(np.int64)


def split_arrays() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (images, labels), "test": ...}``: uint8 [N, 3, 32, 32] and int64 [N]."""
    images8, labels = source()
    train, test = split_indices(labels)
    return {name: (to_images(images8[rows]), labels[rows])
            for name, rows in (("train", train), ("test", test))}


def training_arrays() -> tuple[np.ndarray, np.ndarray]:
    return split_arrays()["train"]
