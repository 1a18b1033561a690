"""Options generated from config dataclasses, and the argument types they use.

``add_settings(parser, TrainConfig)`` adds one option per field of the dataclass (flag, type,
choices, default and help from the field's ``Spec``, see ``landscape.settings``);
``config_from_args(TrainConfig, args)`` builds the dataclass back from the parsed options.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from typing import Any

from landscape.settings import Spec, bound_text, field_types, flag, spec_of, within


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


BOUNDED_TYPES = {  # (kind, minimum, strictly above): the argparse type that checks it
    (int, 1, False): positive_int,
    (int, 0, False): non_negative_int,
    (float, 0, True): positive_float,
    (float, 0, False): non_negative_float,
}


def bounded_type(kind: type, spec: Spec) -> Any:
    """The argparse type of a setting: its kind, checked against the setting's bounds."""
    if spec.maximum is None:
        return BOUNDED_TYPES.get((kind, spec.minimum, spec.above), kind)

    def parse(text: str) -> Any:
        value = kind(text)
        if not within(value, spec):
            raise argparse.ArgumentTypeError(f"must be {bound_text(spec)}, got {text}")
        return value

    parse.__name__ = f"bounded_{kind.__name__}"
    return parse


def add_settings(parser: argparse.ArgumentParser, cls: type, *, skip: tuple[str, ...] = (),
                 groups: dict[str, Any] | None = None) -> None:
    """One option per field of dataclass ``cls`` that has a ``Spec`` (except ``skip``)."""
    groups = {} if groups is None else groups
    types = field_types(cls)
    for field in dataclasses.fields(cls):
        spec = spec_of(field)
        if spec is None or field.name in skip:
            continue
        target = parser
        if spec.group:
            if spec.group not in groups:
                groups[spec.group] = parser.add_argument_group(spec.group)
            target = groups[spec.group]
        target.add_argument(flag(field.name), dest=field.name,
                            **_option(field, spec, *types[field.name]))


def _option(field: dataclasses.Field, spec: Spec, kind: type, optional: bool,
            sequence: bool) -> dict[str, Any]:
    required = field.default is dataclasses.MISSING
    option: dict[str, Any] = {"required": True} if required else {"default": field.default}
    if kind is bool and not sequence:
        option["action"] = argparse.BooleanOptionalAction
        shown = spec.none if field.default is None else ("on" if field.default else "off")
        option["help"] = f"{spec.help} (default: {shown})"
        return option
    option["help"] = spec.help + ("" if required else f" (default: {_shown(field.default, spec)})")
    option["type"] = bounded_type(kind, spec)
    if spec.choices is not None:
        option["choices"] = spec.choices
    if spec.metavar:
        option["metavar"] = spec.metavar
    if sequence:
        option["nargs"] = spec.nargs
    return option


def _shown(default: Any, spec: Spec) -> str:
    if default is None:
        return spec.none or "none"
    if isinstance(default, tuple):
        return " ".join(map(str, default)) or "none"
    return str(default).replace("%", "%%")


def config_from_args(cls: type, args: argparse.Namespace, **extra: Any) -> Any:
    """``cls`` built from the parsed options of its fields (sequences as tuples) plus ``extra``."""
    values = {}
    for field in dataclasses.fields(cls):
        if hasattr(args, field.name):
            value = getattr(args, field.name)
            values[field.name] = tuple(value) if isinstance(value, list) else value
    return cls(**{**values, **extra})


def add_flag(parser: argparse.ArgumentParser, flag_name: str, help: str) -> None:
    """An on/off switch that is off unless given (``store_true``), saying so in --help."""
    parser.add_argument(flag_name, action="store_true", help=f"{help} (default: off)")


def add_sweep_resume_arguments(parser: argparse.ArgumentParser) -> None:
    """``--restart`` and ``--flush-seconds``: how a sweep keeps and resumes OUT.partial."""
    add_flag(parser, "--restart", "discard OUT.partial from an earlier run instead of resuming it")
    parser.add_argument("--flush-seconds", type=non_negative_float, default=10.0, metavar="S",
                        help="save progress to OUT.partial every S seconds; a kill loses at "
                        "most that much work (default: 10)")


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show a progress bar (default: only on a terminal)")


def allow_negative_values(parser: argparse.ArgumentParser) -> None:
    """Let an option take a value that starts with a minus, e.g. ``--x -1:1:51``.

    argparse takes any such word for an option unless it is a plain negative number; this
    parser has no option that starts with ``-<digit>``, so a leading ``-<digit>`` is a value.
    """
    parser._negative_number_matcher = re.compile(r"^-\.?\d")  # argparse's own hook
