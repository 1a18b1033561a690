"""``landscape surface``: loss and accuracy over a 1-D or 2-D grid of directions, sharded, resumable."""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Iterator

from landscape.cli.arguments import (
    add_data_arguments, add_device_argument, add_progress_argument, allow_negative_values,
    positive_int,
)
from landscape.choices import MODEL_NAMES, PRECISIONS, SPLITS, SUBSET_RULES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "surface", help="evaluate loss and accuracy on a grid of directions (sharded, resumable)",
        description="Evaluate the model at theta + a*dx (+ b*dy) for every grid point (or the "
        "points of one --shard) and write a surface file in the reference layout, "
        "loss[j, i] = L(x_i, y_j). Progress is kept in OUT.partial; rerun the same command "
        "after a kill to resume.")
    p.add_argument("--checkpoint", required=True, help="checkpoint of the model (the origin)")
    p.add_argument("--arch", choices=MODEL_NAMES, metavar="MODEL", default=None,
                   help="architecture, when the checkpoint does not record it")
    p.add_argument("--directions", required=True, help="direction file (ours or the reference's)")
    p.add_argument("--x", required=True, metavar="MIN:MAX:NUM", help="x grid, e.g. -1:1:51")
    p.add_argument("--y", default=None, metavar="MIN:MAX:NUM",
                   help="y grid for a 2-D surface (needs a ydirection)")
    p.add_argument("--out", required=True, help="surface file to write (.h5)")
    p.add_argument("--shard", default="0/1", metavar="I/N",
                   help="compute only the points k (row-major over (j, i)) with k %% N == I, "
                   "0-based; combine the N files with `landscape merge` (default: whole grid)")
    add_data_arguments(p)
    g = p.add_argument_group("evaluation")
    g.add_argument("--splits", nargs="+", choices=SPLITS, default=["train"],
                   help="splits to evaluate (default: train)")
    g.add_argument("--subset", type=positive_int, default=None,
                   help="evaluate on N images of each split (default: all)")
    g.add_argument("--subset-rule", choices=SUBSET_RULES, default="first",
                   help="first N, or N drawn with --subset-seed (default: %(default)s)")
    g.add_argument("--subset-seed", type=int, default=0)
    g.add_argument("--batch-size", type=positive_int, default=None,
                   help="images per forward pass (default: chosen by the engine; on CUDA from "
                   "free memory, shrinking on out-of-memory)")
    g.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="fp32, tf32 (CUDA), bf16, or auto: the fastest mode whose error against "
                   "float64 stays under 1e-3 relative on this device (default: %(default)s)")
    g.add_argument("--compile", action=argparse.BooleanOptionalAction, default=False,
                   help="torch.compile the evaluation (worth it on CUDA for long sweeps)")
    add_device_argument(p)
    p.add_argument("--restart", action="store_true",
                   help="discard OUT.partial from an earlier run instead of resuming it")
    add_progress_argument(p)
    allow_negative_values(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.surface import SurfaceConfig, compute_surface

    cfg = SurfaceConfig(
        checkpoint=args.checkpoint, directions=args.directions, x=args.x, y=args.y,
        arch=args.arch, dataset=args.dataset, data_dir=args.data_dir, splits=tuple(args.splits),
        subset=args.subset, subset_rule=args.subset_rule, subset_seed=args.subset_seed,
        batch_size=args.batch_size, device=args.device, precision=args.precision,
        compile=args.compile, shard=args.shard,
    )
    with _sigterm_as_interrupt():
        result = compute_surface(cfg, args.out, restart=args.restart, progress=args.progress)
    rate = result.computed_now / result.seconds if result.seconds > 0 else float("nan")
    print(f"wrote {result.path} ({result.points} points, {result.computed_now} computed now, "
          f"{result.seconds:.1f} s in all, {rate:.2f} points/s)")


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
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
