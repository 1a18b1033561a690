"""Value range, contour levels, clipping and scale shared by every figure kind."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from landscape.choices import FIGURE_FORMATS
from landscape.errors import LandscapeError
from landscape.settings import setting

MAX_LEVELS = 500
# The paper's contour settings for losses (reference plot_2D.py defaults).
LOSS_RANGE = (0.1, 10.0, 0.5)
PERCENT_RANGE = (0.0, 100.0, 5.0)


VALUES = ("values (defaults: 0.1 / 10 / 0.5 for losses, 0 / 100 / 5 for accuracies and "
          "errors)")
OUTPUT = "output"
MARKS = "marks (1-D curves)"
BY_QUANTITY = "by quantity"


@dataclass(frozen=True, kw_only=True)
class PlotOptions:
    """What the user may set; ``None`` means the default for the plotted quantity.

    vmin/vmax/vlevel: contour levels ``arange(vmin, vmax, vlevel)`` and the colour range of
    filled contours and heat maps; for 1-D plots vmin/vmax limit the loss axis (default: 0
    to the largest loss, at most 5: ``curves.loss_limits``). zmax: the
    3-D surface is clipped there (overflowed points, +Inf, drawn at the ceiling). log: a
    logarithmic value scale (1-D loss axis, colour norms, geometric contour levels, log10
    heights in 3-D with ticks labelled in loss units). marks, mark_labels: labelled vertical
    lines on 1-D curves (the two solutions of an interpolation).
    """

    vmin: float | None = setting(None, "lowest contour level and colour; 1-D: loss axis bottom "
                                 "(0)", group=VALUES, none=BY_QUANTITY)
    vmax: float | None = setting(None, "contour levels stop below it; colour top; 1-D: loss "
                                 "axis top (the largest loss, at most 5)", group=VALUES,
                                 none=BY_QUANTITY)
    vlevel: float | None = setting(None, "spacing of contour levels", group=VALUES,
                                   none=BY_QUANTITY)
    zmax: float | None = setting(None, "clip the 3-D surface at this height", group=VALUES,
                                 none="no clipping")
    log: bool = setting(False, "logarithmic value scale (1-D loss axis, colours, levels, 3-D "
                        "heights)", group=VALUES)
    marks: tuple[float, ...] = setting((), "1-D curves: x values marked by a vertical line, "
                                       "e.g. 0 1 for the two solutions of an interpolation "
                                       "(paper Fig. 2)", group=MARKS, metavar="X")
    mark_labels: tuple[str, ...] = setting((), "1-D curves: one label per mark, e.g. "
                                           "'batch 128' 'batch 8192'", group=MARKS,
                                           metavar="LABEL")

    def check(self) -> None:
        """Reject impossible settings before any file is read or drawn."""
        for key in ("vmin", "vmax", "vlevel", "zmax"):
            value = getattr(self, key)
            if value is not None and not math.isfinite(value):
                raise LandscapeError(f"--{key} must be a finite number, got {value}")
        if self.vlevel is not None and self.vlevel <= 0:
            raise LandscapeError(f"--vlevel must be positive, got {self.vlevel}")
        if self.vmin is not None and self.vmax is not None and not self.vmin < self.vmax:
            raise LandscapeError(f"--vmin ({self.vmin}) must be below --vmax ({self.vmax})")
        if self.log and self.vmin is not None and self.vmin <= 0:
            raise LandscapeError(f"--log needs a positive --vmin, got {self.vmin}")
        if self.log and self.zmax is not None and self.zmax <= 0:
            raise LandscapeError(f"--log needs a positive --zmax, got {self.zmax}")
        bad = [m for m in self.marks if not math.isfinite(m)]
        if bad:
            raise LandscapeError(f"--marks must be finite numbers, got {bad[0]}")
        if self.mark_labels and len(self.mark_labels) != len(self.marks):
            raise LandscapeError(f"{len(self.mark_labels)} --mark-labels for {len(self.marks)} "
                                 "--marks: give one label per mark, or none")


@dataclass(frozen=True, kw_only=True)
class OutputOptions:
    """Which files a figure becomes: every command that draws takes these."""

    formats: tuple[str, ...] = setting(("pdf", "png"), "file formats", choices=FIGURE_FORMATS,
                                       group=OUTPUT, nargs="+")
    dpi: int = setting(150, "PNG resolution", minimum=1, group=OUTPUT)


@dataclass(frozen=True, kw_only=True)
class FigureOptions(OutputOptions):
    """Which quantity a surface figure shows and how its axes are labelled, plus its files."""

    surf_name: str = setting(
        "train_loss", "dataset drawn in 2-D kinds: train_loss, test_loss, train_acc, test_acc, "
        "derived train_err, test_err, eig_ratio, or any other dataset of the file")
    xlabel: str | None = setting(None, "x axis label", group=OUTPUT,
                                 none="the file's xlabel attribute, else x")
    ylabel: str | None = setting(None, "y axis label", group=OUTPUT,
                                 none="the file's ylabel attribute, else y")


@dataclass(frozen=True)
class ValueRange:
    vmin: float
    vmax: float
    levels: np.ndarray


def value_range(name: str, values: np.ndarray, opts: PlotOptions) -> ValueRange:
    """Colour range and contour levels for quantity ``name``.

    Defaults: the paper's 0.1 / 10 / 0.5 for losses, 0 / 100 / 5 for accuracies and errors
    (percent), and for anything else (Hessian eigenvalues...) the data's finite range in 20
    steps. User values override each part.
    """
    if name.endswith("loss"):
        default = LOSS_RANGE
    elif name.endswith(("acc", "err")):
        default = PERCENT_RANGE
    else:
        finite = values[np.isfinite(values)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if opts.log:
            positive = finite[finite > 0]
            lo = float(positive.min()) if positive.size else 1e-3
            hi = max(hi, lo * 10)
        if hi <= lo:
            hi = lo + 1.0
        default = (lo, hi, (hi - lo) / 20)
    vmin = default[0] if opts.vmin is None else opts.vmin
    vmax = default[1] if opts.vmax is None else opts.vmax
    if opts.log and vmin <= 0:
        vmin = LOSS_RANGE[0] if vmax > LOSS_RANGE[0] else vmax / 100
    vlevel = default[2] if opts.vlevel is None else opts.vlevel
    if not vmin < vmax:
        raise LandscapeError(f"value range for {name!r} is empty: vmin {vmin} >= vmax {vmax}")
    count = math.ceil((vmax - vmin) / vlevel)
    if count > MAX_LEVELS:
        raise LandscapeError(
            f"{count} contour levels from vmin {vmin}, vmax {vmax}, vlevel {vlevel}; "
            f"at most {MAX_LEVELS}: raise --vlevel"
        )
    if opts.log:
        levels = np.geomspace(vmin, vmax, max(count, 2))
    else:
        levels = np.arange(vmin, vmax, vlevel)
    return ValueRange(vmin, vmax, np.round(levels, 10))
