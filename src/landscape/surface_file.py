"""Surface files (HDF5): the reference layout plus provenance, read (strictly), written and merged.

Layout (REFERENCE.md 3): ``xcoordinates`` (and ``ycoordinates``) float64; ``<split>_loss`` and
``<split>_acc`` float64 arrays of shape ``(len(y), len(x))`` with ``loss[j, i] = L(x_i, y_j)``
(``(len(x),)`` in 1-D); the string ``dir_file``; Hessian maps add ``max_eig`` and ``min_eig``.
Ours add root attributes that recompute any point without the workflow (checkpoint and
direction paths and SHA-256s, data set, subset, batch size, precision, grid, ``landscape_version``)
and, in shard and ``.partial`` files, a boolean ``computed`` array of the same shape (points not
computed hold NaN). A random subset's image indices are stored under ``subset_indices/<split>``.

``read_surface`` is the only reader (sweeps, resume, merge and figures): it refuses a file it
would misread rather than guess, e.g. a mis-shaped dataset, uneven coordinates, or a file of
the reference implementation that is unfinished or on a non-square grid (which it scrambles).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from landscape import resources
from landscape.errors import LandscapeError
from landscape.grid import Axis, Grid, Shard, parse_axis, parse_shard
from landscape.h5files import atomic_h5, open_h5, read_attrs, read_string, write_attrs
from landscape.paths import check_output_file

# Attributes that describe one run rather than what it computed: where the inputs sat, where
# it ran, how long it took and which share of the grid it owned (split_sizes follows from the
# data set and subset). Everything else must agree between shards of one surface and between
# a sweep and its resume.
RUN_ATTRS = frozenset({
    "checkpoint", "directions", "data_dir", "device", "seconds", "shard", "shards",
    "points_computed", "nonfinite", "split_sizes", "engine_device",
    "engine_precision_probe_max_error", "engine_compile_error", "grid_from",
})
# Quantities computed on request from stored ones: errors in percent, the paper's Fig. 7 ratio.
DERIVED = {
    "train_err": ("train_acc",),
    "test_err": ("test_acc",),
    "eig_ratio": ("min_eig", "max_eig"),
}
_COORDS = ("xcoordinates", "ycoordinates")
_MASK = "computed"
_INDICES = "subset_indices"
_VERSION = "landscape_version"  # present in every file this library writes
_UNSET = -1.0  # the reference's "not computed yet" mark in *_loss / *_acc arrays
_SHAPE_NAMES = {1: "(len(xcoordinates),)", 2: "(len(ycoordinates), len(xcoordinates))"}


@dataclass
class Surface:
    """A (possibly partly computed) surface: quantity arrays in grid shape plus provenance.

    ``values`` holds every quantity stored on the grid (``train_loss``, ``test_acc``,
    ``max_eig``, ...); ``loss``/``accuracy`` are the first split's, ``get`` also derives
    ``train_err``/``test_err`` (100 - accuracy) and ``eig_ratio`` (``|min_eig / max_eig|``).
    """

    grid: Grid
    values: dict[str, np.ndarray]  # "train_loss", "train_acc", ... float64, grid shape
    computed: np.ndarray  # bool, grid shape
    attrs: dict[str, Any] = field(default_factory=dict)
    dir_file: str = ""
    subset_indices: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None  # the file it was read from

    @classmethod
    def blank(cls, grid: Grid, names: Sequence[str], **kwargs: Any) -> Surface:
        """Nothing computed yet: NaN arrays of the grid's shape, one per quantity name."""
        values = {name: np.full(grid.shape, np.nan) for name in names}
        return cls(grid, values, np.zeros(grid.shape, dtype=bool), **kwargs)

    @classmethod
    def empty(cls, grid: Grid, splits: Sequence[str], **kwargs: Any) -> Surface:
        """A blank loss surface: ``<split>_loss`` and ``<split>_acc`` per split."""
        return cls.blank(grid, split_quantities(splits), **kwargs)

    @property
    def source(self) -> str:
        """Where the surface came from, for messages: its file, else ``(in memory)``."""
        return "(in memory)" if self.path is None else str(self.path)

    @property
    def x(self) -> np.ndarray:
        return self.grid.x.coordinates()

    @property
    def y(self) -> np.ndarray | None:
        return None if self.grid.y is None else self.grid.y.coordinates()

    @property
    def ndim(self) -> int:
        return self.grid.ndim

    @property
    def splits(self) -> list[str]:
        return [k.removesuffix("_loss") for k in self.values if k.endswith("_loss")]

    @property
    def loss(self) -> np.ndarray:
        """The first split's loss (``train`` if present), shaped ``(len(y), len(x))`` or
        ``(len(x),)``; a LandscapeError when the file holds no ``<split>_loss``."""
        return self.get(f"{self._first_split()}_loss")

    @property
    def accuracy(self) -> np.ndarray | None:
        """The first split's accuracy in percent, or None when the file holds none."""
        return self.values.get(f"{self._first_split()}_acc")

    def _first_split(self) -> str:
        splits = self.splits
        return "train" if "train" in splits or not splits else splits[0]

    def has(self, name: str) -> bool:
        """Whether quantity ``name`` is stored or derivable from stored ones."""
        if name in self.values:
            return True
        return name in DERIVED and all(n in self.values for n in DERIVED[name])

    def get(self, name: str) -> np.ndarray:
        """Quantity ``name`` as float64 (derived ones computed); LandscapeError if absent."""
        if name in self.values:
            return self.values[name]
        if self.has(name):
            if name == "eig_ratio":
                with np.errstate(divide="ignore", invalid="ignore"):
                    return np.abs(self.values["min_eig"] / self.values["max_eig"])
            return 100.0 - self.values[DERIVED[name][0]]
        present = ", ".join(sorted(self.values)) or "none"
        raise LandscapeError(f"surface {self.source} has no dataset {name!r} (present: {present})")

    def label(self, axis: str) -> str:
        """Axis label: the file's ``xlabel``/``ylabel`` attribute, else ``x``/``y``."""
        return str(self.attrs.get(f"{axis}label", axis))

    def with_labels(self, xlabel: str | None = None, ylabel: str | None = None) -> Surface:
        """A copy whose axis labels are ``xlabel``/``ylabel`` where given (arrays shared)."""
        labels = {f"{a}label": v for a, v in (("x", xlabel), ("y", ylabel)) if v is not None}
        return replace(self, attrs={**self.attrs, **labels}) if labels else self

    def model(self) -> str | None:
        """The model name recorded in the attributes (``model`` or the reference's ``arch``)."""
        for key in ("model", "arch"):
            if key in self.attrs:
                return str(self.attrs[key])
        return None

    def nonfinite(self) -> int:
        """Computed points where some split's loss (or, without splits, any quantity) is NaN
        or infinite."""
        names = [f"{split}_loss" for split in self.splits] or list(self.values)
        bad = np.zeros(self.grid.shape, dtype=bool)
        for name in names:
            bad |= ~np.isfinite(self.values[name])
        return int((bad & self.computed).sum())


def split_quantities(splits: Sequence[str]) -> list[str]:
    """The quantities a loss surface stores per split: ``<split>_loss``, ``<split>_acc``."""
    return [f"{split}_{metric}" for split in splits for metric in ("loss", "acc")]


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


# ------------------------------------------------------------------------------------- read


def read_surface(path: str | Path, require: Iterable[str] = ()) -> Surface:
    """Read a surface file (ours, a shard, a ``.partial`` or a finished one of the reference's).

    Every numeric dataset at the root besides the coordinates and ``computed`` is a quantity
    and must have the grid's shape; every name in ``require`` must be stored or derivable.
    Anything that would be read wrongly is a ``LandscapeError`` naming the file and the fix.
    """
    path = Path(path)
    with open_h5(path, "surface file") as fh:
        attrs = read_attrs(fh)
        grid = _grid(fh, attrs, path)
        ours = _VERSION in attrs
        if not ours:
            _check_reference_grid(grid, path)
        values = _values(fh, grid, path)
        if not ours:
            _check_reference_finished(values, grid, path)
        computed = _computed(fh, grid, path)
        dir_file = read_string(fh["dir_file"]) if "dir_file" in fh else ""
        indices = ({k: np.asarray(v[()]) for k, v in fh[_INDICES].items()}
                   if _INDICES in fh else {})
    surface = Surface(grid, values, computed, attrs, dir_file, indices, path)
    for name in require:
        surface.get(name)
    return surface


def _grid(fh: h5py.File, attrs: dict[str, Any], path: Path) -> Grid:
    """The grid of the file's coordinates, checked against our ``grid_x``/``grid_y`` attributes."""
    if "xcoordinates" not in fh:
        raise LandscapeError(f"surface file {path} has no 'xcoordinates' dataset; "
                             "it is not a surface file (REFERENCE.md 3)")
    if "grid_y" in attrs and "ycoordinates" not in fh:
        raise LandscapeError(f"surface file {path} has a grid_y attribute but no 'ycoordinates' "
                             "dataset; the file is damaged: recompute it with `landscape surface`")
    axes = [_axis(fh[coords], attrs.get(f"grid_{name}"), path)
            for name, coords in zip("xy", _COORDS) if coords in fh]
    return Grid(*axes)


def _axis(dataset: h5py.Dataset, spec: Any, path: Path) -> Axis:
    """The axis of one coordinates dataset; ``spec`` is our ``grid_<name>`` attribute or None."""
    name = dataset.name.lstrip("/")
    axis = None
    if spec is not None:
        try:
            axis = parse_axis(spec, name[0])
        except LandscapeError as exc:
            raise LandscapeError(f"surface file {path}: its grid_{name[0]} attribute is "
                                 f"invalid ({exc}); recompute it with `landscape surface`") from exc
    if dataset.dtype.kind not in "fiu":
        problem = f"has dtype {dataset.dtype}, not numbers"
    else:
        values = np.asarray(dataset[()], dtype=np.float64)
        problem = _coordinates_problem(values, axis)
    if problem:
        raise LandscapeError(
            f"surface file {path}: {name!r} {problem}; the coordinates must be 1-D, finite, "
            "strictly increasing and evenly spaced (np.linspace): rewrite them so, or recompute "
            "the surface with `landscape surface`"
        )
    return axis or Axis(float(values[0]), float(values[-1]), int(values.size))


def _coordinates_problem(values: np.ndarray, axis: Axis | None) -> str:
    """What is wrong with one axis's coordinates ('' if nothing), given its grid attribute."""
    if values.ndim != 1:
        return f"has shape {values.shape}, not 1-D"
    if values.size == 0:
        return "is empty"
    if not np.isfinite(values).all():
        return "holds non-finite values"
    if axis is not None and axis.num != values.size:
        return f"has {values.size} points but the grid attribute says {axis.spec!r}"
    if values.size == 1 and axis is None:  # a grid axis of NUM 1 is ours only (parse_axis)
        return "has a single point (an axis needs 2 or more, or our grid attribute MIN:MIN:1)"
    if (np.diff(values) <= 0).any():
        return "is not strictly increasing"
    expected = (axis or Axis(float(values[0]), float(values[-1]), int(values.size))).coordinates()
    step = (expected[-1] - expected[0]) / (values.size - 1) if values.size > 1 else 1.0
    if np.abs(values - expected).max() > 1e-3 * step:  # a thousandth of a step: float32 passes
        return ("does not match the grid attribute " + repr(axis.spec) if axis
                else "is not evenly spaced")
    return ""


def _check_reference_grid(grid: Grid, path: Path) -> None:
    """Refuse a reference file on a non-square 2-D grid: it is scrambled (REFERENCE.md 2)."""
    if grid.y is not None and grid.x.num != grid.y.num:
        raise LandscapeError(
            f"surface file {path} was written by the reference implementation (no "
            f"{_VERSION} attribute) on a non-square grid ({grid.x.num} x-coordinates, "
            f"{grid.y.num} y-coordinates), which the reference stores scrambled (its flat point "
            "index and its array shape disagree); recompute it with `landscape surface`"
        )


def _values(fh: h5py.File, grid: Grid, path: Path) -> dict[str, np.ndarray]:
    """Every numeric dataset at the root but the coordinates and the mask, in the grid's shape."""
    values = {}
    for name, item in fh.items():
        if (name in _COORDS or name == _MASK or not isinstance(item, h5py.Dataset)
                or item.dtype.kind not in "fiu"):
            continue  # dir_file and other strings, the subset_indices group
        if item.shape != grid.shape:
            raise LandscapeError(
                f"surface file {path}: dataset {name!r} has shape {item.shape}, expected "
                f"{grid.shape} = {_SHAPE_NAMES[grid.ndim]} (loss[j, i] = L(x_i, y_j)); "
                "store it in that shape (transposed?) or remove it"
            )
        values[name] = np.asarray(item[()], dtype=np.float64)
    return values


def _check_reference_finished(values: dict[str, np.ndarray], grid: Grid, path: Path) -> None:
    """Refuse a reference file still holding -1, its mark for a point not computed yet."""
    names = [n for n in values if n.endswith(("_loss", "_acc"))]
    unset = np.zeros(grid.shape, dtype=bool)
    for name in names:
        unset |= values[name] == _UNSET
    if unset.any():
        marked = [n for n in names if (values[n] == _UNSET).any()]
        raise LandscapeError(
            f"surface file {path} holds an unfinished run of the reference implementation (no "
            f"{_VERSION} attribute): "
            f"{int(unset.sum())} of {grid.size} points still hold its 'not computed' mark -1 "
            f"(in {', '.join(marked)}); finish the run with the reference (it recomputes them) "
            "or recompute the surface with `landscape surface`"
        )


def _computed(fh: h5py.File, grid: Grid, path: Path) -> np.ndarray:
    """Our mask of computed points (shards, ``.partial`` files); a file without one is complete."""
    if _MASK not in fh:
        return np.ones(grid.shape, dtype=bool)
    item = fh[_MASK]
    if item.shape != grid.shape:
        raise LandscapeError(
            f"surface file {path}: 'computed' has shape {item.shape}, expected {grid.shape}; "
            "the file is damaged: rerun the sweep that wrote it"
        )
    return np.asarray(item[()], dtype=bool)


# ------------------------------------------------------------------------------------ merge


def merge_surfaces(paths: Sequence[str | Path], out: str | Path) -> Path:
    """Merge shard files into one surface file, refusing gaps, overlaps and mismatches.

    Every dataset the shards hold is merged (losses, accuracies, ``max_eig``, ...), so no
    quantity is lost; the merged arrays are copies of the shards' values, so they equal a
    single-job sweep's bit for bit; ``seconds`` is the shards' total and ``computed``/``shard``
    are dropped.
    """
    if not paths:
        raise LandscapeError("no shard files to merge")
    for path in paths:
        if Path(out).resolve() == Path(path).resolve():
            raise LandscapeError(f"--out {out} would overwrite the input {path}")
    first = read_surface(paths[0])
    resources.check_memory(
        f"merging {len(paths)} shards of a {first.grid.size:,}-point grid",
        [resources.Need(f"{len(paths)} shards and the merged surface",
                        (len(paths) + 1) * (len(first.values) * 8 + 1) * first.grid.size)],
        "merge on a machine with more memory")
    check_output_file(out)
    shards = [first, *(read_surface(p) for p in paths[1:])]
    first, first_path = shards[0], paths[0]
    for path, shard in zip(paths, shards):
        _check_complete_shard(path, shard)
        _check_same_surface(path, shard, first_path, first)
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
    merged = Surface(first.grid, _blank(first), np.ones(first.grid.shape, dtype=bool),
                     dir_file=first.dir_file, subset_indices=first.subset_indices)
    for shard in shards:
        for name in merged.values:
            merged.values[name][shard.computed] = shard.values[name][shard.computed]
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


def _check_same_surface(path: str | Path, shard: Surface, first_path: str | Path,
                        first: Surface) -> None:
    """A shard must agree with the first on its identity attributes, grid and datasets."""
    diff = differing(first.attrs, shard.attrs)
    if diff:
        raise LandscapeError(f"shard {path} does not match {first_path}: {', '.join(diff)} differ")
    if shard.grid != first.grid:
        raise LandscapeError(f"shard {path} does not match {first_path}: different grid")
    if set(shard.values) != set(first.values):
        raise LandscapeError(
            f"shard {path} does not match {first_path}: it holds the datasets "
            f"{', '.join(sorted(shard.values)) or 'none'}, {first_path} holds "
            f"{', '.join(sorted(first.values)) or 'none'}; merge only shards of one sweep"
        )


def _blank(surface: Surface) -> dict[str, np.ndarray]:
    """NaN arrays for every dataset of ``surface``: losses and accuracies first, in the order
    ``Surface.empty`` writes them, then the others (``max_eig``, ...) as the file lists them."""
    standard = [f"{s}_{m}" for s in surface.splits for m in ("loss", "acc")]
    names = [n for n in standard if n in surface.values]
    names += [n for n in surface.values if n not in names]
    return {name: np.full(surface.grid.shape, np.nan) for name in names}


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
