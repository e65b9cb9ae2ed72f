"""Dataset plugin: rafdb (not written yet)."""
