"""Training curves: loss and error per epoch of every model, learning-rate decays marked.

``plot_training(["r20/metrics.csv", ...], ["resnet20", ...], "figs/training")`` writes
``figs/training.pdf`` and ``.png`` from the per-epoch ``metrics.csv`` files that
``landscape train`` writes: loss on a log axis (left; it falls by orders of magnitude) and
error in percent (right), one colour per model, train solid and test dashed. A dotted
vertical line marks each epoch after which the learning rate dropped (read from the ``lr``
column): grey when every model decays there, else in the colour of the models that do.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FormatStrFormatter, MaxNLocator, NullFormatter

from landscape.plots.maps import log_ticks, round_ticks
from landscape.plots.output import check_formats, plot_style, save_figures
from landscape.tables import check_labels, read_metrics

COLUMNS = ("epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc")
SPLITS = (("train", "-"), ("test", "--"))
DECAY_STYLE = {"linestyle": ":", "linewidth": 1.0}
COMMON_DECAY_COLOR = "0.5"


def decay_epochs(history: pd.DataFrame) -> list[int]:
    """Epochs after which the learning rate dropped: the last epoch at each higher rate."""
    lr = history["lr"].to_numpy(dtype=float)
    epochs = history["epoch"].to_numpy()
    return [int(epochs[i]) for i in np.flatnonzero(lr[1:] < lr[:-1])]


def _colors(n: int) -> list:
    palette = colormaps["tab10"].colors
    return [palette[i % len(palette)] for i in range(n)]


def _mark_decays(axes: Sequence[Axes], decays: list[list[int]], colors: list) -> list[Line2D]:
    """Dotted lines at the decay epochs; returns their legend entries."""
    common = set.intersection(*map(set, decays)) if decays else set()
    marks = [(e, COMMON_DECAY_COLOR) for e in sorted(common)]
    marks += [(e, color) for epochs, color in zip(decays, colors)
              for e in epochs if e not in common]
    for ax in axes:
        for epoch, color in marks:
            ax.axvline(epoch, color=color, **DECAY_STYLE)
    entries = []
    if common:
        entries.append(Line2D([], [], color=COMMON_DECAY_COLOR, label="lr decay", **DECAY_STYLE))
    if len(marks) > len(common):
        entries.append(Line2D([], [], color="black", label="lr decay of one model\n(its colour)",
                              **DECAY_STYLE))
    return entries


def _log_loss_axis(ax: Axes, histories: Sequence[pd.DataFrame]) -> None:
    """Log scale with plain-number ticks: 1-2-5 per decade, or round ones within a decade."""
    ax.set_yscale("log")
    values = np.concatenate([h[f"{split}_loss"].to_numpy(dtype=float)
                             for h in histories for split, _ in SPLITS])
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:
        return
    lo, hi = float(values.min()), float(values.max())
    ticks = log_ticks(lo, hi)
    if len(ticks) < 3:
        ticks = round_ticks(lo, hi, bins=4) or ticks
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def training_figure(histories: Sequence[pd.DataFrame], models: Sequence[str]) -> Figure:
    """Loss (log scale) and error per epoch, side by side, one colour per model."""
    check_labels(models, histories, "metrics")
    colors = _colors(len(models))
    fig = Figure(figsize=(10.0, 4.0), layout="constrained")
    loss_ax, err_ax = fig.subplots(1, 2)
    for history, color in zip(histories, colors):
        marker = "o" if len(history) == 1 else None  # a line needs two epochs
        for split, style in SPLITS:
            loss = history[f"{split}_loss"].where(history[f"{split}_loss"] > 0)  # log axis
            loss_ax.plot(history["epoch"], loss, style, color=color, marker=marker)
            err_ax.plot(history["epoch"], 100.0 - history[f"{split}_acc"], style, color=color,
                        marker=marker)
    decays = _mark_decays((loss_ax, err_ax), [decay_epochs(h) for h in histories], colors)
    _log_loss_axis(loss_ax, histories)
    loss_ax.set_ylabel("loss")
    err_ax.set_ylabel("error (%)")
    err_ax.set_ylim(bottom=0)
    for ax in (loss_ax, err_ax):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, which="major", linewidth=0.3)
    handles = [Line2D([], [], color=c, label=m) for m, c in zip(models, colors)]
    handles += [Line2D([], [], color="black", linestyle=style, label=split)
                for split, style in SPLITS]
    handles += decays
    fig.legend(handles=handles, loc="outside right upper", fontsize=8)
    return fig


def plot_training(metrics: Sequence[str | Path], models: Sequence[str], out_prefix: str | Path,
                  formats: Sequence[str] = ("pdf", "png"), dpi: int = 150) -> list[Path]:
    """Write ``<out_prefix>.<format>``: the training curves of every model, all or none."""
    formats = check_formats(formats)
    check_labels(models, metrics, "metrics")
    histories = [read_metrics(path, COLUMNS) for path in metrics]
    with plot_style():
        fig = training_figure(histories, models)
        return save_figures([(fig, Path(f"{out_prefix}.{fmt}")) for fmt in formats], dpi)
