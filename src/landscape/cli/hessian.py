"""``landscape hessian``: the extreme Hessian eigenvalues over a grid of directions (paper Fig. 7)."""

from __future__ import annotations

import argparse

from landscape.cli.arguments import (
    add_progress_argument, add_settings, add_sweep_resume_arguments, allow_negative_values,
    config_from_args,
)
from landscape.cli.surface import sigterm_as_interrupt
from landscape.configs import HessianConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "hessian", help="largest and smallest Hessian eigenvalue on a grid of directions "
        "(sharded, resumable)",
        description="At every grid point (or the points of one --shard), the largest and "
        "smallest eigenvalue of the Hessian of the mean loss over the data (Lanczos on "
        "Hessian-vector products), and the loss and accuracy there. Writes a surface file "
        "with max_eig, min_eig, <split>_loss, <split>_acc and hvp_count, loss[j, i] = "
        "L(x_i, y_j); merge shards with `landscape merge`. Progress is kept in OUT.partial: "
        "rerun the same command after a kill to resume.")
    p.add_argument("--out", required=True, help="surface file to write (.h5)")
    add_settings(p, HessianConfig)
    add_sweep_resume_arguments(p)
    add_progress_argument(p)
    allow_negative_values(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    import numpy as np

    from landscape.hessian import EIGEN_QUANTITIES, compute_hessian

    cfg = config_from_args(HessianConfig, args)
    with sigterm_as_interrupt():
        result = compute_hessian(cfg, args.out, restart=args.restart, progress=args.progress,
                                 flush_seconds=args.flush_seconds)
    surface = result.surface
    owned = surface.computed
    missing = sum(int(np.isnan(surface.values[q][owned]).sum()) for q in EIGEN_QUANTITIES)
    products = surface.values["hvp_count"][owned]
    per_point = float(products.mean()) if products.size else 0.0
    print(f"wrote {result.path} ({result.points} points, {result.computed_now} computed now, "
          f"{result.seconds:.1f} s in all, {per_point:.0f} products per point"
          f"{f', {missing} eigenvalues not converged (NaN)' if missing else ''})")
