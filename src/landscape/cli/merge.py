"""``landscape merge``: join surface shards into one surface file, checking exact coverage."""

from __future__ import annotations

import argparse

from landscape.surface_file import merge_surfaces


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "merge", help="merge surface shards into one surface file",
        description="Check that the shards were computed from the same checkpoint, directions, "
        "data and grid and cover every point exactly once, then write one surface file equal "
        "to a single-job sweep.")
    p.add_argument("shards", nargs="+", metavar="SHARD.h5",
                   help="shard files from `landscape surface --shard`")
    p.add_argument("--out", required=True, help="merged surface file to write (.h5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    print(f"wrote {merge_surfaces(args.shards, args.out)} from {len(args.shards)} shards")
