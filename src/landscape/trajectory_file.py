"""Trajectory files (HDF5): an optimizer path projected onto two directions, plus its grid.

Written by ``landscape trajectory`` (PCA directions) and ``landscape project`` (any direction
file); read by ``landscape plot-path`` and by ``landscape surface --grid-from``. Layout:

- ``proj_xcoord``, ``proj_ycoord`` (float64, one value per checkpoint; the reference's names):
  the coefficients ``(a, b)`` with ``w_epoch - w_final ~ a dx + b dy``;
- ``epochs`` (int64): the epoch each checkpoint records, ascending;
- ``lr_decay_epochs`` (int64): the milestones the checkpoints record (the lr is multiplied by
  gamma after each), empty for checkpoints that record no training config;
- ``explained_variance_ratio`` (float64, 2): PCA only;
- ``checkpoints``, ``checkpoint_sha256`` (strings): which files the path is made of;
- root attributes: ``grid_x``, ``grid_y`` (``MIN:MAX:NUM``, a grid covering the path with a
  margin, what ``landscape surface --grid-from`` sweeps), the direction file and its SHA-256,
  the final model and its SHA-256, the architecture, ``landscape_version``.

Torch-free, so that the surface command can read a grid before importing anything heavy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from landscape import __version__
from landscape.errors import LandscapeError
from landscape.grid import Axis, Grid, parse_axis
from landscape.h5files import atomic_h5, open_h5, read_attrs, write_attrs

COORDS = ("proj_xcoord", "proj_ycoord")
RATIO = "explained_variance_ratio"


@dataclass
class Trajectory:
    """A projected path: coordinates per checkpoint, their epochs, and the grid covering them."""

    x: np.ndarray  # float64, one per checkpoint, in epoch order
    y: np.ndarray
    epochs: np.ndarray  # int64, ascending
    lr_decay_epochs: np.ndarray  # int64
    grid: Grid
    explained_variance_ratio: np.ndarray | None = None  # PCA directions only
    checkpoints: list[str] = field(default_factory=list)
    checkpoint_sha256: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def source(self) -> str:
        return "(in memory)" if self.path is None else str(self.path)

    def decay_indices(self) -> list[int]:
        """Positions in the path of the checkpoints at the epochs after which the lr decays."""
        where = {int(e): i for i, e in enumerate(self.epochs)}
        return [where[int(e)] for e in self.lr_decay_epochs if int(e) in where]

    def axis_labels(self) -> tuple[str, str] | None:
        """``1st PC: 61.23 %`` and ``2nd PC: ...`` for PCA directions, else None."""
        if self.explained_variance_ratio is None:
            return None
        first, second = (100 * float(r) for r in self.explained_variance_ratio)
        return f"1st PC: {first:.2f} %", f"2nd PC: {second:.2f} %"


def covering_grid(x: np.ndarray, y: np.ndarray, margin: float, points: int) -> Grid:
    """A ``points x points`` grid holding the path and the origin, ``margin`` times its extent
    wider on every side, edges rounded outwards to two significant digits of the extent."""
    axes = []
    extents = [float(np.ptp(np.append(v, 0.0))) for v in (x, y)]
    if max(extents) == 0:
        raise LandscapeError("every checkpoint projects to (0, 0): the directions see no path")
    for values, extent in zip((x, y), extents):
        extent = extent or max(extents)  # a flat axis takes the other's extent
        lo = min(float(values.min()), 0.0) - margin * extent
        hi = max(float(values.max()), 0.0) + margin * extent
        step = 10.0 ** (math.floor(math.log10(hi - lo)) - 1)
        lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
        axes.append(Axis(float(f"{lo:.12g}"), float(f"{hi:.12g}"), points))
    return Grid(*axes)


def write_trajectory(path: str | Path, t: Trajectory) -> Path:
    """Write ``t`` atomically in the layout above."""
    path = Path(path)
    strings = h5py.string_dtype()
    with atomic_h5(path) as fh:
        fh.create_dataset(COORDS[0], data=np.asarray(t.x, dtype=np.float64))
        fh.create_dataset(COORDS[1], data=np.asarray(t.y, dtype=np.float64))
        fh.create_dataset("epochs", data=np.asarray(t.epochs, dtype=np.int64))
        fh.create_dataset("lr_decay_epochs", data=np.asarray(t.lr_decay_epochs, dtype=np.int64))
        if t.explained_variance_ratio is not None:
            fh.create_dataset(RATIO, data=np.asarray(t.explained_variance_ratio, np.float64))
        fh.create_dataset("checkpoints", data=np.array(t.checkpoints, dtype=strings))
        fh.create_dataset("checkpoint_sha256", data=np.array(t.checkpoint_sha256, dtype=strings))
        write_attrs(fh, {**t.attrs, "grid_x": t.grid.x.spec, "grid_y": t.grid.y.spec,
                         "landscape_version": __version__})
    return path


def read_trajectory(path: str | Path) -> Trajectory:
    """Read a trajectory file, refusing one with missing or inconsistent datasets."""
    path = Path(path)
    with open_h5(path, "trajectory file") as fh:
        missing = [n for n in (*COORDS, "epochs") if n not in fh]
        if missing:
            raise LandscapeError(f"trajectory file {path} has no {', '.join(missing)}; write it "
                                 "with `landscape trajectory` or `landscape project`")
        x, y, epochs = (np.asarray(fh[n][()]) for n in (*COORDS, "epochs"))
        decays = np.asarray(fh["lr_decay_epochs"][()]) if "lr_decay_epochs" in fh else []
        ratio = np.asarray(fh[RATIO][()], dtype=np.float64) if RATIO in fh else None
        names = _strings(fh, "checkpoints")
        hashes = _strings(fh, "checkpoint_sha256")
        attrs = read_attrs(fh)
    if not (x.ndim == y.ndim == epochs.ndim == 1 and len(x) == len(y) == len(epochs) > 0):
        raise LandscapeError(f"trajectory file {path}: {COORDS[0]}, {COORDS[1]} and epochs must "
                             "be 1-D arrays of one equal, non-zero length")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise LandscapeError(f"trajectory file {path} holds non-finite coordinates")
    if ratio is not None and ratio.shape != (2,):
        raise LandscapeError(f"trajectory file {path}: {RATIO} must hold 2 values")
    return Trajectory(x.astype(np.float64), y.astype(np.float64), epochs.astype(np.int64),
                      np.asarray(decays, dtype=np.int64), _grid(attrs, path), ratio, names,
                      hashes, attrs, path)


def read_grid(path: str | Path) -> Grid:
    """The grid covering the path that trajectory file ``path`` stores (``grid_x``, ``grid_y``)."""
    with open_h5(path, "trajectory file") as fh:
        attrs = read_attrs(fh)
    return _grid(attrs, Path(path))


def _grid(attrs: dict[str, Any], path: Path) -> Grid:
    if "grid_x" not in attrs or "grid_y" not in attrs:
        raise LandscapeError(f"trajectory file {path} stores no grid (attributes grid_x, grid_y);"
                             " write it with `landscape trajectory` or `landscape project`")
    try:
        return Grid(parse_axis(attrs["grid_x"], "x"), parse_axis(attrs["grid_y"], "y"))
    except LandscapeError as exc:
        raise LandscapeError(f"trajectory file {path}: its grid is invalid ({exc})") from exc


def _strings(fh: h5py.File, name: str) -> list[str]:
    if name not in fh:
        return []
    return [v.decode() if isinstance(v, bytes) else str(v) for v in fh[name][()]]

