"""Benchmark of Hessian eigenvalues per grid point: the reference's approach against ours.

``landscape bench --mode hessian --model resnet20 --images 512 --points 1 --out bench.json``

Both find the largest and smallest Hessian eigenvalue of the same model, on the same
images, at the same grid points of two random filter-normalized directions, over the
parameters with 2 or more dimensions:

- reference (its ``hess_vec_prod.py``): a DataLoader over PIL images (batch 128, as in
  ``landscape bench``'s sweep mode); per batch ``torch.autograd.grad(create_graph=True)`` of
  the batch-mean loss, the product with the vector summed on the host, ``backward()``
  accumulating ``H v`` into ``.grad``, moved to NumPy; ``scipy.sparse.linalg.eigsh(k=1,
  tol)`` on a ``LinearOperator`` for the largest-magnitude eigenvalue, then again on
  ``H - 0.51 lambda_max I`` for the smallest;
- ours: ``landscape.hessian`` (``torch.func`` forward-over-reverse products on resident
  uint8 data, one Lanczos run for both ends), fp32.

The reference's operator is the sum of batch-mean Hessians, ``N / 128`` times ours when the
batches are equal (the same for one batch): ``reference_scale`` records that factor and the
comparison divides by it.
Each approach gets one untimed warm-up product; the points are timed interleaved, medians.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from landscape.bench import (
    REFERENCE_BATCH, PILImages, device_name, grid_points, load_inputs, peak_mb, reset_peak,
    sync_device,
)
from landscape.checkpoint import load_model
from landscape.configs import BenchConfig, HessianConfig
from landscape.device import resolve_device
from landscape.directions import align, random_directions, read_directions
from landscape.errors import LandscapeError
from landscape.hessian import HessianOperator, lanczos_extremes, start_vector
from landscape.surface import Mover, load_split
from landscape.surface_file import read_surface

SHIFT = 0.51  # the reference's guess: lambda_min >= -0.02 lambda_max is assumed away


class Approach:
    """One way to find the eigenvalues: ``point(a, b)`` -> (max, min, products); ``warm()``."""

    def __init__(self, point: Callable[[float, float], tuple[float, float, int]],
                 warm: Callable[[], None]) -> None:
        self.point, self.warm = point, warm


def reference_approach(model: nn.Module, data, dirs, device: torch.device, workers: int,
                       tol: float) -> Approach:
    """The reference's ``min_max_hessian_eigs`` at ``theta + a dx + b dy`` (weights rebuilt on
    the host in float64 per point, as its surface code does)."""
    from scipy.sparse.linalg import LinearOperator, eigsh  # only this benchmark needs SciPy

    net = copy.deepcopy(model).to(device).eval()
    params = list(net.parameters())
    theta = [p.detach().cpu().double() for p in params]
    dx = [d.double() for d in dirs.x]
    dy = [d.double() for d in dirs.y]
    matrices = [p for p in params if p.dim() > 1]
    size = sum(p.numel() for p in matrices)
    loader = DataLoader(PILImages(data), batch_size=REFERENCE_BATCH, shuffle=False,
                        num_workers=workers)
    criterion = nn.CrossEntropyLoss()
    count = [0]

    def product(vec: np.ndarray) -> np.ndarray:
        count[0] += 1
        pieces = np.split(np.asarray(vec, dtype=np.float32).ravel(),
                          np.cumsum([p.numel() for p in matrices])[:-1])
        vs = [torch.from_numpy(v).view(p.shape).to(device) for v, p in zip(pieces, matrices)]
        net.zero_grad()
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            loss = criterion(net(inputs), targets)
            grads = torch.autograd.grad(loss, matrices, create_graph=True)
            prod = torch.zeros(1)
            for g, v in zip(grads, vs):
                prod = prod + (g * v).cpu().sum()
            prod.backward()
        return np.concatenate([p.grad.cpu().numpy().ravel() for p in matrices])

    def point(a: float, b: float) -> tuple[float, float, int]:
        for p, w, x, y in zip(params, theta, dx, dy):
            p.data = (w + a * x + b * y).to(device=device, dtype=torch.float32)
        count[0] = 0
        largest = float(eigsh(LinearOperator((size, size), matvec=product), k=1, tol=tol)[0][0])
        shift = SHIFT * largest
        shifted = LinearOperator((size, size), matvec=lambda v: product(v) - shift * v.ravel())
        smallest = float(eigsh(shifted, k=1, tol=tol)[0][0]) + shift
        if largest <= 0 and smallest > 0:
            largest, smallest = smallest, largest
        return largest, smallest, count[0]

    def warm() -> None:
        product(np.ones(size, dtype=np.float32))

    return Approach(point, warm)


def our_approach(model: nn.Module, data, dirs, device: torch.device, cfg: BenchConfig
                 ) -> tuple[Approach, HessianOperator, Mover]:
    net = copy.deepcopy(model).to(device).eval()
    mover = Mover(align(dirs, net))
    precision = "tf32" if cfg.precision == "tf32" else "fp32"
    op = HessianOperator(net, data.to(device), batch_size=cfg.batch_size, precision=precision)
    start = start_vector(op.size, cfg.seed, op.device, op.dtype)

    def point(a: float, b: float) -> tuple[float, float, int]:
        mover.move((a, b))
        found = lanczos_extremes(op, start, tol=cfg.tol, max_iter=cfg.max_iter)
        return found.max, found.min, found.iterations

    return Approach(point, lambda: op(start)), op, mover


def arpack_ends(op: HessianOperator, tight: float) -> tuple[float, float, int]:
    """(largest, smallest) eigenvalue of ``op`` at the model's current weights by ARPACK,
    ``eigsh(k=2, which='BE', tol=tight)`` from the seed-0 start (an independent check), and
    the products it took."""
    from scipy.sparse.linalg import LinearOperator, eigsh  # only this check needs SciPy

    def product(v: np.ndarray) -> np.ndarray:
        vector = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64).ravel())
        return op(vector.to(device=op.device, dtype=op.dtype)).double().cpu().numpy()

    linear = LinearOperator((op.size, op.size), matvec=product, dtype=np.float64)
    start = start_vector(op.size, 0, torch.device("cpu"), torch.float64).numpy()
    op.products = 0
    ends = eigsh(linear, k=2, which="BE", tol=tight, v0=start, ncv=40,
                 return_eigenvectors=False)
    return float(max(ends)), float(min(ends)), op.products


def run_hessian_benchmark(cfg: BenchConfig) -> dict:
    """Time both approaches at ``cfg.points`` grid points; the result record."""
    cfg.validate()
    if cfg.precision == "bf16":
        raise LandscapeError("--mode hessian runs in fp32 (or tf32 on CUDA), not bf16")
    device = resolve_device(cfg.device)
    model, data = load_inputs(cfg)
    dirs = random_directions(model, axes=2, seed=cfg.seed)
    points = grid_points(cfg.points)
    approaches, setup = {}, {}
    started = time.perf_counter()
    approaches["ours"], op, mover = our_approach(model, data, dirs, device, cfg)
    setup["ours"] = time.perf_counter() - started
    if cfg.reference:
        started = time.perf_counter()
        approaches["reference"] = reference_approach(model, data, dirs, device, cfg.workers,
                                                     cfg.tol)
        setup["reference"] = time.perf_counter() - started
    timed = _time(approaches, points, device)
    batches = -(-len(data) // REFERENCE_BATCH)
    scale = batches if len(data) % REFERENCE_BATCH == 0 or batches == 1 else None
    result = {
        "mode": "hessian",
        "device": device_name(device),
        "device_type": device.type,
        "torch": torch.__version__,
        "model": cfg.model,
        "images": cfg.images,
        "points": len(points),
        "grid_points": points,
        "hessian_size": op.size,
        "batch_size": op.batch_size,
        "precision": op.precision,
        "tol": cfg.tol,
        "max_iter": cfg.max_iter,
        "memory_kind": "CUDA max allocated" if device.type == "cuda" else "process peak RSS",
        "reference_scale": scale,
        "reference_s_per_point": None,
        "speedup": None,
    }
    for name, t in timed.items():
        median = float(np.median(t["seconds"]))
        result.update({
            f"{name}_s_per_point": median,
            f"{name}_s_per_point_min": min(t["seconds"]),
            f"{name}_seconds": t["seconds"],
            f"{name}_warmup_s": setup[name] + t["warmup"],
            f"{name}_peak_mem_mb": t["peak_mb"],
            f"{name}_values": [[v[0], v[1]] for v in t["values"]],
            f"{name}_products": [v[2] for v in t["values"]],
            f"{name}_s_per_product": float(np.median(
                [s / v[2] for s, v in zip(t["seconds"], t["values"])])),
        })
    if cfg.reference:
        result["speedup"] = result["reference_s_per_point"] / result["ours_s_per_point"]
        if scale:
            result["reference_rel_difference"] = _differences(
                timed["ours"]["values"], timed["reference"]["values"], scale)
    if cfg.tight:
        tight = []
        for a, b in points:
            mover.move((a, b))
            tight.append(arpack_ends(op, cfg.tight))
        result["arpack_values"] = [list(v[:2]) for v in tight]
        result["arpack_products"] = [v[2] for v in tight]
        result["ours_arpack_error"] = _differences(timed["ours"]["values"], tight, 1.0)
        if cfg.reference and scale:
            result["reference_arpack_error"] = _differences(
                [(v[0] / scale, v[1] / scale) for v in timed["reference"]["values"]], tight, 1.0)
    result["config"] = asdict(cfg)
    return result


def _differences(ours, reference, scale: float) -> dict[str, list[float]]:
    """Per point, |ours - reference / scale| relative to our largest |eigenvalue|, per end."""
    out: dict[str, list[float]] = {"max": [], "min": []}
    for mine, theirs in zip(ours, reference):
        radius = max(abs(mine[0]), abs(mine[1]))
        for i, end in enumerate(("max", "min")):
            diff = abs(mine[i] - theirs[i] / scale) / radius if radius else math.nan
            out[end].append(diff)
    return out


def _time(approaches: dict[str, Approach], points, device) -> dict[str, dict]:
    """One warm-up product each, then the points timed one by one, interleaved."""
    out = {name: {"values": [], "seconds": [], "peak_mb": 0.0} for name in approaches}
    for name, approach in approaches.items():
        started = time.perf_counter()
        approach.warm()
        sync_device(device)
        out[name]["warmup"] = time.perf_counter() - started
    for a, b in points:
        for name, approach in approaches.items():
            reset_peak(device)
            started = time.perf_counter()
            out[name]["values"].append(approach.point(a, b))
            sync_device(device)
            out[name]["seconds"].append(time.perf_counter() - started)
            out[name]["peak_mb"] = max(out[name]["peak_mb"], peak_mb(device))
    return out


def verify_hessian_file(path: str | Path, *, tight: float = 1e-6, points: int | None = None,
                        device: str = "cpu") -> list[dict[str, Any]]:
    """Compare a Hessian file's eigenvalues with ARPACK run tight, point by point.

    Rebuilds what the sweep used from the file's own attributes (checkpoint, directions,
    data set, split and subset, parameters; paths relative to the working directory, as the
    workflow writes them), moves the model to each computed point (the first ``points`` if
    given) and runs ``scipy.sparse.linalg.eigsh(k=2, which='BE', tol=tight)`` on the same
    Hessian-vector product. Each row: the point, both ends stored and by ARPACK, and the
    errors in units of the stored spectral radius, ``max(|max_eig|, |min_eig|)``, to be
    compared with the file's ``hessian_tol``.
    """
    surface = read_surface(path, require=("max_eig", "min_eig"))
    a = surface.attrs
    cfg = HessianConfig(
        checkpoint=str(a["checkpoint"]), directions=str(a["directions"]),
        arch=str(a["arch"]), x=surface.grid.x.spec,
        y=None if surface.grid.y is None else surface.grid.y.spec,
        dataset=str(a["dataset"]), data_dir=str(a["data_dir"]), split=str(a["splits"][0]),
        subset=int(a["subset_size"]) if a.get("subset_size") is not None else None,
        subset_rule=str(a.get("subset_rule", "first")), params=str(a["hessian_params"]),
        device=device, allow_other_checkpoint=bool(a.get("other_checkpoint", False)))
    model, _ = load_model(cfg.checkpoint, cfg.arch)
    alignment = align(read_directions(cfg.directions), model)
    data, _ = load_split(cfg, cfg.split)
    target = resolve_device(device)
    model.to(target)
    mover = Mover(alignment)
    op = HessianOperator(model, data.to(target), params=cfg.params)
    rows = []
    indices = [k for k in range(surface.grid.size) if surface.computed[surface.grid.index(k)]]
    for k in indices[:points]:
        where = surface.grid.index(k)
        mover.move(surface.grid.coefficients(k))
        largest, smallest, _ = arpack_ends(op, tight)
        stored = (float(surface.values["max_eig"][where]), float(surface.values["min_eig"][where]))
        radius = max(abs(stored[0]), abs(stored[1]))
        rows.append({
            "point": surface.grid.coefficients(k), "max_eig": stored[0], "arpack_max": largest,
            "min_eig": stored[1], "arpack_min": smallest,
            "max_error": abs(stored[0] - largest) / radius,
            "min_error": abs(stored[1] - smallest) / radius,
            "tol": float(a["hessian_tol"]),
        })
    mover.restore()
    return rows
