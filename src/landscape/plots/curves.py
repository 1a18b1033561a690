"""1-D plots in the paper's Fig. 2 style: loss on the left axis, accuracy on the right.

Train curves are solid and test curves dashed; whichever of ``train_loss``, ``test_loss``,
``train_acc``, ``test_acc`` the file holds are drawn. Non-finite points (an overflowed loss, a failed
evaluation) leave a gap in the line and are marked by a cross on the x axis, with a legend
entry that counts them, so a missing point never passes for a short curve. The loss axis shows the informative range (``loss_limits``): the
paper's 1-D plots stop at loss 5, where a network has long stopped classifying, so a curve
that climbs to 300 does not flatten its minimum into the floor. ``PlotOptions.marks`` draws
labelled vertical lines (the two solutions of an interpolation at alpha = 0 and 1). The legend sits below
the axes, where it covers no curve, and the x axis has at most ``X_TICKS`` + 1 round ticks,
so its labels stay apart in a narrow panel.
A curve of a single point is drawn as a dot; a surface with no finite value to draw still
gives its figure (axes and legend), and a warning says so.
"""

from __future__ import annotations

import logging

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation

from landscape.errors import LandscapeError
from landscape.plots.maps import axis_limits
from landscape.plots.options import PlotOptions
from landscape.surface_file import Surface

CURVES = (  # (quantity, axis, line style, legend label)
    ("train_loss", "loss", "-", "train loss"),
    ("test_loss", "loss", "--", "test loss"),
    ("train_acc", "acc", "-", "train accuracy"),
    ("test_acc", "acc", "--", "test accuracy"),
)
LOSS_COLOR, ACC_COLOR, MARK_COLOR, MISSING_COLOR = "tab:blue", "tab:red", "0.25", "black"
LOSS_TOP = 5.0  # the paper's loss axis (Figs. 2, 3): 0 to 5
log = logging.getLogger(__name__)

HEADROOM = 1.05  # above the highest point drawn, so the curve does not run along the frame
X_TICKS = 5  # at most this many intervals between x ticks
LEGEND_DROP = 0.5  # inches from the axes' bottom to the legend's top: below ticks and x label


def loss_limits(losses: list[np.ndarray], opts: PlotOptions) -> tuple[float | None, float | None]:
    """The loss axis (bottom, top); None leaves that end to matplotlib.

    Linear scale: bottom 0 (or the lowest loss, if negative); top the highest loss plus 5%,
    but at most 5 (the paper's range), unless the lowest loss lies above 2.5: then twice the
    lowest, so the minimum always shows. ``vmin``/``vmax`` replace either end. Log scale:
    ``vmin``/``vmax`` or matplotlib's range, which already spans the decades.
    """
    if opts.log:
        return opts.vmin, opts.vmax
    finite = np.concatenate([v[np.isfinite(v)] for v in losses]) if losses else np.array([])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, LOSS_TOP)
    bottom = opts.vmin if opts.vmin is not None else min(0.0, lo)
    top = opts.vmax
    if top is None:
        top = min(HEADROOM * hi, max(LOSS_TOP, 2 * lo))
        if top <= bottom:  # a flat curve, or vmin above the default top
            top = None
    return bottom, top


def check_curves(s: Surface) -> None:
    if not any(s.has(name) for name, *_ in CURVES):
        raise LandscapeError(
            f"surface {s.source} has none of {', '.join(n for n, *_ in CURVES)} to plot in 1-D"
        )


def draw_curves(ax: Axes, s: Surface, opts: PlotOptions) -> Axes:
    """Draw onto ``ax`` (loss) and a twin axis (accuracy, 0-100 %), which is returned."""
    check_curves(s)
    acc_ax = ax.twinx()
    lines = []
    drawn = [name for name, *_ in CURVES if s.has(name)]
    if not any(np.isfinite(s.get(name)).any() for name in drawn):
        log.warning("warning: surface %s: no value of %s is finite; the curves are drawn empty",
                    s.source, ", ".join(drawn))
    marker = "o" if len(s.x) == 1 else None  # a line through one point shows nothing
    for name, axis, style, label in CURVES:
        if not s.has(name):
            continue
        y = np.where(np.isfinite(s.get(name)), s.get(name), np.nan)
        target, color = (ax, LOSS_COLOR) if axis == "loss" else (acc_ax, ACC_COLOR)
        lines += target.plot(s.x, y, style, color=color, linewidth=1.5, label=label,
                             marker=marker)
    missing = mark_missing(ax, s)
    if opts.log:
        ax.set_yscale("log")
    bottom, top = loss_limits([s.get(n) for n, axis, *_ in CURVES if axis == "loss" and s.has(n)],
                              opts)
    if bottom is not None or top is not None:
        ax.set_ylim(bottom, top)
    ax.set_xlim(*axis_limits(s.x))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=X_TICKS, steps=[1, 2, 2.5, 5, 10]))
    ax.set_xlabel(s.label("x"))
    ax.set_ylabel("loss", color=LOSS_COLOR)
    ax.tick_params(axis="y", which="both", labelcolor=LOSS_COLOR)
    acc_ax.set_ylim(0, 100)
    acc_ax.set_ylabel("accuracy (%)", color=ACC_COLOR)
    acc_ax.tick_params(axis="y", which="both", labelcolor=ACC_COLOR)
    draw_marks(ax, opts)
    handles = lines + ([missing] if missing is not None else [])
    below = ax.transAxes + ScaledTranslation(0, -LEGEND_DROP, ax.figure.dpi_scale_trans)
    ax.legend(handles, [h.get_label() for h in handles], loc="upper center",
              bbox_to_anchor=(0.5, 0.0), bbox_transform=below, ncol=2, fontsize=8,
              frameon=False)
    return acc_ax


def mark_missing(ax: Axes, s: Surface):
    """A cross on the x axis at every x where a drawn quantity is not finite; the crosses
    (labelled with their count, for the legend), or None when every point is finite."""
    bad = np.zeros(len(s.x), bool)
    for name, *_ in CURVES:
        if s.has(name):
            bad |= ~np.isfinite(s.get(name))
    if not bad.any():
        return None
    n = int(bad.sum())
    return ax.scatter(s.x[bad], np.zeros(n), marker="x", s=30, color=MISSING_COLOR,
                      linewidths=1.5, transform=ax.get_xaxis_transform(), clip_on=False,
                      zorder=5, label=f"not finite ({n} point{'s' if n > 1 else ''})")


def draw_marks(ax: Axes, opts: PlotOptions) -> None:
    """A dotted vertical line at each of ``opts.marks``, labelled at the top of the axes."""
    labels = opts.mark_labels or [""] * len(opts.marks)
    for x, label in zip(opts.marks, labels):
        ax.axvline(x, color=MARK_COLOR, linestyle=":", linewidth=1.2)
        if label:
            ax.annotate(label, xy=(x, 1), xycoords=("data", "axes fraction"), xytext=(0, -4),
                        textcoords="offset points", ha="center", va="top", fontsize=8,
                        color=MARK_COLOR, bbox={"boxstyle": "round,pad=0.2", "fc": "white",
                                                "ec": "none", "alpha": 0.8})
