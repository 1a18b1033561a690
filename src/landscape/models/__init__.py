"""``get_model(name)``: the paper's CIFAR-10 networks by their reference names."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from landscape.errors import LandscapeError
from landscape.models.resnet import ResNet
from landscape.models.vgg import VGG


def _resnet(depth: int, width: int = 1, shortcut: bool = True) -> Callable[[], nn.Module]:
    assert (depth - 2) % 6 == 0
    return lambda: ResNet((depth - 2) // 6, width=width, shortcut=shortcut)


MODELS: dict[str, Callable[[], nn.Module]] = {
    **{f"resnet{d}": _resnet(d) for d in (20, 56, 110)},
    **{f"resnet{d}_noshort": _resnet(d, shortcut=False) for d in (20, 56, 110)},
    **{f"wrn56_{k}": _resnet(56, width=k) for k in (2, 4, 8)},
    **{f"wrn56_{k}_noshort": _resnet(56, width=k, shortcut=False) for k in (2, 4, 8)},
    "vgg9": VGG,
}


def model_names() -> list[str]:
    return list(MODELS)


def get_model(name: str, seed: int | None = None) -> nn.Module:
    """Build model ``name`` with the reference initialization (seeded when ``seed`` is given)."""
    if name not in MODELS:
        raise LandscapeError(f"unknown model {name!r}; valid: {', '.join(MODELS)}")
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        model = MODELS[name]()
        init_weights(model)
    return model


def init_weights(model: nn.Module) -> None:
    """Conv kaiming-normal (fan_in), BN weight 1 / bias 0, Linear normal(std 1e-3) / bias 0."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_in")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=1e-3)
            nn.init.zeros_(module.bias)


def num_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
