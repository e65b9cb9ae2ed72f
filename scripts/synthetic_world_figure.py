"""Draw docs/img/synthetic-world.png: the synthetic world's base rates and AU correlations against their targets.

Run: python scripts/synthetic_world_figure.py [OUT.png]   (labels only, no faces: a few seconds)
Left: each annotated AU's rate in the generated train split (public labels, default options) against the
published rate it is calibrated to (floored at MIN_RATE). Middle: the phi correlation of the 12 BP4D AUs in
generated synth-bp4d (true labels). Right: the anatomical target, the copula's latent correlation.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fbn_bench.tasks import AUS  # noqa: E402
from fbn_plugins.datasets.synthetic.databases import DATABASES  # noqa: E402
from fbn_plugins.datasets.synthetic.generate import public_table, split_labels  # noqa: E402
from fbn_plugins.datasets.synthetic.store import generation_options  # noqa: E402
from fbn_plugins.datasets.synthetic.world import latent_correlation  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "img" / "synthetic-world.png"


def main(out: Path = OUT) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), gridspec_kw={"width_ratios": [1.1, 1, 1]})
    ax = axes[0]
    for name, marker in (("synth-bp4d", "o"), ("synth-disfa", "s"), ("synth-emotionet", "^"), ("synth-affwild2", "D")):
        db = DATABASES[name]
        public = public_table(db, split_labels(db, "train", generation_options()))
        target = [db.target_rates[a] for a in db.aus]
        made = [public[f"AU{a}"].mean() for a in db.aus]
        ax.scatter(target, made, marker=marker, label=f"{name} (vs {db.mirrors})", alpha=0.8)
    ax.plot([0, 0.7], [0, 0.7], color="grey", lw=1)
    ax.set(xlabel="target base rate (published, floored at 0.08)", ylabel="generated (train, public labels)")
    ax.set_title("AU base rates")
    ax.legend(fontsize=8)
    db = DATABASES["synth-bp4d"]
    table = split_labels(db, "train", generation_options(scale=2.0))
    cols = [AUS.index(a) for a in db.aus]
    present = table[[f"truth_intensity_AU{a}" for a in AUS]].to_numpy()[:, cols] >= 2
    for ax, matrix, title in (
        (axes[1], np.corrcoef(present.T), "synth-bp4d generated: phi of true AU labels"),
        (axes[2], latent_correlation()[np.ix_(cols, cols)], "target: anatomical latent correlation"),
    ):
        image = ax.imshow(matrix, vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_xticks(range(len(cols)), [f"{a}" for a in db.aus], fontsize=8)
        ax.set_yticks(range(len(cols)), [f"AU{a}" for a in db.aus], fontsize=8)
        ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=axes[1:], shrink=0.8)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90, bbox_inches="tight")
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
