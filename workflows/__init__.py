"""Every workflow the worker hosts."""

from workflows.linking import PartnerLinking
from workflows.registration import Registration

ALL_WORKFLOWS: list[type] = [Registration, PartnerLinking]

__all__ = ["ALL_WORKFLOWS", "PartnerLinking", "Registration"]
