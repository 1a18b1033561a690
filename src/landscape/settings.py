"""Settings as dataclass fields: one definition gives the option, its check and its help.

A stage's options are the fields of its config dataclass (``landscape.configs``). Each field
carries its help text and its constraints (choices, lower bound) as metadata, and everything
else derives from it:

- ``landscape.cli.arguments.add_settings`` turns the fields into ``argparse`` options (flag
  ``--batch-size`` for field ``batch_size``, type, choices, default shown in ``--help``);
- ``check_settings`` refuses a bad value before any work, naming the setting;
- ``command_line`` turns a mapping of setting names (a workflow config section) into the
  same command-line options, so the workflow never spells a flag out.

Torch-free: building the command-line parser must stay fast.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass
from typing import Any

from landscape.errors import LandscapeError


@dataclass(frozen=True)
class Spec:
    """What a setting means and accepts, beside its type and default."""

    help: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None  # lowest accepted value (of each item, for a sequence)
    above: bool = False  # the value must be strictly greater than ``minimum``
    maximum: float | None = None  # highest accepted value
    below: bool = False  # the value must be strictly less than ``maximum``
    group: str | None = None  # argparse group title
    metavar: str | None = None
    none: str | None = None  # what ``None`` means, shown as the default in --help
    nargs: str = "*"  # for a sequence: "+" when it may not be empty


def setting(default: Any = MISSING, help: str = "", **spec: Any) -> Any:
    """A dataclass field with a ``Spec``; no default makes it a required setting."""
    extra = {} if default is MISSING else {"default": default}
    return dataclasses.field(metadata={"spec": Spec(help, **spec)}, **extra)


def spec_of(field: dataclasses.Field) -> Spec | None:
    return field.metadata.get("spec")


def flag(name: str) -> str:
    """The command-line flag of a setting: ``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


@functools.cache
def field_types(cls: type) -> dict[str, tuple[type, bool, bool]]:
    """Per field: (item type, None allowed, is a tuple of items), from the annotations."""
    out = {}
    for name, hint in typing.get_type_hints(cls).items():
        args = typing.get_args(hint)
        optional = type(None) in args
        if optional:
            hint = next(a for a in args if a is not type(None))
        sequence = typing.get_origin(hint) is tuple
        out[name] = (typing.get_args(hint)[0] if sequence else hint, optional, sequence)
    return out


def check_settings(cfg: Any) -> None:
    """Refuse a value of the wrong type, outside its choices or below its bound, by name."""
    types = field_types(type(cfg))
    for field in dataclasses.fields(cfg):
        spec = spec_of(field)
        if spec is None:
            continue
        value = getattr(cfg, field.name)
        kind, optional, sequence = types[field.name]
        if value is None:
            if not optional:
                raise LandscapeError(f"{field.name} must be set")
            continue
        if sequence and not isinstance(value, (tuple, list)):
            raise LandscapeError(f"{field.name} must be a list, got {value!r}")
        for item in value if sequence else (value,):
            _check_item(field.name, item, kind, spec)


def _check_item(name: str, item: Any, kind: type, spec: Spec) -> None:
    if not _is_instance(item, kind):
        raise LandscapeError(f"{name} must be {_kind_name(kind)}, got {item!r}")
    if spec.choices is not None and item not in spec.choices:
        raise LandscapeError(
            f"{name} {item!r} is not one of: {', '.join(map(str, spec.choices))}"
        )
    if spec.minimum is not None or spec.maximum is not None:
        if kind is float and not math.isfinite(item):
            raise LandscapeError(f"{name} must be a finite number, got {item}")
        if not within(item, spec):
            raise LandscapeError(f"{name} must be {bound_text(spec)}, got {item}")


def within(value: float, spec: Spec) -> bool:
    """Whether ``value`` lies within the bounds of ``spec``."""
    low, high = spec.minimum, spec.maximum
    if low is not None and (value < low or (spec.above and value == low)):
        return False
    return high is None or not (value > high or (spec.below and value == high))


def bound_text(spec: Spec) -> str:
    """``at least 1``, ``positive``, ``>= 0``, ``in (0, 1)``: how the bounds read in messages."""
    low, high = spec.minimum, spec.maximum
    if high is not None:
        if low is None:
            return f"{'less than' if spec.below else 'at most'} {high:g}"
        return f"in {'(' if spec.above else '['}{low:g}, {high:g}{')' if spec.below else ']'}"
    if spec.above:
        return "positive" if low == 0 else f"greater than {low:g}"
    if low == 1:
        return "at least 1"
    return f">= {low:g}"


def _is_instance(item: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(item, (int, float)) and not isinstance(item, bool)
    if kind is int:
        return isinstance(item, int) and not isinstance(item, bool)
    return isinstance(item, kind)


def _kind_name(kind: type) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        kind, kind.__name__
    )


def from_mapping(cls: type, values: Mapping[str, Any], where: str = "settings") -> Any:
    """``cls(**values)`` after refusing names that are not settings of ``cls``; lists become tuples."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise LandscapeError(
            f"{where}: unknown setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}"
        )
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def command_line(values: Mapping[str, Any], only: Iterable[str] | None = None) -> list[str]:
    """Command-line words for setting values, as ``add_settings`` defines the options.

    ``None`` leaves the option out (its default, which is ``None`` too, applies); a bool is
    ``--name`` or ``--no-name``; a list is the flag followed by its items (none for ``[]``);
    anything else is ``--name=value``, so values that start with a minus stay values.
    """
    keep = None if only is None else set(only)
    words: list[str] = []
    for name, value in values.items():
        if (keep is not None and name not in keep) or value is None:
            continue
        option = flag(name)
        if isinstance(value, bool):
            words.append(option if value else "--no-" + option[2:])
        elif isinstance(value, (list, tuple)):
            words += [option, *map(str, value)]
        else:
            words.append(f"{option}={value}")
    return words
