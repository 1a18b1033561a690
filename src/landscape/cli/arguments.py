"""Argument types and argument groups shared by several subcommands."""

from __future__ import annotations

import argparse
import re

from landscape.choices import DATASETS


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """--dataset and --data-dir: which data set, and where it lives (shared by all runs)."""
    group = parser.add_argument_group("data")
    group.add_argument("--dataset", choices=DATASETS, default="cifar10",
                       help="cifar10 (downloaded once) or the offline synthetic set (default: %(default)s)")
    group.add_argument("--data-dir", default="data",
                       help="folder holding the data sets (default: %(default)s)")


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N (default: %(default)s)")


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show a progress bar (default: only on a terminal)")


def allow_negative_values(parser: argparse.ArgumentParser) -> None:
    """Let an option take a value that starts with a minus, e.g. ``--x -1:1:51``.

    argparse takes any such word for an option unless it is a plain negative number; this
    parser has no option that starts with ``-<digit>``, so a leading ``-<digit>`` is a value.
    """
    parser._negative_number_matcher = re.compile(r"^-\.?\d")  # argparse's own hook
