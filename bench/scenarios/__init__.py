"""The scenario registry: a name → our side, the mirror with our activities and the bare-Temporal
side of the same shape.

Adding a scenario: a module here with two :data:`~bench.harness.Side` functions and one
``register(Scenario(...))`` call, imported below.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.harness import Side

__all__ = ["DEFAULT_SIDES", "SCENARIOS", "SIDES", "Scenario", "register"]

# Every side a scenario may have, in the order of a round's phases; "api" is ours driven over
# the HTTP API, where a scenario has it.
SIDES = ("ours", "api", "mirror", "bare")
DEFAULT_SIDES = ("ours", "mirror", "bare")


@dataclass(frozen=True)
class Scenario:
    name: str
    unit: str  # what one iteration is, plural ("registrations")
    ours: Side
    bare: Side
    # The bare mirror's workflow code calling our activities, driven as ours (``None``: the
    # scenario has none, see its module).
    mirror: Side | None = None
    api: Side | None = None  # ours, its calls made over the HTTP API
    latencies: tuple[str, ...] = ("start", "finish")  # in the table; the last one in the plot
    description: str = ""
    # Why the scenario runs one worker process per side only (``--workers 1``), if it does.
    one_worker_only: str = ""

    def side(self, name: str) -> Side:
        found = {"ours": self.ours, "api": self.api, "mirror": self.mirror, "bare": self.bare}[name]
        if found is None:
            raise ValueError(f"scenario {self.name} has no {name} side")
        return found


SCENARIOS: dict[str, Scenario] = {}


def register(scenario: Scenario) -> Scenario:
    if scenario.name in SCENARIOS:
        raise ValueError(f"scenario {scenario.name!r} registered twice")
    SCENARIOS[scenario.name] = scenario
    return scenario


# Imported for their register() calls.
from bench.scenarios import billing as _billing  # noqa: E402, F401
from bench.scenarios import einvoice as _einvoice  # noqa: E402, F401
from bench.scenarios import linking as _linking  # noqa: E402, F401
from bench.scenarios import payment as _payment  # noqa: E402, F401
from bench.scenarios import registration as _registration  # noqa: E402, F401
from bench.scenarios import storm as _storm  # noqa: E402, F401
