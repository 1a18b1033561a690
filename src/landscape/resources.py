"""What a command will allocate, estimated before it starts, against what the machine has.

A grid of 10^10 points, a benchmark of 10^9 images or a surface file of another tool's
gigantic grid would otherwise die deep inside numpy or torch with a ``MemoryError`` after
minutes of loading. Each stage adds up its big allocations (``Need``) first and calls
``check_memory``, which refuses with the estimate, its parts and the limit:

- host memory: ``MemAvailable`` of /proc/meminfo, lowered to what the cgroup (a SLURM job,
  a container) still allows;
- a CUDA device: its free memory (``torch.cuda.mem_get_info``).

``check_disk`` does the same for files against the free space of their folder. Estimates
cover the arrays a stage keeps (grid arrays, data on the device, checkpoints), not Python's
own overhead; a limit that cannot be read (another OS) skips the check.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from landscape.errors import LandscapeError
from landscape.grid import Grid, Shard

IMAGE_BYTES = 3 * 32 * 32 + 8  # one uint8 CIFAR image and its int64 label
FLOAT64 = 8


@dataclass(frozen=True)
class Need:
    """One allocation of an estimate: what it is for and its size in bytes."""

    label: str
    bytes: int


def size(n: float) -> str:
    """Bytes for people: ``512 B``, ``3.1 MiB``, ``149.0 GiB``."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{int(n)} B"


# ------------------------------------------------------------------------------ limits


def host_memory() -> tuple[int, str] | None:
    """(bytes, where from) this process may still allocate on the host, or None if unknown."""
    limits = []
    try:
        with open("/proc/meminfo") as fh:
            info = {line.split(":")[0]: line.split()[1] for line in fh if ":" in line}
        limits.append((int(info["MemAvailable"]) * 1024, "available (MemAvailable)"))
    except (OSError, KeyError, ValueError, IndexError):
        pass
    cgroup = _cgroup_room()
    if cgroup is not None:
        limits.append((cgroup, "left under this job's cgroup memory limit"))
    return min(limits) if limits else None


def _cgroup_room() -> int | None:
    """Bytes left under the cgroup's memory limit (v2, else v1), or None without a limit."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:  # v1 writes a huge number for "no limit"
            return max(int(limit) - usage, 0)
        return None
    return None


def device_memory(device: Any) -> tuple[int, str] | None:
    """(bytes, where from) free on ``device`` (a ``torch.device`` or name); host memory for a CPU."""
    kind = getattr(device, "type", str(device).split(":")[0])
    if kind != "cuda":
        return host_memory()
    import torch

    free, _ = torch.cuda.mem_get_info(device)
    return free, f"free on {device}"


# ------------------------------------------------------------------------------ checks


def check_memory(what: str, needs: Sequence[Need], advice: str, device: Any = "cpu") -> None:
    """Refuse ``what`` when ``needs`` add up to more than ``device`` has free."""
    limit = device_memory(device)
    total = sum(n.bytes for n in needs)
    if limit is None or total <= limit[0]:
        return
    parts = ", ".join(f"{n.label} {size(n.bytes)}" for n in needs if n.bytes)
    raise LandscapeError(
        f"{what} needs about {size(total)} of memory ({parts}) but {size(limit[0])} is "
        f"{limit[1]}; {advice}"
    )


def check_disk(what: str, folder: str | Path, needed: int, advice: str = "") -> None:
    """Refuse ``what`` when ``folder`` (or its nearest existing parent) has under ``needed`` free."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if needed > free:
        raise LandscapeError(
            f"{what} needs about {size(needed)} of disk space but {folder} has {size(free)} "
            f"free; {advice or 'free some space or choose another output folder'}"
        )


# --------------------------------------------------------------------------- estimates


def grid_needs(grid: Grid, quantities: Sequence[str], shard: Shard = Shard(0, 1)) -> list[Need]:
    """What a sweep holds in memory: a float64 array per quantity, its masks, its point list."""
    points = grid.size
    return [
        Need(f"{', '.join(quantities)} as float64", len(quantities) * FLOAT64 * points),
        Need("computed-point and shard masks", 2 * points),
        Need("the shard's lists of points", 2 * 8 * math.ceil(points / shard.count)),
    ]


def check_grid(what: str, grid: Grid, quantities: Sequence[str], shard: Shard = Shard(0, 1)
               ) -> None:
    """Refuse a sweep whose grid arrays cannot fit in host memory, before any work."""
    shape = " x ".join(str(n) for n in reversed(grid.shape))
    check_memory(f"{what} on a {shape} grid ({grid.size:,} points)",
                 grid_needs(grid, quantities, shard),
                 "use fewer points per axis (the arrays of every shard span the whole grid)")


def surface_file_bytes(grid: Grid, quantities: Sequence[str]) -> int:
    """About the size of a surface file (its float64 arrays and mask) on disk."""
    return (len(quantities) * FLOAT64 + 1) * grid.size + 64 * 1024


def images_need(label: str, count: int) -> Need:
    return Need(label, count * IMAGE_BYTES)


def check_device_data(what: str, sets: Mapping[str, Any], device: Any, advice: str) -> None:
    """Refuse data sets (``ImageSet``s on the host) that cannot all sit on a CUDA ``device``.

    On a CPU they already sit in host memory, so there is nothing left to check.
    """
    if getattr(device, "type", str(device).split(":")[0]) != "cuda":
        return
    needs = [Need(f"{name} images", sum(t.nelement() * t.element_size()
                                        for t in (data.images, data.labels)))
             for name, data in sets.items()]
    check_memory(what, needs, advice, device)


def checkpoint_bytes(parameters: int) -> int:
    """A training checkpoint: float32 weights and momentum buffers, plus a little metadata."""
    return 2 * 4 * parameters + 64 * 1024


def vectors_need(label: str, count: int, parameters: int, itemsize: int = 4) -> Need:
    """``count`` parameter-sized vectors (directions, Lanczos or power-iteration vectors)."""
    return Need(label, count * parameters * itemsize)


def pca_needs(rows: int, parameters: int, itemsize: int = 4) -> list[Need]:
    """A PCA of ``rows`` flattened weight vectors (trajectory directions): the matrix, its
    centred copy and the SVD's factors (U, S and the rows of V^T)."""
    matrix = rows * parameters * itemsize
    return [Need(f"the {rows} x {parameters:,} matrix and its centred copy", 2 * matrix),
            Need("its SVD", matrix + (rows * rows + rows) * itemsize)]
