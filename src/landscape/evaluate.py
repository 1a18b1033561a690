"""Plain evaluation: mean cross-entropy and accuracy of a model over a uint8 image set."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from landscape.data import ImageSet, normalize


@torch.no_grad()
def evaluate(model: nn.Module, data: ImageSet, batch_size: int = 1024) -> tuple[float, float]:
    """(mean loss, accuracy in %) in eval mode; sums stay on the device until the end."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    for start in range(0, len(data), batch_size):
        images = data.images[start : start + batch_size].to(device, non_blocking=True)
        labels = data.labels[start : start + batch_size].to(device, non_blocking=True)
        logits = model(normalize(images)).float()
        loss_sum += F.cross_entropy(logits, labels, reduction="sum").double()
        correct += (logits.argmax(1) == labels).sum()
    model.train(was_training)
    n = len(data)
    return loss_sum.item() / n, 100.0 * correct.item() / n
