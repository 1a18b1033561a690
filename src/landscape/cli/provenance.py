"""``landscape provenance``: how each surface was computed, one row per surface file."""

from __future__ import annotations

import argparse

from landscape.provenance import write_provenance


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("provenance", help="grid, data, precision, device and time of surfaces",
                       description="One row per surface file from the attributes its sweep "
                       "recorded: model, grid, data set, images per point, subset, precision, "
                       "device, time, shards, non-finite points. CSV and/or a standalone HTML "
                       "page (what the workflow's report shows).")
    p.add_argument("--surfaces", nargs="+", required=True, metavar="SURF", help="surface files")
    p.add_argument("--models", nargs="+", default=None, metavar="MODEL",
                   help="one name per surface (default: the model recorded in each file)")
    p.add_argument("--out-csv", default=None, help="CSV output (default: none)")
    p.add_argument("--out-html", default=None, help="HTML output (default: none)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    table = write_provenance(args.surfaces, args.out_csv, args.out_html, args.models)
    files = [f for f in (args.out_csv, args.out_html) if f is not None]
    n = len(table)
    print(f"wrote {', '.join(files)} ({n} surface{'s' if n != 1 else ''})")
