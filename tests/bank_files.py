"""Writing transfers as the statements a Polish bank exports (MT940 with ZBP ``:86:``, camt.053),
so tests can read them back; cut the way banks cut: a title into 27-character ZBP subfields or
35-character ``Ustrd`` lines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from facade.bank_statement import IncomingTransfer

DATA = Path(__file__).parent / "data"
ZBP_WIDTH, USTRD_WIDTH = 27, 35
OWN_ACCOUNT = "11109010140000000000012345"  # the utility's own account at its bank


def pieces(text: str, width: int) -> list[str]:
    """``text`` in pieces of at most ``width``; a piece never ends in a space, as a statement
    line's trailing spaces do not survive (the space goes to the start of the next piece)."""
    out: list[str] = []
    while text:
        cut = min(width, len(text))
        while cut > 1 and text[cut - 1] == " ":
            cut -= 1
        out.append(text[:cut])
        text = text[cut:]
    return out


def _yymmdd(day: date) -> str:
    return day.strftime("%y%m%d")


def _mt940_amount(grosze: int) -> str:
    return f"{grosze // 100},{grosze % 100:02d}"


def _zbp(t: IncomingTransfer, separator: str) -> list[str]:
    fields = [("00", "PRZELEW PRZYCHODZACY")]
    fields += [(f"{20 + i}", p) for i, p in enumerate(pieces(t.title, ZBP_WIDTH))]
    fields += [(f"{32 + i}", p) for i, p in enumerate(pieces(t.sender_name, ZBP_WIDTH))]
    if t.sender_account:
        pl = t.sender_account.isdigit()
        fields.append(("38", ("PL" if pl else "") + t.sender_account))
    first, *rest = (f"{separator}{key}{value}" for key, value in fields)
    return [f":86:020{first}", *rest]


def write_mt940(transfers: Sequence[IncomingTransfer], separator: str = "~") -> str:
    """One statement per account paid into, in the order they first appear."""
    accounts = list(dict.fromkeys(t.target_account for t in transfers))
    lines: list[str] = []
    for n, account in enumerate(accounts, start=1):
        mine = [t for t in transfers if t.target_account == account]
        day = mine[0].booking_date
        total = sum(t.amount.grosze for t in mine)
        lines += [f":20:ST{_yymmdd(day)}/{n}", f":25:/PL{account}", f":28C:{n:05d}/1"]
        lines.append(f":60F:C{_yymmdd(day)}PLN0,00")
        for t in mine:
            booked = t.booking_date
            lines.append(
                f":61:{_yymmdd(booked)}{booked:%m%d}CN{_mt940_amount(t.amount.grosze)}"
                f"NTRFNONREF//{t.bank_reference}"
            )
            lines += _zbp(t, separator)
        lines += [f":62F:C{_yymmdd(mine[-1].booking_date)}PLN{_mt940_amount(total)}", "-"]
    return "\r\n".join(lines) + "\r\n"


def _camt_tx(t: IncomingTransfer, version: str) -> str:
    name = f"<Nm>{escape(t.sender_name)}</Nm>"
    debtor = f"<Dbtr><Pty>{name}</Pty></Dbtr>" if version == "08" else f"<Dbtr>{name}</Dbtr>"
    sender = t.sender_account or ""
    if sender:
        sender = "PL" + sender if sender.isdigit() else sender
        debtor += f"<DbtrAcct><Id><IBAN>{sender}</IBAN></Id></DbtrAcct>"
    ustrd = "".join(f"<Ustrd>{escape(p)}</Ustrd>" for p in pieces(t.title, USTRD_WIDTH))
    return (
        f"<TxDtls><Refs><AcctSvcrRef>{t.bank_reference}</AcctSvcrRef></Refs>"
        f"<RltdPties>{debtor}<CdtrAcct><Id><IBAN>PL{t.target_account}</IBAN></Id></CdtrAcct>"
        f"</RltdPties><RmtInf>{ustrd}</RmtInf></TxDtls>"
    )


def _camt_entry(t: IncomingTransfer, version: str) -> str:
    status = "<Sts><Cd>BOOK</Cd></Sts>" if version == "08" else "<Sts>BOOK</Sts>"
    return (
        f'<Ntry><Amt Ccy="PLN">{t.amount.to_decimal()}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        f"{status}<BookgDt><Dt>{t.booking_date.isoformat()}</Dt></BookgDt>"
        f"<NtryDtls>{_camt_tx(t, version)}</NtryDtls></Ntry>"
    )


def _balance(code: str, grosze: int) -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="PLN">{grosze // 100}.{grosze % 100:02d}</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-01</Dt></Dt></Bal>"
    )


def write_camt053(transfers: Iterable[IncomingTransfer], version: str = "08") -> str:
    transfers = list(transfers)
    total = sum(t.amount.grosze for t in transfers)
    entries = "".join(_camt_entry(t, version) for t in transfers)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}">'
        "<BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-12-01T23:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>S1</Id><Acct><Id><IBAN>PL{OWN_ACCOUNT}</IBAN></Id><Ccy>PLN</Ccy></Acct>"
        f"{_balance('OPBD', 0)}{_balance('CLBD', total)}{entries}</Stmt>"
        "</BkToCstmrStmt></Document>\n"
    )
