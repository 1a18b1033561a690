"""``landscape plot-path``: an optimizer path over loss contours (paper Figs. 8 and 9)."""

from __future__ import annotations

import argparse

from landscape.cli.arguments import add_settings, config_from_args
from landscape.plots.options import FigureOptions, PlotOptions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plot-path", help="draw a trajectory file over a surface's contours (Figs. 8, 9)",
        description="Write PREFIX.<format>: the contour lines of --surface (computed on the "
        "path's directions; optional), the path as connected dots up to the final model at "
        "(0, 0), the checkpoints after which the lr decays marked, and on PCA directions the "
        "explained variance in the axis labels. Byte-identical for the same inputs.")
    p.add_argument("--path", required=True,
                   help="trajectory file (`landscape trajectory` or `landscape project`)")
    p.add_argument("--surface", default=None,
                   help="2-D surface file on the same directions (default: the path alone, on "
                   "the grid the trajectory file stores)")
    p.add_argument("--out-prefix", required=True, help="output path prefix; folders are created")
    p.add_argument("--title", default=None, help="figure title (default: none)")
    groups: dict = {}
    add_settings(p, FigureOptions, groups=groups)
    add_settings(p, PlotOptions, groups=groups, skip=("zmax", "marks", "mark_labels"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.plots.trajectory import plot_path_file

    fig = config_from_args(FigureOptions, args)
    written = plot_path_file(args.path, args.out_prefix, surface=args.surface,
                             name=fig.surf_name, opts=config_from_args(PlotOptions, args),
                             formats=fig.formats, dpi=fig.dpi, title=args.title,
                             xlabel=fig.xlabel, ylabel=fig.ylabel)
    for path in written:
        print(f"wrote {path}")
