"""Surface grids (``min:max:num`` per axis) and how their points are split over shards.

Points are numbered row-major over ``(j, i)``: ``k = j * len(x) + i`` for a 2-D grid (``k = i``
in 1-D), which matches the surface arrays' shape ``(len(y), len(x))``. Shard ``i/n`` computes
the points with ``k % n == i``: round-robin, so every shard gets an even share of the grid's
center and edges and shards finish at about the same time.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import numpy as np

from landscape.errors import LandscapeError

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


@dataclass(frozen=True)
class Axis:
    """``num`` evenly spaced coordinates from ``min`` to ``max`` inclusive (``numpy.linspace``)."""

    min: float
    max: float
    num: int

    @property
    def spec(self) -> str:
        return f"{self.min!r}:{self.max!r}:{self.num}"

    def coordinates(self) -> np.ndarray:
        return self._coordinates.copy()

    @functools.cached_property
    def _coordinates(self) -> np.ndarray:  # computed once: a sweep asks at every point
        return np.linspace(self.min, self.max, self.num, dtype=np.float64)


def parse_axis(text: str, name: str = "x") -> Axis:
    """Parse ``min:max:num``; refuse a reversed or empty range, naming the axis and the spec."""
    parts = str(text).split(":")
    if len(parts) != 3:
        raise LandscapeError(f"grid spec --{name} {text!r} must be MIN:MAX:NUM, e.g. -1:1:51")
    lo, hi, num = (p.strip() for p in parts)
    if not (re.fullmatch(_NUMBER, lo) and re.fullmatch(_NUMBER, hi)):
        raise LandscapeError(f"grid spec --{name} {text!r}: MIN and MAX must be numbers")
    if not re.fullmatch(r"\+?\d+", num):
        raise LandscapeError(f"grid spec --{name} {text!r}: NUM must be a positive integer")
    axis = Axis(float(lo), float(hi), int(num))
    if not (math.isfinite(axis.min) and math.isfinite(axis.max)):
        raise LandscapeError(f"grid spec --{name} {text!r}: MIN and MAX must be finite")
    if axis.num < 1:
        raise LandscapeError(f"grid spec --{name} {text!r}: NUM must be at least 1")
    if axis.num == 1 and axis.min != axis.max:
        raise LandscapeError(f"grid spec --{name} {text!r}: a single point needs MIN == MAX")
    if axis.num > 1 and not axis.min < axis.max:
        raise LandscapeError(f"grid spec --{name} {text!r}: MIN must be less than MAX")
    return axis


@dataclass(frozen=True)
class Grid:
    """A 1-D (``y is None``) or 2-D grid of direction coefficients."""

    x: Axis
    y: Axis | None = None

    @classmethod
    def parse(cls, x: str, y: str | None = None) -> Grid:
        return cls(parse_axis(x, "x"), None if y is None else parse_axis(y, "y"))

    @property
    def ndim(self) -> int:
        return 1 if self.y is None else 2

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the surface arrays: ``(len(y), len(x))``, or ``(len(x),)`` in 1-D."""
        return (self.x.num,) if self.y is None else (self.y.num, self.x.num)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def index(self, k: int) -> tuple[int, ...]:
        """Array index of flat point ``k``: ``(j, i)`` in 2-D, ``(i,)`` in 1-D."""
        return (k,) if self.y is None else divmod(k, self.x.num)

    def coefficients(self, k: int) -> tuple[float, ...]:
        """Coefficients of point ``k``: ``(a,)`` or ``(a, b)``, for weights ``w + a dx + b dy``."""
        xs = self.x._coordinates
        if self.y is None:
            return (float(xs[k]),)
        j, i = divmod(k, self.x.num)
        return (float(xs[i]), float(self.y._coordinates[j]))


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based); ``Shard(0, 1)`` is the whole grid."""

    index: int = 0
    count: int = 1

    @property
    def spec(self) -> str:
        return f"{self.index}/{self.count}"

    def points(self, grid: Grid) -> np.ndarray:
        """Flat indices of this shard's points, ascending."""
        return np.arange(self.index, grid.size, self.count, dtype=np.int64)

    def mask(self, grid: Grid) -> np.ndarray:
        """Boolean array of the grid's shape, true at this shard's points."""
        mask = np.zeros(grid.size, dtype=bool)
        mask[self.points(grid)] = True
        return mask.reshape(grid.shape)


def parse_shard(text: str) -> Shard:
    """Parse ``i/n`` with ``0 <= i < n``."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match:
        raise LandscapeError(f"shard spec {text!r} must be I/N with 0 <= I < N, e.g. 0/4")
    shard = Shard(int(match[1]), int(match[2]))
    if not 0 <= shard.index < shard.count:
        raise LandscapeError(f"shard spec {text!r} must be I/N with 0 <= I < N, e.g. 0/4")
    return shard
