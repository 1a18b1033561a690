"""VGG-9 of the paper's batch-size experiments (Fig. 2, 3): 7 conv+BN+ReLU, 3 max-pools, 2 FC."""

from __future__ import annotations

import torch
from torch import nn

VGG9_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M")


class VGG(nn.Module):
    def __init__(self, layout: tuple = VGG9_LAYOUT, num_classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for item in layout:
            if item == "M":
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
            else:
                layers += [
                    nn.Conv2d(in_channels, item, 3, padding=1),
                    nn.BatchNorm2d(item),
                    nn.ReLU(inplace=True),
                ]
                in_channels = item
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(in_channels * 4 * 4, 256),  # 32 px halved three times -> 4 x 4
            nn.BatchNorm1d(256),
            nn.ReLU(inplace=True),
            nn.Linear(256, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))
