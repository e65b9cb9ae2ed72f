"""Dataset plugin: affwild2 (not written yet)."""
