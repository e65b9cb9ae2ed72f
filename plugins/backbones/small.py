"""Backbone plugin: small (not written yet)."""
