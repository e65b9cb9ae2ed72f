"""Dataset plugin: emotionet (not written yet)."""
