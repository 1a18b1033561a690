"""``landscape curvature``: paper Fig. 7, the Hessian eigenvalue ratio beside the loss contour."""

from __future__ import annotations

import argparse

from landscape.cli.arguments import add_settings, config_from_args
from landscape.cli.plot import add_figure_arguments
from landscape.plots.curvature import CurvatureOptions
from landscape.plots.options import FigureOptions, PlotOptions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "curvature", help="Fig. 7: |lambda_min / lambda_max| maps beside loss contours",
        description="Write PREFIX.<format>: per Hessian surface (from `landscape hessian`) a "
        "column, the map of |min_eig / max_eig| on top (0: convex-looking, larger: not), the "
        "contour of --surf-name on the same grid below, from --loss-surfaces or else from the "
        "loss the Hessian sweep recorded.")
    p.add_argument("--surfaces", nargs="+", required=True, metavar="HESS",
                   help="Hessian surface files (max_eig, min_eig), one column each")
    p.add_argument("--loss-surfaces", nargs="+", default=None, metavar="SURF",
                   help="one loss surface per Hessian surface, on the same grid (default: the "
                   "Hessian files' own loss, computed on the Hessian's data)")
    p.add_argument("--models", nargs="+", default=None, metavar="MODEL",
                   help="one title per surface (default: the model each file records)")
    p.add_argument("--out-prefix", required=True, help="output path prefix; folders are created")
    add_settings(p, CurvatureOptions)
    add_figure_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.plots.curvature import plot_curvature

    fig = config_from_args(FigureOptions, args)
    written = plot_curvature(args.surfaces, args.out_prefix, losses=args.loss_surfaces,
                             models=args.models, name=fig.surf_name,
                             opts=config_from_args(PlotOptions, args),
                             curvature=config_from_args(CurvatureOptions, args),
                             formats=fig.formats, dpi=fig.dpi, xlabel=fig.xlabel,
                             ylabel=fig.ylabel)
    for path in written:
        print(f"wrote {path}")
