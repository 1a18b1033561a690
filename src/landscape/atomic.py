"""All-or-nothing file output: write beside the target under a temporary name, then rename.

A stage killed mid-write, or failing on its second output, never leaves a half-written or
stale-looking file under a final name (Snakemake and the resume logic trust final names).

Temporary names are ``.<name>.tmp.<host>.<pid>.<random>``: unique per write, so two
processes writing the same output at once (two identical commands, two cluster jobs on a
shared file system) never write into one file; each renames its own complete file into
place and the last rename wins (documented in docs/workflow.md, tested with two identical
sweeps at once). A
temporary file that a killed process left behind is removed by the next write of the same
target on the same host, once its process is gone; others are ignored (hidden, never read).

A write that fails for want of space, on a read-only file system or without permission
ends with one ``LandscapeError`` naming the file and what to do; the old file, if any, is
untouched and no temporary file is left.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

from landscape import faults
from landscape.errors import LandscapeError

_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname().split(".")[0]) or "host"
_STALE = re.compile(r"\.tmp(?:\.(?P<host>[A-Za-z0-9_-]+)\.(?P<pid>\d+)\.[0-9a-f]+|(?P<old>\d+))")


def temporary_name(path: Path) -> Path:
    """A fresh temporary path beside ``path`` (hidden, unique to this write)."""
    return path.with_name(f".{path.name}.tmp.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}")


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove temporary files of ``path`` left by dead processes of this host; returns them.

    A file of a live process (a concurrent writer) or of another host is left alone.
    """
    path = Path(path)
    removed = []
    with contextlib.suppress(OSError):
        for temp in path.parent.glob(f".{glob_escape(path.name)}.tmp*"):
            match = _STALE.fullmatch(temp.name[len(path.name) + 1:])
            if match is None:
                continue
            if match["old"] is not None:  # .NAME.tmpPID, written before host names were added
                host, pid = _HOST, int(match["old"])
            else:
                host, pid = match["host"], int(match["pid"])
            if host == _HOST and not _alive(pid):
                with contextlib.suppress(OSError):
                    temp.unlink()
                    removed.append(temp)
    return removed


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is writing afresh; its earlier temporaries are dead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


@contextlib.contextmanager
def atomic_outputs(*paths: str | Path) -> Iterator[list[Path]]:
    """Yield one temporary path per target; rename them all into place if the block succeeds.

    Each temporary file is flushed to disk (``fsync``) before the renames, so a full disk or
    quota shows up here, not later. On any exception every temporary file is removed and no
    target is touched. Folders are created; an ``OSError`` becomes a ``LandscapeError``
    naming the target (``write_error``).
    """
    targets = [Path(p) for p in paths]
    temps = [temporary_name(p) for p in targets]
    try:
        for target in targets:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise write_error(target, exc) from exc
            remove_stale_temporaries(target)
        try:
            yield temps
            faults.reached("write", temps)
            for temp in temps:
                _fsync(temp)
        except Exception as exc:
            cause = _os_error(exc)
            if cause is None:
                raise
            raise write_error(targets[0] if len(targets) == 1 else targets, cause) from exc
        for temp, target in zip(temps, targets):
            try:
                os.replace(temp, target)
            except OSError as exc:
                raise write_error(target, exc) from exc
    finally:
        for temp in temps:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)


def _os_error(exc: BaseException) -> OSError | None:
    """``exc`` if it is an ``OSError``, else one it was raised while handling (a writer that
    fails again while cleaning up after a full disk, as matplotlib's PDF backend does)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _fsync(path: Path) -> None:
    if path.exists():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: str | Path, payload: bytes) -> None:
    with atomic_outputs(path) as (temp,):
        temp.write_bytes(payload)


_ADVICE = {
    errno.ENOSPC: "no space left on the device{free}: free some space and rerun the same "
                  "command (finished work is kept)",
    errno.EDQUOT: "disk quota exceeded{free}: free some space and rerun the same command "
                  "(finished work is kept)",
    errno.EROFS: "the file system is read-only: choose an output folder you can write to",
    errno.EACCES: "permission denied: choose an output folder you can write to",
    errno.EPERM: "permission denied: choose an output folder you can write to",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder: name a file",
}


def write_error(target: Path | list[Path], exc: OSError) -> LandscapeError:
    """One clear line for an ``OSError`` while writing ``target``: what happened, what to do."""
    targets = target if isinstance(target, list) else [target]
    names = str(targets[0]) + (f" (and {len(targets) - 1} more)" if len(targets) > 1 else "")
    advice = _ADVICE.get(exc.errno)
    if advice is None:
        return LandscapeError(f"cannot write {names}: {exc.strerror or exc}")
    return LandscapeError(f"cannot write {names}: {advice.format(free=_free(targets[0]))}")


def _free(path: Path) -> str:
    """`` (N MB free in FOLDER)`` for the nearest existing folder of ``path``, or ''."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return ""
    return f" ({free / 2**20:,.1f} MB free in {folder})"
