"""`vggface`: the VGG-16 convolutional layout FaceBehaviorNet used (VGG-FACE), 96 x 96 input.

Layer indices match torchvision's `vgg16().features`, so a converted VGG-FACE (or VGG-16) state dict
with keys `features.<i>.weight` / `features.<i>.bias` loads with `--weights FILE`. Nothing is downloaded:
without weights the network starts from random initialisation.
"""

from __future__ import annotations

from fbn_bench import BackboneSpec, Option, hookimpl

# Channels per conv layer, "M" for a 2x2 max-pool: the VGG-16 configuration "D".
VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def build_vggface(image_size: int, *, batch_norm: bool):
    import torch
    from torch import nn

    layers: list[nn.Module] = []
    cin = 3
    for item in VGG16_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers.append(nn.Conv2d(cin, item, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(item))
            layers.append(nn.ReLU(inplace=True))
            cin = item

    class VGGFace(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(*layers)
            side = image_size // 32
            if side < 1:
                raise ValueError("vggface needs images of at least 32 x 32")
            # The paper flattens the last conv maps into its fully connected layers.
            self.out_features = 512 * side * side

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.features(x).flatten(1)

    model = VGGFace()
    # He initialisation for ReLU nets, as torchvision's VGG: with PyTorch's default init the 13 plain conv
    # layers shrink the signal so much that every face starts with the same features and training from
    # scratch barely moves (without --weights, that is what the paper preset does).
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    return model


@hookimpl
def register_backbones(register):
    register(
        BackboneSpec(
            "vggface",
            build_vggface,
            default_image_size=96,
            description="VGG-16 conv layers as in FaceBehaviorNet; --weights loads a local VGG-FACE state dict",
            options=(Option("batch_norm", bool, False, help="add batch norm after each conv (VGG-FACE has none)"),),
        )
    )
