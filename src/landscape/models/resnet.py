"""CIFAR ResNets (He et al. 2016) as the paper's reference implementation builds them.

Post-activation basic blocks; the shortcut is a 1x1 conv + BN projection where the shape
changes. ``shortcut=False`` gives the paper's plain ("noshort") networks. Module names match
the reference, so its released state dicts load unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    """relu(bn1(conv1 x)) -> bn2(conv2 .) (+ shortcut x) -> relu."""

    def __init__(self, in_planes: int, planes: int, stride: int, shortcut: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.use_shortcut = shortcut
        self.shortcut = nn.Sequential()
        if shortcut and (stride != 1 or in_planes != planes):
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.use_shortcut:
            out = out + self.shortcut(x)
        return F.relu(out)


class ResNet(nn.Module):
    """Stem conv, three stages of ``blocks`` basic blocks (strides 1/2/2), pool, linear."""

    def __init__(
        self, blocks: int, width: int = 1, shortcut: bool = True, num_classes: int = 10
    ) -> None:
        super().__init__()
        widths = (16 * width, 32 * width, 64 * width)
        self.conv1 = nn.Conv2d(3, widths[0], 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        in_planes = widths[0]
        stages = []
        for planes, stride in zip(widths, (1, 2, 2)):
            layer = []
            for k in range(blocks):
                layer.append(BasicBlock(in_planes, planes, stride if k == 0 else 1, shortcut))
                in_planes = planes
            stages.append(nn.Sequential(*layer))
        self.layer1, self.layer2, self.layer3 = stages
        self.linear = nn.Linear(widths[2], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))  # [N, 16w, 32, 32]
        out = self.layer3(self.layer2(self.layer1(out)))  # [N, 64w, 8, 8]
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)  # [N, 64w]
        return self.linear(out)
