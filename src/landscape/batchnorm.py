"""BatchNorm-recomputed sweeps: at each point the running statistics are re-estimated first.

A surface normally evaluates every point in eval mode with the running statistics of the
origin (the paper's choice). With ``bn="recompute"`` (``landscape surface --bn recompute``,
``loss_surface(..., bn="recompute")``) each point first resets every BatchNorm's running mean
and variance and re-estimates them in one train-mode pass over the data, as a cumulative
average over the batches (``momentum=None``, what ``torch.optim.swa_utils.update_bn`` does:
each batch weighs the same), then measures the loss in eval mode with them. The weights are
those of the point; only the statistics change, and the model's own come back afterwards.

The pass reads the first split evaluated (``train`` when it is evaluated) in batches of
``batch_size`` images (``BN_BATCH`` when none is given, so the numbers do not depend on what
the engine picks); every split is then measured with those statistics. Cost: one forward pass
over that split per point on top of the evaluation (docs/landscapes.md measures it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from landscape.data import model_inputs
from landscape.evaluate import Batches, _batches, floating_dtype, model_device

Measure = Callable[[], Mapping[str, float]]  # as landscape.surface's
BN_BATCH = 1024  # images per train-mode pass when no batch size is given


def batchnorms(model: nn.Module) -> list[_BatchNorm]:
    """The model's BatchNorm layers that keep running statistics."""
    return [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


@torch.no_grad()
def recompute(model: nn.Module, data: Batches, batch_size: int | None = None) -> None:
    """Re-estimate every BatchNorm's running statistics on ``data`` at the current weights.

    Reset, ``momentum=None`` (a cumulative average over the batches), one train-mode pass;
    the model is left in eval mode with the new statistics and its momenta as before.

    On a CPU the pass runs with one intra-op thread, as each of the engine's streams does:
    train-mode BatchNorm's parallel regions measured 3 times slower with 2 threads for a
    resnet20 and over 100 times slower for a small MLP on a 2-core machine under load (the
    batches cannot be split into streams: they update the same running averages in order).
    """
    layers = batchnorms(model)
    if not layers:
        return
    momenta = [bn.momentum for bn in layers]
    device, dtype = model_device(model), floating_dtype(model)
    threads = torch.get_num_threads()
    try:
        for bn in layers:
            bn.reset_running_stats()
            bn.momentum = None
        model.train()
        if device.type == "cpu":
            torch.set_num_threads(1)  # see below
        for inputs, _ in _batches(data, batch_size or BN_BATCH):
            model(model_inputs(inputs.to(device, non_blocking=True), dtype))
    finally:
        torch.set_num_threads(threads)
        for bn, momentum in zip(layers, momenta):
            bn.momentum = momentum
        model.eval()


def recomputing(model: nn.Module, data: Batches, measure: Measure,
                batch_size: int | None = None) -> Measure:
    """``measure`` after re-estimating the BatchNorm statistics on ``data`` at each point."""

    def measured() -> dict[str, float]:
        recompute(model, data, batch_size)
        return dict(measure())

    return measured


@contextlib.contextmanager
def statistics_kept(model: nn.Module) -> Iterator[None]:
    """Run the block; the BatchNorm running statistics (and counters) come back afterwards."""
    layers = batchnorms(model)
    saved = [[b.detach().clone() for b in bn.buffers()] for bn in layers]
    try:
        yield
    finally:
        with torch.no_grad():
            for bn, buffers in zip(layers, saved):
                for live, kept in zip(bn.buffers(), buffers):
                    live.copy_(kept)
