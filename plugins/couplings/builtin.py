"""Coupling plugins (not written yet)."""
