"""``landscape panel``: several surfaces side by side, the paper's Figs. 1, 3, 4, 5 and 6."""

from __future__ import annotations

import argparse
import math

from landscape.cli.arguments import config_from_args, positive_int
from landscape.cli.plot import KINDS, add_figure_arguments
from landscape.errors import LandscapeError
from landscape.plots.options import FigureOptions, PlotOptions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("panel", help="surfaces of several models in one figure (paper Figs. 1, 3-6)",
                       description="Write PREFIX.<format>: the surfaces in a ROWS x COLS grid, "
                       "filled row by row, each titled with its model and, given --metrics, its "
                       "final test error. Fig. 5: --rows 2 --cols 3 --kind contour; Fig. 1: "
                       "--kind surface3d.")
    p.add_argument("--surfaces", nargs="+", required=True, metavar="SURF", help="surface files")
    p.add_argument("--models", nargs="+", required=True, metavar="MODEL",
                   help="one title per surface, in the same order")
    p.add_argument("--metrics", nargs="+", default=None, metavar="CSV",
                   help="one training metrics.csv per surface: adds the test error to titles "
                   "(default: titles without it)")
    p.add_argument("--rows", type=positive_int, default=None,
                   help="grid rows (default: enough for --cols, or 1)")
    p.add_argument("--cols", type=positive_int, default=None,
                   help="grid columns (default: enough for --rows)")
    p.add_argument("--out-prefix", required=True, help="output path prefix; folders are created")
    p.add_argument("--kind", choices=KINDS, default="contour",
                   help="contour (Fig. 5), surface3d (Fig. 1), or any other kind (default: %(default)s)")
    p.add_argument("--title", default=None, help="title above the whole panel (default: none)")
    add_figure_arguments(p)
    p.set_defaults(func=run)


def grid(n: int, rows: int | None, cols: int | None) -> tuple[int, int]:
    """Rows and columns, completing whichever is missing so that all n surfaces fit."""
    if rows is None and cols is None:
        return 1, n
    if rows is None:
        return math.ceil(n / cols), cols
    if cols is None:
        return rows, math.ceil(n / rows)
    return rows, cols


def run(args: argparse.Namespace) -> None:
    if len(args.models) != len(args.surfaces):
        raise LandscapeError(f"{len(args.models)} --models but {len(args.surfaces)} --surfaces; "
                             "give one model name per surface")
    from landscape.plots import plot_panel

    rows, cols = grid(len(args.surfaces), args.rows, args.cols)
    fig = config_from_args(FigureOptions, args)
    written = plot_panel(args.surfaces, args.models, args.out_prefix, rows=rows, cols=cols,
                         metrics=args.metrics, kind=args.kind, name=fig.surf_name,
                         opts=config_from_args(PlotOptions, args), formats=fig.formats,
                         dpi=fig.dpi, title=args.title, xlabel=fig.xlabel, ylabel=fig.ylabel)
    for path in written:
        print(f"wrote {path}")
