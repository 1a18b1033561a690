"""2-D surfaces drawn onto an axes: contour lines, filled contours, heat map, 3-D surface.

All four take ``Z`` of shape ``(len(y), len(x))`` with ``Z[j, i] = L(x_i, y_j)``, so x runs
horizontally and y vertically, increasing upwards. Non-finite values (an overflowed loss)
are masked: blank in contours, grey in the heat map, holes in the 3-D surface (which
``zmax`` cuts off cleanly). Colour maps follow the reference: ``summer`` for contours,
``viridis`` for the heat map, ``coolwarm`` for the 3-D surface.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm, Normalize
from matplotlib.ticker import FixedLocator, FormatStrFormatter, FuncFormatter, MaxNLocator

from landscape.mesh import surface_mesh
from landscape.plots.options import PlotOptions, ValueRange, value_range
from landscape.surface_file import Surface

MAX_FACETS = 101  # per axis in 3-D: 251 x 251 appendix grids render in seconds, not minutes


def _norm(r: ValueRange, opts: PlotOptions) -> Normalize:
    return LogNorm(r.vmin, r.vmax) if opts.log else Normalize(r.vmin, r.vmax)


def log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 values per decade between lo and hi (both positive): readable log-scale ticks."""
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    ticks = [m * 10.0 ** d for d in decades for m in (1, 2, 5)]
    return [float(f"{t:.6g}") for t in ticks if lo <= t <= hi]


def _colorbar(ax: Axes, mappable, name: str, r: ValueRange, opts: PlotOptions) -> None:
    bar = ax.figure.colorbar(mappable, ax=ax, label=name)
    if opts.log:
        bar.set_ticks(log_ticks(r.vmin, r.vmax))
        bar.ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))


def _masked(s: Surface, name: str, opts: PlotOptions) -> np.ma.MaskedArray:
    z = np.ma.masked_invalid(s.get(name))
    return np.ma.masked_less_equal(z, 0) if opts.log else z


def _axis_labels(ax: Axes, s: Surface) -> None:
    ax.set_xlabel(s.label("x"))
    ax.set_ylabel(s.label("y"))


def draw_contour(ax: Axes, s: Surface, name: str, opts: PlotOptions, colorbar: bool = False) -> None:
    """Labelled contour lines at ``arange(vmin, vmax, vlevel)`` (paper Fig. 5)."""
    z = _masked(s, name, opts)
    r = value_range(name, z.filled(np.nan), opts)
    lo, hi = (z.min(), z.max()) if z.count() else (np.nan, np.nan)
    levels = r.levels[(r.levels >= lo) & (r.levels <= hi)]
    if levels.size:  # matplotlib warns and labels nothing when no level crosses the data
        cs = ax.contour(s.x, s.y, z, levels=levels, cmap="summer", norm=_norm(r, opts))
        ax.clabel(cs, inline=True, fontsize=8, fmt="%.3g")
        if colorbar:
            _colorbar(ax, cs, name, r, opts)
    ax.set_xlim(s.x[0], s.x[-1])
    ax.set_ylim(s.y[0], s.y[-1])
    _axis_labels(ax, s)


def draw_contourf(ax: Axes, s: Surface, name: str, opts: PlotOptions, colorbar: bool = True) -> None:
    """Filled contours between the same levels; values beyond them take the end colours."""
    z = _masked(s, name, opts)
    r = value_range(name, z.filled(np.nan), opts)
    levels = r.levels if r.levels[-1] >= r.vmax else np.append(r.levels, r.vmax)
    cf = ax.contourf(s.x, s.y, z, levels=levels, cmap="summer", norm=_norm(r, opts), extend="both")
    if colorbar:
        _colorbar(ax, cf, name, r, opts)
    _axis_labels(ax, s)


def draw_heatmap(ax: Axes, s: Surface, name: str, opts: PlotOptions, colorbar: bool = True) -> None:
    """One cell per grid point, centred on its coordinates; colour range vmin..vmax."""
    z = _masked(s, name, opts)
    r = value_range(name, z.filled(np.nan), opts)
    cmap = colormaps["viridis"].with_extremes(bad="0.8")
    mesh = ax.pcolormesh(s.x, s.y, z, shading="nearest", cmap=cmap, norm=_norm(r, opts))
    if colorbar:
        _colorbar(ax, mesh, name, r, opts)
    _axis_labels(ax, s)


def draw_surface3d(ax: Axes, s: Surface, name: str, opts: PlotOptions, colorbar: bool = True) -> None:
    """A shaded 3-D surface (paper Figs. 1 and 4) coloured by height, with a colour bar.

    ``zmax`` cuts the surface cleanly: what lies above is removed and the edge lies at zmax
    (``landscape.mesh``), instead of a flat plateau. ``log`` plots log10 heights with ticks
    in the quantity's units. ``ax`` must be a 3-D axes (``projection="3d"``); it is added to
    its figure by the caller, which is what the reference missed (its ``Axes3D(fig)`` is
    never attached, so it draws nothing on current matplotlib).
    """
    rows, cols = _facets(len(s.y)), _facets(len(s.x))
    mesh = surface_mesh(s.x[cols], s.y[rows], s.get(name)[np.ix_(rows, cols)], zmax=opts.zmax,
                        log=opts.log)
    heights = mesh.points[:, 2]
    lo, hi = (heights.min(), heights.max()) if heights.size else (0.0, 1.0)
    norm = Normalize(lo, hi if hi > lo else lo + 1.0)
    if len(mesh.triangles):
        surf = ax.plot_trisurf(mesh.points[:, 0], mesh.points[:, 1], heights,
                               triangles=mesh.triangles, cmap="coolwarm", norm=norm,
                               linewidth=0, antialiased=False)
    in_units = FuncFormatter(lambda v, _: f"{10 ** v:.3g}")  # log10 heights, labelled as values
    ticks = np.log10(log_ticks(10 ** lo, 10 ** hi)) if opts.log and heights.size else []
    if opts.log:
        if len(ticks) >= 2:
            ax.zaxis.set_major_locator(FixedLocator(ticks))
        ax.zaxis.set_major_formatter(in_units)
    if opts.zmax is not None:
        ax.set_zlim(top=np.log10(opts.zmax) if opts.log else opts.zmax)
    ax.set_xlim(s.x[0], s.x[-1])
    ax.set_ylim(s.y[0], s.y[-1])
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.set_box_aspect(None, zoom=0.9)  # leaves room for the z label in tight panels
    _axis_labels(ax, s)
    ax.set_zlabel(name)
    if colorbar and len(mesh.triangles):
        bar = ax.figure.colorbar(surf, ax=ax, shrink=0.6, pad=0.1, label=name)
        if opts.log:
            bar.formatter = in_units
            if len(ticks) >= 2:
                bar.set_ticks(ticks)


def _facets(n: int) -> np.ndarray:
    """At most ``MAX_FACETS`` evenly spread indices of an axis of ``n`` points, both ends kept."""
    return np.unique(np.linspace(0, n - 1, min(n, MAX_FACETS)).round().astype(int))
