"""The ``landscape`` command: one subcommand per stage, explicit input and output paths.

Bad input ends with one line, ``landscape <command>: error: <what and which file>``, and
exit status 2; nothing is left half-written. What the library logs (``logging``, logger
``landscape``) appears on stderr as plain lines, ``landscape <command>: <message>`` for
progress and ``landscape <command>: warning: <message>`` for warnings, one line each, so a
log file of the workflow reads the same as a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import pkgutil
import sys
from collections.abc import Iterator

from landscape import __version__
from landscape.errors import LandscapeError


def command_modules() -> list[str]:
    """Every module of this package with a ``register(subparsers)``: one per subcommand."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "arguments")
    return [f"{__name__}.{name}" for name in names]


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line instead of the whole usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="landscape",
        description="Loss landscapes of neural nets (Li et al., 2018): train, directions, surfaces, figures.",
    )
    parser.add_argument("--version", action="version", version=f"landscape {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for name in command_modules():
        importlib.import_module(name).register(sub)
    return parser


class LineFormatter(logging.Formatter):
    """One line per record, prefixed like the command's errors; warnings say so."""

    def __init__(self, command: str) -> None:
        super().__init__()
        self.command = command

    def format(self, record: logging.LogRecord) -> str:
        message = " ".join(record.getMessage().split())  # one line, whatever it holds
        if record.levelno >= logging.WARNING and not message.startswith("warning:"):
            message = f"warning: {message}"
        return f"landscape {self.command}: {message}"


@contextlib.contextmanager
def library_log_lines(command: str) -> Iterator[None]:
    """Show the library's info and warning records on stderr while ``command`` runs."""
    logger = logging.getLogger("landscape")
    handler = logging.StreamHandler(sys.stderr)  # the stderr of this call (tests swap it)
    handler.setFormatter(LineFormatter(command))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with library_log_lines(args.command):
            args.func(args)
    except LandscapeError as exc:
        print(f"landscape {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"landscape {args.command}: interrupted; rerun the same command to resume",
              file=sys.stderr)
        return 130
    return 0
