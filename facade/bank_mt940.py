"""MT940 statements as Polish banks export them, read with the ``mt-940`` library.

The library reads the SWIFT fields (``:20:``, ``:25:``, ``:60F:``, ``:61:``, ``:86:``,
``:62F:``); the ``:86:`` text is read here in the layout of the Polish banks' association
(ZBP): a 3-digit transaction code, then subfields each opened by one separator character
(``~`` at most banks, ``<``, ``>``, ``^`` or ``+`` at others) and two digits:

- ``~00`` the operation's description, ``~10`` the bank's own number of it;
- ``~20``-``~25`` the title, cut into pieces of fixed width (so joined without a space;
  some banks go on into ``~26``);
- ``~27``-``~28`` the counterparty's name at some banks, ``~29`` its address;
- ``~30`` the counterparty's bank settlement number, ``~31`` its account number, ``~38`` the
  whole IBAN;
- ``~32``-``~33`` the counterparty's name; ``~60``-``~63`` more text.

A file holds one statement per account (each from ``:20:`` to ``:62F:``); the account of
``:25:`` is the account the transfers were paid into. ZBP files are in code page 852, so a file
that is not UTF-8 is read as CP852.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import mt940

from ebok.csv_rows import ImportFileError
from facade.bank_entries import Entries, account_cell, amount_cell, nrb_of_parts

__all__ = ["decode_mt940", "looks_like_mt940", "read_mt940", "zbp_details"]

# Opt into the library's fixes: details of any length, a reversal of a credit signed as the
# debit it is, a byte-order mark ignored.
_OPTIONS = mt940.Options(
    unbounded_details=True,
    reversal_sign=True,
    case_insensitive_marks=True,
    strip_bom=True,
    merge_keeps_values=True,
)
# The library would read ``:86:`` as German "?"-subfields; ZBP ones are read below instead.
_PROCESSORS: Any = {"post_transaction_details": []}
# Exceptions the library raises for a field it cannot read (a pattern that does not match, an
# impossible date, an amount that is no number).
_UNREADABLE = (RuntimeError, ValueError, ArithmeticError, LookupError, TypeError, AttributeError)

_STATEMENT = re.compile(r"(?m)^(?=:20:)")
# Some banks (mBank) open each statement with SOH and close it with ETX, as SWIFT does.
_ENVELOPE = str.maketrans("", "", "\x01\x03")
_ZBP_START = re.compile(r"([0-9]{3})([~<>^?+|])(?=[0-9]{2})")
_TITLE = ("20", "21", "22", "23", "24", "25", "26")


def decode_mt940(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp852")  # total: every byte is a character


def looks_like_mt940(head: str) -> bool:
    return re.search(r"(?m)^:20:", head.translate(_ENVELOPE)) is not None


@dataclass(frozen=True)
class Details:
    title: str
    name: str
    account: str


def zbp_details(raw: str) -> Details:
    """Title, counterparty name and account from the ``:86:`` text (its lines joined: a
    subfield wraps onto the next line without a space)."""
    text = "".join(raw.split("\n"))
    start = _ZBP_START.match(text)
    if start is None:  # unstructured: all of it is the title
        return Details(title=text, name="", account="")
    fields: dict[str, list[str]] = {}
    for part in re.split(re.escape(start[2]) + "(?=[0-9]{2})", text[start.end() :]):
        fields.setdefault(part[:2], []).append(part[2:])

    def joined(*keys: str) -> str:
        return "".join(value for key in keys for value in fields.get(key, []))

    account = joined("38") or nrb_of_parts(joined("30"), joined("31"))
    name = joined("32", "33") or joined("27", "28")
    return Details(title=joined(*_TITLE), name=name, account=account_cell(account))


def _quiet_library() -> None:
    # The library logs the text of a field it cannot read (a payer's name, an account) at
    # ERROR: personal data kept out of every log. The ImportFileError says where instead.
    library = logging.getLogger("mt940")
    if library.propagate:
        library.addHandler(logging.NullHandler())
        library.propagate = False


def read_mt940(text: str) -> Entries:
    """The credits of every statement in the file; a file that is no MT940 statement, or
    whose balances do not add up, raises ImportFileError naming the line."""
    _quiet_library()
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    text = text.translate(_ENVELOPE)
    starts = [m.start() for m in _STATEMENT.finditer(text)]
    if not starts:
        raise ImportFileError("MT940: no statement (a line starting with :20:)")
    if stray := re.search(r"(?m)^:[0-9]{2}[A-Z]?:", text[: starts[0]]):
        line = text.count("\n", 0, stray.start()) + 1
        raise ImportFileError(f"line {line}: MT940 field before the first statement (:20:)")
    entries = Entries()
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        _read_statement(text[start:end], text.count("\n", 0, start) + 1, entries)
    return entries


def _read_statement(block: str, first: int, entries: Entries) -> None:
    statement = mt940.models.Transactions(processors=_PROCESSORS, options=_OPTIONS)
    try:
        statement.parse(block)
    except _UNREADABLE as e:
        raise ImportFileError(_unreadable(e, block, first)) from None
    data = statement.data
    account = data.get("account_identification")
    opening = _balance(data, "opening_balance")
    closing = _balance(data, "closing_balance")
    if not account or opening is None or closing is None:
        raise ImportFileError(
            f"line {first}: MT940 statement lacks its account (:25:), opening (:60F:) or "
            "closing balance (:62F:)"
        )
    lines = [first + n for n, line in enumerate(block.split("\n")) if line.startswith(":61:")]
    if len(lines) != len(statement.transactions):  # never seen: the library reads each :61:
        raise ImportFileError(f"line {first}: MT940 entries could not be told apart")
    movements = sum((t.data["amount"].amount for t in statement.transactions), Decimal(0))
    if opening + movements != closing:
        raise ImportFileError(
            f"line {first}: MT940 balances do not add up (opening {opening} + entries "
            f"{movements} is not the closing {closing}): the file is cut short or altered"
        )
    target = account_cell(str(account))
    for line, transaction in zip(lines, statement.transactions, strict=True):
        if str(transaction.data.get("status", "")).upper() != "C":
            entries.skipped += 1  # a debit, or a reversal either way: no payment to us
        else:
            entries.rows.append((line, _cells(transaction.data, target, statement.currency)))


def _balance(data: dict[str, Any], kind: str) -> Decimal | None:
    for prefix in ("final_", "intermediate_", ""):
        balance = data.get(prefix + kind)
        if balance is not None and isinstance(balance.amount, mt940.models.Amount):
            return balance.amount.amount
    return None


def _cells(data: dict[str, Any], target: str, currency: str | None) -> dict[str, str]:
    details = zbp_details(str(data.get("transaction_details") or ""))
    booked = data.get("entry_date") or data["date"]
    return {
        "booking_date": booked.isoformat(),
        "amount": amount_cell(data["amount"].amount),
        "currency": currency or "",
        "target_account": target,
        "sender_account": details.account,
        "sender_name": details.name,
        "title": details.title,
        "bank_reference": _reference(data),
    }


def _reference(data: dict[str, Any]) -> str:
    """The bank's reference (after ``//`` in ``:61:``), else the customer reference unless it
    is the placeholder NONREF."""
    bank = str(data.get("bank_reference") or "").strip()
    customer = str(data.get("customer_reference") or "").strip()
    return bank or ("" if customer.upper() == "NONREF" else customer)


def _unreadable(error: Exception, block: str, first: int) -> str:
    # The library's RuntimeError carries the tag and its text (never repeated: it may name a
    # payer): point at the line the tag starts on.
    if isinstance(error, RuntimeError) and len(error.args) == 3:
        tag_id, head = getattr(error.args[1], "id", "?"), str(error.args[2]).split("\n")[0]
        for n, line in enumerate(block.split("\n")):
            if line.startswith(f":{tag_id}:") and line.rstrip().endswith(head.rstrip()):
                return f"line {first + n}: MT940 field :{tag_id}: is not in its format"
        return f"line {first}: MT940 field :{tag_id}: is not in its format"
    return f"line {first}: MT940 statement has a field that cannot be read ({error})"
