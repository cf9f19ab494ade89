"""What every statement reader hands to the transfer validation: one row of cells per credit,
named by where it starts in the file, and a count of the entries that are no transfer to us.

A reader only finds the values; ``facade.bank_statement`` validates them all the same way,
whatever the format, so a bad value in an MT940 or camt.053 file is reported exactly as a bad
CSV cell is: by line and field, never echoing the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from stdnum.iso7064 import mod_97_10

from ebok.csv_rows import RowError

__all__ = ["Entries", "Row", "account_cell", "amount_cell", "nrb_of_parts"]

Row = tuple[int, dict[str, str] | RowError]  # (line where the entry starts, its cells)


@dataclass
class Entries:
    """The credits of a statement as cells, and the entries skipped (debits, reversals,
    entries not yet booked): counted, so a report adds up, but never validated."""

    rows: list[Row] = field(default_factory=list)
    skipped: int = 0


def account_cell(text: str) -> str:
    """An account as statements write it ("/PL61 1090 …", "PL61…", "61…", "BIC/61…") in the
    shape the transfer validation reads: the number after the last slash, without spaces."""
    return re.sub(r"\s", "", text).rpartition("/")[2]


def nrb_of_parts(sort_code: str, account: str) -> str:
    """The NRB of a Polish account given as the bank's 8-digit settlement number and the
    16-digit account number (ZBP ``~30`` and ``~31``), with its IBAN check digits; anything
    else is handed on as it is, for the validation to refuse."""
    bban = sort_code.strip() + account.strip()
    if not re.fullmatch("[0-9]{24}", bban):
        return account.strip() or sort_code.strip()
    return mod_97_10.calc_check_digits(bban + "PL") + bban


def amount_cell(value: Decimal) -> str:
    """A credit's amount as text for the validation (which takes it to integer grosze and
    refuses a third decimal place other than 0), never through a float."""
    return format(abs(value).normalize(), "f")
