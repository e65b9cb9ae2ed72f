"""FaceBehaviorNet: a backbone plugin -> shared layers -> one head per chosen task."""

from __future__ import annotations

import torch
from torch import nn

from .tasks import AUS, EXPRESSIONS

HEAD_SIZES = {"va": 2, "expr": len(EXPRESSIONS), "au": len(AUS)}


class FaceBehaviorNet(nn.Module):
    """Outputs a dict with the chosen heads: `va` (B, 2) in [-1, 1] (tanh), `expr` logits (B, 7) and
    `au` logits (B, 17). A single-task network is the same model with one head."""

    def __init__(self, backbone: nn.Module, tasks: tuple[str, ...], hidden: int = 256, dropout: float = 0.2):
        super().__init__()
        self.tasks = tuple(tasks)
        self.backbone = backbone
        self.shared = nn.Sequential(nn.Linear(backbone.out_features, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout))
        self.heads = nn.ModuleDict({t: nn.Linear(hidden, HEAD_SIZES[t]) for t in self.tasks})

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.shared(self.backbone(images))
        outputs = {t: head(features) for t, head in self.heads.items()}
        if "va" in outputs:
            outputs["va"] = torch.tanh(outputs["va"])
        return outputs


def build_model(config, registry) -> FaceBehaviorNet:
    """The model a RunConfig describes, with the backbone looked up in the registry."""
    spec, options = registry.resolve("backbones", config.backbone)
    backbone = spec.build(image_size=config.image_size, **options)
    if config.weights:
        from .weights import load_weights

        load_weights(backbone, config.weights)
    return FaceBehaviorNet(backbone, config.tasks, hidden=config.hidden, dropout=config.dropout)
