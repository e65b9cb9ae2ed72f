"""CSV logger (not written yet)."""
