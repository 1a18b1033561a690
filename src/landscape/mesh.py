"""Triangle meshes of 2-D surfaces, cut cleanly at a height: shared by the 3-D figures and ``.vtp``.

A grid value ``z[j, i]`` at ``(x_i, y_j)`` becomes a vertex; every grid cell becomes two
triangles. A cut at ``zmax`` removes what lies above it: triangles wholly above are dropped
and triangles crossing the cut are clipped at the plane ``height = zmax``, with new vertices
where their edges cross it (shared between neighbouring triangles), so the surface ends in a
clean edge at exactly ``zmax`` instead of a flat plateau. Non-finite values (an overflowed
loss) and, on a log scale, non-positive ones leave holes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class Mesh:
    """Vertices ``points[k] = (x, y, height)``, the quantity's own ``values[k]`` there, and
    ``triangles`` (three vertex indices each, counter-clockwise seen from above)."""

    points: np.ndarray  # (P, 3) float64
    values: np.ndarray  # (P,) float64
    triangles: np.ndarray  # (T, 3) int64


def height(values: np.ndarray, log: bool) -> np.ndarray:
    """The plotted height: the value, or its log10 (NaN where not positive)."""
    values = np.asarray(values, dtype=np.float64)
    if not log:
        return values.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values > 0, np.log10(values), np.nan)


def grid_triangles(nx: int, ny: int) -> np.ndarray:
    """Two triangles per cell of an ``ny x nx`` row-major grid of vertices ``k = j * nx + i``."""
    i, j = np.meshgrid(np.arange(nx - 1), np.arange(ny - 1))
    k00 = (j * nx + i).ravel()
    k10, k01, k11 = k00 + 1, k00 + nx, k00 + nx + 1
    lower = np.stack([k00, k10, k11], axis=1)
    upper = np.stack([k00, k11, k01], axis=1)
    return np.stack([lower, upper], axis=1).reshape(-1, 3).astype(np.int64)


def surface_mesh(x: np.ndarray, y: np.ndarray, z: np.ndarray, *, zmax: float | None = None,
                 log: bool = False) -> Mesh:
    """The mesh of ``z`` (shape ``(len(y), len(x))``), cut at ``zmax`` (in ``z``'s units)."""
    z = np.asarray(z, dtype=np.float64)
    xx, yy = np.meshgrid(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    h = height(z, log).ravel()
    points = np.stack([xx.ravel(), yy.ravel(), h], axis=1)
    values = z.ravel().copy()
    triangles = grid_triangles(len(x), len(y))
    triangles = triangles[np.isfinite(h)[triangles].all(axis=1)]
    if zmax is not None:
        cut = math.log10(zmax) if log else float(zmax)
        points, values, triangles = _cut(points, values, triangles, cut, float(zmax))
    return _compact(points, values, triangles)


def _cut(points: np.ndarray, values: np.ndarray, triangles: np.ndarray, cut: float,
         cut_value: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clip every triangle to ``height <= cut`` (Sutherland-Hodgman against one plane)."""
    above = points[:, 2] > cut
    count = above[triangles].sum(axis=1)
    kept = [triangles[count == 0]]
    new_points: list[np.ndarray] = []
    crossing: dict[tuple[int, int], int] = {}

    def on_cut(a: int, b: int) -> int:
        """The vertex where edge (a, b) crosses the cut, made once per edge."""
        key = (min(a, b), max(a, b))
        if key not in crossing:
            pa, pb = points[key[0]], points[key[1]]
            t = (cut - pa[2]) / (pb[2] - pa[2])
            crossing[key] = len(points) + len(new_points)
            new_points.append(np.array([*(pa[:2] + t * (pb[:2] - pa[:2])), cut]))
        return crossing[key]

    for tri in triangles[(count == 1) | (count == 2)]:
        polygon: list[int] = []
        for a, b in zip(tri, np.roll(tri, -1)):
            if not above[a]:
                polygon.append(int(a))
            if above[a] != above[b]:
                polygon.append(on_cut(int(a), int(b)))
        kept.append(np.array([[polygon[0], polygon[m], polygon[m + 1]]
                              for m in range(1, len(polygon) - 1)], dtype=np.int64))
    if new_points:
        points = np.concatenate([points, np.array(new_points)])
        values = np.concatenate([values, np.full(len(new_points), cut_value)])
    return points, values, np.concatenate(kept).reshape(-1, 3)


def _compact(points: np.ndarray, values: np.ndarray, triangles: np.ndarray) -> Mesh:
    """Only the vertices some triangle uses, renumbered in their original order."""
    used = np.unique(triangles)
    index = np.full(len(points), -1, dtype=np.int64)
    index[used] = np.arange(used.size)
    return Mesh(points[used], values[used], index[triangles].reshape(-1, 3))
