"""DenseNet-121 for CIFAR-10 (Huang et al. 2017) as the paper's reference builds it (Fig. 4).

Growth rate k = 32. A 3x3 stem conv gives 2k channels; four dense blocks of 6, 12, 24 and 16
bottleneck layers each add k channels per layer; a transition after each of the first three
halves the channels (1x1 conv) and the resolution (2x2 average pool); a final BN+ReLU, global
average pool and Linear classify. Layers are pre-activation (BN+ReLU *before* each conv), and
a layer's new channels are concatenated in front of its input. 6,956,298 parameters; module
names match the reference, so its released state dicts load unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

DENSENET121_BLOCKS = (6, 12, 24, 16)


class Bottleneck(nn.Module):
    """BN-ReLU-conv1x1 (4k channels), BN-ReLU-conv3x3 (k channels), then [new, input]."""

    def __init__(self, in_planes: int, growth_rate: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, 4 * growth_rate, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * growth_rate)
        self.conv2 = nn.Conv2d(4 * growth_rate, growth_rate, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.bn1(x)))  # [N, 4k, H, W]
        out = self.conv2(F.relu(self.bn2(out)))  # [N, k, H, W]
        return torch.cat([out, x], 1)  # [N, k + C, H, W]: new channels first, as the reference


class Transition(nn.Module):
    """BN-ReLU-conv1x1 to ``out_planes`` channels, then 2x2 average pool (half the size)."""

    def __init__(self, in_planes: int, out_planes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(in_planes)
        self.conv = nn.Conv2d(in_planes, out_planes, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class DenseNet(nn.Module):
    """Stem conv, four dense blocks (``blocks`` layers each) joined by three transitions."""

    def __init__(
        self,
        blocks: tuple[int, int, int, int] = DENSENET121_BLOCKS,
        growth_rate: int = 32,
        reduction: float = 0.5,  # a transition keeps this share of its input channels
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        self.growth_rate, self.reduction = growth_rate, reduction
        planes = 2 * growth_rate
        # Assigned in the reference's order, which is the order of the state dict's keys.
        self.conv1 = nn.Conv2d(3, planes, 3, padding=1, bias=False)
        self.dense1, planes = self._dense_block(planes, blocks[0])
        self.trans1, planes = self._transition(planes)
        self.dense2, planes = self._dense_block(planes, blocks[1])
        self.trans2, planes = self._transition(planes)
        self.dense3, planes = self._dense_block(planes, blocks[2])
        self.trans3, planes = self._transition(planes)
        self.dense4, planes = self._dense_block(planes, blocks[3])
        self.bn = nn.BatchNorm2d(planes)
        self.linear = nn.Linear(planes, num_classes)

    def _dense_block(self, planes: int, layers: int) -> tuple[nn.Sequential, int]:
        """``layers`` bottlenecks, each adding ``growth_rate`` channels; and the channels out."""
        k = self.growth_rate
        block = nn.Sequential(*(Bottleneck(planes + i * k, k) for i in range(layers)))
        return block, planes + layers * k

    def _transition(self, planes: int) -> tuple[Transition, int]:
        out_planes = int(planes * self.reduction)  # floor, as the reference
        return Transition(planes, out_planes), out_planes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)  # [N, 64, 32, 32]
        out = self.trans1(self.dense1(out))  # [N, 256, 32, 32] -> [N, 128, 16, 16]
        out = self.trans2(self.dense2(out))  # [N, 512, 16, 16] -> [N, 256, 8, 8]
        out = self.trans3(self.dense3(out))  # [N, 1024, 8, 8] -> [N, 512, 4, 4]
        out = F.relu(self.bn(self.dense4(out)))  # [N, 1024, 4, 4]
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)  # [N, 1024]
        return self.linear(out)
