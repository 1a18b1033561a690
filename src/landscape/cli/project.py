"""``landscape project``: an optimizer path projected onto the two directions of a direction file."""

from __future__ import annotations

import argparse

from landscape.cli.arguments import add_progress_argument, add_settings, config_from_args
from landscape.configs import ProjectConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "project", help="project a run's checkpoints onto given directions (Fig. 8)",
        description="Project every checkpoint's w_epoch - w_final onto the plane of the "
        "direction file's two directions (least-squares coefficients, the coordinates of "
        "`landscape surface` on those directions) and write a trajectory file like "
        "`landscape trajectory` does. On random directions the path collapses near the "
        "origin (paper Fig. 8).")
    p.add_argument("--out", required=True, help="trajectory file to write (.h5)")
    add_settings(p, ProjectConfig)
    add_progress_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.trajectory_pca import project_file

    out, traj = project_file(config_from_args(ProjectConfig, args), args.out,
                             progress=args.progress)
    print(f"wrote {out} ({len(traj.epochs)} checkpoints)")
