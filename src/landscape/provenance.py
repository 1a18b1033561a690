"""How each surface was computed, one row per surface file: grid, data, precision, device, time.

The rows come from the attributes every sweep records (``landscape.surface_file``), so they
describe the files as they are, whatever produced them; a surface file of the reference
implementation records none of it, and its row holds only what its arrays say (the grid).
``write_provenance`` writes the rows as CSV and as a standalone HTML page, the per-surface
provenance of the workflow's HTML report.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from landscape.atomic import atomic_outputs
from landscape.errors import LandscapeError
from landscape.grid import Axis
from landscape.surface_file import Surface, read_surface
from landscape.tables import check_labels, html_page

HEADERS = {  # column: header
    "model": "model",
    "file": "file",
    "grid": "grid",
    "dataset": "data set",
    "images": "images per point",
    "subset": "subset",
    "precision": "precision",
    "device": "device",
    "seconds": "time (s)",
    "shards": "shards",
    "nonfinite": "non-finite points",
}
NUMERIC = {"seconds", "shards", "nonfinite"}
TITLE = "How each surface was computed"
NOTE = ("One row per surface file, from the attributes its sweep recorded. Images per point: "
        "the images evaluated at every grid point, per split. Precision: the arithmetic the "
        "evaluation ran in (the setting asked for in brackets when it differs). Time: the "
        "sweep's own time, summed over its shards; a blank: not recorded in the file.")


def _axis(axis: Axis) -> str:
    return f"[{axis.min:g}, {axis.max:g}]"


def grid_text(s: Surface) -> str:
    """``51 x 51 on [-1, 1] x [-1, 1]`` or ``51 points on [-1, 1]``: numbers along x, then y."""
    x, y = s.grid.x, s.grid.y
    if y is None:
        return f"{x.num} points on {_axis(x)}"
    return f"{x.num} x {y.num} on {_axis(x)} x {_axis(y)}"


def _images(attrs: dict[str, Any]) -> str:
    splits, sizes = attrs.get("splits"), attrs.get("split_sizes")
    if not isinstance(splits, list) or not isinstance(sizes, list) or len(splits) != len(sizes):
        return ""
    return ", ".join(f"{split} {int(size):,}" for split, size in zip(splits, sizes))


def _subset(attrs: dict[str, Any]) -> str:
    rule = attrs.get("subset_rule")
    if rule is None:
        return ""
    if rule == "all" or attrs.get("subset_size") is None:
        return "all"
    seed = f" (seed {attrs['subset_seed']})" if "subset_seed" in attrs else ""
    return f"{rule} {int(attrs['subset_size']):,}{seed}"


def _precision(attrs: dict[str, Any]) -> str:
    used, asked = attrs.get("engine_precision"), attrs.get("precision")
    if used is None:
        return "" if asked is None else str(asked)
    return str(used) if asked in (None, used) else f"{used} ({asked})"


def surface_provenance(s: Surface, name: str | None = None) -> dict[str, Any]:
    """One row: ``HEADERS``' columns for ``s`` (blank where the file records nothing)."""
    attrs = s.attrs
    seconds = attrs.get("seconds")
    return {
        "model": name or s.model() or "",
        "file": s.path.name if s.path is not None else "",
        "grid": grid_text(s),
        "dataset": str(attrs.get("dataset", "")),
        "images": _images(attrs),
        "subset": _subset(attrs),
        "precision": _precision(attrs),
        "device": str(attrs.get("engine_device", attrs.get("device", "")) or ""),
        "seconds": "" if seconds is None else f"{float(seconds):.1f}",
        "shards": str(attrs.get("shards", 1 if "seconds" in attrs else "")),
        "nonfinite": str(attrs.get("nonfinite", "")),
    }


def provenance_table(surfaces: Sequence[str | Path],
                     models: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per surface file, in the order given; ``models`` names them (default: the
    model recorded in each file)."""
    if not surfaces:
        raise LandscapeError("no surface files given")
    if models is not None:
        check_labels(models, surfaces, "surface")
    names = list(models) if models is not None else [None] * len(surfaces)
    rows = [surface_provenance(read_surface(p), n) for p, n in zip(surfaces, names)]
    return pd.DataFrame(rows, columns=list(HEADERS))


def provenance_html(table: pd.DataFrame) -> str:
    rows = [[str(row[c]) for c in HEADERS] for row in table.to_dict("records")]
    return html_page(TITLE, list(HEADERS.values()), rows, [c in NUMERIC for c in HEADERS], NOTE)


def write_provenance(surfaces: Sequence[str | Path], out_csv: str | Path | None = None,
                     out_html: str | Path | None = None,
                     models: Sequence[str] | None = None) -> pd.DataFrame:
    """Write the provenance table as CSV and/or HTML (at least one), all or nothing."""
    texts: dict[Path, str] = {}
    outputs = [Path(p) for p in (out_csv, out_html) if p is not None]
    if not outputs:
        raise LandscapeError("no output given: pass --out-csv and/or --out-html")
    if len(outputs) == 2 and outputs[0].resolve() == outputs[1].resolve():
        raise LandscapeError(f"the CSV and HTML outputs are the same file {outputs[0]}")
    table = provenance_table(surfaces, models)
    if out_csv is not None:
        texts[Path(out_csv)] = table.to_csv(index=False, lineterminator="\n")
    if out_html is not None:
        texts[Path(out_html)] = provenance_html(table)
    with atomic_outputs(*texts) as temps:
        for temp, text in zip(temps, texts.values()):
            temp.write_text(text, encoding="utf-8")
    return table
