"""A toy database with an option, for the tests of the option schema end to end (tests/test_options.py).

`toyopt` is engine_toy_plugin's toy data with a `video` column and `every=N` (keep every N-th row). Its
bootstrap unit is the subject, while a table without a spec would be resampled by video: the leaderboard
shows "subject" only when it found the spec of `toyopt:every=2` in the registry."""

from __future__ import annotations

from engine_toy_plugin import load_toy

from fbn_bench import DatasetSpec, Option, hookimpl


def load_toyopt(root, split, *, every):
    table = load_toy(root, split).iloc[::every].reset_index(drop=True)
    table["video"] = [f"v{i}" for i in range(len(table))]  # one video per row: 1 frame each
    return table


@hookimpl
def register_datasets(register):
    register(
        DatasetSpec(
            "toyopt",
            tasks={"va", "expr", "au"},
            aus=(4, 12),
            load=load_toyopt,
            description="engine test data with an option",
            options=(Option("every", int, 1, low=1, help="keep every n-th row"),),
            group_column="subject",
        )
    )
