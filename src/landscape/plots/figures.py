"""Whole figures: one surface in one kind (``plot``), several surfaces side by side (``panel``).

``plot_surface_file("surf.h5", "figs/r56")`` writes ``figs/r56_contour.pdf``, ...
``_heatmap.png`` ...; ``plot_panel([...], ["resnet20", ...], "figs/fig5", rows=2, cols=3)``
writes the paper's Fig. 5 layout to ``figs/fig5.pdf`` and ``.png``. Every input is read and
checked before anything is drawn, and files appear only when all of them have rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure

from landscape.choices import KINDS_1D, KINDS_2D
from landscape.errors import LandscapeError
from landscape.plots.curves import check_curves, draw_curves
from landscape.plots.maps import (
    draw_contour, draw_contourf, draw_heatmap, draw_surface3d, label_contours,
)
from landscape.plots.options import PlotOptions, value_range
from landscape.plots.output import check_formats, plot_style, save_figures
from landscape.surface_file import Surface, read_surface
from landscape.tables import check_labels, read_final_metrics

KINDS = KINDS_1D + KINDS_2D
FIGSIZE = {"1d": (6.0, 4.5), "surface3d": (6.0, 5.0)}  # inches; others (5.5, 4.5)
PANEL_CELL = {"1d": (4.5, 3.5), "surface3d": (4.5, 4.0)}  # per axes; others (4.0, 3.5)


def kinds_for(ndim: int) -> tuple[str, ...]:
    return KINDS_1D if ndim == 1 else KINDS_2D


def check_kind(s: Surface, kind: str) -> None:
    if kind not in KINDS:
        raise LandscapeError(f"unknown figure kind {kind!r}; choose from {', '.join(KINDS)}")
    if kind not in kinds_for(s.ndim):
        raise LandscapeError(
            f"surface {s.source} is {s.ndim}-D; kind {kind!r} needs a {3 - s.ndim}-D surface "
            f"({s.ndim}-D kinds: {', '.join(kinds_for(s.ndim))})"
        )


def check_drawable(s: Surface, kind: str, name: str, opts: PlotOptions) -> None:
    """Everything that could fail while drawing, checked up front."""
    check_kind(s, kind)
    if opts.marks and kind != "1d":
        raise LandscapeError(f"--marks apply to 1-D curves (kind 1d), not to kind {kind!r}")
    outside = [m for m in opts.marks if not s.x[0] <= m <= s.x[-1]]
    if outside:
        raise LandscapeError(f"mark {outside[0]:g} lies outside the x range "
                             f"[{s.x[0]:g}, {s.x[-1]:g}] of surface {s.source}")
    if kind == "1d":
        check_curves(s)
        return
    value_range(name, s.get(name), opts)  # an empty range or too many levels; no finite value
    # only warns, when it is drawn (landscape.plots.maps)


def add_axes(fig: Figure, rows: int, cols: int, index: int, kind: str) -> Axes:
    return fig.add_subplot(rows, cols, index, projection="3d" if kind == "surface3d" else None)


def draw(ax: Axes, s: Surface, kind: str, name: str, opts: PlotOptions,
         colorbar: bool = True) -> ContourSet | None:
    """Draw ``s`` as ``kind`` onto ``ax`` (a 3-D axes for ``surface3d``).

    Returns the contour lines still to be labelled (``finish`` does it), else None.
    ``colorbar``: whether contour lines get a colour bar, which says which colour is low
    (a figure of its own has one; a panel of contours, like the paper's, has none).
    """
    if kind == "1d":
        draw_curves(ax, s, opts)
    elif kind == "contour":
        return draw_contour(ax, s, name, opts, colorbar=colorbar, labels=False)
    elif kind == "contourf":
        draw_contourf(ax, s, name, opts)
    elif kind == "heatmap":
        draw_heatmap(ax, s, name, opts)
    else:
        draw_surface3d(ax, s, name, opts)
    return None


def finish(fig: Figure, unlabelled: Sequence[ContourSet | None]) -> Figure:
    """Label the contour lines once the figure, titles included, is laid out."""
    pending = [cs for cs in unlabelled if cs is not None]
    if pending:
        fig.draw_without_rendering()  # runs the layout: the axes take their final size
        for cs in pending:
            label_contours(cs)
    return fig


def surface_figure(s: Surface, kind: str, name: str = "train_loss",
                   opts: PlotOptions = PlotOptions(), title: str | None = None) -> Figure:
    """A one-axes figure of ``s`` as ``kind``; call inside ``plot_style()`` for fixed style."""
    check_drawable(s, kind, name, opts)
    fig = Figure(figsize=FIGSIZE.get(kind, (5.5, 4.5)), layout="constrained")
    ax = add_axes(fig, 1, 1, 1, kind)
    unlabelled = draw(ax, s, kind, name, opts)
    if title:
        ax.set_title(title)
    return finish(fig, [unlabelled])


def default_title(s: Surface, kind: str, name: str) -> str:
    model = s.model()
    what = "loss and accuracy" if kind == "1d" else name
    return f"{model}: {what}" if model else what


def plot_surface_file(surface: str | Path, out_prefix: str | Path, kinds: Sequence[str] | None = None,
                      name: str = "train_loss", opts: PlotOptions = PlotOptions(),
                      formats: Sequence[str] = ("pdf", "png"), dpi: int = 150,
                      title: str | None = None, xlabel: str | None = None,
                      ylabel: str | None = None) -> list[Path]:
    """Write ``<out_prefix>_<kind>.<format>`` for every kind (default: all that fit).

    Axis labels come from ``xlabel``/``ylabel``, else the file's attributes of those names,
    else ``x``/``y``.
    """
    opts.check()
    formats = check_formats(formats)
    s = read_surface(surface, require=[name]).with_labels(xlabel, ylabel)
    kinds = list(dict.fromkeys(kinds)) if kinds else list(kinds_for(s.ndim))
    for kind in kinds:
        check_drawable(s, kind, name, opts)
    with plot_style():
        jobs = []
        for kind in kinds:
            fig = surface_figure(s, kind, name, opts,
                                 default_title(s, kind, name) if title is None else title)
            jobs += [(fig, Path(f"{out_prefix}_{kind}.{fmt}")) for fmt in formats]
        return save_figures(jobs, dpi)


def check_grid(rows: int, cols: int, n: int) -> None:
    if rows < 1 or cols < 1:
        raise LandscapeError(f"panel rows and cols must be positive, got {rows} x {cols}")
    if rows * cols < n:
        raise LandscapeError(f"a {rows} x {cols} panel has room for {rows * cols} surfaces, "
                             f"got {n}: raise --rows or --cols")


def panel_figure(surfaces: Sequence[Surface], titles: Sequence[str], rows: int, cols: int,
                 kind: str = "contour", name: str = "train_loss",
                 opts: PlotOptions = PlotOptions(), suptitle: str | None = None) -> Figure:
    """Surfaces in a ``rows x cols`` grid, filled row by row, each axes titled, all axes on
    the same ranges (but 3-D ones)."""
    check_grid(rows, cols, len(surfaces))
    for s in surfaces:
        check_drawable(s, kind, name, opts)
    per = PANEL_CELL.get(kind, (4.0, 3.5))
    fig = Figure(figsize=(per[0] * cols, per[1] * rows), layout="constrained")
    unlabelled, axes = [], []
    for index, (s, title) in enumerate(zip(surfaces, titles), start=1):
        ax = add_axes(fig, rows, cols, index, kind)
        unlabelled.append(draw(ax, s, kind, name, opts, colorbar=False))
        ax.set_title(title)
        axes.append(ax)
    if kind != "surface3d":
        same_ranges(axes)
    if suptitle:
        fig.suptitle(suptitle)
    return finish(fig, unlabelled)


def same_ranges(axes: Sequence[Axes]) -> None:
    """Give every axes the union of their x and y ranges (the loss axis in 1-D), so that
    widths and heights compare across a panel (paper Fig. 3)."""
    for get, set_ in (("get_xlim", "set_xlim"), ("get_ylim", "set_ylim")):
        limits = np.array([getattr(ax, get)() for ax in axes])
        for ax in axes:
            getattr(ax, set_)(limits[:, 0].min(), limits[:, 1].max())


def panel_titles(models: Sequence[str], metrics: Sequence[str | Path] | None = None) -> list[str]:
    """Each model's name, plus ``test error X.XX%`` (100 - final test_acc) given its metrics."""
    if metrics is None:
        return list(models)
    check_labels(models, metrics, "metrics")
    errors = [read_final_metrics(m).test_err for m in metrics]
    return [f"{m}\ntest error {e:.2f}%" for m, e in zip(models, errors)]


def plot_panel(surfaces: Sequence[str | Path], models: Sequence[str], out_prefix: str | Path,
               rows: int, cols: int, metrics: Sequence[str | Path] | None = None,
               kind: str = "contour", name: str = "train_loss", opts: PlotOptions = PlotOptions(),
               formats: Sequence[str] = ("pdf", "png"), dpi: int = 150,
               title: str | None = None, xlabel: str | None = None,
               ylabel: str | None = None) -> list[Path]:
    """Write ``<out_prefix>.<format>``: the surfaces side by side (paper Figs. 1, 3, 4, 5, 6).

    Each axes is titled with its model and, when ``metrics`` (one training metrics CSV per
    model) is given, the test error of the final epoch, 100 - test_acc.
    """
    opts.check()
    formats = check_formats(formats)
    check_labels(models, surfaces, "surface")
    check_grid(rows, cols, len(surfaces))
    titles = panel_titles(models, metrics)
    loaded = [read_surface(p, require=[name]).with_labels(xlabel, ylabel) for p in surfaces]
    dims = {s.ndim for s in loaded}
    if len(dims) > 1:
        odd = next(s for s in loaded if s.ndim != loaded[0].ndim)
        raise LandscapeError(f"panel mixes {loaded[0].ndim}-D {loaded[0].source} with "
                             f"{odd.ndim}-D {odd.source}")
    with plot_style():
        fig = panel_figure(loaded, titles, rows, cols, kind, name, opts, title)
        return save_figures([(fig, Path(f"{out_prefix}.{fmt}")) for fmt in formats], dpi)
