"""Backbone plugin: timm_backbone (not written yet)."""
