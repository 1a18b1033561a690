"""The Python API's optimizer path (paper Fig. 9) for any model's own training run.

>>> path = landscape.trajectory(model, ["ep0.pt", "ep1.pt", ..., "final.pt"], (X, y))  # doctest: +SKIP
>>> landscape.plot(path, out="fig9.png")       # the path over the loss contours

The PCA is the ``landscape trajectory`` stage's own (``landscape.trajectory_pca.pca``): the same
rows ``w_i - w_final`` (1-D tensors zeroed), read in column blocks, so the directions,
explained variance and path are those of the stage, number for number. Checkpoint files are
streamed as the stage streams them (only their tensors' locations are read up front, then a
block of every file at a time); state dicts given in memory are read in place, not copied.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

import numpy as np
import torch
from torch import nn

from landscape import __version__
from landscape.api import _data_range, loss_surface
from landscape.checkpoint import read_checkpoint
from landscape.plots import PlotOptions, plot_style, save_figures
from landscape.plots.trajectory import path_figure
from landscape.errors import LandscapeError
from landscape.evaluate import LossFn
from landscape.grid import Grid
from landscape.surface_file import Surface
from landscape.trajectory_pca import (
    Member, Run, Stored, _check_same_run, check_fit, open_member, pca,
)
from landscape.trajectory_file import Trajectory, covering_grid

Checkpoint = Mapping[str, torch.Tensor] | str | Path


@dataclass
class InMemory(Member):
    """A checkpoint given as a state dict: its tensors are read in place, block by block."""

    state: Mapping[str, torch.Tensor] = field(default_factory=dict)

    def read(self, wanted: Sequence[tuple[str, int, int]]) -> list[torch.Tensor]:
        return [self.state[name].detach().reshape(-1)[first:stop].cpu()
                for name, first, stop in wanted]


@dataclass
class PathResult:
    """An optimizer path on its PCA plane, and (with data) the loss surface of that plane.

    ``x``, ``y``: each checkpoint's coordinates (the final model at (0, 0)), in the order
    given; ``directions``: the two unit PCA directions (one tensor per parameter, 1-D ones
    zero); ``explained_variance_ratio`` and ``explained_variance`` as sklearn's PCA;
    ``surface``: the loss on the grid covering the path (``None`` without data);
    ``trajectory``: the path as the ``landscape trajectory`` stage's ``Trajectory`` (what
    ``landscape.plot`` draws).
    """

    directions: Any  # landscape.directions.Directions
    trajectory: Trajectory
    explained_variance: np.ndarray
    singular_values: np.ndarray
    surface: Surface | None = None

    @property
    def x(self) -> np.ndarray:
        return self.trajectory.x

    @property
    def y(self) -> np.ndarray:
        return self.trajectory.y

    @property
    def epochs(self) -> np.ndarray:
        return self.trajectory.epochs

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        return self.trajectory.explained_variance_ratio

    @property
    def grid(self) -> Grid:
        return self.trajectory.grid

    def figure(self, kind: str | None = None, out: str | Path | None = None, *,
               quantity: str | None = None, title: str | None = None, dpi: int = 150,
               **options: Any) -> Figure:
        """What ``landscape.plot`` draws: the path over the surface's contours (the paper's
        Fig. 9; the path alone without a surface), axes labelled with the explained variance."""
        if kind not in (None, "path"):
            raise LandscapeError(f"a path is drawn as kind 'path', not {kind!r}; plot its "
                                 "surface (result.surface) for the other kinds")
        opts = PlotOptions(**options)
        opts.check()
        name = quantity
        if self.surface is not None:
            name = name or f"{self.surface._first_split()}_loss"
            if opts.vmin is None and opts.vmax is None and opts.vlevel is None:
                opts = _data_range(self.surface.get(name), opts)
        with plot_style():
            fig = path_figure(self.trajectory, self.surface, name or "train_loss", opts, title)
            if out is not None:
                save_figures([(fig, Path(out))], dpi)
        return fig


def trajectory(
    model: nn.Module,
    checkpoints: Sequence[Checkpoint],
    data: Any = None,
    x: str | None = None,
    y: str | None = None,
    *,
    margin: float = 0.2,
    grid_points: int = 21,
    block_mb: float = 1024.0,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    precision: str | None = None,
    batch_size: int | None = None,
    out: str | Path | None = None,
    progress: bool | None = None,
) -> PathResult:
    """PCA directions of a training run, its path on them and, with ``data``, the loss there.

    - ``checkpoints``: state dicts (``model.state_dict()`` copies) or checkpoint files
      (``torch.save`` of a state dict, or of a dict with a ``state_dict`` entry), in training
      order, the final model last; it is the origin. At least 3 that differ.
    - ``model``: names and shapes of the parameters the rows are made of (every parameter,
      1-D ones zeroed as in the paper); for the surface, a copy of it is loaded with the final
      checkpoint (``model`` itself is left alone).
    - ``data`` (optional): as ``loss_surface``'s; gives ``surface`` on ``x`` and ``y``
      (default: a ``grid_points``-square grid covering the path, ``margin`` of its extent
      wider on every side, as the stage's covering grid).
    - ``block_mb``: memory for the rows read at once; other values give the same numbers.
    - ``out``: also write the surface (HDF5).

    Cost: two passes over the checkpoints (each read in blocks) for the PCA; with data, one
    evaluation of the data per grid point, as ``loss_surface``.
    """
    if isinstance(checkpoints, (str, Path, Mapping)):
        raise LandscapeError("checkpoints: give a list of state dicts or checkpoint files, the "
                             "final model last")
    checkpoints = list(checkpoints)
    if len(checkpoints) < 3:
        raise LandscapeError(f"{len(checkpoints)} checkpoint(s) span fewer than two dimensions "
                             "around their mean: a path needs at least 3 checkpoints that differ")
    named = list(model.named_parameters())
    names = [n for n, _ in named]
    shapes = [tuple(p.shape) for _, p in named]
    members = [_member(c, i) for i, c in enumerate(checkpoints)]
    final = members[-1]
    for m in members:
        check_fit(m, names, shapes, type(model).__name__)
        _check_same_run(m, final)
    run = Run(members, final, type(model).__name__, names, shapes)
    result = pca(run, block_mb, progress)
    ratio = result.explained_variance_ratio
    result.directions.attrs.update({
        "kind": "pca", "axes": 2, "dir_type": "weights", "norm": "none", "ignore": "biasbn",
        "explained_variance_ratio": ratio.tolist(),
        "explained_variance": result.explained_variance.tolist(),
        "singular_values": result.singular_values.tolist(),
        "model_class": type(model).__name__, "checkpoints": len(members),
        "landscape_version": __version__,
    })
    coords = result.coordinates
    covering = covering_grid(coords[:, 0], coords[:, 1], margin, grid_points)
    path = Trajectory(
        x=coords[:, 0].copy(), y=coords[:, 1].copy(), epochs=run.epochs,
        lr_decay_epochs=run.lr_decay_epochs, grid=covering, explained_variance_ratio=ratio,
        checkpoints=[str(m.path) for m in members],
        attrs={"kind": "pca", "dir_type": "weights", "model_class": type(model).__name__,
               "margin": margin, "grid_points": grid_points},
    )
    found = PathResult(result.directions, path, result.explained_variance,
                       result.singular_values)
    if data is None:
        if x is not None or y is not None or out is not None:
            raise LandscapeError("x, y and out apply to the surface: pass data")
        return found
    grid = Grid.parse(x or covering.x.spec, y or covering.y.spec)
    origin = copy.deepcopy(model)
    origin.load_state_dict(_state(checkpoints[-1]))
    found.surface = loss_surface(
        origin, data, grid.x.spec, grid.y.spec, directions=result.directions, loss_fn=loss_fn,
        device=device, precision=precision, batch_size=batch_size, out=out, progress=progress)
    found.surface.attrs.update(kind="pca", explained_variance_ratio=ratio.tolist())
    return found


def _member(checkpoint: Checkpoint, index: int) -> Member:
    """A checkpoint of the list: a file (its tensors located, not read) or a state dict."""
    if isinstance(checkpoint, (str, Path)):
        path = Path(checkpoint)
        if not path.is_file():
            raise LandscapeError(f"checkpoint {path} does not exist")
        return open_member(path, epoch=index)
    if not isinstance(checkpoint, Mapping):
        raise LandscapeError(f"checkpoint {index}: give a state dict or a file, not a "
                             f"{type(checkpoint).__name__}")
    if isinstance(checkpoint.get("state_dict"), Mapping):  # a checkpoint payload
        payload, state = checkpoint, checkpoint["state_dict"]
    else:
        payload, state = {}, checkpoint
    state = {k.removeprefix("module."): v for k, v in state.items()
             if isinstance(v, torch.Tensor)}
    config = payload.get("config")
    return InMemory(path=Path(f"<state dict {index}>"),
                    epoch=int(payload.get("epoch", index)), arch=payload.get("arch"),
                    config=config if isinstance(config, dict) else None,
                    tensors={k: Stored(None, v.dtype, tuple(v.shape)) for k, v in state.items()},
                    state=state)


def _state(checkpoint: Checkpoint) -> dict[str, torch.Tensor]:
    """The final checkpoint's whole state dict (the surface's origin)."""
    if isinstance(checkpoint, (str, Path)):
        checkpoint = read_checkpoint(Path(checkpoint))  # a bare state dict comes wrapped
    if isinstance(checkpoint.get("state_dict"), Mapping):
        checkpoint = checkpoint["state_dict"]
    return {k.removeprefix("module."): v for k, v in checkpoint.items()}
