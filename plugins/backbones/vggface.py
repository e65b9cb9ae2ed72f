"""Backbone plugin: vggface (not written yet)."""
