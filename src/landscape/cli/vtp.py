"""``landscape vtp``: a 2-D surface as a ParaView/VTK ``.vtp`` file (3-D export)."""

from __future__ import annotations

import argparse
from pathlib import Path

from landscape.cli.arguments import add_settings, config_from_args
from landscape.configs import VtpConfig
from landscape.errors import LandscapeError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "vtp", help="export a 2-D surface as VTK XML PolyData (.vtp) for ParaView",
        description="Write the surface as a triangle mesh: points (x, y, height), two "
        "triangles per grid cell, the quantity as point data; height is the value or its "
        "log10 (--log), cut cleanly at --zmax. Non-finite values leave holes.")
    p.add_argument("--surface", required=True, help="surface file (HDF5, reference layout)")
    p.add_argument("--out", required=True, help=".vtp file to write")
    add_settings(p, VtpConfig)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.vtp import write_vtp

    cfg = config_from_args(VtpConfig, args)
    if Path(args.out).resolve() == Path(args.surface).resolve():
        raise LandscapeError(f"--out {args.out} would overwrite the input {args.surface}")
    print(f"wrote {write_vtp(args.surface, args.out, cfg)}")
