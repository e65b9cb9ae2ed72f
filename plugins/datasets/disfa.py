"""Dataset plugin: disfa (not written yet)."""
