"""The Python API: loss surfaces, interpolations and their figures for any model and data.

>>> import landscape                                              # doctest: +SKIP
>>> surface = landscape.loss_surface(model, (X, y))               # 21 x 21 on [-1, 1]^2
>>> landscape.plot(surface, kind="contour", out="contour.png")
>>> curve = landscape.interpolate(model_a, model_b, (X, y))      # the paper's Fig. 2
>>> landscape.plot(curve, out="interpolation.png")
>>> path = landscape.trajectory(model, checkpoints, (X, y))      # Fig. 9 (api_trajectory)
>>> hess = landscape.curvature(model, (X, y))                     # Fig. 7 (api_curvature)

The same machinery as the ``landscape`` command: filter-normalized directions
(``landscape.directions``), the sweep loop (``landscape.surface``), the fast evaluator
(``landscape.engine``) where it applies, the plain loop (``landscape.evaluate``) otherwise,
and the figures of ``landscape.plots``. Nothing is written unless ``out=`` is given.

The model is evaluated in eval mode (the paper's choice: BatchNorm uses its running
statistics); its mode, weights, device and dtype are as before when the call returns, also
after an error or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from landscape import __version__
from landscape.batchnorm import recomputing, statistics_kept
from landscape.choices import BN_MODES, IGNORES, NORMS
from landscape.data import ImageSet
from landscape.directions import (
    Directions, align_to, draw_directions, entries, target_direction,
)
from landscape.engine import make_evaluator
from landscape.errors import LandscapeError
from landscape.evaluate import LossFn, evaluate, floating_dtype, model_device
from landscape.grid import Grid, Shard
from landscape.plots import PlotOptions, plot_style, save_figures, surface_figure
from landscape.plots.curvature import CurvatureOptions, eigen_figure
from landscape.surface import Evaluator, run_sweep, split_measure, sweep_attrs
from landscape.surface_file import Surface, read_surface, write_surface

log = logging.getLogger(__name__)

Data = (ImageSet | tuple[torch.Tensor, torch.Tensor] | tuple[np.ndarray, np.ndarray]
        | Iterable[tuple[torch.Tensor, torch.Tensor]] | Mapping[str, Any])
PLAIN_BATCH = 1024
LEVELS = 20  # contour levels of a plot without a value range
LOG_SPAN = 30.0  # max / min of a positive surface beyond which those levels are log-spaced


def loss_surface(
    model: nn.Module,
    data: Data,
    x: str = "-1:1:21",
    y: str | None = "-1:1:21",
    *,
    directions: Directions | Sequence[Any] | None = None,
    loss_fn: LossFn | None = None,
    seed: int = 0,
    norm: str = "filter",
    ignore: str = "biasbn",
    params: Sequence[nn.Parameter | str] | None = None,
    device: str | torch.device | None = None,
    precision: str | None = None,
    batch_size: int | None = None,
    out: str | Path | None = None,
    progress: bool | None = None,
    bn: str = "eval",
) -> Surface:
    """Loss (and accuracy) of ``model`` at ``theta + a*dx + b*dy`` for every grid point.

    - ``data``: an ``(inputs, targets)`` pair of tensors or NumPy arrays (scikit-learn's
      ``(X, y)``), an ``ImageSet``, any iterable of ``(inputs, targets)`` batches (a
      ``DataLoader``), or a dict of those by split name (``{"train": ..., "test": ...}``;
      one split is called ``train``). Samples run along the first axis. Arrays mean what
      tensors do (``torch.from_numpy``, no layout guessed): floating ``X`` goes to the
      model as it is (images N x C x H x W for a conv net, N x F for an MLP); uint8 ``X``
      is images N x 3 x H x W, normalized with CIFAR-10's constants (an ``ImageSet`` from
      ``landscape.data.load`` brings its own); integer ``y`` are class labels (made int64),
      floating ``y`` regression targets. A lone array or tensor (no targets) is refused.
    - ``x``, ``y``: grids as ``"min:max:num"``; ``y=None`` gives a 1-D curve along ``x``.
    - ``directions``: ``None`` draws the paper's filter-normalized pair (``seed``, ``norm``,
      ``ignore``); else a ``Directions`` or a pair ``(dx, dy)`` (for a curve ``(dx,)``) of
      lists of tensors shaped like the moved parameters.
    - ``params``: the parameters (or their names) to move; default every parameter of
      ``model``, also those that do not require grad.
    - ``loss_fn(outputs, targets)``: a batch's mean loss (default cross-entropy); accuracy
      is reported when the targets are class indices.
    - ``precision``: ``None`` evaluates in the model's own dtype; ``"auto"``, ``"bf16"`` or
      ``"tf32"`` let the engine trade exactness within 1e-3 for speed (float32 models).
    - ``out``: also write the surface as HDF5 in the reference layout.
    - ``bn``: ``"eval"`` measures every point with the model's BatchNorm running statistics;
      ``"recompute"`` re-estimates them at each point on the data (the first split) in a
      train-mode pass before measuring (``landscape.batchnorm``; one more forward pass over
      the data per point). The model's own statistics come back afterwards.

    Returns a ``Surface``: ``x``, ``y`` (coordinates), ``loss`` of shape ``(len(y), len(x))``
    with ``loss[j, i] = L(x_i, y_j)`` (``(len(x),)`` in 1-D), ``accuracy`` (or None),
    ``values`` per split, ``attrs`` (provenance).
    """
    grid = Grid.parse(x, y)
    _check_choice("norm", norm, NORMS)
    _check_choice("ignore", ignore, IGNORES)
    _check_choice("bn", bn, BN_MODES)
    def moved() -> list[tuple[str, torch.Tensor]]:
        return _moved(model, params)

    if directions is None:
        directions = draw_directions([t for _, t in moved()], axes=grid.ndim, norm=norm,
                                     ignore=ignore, seed=seed)
    attrs = {"model_class": type(model).__name__, "moved_tensors": len(moved()),
             "loss_fn": _name(loss_fn), "bn": bn}
    if isinstance(directions, Directions) and directions.attrs.get("kind") == "random":
        attrs.update(norm=directions.attrs.get("norm"), ignore=directions.attrs.get("ignore"),
                     seed=directions.attrs.get("seed"))
    return _sweep(model, data, grid, _as_directions(directions), moved, "weights",
                  loss_fn=loss_fn, device=device, precision=precision, batch_size=batch_size,
                  out=out, progress=progress, attrs=attrs)


def interpolate(
    model_a: nn.Module,
    model_b: nn.Module,
    data: Data,
    alpha: str = "-0.5:1.5:41",
    *,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    precision: str | None = None,
    batch_size: int | None = None,
    out: str | Path | None = None,
    progress: bool | None = None,
) -> Surface:
    """Loss along ``theta_a + alpha (theta_b - theta_a)``: the paper's 1-D interpolation (Fig. 2).

    Every state entry moves (``states`` directions): BatchNorm running statistics are
    interpolated too, so alpha = 0 is ``model_a`` and alpha = 1 is ``model_b`` exactly.
    ``model_a`` is moved and restored; ``model_b`` is only read.
    """
    grid = Grid.parse(alpha)
    direction = target_direction(model_a, model_b, "states")
    attrs = {"model_class": type(model_a).__name__, "kind": "interpolation", "xlabel": "alpha",
             "loss_fn": _name(loss_fn)}
    return _sweep(model_a, data, grid, direction, lambda: entries(model_a, "states"), "states",
                  loss_fn=loss_fn,
                  device=device, precision=precision, batch_size=batch_size, out=out,
                  progress=progress, attrs=attrs)


def plot(surface: Surface | str | Path, kind: str | None = None, out: str | Path | None = None,
         *, quantity: str | None = None, title: str | None = None, dpi: int = 150,
         **options: Any) -> Figure:
    """A figure of ``surface`` (a ``Surface`` or a surface file); saved to ``out`` if given.

    ``kind``: ``contour``, ``contourf``, ``heatmap``, ``surface3d`` (2-D, default contour) or
    ``1d`` (the default for curves: loss left, accuracy right). ``quantity``: which dataset
    (default: the first split's loss). ``options``: ``vmin``, ``vmax``, ``vlevel``, ``zmax``,
    ``log`` (``landscape.plots.PlotOptions``); without a value range, 2-D kinds span the
    data's finite range in 20 levels, log-spaced from the minimum (and log colours) when the
    values are positive and the largest is more than 30 times the smallest, as around a
    trained model's minimum, linear otherwise; every 2-D kind has a colour bar. The output
    format follows ``out``'s suffix.

    Also draws the other results of the API: a ``landscape.trajectory`` result as its path
    over the surface's contours (paper Fig. 9; kind ``path``), and a ``landscape.curvature``
    surface as its lambda_max, lambda_min and |lambda_min / lambda_max| maps (paper Fig. 7;
    kind ``curvature``, the default for a surface holding ``max_eig``; option ``ratio_max``,
    the top of the ratio's colour scale, default 0.5).
    """
    if hasattr(surface, "figure"):  # a result that draws itself (landscape.trajectory's)
        return surface.figure(kind, out, quantity=quantity, title=title, dpi=dpi, **options)
    if not isinstance(surface, Surface):
        surface = read_surface(surface)
    if _is_curvature(surface, kind):
        return _curvature_plot(surface, out, title=title, dpi=dpi, **options)
    kind = kind or ("1d" if surface.ndim == 1 else "contour")
    name = quantity or f"{surface._first_split()}_loss"
    opts = PlotOptions(**options)
    opts.check()
    if kind != "1d" and opts.vmin is None and opts.vmax is None and opts.vlevel is None:
        opts = _data_range(surface.get(name), opts, auto_log=kind != "surface3d")
    with plot_style():
        fig = surface_figure(surface, kind, name, opts, title)
        if out is not None:
            out = Path(out)
            save_figures([(fig, out)], dpi)
    return fig


# ----------------------------------------------------------------------------- the sweep


def _sweep(model: nn.Module, data: Data, grid: Grid, directions: Directions,
           moved: Callable[[], list[tuple[str, torch.Tensor]]], dir_type: str, *,
           loss_fn: LossFn | None, device: str | torch.device | None, precision: str | None,
           batch_size: int | None, out: str | Path | None, progress: bool | None,
           attrs: dict[str, Any]) -> Surface:
    """Sweep ``grid`` moving the tensors ``moved()`` returns (read after the model moved)."""
    splits = _splits(data)
    if directions.ndim < grid.ndim:
        raise LandscapeError("a 2-D grid needs two directions (dx, dy); got one")
    align_to(directions, moved(), dir_type)  # refuse a mismatch before moving anything
    target = torch.device(device) if device is not None else model_device(model)
    with _restored(model, target):
        alignment = align_to(directions, moved(), dir_type)
        alignment.axes = alignment.axes[: grid.ndim]
        evaluators, how = _evaluators(model, splits, target, loss_fn, precision, batch_size)
        attrs = sweep_attrs({**attrs, **how, "device": target.type}, list(splits), dir_type,
                            how["engine_precision"], grid, Shard(0, 1))
        quantities, measure = split_measure(evaluators)
        if attrs.get("bn") == "recompute":
            measure = recomputing(model, _bn_data(splits), measure, batch_size)
        with statistics_kept(model):
            result = run_sweep(model, alignment, grid, quantities, measure, None,
                               shard=Shard(0, 1), attrs=attrs, start=None, progress=progress)
    surface = result.surface
    for split in splits:  # no accuracy where the targets are not class indices
        if np.isnan(surface.values[f"{split}_acc"]).all():
            del surface.values[f"{split}_acc"]
    if out is not None:
        surface.path = write_surface(out, surface, keep_mask=False)
    return surface


@contextlib.contextmanager
def _restored(model: nn.Module, device: torch.device) -> Iterator[None]:
    """Run the block with ``model`` on ``device``; its mode and device come back afterwards.

    The weights are restored by the sweep itself (``Mover.restore``), bit for bit.
    """
    was_training, home = model.training, model_device(model)
    model.to(device)
    try:
        yield
    finally:
        model.to(home)
        model.train(was_training)


def _evaluators(model: nn.Module, splits: Mapping[str, Any], device: torch.device,
                loss_fn: LossFn | None, precision: str | None, batch_size: int | None
                ) -> tuple[dict[str, Evaluator], dict[str, Any]]:
    """One evaluator per split: the engine where it applies, else the plain loop (logged)."""
    wanted = precision or ("fp32" if floating_dtype(model) == torch.float32 else "auto")
    evaluators, how = {}, {}
    for split, data in splits.items():
        resident, reason = _resident(data, device)
        evaluator = None
        if resident is not None:
            try:
                evaluator = make_evaluator(model, resident, precision=wanted,
                                           batch_size=batch_size, loss_fn=loss_fn)
            except LandscapeError as exc:
                if precision is not None:
                    raise
                reason = str(exc)
        if evaluator is None:
            log.info("landscape: %s split: %s; evaluating with the plain loop", split, reason)
            plain = data if resident is None else resident
            evaluator = _plain(model, plain, batch_size or PLAIN_BATCH, loss_fn)
            how = how or {"engine_precision": str(floating_dtype(model)).removeprefix("torch."),
                          "engine": "plain"}
        else:
            if evaluator.fold_error:
                log.info("landscape: BatchNorm layers not folded (%s)", evaluator.fold_error)
            how = how or {f"engine_{k}": v for k, v in evaluator.describe().items()}
        evaluators[split] = evaluator
    return evaluators, how


def _plain(model: nn.Module, data: Any, batch_size: int, loss_fn: LossFn | None) -> Evaluator:
    return lambda: evaluate(model, data, batch_size, loss_fn=loss_fn)


def _resident(data: Any, device: torch.device) -> tuple[ImageSet | None, str]:
    """``data`` as an ``ImageSet`` on ``device`` when it is tensors that fit there."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(
            isinstance(t, torch.Tensor) for t in data):
        data = ImageSet(data[0], data[1])
    if not isinstance(data, ImageSet):
        return None, "data given as batches (pass (inputs, targets) tensors for the fast engine)"
    if len(data.images) != len(data.labels):
        raise LandscapeError(
            f"inputs hold {len(data.images)} samples but targets {len(data.labels)}"
        )
    if device.type == "cuda":
        need = data.images.nbytes + data.labels.nbytes
        free, _ = torch.cuda.mem_get_info(device)
        if need > free // 2:
            return None, (f"the data ({need / 2**20:.0f} MB) does not fit on {device} "
                          f"({free / 2**20:.0f} MB free)")
    return data.to(device), ""


def _splits(data: Data) -> dict[str, Any]:
    if isinstance(data, Mapping):
        if not data:
            raise LandscapeError("no data: the dict of splits is empty")
        bad = [k for k in data if not (isinstance(k, str) and k.isidentifier())]
        if bad:
            raise LandscapeError(f"split names must be identifiers, got {bad[0]!r}")
        return {name: _as_split(split, name) for name, split in data.items()}
    return {"train": _as_split(data, "train")}


PASS_PAIR = ("pass (X, y): inputs and targets (integer class labels), samples along the "
             "first axis")


def _as_split(data: Any, name: str) -> Any:
    """One split's data with NumPy ``(X, y)`` made tensors; a lone array or tensor refused."""
    if isinstance(data, (np.ndarray, torch.Tensor)):
        raise LandscapeError(f"data ({name}): a lone {type(data).__name__} of shape "
                             f"{tuple(data.shape)} has no targets; {PASS_PAIR}")
    if not (isinstance(data, (tuple, list)) and len(data) == 2
            and any(isinstance(t, np.ndarray) for t in data)):
        return data
    x, y = (_tensor(t, what, name) for t, what in zip(data, ("X", "y")))
    if x.dtype == torch.uint8 and x.dim() == 4 and x.shape[1] != 3 and x.shape[3] == 3:
        raise LandscapeError(
            f"data ({name}): uint8 X of shape {tuple(x.shape)} looks channels-last; uint8 "
            "images are N x 3 x H x W: pass X.transpose(0, 3, 1, 2)")
    if not (y.is_floating_point() or y.dtype == torch.bool):
        y = y.long()
    return x, y


def _tensor(value: Any, what: str, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise LandscapeError(f"data ({name}): {what} holds {array.dtype} values, not numbers; "
                             f"{PASS_PAIR}")
    if array.ndim == 0:
        raise LandscapeError(f"data ({name}): {what} is a scalar; {PASS_PAIR}")
    array = np.ascontiguousarray(array)
    return torch.from_numpy(array if array.flags.writeable else array.copy())


def _moved(model: nn.Module, params: Sequence[nn.Parameter | str] | None
           ) -> list[tuple[str, torch.Tensor]]:
    """(name, tensor) of the parameters a direction moves, in model order."""
    named = [(name, p.detach()) for name, p in model.named_parameters()]
    if params is None:
        return named
    by_name = dict(named)
    ids = {id(p): name for name, p in model.named_parameters()}
    wanted = []
    for p in params:
        name = p if isinstance(p, str) else ids.get(id(p))
        if name not in by_name:
            raise LandscapeError(f"params: {p if isinstance(p, str) else 'a tensor'} is not a "
                                 "parameter of the model")
        wanted.append(name)
    return [(name, t) for name, t in named if name in set(wanted)]


def _as_directions(directions: Directions | Sequence[Any]) -> Directions:
    if isinstance(directions, Directions):
        return directions
    axes = list(directions)
    if axes and isinstance(axes[0], torch.Tensor):  # one direction given as a list of tensors
        axes = [axes]
    if not 1 <= len(axes) <= 2:
        raise LandscapeError(f"directions: give (dx,) or (dx, dy), got {len(axes)} directions")
    tensors = [[torch.as_tensor(t).detach() for t in axis] for axis in axes]
    return Directions(tensors[0], tensors[1] if len(tensors) == 2 else None,
                      {"kind": "given", "landscape_version": __version__})


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise LandscapeError(f"{name} {value!r} is not one of: {', '.join(choices)}")


def _name(loss_fn: LossFn | None) -> str:
    if loss_fn is None:
        return "cross_entropy"
    return getattr(loss_fn, "__qualname__", None) or type(loss_fn).__name__


def _data_range(values: np.ndarray, opts: PlotOptions, auto_log: bool = True) -> PlotOptions:
    """Options whose levels span the finite values in 20 steps, for data of any scale.

    Linear steps leave a trained model's basin blank: its loss climbs by decades from the
    minimum to the edge, so every level but the lowest lies on the walls. So when the values
    are positive and span more than ``LOG_SPAN`` (max / min), and ``auto_log``, the levels
    (and the colour scale) are log-spaced from the minimum: as many levels per decade inside
    the basin as on the walls.
    """
    finite = values[np.isfinite(values)]
    if opts.log:
        finite = finite[finite > 0]
    if finite.size == 0:
        return opts
    lo, hi = float(finite.min()), float(finite.max())
    if not hi > lo:
        hi = lo + (abs(lo) or 1.0) * 1e-3
    step = (hi - lo) / LEVELS
    log = opts.log or (auto_log and lo > 0 and hi / lo > LOG_SPAN)
    return replace(opts, vmin=lo, vmax=hi + step * 1e-6, vlevel=step, log=log)


# ------------------------------------------------------------------ curvature figures


def _is_curvature(surface: Surface, kind: str | None) -> bool:
    """A Hessian sweep (``landscape.curvature``) drawn as its three maps: by default, or as
    kind ``curvature``."""
    if kind == "curvature":
        return True
    return kind is None and surface.has("max_eig") and surface.has("min_eig")


def _curvature_plot(surface: Surface, out: str | Path | None, *, title: str | None,
                    dpi: int, ratio_max: float = 0.5, **options: Any) -> Figure:
    opts = PlotOptions(**options)
    opts.check()
    ratio = CurvatureOptions(ratio_max=ratio_max)
    ratio.check()
    with plot_style():
        fig = eigen_figure(surface, opts, ratio, title)
        if out is not None:
            save_figures([(fig, Path(out))], dpi)
    return fig


# -------------------------------------------------------------- BatchNorm recomputation


def _bn_data(splits: Mapping[str, Any]) -> Any:
    """The data the BatchNorm statistics are re-estimated on: the first split, as given
    (tensors as an ``ImageSet``, moved to the device batch by batch)."""
    data = next(iter(splits.values()))
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(
            isinstance(t, torch.Tensor) for t in data):
        return ImageSet(data[0], data[1])
    return data
