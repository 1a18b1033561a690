"""Paths checked before a stage starts: a data folder or an output folder that is a file, a
read-only file system, a folder without write permission are refused up front, in the words
``landscape.atomic`` uses when a write fails midway. Torch-free (the workflow uses it)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from landscape.atomic import write_error
from landscape.choices import DATA_FOLDERS
from landscape.errors import LandscapeError


def check_data_dir(data_dir: str | Path, dataset: str) -> Path:
    """``data_dir`` resolved; refuses a data folder (or the data set's folder in it) that is a
    file. Torch-free, so the workflow runs it before any job."""
    root = Path(data_dir).expanduser().resolve()
    for folder in (root, root / DATA_FOLDERS.get(dataset, "")):
        if folder.exists() and not folder.is_dir():
            raise LandscapeError(
                f"data folder {folder} is a file, not a folder; pass --data-dir a folder"
                " (it is created if missing)"
            )
    return root


def check_output_file(path: str | Path, option: str = "--out") -> Path:
    """``path`` can be written as a file: not a folder, in a folder that can be made and written."""
    path = Path(path)
    if path.is_dir():
        raise LandscapeError(f"{option} {path} is a folder; name a file")
    check_folder(path.parent, path)
    return path


def check_output_folder(path: str | Path, option: str = "--out") -> Path:
    """``path`` can be used (made if needed) as a folder of outputs."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise LandscapeError(f"{option} {path} is a file, not a folder")
    check_folder(path, path)
    return path


def check_folder(folder: Path, target: Path) -> None:
    """``folder`` exists or can be created, and files can be written in it (for ``target``)."""
    existing = folder
    while not existing.exists():
        if existing == existing.parent:
            return
        existing = existing.parent
    if not existing.is_dir():
        raise LandscapeError(f"cannot write {target}: {existing} is a file, not a folder")
    if _read_only(existing):
        raise write_error(target, OSError(errno.EROFS, os.strerror(errno.EROFS)))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise write_error(target, OSError(errno.EACCES, os.strerror(errno.EACCES)))


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False
