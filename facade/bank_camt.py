"""camt.053 (ISO 20022 BankToCustomerStatement) statements, read with lxml.

No reader of camt.053 on the package index is kept well enough to stand in front of our
validation (the ones there take amounts through float, join split titles with spaces, or are
early releases), so the XML is read here with lxml, which also gives each entry's line for a
report. Every version from camt.053.001.02 on is read: the elements used here kept their names,
except that from .08 on an entry's status and a party are one level deeper
(``Sts/Cd``, ``Dbtr/Pty/Nm``).

Each booked credit's transaction details (``Ntry/NtryDtls/TxDtls``, or the entry itself
without them) become one transfer: the debtor's name and account (``RltdPties/Dbtr``,
``DbtrAcct``), the title (every ``RmtInf/Ustrd`` joined without a space: banks cut a title
into fixed-width lines), the account paid into (``RltdPties/CdtrAcct``, else the statement's
``Acct``), and the bank's reference (``AcctSvcrRef``, else ``EndToEndId``).
"""

from __future__ import annotations

import re
from decimal import Decimal

from lxml import etree

from ebok.csv_rows import ImportFileError
from facade.bank_entries import Entries, account_cell, amount_cell

__all__ = ["looks_like_camt", "read_camt053"]

_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.[0-9]{2}")
# ISO 20022 amounts: at most 18 digits, 5 of them after the point.
_AMOUNT = re.compile(r"[0-9]{1,18}(\.[0-9]{0,5})?")
_OPENING, _CLOSING = ("OPBD", "PRCD"), ("CLBD",)


def looks_like_camt(head: str) -> bool:
    return head.lstrip("\ufeff \t\r\n").startswith("<")


def _parser(encoding: str | None) -> etree.XMLParser:
    # No entities, DTDs or network: a statement is data from outside.
    return etree.XMLParser(
        encoding=encoding,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


class _Doc:
    """Paths written without the namespace ("Acct/Id/IBAN"), looked up in the document's."""

    def __init__(self, namespace: str) -> None:
        self._ns = {"c": namespace}

    def _path(self, path: str) -> str:
        return "/".join(f"c:{step}" for step in path.split("/"))

    def all(self, element: etree._Element, path: str) -> list[etree._Element]:
        return list(element.iterfind(self._path(path), self._ns))

    def text(self, element: etree._Element | None, *paths: str) -> str:
        """The text of the first of ``paths`` found, stripped; "" if none is."""
        for path in paths:
            found = None if element is None else element.find(self._path(path), self._ns)
            if found is not None and found.text and found.text.strip():
                return found.text.strip()
        return ""

    def find(self, element: etree._Element, *paths: str) -> etree._Element | None:
        for path in paths:
            found = element.find(self._path(path), self._ns)
            if found is not None:
                return found
        return None


def read_camt053(data: bytes, encoding: str | None = None) -> Entries:
    """The booked credits of every statement of a camt.053 document; a document that is not
    one, or whose balances do not add up, raises ImportFileError naming the line.

    ``encoding`` overrides the document's own declaration (for text already decoded)."""
    try:
        root = etree.fromstring(data, parser=_parser(encoding))
    except etree.XMLSyntaxError as e:
        raise ImportFileError(f"line {e.lineno}: not well-formed XML ({e.msg})") from None
    name = etree.QName(root)
    if name.localname != "Document" or not _NAMESPACE.fullmatch(name.namespace or ""):
        raise ImportFileError(
            f"line {root.sourceline}: XML, but not a camt.053 statement (a Document in a "
            "urn:iso:std:iso:20022:tech:xsd:camt.053.001.xx namespace)"
        )
    doc = _Doc(name.namespace or "")
    statements = doc.all(root, "BkToCstmrStmt/Stmt")
    if not statements:
        raise ImportFileError(f"line {root.sourceline}: camt.053 without a statement (Stmt)")
    entries = Entries()
    for statement in statements:
        _read_statement(doc, statement, entries)
    return entries


def _amount(doc: _Doc, element: etree._Element, path: str) -> Decimal:
    text = doc.text(element, path)
    if not _AMOUNT.fullmatch(text):
        raise ImportFileError(f"line {element.sourceline}: camt.053 {path} is not an amount")
    value = Decimal(text)
    return value if doc.text(element, "CdtDbtInd") != "DBIT" else -value


def _read_statement(doc: _Doc, statement: etree._Element, entries: Entries) -> None:
    balances = {doc.text(b, "Tp/CdOrPrtry/Cd"): b for b in doc.all(statement, "Bal")}
    opening = next((balances[c] for c in _OPENING if c in balances), None)
    closing = next((balances[c] for c in _CLOSING if c in balances), None)
    if opening is None or closing is None:
        raise ImportFileError(
            f"line {statement.sourceline}: camt.053 statement lacks its opening (OPBD) or "
            "closing (CLBD) balance"
        )
    account = account_cell(doc.text(statement, "Acct/Id/IBAN", "Acct/Id/Othr/Id"))
    booked = [n for n in doc.all(statement, "Ntry") if _status(doc, n) == "BOOK"]
    movements = sum((_amount(doc, n, "Amt") for n in booked), Decimal(0))
    start, end = _amount(doc, opening, "Amt"), _amount(doc, closing, "Amt")
    if start + movements != end:
        raise ImportFileError(
            f"line {statement.sourceline}: camt.053 balances do not add up (opening {start} + "
            f"booked entries {movements} is not the closing {end}): cut short or altered"
        )
    for entry in doc.all(statement, "Ntry"):
        details = doc.all(entry, "NtryDtls/TxDtls")
        credit = doc.text(entry, "CdtDbtInd") == "CRDT"
        reversal = doc.text(entry, "RvslInd").lower() in ("true", "1")
        if _status(doc, entry) != "BOOK" or not credit or reversal:
            entries.skipped += max(1, len(details))
            continue
        each: list[etree._Element | None] = [*details] or [None]
        for tx in each:
            if tx is not None and doc.text(tx, "CdtDbtInd") not in ("", "CRDT"):
                entries.skipped += 1
                continue
            line = (tx if tx is not None else entry).sourceline or 0
            entries.rows.append((line, _cells(doc, entry, tx, len(details) <= 1, account)))


def _amount_text(amount: etree._Element | None) -> str:
    text = (amount.text or "").strip() if amount is not None else ""
    # "245.670" is 245,67 zł in XML; what is no amount goes on as it is, to be refused.
    return amount_cell(Decimal(text)) if _AMOUNT.fullmatch(text) else text


def _status(doc: _Doc, entry: etree._Element) -> str:
    return doc.text(entry, "Sts/Cd", "Sts")


def _cells(
    doc: _Doc, entry: etree._Element, tx: etree._Element | None, only: bool, account: str
) -> dict[str, str]:
    # The entry's amount and reference are the transfer's only when the entry holds one.
    own = tx if tx is not None else entry
    amount = doc.find(own, "Amt", "AmtDtls/TxAmt/Amt")
    if amount is None and only:
        amount = doc.find(entry, "Amt")
    parties = doc.find(own, "RltdPties")
    reference = doc.text(own, "Refs/AcctSvcrRef") or (
        doc.text(entry, "AcctSvcrRef") if only else ""
    )
    end_to_end = doc.text(own, "Refs/EndToEndId")
    if not reference and end_to_end.upper() != "NOTPROVIDED":
        reference = end_to_end
    paid_into = doc.text(parties, "CdtrAcct/Id/IBAN", "CdtrAcct/Id/Othr/Id")
    return {
        "booking_date": doc.text(entry, "BookgDt/Dt", "BookgDt/DtTm")[:10],
        "amount": _amount_text(amount),
        "currency": str(amount.get("Ccy", "")) if amount is not None else "",
        "target_account": account_cell(paid_into) or account,
        "sender_account": account_cell(
            doc.text(parties, "DbtrAcct/Id/IBAN", "DbtrAcct/Id/Othr/Id")
        ),
        "sender_name": doc.text(parties, "Dbtr/Nm", "Dbtr/Pty/Nm"),
        "title": "".join(u.text or "" for u in doc.all(own, "RmtInf/Ustrd")),
        "bank_reference": reference,
    }
