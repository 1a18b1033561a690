"""``landscape table``: final errors of several trained models beside the paper's."""

from __future__ import annotations

import argparse

from landscape.tables import write_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("table", help="final train/test errors beside the paper's, CSV and Markdown",
                       description="One row per model from its metrics.csv (last epoch): final "
                       "train loss, train error, test error, the paper's test error (blank when "
                       "the paper reports none for that model name) and the difference.")
    p.add_argument("--metrics", nargs="+", required=True, metavar="CSV",
                   help="training metrics.csv files")
    p.add_argument("--models", nargs="+", required=True, metavar="MODEL",
                   help="one model name per metrics file; names as in `landscape train --model`")
    p.add_argument("--out-csv", required=True, help="CSV output")
    p.add_argument("--out-md", required=True, help="Markdown output")
    p.add_argument("--out-html", default=None,
                   help="a standalone HTML page of the table, as the workflow's report shows "
                   "it (default: none)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    table = write_table(args.models, args.metrics, args.out_csv, args.out_md, args.out_html)
    n = len(table)
    files = [f for f in (args.out_csv, args.out_md, args.out_html) if f is not None]
    print(f"wrote {', '.join(files)} ({n} model{'s' if n != 1 else ''})")
