"""The Python API's curvature maps (paper Fig. 7) for any model and loss.

>>> hess = landscape.curvature(model, (X, y), x="-1:1:11", y="-1:1:11")   # doctest: +SKIP
>>> landscape.plot(hess, out="fig7.png")      # lambda_max, lambda_min, |lambda_min/lambda_max|

The ``hessian`` stage's own sweep (``landscape.hessian.hessian_sweep``): Lanczos on
Hessian-vector products of the mean loss at every grid point, in eval mode, over the
parameters with 2 or more dimensions by default. docs/curvature.md has the method and cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from landscape.api import _as_directions, _check_choice, _name, _restored
from landscape.choices import IGNORES, NORMS
from landscape.configs import EigenSettings
from landscape.data import ImageSet
from landscape.directions import Directions, random_directions
from landscape.errors import LandscapeError
from landscape.evaluate import LossFn, model_device
from landscape.grid import Grid
from landscape.hessian import hessian_sweep
from landscape.surface_file import Surface, write_surface


def curvature(
    model: nn.Module,
    data: Any,
    x: str = "-1:1:11",
    y: str | None = "-1:1:11",
    *,
    directions: Directions | Sequence[Any] | None = None,
    loss_fn: LossFn | None = None,
    seed: int = 0,
    norm: str = "filter",
    ignore: str = "biasbn",
    params: str = "matrices",
    tol: float = 1e-2,
    max_iter: int = 100,
    lanczos_seed: int = 0,
    batch_size: int | None = None,
    precision: str = "fp32",
    device: str | torch.device | None = None,
    out: str | Path | None = None,
    progress: bool | None = None,
) -> Surface:
    """lambda_max and lambda_min of the mean loss's Hessian at every grid point.

    - ``data``: an ``(inputs, targets)`` pair of tensors (or arrays) or an ``ImageSet``; it is
      held on the device for the whole sweep (each point takes many passes over it).
    - ``x``, ``y``, ``directions``, ``seed``, ``norm``, ``ignore``, ``loss_fn``: as
      ``loss_surface`` (directions over every parameter of ``model``, in model order).
    - ``params``: ``matrices`` (parameters of 2 or more dimensions, the paper's) or ``all``.
    - ``tol``, ``max_iter``, ``lanczos_seed``: Lanczos' relative tolerance, most products per
      point (an end not converged is NaN, with a warning) and start vector.
    - ``precision``: ``fp32`` or ``tf32`` (CUDA).

    Returns a ``Surface`` with ``max_eig``, ``min_eig``, ``train_loss``, ``train_acc`` and
    ``hvp_count`` per point; ``surface.get("eig_ratio")`` is ``|min_eig / max_eig|``.
    ``landscape.plot`` draws the three maps. Cost per point: ``hvp_count`` Hessian-vector
    products, each about 3-4 forward passes' work over the data.
    """
    grid = Grid.parse(x, y)
    _check_choice("norm", norm, NORMS)
    _check_choice("ignore", ignore, IGNORES)
    settings = EigenSettings(params=params, tol=tol, max_iter=max_iter,
                             batch_size=batch_size, precision=precision, seed=lanczos_seed)
    settings.validate_eigen()
    images = _image_set(data)
    attrs = {"model_class": type(model).__name__, "loss_fn": _name(loss_fn)}
    if directions is None:
        directions = random_directions(model, axes=grid.ndim, norm=norm, ignore=ignore,
                                       seed=seed)
        attrs.update(norm=norm, ignore=ignore, seed=seed)
    else:
        directions = _as_directions(directions)
    target = torch.device(device) if device is not None else model_device(model)
    with _restored(model, target):
        result = hessian_sweep(model, directions, grid, images.to(target), settings=settings,
                               attrs={**attrs, "device": target.type}, progress=progress,
                               loss_fn=loss_fn)
    surface = result.surface
    if np.isnan(surface.values["train_acc"]).all():  # targets that are no class indices
        del surface.values["train_acc"]
    if out is not None:
        surface.path = write_surface(out, surface, keep_mask=False)
    return surface


def _image_set(data: Any) -> ImageSet:
    if isinstance(data, ImageSet):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        inputs, targets = (torch.as_tensor(t) for t in data)
        if len(inputs) != len(targets):
            raise LandscapeError(f"inputs hold {len(inputs)} samples but targets {len(targets)}")
        return ImageSet(inputs, targets)
    raise LandscapeError("curvature needs its data as an (inputs, targets) pair of tensors or "
                         "an ImageSet (each point takes many passes over it)")
