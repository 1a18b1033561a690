"""``landscape training-curves``: loss and error per epoch of trained models, in one figure."""

from __future__ import annotations

import argparse

from landscape.cli.arguments import add_settings, config_from_args
from landscape.plots.options import OutputOptions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("training-curves", help="loss and error per epoch of trained models",
                       description="Write PREFIX.<format>: the training loss (log scale) and "
                       "error per epoch of every model, one colour per model, train solid and "
                       "test dashed, a dotted line at each epoch after which the learning rate "
                       "dropped. Read from the metrics.csv files `landscape train` writes.")
    p.add_argument("--metrics", nargs="+", required=True, metavar="CSV",
                   help="training metrics.csv files")
    p.add_argument("--models", nargs="+", required=True, metavar="MODEL",
                   help="one legend name per metrics file, in the same order")
    p.add_argument("--out-prefix", required=True, help="output path prefix; folders are created")
    add_settings(p, OutputOptions)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.plots.training import plot_training

    out = config_from_args(OutputOptions, args)
    for path in plot_training(args.metrics, args.models, args.out_prefix, formats=out.formats,
                              dpi=out.dpi):
        print(f"wrote {path}")
