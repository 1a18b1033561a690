"""Precision policy: what ``fp32``, ``tf32``, ``bf16`` and ``auto`` mean on each device.

- ``fp32``: IEEE float32 everywhere. On CUDA this switches cuDNN convolutions *off* TF32
  (PyTorch's default runs them in TF32), so ``fp32`` really is float32.
- ``tf32``: float32 tensors, convolutions and matrix products in TensorFloat-32 (CUDA,
  Ampere and later). CPUs have no TF32 unit, so on CPU ``tf32`` runs as ``fp32``.
- ``bf16``: autocast to bfloat16 (convolutions and matrix products in bf16, losses summed in
  float32/float64). On CPUs without native bf16 it is emulated and slow.
- ``auto`` (sweeps): the fastest mode of the device whose loss stays within
  ``ERROR_BOUND`` (relative) of a float64 evaluation on a probe: a few hundred images at
  the current weights (the sweep's centre) and at a random filter-normalized corner
  ``theta + dx + dy``. A mode passes when its probe error is under half the bound (the
  probe is a sample; the margin covers the rest of the grid). Candidates are tried fastest
  first; ``fp32`` is the last resort.
  The choice depends only on the device and the data, never on timings, so reruns agree.

The numbers behind the candidate order and the bound are in docs/speed.md.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from landscape.choices import PRECISIONS
from landscape.data import ImageSet
from landscape.errors import LandscapeError
from landscape.evaluate import LossFn, evaluate

ERROR_BOUND = 1e-3
PROBE_MARGIN = 0.5  # the probe sees 2 points and a few hundred images; the sweep sees more
PROBE_IMAGES = 512
PROBE_SEED = 1712_09913  # the paper's arXiv number: a fixed corner, independent of the sweep's


def check_precision(name: str) -> str:
    """Return ``name`` if it is a known precision mode, else raise naming the valid ones."""
    if name not in PRECISIONS:
        raise LandscapeError(f"unknown precision {name!r}; valid: {', '.join(PRECISIONS)}")
    return name


def cpu_has_native_bf16() -> bool:
    """True when oneDNN runs bf16 natively here (AVX512-BF16 or AMX), not by emulation."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def effective(name: str, device: torch.device) -> str:
    """The mode that actually runs: ``tf32`` on a CPU is ``fp32``; ``auto`` is not resolved here.

    Names are checked where they enter (a config's ``validate``, the engine); besides the
    user-facing modes, ``fp64`` is what a float64 model runs in (no switches, no autocast).
    """
    if name == "tf32" and device.type != "cuda":
        return "fp32"
    return name


def candidates(device: torch.device) -> list[str]:
    """Concrete modes for ``auto``, fastest first on this device type (measured, docs/speed.md)."""
    if device.type == "cuda":
        return ["bf16", "tf32", "fp32"]
    if device.type == "cpu" and cpu_has_native_bf16():
        return ["bf16", "fp32"]
    return ["fp32"]


def training_precision(name: str, device: torch.device) -> str:
    """Training's ``auto``: TF32 on CUDA (PyTorch's own default for convolutions), else fp32."""
    check_precision(name)
    if name == "auto":
        return "tf32" if device.type == "cuda" else "fp32"
    return effective(name, device)


@contextlib.contextmanager
def precision_context(name: str, device: torch.device) -> Iterator[None]:
    """Run the enclosed forward passes in mode ``name`` (concrete, not ``auto``) on ``device``.

    Both the matmul switches (``flags_context``) and bf16 autocast (``autocast_context``).
    On a CPU ``fp32``/``tf32`` change nothing: the plain path runs unchanged.
    """
    with flags_context(name, device), autocast_context(name, device):
        yield


@contextlib.contextmanager
def flags_context(name: str, device: torch.device) -> Iterator[None]:
    """CUDA's process-wide TF32 switches for mode ``name``, set on entry and restored on exit.

    ``bf16`` lets TF32 run what autocast leaves in float32. Backward passes belong inside
    this context but outside ``autocast_context``.
    """
    name = _concrete(name, device)
    if device.type != "cuda":
        yield
        return
    with _cuda_fp32_precision("ieee" if name in ("fp32", "fp64") else "tf32"):
        yield


def autocast_context(name: str, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast for mode ``bf16``, nothing otherwise."""
    if _concrete(name, device) == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _concrete(name: str, device: torch.device) -> str:
    name = effective(name, device)
    if name == "auto":
        raise ValueError("resolve precision 'auto' before running in it")
    return name


@contextlib.contextmanager
def cudnn_benchmark(on: bool) -> Iterator[None]:
    """cuDNN's algorithm search on for the enclosed block (fixed shapes: it pays off)."""
    saved = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = saved or on
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = saved


@contextlib.contextmanager
def _cuda_fp32_precision(value: str) -> Iterator[None]:
    conv, matmul = torch.backends.cudnn.conv, torch.backends.cuda.matmul
    saved = (conv.fp32_precision, matmul.fp32_precision)
    conv.fp32_precision = matmul.fp32_precision = value
    try:
        yield
    finally:
        conv.fp32_precision, matmul.fp32_precision = saved


# ------------------------------------------------------------------- float64 ground truth


def evaluate_float64(model: nn.Module, data: ImageSet, batch_size: int = 256,
                     loss_fn: LossFn | None = None) -> tuple[float, float]:
    """(mean loss, accuracy %) of a float64 copy of ``model`` in eval mode: the reference value."""
    return evaluate(copy.deepcopy(model).double(), data, batch_size, loss_fn=loss_fn)


def relative_error(value: float, reference: float) -> float:
    """|value - reference| / |reference| (absolute error when the reference is 0)."""
    return abs(value - reference) / (abs(reference) if reference != 0 else 1.0)


def corner_model(model: nn.Module, seed: int = PROBE_SEED) -> nn.Module:
    """A copy of ``model`` at the grid corner ``theta + dx + dy`` of the paper's random directions."""
    from landscape.directions import random_directions  # the directions module is heavier

    dirs = random_directions(model, axes=2, seed=seed)
    twin = copy.deepcopy(model)
    with torch.no_grad():
        for p, x, y in zip(twin.parameters(), dirs.x, dirs.y):
            p.add_(x.to(p.device, p.dtype)).add_(y.to(p.device, p.dtype))
    return twin


# ------------------------------------------------------------------------------- the choice


@dataclass
class PrecisionChoice:
    """What ``auto`` decided and why: the errors it measured, per mode and probe point."""

    name: str
    bound: float
    errors: dict[str, dict[str, float]] = field(default_factory=dict)

    def max_error(self, mode: str | None = None) -> float | None:
        """The largest probe error of ``mode`` (default: the chosen one); None if not probed."""
        errors = self.errors.get(mode or self.name)
        return max(errors.values()) if errors else None


Measure = Callable[[nn.Module, ImageSet, str], float]


def choose(
    model: nn.Module,
    data: ImageSet,
    measure: Measure,
    *,
    bound: float = ERROR_BOUND,
    margin: float = PROBE_MARGIN,
    probe_images: int = PROBE_IMAGES,
    device: torch.device | None = None,
    loss_fn: LossFn | None = None,
) -> PrecisionChoice:
    """Pick the fastest candidate whose probe loss is within ``margin * bound`` of float64.

    ``measure(model, probe, mode)`` returns the mean loss of ``model`` on ``probe`` in
    ``mode`` (the engine passes its own evaluator, so the probe runs the fast path itself).
    Where the device offers a single mode there is nothing to choose: no probe runs (its
    float64 evaluations cost seconds on a CPU) and ``errors`` stays empty.
    """
    device = device or next(model.parameters()).device
    modes = candidates(device)
    choice = PrecisionChoice(name=modes[-1], bound=bound)
    if len(modes) == 1:
        return choice
    probe = replace(data, images=data.images[:probe_images], labels=data.labels[:probe_images])
    points = {"centre": model, "corner": corner_model(model)}
    truth = {key: evaluate_float64(net, probe, loss_fn=loss_fn)[0] for key, net in points.items()}
    for mode in modes:
        choice.errors[mode] = {
            key: relative_error(measure(net, probe, mode), truth[key]) for key, net in points.items()
        }
        if max(choice.errors[mode].values()) < margin * bound:
            choice.name = mode
            break
    return choice


# ---------------------------------------------------------------------- the error table

TABLE_POINTS = ((0.0, 0.0), (-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0))


def precision_table(model: nn.Module, data: ImageSet, dirs: Any, device: torch.device
                    ) -> dict[str, dict[str, float]]:
    """Relative loss error of each mode against float64 at the centre and the four corners.

    Eager evaluators (the error of a compiled one is the same up to rounding order).
    """
    from landscape.directions import align
    from landscape.engine import make_evaluator  # the engine builds on this module
    from landscape.surface import Mover

    net = copy.deepcopy(model).to(device).eval()
    on_device = data.to(device)
    mover = Mover(align(dirs, net))
    modes = ["fp32", "bf16"] + (["tf32"] if device.type == "cuda" else [])
    evaluators = {mode: make_evaluator(net, on_device, precision=mode) for mode in modes}
    table: dict[str, dict[str, float]] = {mode: {} for mode in modes}
    for a, b in TABLE_POINTS:
        mover.move((a, b))
        truth = evaluate_float64(net, on_device)[0]
        for mode, evaluator in evaluators.items():
            table[mode][f"({a:g}, {b:g})"] = relative_error(evaluator()[0], truth)
    return table
