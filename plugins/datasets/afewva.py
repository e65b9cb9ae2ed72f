"""Dataset plugin: afewva (not written yet)."""
