"""Surface files (HDF5): the reference layout plus provenance, read, written and merged.

Layout (REFERENCE.md 3): ``xcoordinates`` (and ``ycoordinates``) float64; ``<split>_loss`` and
``<split>_acc`` float64 arrays of shape ``(len(y), len(x))`` with ``loss[j, i] = L(x_i, y_j)``
(``(len(x),)`` in 1-D); the string ``dir_file``. Ours add root attributes that recompute any
point without the workflow (checkpoint and direction paths and SHA-256s, data set, subset,
batch size, precision, grid) and, in shard and ``.partial`` files, a boolean ``computed`` array
of the same shape (points not computed hold NaN). A random subset's image indices are stored
under ``subset_indices/<split>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from landscape.errors import LandscapeError
from landscape.grid import Axis, Grid, Shard, parse_axis, parse_shard
from landscape.h5files import atomic_h5, open_h5, read_attrs, read_string, write_attrs

# Attributes that describe one run rather than what it computed: where the inputs sat, where
# it ran, how long it took and which share of the grid it owned (split_sizes follows from the
# data set and subset). Everything else must agree between shards of one surface and between
# a sweep and its resume.
RUN_ATTRS = frozenset({
    "checkpoint", "directions", "data_dir", "device", "seconds", "shard", "shards",
    "points_computed", "nonfinite", "split_sizes", "engine_device",
    "engine_precision_probe_max_error",
})
_COORDS = ("xcoordinates", "ycoordinates")
_MASK = "computed"
_INDICES = "subset_indices"


@dataclass
class Surface:
    """A (possibly partly computed) surface: metric arrays in grid shape plus provenance."""

    grid: Grid
    values: dict[str, np.ndarray]  # "train_loss", "train_acc", ... float64, grid shape
    computed: np.ndarray  # bool, grid shape
    attrs: dict[str, Any] = field(default_factory=dict)
    dir_file: str = ""
    subset_indices: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def empty(cls, grid: Grid, splits: Sequence[str], **kwargs: Any) -> Surface:
        values = {f"{s}_{m}": np.full(grid.shape, np.nan) for s in splits for m in ("loss", "acc")}
        return cls(grid, values, np.zeros(grid.shape, dtype=bool), **kwargs)

    @property
    def splits(self) -> list[str]:
        return [k.removesuffix("_loss") for k in self.values if k.endswith("_loss")]

    def nonfinite(self) -> int:
        """Computed points where some split's loss is NaN or infinite."""
        bad = np.zeros(self.grid.shape, dtype=bool)
        for split in self.splits:
            bad |= ~np.isfinite(self.values[f"{split}_loss"])
        return int((bad & self.computed).sum())


def identity(attrs: dict[str, Any]) -> dict[str, Any]:
    """The attributes that define what a surface file holds (everything but ``RUN_ATTRS``)."""
    return {k: v for k, v in attrs.items() if k not in RUN_ATTRS}


def differing(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Keys whose identity values differ between two attribute sets."""
    a, b = identity(a), identity(b)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def write_surface(path: str | Path, surface: Surface, keep_mask: bool) -> Path:
    """Write ``surface`` atomically; ``keep_mask`` keeps ``computed`` (shards, partial files)."""
    path = Path(path)
    grid = surface.grid
    with atomic_h5(path) as fh:
        fh.create_dataset("xcoordinates", data=grid.x.coordinates())
        if grid.y is not None:
            fh.create_dataset("ycoordinates", data=grid.y.coordinates())
        for name, array in surface.values.items():
            fh.create_dataset(name, data=np.asarray(array, dtype=np.float64))
        fh["dir_file"] = surface.dir_file
        if keep_mask:
            fh.create_dataset(_MASK, data=surface.computed)
        for split, indices in surface.subset_indices.items():
            fh.create_dataset(f"{_INDICES}/{split}", data=np.asarray(indices, dtype=np.int64))
        write_attrs(fh, surface.attrs)
    return path


def read_surface(path: str | Path) -> Surface:
    """Read a surface file (ours, a shard, a ``.partial`` or the reference's)."""
    with open_h5(path, "surface file") as fh:
        if "xcoordinates" not in fh:
            raise LandscapeError(f"surface file {path} has no 'xcoordinates' dataset")
        attrs = read_attrs(fh)
        grid = _grid(fh, attrs, path)
        values = {}
        for name, item in fh.items():
            if name in _COORDS or name in (_MASK, "dir_file") or not hasattr(item, "shape"):
                continue
            if tuple(item.shape) == grid.shape:
                values[name] = np.asarray(item[()], dtype=np.float64)
        computed = (np.asarray(fh[_MASK][()], dtype=bool) if _MASK in fh
                    else np.ones(grid.shape, dtype=bool))
        if computed.shape != grid.shape:
            raise LandscapeError(f"surface file {path}: 'computed' has the wrong shape")
        dir_file = read_string(fh["dir_file"]) if "dir_file" in fh else ""
        indices = ({k: np.asarray(v[()]) for k, v in fh[_INDICES].items()}
                   if _INDICES in fh else {})
    return Surface(grid, values, computed, attrs, dir_file, indices)


def _grid(fh: Any, attrs: dict[str, Any], path: str | Path) -> Grid:
    """The grid from our ``grid_x``/``grid_y`` attributes, else from the coordinates."""
    axes = []
    for name, coords in zip(("x", "y"), _COORDS):
        if coords not in fh:
            continue
        if f"grid_{name}" in attrs:
            axes.append(parse_axis(attrs[f"grid_{name}"], name))
        else:
            values = np.asarray(fh[coords][()], dtype=np.float64).ravel()
            if values.size == 0:
                raise LandscapeError(f"surface file {path}: {coords} is empty")
            axes.append(Axis(float(values[0]), float(values[-1]), int(values.size)))
    return Grid(axes[0], axes[1] if len(axes) > 1 else None)


# ------------------------------------------------------------------------------------ merge


def merge_surfaces(paths: Sequence[str | Path], out: str | Path) -> Path:
    """Merge shard files into one surface file, refusing gaps, overlaps and mismatches.

    The merged arrays are copies of the shards' values, so they equal a single-job sweep's
    bit for bit; ``seconds`` is the shards' total and ``computed``/``shard`` are dropped.
    """
    if not paths:
        raise LandscapeError("no shard files to merge")
    shards = [read_surface(p) for p in paths]
    first, first_path = shards[0], paths[0]
    for path, shard in zip(paths, shards):
        _check_complete_shard(path, shard)
        diff = differing(first.attrs, shard.attrs)
        if diff:
            raise LandscapeError(
                f"shard {path} does not match {first_path}: {', '.join(diff)} differ"
            )
        if shard.grid != first.grid or sorted(shard.values) != sorted(first.values):
            raise LandscapeError(
                f"shard {path} does not match {first_path}: different grid or metrics"
            )
    count = sum(s.computed.astype(np.int64) for s in shards)
    if (count > 1).any():
        k = int(np.flatnonzero(count.ravel() > 1)[0])
        owners = [str(p) for p, s in zip(paths, shards) if s.computed.ravel()[k]]
        raise LandscapeError(
            f"point {first.grid.index(k)} is computed by more than one shard: {', '.join(owners)}"
        )
    if (count == 0).any():
        missing = int((count == 0).sum())
        counts = {s.attrs.get("shard", "").partition("/")[2] for s in shards}
        given = {s.attrs.get("shard") for s in shards}
        hint = ""
        if len(counts) == 1 and (n := counts.pop()).isdigit():
            absent = [f"{i}/{n}" for i in range(int(n)) if f"{i}/{n}" not in given]
            hint = f" (shards not given: {', '.join(absent)})" if absent else ""
        raise LandscapeError(
            f"the shards leave {missing} of {first.grid.size} points uncomputed{hint}"
        )
    merged = Surface.empty(first.grid, first.splits, dir_file=first.dir_file,
                           subset_indices=first.subset_indices)
    for shard in shards:
        for name in merged.values:
            merged.values[name][shard.computed] = shard.values[name][shard.computed]
    merged.computed[...] = True
    devices = sorted({str(s.attrs["device"]) for s in shards if "device" in s.attrs})
    merged.attrs = {
        **{k: v for k, v in first.attrs.items() if k not in ("shard",)},
        "device": ",".join(devices) or None,
        "seconds": float(sum(float(s.attrs.get("seconds", 0.0)) for s in shards)),
        "points_computed": first.grid.size,
        "shards": len(shards),
        "nonfinite": merged.nonfinite(),
    }
    return write_surface(out, merged, keep_mask=False)


def _check_complete_shard(path: str | Path, surface: Surface) -> None:
    """A shard file must hold every point its shard owns (a ``.partial`` file does not)."""
    spec = surface.attrs.get("shard")
    expected = parse_shard(spec).mask(surface.grid) if spec else np.ones(surface.grid.shape, bool)
    if not np.array_equal(surface.computed, expected):
        done, owned = int((surface.computed & expected).sum()), int(expected.sum())
        raise LandscapeError(
            f"shard {path} is incomplete: {done} of its {owned} points computed"
            " (an interrupted sweep? rerun it to finish)"
        )


def shard_of(surface: Surface) -> Shard:
    """The shard a surface file was computed as (``0/1`` for a whole-grid file)."""
    spec = surface.attrs.get("shard")
    return parse_shard(spec) if spec else Shard(0, 1)
