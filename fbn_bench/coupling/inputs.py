"""What every coupling reads from the model outputs and the batch, and the options every coupling has.

Third-party coupling plugins can use these too (see docs/coupling.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..errors import FbnError
from ..options import Option
from ..tasks import AUS, EXPRESSIONS

STOP_GRADIENT_CHOICES = ("none", "expr", "au")


def common_options(weight: float = 1.0, weight_help: str = "multiplies every term of this coupling") -> tuple:
    """The options every coupling takes: `weight` (its default may differ per coupling) and `stop_gradient`."""
    return (
        Option("weight", float, weight, low=0.0, help=weight_help),
        Option(
            "stop_gradient",
            str,
            "none",
            choices=STOP_GRADIENT_CHOICES,
            help="this coupling sends no gradient into that head (none: into both)",
        ),
    )


@dataclass(frozen=True)
class CouplingInputs:
    expr_logits: torch.Tensor  # (B, 7) float32
    au_logits: torch.Tensor  # (B, 17) float32
    expr: torch.Tensor  # (B,) int64 into tasks.EXPRESSIONS, -1 where missing or of an extra class
    au: torch.Tensor  # (B, 17) float32, 0 where missing
    au_mask: torch.Tensor  # (B, 17) bool, True where annotated
    R: torch.Tensor  # (7, 17) float32 on the logits' device


def coupling_inputs(
    outputs: dict[str, torch.Tensor], batch: dict[str, Any], relatedness: torch.Tensor, stop_gradient: str = "none"
) -> CouplingInputs:
    """Heads as float32 (detached where `stop_gradient` says), labels on the same device.

    Missing label keys count as "nothing labelled" (a batch drawn from VA-only data, say).
    """
    expr_logits = outputs["expr"].float()
    au_logits = outputs["au"].float()
    if stop_gradient == "expr":
        expr_logits = expr_logits.detach()
    elif stop_gradient == "au":
        au_logits = au_logits.detach()
    device, n = au_logits.device, au_logits.shape[0]
    expr = batch.get("expr")
    expr = torch.full((n,), -1, dtype=torch.int64, device=device) if expr is None else expr.to(device, torch.int64)
    # Relatedness covers the 7 basic expressions: a label of an extra class (contempt, other) is none to a coupling.
    expr = torch.where(expr < len(EXPRESSIONS), expr, -1)
    au = batch.get("au")
    au = torch.zeros((n, len(AUS)), device=device) if au is None else au.to(device, torch.float32)
    au_mask = batch.get("au_mask")
    au_mask = (
        torch.zeros((n, len(AUS)), dtype=torch.bool, device=device)
        if au_mask is None
        else au_mask.to(device, torch.bool)
    )
    return CouplingInputs(expr_logits, au_logits, expr, au, au_mask, relatedness.to(device, torch.float32))


def check_relatedness(relatedness: Any, coupling: str) -> torch.Tensor:
    table = torch.as_tensor(relatedness, dtype=torch.float32)
    if table.shape != (len(EXPRESSIONS), len(AUS)):
        raise FbnError(f"coupling {coupling!r}: the relatedness table must be 7 x 17, got {tuple(table.shape)}")
    if not bool(((table >= 0) & (table <= 1)).all()):
        raise FbnError(f"coupling {coupling!r}: relatedness values must lie in [0, 1]")
    return table
