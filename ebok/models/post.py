"""Registered letters (list polecony) as the postal port reports them, and what the law makes of
them: the day the addressee is taken to have received the letter. Pure: the invoice workflow,
the activities and the postal adapters share it.

Sources and our reading: ``docs/invoice-law.md`` ("When a registered notice is received").
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["COLLECTION_PERIOD", "LetterFate", "LetterState", "received_on"]

# How long a registered letter waits at the post office after the first notice of attempted
# delivery (awizo) before it goes back to the sender unclaimed.
COLLECTION_PERIOD = timedelta(days=14)


class LetterState(StrEnum):
    POSTED = "posted"  # handed to the postal operator, on its way
    DELIVERED = "delivered"  # handed to the addressee (or an adult household member)
    REFUSED = "refused"  # the addressee refused to take it
    AWAITING_COLLECTION = "awaiting_collection"  # nobody home: notice (awizo) left
    COLLECTED = "collected"  # collected at the post office after the awizo
    RETURNED = "returned"  # not collected within the period: back to the sender

    @property
    def final(self) -> bool:
        return self not in (LetterState.POSTED, LetterState.AWAITING_COLLECTION)


class LetterFate(BaseModel):
    """Where a registered letter is, with the day of each event the postal operator reported.

    The signal ``letter`` of the invoice workflow carries one; ``key`` is ours (invoice and
    demand serial), ``tracking_id`` the operator's."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
    key: str
    tracking_id: str
    state: LetterState
    posted_on: date
    delivered_on: date | None = None
    refused_on: date | None = None
    notice_left_on: date | None = None  # the first awizo
    collected_on: date | None = None
    returned_on: date | None = None
    changed_at: datetime | None = None

    @model_validator(mode="after")
    def _dated(self) -> LetterFate:
        needed = {
            LetterState.DELIVERED: ("delivered_on", self.delivered_on),
            LetterState.REFUSED: ("refused_on", self.refused_on),
            LetterState.AWAITING_COLLECTION: ("notice_left_on", self.notice_left_on),
            LetterState.COLLECTED: ("collected_on", self.collected_on),
            LetterState.RETURNED: ("notice_left_on", self.notice_left_on),
        }.get(self.state)
        if needed is not None and needed[1] is None:
            raise ValueError(f"{needed[0]}: required when the letter is {self.state.value}")
        for name in ("delivered_on", "refused_on", "notice_left_on", "collected_on"):
            day = getattr(self, name)
            if day is not None and day < self.posted_on:
                raise ValueError(f"{name}: before the letter was posted")
        if self.collected_on and (
            self.notice_left_on is None or self.collected_on < (self.notice_left_on)
        ):
            raise ValueError("collected_on: a collected letter had an awizo before it")
        return self


def received_on(fate: LetterFate) -> date | None:
    """The day from which the notice period runs, or None while it is not known.

    Kodeks cywilny art. 61 § 1: a declaration is made when it reached the addressee so that
    they could read it. A period that must run *at least* 14 days from receipt is never cut
    short by counting from a later day, so where readings differ we take the latest one:

    - delivered to hand: that day;
    - refused: the day of the refusal (the addressee could have read it and chose not to);
    - collected after an awizo: the day of collection;
    - not collected: the last day of the collection period, the awizo's day + 14 days (the
      day of the awizo itself not counted, art. 111 § 2 KC) - the latest day any reading of
      art. 61 puts the receipt on, and the day art. 139 § 1 KPC and art. 44 § 4 KPA take for
      court and official letters;
    - still on its way, or the awizo's period still running: unknown.
    """
    match fate.state:
        case LetterState.DELIVERED:
            return fate.delivered_on
        case LetterState.REFUSED:
            return fate.refused_on
        case LetterState.COLLECTED:
            return fate.collected_on
        case LetterState.RETURNED:
            assert fate.notice_left_on is not None  # the validator requires it
            return fate.notice_left_on + COLLECTION_PERIOD
        case LetterState.POSTED | LetterState.AWAITING_COLLECTION:
            return None
