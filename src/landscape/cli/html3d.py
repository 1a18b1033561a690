"""``landscape html3d``: a 2-D surface as a self-contained HTML page, rotatable and zoomable."""

from __future__ import annotations

import argparse
from pathlib import Path

from landscape.cli.arguments import add_settings, config_from_args
from landscape.configs import Html3dConfig
from landscape.errors import LandscapeError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "html3d", help="write a 2-D surface as an interactive 3-D HTML page (offline)",
        description="Write one self-contained HTML file: the surface's values and a small "
        "canvas viewer, no library and nothing fetched from the network. Drag to rotate, "
        "wheel to zoom, r to reset.")
    p.add_argument("--surface", required=True, help="surface file (HDF5, reference layout)")
    p.add_argument("--out", required=True, help=".html file to write")
    add_settings(p, Html3dConfig)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.html3d import write_html3d

    cfg = config_from_args(Html3dConfig, args)
    if Path(args.out).resolve() == Path(args.surface).resolve():
        raise LandscapeError(f"--out {args.out} would overwrite the input {args.surface}")
    print(f"wrote {write_html3d(args.surface, args.out, cfg)}")
