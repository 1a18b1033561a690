"""Optimizer paths over loss contours: paper Fig. 9 (PCA directions) and Fig. 8 (random ones).

``plot_path_file("path.h5", "figs/fig9", surface="pca_surface.h5")`` writes
``figs/fig9.pdf`` and ``.png``: the surface's contour lines (when given), the path as
connected dots from the first checkpoint to the final model (a star at the origin), the
checkpoints at the epochs after which the learning rate decays marked and labelled, and, on
PCA directions, axis labels with the explained variance (``1st PC: 61.23 %``). The surface
must be computed on the path's directions (their SHA-256s are compared). When no contour
can be drawn (too few finite points, a constant surface, no level within its values), the
panel says why at its top and the log has a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from landscape.errors import LandscapeError
from landscape.plots.figures import check_drawable, finish
from landscape.plots.maps import draw_contour
from landscape.plots.notes import note_missing_contours
from landscape.plots.options import PlotOptions
from landscape.plots.output import check_formats, plot_style, save_figures
from landscape.surface_file import Surface, read_surface
from landscape.trajectory_file import Trajectory, read_trajectory

PATH_COLOR, DECAY_COLOR, FINAL_COLOR = "tab:blue", "tab:red", "black"
FIGSIZE = (5.5, 4.5)


def check_path_surface(t: Trajectory, s: Surface, name: str, opts: PlotOptions) -> None:
    """The surface can be drawn as contours, and on the directions the path was projected on."""
    check_drawable(s, "contour", name, opts)
    mine, theirs = t.attrs.get("directions_sha256"), s.attrs.get("directions_sha256")
    if mine and theirs and mine != theirs:
        raise LandscapeError(f"surface {s.source} was computed on other directions than the path "
                             f"{t.source} was projected on ({s.attrs.get('directions')} vs "
                             f"{t.attrs.get('directions')})")


def draw_path(ax: Axes, t: Trajectory) -> None:
    """The path as connected dots, lr-decay checkpoints and the final model marked, a legend."""
    ax.plot(t.x, t.y, "-o", color=PATH_COLOR, markersize=3, linewidth=1,
            label=f"epochs {t.epochs[0]}-{t.epochs[-1]}")
    decays = t.decay_indices()
    if decays:
        ax.plot(t.x[decays], t.y[decays], "D", color=DECAY_COLOR, markersize=6,
                label="lr decay")
        for i in decays:
            ax.annotate(f"epoch {t.epochs[i]}", (t.x[i], t.y[i]), xytext=(5, 5),
                        textcoords="offset points", fontsize=8, color=DECAY_COLOR)
    ax.plot([0.0], [0.0], "*", color=FINAL_COLOR, markersize=10, label="final model")
    ax.legend(loc="best", fontsize=8)


def path_figure(t: Trajectory, surface: Surface | None = None, name: str = "train_loss",
                opts: PlotOptions = PlotOptions(), title: str | None = None,
                xlabel: str | None = None, ylabel: str | None = None) -> Figure:
    """One axes: ``surface``'s contours (optional) with the path drawn over them.

    The axes cover both the surface's grid and the path; without a surface, the grid the
    trajectory file stores (the path with its margin). Labels: ``xlabel``/``ylabel``, else
    the explained variance of PCA directions, else the surface's labels.
    """
    fig = Figure(figsize=FIGSIZE, layout="constrained")
    ax = fig.add_subplot()
    cs = None
    if surface is not None:
        check_path_surface(t, surface, name, opts)
        cs = draw_contour(ax, surface, name, opts, labels=False)
        note_missing_contours(ax, surface, name, opts, cs)
        grid = surface.grid
    else:
        grid = t.grid
    draw_path(ax, t)
    ax.ticklabel_format(style="sci", scilimits=(-3, 4))  # a path on random directions is tiny
    ax.set_xlim(min(grid.x.min, t.x.min()), max(grid.x.max, t.x.max()))
    ax.set_ylim(min(grid.y.min, t.y.min()), max(grid.y.max, t.y.max()))
    labels = t.axis_labels() or (
        (surface.label("x"), surface.label("y")) if surface is not None else ("x", "y"))
    ax.set_xlabel(xlabel or labels[0])
    ax.set_ylabel(ylabel or labels[1])
    if title:
        ax.set_title(title)
    return finish(fig, [cs])  # labelled once the axes have their final extent


def plot_path_file(path: str | Path, out_prefix: str | Path, surface: str | Path | None = None,
                   name: str = "train_loss", opts: PlotOptions = PlotOptions(),
                   formats: Sequence[str] = ("pdf", "png"), dpi: int = 150,
                   title: str | None = None, xlabel: str | None = None,
                   ylabel: str | None = None) -> list[Path]:
    """Write ``<out_prefix>.<format>``: the path of trajectory file ``path`` over ``surface``."""
    opts.check()
    if opts.marks:
        raise LandscapeError("--marks apply to 1-D curves, not to a path figure")
    formats = check_formats(formats)
    t = read_trajectory(path)
    s = None if surface is None else read_surface(surface, require=[name])
    if s is not None:
        check_path_surface(t, s, name, opts)
    with plot_style():
        fig = path_figure(t, s, name, opts, title, xlabel, ylabel)
        return save_figures([(fig, Path(f"{out_prefix}.{fmt}")) for fmt in formats], dpi)

