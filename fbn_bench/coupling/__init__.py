"""Coupling the expression and AU tasks through the relatedness table."""
