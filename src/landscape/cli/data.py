"""``landscape data``: fetch (CIFAR-10), generate (synthetic) or convert (digits) a data set
once, and verify it."""

from __future__ import annotations

import argparse

from landscape.cli.arguments import add_settings, config_from_args
from landscape.configs import DataConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data", help="download, generate or convert a data set into the data folder and verify it",
        description="Make the data set ready under --data-dir: CIFAR-10 is downloaded once "
        "(or taken from cifar-10-python.tar.gz put there by hand) and checked against its "
        "MD5 sums; the synthetic set is generated, and scikit-learn's digits converted "
        "(8x8 -> 32x32x3, a fixed stratified 1,437/360 split), once and checked against "
        "their own list. Every later stage reads it from there.")
    add_settings(p, DataConfig)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from landscape.data import prepare

    cfg = config_from_args(DataConfig, args)
    cfg.validate()
    folder, sizes = prepare(cfg.dataset, cfg.data_dir, download=cfg.download)
    counts = ", ".join(f"{n:,} {split}" for split, n in sizes.items())
    print(f"{cfg.dataset} is ready in {folder} ({counts} images, checksums verified)")
