"""Reading CSV files exported by other systems (billing, the bank), row by row.

What every such file needs and nothing about its columns: UTF-8 decoded a line at a time so
an error names the line, the delimiter of Polish spreadsheets, a checked header, and a report
of bad rows by line and field that never echoes a value (it may be personal data).
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, TextIO, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

__all__ = [
    "FORMULA_PREFIXES", "ImportFileError", "RowError", "RowsReport", "check_header", "iso_date",
    "lines_of", "read_rows", "utf8_lines", "validate_row",
]  # fmt: skip

M = TypeVar("M", bound=BaseModel)

# What makes a spreadsheet read a cell as a formula (CSV injection), as OWASP lists them.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class ImportFileError(Exception):
    """The file as a whole cannot be used: unreadable, not UTF-8 text, or a wrong header."""


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@contextmanager
def lines_of(source: str | PathLike[str] | TextIO) -> Iterator[Iterator[str]]:
    """The lines of a file given by path (decoded here, a line at a time, so an error names the
    line) or already open as text; a file that cannot be used raises ImportFileError."""
    if not isinstance(source, str | PathLike):
        try:
            yield iter(source)
        except UnicodeDecodeError:
            raise ImportFileError("not UTF-8 text (save as CSV UTF-8)") from None
        return
    try:
        binary = Path(source).open("rb")
    except OSError as e:
        raise ImportFileError(f"cannot read the file: {e.strerror or e}") from None
    with binary:
        yield utf8_lines(binary)


@dataclass
class RowsReport:
    """What a file's rows came to; each reader adds what it made of the good ones."""

    rows_read: int = 0
    bad: list[RowError] = field(default_factory=list)  # by line; a row may have several

    @property
    def bad_lines(self) -> list[int]:
        return sorted({e.line for e in self.bad})

    @property
    def ok(self) -> bool:
        return not self.bad


def validate_row(line: int, model: type[M], cells: dict[str, str]) -> M | list[RowError]:
    """The row validated by ``model``, or an error per bad field (messages only, no input)."""
    try:
        return model.model_validate(cells)
    except ValidationError as e:
        return [
            RowError(line, str(err["loc"][0]) if err["loc"] else "row", err["msg"])
            for err in e.errors(include_url=False, include_input=False)
        ]


def iso_date(value: Any) -> Any:
    """A before-validator: pydantic alone would also take "1762300800" (a Unix time)."""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise PydanticCustomError("format", 'must be a date like "2026-11-05"')
    return value


def utf8_lines(binary: Iterable[bytes]) -> Iterator[str]:
    """Lines of a binary file; decoded one by one, so an error names the line (a text stream
    decodes by chunks)."""
    for number, raw in enumerate(binary, start=1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise ImportFileError(f"line {number}: not UTF-8 text (save as CSV UTF-8)") from None


def read_rows(
    lines: Iterator[str],
    header: Callable[[list[str]], list[str]],
    amount_column: str | None = None,
) -> Iterator[tuple[int, dict[str, str] | RowError]]:
    """(line, stripped cells by column) for each non-blank row.

    ``header`` checks the first row and returns the column names (raising ImportFileError);
    ``amount_column`` names a column whose unquoted "245,67" would split in two cells.
    """
    first = next(lines, "")
    if not first.strip():
        raise ImportFileError("the file is empty: the first line must be the header")
    # Spreadsheets set to Polish save "CSV" with semicolons, as the comma is the decimal mark.
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter, strict=True)
    names: list[str] | None = None
    while True:
        line = reader.line_num + 1  # where the row starts: a quoted cell may span lines
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise ImportFileError(f"line {line}: not valid CSV: {e}") from None
        if names is None:
            names = header(cells)
        elif not any(c.strip() for c in cells):
            continue
        elif len(cells) != len(names):
            msg = f"has {len(cells)} cells, the header {len(names)}"
            if len(cells) == len(names) + 1 and amount_column in names and delimiter == ",":
                msg += ' (an amount like 245,67 needs quotes: "245,67")'
            yield line, RowError(line, "row", msg)
        else:
            yield line, dict(zip(names, (c.strip() for c in cells), strict=True))


def check_header(cells: list[str], columns: tuple[str, ...]) -> list[str]:
    """The column names of a file that must have exactly ``columns``, in any order."""
    names = [c.strip().lstrip("\ufeff").lower() for c in cells]
    problems = []
    if missing := [c for c in columns if c not in names]:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unknown := [c for c in names if c not in columns]:
        problems.append(f"unknown columns: {', '.join(map(repr, unknown))}")
    if twice := sorted({c for c in names if names.count(c) > 1}):
        problems.append(f"columns given twice: {', '.join(twice)}")
    if problems:
        raise ImportFileError(f"header: {'; '.join(problems)} (expected {','.join(columns)})")
    return names
