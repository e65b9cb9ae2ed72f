"""Leaderboards: result records in, one Markdown table per database out (see docs/leaderboards.md).

records.py (records -> entries per database x configuration), samples.py (per-sample predictions and
the resampling unit), sums.py (metrics from per-sample sums), bootstrap.py (intervals and the paired
test), tables.py (one database's table), render.py (Markdown, CSV, JSON), build.py (all tables, the
index and the staleness check), store.py (the committed record store), references.py (paper rows).
"""
