"""``landscape plot``: figures of one surface file, each kind in each format."""

from __future__ import annotations

import argparse

from landscape.choices import KINDS_1D, KINDS_2D
from landscape.cli.arguments import add_settings, config_from_args
from landscape.plots.options import FigureOptions, PlotOptions

KINDS = KINDS_1D + KINDS_2D


def add_figure_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by ``plot`` and ``panel``: quantity, value range, scale, labels, files."""
    groups: dict = {}
    add_settings(p, FigureOptions, groups=groups)
    add_settings(p, PlotOptions, groups=groups)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="draw one surface file: 1-D curves, contours, heat map, 3-D",
                       description="Write PREFIX_<kind>.<format> for each kind and format. "
                       "1-D surfaces: kind 1d (loss left, accuracy right, train solid, test "
                       "dashed). 2-D surfaces: contour, contourf, heatmap, surface3d. The same "
                       "surface file always gives byte-identical files.")
    p.add_argument("--surface", required=True, help="surface file (HDF5, reference layout)")
    p.add_argument("--out-prefix", required=True, help="output path prefix; folders are created")
    p.add_argument("--kinds", nargs="+", choices=KINDS, default=None, metavar="KIND",
                   help=f"any of {', '.join(KINDS)} (default: all kinds that fit the surface)")
    p.add_argument("--title", default=None,
                   help="figure title (default: the model recorded in the file and the quantity)")
    add_figure_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.plots import plot_surface_file

    fig = config_from_args(FigureOptions, args)
    written = plot_surface_file(args.surface, args.out_prefix, kinds=args.kinds,
                                name=fig.surf_name, opts=config_from_args(PlotOptions, args),
                                formats=fig.formats, dpi=fig.dpi, title=args.title,
                                xlabel=fig.xlabel, ylabel=fig.ylabel)
    for path in written:
        print(f"wrote {path}")
