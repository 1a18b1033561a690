"""Checkpoints: reference-compatible ``torch.save`` dicts, written atomically, loaded safely.

A checkpoint holds ``state_dict`` (as the reference's do) plus ``arch``, ``epoch``,
``metrics`` and, for training checkpoints, what resuming needs (optimizer, RNG state, the
training arguments). Loading uses ``weights_only=True``, so no code in a file runs, and a file
that is not a checkpoint is refused with what it is instead; reference checkpoints (no ``arch``,
maybe a ``module.`` prefix, maybe no ``num_batches_tracked``) load when the caller names the
architecture.
"""

from __future__ import annotations

import pickletools
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from landscape.atomic import atomic_outputs
from landscape.errors import LandscapeError
from landscape.models import get_model


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """``torch.save`` to a temporary name, then rename: a kill never leaves half a file.

    torch writes through a Python file object, so a full disk is an ``OSError`` (ENOSPC)
    that ``atomic_outputs`` turns into one clear line (written to a path, torch reports it
    as an opaque ``RuntimeError``).
    """
    with atomic_outputs(path) as (temp,), open(temp, "wb") as fh:
        torch.save(payload, fh)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint dict (``weights_only=True``), naming the file on any failure."""
    path = Path(path)
    if not path.is_file():
        raise LandscapeError(f"checkpoint {path} does not exist")
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols and the like
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # whatever fails, the file is no checkpoint of ours
        raise LandscapeError(f"checkpoint {path} cannot be read: {_unreadable(path, exc)}") from None
    if isinstance(payload, dict) and "state_dict" not in payload and all(
        isinstance(v, torch.Tensor) for v in payload.values()
    ):
        payload = {"state_dict": payload}  # a bare state dict
    if not isinstance(payload, dict) or not isinstance(payload.get("state_dict"), dict):
        raise LandscapeError(f"checkpoint {path} has no 'state_dict' entry")
    return payload


ZIP_MAGIC = b"PK\x03\x04"  # torch.save's archive format (PyTorch 1.6 and later)


def _unreadable(path: Path, exc: Exception) -> str:
    """What a file ``torch.load`` refused is, in a few words of our own.

    torch's messages suggest retrying with ``weights_only=False``, which would run whatever
    code the file holds; we say what the file is instead, and never give that advice.
    """
    if path.stat().st_size == 0:
        return "the file is empty"
    blocked = re.search(r"GLOBAL ([\w.]+)", str(exc))
    with open(path, "rb") as fh:
        head = fh.read(len(ZIP_MAGIC))
    if head == ZIP_MAGIC and not zipfile.is_zipfile(path):
        return "a truncated or damaged archive (a torch.save file cut short?)"
    code = blocked.group(1) if blocked else _pickled_code(path)
    if code:
        return (f"a pickle that would run code to load ({code}); refused: a checkpoint holds "
                "only tensors, numbers, strings and containers")
    if head == ZIP_MAGIC:
        return "a zip archive, but not one torch.save wrote"
    if "unexpected EOF" in str(exc) or isinstance(exc, EOFError):
        return "the file is truncated (a torch.save file cut short?)"
    return "not a PyTorch checkpoint (neither a torch.save archive nor a pickle of tensors)"


def _pickled_code(path: Path) -> str | None:
    """The first importable name the file's first pickle refers to, read without running it
    (``pickletools``); None when it names nothing or is no pickle at all."""
    strings: list[str] = []
    try:
        with open(path, "rb") as fh:
            for opcode, arg, _ in pickletools.genops(fh):
                if opcode.name in ("GLOBAL", "INST"):
                    return str(arg).replace(" ", ".")
                if opcode.name == "STACK_GLOBAL":
                    return ".".join(strings[-2:]) if len(strings) >= 2 else "a global"
                if isinstance(arg, str):
                    strings.append(arg)
    except Exception:  # not a pickle, or a damaged one
        return None
    return None


def load_model(path: str | Path, arch: str | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Build the checkpoint's architecture (or ``arch``) and load its weights; eval mode."""
    payload = read_checkpoint(path)
    name = arch or payload.get("arch")
    if name is None:
        raise LandscapeError(
            f"checkpoint {path} does not record its architecture; pass the model name"
        )
    if arch is not None and payload.get("arch") not in (None, arch):
        raise LandscapeError(
            f"checkpoint {path} holds a {payload['arch']}, not the requested {arch}"
        )
    model = get_model(name)
    load_state(model, payload["state_dict"], path)
    model.eval()
    return model, payload


def load_state(model: nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> None:
    """Load ``state`` strictly, tolerating only what reference checkpoints lack or add."""
    state = {k.removeprefix("module."): v for k, v in state.items()}
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise LandscapeError(
            f"checkpoint {source} does not fit {type(model).__name__}: "
            f"missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}"
        )
    bad = [k for k, v in state.items() if tuple(v.shape) != tuple(expected[k].shape)]
    if bad:
        raise LandscapeError(f"checkpoint {source}: wrong shape for {bad[:3]}")
    model.load_state_dict(state, strict=False)
