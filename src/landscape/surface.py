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
points; a partial file of other settings is refused unless ``restart`` discards it. With no
``out`` a sweep runs in memory and returns its ``Surface`` (the Python API's path).
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

from landscape import __version__, faults, resources
from landscape import data as datasets
from landscape.atomic import remove_stale_temporaries
from landscape.batchnorm import recomputing, statistics_kept
from landscape.checkpoint import load_model
from landscape.configs import SurfaceConfig
from landscape.device import resolve_device
from landscape.directions import Alignment, Directions, align, read_directions
from landscape.errors import LandscapeError
from landscape.evaluate import Batches, LossFn, evaluate
from landscape.grid import Grid, Shard
from landscape.h5files import sha256_file
from landscape.precision import PROBE_IMAGES, candidates
from landscape.paths import check_output_file
from landscape.surface_file import (
    Surface, differing, read_surface, split_quantities, write_surface,
)

log = logging.getLogger(__name__)

Evaluator = Callable[[], tuple[float, float]]  # one split: (mean loss, accuracy %)
Measure = Callable[[], Mapping[str, float]]  # any quantities of the model's current weights

# Attributes of the engine's describe() that are part of a surface's identity (the rest, its
# device and probe error, describe one run). A resumed sweep continues with the engine
# settings it started with, so these never differ within one surface.
ENGINE_PREFIX = "engine_"


@dataclass
class SweepResult:
    path: Path | None  # None for an in-memory sweep
    points: int  # points this shard owns
    computed_now: int  # points evaluated by this call (the rest came from a partial file)
    nonfinite: int
    seconds: float  # compute time over all runs of this sweep, resumes included
    surface: Surface  # what was computed (this shard's points)


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
    batch_size: int | None = None, compile: bool = False, loss_fn: LossFn | None = None,
) -> Evaluator:
    """The default evaluator: ``landscape.engine``'s (BatchNorm folded, precision policy)."""
    from landscape.engine import make_evaluator

    return make_evaluator(model, data, precision=precision, batch_size=batch_size,
                          compile=compile, loss_fn=loss_fn)


def plain_evaluator(model: nn.Module, data: Batches, *, batch_size: int = 1024,
                    loss_fn: LossFn | None = None) -> Evaluator:
    """``landscape.evaluate.evaluate`` in the model's own precision, on the model's device."""
    return lambda: evaluate(model, data, batch_size, loss_fn=loss_fn)


def partial_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".partial")


def sweep(
    model: nn.Module,
    directions: Directions,
    grid: Grid,
    evaluators: Mapping[str, Evaluator],
    out: str | Path | None = None,
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
    each point (tests use it to simulate a kill). Without ``out`` nothing is written and the
    result's ``surface`` holds the values.
    """
    alignment = check_sweep(model, directions, grid, evaluators)
    check_sweep_size(grid, split_quantities(list(evaluators)), shard, out)
    attrs = sweep_attrs(attrs or {}, list(evaluators), alignment.dir_type, precision, grid, shard)
    start = None if out is None else resume_state(out, attrs, grid, shard, restart)
    return run_sweep(model, alignment, grid, *split_measure(evaluators), out, shard=shard,
                     attrs=attrs,
                     start=start, subset_indices=subset_indices, dir_file=directions.source,
                     progress=progress, flush_seconds=flush_seconds, on_point=on_point)


def split_measure(evaluators: Mapping[str, Evaluator]) -> tuple[list[str], Measure]:
    """Split evaluators as one measure: ``<split>_loss`` and ``<split>_acc`` per split."""
    def measure() -> dict[str, float]:
        out = {}
        for split, evaluator in evaluators.items():
            out[f"{split}_loss"], out[f"{split}_acc"] = evaluator()
        return out

    return split_quantities(list(evaluators)), measure


def check_sweep_size(grid: Grid, quantities: list[str], shard: Shard,
                     out: str | Path | None) -> None:
    """Refuse, before any work, a sweep whose arrays cannot fit in memory or whose file (and
    its progress file) cannot fit on disk. Every sweep stage calls it once its grid is known."""
    resources.check_grid("the sweep", grid, quantities, shard)
    if out is not None:
        check_output_file(out)
        resources.check_disk(f"the surface file {out} and its progress file", Path(out).parent,
                             2 * resources.surface_file_bytes(grid, quantities))


def check_sweep(model: nn.Module, directions: Directions, grid: Grid,
                evaluators: Mapping[str, Any]) -> Alignment:
    """The model's tensors the directions move, after checking directions, grid and splits."""
    alignment = align(directions, model)
    if grid.ndim > directions.ndim:
        raise LandscapeError(
            f"a 2-D grid needs two directions; direction file {directions.source or '(in memory)'}"
            " has only xdirection"
        )
    if not evaluators:
        raise LandscapeError("no split to evaluate")
    alignment.axes = alignment.axes[: grid.ndim]
    return alignment


def run_sweep(
    model: nn.Module,
    alignment: Alignment,
    grid: Grid,
    quantities: list[str],
    measure: Measure,
    out: str | Path | None,
    *,
    shard: Shard,
    attrs: dict[str, Any],
    start: Surface | None,
    subset_indices: Mapping[str, np.ndarray] | None = None,
    dir_file: str = "",
    progress: bool | None = None,
    flush_seconds: float = 10.0,
    on_point: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """The loop over points: ``start`` (a checked partial surface) or a fresh one, filled in.

    At each of the shard's points not yet computed, the model's tensors are moved and
    ``measure()`` gives every name in ``quantities`` (losses and accuracies, eigenvalues...).
    """
    surface = start
    if surface is None:
        surface = Surface.blank(grid, quantities, attrs=attrs,
                                subset_indices=dict(subset_indices or {}))
    else:
        surface.attrs = {**attrs, "seconds": surface.attrs.get("seconds", 0.0)}
    surface.dir_file = dir_file
    out = None if out is None else Path(out)
    partial = None if out is None else partial_path(out)

    owned = shard.points(grid)
    todo = owned[~surface.computed.ravel()[owned]]
    previous_seconds = float(surface.attrs.get("seconds", 0.0))
    started = last_flush = time.perf_counter()
    done_now = 0

    def flush(path: Path | None, keep_mask: bool) -> None:
        surface.attrs["seconds"] = previous_seconds + time.perf_counter() - started
        surface.attrs["points_computed"] = int(surface.computed.sum())
        surface.attrs["nonfinite"] = surface.nonfinite()
        if path is not None:
            write_surface(path, surface, keep_mask)

    mover = Mover(alignment)
    model.eval()
    bar = tqdm(total=len(owned), initial=len(owned) - len(todo), unit="pt",
               desc="surface" if shard.count == 1 else f"surface {shard.spec}",
               disable=(None if progress is None else not progress), dynamic_ncols=True)
    try:
        for k in map(int, todo):
            mover.move(grid.coefficients(k))
            values = measure()
            faults.reached("point")
            for name, value in values.items():
                surface.values[name].flat[k] = value
            surface.computed.flat[k] = True
            done_now += 1
            bar.update(1)
            if partial is not None and time.perf_counter() - last_flush >= flush_seconds:
                flush(partial, keep_mask=True)
                last_flush = time.perf_counter()
            if on_point is not None:
                on_point(len(owned) - len(todo) + done_now, len(owned))
    except BaseException:
        if done_now and partial is not None:
            flush(partial, keep_mask=True)
        raise
    finally:
        bar.close()
        mover.restore()

    flush(out, keep_mask=shard.count > 1)
    if partial is not None:
        partial.unlink(missing_ok=True)
        remove_stale_temporaries(partial)  # of a run killed while saving its progress
    nonfinite = int(surface.attrs["nonfinite"])
    if nonfinite:
        log.warning("warning: %d of %d points of %s have a non-finite loss (stored as NaN/Inf)",
                    nonfinite, len(owned), out or "the surface")
    return SweepResult(out, len(owned), done_now, nonfinite, float(surface.attrs["seconds"]),
                       surface)


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


def resume_state(out: str | Path, attrs: dict[str, Any], grid: Grid, shard: Shard,
                 restart: bool) -> Surface | None:
    """The partial surface of ``out`` to continue, or None to start fresh; refuse another sweep's.

    The engine's settings are not compared: a resumed sweep adopts the partial file's
    (``engine_settings``).
    """
    partial = partial_path(out)
    if not partial.exists():
        return None
    if restart:
        partial.unlink()
        return None
    try:
        surface = read_surface(partial)
    except LandscapeError as exc:
        raise LandscapeError(f"{exc}; pass --restart to discard {partial}") from exc
    diff = [k for k in differing(surface.attrs, attrs) if not k.startswith(ENGINE_PREFIX)]
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


def engine_settings(start: Surface | None, precision: str, batch_size: int | None
                    ) -> tuple[str, int | None]:
    """(precision, batch size) for the engine: a partial file's own, so its points and the
    remaining ones are computed alike; else the requested ones."""
    if start is None or f"{ENGINE_PREFIX}precision" not in start.attrs:
        return precision, batch_size
    return (str(start.attrs[f"{ENGINE_PREFIX}precision"]),
            int(start.attrs[f"{ENGINE_PREFIX}batch_size"]))


# ----------------------------------------------------------------------- from checkpoints


def compute_surface(
    cfg: SurfaceConfig,
    out: str | Path,
    *,
    restart: bool = False,
    progress: bool | None = None,
    flush_seconds: float = 10.0,
    on_point: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Load checkpoint, directions and data, check them all, then sweep into ``out``.

    Every check (settings, inputs, a partial file's identity) runs before the data is loaded.
    """
    grid, shard = cfg.validate()
    splits = [s for s in datasets.SPLITS if s in cfg.splits]  # one order, whatever was typed
    inputs = sweep_inputs(cfg, out, grid, shard, splits, split_quantities(splits))
    model, alignment, device = inputs.model, inputs.alignment, inputs.device
    attrs = sweep_attrs({**inputs.attrs, "compile": cfg.compile, "bn": cfg.bn}, splits,
                        alignment.dir_type, cfg.precision, grid, shard)
    if cfg.grid_from is not None:
        attrs["grid_from"] = _grid_source(cfg.grid_from, cfg.directions, attrs["directions_sha256"])
    start = resume_state(out, attrs, grid, shard, restart)
    precision, batch_size = engine_settings(start, cfg.precision, cfg.batch_size)

    sets, indices = {}, {}
    log.info("loading %s (%s%s) onto %s", cfg.dataset, " and ".join(splits),
             "" if cfg.subset is None else f", {cfg.subset} images each", device)
    for split in splits:
        sets[split], idx = load_split(cfg, split)
        if cfg.subset is not None and cfg.subset_rule == "random":
            indices[split] = idx.numpy()
    resources.check_device_data("the sweep", sets, device, "evaluate on fewer images (--subset)")
    model.to(device)
    sets = {split: images.to(device) for split, images in sets.items()}
    log.info("setting up the evaluation on %s: %s", device, _setup_words(precision, device))
    evaluators = {split: engine_evaluator(model, sets[split], precision=precision,
                                          batch_size=batch_size, compile=cfg.compile)
                  for split in splits}
    engine = evaluators[splits[0]].describe()
    attrs.update({f"{ENGINE_PREFIX}{k}": v for k, v in engine.items()})
    attrs.update(device=device.type, split_sizes=[len(sets[s]) for s in splits])
    log.info("evaluating %d points in %s, batch %s, %s batch norms folded%s", len(shard.points(grid)),
             engine["precision"], engine["batch_size"], engine["folded_batchnorms"],
             ", compiled" if engine["compiled"] else "")
    quantities, measure = split_measure(evaluators)
    if cfg.bn == "recompute":
        log.info("re-estimating the BatchNorm statistics on %s at every point", splits[0])
        measure = recomputing(model, sets[splits[0]], measure, cfg.batch_size)
    with statistics_kept(model):
        return run_sweep(model, alignment, grid, quantities, measure, out, shard=shard,
                         attrs=attrs, start=start, subset_indices=indices,
                         dir_file=str(cfg.directions), progress=progress,
                         flush_seconds=flush_seconds, on_point=on_point)


@dataclass
class SweepInputs:
    """A sweep's checked inputs: the model, its directions aligned to it, the device and
    the provenance attributes of the files."""

    model: nn.Module
    directions: Directions
    alignment: Alignment
    device: torch.device
    attrs: dict[str, Any]


def sweep_inputs(cfg: SurfaceConfig, out: str | Path, grid: Grid, shard: Shard,
                 splits: list[str], quantities: list[str]) -> SweepInputs:
    """Check and load what a surface or Hessian sweep reads, before any data: ``out`` is no
    input, the arrays fit, the subset fits each split, checkpoint and directions fit the grid
    and each other."""
    for name in (cfg.checkpoint, cfg.directions):
        if Path(out).resolve() == Path(name).resolve():
            raise LandscapeError(f"--out {out} would overwrite the input {name}")
    check_sweep_size(grid, quantities, shard, out)
    for split in splits:
        check_subset(cfg, split, datasets.split_size(cfg.dataset, split))
    device = resolve_device(cfg.device)
    model, payload = load_model(cfg.checkpoint, cfg.arch)
    directions = read_directions(cfg.directions)
    alignment = check_sweep(model, directions, grid, splits)
    attrs = provenance(cfg, payload)
    attrs.update(check_origin(cfg, directions, attrs["checkpoint_sha256"]))
    return SweepInputs(model, directions, alignment, device, attrs)


def check_origin(cfg: SurfaceConfig, directions: Directions, checkpoint_sha256: str
                 ) -> dict[str, Any]:
    """Refuse directions drawn for another checkpoint unless ``allow_other_checkpoint``.

    Filter normalization scales each direction filter to the weights it was drawn for, so a
    sweep at other weights (directions of epoch 1 at the final model) shows something else;
    allowed, it is warned about and recorded. Returns the provenance attributes: the SHA-256
    the direction file records (None for files without one, such as the reference's) and
    ``other_checkpoint``.
    """
    drawn_for = directions.attrs.get("checkpoint_sha256")
    other = drawn_for is not None and drawn_for != checkpoint_sha256
    if other:
        where = (f"direction file {cfg.directions} was drawn for checkpoint "
                 f"{directions.attrs.get('checkpoint', '?')} (SHA-256 {str(drawn_for)[:12]}...),"
                 f" not for {cfg.checkpoint} (SHA-256 {checkpoint_sha256[:12]}...)")
        if not cfg.allow_other_checkpoint:
            raise LandscapeError(
                f"{where}: its filter normalization is relative to those weights. Draw "
                "directions for this checkpoint, or pass --allow-other-checkpoint to sweep "
                "anyway (recorded in the surface)")
        log.warning("warning: %s; sweeping anyway (--allow-other-checkpoint), recorded in the "
                    "surface as other_checkpoint", where)
    return {"directions_checkpoint_sha256": drawn_for, "other_checkpoint": other}


def _setup_words(precision: str, device: torch.device) -> str:
    """What the engine set-up is about to do (the precision probe takes seconds on a CPU)."""
    modes = candidates(device)
    if precision == "auto" and len(modes) > 1:
        return (f"BatchNorm folding, then a precision probe ({', '.join(modes)} against "
                f"float64 on up to {PROBE_IMAGES} images, two points)")
    return f"BatchNorm folding, precision {modes[-1] if precision == 'auto' else precision}"


def provenance(cfg: SurfaceConfig, payload: Mapping[str, Any]) -> dict[str, Any]:
    """What recomputes any point of a sweep from files without the workflow (the surface's, or
    the Hessian sweep's, whose config has the same input and data fields)."""
    return {
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


def _grid_source(path: str, directions: str, directions_sha256: str) -> str:
    """``path``, after checking that its path was projected onto ``directions``: the grid
    covers the path only in the coordinates of those directions."""
    from landscape.trajectory_file import read_trajectory

    recorded = read_trajectory(path).attrs.get("directions_sha256")
    if recorded != directions_sha256:
        raise LandscapeError(
            f"--grid-from {path} holds a path projected onto other directions than "
            f"--directions {directions}; pass the direction file it was made with"
        )
    return str(path)


def check_subset(cfg: SurfaceConfig, split: str, size: int) -> None:
    """Refuse a subset larger than the ``size`` images of ``split``."""
    if cfg.subset is not None and cfg.subset > size:
        raise LandscapeError(
            f"subset {cfg.subset} is larger than the {size} images of {cfg.dataset}'s {split} split"
        )


def load_split(cfg: SurfaceConfig, split: str) -> tuple[datasets.ImageSet, torch.Tensor]:
    """One split's images (the configured subset) on the CPU, and their indices."""
    full = datasets.load(cfg.dataset, split, cfg.data_dir)
    check_subset(cfg, split, len(full))
    idx = datasets.subset_indices(len(full), cfg.subset, cfg.subset_rule, cfg.subset_seed)
    return full.select(idx), idx
