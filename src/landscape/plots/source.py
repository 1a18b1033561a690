"""Read a surface file (reference HDF5 layout) for plotting, checking it before any drawing.

Layout (REFERENCE.md section 3): ``xcoordinates`` (and ``ycoordinates`` for 2-D) plus
quantities such as ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc`` of shape
``(len(x),)`` or ``(len(y), len(x))`` with ``loss[j, i] = L(x_i, y_j)``. Besides the stored
quantities, three are derived on request: ``train_err`` / ``test_err`` (100 - accuracy) and
``eig_ratio`` (``|min_eig / max_eig|``, the paper's Fig. 7 from a Hessian map).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from landscape.errors import LandscapeError

DERIVED = {
    "train_err": ("train_acc",),
    "test_err": ("test_acc",),
    "eig_ratio": ("min_eig", "max_eig"),
}


@dataclass(frozen=True)
class Surface:
    """The coordinates, the quantities stored on the grid, and the file's attributes."""

    path: Path
    x: np.ndarray
    y: np.ndarray | None
    quantities: dict[str, np.ndarray]
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def ndim(self) -> int:
        return 1 if self.y is None else 2

    def has(self, name: str) -> bool:
        if name in self.quantities:
            return True
        return name in DERIVED and all(n in self.quantities for n in DERIVED[name])

    def get(self, name: str) -> np.ndarray:
        """Quantity ``name`` as float64 (derived ones computed); LandscapeError if absent."""
        if name in self.quantities:
            return self.quantities[name]
        if self.has(name):
            if name == "eig_ratio":
                with np.errstate(divide="ignore", invalid="ignore"):
                    return np.abs(self.quantities["min_eig"] / self.quantities["max_eig"])
            return 100.0 - self.quantities[DERIVED[name][0]]
        present = ", ".join(sorted(self.quantities)) or "none"
        raise LandscapeError(f"surface {self.path} has no dataset {name!r} (present: {present})")

    def label(self, axis: str) -> str:
        """Axis label: the file's ``xlabel``/``ylabel`` attribute, else ``x``/``y``."""
        return str(self.attrs.get(f"{axis}label", axis))

    def with_labels(self, xlabel: str | None = None, ylabel: str | None = None) -> Surface:
        """A copy whose axis labels are ``xlabel``/``ylabel`` where given."""
        labels = {f"{a}label": v for a, v in (("x", xlabel), ("y", ylabel)) if v is not None}
        return replace(self, attrs={**self.attrs, **labels}) if labels else self

    def model(self) -> str | None:
        """The model name recorded in the attributes (``model`` or the reference's ``arch``)."""
        for key in ("model", "arch"):
            if key in self.attrs:
                return str(self.attrs[key])
        return None


def read_surface(path: str | Path, require: Iterable[str] = ()) -> Surface:
    """Load ``path``; every name in ``require`` must be present (stored or derivable)."""
    path = Path(path)
    if not path.is_file():
        raise LandscapeError(f"surface file {path} does not exist")
    try:
        with h5py.File(path, "r") as f:
            surface = _load(path, f)
    except OSError as exc:
        raise LandscapeError(f"surface file {path} cannot be read as HDF5: {exc}") from exc
    for name in require:
        surface.get(name)
    return surface


def _load(path: Path, f: h5py.File) -> Surface:
    if "xcoordinates" not in f:
        raise LandscapeError(f"surface file {path} has no 'xcoordinates' dataset")
    x = _coordinates(path, f, "xcoordinates")
    y = _coordinates(path, f, "ycoordinates") if "ycoordinates" in f else None
    shape = (len(x),) if y is None else (len(y), len(x))
    quantities: dict[str, np.ndarray] = {}
    for name, item in f.items():
        if name in ("xcoordinates", "ycoordinates") or not isinstance(item, h5py.Dataset):
            continue
        if item.dtype.kind not in "fiu":
            continue  # dir_file and other strings
        if item.shape != shape:
            expected = "(len(xcoordinates),)" if y is None else "(len(ycoordinates), len(xcoordinates))"
            raise LandscapeError(
                f"surface file {path}: dataset {name!r} has shape {item.shape}, "
                f"expected {shape} = {expected}"
            )
        quantities[name] = np.asarray(item[()], dtype=np.float64)
    attrs = {k: _plain(v) for k, v in f.attrs.items()}
    return Surface(path=path, x=x, y=y, quantities=quantities, attrs=attrs)


def _coordinates(path: Path, f: h5py.File, name: str) -> np.ndarray:
    values = np.asarray(f[name][()], dtype=np.float64)
    if values.ndim != 1 or len(values) < 2:
        raise LandscapeError(f"surface file {path}: {name!r} must be a 1-D array of 2 or more points")
    if not np.all(np.isfinite(values)) or not np.all(np.diff(values) > 0):
        raise LandscapeError(f"surface file {path}: {name!r} must be finite and strictly increasing")
    return values


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value
