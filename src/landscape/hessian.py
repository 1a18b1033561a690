"""Extreme Hessian eigenvalues of the mean loss, at one point and over a grid (paper Fig. 7).

``landscape hessian --checkpoint final.pt --directions dirs.h5 --x -1:1:21 --y -1:1:21
--subset 5000 --out hess.h5``

At a point theta, ``lambda_max`` and ``lambda_min`` of the Hessian of the *mean* loss over
the data set, taken over the selected parameters (those with 2 or more dimensions by
default, as the reference), the model in eval mode (BatchNorm uses its running statistics,
as for loss surfaces and in the reference):

- ``HessianOperator``: ``H v`` by reverse-over-reverse differentiation (the gradient of
  ``grad(loss) . v``) through ``functional_call``, batch by batch over uint8 images resident
  on the device; the per-batch products of the summed loss are added up on the device and
  divided by the number of images. The first product at a point also gives the loss and
  accuracy there (the primal pass computes them).
- ``lanczos_extremes``: Lanczos with full reorthogonalization from a seeded start vector.
  Both ends come from one Krylov space: the largest and smallest Ritz values. An end is
  reported only once no eigenvalue can lie beyond it by more than ``tol`` times the largest
  Ritz magnitude, with 99.9 % confidence over the start vector (a Christoffel-function
  bound on the start's spectral weight out there, ``weight_beyond``, below the weight any
  eigenvector has in a random start, ``weight_threshold``); no guess of a shift, unlike
  the reference's ``0.51 * lambda_max``. An end not settled after ``max_iter`` products
  is NaN, and a warning says so.

``hessian_sweep`` runs the surface sweep's loop (``landscape.surface.run_sweep``: same grid,
shards, ``.partial`` resume and merge) with these as the measured quantities: ``max_eig``,
``min_eig``, ``<split>_loss``, ``<split>_acc`` and ``hvp_count`` (products used at the point).
docs/curvature.md has the method, its cost and how it differs from the reference.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from landscape import data as datasets
from landscape import precision as policy
from landscape import resources
from landscape.configs import HESSIAN_PARAMS, EigenSettings, HessianConfig
from landscape.directions import Directions
from landscape.errors import LandscapeError
from landscape.evaluate import LossFn, batch_sums, floating_dtype, model_device
from landscape.grid import Grid, Shard
from landscape.surface import (
    ENGINE_PREFIX, Measure, SweepResult, check_sweep, engine_settings, load_split, resume_state,
    run_sweep, sweep_attrs, sweep_inputs,
)
from landscape.surface_file import split_quantities

log = logging.getLogger(__name__)

CPU_BATCH = 128
CUDA_BATCH = 1024
EIGEN_QUANTITIES = ("max_eig", "min_eig")
COUNT = "hvp_count"  # Hessian-vector products used at each point


def hessian_quantities(split: str) -> list[str]:
    """What a Hessian sweep stores per point, in file order."""
    return [*EIGEN_QUANTITIES, *split_quantities([split]), COUNT]


def default_batch(device: torch.device) -> int:
    return CUDA_BATCH if device.type == "cuda" else CPU_BATCH


# ------------------------------------------------------------------- Hessian-vector products


def selected_parameters(model: nn.Module, params: str = "matrices") -> list[str]:
    """Names of the parameters the Hessian is over: ``matrices`` (2 or more dimensions) or ``all``."""
    if params not in HESSIAN_PARAMS:
        raise LandscapeError(f"params must be one of {', '.join(HESSIAN_PARAMS)}, got {params!r}")
    return [n for n, p in model.named_parameters()
            if p.is_floating_point() and (params == "all" or p.dim() >= 2)]


class HessianOperator:
    """``op(v)`` -> ``H v``: the Hessian of the mean loss over ``data`` at the model's current
    weights, with respect to the selected parameters, as flat vectors of ``op.size`` entries.

    The parameters are read at every call, so in-place moves of the model (a sweep) are seen.
    After each call ``loss`` and ``accuracy`` hold the mean loss and accuracy (%) at the point.
    """

    def __init__(self, model: nn.Module, data: datasets.ImageSet, *, params: str = "matrices",
                 batch_size: int | None = None, precision: str = "fp32",
                 loss_fn: LossFn | None = None) -> None:
        if len(data) == 0:
            raise LandscapeError("cannot take a Hessian over an empty data set")
        self.model, self.data, self.loss_fn = model, data, loss_fn
        self.device = model_device(model)
        if data.images.device != self.device:
            raise LandscapeError(
                f"data on {data.images.device} but the model on {self.device}: move them together"
            )
        self.names = selected_parameters(model, params)
        if not self.names:
            raise LandscapeError(f"{type(model).__name__} has no parameter with 2 or more "
                                 "dimensions; use params='all'")
        shapes = dict(model.named_parameters())
        self.shapes = [shapes[n].shape for n in self.names]
        self.numels = [shapes[n].numel() for n in self.names]
        self.size = sum(self.numels)
        self.dtype = floating_dtype(model)
        self.batch_size = min(batch_size or default_batch(self.device), len(data))
        self.precision = policy.effective(precision, self.device)
        self.products = 0
        self.loss = self.accuracy = float("nan")

    def __call__(self, vector: torch.Tensor) -> torch.Tensor:
        pieces = self._shaped(vector.to(self.dtype))
        selected = set(self.names)
        # leaves that share the model's storage: a sweep's in-place moves are seen, and the
        # model's own requires_grad flags are left alone
        primals = [p.detach().requires_grad_() for n, p in self.model.named_parameters()
                   if n in selected]
        tensors = {n: p.detach() for n, p in self.model.named_parameters() if n not in selected}
        tensors.update(self.model.named_buffers())
        tensors.update(zip(self.names, primals))
        total = [torch.zeros(s, dtype=self.dtype, device=self.device) for s in self.shapes]
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
        classified = True
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.enable_grad(), policy.flags_context(self.precision, self.device):
                for start in range(0, len(self.data), self.batch_size):
                    x = self.data.inputs(self.data.images[start : start + self.batch_size],
                                         self.dtype)
                    y = self.data.labels[start : start + self.batch_size]
                    outputs = functional_call(self.model, tensors, (x,))
                    loss, right = batch_sums(outputs, y, self.loss_fn)
                    torch._foreach_add_(total, self._batch_product(loss, primals, pieces))
                    loss_sum += loss.detach()
                    if right is None:
                        classified = False
                    else:
                        correct += right
        finally:
            self.model.train(was_training)
        n = len(self.data)
        self.products += 1
        self.loss = loss_sum.item() / n
        self.accuracy = 100.0 * correct.item() / n if classified else float("nan")
        return torch.cat([t.reshape(-1) for t in total]) / n

    @staticmethod
    def _batch_product(loss: torch.Tensor, primals: list[torch.Tensor],
                       pieces: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """``H_b v`` of the batch's summed loss: reverse over reverse, the gradient of
        ``grad(loss) . v``. Measured 1.4x faster per product than forward-over-reverse
        (``torch.func.jvp`` of ``grad``) on a CPU (docs/speed.md)."""
        grads = torch.autograd.grad(loss, primals, create_graph=True)
        dot = torch.stack([(g * v).sum() for g, v in zip(grads, pieces)]).sum()
        return torch.autograd.grad(dot, primals)

    def _shaped(self, vector: torch.Tensor) -> list[torch.Tensor]:
        return [t.reshape(s) for t, s in zip(torch.split(vector, self.numels), self.shapes)]


# ------------------------------------------------------------------------------- Lanczos


CONFIDENCE = 0.999  # chance that both reported ends are within tol (over the start vector)


@dataclass
class Extremes:
    """The extreme eigenvalues found; an end that cannot be trusted is NaN (its last Ritz
    value and the bound on the start vector's weight beyond it are kept for the warning)."""

    max: float
    min: float
    max_ritz: float
    min_ritz: float
    max_weight: float  # bound on the start's spectral weight above max_ritz + tol * radius
    min_weight: float  # ... below min_ritz - tol * radius
    threshold: float  # weight below which an end counts as found
    iterations: int

    @property
    def converged(self) -> bool:
        return math.isfinite(self.max) and math.isfinite(self.min)


def start_vector(size: int, seed: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """A unit vector drawn on the CPU from ``seed``: the same on every device."""
    gen = torch.Generator().manual_seed(seed)
    v = torch.randn(size, generator=gen, dtype=torch.float64)
    return (v / v.norm()).to(device=device, dtype=dtype)


def weight_threshold(n: int, miss: float) -> float:
    """A weight ``c`` such that a fixed unit vector's weight in a random start, ``(u . q)^2``,
    falls below ``c`` with probability at most ``miss``.

    For ``q`` uniform on the unit sphere of R^n the weight ``w`` is Beta(1/2, (n-1)/2), and
    ``w < c`` exactly when ``|T| < s = sqrt(c (n-1) / (1-c))`` for ``T`` Student's t with
    ``n-1`` degrees of freedom. Its density peaks at 0, so ``P(|T| < s) <= 2 s f(0)``: taking
    ``s = miss / (2 f(0))`` is safe for every ``n``, and tight for small ``miss``.
    """
    if n < 2:
        return 0.0  # the only direction has all the weight
    dof = n - 1
    peak = math.exp(math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2)) / math.sqrt(dof * math.pi)
    s = miss / (2 * peak)
    return s * s / (s * s + dof)


def weight_beyond(alphas: list[float], betas: list[float], edge: float) -> float:
    """Bound on the start vector's spectral weight on the far side of ``edge``.

    ``alphas`` (k of them) and ``betas`` (k: the last is the norm of the new residual) are the
    Lanczos recurrence, so the Lanczos polynomials ``P_0 .. P_k`` are orthonormal under the
    start vector's spectral measure. For ``edge`` outside the Ritz values of the k x k
    tridiagonal, the polynomial ``K(x, edge) / K(edge, edge)`` (``K`` the Christoffel kernel)
    is 1 at ``edge``, has all its zeros on the Ritz side, so is at least 1 in absolute value
    beyond ``edge``; its mean square is ``1 / sum_j P_j(edge)^2``, which therefore bounds
    the weight beyond ``edge`` whatever the spectrum.
    """
    total, previous, current = 1.0, 0.0, 1.0
    for j, (alpha, beta) in enumerate(zip(alphas, betas)):
        if beta <= 0:
            return math.inf  # an exhausted space: the caller treats it as exact
        following = ((edge - alpha) * current - (betas[j - 1] if j else 0.0) * previous) / beta
        previous, current = current, following
        total += current * current
        if total > 1e200:  # far beyond any threshold; avoid overflow
            break
    return 1.0 / total


def lanczos_extremes(matvec: Callable[[torch.Tensor], torch.Tensor], start: torch.Tensor, *,
                     tol: float = 1e-2, max_iter: int = 100,
                     confidence: float = CONFIDENCE) -> Extremes:
    """Largest and smallest eigenvalue of the symmetric operator ``matvec`` by Lanczos.

    ``start`` is a unit vector (its dtype and device are those of the basis). Each iteration
    is one product; the basis is reorthogonalized in full (twice, classical Gram-Schmidt),
    so no ghost copies of converged eigenvalues appear. The small tridiagonal problem is
    solved in float64 on the CPU.

    Stopping rule, sound for the extremes: the smallest Ritz value ``theta_min`` is never below
    ``lambda_min``; it is reported once the start vector's spectral weight below
    ``theta_min - tol * r`` (``r`` the largest Ritz magnitude) is bounded (``weight_beyond``)
    under the weight that any fixed eigenvector has in a random start with probability
    ``1 - (1 - confidence) / 2`` (``weight_threshold``). Then ``lambda_min`` lies within
    ``tol * r`` of ``theta_min`` with that probability; the same for ``lambda_max``. An end
    that is not settled within ``max_iter`` products is NaN; an exhausted Krylov space
    (``beta_k`` ~ 0) is exact.
    """
    n = start.numel()
    steps = min(max_iter, n)
    threshold = weight_threshold(n, (1 - confidence) / 2)
    basis = torch.empty((steps, n), dtype=start.dtype, device=start.device)
    alphas: list[float] = []
    betas: list[float] = []
    q = start
    ritz = np.zeros(1)
    weights = (math.inf, math.inf)
    done = (False, False)
    for k in range(steps):
        basis[k] = q
        w = matvec(q).to(start.dtype)
        alpha = torch.dot(w.double(), q.double()).item()
        if not math.isfinite(alpha):  # an overflowed loss: no eigenvalue to find here
            alphas.append(alpha)
            ritz, weights, done = np.full(1, np.nan), (math.nan, math.nan), (False, False)
            break
        w = w - alpha * q
        if k:
            w = w - betas[-1] * basis[k - 1]
        for _ in range(2):
            w = w - basis[: k + 1].T @ (basis[: k + 1] @ w)
        beta = w.double().norm().item()
        alphas.append(alpha)
        ritz = np.linalg.eigvalsh(np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1))
        radius = max(abs(ritz[0]), abs(ritz[-1]))
        if beta <= 1e-10 * radius or k + 1 == n:  # the Krylov space is invariant: exact
            weights, done = (0.0, 0.0), (True, True)
            break
        margin = tol * radius
        weights = (weight_beyond(alphas, [*betas, beta], ritz[-1] + margin),
                   weight_beyond(alphas, [*betas, beta], ritz[0] - margin))
        done = (weights[0] <= threshold, weights[1] <= threshold)
        if all(done):
            break
        betas.append(beta)
        q = w / beta
    return Extremes(
        max=float(ritz[-1]) if done[0] else math.nan,
        min=float(ritz[0]) if done[1] else math.nan,
        max_ritz=float(ritz[-1]), min_ritz=float(ritz[0]),
        max_weight=float(weights[0]), min_weight=float(weights[1]),
        threshold=threshold, iterations=len(alphas),
    )


def extreme_eigenvalues(model: nn.Module, data: datasets.ImageSet,
                        settings: EigenSettings | None = None, *,
                        loss_fn: LossFn | None = None) -> Extremes:
    """``lambda_max`` and ``lambda_min`` of the mean loss's Hessian at ``model``'s weights.

    ``data`` must be on the model's device; ``settings`` gives the parameters, tolerance,
    iteration limit, batch, precision and start seed.
    """
    settings = settings or EigenSettings()
    settings.validate_eigen()
    op = HessianOperator(model, data, params=settings.params, batch_size=settings.batch_size,
                         precision=settings.precision, loss_fn=loss_fn)
    start = start_vector(op.size, settings.seed, op.device, op.dtype)
    return lanczos_extremes(op, start, tol=settings.tol, max_iter=settings.max_iter)


def eigen_measure(op: HessianOperator, settings: EigenSettings, split: str) -> Measure:
    """The sweep's measure: eigenvalues, the loss and accuracy, and the products used."""
    start = start_vector(op.size, settings.seed, op.device, op.dtype)

    def measure() -> dict[str, float]:
        op.products = 0
        found = lanczos_extremes(op, start, tol=settings.tol, max_iter=settings.max_iter)
        if not found.converged:
            log.warning(
                "warning: Lanczos could not vouch for both ends to tol %g within %d products "
                "(largest Ritz value %.4g, weight beyond it %.2g; smallest %.4g, weight %.2g; "
                "needed <= %.2g): the end(s) not settled are stored as NaN; raise max_iter "
                "or tol", settings.tol, found.iterations, found.max_ritz, found.max_weight,
                found.min_ritz, found.min_weight, found.threshold)
        return {"max_eig": found.max, "min_eig": found.min, f"{split}_loss": op.loss,
                f"{split}_acc": op.accuracy, COUNT: float(op.products)}

    return measure


# ---------------------------------------------------------------------------------- sweeps


def hessian_sweep(
    model: nn.Module,
    directions: Directions,
    grid: Grid,
    data: datasets.ImageSet,
    out: str | Path | None = None,
    *,
    settings: EigenSettings | None = None,
    split: str = "train",
    shard: Shard = Shard(0, 1),
    attrs: dict[str, Any] | None = None,
    subset_indices: dict[str, np.ndarray] | None = None,
    restart: bool = False,
    progress: bool | None = None,
    flush_seconds: float = 10.0,
    on_point: Callable[[int, int], None] | None = None,
    loss_fn: LossFn | None = None,
) -> SweepResult:
    """Eigenvalues at ``shard``'s points of ``grid`` into ``out``, resuming ``<out>.partial``.

    ``model`` and ``data`` must be on one device. The eigen-settings and ``attrs`` are the
    surface's identity: a partial file of other settings is refused unless ``restart``.
    """
    settings = settings or EigenSettings()
    settings.validate_eigen()
    alignment = check_sweep(model, directions, grid, [split])
    op = HessianOperator(model, data, params=settings.params, batch_size=settings.batch_size,
                         precision=settings.precision, loss_fn=loss_fn)
    identity = {**(attrs or {}), **eigen_attrs(settings), "hessian_size": op.size}
    attrs = sweep_attrs(identity, [split], alignment.dir_type, settings.precision, grid, shard)
    start = None if out is None else resume_state(out, attrs, grid, shard, restart)
    precision, batch_size = engine_settings(start, op.precision, op.batch_size)
    op.precision, op.batch_size = precision, min(batch_size, len(data))  # a partial's own
    attrs.update({f"{ENGINE_PREFIX}precision": op.precision,
                  f"{ENGINE_PREFIX}batch_size": op.batch_size,
                  f"{ENGINE_PREFIX}device": str(op.device),
                  "split_sizes": [len(data)]})
    measure = eigen_measure(op, settings, split)
    result = run_sweep(model, alignment, grid, hessian_quantities(split), measure, out,
                       shard=shard, attrs=attrs, start=start, subset_indices=subset_indices,
                       dir_file=directions.source, progress=progress,
                       flush_seconds=flush_seconds, on_point=on_point)
    missing = sum(int(np.isnan(result.surface.values[q][result.surface.computed]).sum())
                  for q in EIGEN_QUANTITIES)
    if missing:
        log.warning("warning: %d eigenvalues of %s did not converge and are NaN; rerun with "
                    "a larger max_iter (or --restart with another tol) to fill them",
                    missing, out or "the sweep")
    return result


def eigen_attrs(settings: EigenSettings) -> dict[str, Any]:
    """The eigen-settings that define a Hessian surface (batch and precision: engine_ attrs)."""
    return {"quantity": "hessian", "hessian_params": settings.params, "hessian_tol": settings.tol,
            "hessian_max_iter": settings.max_iter, "hessian_seed": settings.seed}


def compute_hessian(
    cfg: HessianConfig,
    out: str | Path,
    *,
    restart: bool = False,
    progress: bool | None = None,
    flush_seconds: float = 10.0,
    on_point: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Load checkpoint, directions and data, check them all, then sweep eigenvalues into ``out``.

    Every check (settings, inputs, a partial file's identity) runs before the data is loaded.
    """
    grid, shard = cfg.validate()
    inputs = sweep_inputs(cfg, out, grid, shard, [cfg.split], hessian_quantities(cfg.split))
    model, directions, alignment = inputs.model, inputs.directions, inputs.alignment
    device = inputs.device
    attrs = {**inputs.attrs, **eigen_attrs(cfg)}
    if not restart:  # refuse another sweep's partial file before loading any data
        names = set(selected_parameters(model, cfg.params))
        size = sum(p.numel() for n, p in model.named_parameters() if n in names)
        full = sweep_attrs({**attrs, "hessian_size": size}, [cfg.split], alignment.dir_type,
                           cfg.precision, grid, shard)
        resume_state(out, full, grid, shard, restart=False)
    data, idx = load_split(cfg, cfg.split)
    resources.check_device_data("the Hessian sweep", {cfg.split: data}, device,
                                "use fewer images (--subset)")
    model.to(device)
    data = data.to(device)
    indices = ({cfg.split: idx.numpy()} if cfg.subset is not None and cfg.subset_rule == "random"
               else {})
    log.info("Hessian eigenvalues at %d points, %d images, %s, %s", len(shard.points(grid)),
             len(data), device, cfg.precision)
    return hessian_sweep(model, directions, grid, data, out, settings=cfg, split=cfg.split,
                         shard=shard, attrs={**attrs, "device": device.type},
                         subset_indices=indices, restart=restart, progress=progress,
                         flush_seconds=flush_seconds, on_point=on_point)
