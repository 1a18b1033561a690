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


@contextlib.contextmanager
def open_h5(path: str | Path, what: str) -> Iterator[h5py.File]:
    """Open an HDF5 file read-only; a missing or unreadable file is a ``LandscapeError`` naming it."""
    path = Path(path)
    if not path.is_file():
        raise LandscapeError(f"{what} {path} does not exist")
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise LandscapeError(f"{what} {path} is not a readable HDF5 file ({exc})") from exc
    with fh:
        yield fh


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
