"""Compound expressions from a trained run, zero-shot and few-shot (docs/compound.md).

Zero-shot: a scorer plugin (ZeroShotSpec) turns the model's expression and AU probabilities on the compound
test images into a score per class; no compound label reaches it (`ZeroShotInputs` has none). Few-shot: K
labelled images per class from the compound train split, drawn in seeded episodes, train a learner
(fewshot.LEARNERS) on the frozen shared features or on the 24 predicted probabilities; the official test
split is the query set. The same learners on an untrained network of the same architecture are the baseline
that makes "the features transfer" a measured claim.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .errors import FbnError
from .metrics.functional import accuracy, macro_f1, mean_class_accuracy
from .metrics.functional import confusion_matrix as confusion  # (C, C): rows true, columns predicted
from .results import file_stem

COMPOUND_FILE = "compound.jsonl"
DEFAULT_SHOTS = (1, 5, 10)
DEFAULT_EPISODES = 10
METRICS = ("uar", "macro_f1", "accuracy")


@dataclass(frozen=True)
class ZeroShotInputs:
    """What a zero-shot scorer sees: predictions and the class table, never a compound label."""

    expr_prob: np.ndarray | None  # (N, 7) softmax, EXPRESSIONS order; None without an expression head
    au_prob: np.ndarray | None  # (N, 17) sigmoid, AUS order; None without an AU head
    classes: tuple  # CompoundClass, in the database's order
    relatedness: np.ndarray  # (7, 17) P(AU | expression)


@dataclass
class Extracted:
    """A compound split through the network: features, probabilities, and the labels kept apart."""

    features: np.ndarray  # (N, hidden)
    expr_prob: np.ndarray | None
    au_prob: np.ndarray | None
    labels: np.ndarray  # (N,) class index
    unlabelled: int = 0  # rows whose `compound` label is not one of the classes (left out, counted)
    trunk: np.ndarray | None = None  # (N, out_features) backbone outputs, the shared layer's input
    shared: tuple[np.ndarray, np.ndarray] | None = None  # the shared Linear's weight (hidden, in) and bias

    def inputs(self, reads: str) -> np.ndarray:
        """What a learner reading `reads` (fewshot.LEARNERS) trains and predicts on."""
        if reads == "probs":
            return self.probs()
        return self.trunk if reads == "trunk" else self.features

    def probs(self) -> np.ndarray:
        """The 24 predicted probabilities (17 AUs + 7 expressions) the `probs` learners read."""
        parts = [p for p in (self.au_prob, self.expr_prob) if p is not None]
        return np.concatenate(parts, axis=1)


def class_metrics(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> dict[str, float]:
    """UAR (mean per-class recall over the classes present), macro-F1 over all classes, accuracy."""
    return {
        "uar": mean_class_accuracy(labels, predicted),
        "macro_f1": macro_f1(labels, predicted, labels=range(n_classes)),
        "accuracy": accuracy(labels, predicted),
    }


def chance(labels: np.ndarray, n_classes: int) -> dict[str, float]:
    """What guessing scores: UAR 1/C (C classes present); accuracy and macro-F1 (over the `n_classes` declared
    classes, as class_metrics) of always predicting the most frequent class."""
    present = np.unique(labels)
    majority = np.full_like(labels, np.bincount(labels).argmax())
    return {
        "uar": 1.0 / len(present) if len(present) else float("nan"),
        "macro_f1": macro_f1(labels, majority, labels=range(n_classes)),
        "accuracy": accuracy(labels, majority),
    }


def extract(model, split, classes, device, batch_size: int) -> Extracted:
    """The split's images through `model` (eval mode, no gradients)."""
    import torch

    from .data.augment import normalize
    from .data.batches import eval_batches, to_device

    names = [c.name for c in classes]
    column = split.table.iloc[split.rows]["compound"] if "compound" in split.table else None
    if column is None:
        raise FbnError(f"dataset {split.name!r} has no `compound` column in its {split.split} split")
    index = np.array([names.index(v) if v in names else -1 for v in column])
    keep = np.flatnonzero(index >= 0)
    model.eval()
    feats, trunks, expr, au = [], [], [], []
    with torch.no_grad():
        for batch in eval_batches(split, keep, batch_size, tasks=()):
            t = model.trunk(normalize(to_device(batch, device)["image"]))
            f = model.shared(t)
            out = model.heads_of(f)
            feats.append(f.float().cpu().numpy())
            trunks.append(t.float().cpu().numpy())
            if "expr" in out:
                expr.append(torch.softmax(out["expr"].float(), 1).cpu().numpy())
            if "au" in out:
                au.append(torch.sigmoid(out["au"].float()).cpu().numpy())
    return Extracted(
        np.concatenate(feats) if feats else np.zeros((0, 1)),
        np.concatenate(expr) if expr else None,
        np.concatenate(au) if au else None,
        index[keep],
        unlabelled=int((index < 0).sum()),
        trunk=np.concatenate(trunks) if trunks else None,
        shared=tuple(p.detach().float().cpu().numpy() for p in (model.shared[0].weight, model.shared[0].bias)),
    )


@dataclass
class CompoundOutcome:
    records: list[dict[str, Any]]
    path: Path | None
    notes: list[str] = field(default_factory=list)
    pictures: list[Path] = field(default_factory=list)


def zero_shot_records(
    scorers, query: Extracted, classes, R, tasks, base: dict, confusions: dict | None = None
) -> tuple[list[dict], list[str]]:
    """One record per (scorer, metric) on the query set; a scorer needing a head the model lacks is noted.
    `confusions`, when given, receives each scorer's confusion matrix under ("zero-shot", name, 0)."""
    inputs = ZeroShotInputs(query.expr_prob, query.au_prob, tuple(classes), R)
    records, notes = [], []
    for plugin in scorers:
        missing = sorted(set(plugin.spec.needs) - set(tasks))
        if missing:
            notes.append(f"zero-shot {plugin.name}: skipped, the model has no {'/'.join(missing)} head")
            continue
        try:
            scores = np.asarray(plugin.spec.score(inputs, **plugin.options), dtype=np.float64)
        except ValueError as exc:
            raise FbnError(f"zero-shot scorer {plugin.name!r}: {exc}") from None
        if scores.shape != (len(query.labels), len(classes)):
            raise FbnError(
                f"zero-shot scorer {plugin.name!r} returned shape {scores.shape}, expected "
                f"({len(query.labels)}, {len(classes)}): one score per image and class"
            )
        if confusions is not None:
            confusions["zero-shot", plugin.name, 0] = confusion(query.labels, scores.argmax(1), len(classes))
        for metric, value in class_metrics(query.labels, scores.argmax(1), len(classes)).items():
            records.append(
                {
                    **base,
                    "protocol": "zero-shot",
                    "method": plugin.name,
                    "k": 0,
                    "metric": metric,
                    "value": value,
                    "sd": None,
                    "episodes": 0,
                }
            )
    return records, notes


def few_shot_records(
    learners, support: Extracted, query: Extracted, n_classes, shots, episodes, seed, base, confusions=None
):
    """Per (learner, K, metric): the mean and s.d. over `episodes` seeded support draws, with each episode's
    value kept (`per_episode`), and notes; a learner of probabilities on a model with neither an expression
    nor an AU head (a VA network) is noted and skipped. `confusions` receives each (learner, K)'s confusion
    summed over episodes."""
    from .fewshot import LEARNERS, support_indices

    records, notes = [], []
    for name in learners:
        reads, fit = LEARNERS[name]
        if reads == "probs" and support.expr_prob is None and support.au_prob is None:
            notes.append(
                f"few-shot {name}: skipped, it reads expression and AU probabilities and the model has neither head"
            )
            continue
        x_support, x_query = support.inputs(reads), query.inputs(reads)
        extra = {"shared": support.shared} if reads == "trunk" else {}
        for k in shots:
            values: dict[str, list[float]] = {m: [] for m in METRICS}
            for episode in range(episodes):
                rows = support_indices(support.labels, n_classes, k, seed, episode)
                predicted = fit(x_support[rows], support.labels[rows], n_classes, **extra)(x_query).argmax(1)
                if confusions is not None:
                    total = confusions.get(("few-shot", name, int(k)), 0)
                    confusions["few-shot", name, int(k)] = total + confusion(query.labels, predicted, n_classes)
                for metric, value in class_metrics(query.labels, predicted, n_classes).items():
                    values[metric].append(value)
            for metric, vals in values.items():
                records.append(
                    {
                        **base,
                        "protocol": "few-shot",
                        "method": name,
                        "k": int(k),
                        "metric": metric,
                        "value": float(np.mean(vals)),
                        "sd": float(np.std(vals, ddof=1)) if len(vals) > 1 else None,
                        "episodes": episodes,
                        "per_episode": [float(v) for v in vals],
                    }
                )
    return records, notes


def compound_evaluation(
    path,
    datasets: tuple[str, ...],
    registry,
    zero_shot: tuple[str, ...] = ("pair", "au-template", "au-components", "mix"),
    shots: tuple[int, ...] = DEFAULT_SHOTS,
    episodes: int = DEFAULT_EPISODES,
    learners: tuple[str, ...] | None = None,
    untrained: bool = True,
    seed: int = 0,
    cpu: bool = False,
    data_root: str | None = None,
    progress: bool = True,
) -> CompoundOutcome:
    """Score a trained run (or checkpoint) on compound databases; records go to <run>/compound.jsonl."""
    import torch

    from .atomic import atomic_write_text
    from .checkpoint import load_checkpoint
    from .coupling.relatedness import relatedness, relatedness_tensor
    from .devices import make_accelerator
    from .fewshot import LEARNERS
    from .model import build_model, state_classes
    from .options import IMAGE_SIZE
    from .run_datasets import face_front_end, prepare_all, read_annotations
    from .run_folder import stored_run_id

    learners = tuple(LEARNERS) if learners is None else learners
    unknown = [name for name in learners if name not in LEARNERS]
    if unknown:
        raise FbnError(f"few-shot learner {unknown[0]!r} is unknown; use {', '.join(LEARNERS)}")
    if any(int(k) < 1 for k in shots) or episodes < 1:
        raise FbnError(f"--few-shot takes positive K values and --episodes at least 1 (got {list(shots)}, {episodes})")
    started = time.perf_counter()
    checkpoint = load_checkpoint(path)
    config = checkpoint.config
    if data_root:
        config = replace(config, data_root=data_root)
    chosen = [registry.resolve("datasets", text, {IMAGE_SIZE: config.image_size}) for text in datasets]
    for plugin in chosen:
        if not plugin.spec.compound_classes:
            raise FbnError(
                f"dataset {plugin.name!r} declares no compound classes; compound databases: "
                f"{', '.join(s.name for s in registry.specs('datasets') if s.compound_classes) or 'none installed'}"
            )
    scorers = [registry.resolve("zero_shot", text) for text in zero_shot]
    accelerator = make_accelerator(config.mixed_precision, cpu, fallback_fp16=True)
    classes = state_classes(checkpoint.state)  # compound scoring reads the 7; the state may hold more
    model = build_model(config, registry, classes)
    model.load_state_dict(checkpoint.state)
    networks = {"trained": model.to(accelerator.device)}
    if untrained:  # the same architecture, initialised by the run's seed and never trained
        torch.manual_seed(config.seed)
        networks["untrained"] = build_model(replace(config, weights=None), registry, classes).to(accelerator.device)
    R = relatedness_tensor(relatedness(config.relatedness, data_root=config.data_root, registry=registry)).numpy()
    annotations = read_annotations(chosen, ("train", "test"), config, accelerator)
    front = face_front_end(config, registry)
    supports = {s.name: s for s in prepare_all(chosen, "train", config, accelerator, progress, annotations, front)}
    queries = {s.name: s for s in prepare_all(chosen, "test", config, accelerator, progress, annotations, front)}
    run_id = stored_run_id(checkpoint.run_dir)
    records, notes, pictures = [], [], []
    for plugin in chosen:
        classes = plugin.spec.compound_classes
        for features, net in networks.items():
            support = extract(net, supports[plugin.name], classes, accelerator.device, config.eval_batch_size)
            query = extract(net, queries[plugin.name], classes, accelerator.device, config.eval_batch_size)
            if features == "trained" and (support.unlabelled or query.unlabelled):
                notes.append(
                    f"{plugin.name}: {support.unlabelled} train and {query.unlabelled} test rows have a compound "
                    "label outside its classes; left out"
                )
            base = {
                "run_id": run_id,
                "config_hash": checkpoint.config_hash,
                "dataset": plugin.name,
                "features": features,
                "n": int(len(query.labels)),
                "n_classes": len(classes),
                "chance": chance(query.labels, len(classes)),
                "seed": seed,
            }
            confusions = {} if features == "trained" else None
            zs, zs_notes = zero_shot_records(scorers, query, classes, R, config.tasks, base, confusions)
            records += zs
            notes += zs_notes if features == "trained" else []
            fs, fs_notes = few_shot_records(
                learners, support, query, len(classes), shots, episodes, seed, base, confusions
            )
            records += fs
            notes += fs_notes if features == "trained" else []
            if confusions:
                pictures.append(_confusion_picture(checkpoint.run_dir, plugin.name, classes, zs + fs, confusions))
    out = checkpoint.run_dir / COMPOUND_FILE
    kept = []
    if out.is_file():  # other databases' records stay; a database scored again is replaced
        scored = {r["dataset"] for r in records}
        kept = [r for r in map(json.loads, out.read_text().splitlines()) if r.get("dataset") not in scored]
    for r in records:
        r["wall_time_s"] = round(time.perf_counter() - started, 2)
    atomic_write_text(out, "".join(json.dumps(r) + "\n" for r in kept + records), "compound records")
    return CompoundOutcome(records, out, notes, pictures)


def _confusion_picture(run_dir: Path, dataset: str, classes, records, confusions) -> Path:
    """compound/<dataset>-confusion.png: the best zero-shot scorer and the best few-shot learner at the largest K
    (by UAR, trained features), row-normalised."""
    from .compound_plot import plot_confusions

    def best(protocol):
        rows = [r for r in records if r["protocol"] == protocol and r["metric"] == "uar"]
        if protocol == "few-shot" and rows:
            top_k = max(r["k"] for r in rows)
            rows = [r for r in rows if r["k"] == top_k]
        return max(rows, key=lambda r: r["value"], default=None)

    panels = []
    for protocol in ("zero-shot", "few-shot"):
        top = best(protocol)
        if top is not None:
            title = (
                f"{protocol} {top['method']}" + (f", K={top['k']}" if top["k"] else "") + f": UAR {top['value']:.3f}"
            )
            panels.append((title, confusions[protocol, top["method"], top["k"]]))
    path = run_dir / "compound" / f"{file_stem(dataset)}-confusion.png"
    return plot_confusions(panels, [c.name for c in classes], path)
