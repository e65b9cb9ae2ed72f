"""Dataset plugin: affectnet (not written yet)."""
