"""Surfaces as VTK XML PolyData (``.vtp``), for ParaView and any VTK reader; NumPy only.

``landscape vtp --surface surfaces/resnet56.h5 --out resnet56.vtp --zmax 10 --log``

The file holds the surface's triangle mesh (``landscape.mesh``): points ``(x, y, height)``
with height the value or its log10, two triangles per grid cell, cut cleanly at ``zmax``,
and the quantity itself (``train_loss``, ...) as point data, the active scalars. Data arrays
are inline, ASCII (default) or base64-encoded binary, so the header and structure read with
any XML parser. Same surface and settings, same bytes.

The reference's ``h52vtp.py`` does the same job with SciPy (its interpolation function is
gone from SciPy 1.14) and differs on purpose: its ``--zmax`` flattens what lies above into a
plateau at zmax (here: removed, the edge at exactly zmax); its ``--log`` is the natural log
of ``value + 0.1`` (here: log10 of the value, as in the 3-D figures, non-positive values left
out); it writes every grid point, also non-finite ones (here: holes); quadrilaterals there,
triangles here. Its ``--interp`` (cubic upsampling) has no counterpart: sweep a finer grid.

A surface with nothing to draw (every value non-finite or above ``zmax``, a diverged or barely
trained model; a grid of a single row or column, which has no cells) still gives a valid
file, an empty mesh, and a warning says why: a workflow's last step does not fail on it.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import numpy as np

from landscape.atomic import atomic_write_bytes
from landscape.configs import VtpConfig
from landscape.errors import LandscapeError
from landscape.mesh import Mesh, surface_mesh
from landscape.surface_file import Surface, read_surface

HEADER = np.uint64  # header_type="UInt64": the byte count before each binary block
VTK_TYPES = {np.dtype(np.float64): "Float64", np.dtype(np.int64): "Int64"}

log = logging.getLogger(__name__)


def surface_to_mesh(surface: Surface, cfg: VtpConfig) -> Mesh:
    """The mesh of quantity ``cfg.surf_name`` of a 2-D surface; empty, with a warning, when
    no grid cell is left to draw."""
    cfg.validate()
    if surface.ndim != 2:
        raise LandscapeError(f"surface {surface.source} is 1-D; a .vtp surface needs a 2-D one")
    mesh = surface_mesh(surface.x, surface.y, surface.get(cfg.surf_name), zmax=cfg.zmax,
                        log=cfg.log)
    if not len(mesh.triangles):
        ny, nx = len(surface.y), len(surface.x)
        if min(nx, ny) < 2:
            why = f"its {ny} x {nx} grid has no cell (a cell needs 2 x 2 points)"
        else:
            why = " at or below --zmax" if cfg.zmax is not None else ""
            why += " and positive (--log)" if cfg.log else ""
            why = f"no grid cell of {cfg.surf_name!r} is finite{why}"
        log.warning("warning: surface %s: %s; writing an empty mesh", surface.source, why)
    return mesh


def vtp_bytes(mesh: Mesh, name: str, encoding: str = "ascii") -> bytes:
    """The ``.vtp`` document of ``mesh`` with point data ``name``."""
    if encoding not in ("ascii", "base64"):
        raise LandscapeError(f"encoding must be ascii or base64, got {encoding!r}")
    triangles = mesh.triangles.astype(np.int64)
    offsets = 3 * np.arange(1, len(triangles) + 1, dtype=np.int64)
    lines = [
        '<?xml version="1.0"?>',
        '<VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt64">',
        "  <PolyData>",
        f'    <Piece NumberOfPoints="{len(mesh.points)}" NumberOfVerts="0" NumberOfLines="0"'
        f' NumberOfStrips="0" NumberOfPolys="{len(triangles)}">',
        f'      <PointData Scalars="{name}">',
        _array(mesh.values.astype(np.float64), name, 1, encoding),
        "      </PointData>",
        "      <Points>",
        _array(mesh.points.astype(np.float64), "Points", 3, encoding),
        "      </Points>",
        "      <Polys>",
        _array(triangles, "connectivity", 1, encoding, per_row=3),
        _array(offsets, "offsets", 1, encoding),
        "      </Polys>",
        "    </Piece>",
        "  </PolyData>",
        "</VTKFile>",
    ]
    return ("\n".join(lines) + "\n").encode("ascii")


def _array(values: np.ndarray, name: str, components: int, encoding: str,
           per_row: int | None = None) -> str:
    """One ``DataArray`` element: ASCII rows of ``per_row`` numbers (default: a point's
    components, or six scalars), or one base64 block (byte count, then the data)."""
    kind = VTK_TYPES[values.dtype]
    flat = values.reshape(-1)
    head = (f'        <DataArray type="{kind}" Name="{name}" NumberOfComponents="{components}"'
            f' format="{"ascii" if encoding == "ascii" else "binary"}"')
    if flat.size:
        head += f' RangeMin="{_number(flat.min())}" RangeMax="{_number(flat.max())}"'
    if encoding == "ascii":
        per = per_row or (components if components > 1 else 6)
        body = "\n".join("          " + " ".join(map(_number, flat[i : i + per]))
                         for i in range(0, flat.size, per))
    else:
        raw = flat.astype(values.dtype.newbyteorder("<")).tobytes()
        body = "          " + base64.b64encode(HEADER(len(raw)).tobytes() + raw).decode("ascii")
    return f"{head}>\n{body}\n        </DataArray>"


def _number(value) -> str:
    """Shortest text that reads back to the same value (``repr``)."""
    return repr(float(value)) if isinstance(value, np.floating) else str(int(value))


def write_vtp(surface: str | Path | Surface, out: str | Path, cfg: VtpConfig | None = None
              ) -> Path:
    """Write ``out`` (atomically) from a surface file or ``Surface``; returns its path."""
    cfg = cfg or VtpConfig()
    cfg.validate()
    if not isinstance(surface, Surface):
        surface = read_surface(surface, require=[cfg.surf_name])
    mesh = surface_to_mesh(surface, cfg)
    out = Path(out)
    atomic_write_bytes(out, vtp_bytes(mesh, cfg.surf_name, cfg.encoding))
    return out
