"""All-or-nothing file output: write beside the target under a temporary name, then rename.

A stage killed mid-write, or failing on its second output, never leaves a half-written or
stale-looking file under a final name (Snakemake and the resume logic trust final names).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from landscape.errors import LandscapeError


def temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


@contextlib.contextmanager
def atomic_outputs(*paths: str | Path) -> Iterator[list[Path]]:
    """Yield one temporary path per target; rename them all into place if the block succeeds.

    On any exception every temporary file is removed and no target is touched. Folders are
    created; an ``OSError`` while writing becomes a ``LandscapeError`` naming the target.
    """
    targets = [Path(p) for p in paths]
    temps = [temporary_name(p) for p in targets]
    try:
        for target in targets:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LandscapeError(f"cannot write {target}: {exc}") from exc
        try:
            yield temps
        except OSError as exc:
            raise LandscapeError(f"cannot write {', '.join(map(str, targets))}: {exc}") from exc
        for temp, target in zip(temps, targets):
            os.replace(temp, target)
    finally:
        for temp in temps:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, payload: bytes) -> None:
    with atomic_outputs(path) as (temp,):
        temp.write_bytes(payload)
