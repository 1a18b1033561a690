"""Why a contour panel shows no line, said in the panel and in the log.

A figure whose contours are missing reads as a flat landscape or as a drawing bug. When
``draw_contour`` draws no line (too few finite points, a constant surface, no level between
the surface's lowest and highest value), ``note_missing_contours`` writes the reason at the
top of the axes and logs it as a warning, so the figure and the job's log both say why.
"""

from __future__ import annotations

import logging
import textwrap

import numpy as np
from matplotlib.axes import Axes
from matplotlib.contour import ContourSet

from landscape.plots.options import PlotOptions, value_range
from landscape.surface_file import Surface

log = logging.getLogger(__name__)
NOTE_WIDTH = 44  # characters per line of the note


def missing_contours(s: Surface, name: str, opts: PlotOptions, cs: ContourSet | None) -> str | None:
    """Why ``cs`` (what ``draw_contour`` returned for ``s``) holds no line; None if it has one."""
    if cs is not None and any(len(path.vertices) for path in cs.get_paths()):
        return None
    z = np.asarray(s.get(name), dtype=float)
    finite = np.isfinite(z) & ((z > 0) if opts.log else True)
    cells = finite[:-1, :-1] & finite[1:, :-1] & finite[:-1, 1:] & finite[1:, 1:]
    if z.ndim != 2 or not cells.any():
        return (f"too few finite points ({int(finite.sum())} of {z.size}) to draw contours"
                f"{' (log scale: only positive values count)' if opts.log else ''}")
    lo, hi = float(z[finite].min()), float(z[finite].max())
    if lo == hi:
        return f"the surface is constant ({name} = {lo:.4g}): no contour to draw"
    r = value_range(name, z, opts)
    return (f"no contour level between the surface's lowest {name} {lo:.4g} and its highest "
            f"{hi:.4g} (levels from {r.vmin:g} to {r.vmax:g}); set vmin, vmax and vlevel to "
            "draw them")


def note_missing_contours(ax: Axes, s: Surface, name: str, opts: PlotOptions,
                          cs: ContourSet | None) -> str | None:
    """Write why no contour shows at the top of ``ax`` and log it; returns the reason."""
    reason = missing_contours(s, name, opts, cs)
    if reason is None:
        return None
    log.warning("%s: no contours drawn: %s", s.source, reason)
    ax.text(0.5, 0.97, textwrap.fill(f"No contours: {reason}", NOTE_WIDTH), transform=ax.transAxes,
            ha="center", va="top", fontsize=8, color="0.15", zorder=10,
            bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "0.6", "alpha": 0.9})
    return reason
