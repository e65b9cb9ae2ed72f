"""`timm:<model>`: any timm model as a backbone, when the optional `timm` extra is installed.

Models are built with `pretrained=False`: fbn-bench never downloads weights. Pass `--weights FILE` for a
local checkpoint.
"""

from __future__ import annotations

from fbn_bench import BackboneSpec, FbnError, Option, hookimpl


def build_timm(image_size: int, *, model: str | None, **kwargs):
    """Options other than `model` (drop_rate=0.1, ...) go to timm.create_model as the user wrote them."""
    try:
        import timm
    except ImportError:
        raise FbnError("the timm backbone needs the timm package: pip install 'fbn-bench[timm]'") from None
    if not model:
        raise FbnError("name the timm model: --backbone timm:<model>, e.g. timm:resnet18")
    try:
        net = timm.create_model(model, pretrained=False, num_classes=0, **kwargs)
    except RuntimeError as exc:  # timm's "Unknown model"
        raise FbnError(f"timm has no model {model!r} ({exc}); list them with timm.list_models()") from None
    net.out_features = net.num_features
    return net


@hookimpl
def register_backbones(register):
    register(
        BackboneSpec(
            "timm",
            build_timm,
            positional_option="model",
            description="any timm model, e.g. timm:resnet18 (needs the 'timm' extra; no download)",
            options=(Option("model", str, None, help="the timm model name, e.g. resnet18"),),
        )
    )
