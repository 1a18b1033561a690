"""Fixed style and byte-deterministic, all-or-nothing figure files.

Figures are ``matplotlib.figure.Figure`` objects built without pyplot: no GUI backend, no
global figure registry, nothing for a caller's interactive session to trip over; PNG goes
through Agg. Every rcParam comes from matplotlib's defaults plus ``OVERRIDES`` (a user's
matplotlibrc is ignored), and the timestamp / software metadata is dropped, so the same
surface file gives the same bytes in every process (``SOURCE_DATE_EPOCH`` plays no part).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import matplotlib
import matplotlib.style
from matplotlib.figure import Figure

from landscape.atomic import atomic_outputs
from landscape.choices import FIGURE_FORMATS
from landscape.errors import LandscapeError

FORMATS = FIGURE_FORMATS
OVERRIDES = {
    "svg.hashsalt": "landscape",  # SVG element ids otherwise come from a random salt
    "font.family": "DejaVu Sans",  # shipped with matplotlib: same glyphs on every machine
    "font.size": 10,
    "axes.titlesize": 10,
}
METADATA = {
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "png": {"Software": None},
    "svg": {"Creator": None, "Date": None},
}


@contextlib.contextmanager
def plot_style() -> Iterator[None]:
    """Matplotlib's default rcParams plus ``OVERRIDES``, for building and saving figures."""
    with matplotlib.style.context("default"), matplotlib.rc_context(OVERRIDES):
        yield


def check_formats(formats: Sequence[str]) -> list[str]:
    """Validated, de-duplicated formats in the order given."""
    if not formats:
        raise LandscapeError("no output format given; choose from " + ", ".join(FORMATS))
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise LandscapeError(f"unknown format {bad[0]!r}; choose from {', '.join(FORMATS)}")
    return list(dict.fromkeys(formats))


def save_figures(jobs: Sequence[tuple[Figure, Path]], dpi: int) -> list[Path]:
    """Write each figure to its path (format from the suffix), all or none.

    Every file is rendered to a temporary name beside its target first; only when all have
    rendered are they renamed into place, so a failure leaves no partial output.
    """
    paths = [path for _, path in jobs]
    with atomic_outputs(*paths) as temps:
        for (fig, path), temp in zip(jobs, temps):
            fmt = path.suffix.lstrip(".")
            fig.savefig(temp, format=fmt, dpi=dpi, metadata=METADATA[fmt])
    return paths
