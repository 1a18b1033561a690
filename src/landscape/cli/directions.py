"""``landscape directions``: random filter-normalized directions, or a target direction, to HDF5."""

from __future__ import annotations

import argparse
from pathlib import Path

from landscape.choices import DIR_TYPES, IGNORES, MODEL_NAMES, NORMS
from landscape.errors import LandscapeError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "directions", help="draw random (filter-normalized) or target directions into an HDF5 file",
        description="Write one or two random directions for a checkpoint's model, normalized as in "
        "the paper (filter normalization, biases and BatchNorm not moved), or with --target the "
        "unnormalized direction from --checkpoint to --target. Reference HDF5 layout.")
    p.add_argument("--checkpoint", required=True, help="checkpoint of the model (the origin)")
    p.add_argument("--arch", choices=MODEL_NAMES, metavar="MODEL", default=None,
                   help="architecture, when the checkpoint does not record it (reference checkpoints)")
    p.add_argument("--out", required=True, help="direction file to write (.h5)")
    p.add_argument("--target", default=None,
                   help="second checkpoint: write the 1-D direction theta_target - theta (unnormalized)")
    p.add_argument("--axes", type=int, choices=(1, 2), default=None,
                   help="number of random directions (default: 2; 1 with --target)")
    p.add_argument("--dir-type", choices=DIR_TYPES, default="weights",
                   help="weights: parameters only; states: every state_dict entry, BatchNorm "
                   "running statistics included (default: %(default)s)")
    p.add_argument("--norm", choices=NORMS, default=None,
                   help="normalization of random directions (default: filter, the paper's)")
    p.add_argument("--ignore", choices=IGNORES, default=None,
                   help="biasbn: biases and BatchNorm get a zero direction; none: they move along "
                   "their own weights, as in the reference (default: biasbn)")
    p.add_argument("--seed", type=int, default=None, help="seed of the random directions (default: 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.directions import directions_for_checkpoint, write_directions

    for name in filter(None, (args.checkpoint, args.target)):
        if Path(args.out).resolve() == Path(name).resolve():
            raise LandscapeError(f"--out {args.out} would overwrite the input {name}")
    if args.target is not None:
        given = [f"--{name}" for name in ("norm", "ignore", "seed") if getattr(args, name) is not None]
        if args.axes == 2:
            given.insert(0, "--axes 2")
        if given:
            raise LandscapeError(
                f"{', '.join(given)} do not apply with --target (a target direction is one fixed, "
                "unnormalized axis)"
            )
    directions = directions_for_checkpoint(
        args.checkpoint, arch=args.arch, target=args.target,
        axes=args.axes or 2, dir_type=args.dir_type, norm=args.norm or "filter",
        ignore=args.ignore or "biasbn", seed=0 if args.seed is None else args.seed,
    )
    print(f"wrote {write_directions(args.out, directions)}")
