"""Synthetic facial-behaviour databases (not written yet)."""
