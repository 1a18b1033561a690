"""Paper Fig. 7: where the loss surface is convex, as |lambda_min / lambda_max| beside the loss.

``plot_curvature(["hess/resnet56.h5"], "figs/fig7", models=["resnet56"])`` writes
``figs/fig7.pdf`` and ``.png``: per surface a column, the map of the eigenvalue ratio of a
Hessian sweep (``landscape hessian``) on top, the loss contour of the same grid below (from
``losses``, a loss surface file per Hessian file, or else the loss the Hessian sweep
recorded at each point). The ratio's colour scale is the paper's: 0 (dark) where the
Hessian has no noticeable negative eigenvalue, a convex-looking region; larger (yellow)
where the negative curvature is comparable with the positive, a chaotic one. Values above
``ratio_max`` take the top colour; points whose eigenvalues did not converge are grey.
Both panels of a column cover the same square extent, the map's cells (each centred on its
grid point, so half a step beyond the grid), so a place on the map lies above the same place
on the contour; a contour panel without lines says why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from landscape.errors import LandscapeError
from landscape.plots.figures import finish
from landscape.plots.maps import cell_edges, draw_contour, draw_heatmap
from landscape.plots.notes import note_missing_contours
from landscape.plots.options import PlotOptions
from landscape.plots.output import check_formats, plot_style, save_figures
from landscape.settings import check_settings, setting
from landscape.surface_file import Surface, read_surface

RATIO = "eig_ratio"
RATIO_LABEL = "|λmin / λmax|"
CELL = (4.0, 3.5)  # inches per map

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class CurvatureOptions:
    """The eigenvalue-ratio map's own setting (the contour uses ``PlotOptions``)."""

    ratio_max: float = setting(0.5, "top of the |lambda_min / lambda_max| colour scale, whose "
                               "bottom is 0 (the reference's map: 0 to 0.5)", minimum=0,
                               above=True)

    def check(self) -> None:
        check_settings(self)


def draw_ratio(ax: Axes, s: Surface, opts: CurvatureOptions, colorbar: bool = True) -> None:
    """|min_eig / max_eig| of a 2-D Hessian surface as a heat map, one cell per grid point."""
    ratio = np.ma.masked_invalid(s.get(RATIO))
    if not ratio.count():
        log.warning("warning: surface %s: no eigenvalue ratio is finite (none converged?); the "
                    "map is drawn grey", s.source)
    cmap = colormaps["viridis"].with_extremes(bad="0.8")
    x_edges, y_edges = cell_edges(s)
    mesh = ax.pcolormesh(x_edges, y_edges, ratio, shading="flat", cmap=cmap,
                         norm=Normalize(0.0, opts.ratio_max))
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=RATIO_LABEL, extend="max")
    ax.set_xlim(x_edges[0], x_edges[-1])
    ax.set_ylim(y_edges[0], y_edges[-1])
    ax.set_box_aspect(1)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    ax.set_xlabel(s.label("x"))
    ax.set_ylabel(s.label("y"))


def check_pair(hessian: Surface, loss: Surface, name: str) -> None:
    """A Hessian surface and the loss surface drawn beside it: 2-D, the same grid, the data."""
    if hessian.ndim != 2:
        raise LandscapeError(f"surface {hessian.source} is 1-D; Fig. 7 needs a 2-D Hessian sweep")
    if not hessian.has(RATIO):
        raise LandscapeError(f"surface {hessian.source} has no max_eig and min_eig: compute it "
                             "with `landscape hessian`")
    if loss.grid != hessian.grid:
        raise LandscapeError(f"loss surface {loss.source} is on grid {loss.grid.x.spec} x "
                             f"{loss.grid.y.spec if loss.grid.y else '-'}, the Hessian surface "
                             f"{hessian.source} on {hessian.grid.x.spec} x {hessian.grid.y.spec}:"
                             " Fig. 7 draws both on one grid")


def curvature_figure(hessians: Sequence[Surface], losses: Sequence[Surface],
                     titles: Sequence[str], name: str = "train_loss",
                     opts: PlotOptions = PlotOptions(),
                     curvature: CurvatureOptions = CurvatureOptions()) -> Figure:
    """One column per model: the ratio map above, the loss contour below."""
    for hessian, loss in zip(hessians, losses):
        check_pair(hessian, loss, name)
    cols = len(hessians)
    fig = Figure(figsize=(CELL[0] * cols, 2 * CELL[1]), layout="constrained")
    unlabelled = []
    for c, (hessian, loss, title) in enumerate(zip(hessians, losses, titles)):
        top = fig.add_subplot(2, cols, c + 1)
        draw_ratio(top, hessian, curvature)
        top.set_title(title)
        bottom = fig.add_subplot(2, cols, cols + c + 1)
        cs = draw_contour(bottom, loss, name, opts, labels=False)
        unlabelled.append(cs)
        bottom.set_xlim(top.get_xlim())  # the map's extent: both panels line up
        bottom.set_ylim(top.get_ylim())
        note_missing_contours(bottom, loss, name, opts, cs)
        bottom.set_title(f"{title}: {name}" if title else name)
    return finish(fig, unlabelled)  # labelled at their final size and extent


def plot_curvature(hessians: Sequence[str | Path], out_prefix: str | Path, *,
                   losses: Sequence[str | Path] | None = None,
                   models: Sequence[str] | None = None, name: str = "train_loss",
                   opts: PlotOptions = PlotOptions(),
                   curvature: CurvatureOptions = CurvatureOptions(),
                   formats: Sequence[str] = ("pdf", "png"), dpi: int = 150,
                   xlabel: str | None = None, ylabel: str | None = None) -> list[Path]:
    """Write ``<out_prefix>.<format>``: paper Fig. 7 for one or more Hessian surface files.

    Every file is read and checked before anything is drawn; titles are ``models`` (default:
    the model each file records).
    """
    opts.check()
    curvature.check()
    formats = check_formats(formats)
    if not hessians:
        raise LandscapeError("no Hessian surface given")
    for label, given in (("loss surfaces", losses), ("models", models)):
        if given is not None and len(given) != len(hessians):
            raise LandscapeError(f"{len(given)} {label} for {len(hessians)} Hessian surfaces; "
                                 "give one per Hessian surface")
    loaded = [read_surface(p, require=[RATIO]).with_labels(xlabel, ylabel) for p in hessians]
    beside = (loaded if losses is None
              else [read_surface(p, require=[name]).with_labels(xlabel, ylabel) for p in losses])
    titles = list(models) if models is not None else [s.model() or "" for s in loaded]
    with plot_style():
        fig = curvature_figure(loaded, beside, titles, name, opts, curvature)
        return save_figures([(fig, Path(f"{out_prefix}.{fmt}")) for fmt in formats], dpi)


EIGEN_LABELS = {"max_eig": "λmax", "min_eig": "λmin"}


def eigen_figure(s: Surface, opts: PlotOptions = PlotOptions(),
                 curvature: CurvatureOptions = CurvatureOptions(),
                 title: str | None = None) -> Figure:
    """The three maps of a Hessian sweep (the Python API's ``landscape.plot``): lambda_max,
    lambda_min and |lambda_min / lambda_max| side by side; a 1-D sweep as curves along x."""
    if not s.has(RATIO):
        raise LandscapeError(f"surface {s.source} has no max_eig and min_eig: compute it with "
                             "landscape.curvature or `landscape hessian`")
    fig = Figure(figsize=(3 * CELL[0], CELL[1]), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, name in zip(axes[:2], EIGEN_LABELS):
        if s.ndim == 2:
            draw_heatmap(ax, s, name, opts)
        else:
            ax.plot(s.x, s.get(name), "-o", markersize=3)
            ax.set_xlabel(s.label("x"))
            ax.set_ylabel(EIGEN_LABELS[name])
        ax.set_title(EIGEN_LABELS[name])
    if s.ndim == 2:
        draw_ratio(axes[2], s, curvature)
    else:
        axes[2].plot(s.x, s.get(RATIO), "-o", markersize=3)
        axes[2].set_xlabel(s.label("x"))
        axes[2].set_ylabel(RATIO_LABEL)
    axes[2].set_title(RATIO_LABEL)
    if title:
        fig.suptitle(title)
    return fig
