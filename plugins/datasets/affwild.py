"""Dataset plugin: affwild (not written yet)."""
