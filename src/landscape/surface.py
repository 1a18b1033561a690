"""Surface sweeps: loss and accuracy at ``theta* + a dx (+ b dy)`` over a grid, sharded, resumable.

``landscape surface --checkpoint final.pt --directions dirs.h5 --x -1:1:51 --y -1:1:51
--out surface.h5``

The model, its directions and the data sit on one device for the whole sweep: per point the
moved tensors are reset from a base copy and shifted with in-place ``torch._foreach`` ops,
the data stays uint8 on the device, and the direction file is read once. Each point is
evaluated by a pluggable ``Evaluator`` (a zero-argument callable returning ``(mean loss,
accuracy %)`` for the model's current weights), so a faster engine can replace the plain
evaluation. A point's weights never depend on earlier points, so shards, resumed runs and a
single job give the same numbers bit for bit (on one device).

Progress goes to ``<out>.partial`` (whole-file rewrites, atomic) every ``flush_seconds`` and
when the sweep is interrupted; a rerun with the same settings computes only the missing
points; a partial file of other settings is refused unless ``restart`` discards it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from landscape import __version__
from landscape import data as datasets
from landscape.checkpoint import load_model
from landscape.device import resolve_device
from landscape.directions import Alignment, Directions, align, read_directions
from landscape.errors import LandscapeError
from landscape.evaluate import evaluate
from landscape.grid import Grid, Shard, parse_shard
from landscape.h5files import sha256_file
from landscape.precision import PRECISIONS
from landscape.surface_file import Surface, differing, read_surface, write_surface

log = logging.getLogger(__name__)

Evaluator = Callable[[], tuple[float, float]]
EvaluatorFactory = Callable[..., Evaluator]


@dataclass
class SweepResult:
    path: Path
    points: int  # points this shard owns
    computed_now: int  # points evaluated by this call (the rest came from a partial file)
    nonfinite: int
    seconds: float  # compute time over all runs of this sweep, resumes included


class Mover:
    """Sets a model's tensors to ``base + sum_k c_k d_k`` in place; restores ``base`` at the end."""

    def __init__(self, alignment: Alignment) -> None:
        self.targets = alignment.targets
        self.base = [t.detach().clone() for t in self.targets]
        self.axes = [[d.to(device=t.device, dtype=t.dtype) for d, t in zip(axis, self.targets)]
                     for axis in alignment.axes]

    @torch.no_grad()
    def move(self, coefficients: tuple[float, ...]) -> None:
        torch._foreach_copy_(self.targets, self.base)
        for c, axis in zip(coefficients, self.axes):
            torch._foreach_add_(self.targets, axis, alpha=c)

    @torch.no_grad()
    def restore(self) -> None:
        torch._foreach_copy_(self.targets, self.base)


def engine_evaluator(
    model: nn.Module, data: datasets.ImageSet, *, precision: str = "auto",
    batch_size: int | None = None, compile: bool = False,
) -> Evaluator:
    """The default evaluator: ``landscape.engine``'s (BatchNorm folded, precision policy)."""
    from landscape.engine import make_evaluator

    return make_evaluator(model, data, precision=precision, batch_size=batch_size,
                          compile=compile)


# How the engine ran, recorded beside the surface: part of its identity (shards computed in
# another precision or batch size would not merge bit for bit), known only once it is built.
ENGINE_ATTRS = ("engine_precision", "engine_batch_size", "folded_batchnorms", "compiled")


def plain_evaluator(
    model: nn.Module, data: datasets.ImageSet, *, precision: str = "fp32", batch_size: int = 1024,
) -> Evaluator:
    """The default evaluator: ``landscape.evaluate.evaluate`` in fp32 on the model's device."""
    _check_plain_precision(precision)
    return lambda: evaluate(model, data, batch_size)


def _check_plain_precision(precision: str) -> None:
    if precision != "fp32":
        raise LandscapeError(f"precision {precision!r} is not available; valid: fp32")


def partial_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".partial")


def sweep(
    model: nn.Module,
    directions: Directions,
    grid: Grid,
    evaluators: Mapping[str, Evaluator],
    out: str | Path,
    *,
    shard: Shard = Shard(0, 1),
    precision: str = "fp32",
    attrs: Mapping[str, Any] | None = None,
    subset_indices: Mapping[str, np.ndarray] | None = None,
    restart: bool = False,
    progress: bool | None = None,
    flush_seconds: float = 10.0,
    on_point: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Evaluate ``shard``'s points of ``grid`` into ``out``, resuming from ``<out>.partial``.

    ``model`` and its data must already be on their device; ``evaluators`` maps a split name
    to a callable evaluating the model's current weights. ``attrs`` are stored as provenance
    (a partial file must agree with them to be resumed). ``on_point(done, total)`` runs after
    each point (tests use it to simulate a kill).
    """
    if grid.ndim > directions.ndim:
        raise LandscapeError(
            f"a 2-D grid needs two directions; direction file {directions.source or '(in memory)'}"
            " has only xdirection"
        )
    if not evaluators:
        raise LandscapeError("no split to evaluate")
    alignment = align(directions, model)
    alignment.axes = alignment.axes[: grid.ndim]
    out = Path(out)
    partial = partial_path(out)
    attrs = sweep_attrs(attrs or {}, list(evaluators), alignment.dir_type, precision, grid, shard)
    surface = _resume(partial, attrs, grid, shard, restart)
    if surface is None:
        surface = Surface.empty(grid, list(evaluators), attrs=attrs,
                                subset_indices=dict(subset_indices or {}))
    else:
        surface.attrs = {**attrs, "seconds": surface.attrs.get("seconds", 0.0)}
    surface.dir_file = directions.source

    owned = shard.points(grid)
    todo = [int(k) for k in owned if not surface.computed.flat[k]]
    coefficients = {k: grid.coefficients(k) for k in todo}
    previous_seconds = float(surface.attrs.get("seconds", 0.0))
    started = last_flush = time.perf_counter()
    done_now = 0

    def flush(path: Path, keep_mask: bool) -> None:
        surface.attrs["seconds"] = previous_seconds + time.perf_counter() - started
        surface.attrs["points_computed"] = int(surface.computed.sum())
        surface.attrs["nonfinite"] = surface.nonfinite()
        write_surface(path, surface, keep_mask)

    mover = Mover(alignment)
    model.eval()
    bar = tqdm(total=len(owned), initial=len(owned) - len(todo), unit="pt",
               desc="surface" if shard.count == 1 else f"surface {shard.spec}",
               disable=(None if progress is None else not progress), dynamic_ncols=True)
    try:
        for k in todo:
            mover.move(coefficients[k])
            for split, evaluator in evaluators.items():
                loss, acc = evaluator()
                surface.values[f"{split}_loss"].flat[k] = loss
                surface.values[f"{split}_acc"].flat[k] = acc
            surface.computed.flat[k] = True
            done_now += 1
            bar.update(1)
            if time.perf_counter() - last_flush >= flush_seconds:
                flush(partial, keep_mask=True)
                last_flush = time.perf_counter()
            if on_point is not None:
                on_point(len(owned) - len(todo) + done_now, len(owned))
    except BaseException:
        if done_now:
            flush(partial, keep_mask=True)
        raise
    finally:
        bar.close()
        mover.restore()

    flush(out, keep_mask=shard.count > 1)
    partial.unlink(missing_ok=True)
    nonfinite = int(surface.attrs["nonfinite"])
    if nonfinite:
        log.warning("warning: %d of %d points of %s have a non-finite loss (stored as NaN/Inf)",
                    nonfinite, len(owned), out)
    return SweepResult(out, len(owned), done_now, nonfinite, float(surface.attrs["seconds"]))


def sweep_attrs(attrs: Mapping[str, Any], splits: list[str], dir_type: str, precision: str,
                grid: Grid, shard: Shard) -> dict[str, Any]:
    """``attrs`` plus what the sweep itself defines: splits, direction type, precision, grid, shard."""
    return {
        **attrs,
        "splits": list(splits),
        "dir_type": dir_type,
        "precision": precision,
        "grid_x": grid.x.spec,
        "grid_y": None if grid.y is None else grid.y.spec,
        "shard": shard.spec if shard.count > 1 else None,
        "landscape_version": __version__,
    }


def _resume(partial: Path, attrs: dict[str, Any], grid: Grid, shard: Shard,
            restart: bool, ignore: tuple[str, ...] = ()) -> Surface | None:
    """The partial surface to continue, or None to start fresh; refuse another sweep's."""
    if not partial.exists():
        return None
    if restart:
        partial.unlink()
        return None
    surface = read_surface(partial)
    diff = [k for k in differing(surface.attrs, attrs) if k not in ignore]
    if surface.attrs.get("shard") != attrs.get("shard"):
        diff.append("shard")
    if surface.grid != grid:
        diff.append("grid")
    if diff:
        raise LandscapeError(
            f"{partial} holds progress of a sweep with other settings ({', '.join(sorted(set(diff)))});"
            " rerun with the same arguments, pass --restart to discard it, or choose another --out"
        )
    if np.any(surface.computed & ~shard.mask(grid)):
        raise LandscapeError(f"{partial} holds points outside shard {shard.spec}")
    return surface


# ----------------------------------------------------------------------- from checkpoints


@dataclass
class SurfaceConfig:
    """A surface sweep from files: what ``landscape surface`` runs."""

    checkpoint: str
    directions: str
    x: str  # "min:max:num"
    y: str | None = None
    arch: str | None = None
    dataset: str = "cifar10"
    data_dir: str = "data"
    splits: tuple[str, ...] = ("train",)
    subset: int | None = None  # None: every image of each split
    subset_rule: str = "first"  # or "random", drawn with subset_seed
    subset_seed: int = 0
    batch_size: int | None = None  # None: the engine picks (free memory on CUDA)
    device: str = "auto"
    precision: str = "auto"  # fp32 | tf32 | bf16 | auto (see landscape.precision)
    compile: bool = False  # torch.compile the evaluation (pays off on CUDA)
    shard: str = "0/1"

    def validate(self) -> tuple[Grid, Shard]:
        """Check every setting before any work; returns the parsed grid and shard."""
        grid, shard = Grid.parse(self.x, self.y), parse_shard(self.shard)
        if self.dataset not in datasets.DATASETS:
            raise LandscapeError(
                f"unknown data set {self.dataset!r}; valid: {', '.join(datasets.DATASETS)}"
            )
        bad = [s for s in self.splits if s not in datasets.SPLITS]
        if bad or not self.splits or len(set(self.splits)) != len(self.splits):
            raise LandscapeError(f"splits must be distinct names from {', '.join(datasets.SPLITS)}")
        if self.subset_rule not in datasets.SUBSET_RULES:
            raise LandscapeError(
                f"unknown subset rule {self.subset_rule!r}; valid: {', '.join(datasets.SUBSET_RULES)}"
            )
        if self.subset is not None and self.subset < 1:
            raise LandscapeError(f"subset must be at least 1, got {self.subset}")
        if self.precision not in PRECISIONS:
            raise LandscapeError(
                f"unknown precision {self.precision!r}; valid: {', '.join(PRECISIONS)}"
            )
        if self.batch_size is not None and self.batch_size < 1:
            raise LandscapeError(f"batch_size must be at least 1, got {self.batch_size}")
        return grid, shard


def compute_surface(
    cfg: SurfaceConfig,
    out: str | Path,
    *,
    restart: bool = False,
    progress: bool | None = None,
    make_evaluator: EvaluatorFactory = engine_evaluator,
    flush_seconds: float = 10.0,
    on_point: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Load checkpoint, directions and data, check them all, then ``sweep`` into ``out``.

    ``make_evaluator(model, data, *, precision, batch_size[, compile])`` builds one split's
    evaluator (``compile`` is passed only when set).
    """
    grid, shard = cfg.validate()
    splits = [s for s in datasets.SPLITS if s in cfg.splits]  # one order, whatever was typed
    for name in (cfg.checkpoint, cfg.directions):
        if Path(out).resolve() == Path(name).resolve():
            raise LandscapeError(f"--out {out} would overwrite the input {name}")
    if make_evaluator is plain_evaluator:
        _check_plain_precision(cfg.precision)  # before any work
    device = resolve_device(cfg.device)
    model, payload = load_model(cfg.checkpoint, cfg.arch)
    directions = read_directions(cfg.directions)
    dir_type = align(directions, model).dir_type
    if grid.ndim > directions.ndim:
        raise LandscapeError(f"--y needs two directions; {cfg.directions} has only xdirection")
    attrs = {
        "checkpoint": str(cfg.checkpoint),
        "checkpoint_sha256": sha256_file(cfg.checkpoint),
        "arch": cfg.arch or payload.get("arch"),
        "directions": str(cfg.directions),
        "directions_sha256": sha256_file(cfg.directions),
        "dataset": cfg.dataset,
        "data_dir": str(cfg.data_dir),
        "subset_rule": "all" if cfg.subset is None else cfg.subset_rule,
        "subset_size": cfg.subset,
        "subset_seed": (cfg.subset_seed if cfg.subset is not None and cfg.subset_rule == "random"
                        else None),
        "batch_size": cfg.batch_size,
    }
    if not restart and partial_path(out).exists():  # refuse another sweep's progress early
        expected = sweep_attrs(attrs, splits, dir_type, cfg.precision, grid, shard)
        _resume(partial_path(out), expected, grid, shard, restart=False, ignore=ENGINE_ATTRS)

    model.to(device)
    sets, indices = {}, {}
    for split in splits:
        full = datasets.load(cfg.dataset, split, cfg.data_dir)
        if cfg.subset is not None and cfg.subset > len(full):
            raise LandscapeError(
                f"subset {cfg.subset} is larger than the {len(full)} images of "
                f"{cfg.dataset}'s {split} split"
            )
        idx = datasets.subset_indices(len(full), cfg.subset, cfg.subset_rule, cfg.subset_seed)
        if cfg.subset is not None and cfg.subset_rule == "random":
            indices[split] = idx.numpy()
        sets[split] = full.select(idx).to(device)
    options = {"compile": True} if cfg.compile else {}
    evaluators = {
        split: make_evaluator(model, sets[split], precision=cfg.precision,
                              batch_size=cfg.batch_size, **options)
        for split in splits
    }
    first = evaluators[splits[0]]
    if hasattr(first, "describe"):
        engine = first.describe()
        attrs.update(engine_precision=engine["precision"], engine_batch_size=engine["batch_size"],
                     folded_batchnorms=engine["folded_batchnorms"], compiled=engine["compiled"])
        log.info("evaluating in %s, batch %s, %s batch norms folded%s", engine["precision"],
                 engine["batch_size"], engine["folded_batchnorms"],
                 ", compiled" if engine["compiled"] else "")
    attrs.update(device=device.type, split_sizes=[len(sets[s]) for s in splits])
    return sweep(model, directions, grid, evaluators, out, shard=shard, precision=cfg.precision,
                 attrs=attrs, subset_indices=indices, restart=restart, progress=progress,
                 flush_seconds=flush_seconds, on_point=on_point)
