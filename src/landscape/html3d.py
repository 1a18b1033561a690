"""A surface as one self-contained, offline HTML page the reader can rotate and zoom.

``landscape html3d --surface surfaces/resnet56.h5 --out resnet56.html``

The page holds the surface's values (JSON, rounded to 7 significant digits) and a small
hand-written canvas viewer (``html3d_viewer.js``, package data, a few kilobytes): no library,
no network, nothing fetched, so it opens from a file, a mail attachment or a report as it is.
Drag rotates, the wheel zooms, ``r`` resets the view. Heights are the quantity or its log10
(``--log``, non-positive values left out); values above ``--zmax`` are left out too (holes),
as are non-finite ones. Same surface and settings, same bytes.
"""

from __future__ import annotations

import html
import json
import math
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from landscape.atomic import atomic_write_bytes
from landscape.configs import Html3dConfig
from landscape.errors import LandscapeError
from landscape.surface_file import Surface, read_surface

VIEWER = "html3d_viewer.js"
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
html, body {{ margin: 0; height: 100%; font-family: sans-serif; background: #fff; }}
#view {{ display: block; width: 100vw; height: calc(100vh - 2.2em); cursor: grab;
         touch-action: none; }}
#info {{ height: 2.2em; line-height: 2.2em; padding: 0 0.8em; font-size: 13px; color: #333;
         white-space: nowrap; overflow: hidden; }}
</style>
</head>
<body>
<div id="info">{title}</div>
<canvas id="view"></canvas>
<script id="surface-data" type="application/json">{data}</script>
<script>
{viewer}
</script>
</body>
</html>
"""


def _number(v: float) -> float | None:
    return float(f"{v:.7g}") if math.isfinite(v) else None


def surface_data(surface: Surface, cfg: Html3dConfig) -> dict[str, Any]:
    """What the page shows: coordinates, the heights (None where there are none), labels."""
    cfg.validate()
    if surface.ndim != 2:
        raise LandscapeError(f"surface {surface.source} is 1-D; a 3-D view needs a 2-D surface")
    values = np.array(surface.get(cfg.surf_name), dtype=np.float64)
    if cfg.zmax is not None:
        values[values > cfg.zmax] = np.nan
    if cfg.log:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(values > 0, np.log10(values), np.nan)
    if not np.isfinite(values).any():
        raise LandscapeError(f"surface {surface.source}: {cfg.surf_name!r} has no value to draw"
                             f"{' (after --log/--zmax)' if cfg.log or cfg.zmax is not None else ''}")
    title = surface.model() or (surface.path.stem if surface.path else "surface")
    return {
        "title": title, "name": cfg.surf_name, "log": cfg.log,
        "xlabel": surface.label("x"), "ylabel": surface.label("y"),
        "x": [_number(float(v)) for v in surface.x], "y": [_number(float(v)) for v in surface.y],
        "z": [[_number(float(v)) for v in row] for row in values],
    }


def html3d_page(surface: Surface, cfg: Html3dConfig | None = None) -> str:
    """The whole page as text."""
    cfg = cfg or Html3dConfig()
    data = surface_data(surface, cfg)
    text = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    viewer = files("landscape").joinpath(VIEWER).read_text(encoding="utf-8")
    return PAGE.format(title=html.escape(f"{data['title']}: {cfg.surf_name}"), data=text,
                       viewer=viewer)


def write_html3d(surface: str | Path | Surface, out: str | Path, cfg: Html3dConfig | None = None
                 ) -> Path:
    """Write ``out`` (atomically) from a surface file or ``Surface``; returns its path."""
    cfg = cfg or Html3dConfig()
    cfg.validate()
    if not isinstance(surface, Surface):
        surface = read_surface(surface, require=[cfg.surf_name])
    out = Path(out)
    atomic_write_bytes(out, html3d_page(surface, cfg).encode("utf-8"))
    return out
