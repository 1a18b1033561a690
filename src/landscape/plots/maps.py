"""2-D surfaces drawn onto an axes: contour lines, filled contours, heat map, 3-D surface.

All four take ``Z`` of shape ``(len(y), len(x))`` with ``Z[j, i] = L(x_i, y_j)``, so x runs
horizontally and y vertically, increasing upwards. Non-finite values (an overflowed loss)
are masked: blank in contours, grey in the heat map, holes in the 3-D surface (which
``zmax`` cuts off cleanly). Colour maps follow the reference: ``summer`` for contours,
``viridis`` for the heat map, ``coolwarm`` for the 3-D surface.

The flat kinds are drawn in a square box, like the paper's Figs. 3 and 5. Their colour bars
carry round ticks and an arrow at each end the data run past (values beyond the colour
range). Contour labels sit on every few levels only and never overlap one another; they
are dark with a white halo (the line colours of ``summer`` run to a pale yellow, unreadable
on white) and placed once the figure is laid out (``label_contours``), since their size is
in points and their room in pixels.

A surface with nothing to show in a kind still gives its figure, the frame with whatever can
be drawn, and a warning says why (``landscape.plots.maps`` logger): every value non-finite (a
diverged model), no contour level within the data or every value beyond the colour range
(a barely trained one), nothing left under ``zmax``, or a grid of a single row or column
(no contour can be traced on it; the heat map draws its cells). A workflow's figure step does
not fail on such a surface.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from matplotlib import colormaps, patheffects
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm, Normalize
from matplotlib.contour import ContourSet
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FormatStrFormatter, FuncFormatter, MaxNLocator
from matplotlib.transforms import Bbox

from landscape.mesh import surface_mesh
from landscape.plots.options import PlotOptions, ValueRange, value_range
from landscape.surface_file import Surface

log = logging.getLogger(__name__)

MAX_FACETS = 101  # per axis in 3-D: 251 x 251 appendix grids render in seconds, not minutes


def _norm(r: ValueRange, opts: PlotOptions) -> Normalize:
    return LogNorm(r.vmin, r.vmax) if opts.log else Normalize(r.vmin, r.vmax)


def log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 values per decade between lo and hi (both positive): readable log-scale ticks."""
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    ticks = [m * 10.0 ** d for d in decades for m in (1, 2, 5)]
    return [float(f"{t:.6g}") for t in ticks if lo <= t <= hi]


def extend(z: np.ma.MaskedArray, r: ValueRange) -> str:
    """Which ends of the colour range the finite data run past: matplotlib's ``extend``."""
    if not z.count():
        return "neither"
    below, above = bool(z.min() < r.vmin), bool(z.max() > r.vmax)
    return {(False, False): "neither", (True, False): "min",
            (False, True): "max", (True, True): "both"}[(below, above)]


def _colorbar(ax: Axes, mappable, name: str, r: ValueRange, opts: PlotOptions,
              overflow: str) -> None:
    """A colour bar with round ticks (1-2-5 per decade in log scale) and arrows for overflow."""
    bar = ax.figure.colorbar(mappable, ax=ax, label=name, extend=overflow)
    bar.set_ticks(log_ticks(r.vmin, r.vmax) if opts.log else round_ticks(r.vmin, r.vmax))
    bar.formatter = FormatStrFormatter("%g")


def round_ticks(lo: float, hi: float, bins: int = 6) -> list[float]:
    """At most ``bins + 1`` round values (multiples of 1, 2, 2.5 or 5 times a power of ten)
    between lo and hi."""
    ticks = MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    return [float(f"{t:.6g}") for t in ticks if lo <= t <= hi]


def _round_axis_ticks(ax: Axes) -> None:
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))


def axis_limits(values: np.ndarray) -> tuple[float, float]:
    """The range of an axis's coordinates; half a unit either side of a single point (a range
    of width 0 is singular)."""
    lo, hi = float(values[0]), float(values[-1])
    return (lo - 0.5, hi + 0.5) if hi <= lo else (lo, hi)


def cell_edges(s: Surface) -> tuple[np.ndarray, np.ndarray]:
    """Edges of the heat map's cells, one per grid point and centred on it (matplotlib's
    ``shading="nearest"``), also on a single row or column, which nearest draws with no
    height: its cells take the other axis's step (or 1) across."""
    steps = [float(v[1] - v[0]) for v in (s.x, s.y) if len(v) > 1]

    def edges(v: np.ndarray) -> np.ndarray:
        if len(v) == 1:
            half = (steps[0] if steps else 1.0) / 2
            return np.array([v[0] - half, v[0] + half])
        mid = (v[1:] + v[:-1]) / 2
        return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])

    return edges(s.x), edges(s.y)


def empty_warning(s: Surface, name: str, kind: str, why: str) -> None:
    """Log that ``kind`` of ``s`` shows nothing (or little) of ``name``, and why."""
    log.warning("warning: surface %s: %s; its %s of %r is empty", s.source, why, kind, name)


def nothing_to_draw(z: np.ma.MaskedArray, opts: PlotOptions) -> str:
    """Why ``z`` has no value to draw ('' if it has one)."""
    if z.count():
        return ""
    return "no value is finite and positive (--log)" if opts.log else "no value is finite"


def single_line(s: Surface) -> str:
    """Why contours cannot be traced on ``s``'s grid ('' if they can)."""
    ny, nx = len(s.y), len(s.x)
    return f"its {ny} x {nx} grid has a single row or column" if min(nx, ny) < 2 else ""


def _masked(s: Surface, name: str, opts: PlotOptions) -> np.ma.MaskedArray:
    z = np.ma.masked_invalid(s.get(name))
    return np.ma.masked_less_equal(z, 0) if opts.log else z


def _axis_labels(ax: Axes, s: Surface) -> None:
    ax.set_xlabel(s.label("x"))
    ax.set_ylabel(s.label("y"))


def _flat_frame(ax: Axes, s: Surface, limits: bool = True) -> None:
    """A square box (whatever the x and y ranges), round ticks, axes labelled; ``limits``:
    exactly the grid's range."""
    if limits:
        ax.set_xlim(*axis_limits(s.x))
        ax.set_ylim(*axis_limits(s.y))
    ax.set_box_aspect(1)
    _round_axis_ticks(ax)
    _axis_labels(ax, s)


LABELLED_LEVELS = 5  # at most this many levels carry labels; more crowd where lines bunch
LABEL_SIZE = 8  # points
LABEL_PAD = 2.0  # pixels kept free around each label
LABEL_COLOR = "0.1"  # near black: readable whatever the line's colour
LABEL_HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]


def labelled_levels(levels: np.ndarray) -> np.ndarray:
    """Every k-th level from the lowest (the minimum's side), at most ``LABELLED_LEVELS``."""
    step = max(1, math.ceil(len(levels) / LABELLED_LEVELS))
    return levels[::step]


def label_contours(cs: ContourSet) -> list[Text]:
    """Inline labels on a few levels, none overlapping another; returns them.

    Call once the axes has its final size. matplotlib places one label per long enough line
    piece; where lines of neighbouring levels bunch up, those labels collide. So the labels
    are placed once without cutting the lines; the ones that would overlap a label of a lower
    level (or an earlier one of the same level) or stick out of the axes are dropped; the rest
    are placed again, inline. The labels are left out of the layout, so laying the figure out
    again (when it is saved) moves nothing.
    """
    levels = labelled_levels(np.asarray(cs.levels))
    trial = cs.clabel(levels, inline=False, fontsize=LABEL_SIZE, fmt="%.3g")
    renderer = cs.axes.figure._get_renderer()  # one for all labels: each new one draws
    frame = cs.axes.get_window_extent(renderer)
    boxes: list[Bbox] = []
    keep = []
    for text in trial:  # level by level from the lowest, as clabel adds them
        box = text.get_window_extent(renderer).padded(LABEL_PAD)
        inside = (frame.x0 <= box.x0 and box.x1 <= frame.x1
                  and frame.y0 <= box.y0 and box.y1 <= frame.y1)
        if inside and not any(box.overlaps(other) for other in boxes):
            boxes.append(box)
            keep.append(text.get_position())
    while cs.labelTexts:
        cs.pop_label()
    labels = cs.clabel(levels, inline=True, inline_spacing=3, fontsize=LABEL_SIZE, fmt="%.3g",
                       manual=keep, colors=LABEL_COLOR)
    for text in labels:
        text.set_in_layout(False)
        text.set_path_effects(LABEL_HALO)
    return list(labels)


def draw_contour(ax: Axes, s: Surface, name: str, opts: PlotOptions, colorbar: bool = False,
                 labels: bool = True) -> ContourSet | None:
    """Contour lines at ``arange(vmin, vmax, vlevel)`` (paper Fig. 5); returns them.

    ``labels=False`` leaves the labelling to the caller, who runs ``label_contours`` once
    the figure is laid out; with ``labels=True`` they are placed at the axes' current size.
    """
    z = _masked(s, name, opts)
    r = value_range(name, z.filled(np.nan), opts)
    cs = None
    why = nothing_to_draw(z, opts) or single_line(s)
    if not why:
        levels = r.levels[(r.levels >= z.min()) & (r.levels <= z.max())]
        if not levels.size:  # matplotlib warns and labels nothing when no level crosses the data
            why = (f"no contour level of {r.levels[0]:g} to {r.levels[-1]:g} lies within its "
                   f"values ({z.min():.4g} to {z.max():.4g}): set --vmin, --vmax, --vlevel")
    if why:
        empty_warning(s, name, "contour", why)
    else:
        cs = ax.contour(s.x, s.y, z, levels=levels, cmap="summer", norm=_norm(r, opts))
        if labels:
            label_contours(cs)
        if colorbar:  # matplotlib cannot draw a bar from a single contour level
            bar_of = cs if levels.size > 1 else _mappable(r, opts, "summer")
            _colorbar(ax, bar_of, name, r, opts, extend(z, r))
    _flat_frame(ax, s)
    return cs


def beyond_range(z: np.ma.MaskedArray, r: ValueRange) -> str:
    """Why a colour map of ``z`` is one colour: every value beyond ``r`` ('' if not)."""
    if z.count() and (z.min() > r.vmax or z.max() < r.vmin):
        side = "above vmax" if z.min() > r.vmax else "below vmin"
        return (f"every value ({z.min():.4g} to {z.max():.4g}) lies {side} "
                f"({r.vmax if side == 'above vmax' else r.vmin:g}), drawn in one colour")
    return ""


def draw_contourf(ax: Axes, s: Surface, name: str, opts: PlotOptions, colorbar: bool = True) -> None:
    """Filled contours between the same levels; values beyond them take the end colours."""
    z = _masked(s, name, opts)
    r = value_range(name, z.filled(np.nan), opts)
    levels = r.levels if r.levels[-1] >= r.vmax else np.append(r.levels, r.vmax)
    overflow = extend(z, r)
    why = nothing_to_draw(z, opts) or single_line(s)
    if why:
        empty_warning(s, name, "filled contour", why)
        if colorbar:
            _colorbar(ax, _mappable(r, opts, "summer"), name, r, opts, overflow)
    else:
        one_colour = beyond_range(z, r)
        if one_colour:
            log.warning("warning: surface %s: %s in the filled contour", s.source, one_colour)
        cf = ax.contourf(s.x, s.y, z, levels=levels, cmap="summer", norm=_norm(r, opts),
                         extend=overflow)
        if colorbar:
            _colorbar(ax, cf, name, r, opts, overflow)
    _flat_frame(ax, s)


def _mappable(r: ValueRange, opts: PlotOptions, cmap: str) -> ScalarMappable:
    """A colour scale with no data behind it: the colour bar of an empty map."""
    return ScalarMappable(norm=_norm(r, opts), cmap=cmap)


def draw_heatmap(ax: Axes, s: Surface, name: str, opts: PlotOptions, colorbar: bool = True) -> None:
    """One cell per grid point, centred on its coordinates; colour range vmin..vmax."""
    z = _masked(s, name, opts)
    r = value_range(name, z.filled(np.nan), opts)
    why = nothing_to_draw(z, opts)
    if why:
        empty_warning(s, name, "heat map", why + " (every cell grey)")
    elif beyond_range(z, r):
        log.warning("warning: surface %s: %s in the heat map", s.source, beyond_range(z, r))
    cmap = colormaps["viridis"].with_extremes(bad="0.8")
    mesh = ax.pcolormesh(*cell_edges(s), z, shading="flat", cmap=cmap, norm=_norm(r, opts))
    if colorbar:
        _colorbar(ax, mesh, name, r, opts, extend(z, r))
    _flat_frame(ax, s, limits=False)  # the outer cells reach half a step beyond the grid


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
    if not len(mesh.triangles):
        why = single_line(s) or nothing_to_draw(_masked(s, name, opts), opts)
        empty_warning(s, name, "3-D surface", why or f"no grid cell lies at or below zmax "
                      f"{opts.zmax:g}")
    else:
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
    ax.set_xlim(*axis_limits(s.x))
    ax.set_ylim(*axis_limits(s.y))
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
