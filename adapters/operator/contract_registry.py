"""The sandbox DSO's contract registry: a CSV file of the contracts it knows.

The file has the header ``ppe,holder_id,contract_type,status`` and optionally ``area`` (any
column order); ``contract_type`` is ``distribution`` or ``comprehensive``, ``status`` is
``active`` or ``terminated``, ``area`` is the PPE's outage area (blank: derived from the PPE).
Lines starting with ``#`` and blank lines are ignored. A PPE may appear more than once (its
history), with at most one active row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path

from adapters.operator.base import ContractType, normalize_holder_id
from ebok.ids import InvalidIdentifier, normalize_ppe

__all__ = [
    "AREA_COLUMN",
    "BUNDLED_REGISTRY",
    "COLUMNS",
    "RegistryError",
    "RegistryRow",
    "RowStatus",
    "index_rows",
    "load_registry",
    "parse_registry",
]

BUNDLED_REGISTRY = "sandbox_registry.csv"  # next to this module, shipped as package data
COLUMNS = ("ppe", "holder_id", "contract_type", "status")
AREA_COLUMN = "area"  # optional: the PPE's outage area; without it the area is derived


class RegistryError(ValueError):
    """The registry file is unusable; the message names the file and line."""


class RowStatus(StrEnum):
    ACTIVE = "active"
    TERMINATED = "terminated"


@dataclass(frozen=True)
class RegistryRow:
    """One contract the DSO knows of; identifiers are normalized on construction."""

    ppe: str
    holder_id: str = field(repr=False)  # personal data: kept out of logs
    contract_type: ContractType
    status: RowStatus = RowStatus.ACTIVE
    area: str | None = None  # the DSO's outage area of the PPE; None: derived from the PPE

    def __post_init__(self) -> None:
        object.__setattr__(self, "ppe", normalize_ppe(self.ppe))
        object.__setattr__(self, "area", (self.area or "").strip() or None)
        object.__setattr__(self, "holder_id", normalize_holder_id(self.holder_id))
        object.__setattr__(self, "contract_type", ContractType(self.contract_type))
        object.__setattr__(self, "status", RowStatus(self.status))


def _data_lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, line


def parse_registry(text: str, source: str = "registry") -> list[RegistryRow]:
    """Rows of a registry CSV; :class:`RegistryError` naming ``source`` and the line if bad."""
    lines = _data_lines(text)
    header_at = next(lines, None)
    if header_at is None:
        raise RegistryError(f"{source}: no header line ({','.join(COLUMNS)})")
    number, header_line = header_at
    header = [name.strip() for name in next(csv.reader([header_line]))]
    if sorted(header) not in (sorted(COLUMNS), sorted((*COLUMNS, AREA_COLUMN))):
        raise RegistryError(
            f"{source} line {number}: header must be {','.join(COLUMNS)}[,{AREA_COLUMN}]"
        )
    rows: list[RegistryRow] = []
    active_at: dict[str, int] = {}
    for number, line in lines:
        cells = [cell.strip() for cell in next(csv.reader([line]))]
        if len(cells) != len(header):
            raise RegistryError(
                f"{source} line {number}: expected {len(header)} columns, got {len(cells)}"
            )
        row = dict(zip(header, cells, strict=True))
        try:
            contract_type = ContractType(row["contract_type"])
        except ValueError:
            raise RegistryError(
                f"{source} line {number}: contract_type must be distribution or comprehensive"
            ) from None
        try:
            status = RowStatus(row["status"])
        except ValueError:
            raise RegistryError(
                f"{source} line {number}: status must be active or terminated"
            ) from None
        try:
            entry = RegistryRow(
                row["ppe"], row["holder_id"], contract_type, status, row.get(AREA_COLUMN)
            )
        except InvalidIdentifier as e:  # its message never repeats the (personal) value
            raise RegistryError(f"{source} line {number}: {e}") from None
        if status is RowStatus.ACTIVE:
            if entry.ppe in active_at:
                raise RegistryError(
                    f"{source} line {number}: second active contract for the PPE of line "
                    f"{active_at[entry.ppe]}"
                )
            active_at[entry.ppe] = number
        rows.append(entry)
    return rows


def load_registry(path: Path | None = None) -> list[RegistryRow]:
    """Rows of the registry file at ``path``, or of the bundled one if ``path`` is None."""
    if path is None:
        bundled = resources.files("adapters.operator").joinpath(BUNDLED_REGISTRY)
        return parse_registry(bundled.read_text(encoding="utf-8"), BUNDLED_REGISTRY)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RegistryError(f"{path}: cannot read the contract registry: {e}") from e
    return parse_registry(text, str(path))


def index_rows(rows: Iterable[RegistryRow]) -> dict[str, RegistryRow]:
    """The row that decides each PPE: its active contract, else its last one."""
    decisive: dict[str, RegistryRow] = {}
    for row in rows:
        current = decisive.get(row.ppe)
        if current is not None and current.status is RowStatus.ACTIVE:
            if row.status is RowStatus.ACTIVE:
                raise ValueError(f"PPE {row.ppe} has two active contracts")
            continue
        decisive[row.ppe] = row
    return decisive
