"""`small`: a compact CNN, the CPU default. Strided stem, four conv blocks, global average pooling."""

from __future__ import annotations

from fbn_bench import BackboneSpec, Option, hookimpl


def _block(cin: int, cout: int):
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def build_small(image_size: int, *, width: int):
    import torch
    from torch import nn

    class SmallCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            w = width
            # A stride-2 stem: 64 x 64 faces carry little detail below 2 px, and it quarters the cost.
            self.stem = nn.Sequential(
                nn.Conv2d(3, w, 5, stride=2, padding=2, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)
            )
            self.blocks = nn.Sequential(
                _block(w, w),
                nn.MaxPool2d(2),
                _block(w, 2 * w),
                nn.MaxPool2d(2),
                _block(2 * w, 4 * w),
                nn.MaxPool2d(2),
                _block(4 * w, 8 * w),
            )
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.out_features = 8 * w

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.pool(self.blocks(self.stem(x))).flatten(1)

    model = SmallCNN()
    return model


@hookimpl
def register_backbones(register):
    register(
        BackboneSpec(
            "small",
            build_small,
            description="compact CNN (8 conv layers, strided stem), the CPU default",
            default_image_size=64,
            options=(Option("width", int, 32, low=1, help="channels of the first block"),),
        )
    )
