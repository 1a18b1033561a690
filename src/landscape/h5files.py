"""HDF5 helpers shared by direction and surface files: atomic writes, attributes, content hashes.

Files are written under a temporary name in the same folder and renamed into place, so a kill
never leaves a half-written file under the final name. Attributes round-trip as plain Python
values (``str``, ``int``, ``float``, ``bool``, lists of those); ``None`` is stored by leaving
the attribute out.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from landscape import resources
from landscape.atomic import atomic_outputs
from landscape.errors import LandscapeError


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes: identifies a checkpoint or direction file wherever it moves."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_h5(path: str | Path) -> Iterator[h5py.File]:
    """Open a new HDF5 file for writing under a temporary name; rename it to ``path`` on success."""
    with atomic_outputs(path) as (temp,), h5py.File(temp, "w") as fh:
        yield fh


# What each kind of file holds (REFERENCE.md 3), for messages about a file that does not.
LAYOUTS = {
    "direction file": "a group 'xdirection' (and 'ydirection') of numeric datasets '0'..'N-1', "
                      "one per parameter",
    "surface file": "1-D 'xcoordinates' (and 'ycoordinates') and numeric arrays of the grid's "
                    "shape such as 'train_loss' and 'train_acc'",
}

# What a foreign or damaged file raises while its objects are read: h5py's errors for
# unreadable data, and the errors of reading a group as a dataset or the other way round.
_READ_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError, AttributeError)


@contextlib.contextmanager
def open_h5(path: str | Path, what: str, expected: str | None = None) -> Iterator[h5py.File]:
    """Open an HDF5 file read-only for the block that reads it.

    A missing file, a file that is not HDF5 (random bytes, truncated), or one whose objects
    cannot be read as the block expects (damaged, or written by another tool) ends in one
    ``LandscapeError`` naming the file, what it is supposed to be (``what``) and what it
    should hold (``expected``; by default ``LAYOUTS[what]``).
    """
    path = Path(path)
    expected = LAYOUTS.get(what, "") if expected is None else expected
    layout = f"; a {what} holds {expected}" if expected else ""
    if path.is_dir():
        raise LandscapeError(f"{what} {path} is a folder, not a file")
    if not path.is_file():
        raise LandscapeError(f"{what} {path} does not exist")
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise LandscapeError(
            f"{what} {path} is not a readable HDF5 file ({_first_line(exc)}): truncated, "
            f"damaged or not HDF5{layout}") from exc
    with fh:
        try:
            _check_size(fh, path, what)
            yield fh
        except LandscapeError:
            raise
        except _READ_ERRORS as exc:
            raise LandscapeError(
                f"{what} {path} cannot be read ({type(exc).__name__}: {_first_line(exc)}): "
                f"damaged, or not a {what}{layout}") from exc


def _check_size(fh: h5py.File, path: Path, what: str) -> None:
    """Refuse a file whose datasets, read as float64, cannot fit in memory (another tool's
    gigantic grid, a damaged shape), before reading any of them."""
    elements = []
    fh.visititems(lambda _, obj: elements.append(obj.size) if isinstance(obj, h5py.Dataset)
                  else None)
    resources.check_memory(f"reading {what} {path}",
                           [resources.Need("its datasets as float64", 8 * sum(elements))],
                           f"the {what} is too large to read on this machine")


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def write_attrs(obj: h5py.HLObject, attrs: Mapping[str, Any]) -> None:
    """Store ``attrs`` on a file, group or dataset, skipping ``None`` values."""
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            value = [str(v) for v in value] if any(isinstance(v, str) for v in value) else list(value)
        obj.attrs[key] = value


def read_attrs(obj: h5py.HLObject) -> dict[str, Any]:
    """Attributes as plain Python values (numpy scalars and arrays unwrapped, bytes decoded)."""
    return {key: plain(value) for key, value in obj.attrs.items()}


def plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_string(dataset: h5py.Dataset) -> str:
    """A scalar string dataset (``dir_file``) as ``str``, whichever way it was written."""
    value = dataset[()]
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else value.tolist()
    return value.decode() if isinstance(value, bytes) else str(value)
