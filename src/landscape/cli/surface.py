"""``landscape surface``: loss and accuracy over a 1-D or 2-D grid of directions, sharded, resumable."""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Iterator

from landscape.cli.arguments import (
    add_progress_argument, add_settings, add_sweep_resume_arguments, allow_negative_values,
    config_from_args,
)
from landscape.configs import SurfaceConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "surface", help="evaluate loss and accuracy on a grid of directions (sharded, resumable)",
        description="Evaluate the model at theta + a*dx (+ b*dy) for every grid point (or the "
        "points of one --shard) and write a surface file in the reference layout, "
        "loss[j, i] = L(x_i, y_j). Progress is kept in OUT.partial; rerun the same command "
        "after a kill to resume.")
    p.add_argument("--out", required=True, help="surface file to write (.h5)")
    add_settings(p, SurfaceConfig)
    add_sweep_resume_arguments(p)
    add_progress_argument(p)
    allow_negative_values(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.surface import compute_surface

    cfg = config_from_args(SurfaceConfig, args)
    with sigterm_as_interrupt():
        result = compute_surface(cfg, args.out, restart=args.restart, progress=args.progress,
                                 flush_seconds=args.flush_seconds)
    rate = result.computed_now / result.seconds if result.seconds > 0 else float("nan")
    print(f"wrote {result.path} ({result.points} points, {result.computed_now} computed now, "
          f"{result.seconds:.1f} s in all, {rate:.2f} points/s)")


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (Snakemake, SLURM) like Ctrl-C, so the sweep saves its progress first."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
