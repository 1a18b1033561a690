"""VGG-9 of the paper's batch-size experiments (Fig. 2, 3): 7 conv+BN+ReLU, 3 max-pools, 2 FC.

Module names match the reference implementation (``features``, ``fc``, ``classifier``), so
the authors' released VGG-9 state dicts load unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

VGG9_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M")


class VGG(nn.Module):
    """Conv3x3(bias)+BN+ReLU per number in ``layout``, 2x2 max-pool per "M"; two FC layers."""

    def __init__(self, layout: tuple[int | str, ...] = VGG9_LAYOUT, num_classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels, size = 3, 32
        for item in layout:
            if item == "M":
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
                size = -(-size // 2)  # ceil mode
            else:
                layers += [
                    nn.Conv2d(in_channels, item, 3, padding=1),
                    nn.BatchNorm2d(item),
                    nn.ReLU(inplace=True),
                ]
                in_channels = item
        self.features = nn.Sequential(*layers)
        # The hidden FC layer is as wide as the last conv layer (256 for VGG-9).
        self.fc = nn.Sequential(
            nn.Linear(in_channels * size * size, in_channels),
            nn.BatchNorm1d(in_channels),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.features(x).flatten(1)  # [N, 256, 4, 4] -> [N, 4096]
        return self.classifier(self.fc(out))
