"""Few-shot learners for compound expressions: K labelled images per class, a classifier on frozen inputs.

Pure functions on numpy arrays (support set in, a predictor out), deterministic given their inputs; the
episodes that draw the support sets are seeded by (seed, K, episode), so an episode is the same whatever
else runs. docs/compound.md states each learner.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax

# L2 penalty of the logistic regressions, on standardised inputs (scikit-learn's C = 1 convention: the
# penalty is 1/2 ||W||^2 beside the summed, not averaged, log-loss).
L2 = 1.0


def support_indices(labels: np.ndarray, n_classes: int, k: int, seed: int, episode: int) -> np.ndarray:
    """K row indices per class (all of a class's rows when it has fewer), drawn without replacement."""
    rng = np.random.default_rng([seed, k, episode])
    picked = []
    for c in range(n_classes):
        rows = np.flatnonzero(labels == c)
        picked.append(rng.choice(rows, size=min(k, len(rows)), replace=False) if len(rows) else rows)
    return np.sort(np.concatenate(picked))


def logistic_regression(x: np.ndarray, y: np.ndarray, n_classes: int) -> Callable[[np.ndarray], np.ndarray]:
    """Multinomial logistic regression (L-BFGS, L2 penalty L2) on inputs standardised with the support set's
    mean and s.d.; returns a function from query inputs to class scores (N, C)."""
    mean, sd = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / sd
    d = z.shape[1]
    onehot = np.eye(n_classes)[y]

    def loss(theta):
        w, b = theta[: d * n_classes].reshape(d, n_classes), theta[d * n_classes :]
        logp = log_softmax(z @ w + b, axis=1)
        grad_logits = np.exp(logp) - onehot
        value = -(onehot * logp).sum() + 0.5 * L2 * (w * w).sum()
        grad = np.concatenate([(z.T @ grad_logits + L2 * w).ravel(), grad_logits.sum(0)])
        return value, grad

    theta = minimize(loss, np.zeros(d * n_classes + n_classes), jac=True, method="L-BFGS-B").x
    w, b = theta[: d * n_classes].reshape(d, n_classes), theta[d * n_classes :]
    return lambda q: ((q - mean) / sd) @ w + b


def nearest_class_mean(x: np.ndarray, y: np.ndarray, n_classes: int) -> Callable[[np.ndarray], np.ndarray]:
    """Cosine similarity to each class's mean of L2-normalised support inputs (a class without support
    images scores -inf)."""

    def unit(a):
        return a / np.clip(np.linalg.norm(a, axis=1, keepdims=True), 1e-12, None)

    centres = np.zeros((n_classes, x.shape[1]))
    present = np.zeros(n_classes, dtype=bool)
    for c in np.unique(y):
        centres[c], present[c] = unit(x[y == c]).mean(0), True
    centres = unit(centres)  # rows of absent classes stay 0
    return lambda q: np.where(present, unit(q) @ centres.T, -np.inf)


# The fine-tuning schedule, fixed before any compound result was seen (never tuned on compound data): full-batch
# Adam on the support set, the last shared layer starting from the trained network's and a new head from zero.
FINETUNE_STEPS, FINETUNE_LR = 100, 1e-2


def finetune_last_layer(
    x: np.ndarray, y: np.ndarray, n_classes: int, shared: tuple[np.ndarray, np.ndarray]
) -> Callable[[np.ndarray], np.ndarray]:
    """The network's last shared layer (`shared`: its Linear weight (hidden, in) and bias, then ReLU) fine-tuned
    with a new linear head on the support set's backbone outputs `x`, FINETUNE_STEPS of Adam at FINETUNE_LR on
    the summed cross-entropy; returns a function from query backbone outputs to class scores (N, C)."""
    import torch

    weight, bias = (torch.tensor(a, dtype=torch.float32) for a in shared)
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0])
    head = torch.nn.Linear(weight.shape[0], n_classes)
    with torch.no_grad():
        layer.weight.copy_(weight), layer.bias.copy_(bias)
        head.weight.zero_(), head.bias.zero_()  # no draw: the learner is deterministic given its inputs
    inputs, targets = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.long)
    optimizer = torch.optim.Adam([*layer.parameters(), *head.parameters()], lr=FINETUNE_LR)
    for _ in range(FINETUNE_STEPS):
        loss = torch.nn.functional.cross_entropy(head(torch.relu(layer(inputs))), targets, reduction="sum")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def scores(q: np.ndarray) -> np.ndarray:
        return head(torch.relu(layer(torch.tensor(q, dtype=torch.float32)))).numpy().astype(np.float64)

    return scores


# learner name -> (which inputs it reads, how it fits); `trunk` learners also get the shared layer's weights
LEARNERS: dict[str, tuple[str, Callable]] = {
    "logreg-features": ("features", logistic_regression),
    "ncm-cosine": ("features", nearest_class_mean),
    "logreg-probs": ("probs", logistic_regression),
    "finetune-last": ("trunk", finetune_last_layer),
}
