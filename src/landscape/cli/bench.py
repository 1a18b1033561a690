"""``landscape bench``: the reference sweep approach against ours, side by side, on one device."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from landscape.cli.arguments import add_device_argument, non_negative_int, positive_int
from landscape.errors import LandscapeError
from landscape.choices import MODEL_NAMES, PRECISIONS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmark sweep and training speed against the reference approach",
                       description="Time the reference implementation's sweep approach and ours on "
                       "the same model, images and grid points; print seconds per point, the ratio, "
                       "peak memory, the error against float64 and training images/s; write JSON.")
    p.add_argument("--model", required=True, choices=MODEL_NAMES, metavar="MODEL",
                   help=f"one of: {', '.join(MODEL_NAMES)}")
    p.add_argument("--images", type=positive_int, default=512, help="images per pass (default: %(default)s)")
    p.add_argument("--points", type=positive_int, default=4,
                   help="timed grid points, spread over the 51 x 51 grid (default: %(default)s)")
    p.add_argument("--out", required=True, help="JSON file for the results")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="our sweep's precision (default: %(default)s)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="our sweep's batch (default: 64 on a CPU, from free memory on CUDA)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile our sweep and fast training step; the warm-up point "
                   "pays for the compilation (default: on CUDA only)")
    p.add_argument("--data", choices=("random", "synthetic"), default="random",
                   help="random uint8 images, or the first N synthetic training images (default: %(default)s)")
    p.add_argument("--data-dir", default="data", help="where the synthetic set lives (default: %(default)s)")
    p.add_argument("--checkpoint", default=None,
                   help="trained weights of --model (default: a freshly initialized model)")
    p.add_argument("--train-steps", type=non_negative_int, default=10,
                   help="timed SGD steps at batch 128; 0 skips training (default: %(default)s)")
    p.add_argument("--workers", type=non_negative_int, default=2,
                   help="the reference's DataLoader workers (default: %(default)s, as the reference)")
    p.add_argument("--reference", action=argparse.BooleanOptionalAction, default=True,
                   help="also time the reference approach (default: yes)")
    p.add_argument("--precision-table", action="store_true",
                   help="also measure each precision's error against float64 at the centre and "
                   "the four corners of the grid")
    p.add_argument("--seed", type=int, default=0, help="seeds the model, directions and random images")
    add_device_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.bench import BenchConfig, format_report, run_benchmark  # torchvision, PIL: lazily

    out = Path(args.out)
    if out.is_dir():
        raise LandscapeError(f"--out {out} is a directory; name a JSON file")
    cfg = BenchConfig(
        model=args.model, images=args.images, points=args.points, precision=args.precision,
        batch_size=args.batch_size, compile=args.compile, device=args.device, data=args.data,
        data_dir=args.data_dir, checkpoint=args.checkpoint, train_steps=args.train_steps,
        workers=args.workers, reference=args.reference, seed=args.seed,
        precision_table=args.precision_table,
    )
    result = run_benchmark(cfg)
    print(format_report(result))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, out)
    print(f"wrote {out}")
