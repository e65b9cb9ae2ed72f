"""Dataset plugin: bp4d (not written yet)."""
