"""The README command, warm, against c50ce51's fp32 path, side by side in one run: wall time and scores.

Run: `pytest benchmarks/test_readme_speed.py --benchmark-enable -s -p no:randomly` (about 15 minutes on
2 CPU cores). The data is generated first and not timed (a warm run). "c50ce51's path" is the default run of
that commit as far as today's engine can express it: 800 steps at a constant learning rate, NCHW layout,
fp32, no validation until the last step. Both are scored by today's protocol, so the scores compare; the
figure to read is `ratio` (today's time over the old path's; the target is 0.4 or less).
"""

from __future__ import annotations

import statistics
import time

from fbn_bench.config import resolve_config
from fbn_bench.experiment import run_experiment
from fbn_bench.registry import build_registry
from fbn_bench.specs import DEFAULT_HEADLINE  # the synthetic databases rank by the defaults

OLD_PATH = dict(steps=800, lr_schedule="constant", warmup=0.0, val_every=800, channels_last=False, mixed_precision="no")


def _run(tmp_path, name, **overrides):
    config = resolve_config(
        "quick", tasks=("va", "expr", "au"), coupling="soft+dm", out=str(tmp_path / name), **overrides
    )
    start = time.perf_counter()
    outcome = run_experiment(config, build_registry(), progress=False)
    elapsed = time.perf_counter() - start
    scores = [r["value"] for r in outcome.records if r["metric"] == DEFAULT_HEADLINE[r["task"]]]
    return elapsed, statistics.mean(scores)


def test_readme_command_against_the_old_path(benchmark, tmp_path):
    _run(tmp_path, "warm-up", steps=1, val_every=1)  # generates and caches the data: later runs are warm
    old_s, old_score = _run(tmp_path, "old", **OLD_PATH)
    new_s, new_score = benchmark.pedantic(lambda: _run(tmp_path, "new"), rounds=1, iterations=1)
    benchmark.extra_info.update(
        ratio=round(new_s / old_s, 3),
        old_s=round(old_s, 1),
        new_s=round(new_s, 1),
        old_mean_headline=round(old_score, 4),
        new_mean_headline=round(new_score, 4),
    )
    print(
        f"\nREADME command warm: {new_s:.0f} s against {old_s:.0f} s on the old path (ratio {new_s / old_s:.3f}); "
        f"mean headline score {new_score:.3f} against {old_score:.3f}"
    )
