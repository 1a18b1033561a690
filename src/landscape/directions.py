"""Random (filter-normalized) and target directions in weight space, and their HDF5 files.

``landscape directions --checkpoint runs/r56/final.pt --out r56_dirs.h5`` draws the paper's two
filter-normalized random directions (REFERENCE.md 1). A direction holds one float32 tensor
per entry of ``model.parameters()`` (type ``weights``) or of ``model.state_dict()`` (type
``states``), in that order. Random directions come from a ``torch.Generator`` seeded by
``seed`` alone, so they do not depend on how or where the model was built. Files use the
reference layout (``xdirection/0..N-1``, ``ydirection/...``) plus provenance attributes; files
written by the reference implementation (no attributes) read the same.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from landscape import __version__
from landscape.checkpoint import load_model
from landscape.choices import DIR_TYPES, IGNORES, NORMS
from landscape.configs import DirectionsConfig
from landscape.device import generator
from landscape.errors import LandscapeError
from landscape.h5files import atomic_h5, open_h5, read_attrs, sha256_file, write_attrs

log = logging.getLogger(__name__)

AXIS_GROUPS = ("xdirection", "ydirection")
EPS = 1e-10  # the reference's guard against a zero-norm direction slice


@dataclass
class Directions:
    """One (``y is None``) or two directions, each a list of tensors in model order."""

    x: list[torch.Tensor]
    y: list[torch.Tensor] | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # the file they were read from, if any

    @property
    def ndim(self) -> int:
        return 1 if self.y is None else 2

    @property
    def axes(self) -> list[list[torch.Tensor]]:
        return [self.x] if self.y is None else [self.x, self.y]


def entries(model: nn.Module, dir_type: str) -> list[tuple[str, torch.Tensor]]:
    """The named tensors a direction of ``dir_type`` has one entry for, in file order."""
    if dir_type == "weights":
        return [(name, p.detach()) for name, p in model.named_parameters()]
    if dir_type == "states":
        return list(model.state_dict().items())
    raise LandscapeError(f"unknown direction type {dir_type!r}; valid: {', '.join(DIR_TYPES)}")


# --------------------------------------------------------------------------------- drawing


def normalize_(d: torch.Tensor, w: torch.Tensor, norm: str) -> None:
    """Rescale direction tensor ``d`` in place against weight tensor ``w`` (2+ dimensions)."""
    if norm == "filter":
        # One factor per slice along dim 0: a conv output filter, a Linear row.
        d_norm = d.flatten(1).norm(dim=1)
        w_norm = w.flatten(1).norm(dim=1)
        d.mul_((w_norm / (d_norm + EPS)).view(-1, *([1] * (d.dim() - 1))))
    elif norm == "layer":
        d.mul_(w.norm() / (d.norm() + EPS))
    elif norm == "weight":
        d.mul_(w)
    elif norm != "none":
        raise LandscapeError(f"unknown normalization {norm!r}; valid: {', '.join(NORMS)}")


def random_direction(
    weights: Sequence[torch.Tensor], gen: torch.Generator, norm: str = "filter",
    ignore: str = "biasbn",
) -> list[torch.Tensor]:
    """One N(0, 1) tensor per weight tensor, normalized as REFERENCE.md 1 defines.

    Tensors with 0 or 1 dimensions (biases, BatchNorm) are zero under ``ignore='biasbn'``;
    otherwise they copy the weight itself, as the reference does. Integer buffers
    (``num_batches_tracked``) always get a zero direction: they are counters, not weights.
    """
    if ignore not in IGNORES:
        raise LandscapeError(f"unknown ignore rule {ignore!r}; valid: {', '.join(IGNORES)}")
    direction = []
    for w in weights:
        w = w.detach().cpu()
        # Drawn for every entry, so the stream does not depend on which entries are kept.
        d = torch.randn(w.shape, generator=gen, dtype=torch.float32)
        if not w.is_floating_point():
            d.zero_()
        elif w.dim() <= 1:
            d = torch.zeros_like(d) if ignore == "biasbn" else w.float().clone()
        else:
            normalize_(d, w.float(), norm)
        direction.append(d)
    return direction


def random_directions(
    model: nn.Module, *, axes: int = 2, dir_type: str = "weights", norm: str = "filter",
    ignore: str = "biasbn", seed: int = 0,
) -> Directions:
    """``axes`` random directions for ``model``; x is drawn first, so 1-D x equals 2-D x."""
    directions = draw_directions([w for _, w in entries(model, dir_type)], axes=axes,
                                 norm=norm, ignore=ignore, seed=seed)
    directions.attrs["dir_type"] = dir_type
    return directions


def draw_directions(
    weights: Sequence[torch.Tensor], *, axes: int = 2, norm: str = "filter",
    ignore: str = "biasbn", seed: int = 0,
) -> Directions:
    """``axes`` random directions for the tensors ``weights`` (any selection of a model's)."""
    if axes not in (1, 2):
        raise LandscapeError(f"axes must be 1 or 2, got {axes}")
    if norm not in NORMS:
        raise LandscapeError(f"unknown normalization {norm!r}; valid: {', '.join(NORMS)}")
    gen = generator(seed)
    drawn = [random_direction(weights, gen, norm, ignore) for _ in range(axes)]
    attrs = {"kind": "random", "axes": axes, "dir_type": "weights", "norm": norm,
             "ignore": ignore, "seed": seed, "landscape_version": __version__}
    return Directions(drawn[0], drawn[1] if axes == 2 else None, attrs)


def target_direction(model: nn.Module, target: nn.Module, dir_type: str = "weights") -> Directions:
    """The 1-D direction ``theta_target - theta_model``, unnormalized (paper Fig. 2)."""
    mine, theirs = entries(model, dir_type), entries(target, dir_type)
    if [n for n, _ in mine] != [n for n, _ in theirs] or any(
        a.shape != b.shape for (_, a), (_, b) in zip(mine, theirs)
    ):
        raise LandscapeError(
            "the target model's tensors do not match the model's (another architecture?)"
        )
    x = [
        (b.detach().cpu().float() - a.detach().cpu().float())
        if a.is_floating_point() else torch.zeros(a.shape)
        for (_, a), (_, b) in zip(mine, theirs)
    ]
    attrs = {"kind": "target", "axes": 1, "dir_type": dir_type, "norm": "none",
             "landscape_version": __version__}
    return Directions(x, None, attrs)


def directions_for_checkpoint(
    checkpoint: str | Path, *, arch: str | None = None, target: str | Path | None = None,
    axes: int = 2, dir_type: str = "weights", norm: str = "filter", ignore: str = "biasbn",
    seed: int = 0,
) -> Directions:
    """Random directions for a checkpoint's model, or the target direction to ``target``."""
    if dir_type not in DIR_TYPES:
        raise LandscapeError(f"unknown direction type {dir_type!r}; valid: {', '.join(DIR_TYPES)}")
    model, payload = load_model(checkpoint, arch)
    arch = arch or payload.get("arch")
    if target is None:
        dirs = random_directions(model, axes=axes, dir_type=dir_type, norm=norm, ignore=ignore,
                                 seed=seed)
    else:
        other, _ = load_model(target, arch)
        dirs = target_direction(model, other, dir_type)
        dirs.attrs.update(target=str(target), target_sha256=sha256_file(target))
    dirs.attrs.update(checkpoint=str(checkpoint), checkpoint_sha256=sha256_file(checkpoint),
                      arch=arch)
    return dirs


def directions_for_config(cfg: DirectionsConfig, out: str | Path | None = None) -> Directions:
    """What ``landscape directions`` draws for ``cfg``; refuses an ``out`` that is an input."""
    cfg.validate()
    for name in filter(None, (cfg.checkpoint, cfg.target)):
        if out is not None and Path(out).resolve() == Path(name).resolve():
            raise LandscapeError(f"--out {out} would overwrite the input {name}")
    if cfg.target is not None and cfg.dir_type == "weights":
        log.warning("warning: --dir-type weights with --target moves the parameters only; the "
                    "BatchNorm running statistics stay at --checkpoint's, so alpha = 1 is not "
                    "the target model (use the default, states, to interpolate)")
    full = cfg.resolved()
    return directions_for_checkpoint(
        full.checkpoint, arch=full.arch, target=full.target, axes=full.axes,
        dir_type=full.dir_type, norm=full.norm, ignore=full.ignore, seed=full.seed,
    )


# ------------------------------------------------------------------------------------ files


def write_directions(path: str | Path, directions: Directions) -> Path:
    """Write the reference layout (float32 datasets ``"0".."N-1"`` per axis) plus attributes."""
    path = Path(path)
    with atomic_h5(path) as fh:
        for group_name, tensors in zip(AXIS_GROUPS, directions.axes):
            group = fh.create_group(group_name)
            for i, d in enumerate(tensors):
                group.create_dataset(str(i), data=d.detach().cpu().float().numpy())
        write_attrs(fh, directions.attrs)
    return path


def read_directions(path: str | Path) -> Directions:
    """Read a direction file (ours or the reference's); tensors come back as float32."""
    with open_h5(path, "direction file") as fh:
        if "xdirection" not in fh:
            raise LandscapeError(f"direction file {path} has no 'xdirection' group")
        axes = [_read_axis(fh[name], path) for name in AXIS_GROUPS if name in fh]
        if len(axes) == 2 and len(axes[1]) != len(axes[0]):
            raise LandscapeError(
                f"direction file {path}: xdirection has {len(axes[0])} tensors but ydirection"
                f" has {len(axes[1])}"
            )
        attrs = read_attrs(fh)
    return Directions(axes[0], axes[1] if len(axes) == 2 else None, attrs, str(path))


def _read_axis(group: Any, path: str | Path) -> list[torch.Tensor]:
    names = sorted(group.keys(), key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))
    if names != [str(i) for i in range(len(names))]:
        raise LandscapeError(
            f"direction file {path}: group {group.name} must hold datasets '0'..'N-1', got "
            f"{names[:5]}{'...' if len(names) > 5 else ''}"
        )
    tensors = []
    for name in names:
        item = group[name]
        value = np.asarray(item[()]) if hasattr(item, "dtype") else None
        if value is None or value.dtype.kind not in "fiu":
            raise LandscapeError(f"direction file {path}: {item.name} is not a numeric dataset")
        tensors.append(torch.from_numpy(value.astype(np.float32, copy=False)).clone())
    return tensors


# ------------------------------------------------------------------------- fitting a model


@dataclass
class Alignment:
    """A model's tensors that a direction moves, with the direction tensors for each axis."""

    dir_type: str
    names: list[str]
    targets: list[torch.Tensor]  # live tensors of the model, updated in place by a sweep
    axes: list[list[torch.Tensor]]


def align(directions: Directions, model: nn.Module) -> Alignment:
    """Match direction tensors to ``model``'s entries by order, checking count and shapes.

    The type comes from the file's ``dir_type`` attribute or, for a reference file, from the
    count: parameters (``weights``) or state entries (``states``; with or without the
    ``num_batches_tracked`` counters, which reference-era checkpoints lack). Integer entries
    are never moved.
    """
    source = directions.source or "(in memory)"
    count = len(directions.x)
    candidates = {
        "weights": entries(model, "weights"),
        "states": entries(model, "states"),
    }
    float_states = [(n, t) for n, t in candidates["states"] if t.is_floating_point()]
    wanted = directions.attrs.get("dir_type")
    if wanted is not None and wanted not in DIR_TYPES:
        raise LandscapeError(f"direction file {source}: unknown dir_type {wanted!r}")
    options = [(k, v) for k, v in candidates.items() if wanted in (None, k)]
    if wanted in (None, "states"):
        options.append(("states", float_states))
    match = next(((k, v) for k, v in options if len(v) == count), None)
    if match is None:
        needs = " or ".join(f"{len(v)} ({k})" for k, v in options)
        raise LandscapeError(
            f"direction file {source} has {count} tensors per axis but {type(model).__name__} "
            f"needs {needs}: made for another model?"
        )
    dir_type, named = match
    return align_to(directions, named, dir_type)


def align_to(directions: Directions, named: Sequence[tuple[str, torch.Tensor]],
             dir_type: str = "weights") -> Alignment:
    """Match direction tensors to the tensors ``named`` by order, checking count and shapes."""
    source = directions.source or "(in memory)"
    for axis in directions.axes:
        if len(axis) != len(named):
            raise LandscapeError(
                f"directions {source} have {len(axis)} tensors per axis but {len(named)} tensors"
                " are to be moved"
            )
        for i, ((name, t), d) in enumerate(zip(named, axis)):
            if tuple(d.shape) != tuple(t.shape):
                raise LandscapeError(
                    f"direction file {source}: tensor {i} has shape {tuple(d.shape)} but the "
                    f"model's {name} has {tuple(t.shape)}"
                )
    keep = [i for i, (_, t) in enumerate(named) if t.is_floating_point()]
    return Alignment(
        dir_type=dir_type,
        names=[named[i][0] for i in keep],
        targets=[named[i][1] for i in keep],
        axes=[[axis[i] for i in keep] for axis in directions.axes],
    )
