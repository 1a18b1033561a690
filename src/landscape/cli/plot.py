"""``landscape plot``: figures of one surface file, each kind in each format."""

from __future__ import annotations

import argparse

from landscape.cli.arguments import positive_int
from landscape.plots import FORMATS, KINDS, PlotOptions, plot_surface_file


def add_value_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by ``plot`` and ``panel``: quantity, value range, scale, formats."""
    p.add_argument("--surf-name", default="train_loss",
                   help="dataset to draw in 2-D kinds: train_loss, test_loss, train_acc, test_acc, "
                   "or derived train_err, test_err, eig_ratio (default: %(default)s)")
    g = p.add_argument_group("values (defaults: 0.1 / 10 / 0.5 for losses, 0 / 100 / 5 for "
                             "accuracies and errors)")
    g.add_argument("--vmin", type=float, default=None,
                   help="lowest contour level and colour; 1-D: loss axis bottom")
    g.add_argument("--vmax", type=float, default=None,
                   help="contour levels stop below it; colour top; 1-D: loss axis top")
    g.add_argument("--vlevel", type=float, default=None, help="spacing of contour levels")
    g.add_argument("--zmax", type=float, default=None,
                   help="clip the 3-D surface at this height (default: no clipping)")
    g.add_argument("--log", action="store_true",
                   help="logarithmic value scale (1-D loss axis, colours, levels, 3-D heights)")
    o = p.add_argument_group("output")
    o.add_argument("--xlabel", default=None,
                   help="x axis label (default: the file's xlabel attribute, else x)")
    o.add_argument("--ylabel", default=None,
                   help="y axis label (default: the file's ylabel attribute, else y)")
    o.add_argument("--formats", nargs="+", choices=FORMATS, default=["pdf", "png"],
                   help="file formats (default: pdf png)")
    o.add_argument("--dpi", type=positive_int, default=150, help="PNG resolution (default: %(default)s)")


def plot_options(args: argparse.Namespace) -> PlotOptions:
    return PlotOptions(vmin=args.vmin, vmax=args.vmax, vlevel=args.vlevel, zmax=args.zmax,
                       log=args.log)


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
    add_value_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    written = plot_surface_file(args.surface, args.out_prefix, kinds=args.kinds,
                                name=args.surf_name, opts=plot_options(args),
                                formats=args.formats, dpi=args.dpi, title=args.title,
                                xlabel=args.xlabel, ylabel=args.ylabel)
    for path in written:
        print(f"wrote {path}")
