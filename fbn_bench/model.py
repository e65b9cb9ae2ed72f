"""FaceBehaviorNet: a backbone plugin -> shared layers -> one head per chosen task."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .errors import FbnError
from .tasks import AUS, EXPRESSION_VOCABULARY, EXPRESSIONS, EXTRA_CLASSES, EXTRA_HEAD, MAX_INTENSITY

HEAD_SIZES = {"va": 2, "expr": len(EXPRESSIONS), "au": len(AUS), "au_int": len(AUS)}
# EXTRA_HEAD, the logits of tasks.EXTRA_CLASSES (contempt, other) beside `expr`'s 7, is a head only a model
# trained on an 8-class protocol has, so 7-class models, their checkpoints and the couplings (which read the
# 7) stay as they were. Such a model's classes travel in its state dict as a mask over the vocabulary.
CLASSES_BUFFER = "expr_classes_mask"


def state_classes(state: dict) -> tuple[str, ...]:
    """The expression classes of a checkpoint's model: the 7, then the extra classes its run trained on."""
    mask = state.get(CLASSES_BUFFER)
    return EXPRESSIONS if mask is None else tuple(c for c, m in zip(EXPRESSION_VOCABULARY, mask.tolist()) if m)


def intensities(au_int: np.ndarray) -> np.ndarray:
    """The `au_int` head's output (intensity / 5, unbounded) as AU intensities on the 0-5 scale."""
    return np.clip(au_int * MAX_INTENSITY, 0.0, MAX_INTENSITY)


BACKBONE_CONTRACT = (
    "a BackboneSpec's build must return an nn.Module with a positive int `out_features` that maps "
    "images (B, 3, H, W) to features (B, out_features)"
)


class FaceBehaviorNet(nn.Module):
    """Outputs a dict with the chosen heads: `va` (B, 2) in [-1, 1] (tanh), `expr` logits (B, 7),
    `au` logits (B, 17) and (opt-in) `au_int` (B, 17), intensity / 5 unbounded (a linear regression head:
    scoring clips 5 x it to 0-5). With `expr_classes` beyond the 7 (a run on an 8-class protocol),
    `expr_extra` logits (B, 2) of contempt and other, one softmax with `expr`'s over `expr_classes`
    (losses.expr_loss, `class_logits`). A single-task network is the same model with one head."""

    def __init__(
        self,
        backbone: nn.Module,
        tasks: tuple[str, ...],
        hidden: int = 256,
        dropout: float = 0.2,
        expr_classes: tuple[str, ...] = EXPRESSIONS,
    ):
        super().__init__()
        self.tasks = tuple(tasks)
        self.backbone = backbone
        self.shared = nn.Sequential(
            nn.Linear(backbone.out_features, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)
        )
        self.heads = nn.ModuleDict({t: nn.Linear(hidden, HEAD_SIZES[t]) for t in self.tasks})
        self.expr_classes = tuple(expr_classes) if "expr" in self.tasks else EXPRESSIONS
        if self.expr_classes != EXPRESSIONS:
            self.heads[EXTRA_HEAD] = nn.Linear(hidden, len(EXTRA_CLASSES))
            mask = torch.tensor([c in self.expr_classes for c in EXPRESSION_VOCABULARY])
            self.register_buffer(CLASSES_BUFFER, mask)
        self.channels_last = False

    def use_channels_last(self) -> FaceBehaviorNet:
        """Keep weights and activations channels-last (NHWC). On a CPU this makes batch norm, max-pooling and
        ReLU run over contiguous channels (benchmarks/test_step_speed.py measures the ratio)."""
        self.channels_last = True
        return self.to(memory_format=torch.channels_last)

    def trunk(self, images: torch.Tensor) -> torch.Tensor:
        """The backbone's output (B, out_features), the shared layer's input."""
        if self.channels_last:  # the model's layout decides, so training, scoring and predict all match
            images = images.contiguous(memory_format=torch.channels_last)
        return self.backbone(images)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The shared representation every head reads (B, hidden): what compound few-shot learners train on."""
        return self.shared(self.trunk(images))

    def heads_of(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        outputs = {t: head(features) for t, head in self.heads.items()}
        if "va" in outputs:
            outputs["va"] = torch.tanh(outputs["va"])
        return outputs

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.heads_of(self.features(images))


def check_backbone(name: str, backbone: Any, image_size: int) -> None:
    """A one-line error, instead of a torch error deep in the first step, when a backbone breaks its contract.

    One forward pass of two blank images, in eval mode without gradients and with the RNG state restored, so
    the check changes neither the weights, the batch-norm statistics nor what the run's seed produces."""
    if not isinstance(backbone, nn.Module):
        raise FbnError(f"backbone {name!r} built a {type(backbone).__name__}, not an nn.Module; {BACKBONE_CONTRACT}")
    width = getattr(backbone, "out_features", None)
    if isinstance(width, bool) or not isinstance(width, int) or width <= 0:
        raise FbnError(f"backbone {name!r} has out_features={width!r}; {BACKBONE_CONTRACT}")
    first = next(backbone.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    modes = [(module, module.training) for module in backbone.modules()]
    backbone.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            features = backbone(torch.zeros(2, 3, image_size, image_size, device=device, dtype=dtype))
    except FbnError:
        raise
    except Exception as exc:
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise FbnError(
            f"backbone {name!r} failed on 2 images of {image_size} x {image_size} "
            f"({type(exc).__name__}: {reason}); {BACKBONE_CONTRACT}"
        ) from exc
    finally:
        for module, training in modes:  # per module: a plugin may keep some layers (e.g. frozen BN) in eval
            module.training = training
    if not isinstance(features, torch.Tensor) or tuple(features.shape) != (2, width):
        is_tensor = isinstance(features, torch.Tensor)
        got = f"shape {tuple(features.shape)}" if is_tensor else f"a {type(features).__name__}"
        raise FbnError(
            f"backbone {name!r} returned {got} for 2 images of {image_size} x {image_size}, expected "
            f"shape (2, {width}); {BACKBONE_CONTRACT}"
        )


def class_logits(outputs: dict, classes: tuple[str, ...]) -> torch.Tensor | np.ndarray:
    """The expression logits (B, len(classes)) of `classes`, in their order, from a model's outputs (tensors
    or arrays): `expr`, and `expr_extra` where a class beyond the 7 is asked for."""
    logits = outputs["expr"]
    if tuple(classes) == EXPRESSIONS:
        return logits
    if EXTRA_HEAD not in outputs:
        extra = ", ".join(c for c in classes if c not in EXPRESSIONS)
        raise FbnError(
            f"the model has no logits for {extra}: it was trained on the 7 basic expressions only; train on the "
            "database's 8-class protocol (e.g. affwild2:classes=8) to predict them"
        )
    both = (torch.cat if isinstance(logits, torch.Tensor) else np.concatenate)([logits, outputs[EXTRA_HEAD]], 1)
    return both[:, [EXPRESSION_VOCABULARY.index(c) for c in classes]]


def build_model(config, registry, expr_classes: tuple[str, ...] = EXPRESSIONS) -> FaceBehaviorNet:
    """The model a RunConfig describes, with the backbone looked up in the registry and checked.
    `expr_classes`: the expression classes it predicts (beyond the 7 for a run on an 8-class protocol,
    run_datasets.run_classes; a checkpoint's: `state_classes(state)`)."""
    plugin = registry.resolve("backbones", config.backbone)  # checks the options against the spec's schema
    spec, options = plugin.spec, plugin.options
    try:
        backbone = spec.build(image_size=config.image_size, **options)
    except FbnError:
        raise
    except Exception as exc:  # e.g. vggface's "needs images of at least 32 x 32"
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise FbnError(
            f"backbone {plugin.name!r} cannot be built at {config.image_size} x {config.image_size}"
            f" ({type(exc).__name__}: {reason})"
        ) from exc
    check_backbone(spec.name, backbone, config.image_size)
    if config.weights:
        from .weights import load_weights

        load_weights(backbone, config.weights)
    model = FaceBehaviorNet(
        backbone, config.tasks, hidden=config.hidden, dropout=config.dropout, expr_classes=expr_classes
    )
    if config.channels_last:
        model.use_channels_last()
    if config.compile:
        model.backbone.compile()  # in place: the state dict keeps its keys, checkpoints stay interchangeable
    return model
