"""Plain evaluation: mean loss and accuracy of a model over a data set, in eval mode.

One loop serves the plain path of every stage (training's per-epoch test, sweeps without the
engine, the float64 ground truth of the precision policy, the Python API on data given as
batches); ``batch_sums`` is the per-batch arithmetic the fast engine shares with it, so the
two compute the same function.

Inputs: uint8 images are normalized (``landscape.data.normalize``: with an ``ImageSet``'s own
mean and std, else the paper's CIFAR-10 constants); inputs of any other dtype are taken as
already preprocessed and only cast to the model's floating dtype. The loss is the mean cross-entropy unless a ``loss_fn(outputs, targets)``
returning a batch's mean loss is given; accuracy (percent) is reported when the targets are
class indices of 2-D outputs, else NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from landscape.data import ImageSet, model_inputs
from landscape.errors import LandscapeError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Batches = ImageSet | Iterable[tuple[torch.Tensor, torch.Tensor]]


def floating_dtype(model: nn.Module) -> torch.dtype:
    """The dtype of the model's floating parameters (float32 for a model without any)."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def model_device(model: nn.Module) -> torch.device:
    tensors = [*model.parameters(), *model.buffers()]
    return tensors[0].device if tensors else torch.device("cpu")


def batch_sums(outputs: torch.Tensor, targets: torch.Tensor, loss_fn: LossFn | None = None
               ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(sum of the batch's losses in float64, number of correct predictions or None).

    Cross-entropy is summed in the outputs' precision (float32 for bf16/half outputs); a
    ``loss_fn`` gives the batch mean, weighted by the batch size. ``None`` for accuracy when
    the targets are not class indices of 2-D outputs.
    """
    if outputs.dtype in (torch.float16, torch.bfloat16):
        outputs = outputs.float()
    n = targets.shape[0]
    if loss_fn is None:
        loss = F.cross_entropy(outputs, targets, reduction="sum").double()
    else:
        loss = torch.as_tensor(loss_fn(outputs, targets)).double() * n
    if outputs.dim() == 2 and not targets.is_floating_point() and targets.dim() == 1:
        return loss, (outputs.argmax(1) == targets).sum()
    return loss, None


@torch.no_grad()
def evaluate(model: nn.Module, data: Batches, batch_size: int = 1024, *,
             loss_fn: LossFn | None = None) -> tuple[float, float]:
    """(mean loss, accuracy in %) in eval mode; sums stay on the device until the end.

    ``data`` is an ``ImageSet`` (read in slices of ``batch_size``) or any iterable of
    ``(inputs, targets)`` batches, such as a ``DataLoader``. The model's mode is restored.
    """
    was_training = model.training
    model.eval()
    device, dtype = model_device(model), floating_dtype(model)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    n, classified = 0, True
    prepare = data.inputs if isinstance(data, ImageSet) else model_inputs  # its own mean, std
    try:
        for inputs, targets in _batches(data, batch_size):
            inputs = prepare(inputs.to(device, non_blocking=True), dtype)
            targets = targets.to(device, non_blocking=True)
            loss, right = batch_sums(model(inputs), targets, loss_fn)
            loss_sum += loss
            if right is None:
                classified = False
            else:
                correct += right
            n += targets.shape[0]
    finally:
        model.train(was_training)
    if n == 0:
        raise LandscapeError("cannot evaluate on an empty data set")
    accuracy = 100.0 * correct.item() / n if classified else float("nan")
    return loss_sum.item() / n, accuracy


def _batches(data: Batches, batch_size: int):
    if isinstance(data, ImageSet):
        for start in range(0, len(data), batch_size):
            yield data.images[start : start + batch_size], data.labels[start : start + batch_size]
    else:
        yield from data
