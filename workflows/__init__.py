"""Workflows, one module per process; the list the worker hosts is in ``catalogue``."""
