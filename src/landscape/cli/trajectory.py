"""``landscape trajectory``: PCA directions of an optimizer path and the path projected onto them."""

from __future__ import annotations

import argparse

from landscape.cli.arguments import add_progress_argument, add_settings, config_from_args
from landscape.configs import TrajectoryConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trajectory", help="PCA directions of a run's checkpoints and its projected path (Fig. 9)",
        description="Rows w_epoch - w_final over the parameters (1-D tensors zeroed), one per "
        "checkpoint; their two leading principal directions (unit norm, columns centred as "
        "the reference's PCA) go to --out-directions (reference layout, explained-variance "
        "ratios as attributes), every checkpoint projected onto them to --out (proj_xcoord, "
        "proj_ycoord, epochs, lr-decay epochs, a grid covering the path). Checkpoints are "
        "streamed in blocks: memory does not grow with epochs x parameters.")
    p.add_argument("--out", required=True, help="trajectory file to write (.h5)")
    p.add_argument("--out-directions", required=True, help="direction file to write (.h5)")
    add_settings(p, TrajectoryConfig)
    add_progress_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.trajectory_pca import trajectory_files

    out, dirs, result = trajectory_files(config_from_args(TrajectoryConfig, args), args.out,
                                         args.out_directions, progress=args.progress)
    first, second = (100 * r for r in result.explained_variance_ratio)
    print(f"wrote {dirs} (explained variance {first:.2f} % + {second:.2f} %) and {out} "
          f"({len(result.coordinates)} checkpoints)")
