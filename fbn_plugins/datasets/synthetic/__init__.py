"""Synthetic facial-behaviour databases: procedurally rendered faces with known labels.

The default data of `fbn-bench run`: no licence, no download. Each database mirrors a real one
(which tasks and AUs it labels, its class balance, its domain) and is generated on first use under
its root (see store.py), then read back through the same `load(root, split)` contract as real data.
Modules: identity (who), deform (AUs as geometry), render/sdf (pixels), style (domain and nuisance),
world (how labels arise: the world's own truth, people, annotators), labels (class, VA, video segments,
the du2014 control), databases (configs), generate (one split), store (on disk).
"""

from __future__ import annotations

from functools import partial

from fbn_bench import DatasetSpec, hookimpl

from .._compound import COMPOUND_CLASSES
from .databases import DATABASES, SyntheticDatabase
from .generate import SPLITS
from .store import GENERATOR_VERSION, OPTIONS, load, prepare

CITATION = (
    "Kollias, Sharmanska, Zafeiriou. Face Behavior a la carte: Expressions, Affect and Action Units "
    "in a Single Network. arXiv:1910.11111 (the setting); Du, Tao, Martinez. Compound facial "
    "expressions of emotion. PNAS 2014 (the relatedness prior)."
)


def spec_for(db: SyntheticDatabase) -> DatasetSpec:
    return DatasetSpec(
        name=db.name,
        tasks=db.tasks,
        aus=db.aus,
        load=partial(load, db),
        prepare=partial(prepare, db),
        description=db.description,
        citation=CITATION,
        license="MIT (generated)",
        synthetic=True,
        options=OPTIONS,
        group_column="subject",
        splits=SPLITS,
        compound_classes=COMPOUND_CLASSES if db.compound else (),
        # The generator's version is the data's: records carry it, so tables never compare scores on two
        # different generations of the "same" database (leaderboard/records.py refuses the mix).
        loader_version=f"generator-{GENERATOR_VERSION}",
    )


@hookimpl
def register_datasets(register):
    for db in DATABASES.values():
        register(spec_for(db))
