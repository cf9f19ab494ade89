"""Every workflow the worker hosts."""

from workflows.registration import Registration

ALL_WORKFLOWS: list[type] = [Registration]

__all__ = ["ALL_WORKFLOWS", "Registration"]
