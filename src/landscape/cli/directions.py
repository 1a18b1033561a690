"""``landscape directions``: random filter-normalized directions, or a target direction, to HDF5."""

from __future__ import annotations

import argparse

from landscape.cli.arguments import add_settings, config_from_args
from landscape.configs import DirectionsConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "directions", help="draw random (filter-normalized) or target directions into an HDF5 file",
        description="Write one or two random directions for a checkpoint's model, normalized as in "
        "the paper (filter normalization, biases and BatchNorm not moved), or with --target the "
        "unnormalized direction from --checkpoint to --target (all state entries, BatchNorm "
        "running statistics included). Reference HDF5 layout.")
    p.add_argument("--out", required=True, help="direction file to write (.h5)")
    add_settings(p, DirectionsConfig)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.directions import directions_for_config, write_directions

    directions = directions_for_config(config_from_args(DirectionsConfig, args), args.out)
    print(f"wrote {write_directions(args.out, directions)}")
