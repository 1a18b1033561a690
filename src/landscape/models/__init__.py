"""``get_model(name)``: the paper's CIFAR-10 networks by their reference names."""

from __future__ import annotations

import re
from collections.abc import Callable

import torch
from torch import nn

from landscape.choices import MODEL_NAMES
from landscape.errors import LandscapeError
from landscape.models.densenet import DenseNet
from landscape.models.resnet import ResNet
from landscape.models.vgg import VGG


def _builder(name: str) -> Callable[[], nn.Module]:
    """``vgg9``, ``densenet121``, ``resnet<depth>`` or ``wrn<depth>_<width>`` (+ ``_noshort``)."""
    fixed = {"vgg9": VGG, "densenet121": DenseNet}
    if name in fixed:
        return fixed[name]
    match = re.fullmatch(r"(?:resnet(\d+)|wrn(\d+)_(\d+))(_noshort)?", name)
    assert match, name
    depth, width = int(match[1] or match[2]), int(match[3] or 1)
    assert (depth - 2) % 6 == 0, name
    return lambda: ResNet((depth - 2) // 6, width=width, shortcut=match[4] is None)


MODELS: dict[str, Callable[[], nn.Module]] = {name: _builder(name) for name in MODEL_NAMES}


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
