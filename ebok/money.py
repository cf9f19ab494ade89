"""Money in Polish złoty, held as integer grosze so no amount is ever rounded by accident."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, ClassVar, TypeAlias

from pydantic import Field, GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

__all__ = ["Grosze", "Money", "MoneyError", "MoneyField", "GROUP_SEPARATOR"]

# U+00A0 NO-BREAK SPACE, the group separator CLDR gives for Polish: an amount never wraps
# across lines in an e-mail or PDF. The same character sits between the amount and "zł".
GROUP_SEPARATOR = "\u00a0"

# Amounts land in PostgreSQL BIGINT columns; refusing larger values here keeps the failure at
# the edge with a clear message instead of a database error halfway through a transaction.
_LIMIT = 2**63 - 1

# Space, no-break space, narrow no-break space and thin space: what people and word processors
# put between thousands. Groups must be exactly three digits, so "1 23,45" is refused.
_SPACES = " \u00a0\u202f\u2009"
_AMOUNT = re.compile(
    rf"(?P<sign>-?)(?P<units>[0-9]{{1,3}}(?:[{_SPACES}][0-9]{{3}})+|[0-9]+)"
    rf"(?:[.,](?P<frac>[0-9]+))?(?:[{_SPACES}]?(?:zł|PLN))?"
)

# For the JSON schema only (ECMA regex dialect, so no named groups); _AMOUNT is what decides.
_WIRE_PATTERN = r"^-?[0-9][0-9 \u00a0\u202f\u2009]*[.,][0-9]{1,2}\s?(zł|PLN)?$"


class MoneyError(ValueError):
    """An amount that cannot be taken as an exact number of grosze."""


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in PLN as integer grosze; ``Money(12345)`` is 123,45 zł."""

    grosze: int
    ZERO: ClassVar[Money]

    def __post_init__(self) -> None:
        # bool is an int subclass, and float would smuggle in binary rounding.
        if type(self.grosze) is not int:
            raise TypeError(f"Money takes integer grosze, not {type(self.grosze).__name__}")
        if abs(self.grosze) > _LIMIT:
            raise MoneyError("amount is too large (must fit a 64-bit integer of grosze)")

    @classmethod
    def parse(cls, value: str | Decimal) -> Money:
        """Reads "123,45", "123.45", "-5", "1 234,56 zł" or a Decimal, with at most 2 places."""
        if isinstance(value, Decimal):
            return cls._from_decimal(value)
        if not isinstance(value, str):
            # An int is ambiguous here (złoty or grosze?); Money(int) is the grosze spelling.
            hint = " (use Money(grosze) for integer grosze)" if isinstance(value, int) else ""
            raise TypeError(f"amount must be a str or Decimal, not {type(value).__name__}{hint}")
        text = value.strip()
        match = _AMOUNT.fullmatch(text)
        if match is None:
            raise MoneyError(
                'amount must look like "123,45" or "1 234.56" (digits, optional 1-2 decimals)'
            )
        frac = match["frac"] or ""
        # Three digits after a separator are refused, not guessed: "1,234" may mean 1234.
        if len(frac) > 2:
            raise MoneyError("amount has more than 2 decimal places")
        units = re.sub(f"[{_SPACES}]", "", match["units"])
        grosze = int(units) * 100 + int(frac.ljust(2, "0"))
        return cls(-grosze if match["sign"] else grosze)

    @classmethod
    def _from_decimal(cls, value: Decimal) -> Money:
        if not value.is_finite():
            raise MoneyError("amount must be a finite number (NaN and infinity are refused)")
        if value.adjusted() > 20:  # checked before scaling, so 1E+999999 costs nothing
            raise MoneyError("amount is too large (must fit a 64-bit integer of grosze)")
        scaled = value.scaleb(2)
        # Decimal("1.230") is fine, Decimal("1.235") is not: the value decides, never rounding.
        if scaled != scaled.to_integral_value():
            raise MoneyError("amount has more than 2 decimal places")
        return cls(int(scaled))

    def to_decimal(self) -> Decimal:
        """The amount in złoty with exactly two places, e.g. Decimal("123.45")."""
        return Decimal(self.grosze).scaleb(-2)

    def format_pl(self) -> str:
        """Polish notation: "1 234,56 zł" with U+00A0 as group and unit separator."""
        units, frac = divmod(abs(self.grosze), 100)
        grouped = f"{units:,}".replace(",", GROUP_SEPARATOR)
        sign = "-" if self.grosze < 0 else ""
        return f"{sign}{grouped},{frac:02d}{GROUP_SEPARATOR}zł"

    def __str__(self) -> str:
        return self.format_pl()

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.grosze + other.grosze)

    def __radd__(self, other: int) -> Money:
        # Only the literal 0 that sum() starts from; any other int has no unit.
        if type(other) is int and other == 0:
            return self
        return NotImplemented

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.grosze - other.grosze)

    def __neg__(self) -> Money:
        return Money(-self.grosze)

    def __abs__(self) -> Money:
        return Money(abs(self.grosze))

    def __mul__(self, factor: int) -> Money:
        # Fractional factors (interest, VAT) need an explicit rounding rule, so they are not here.
        if type(factor) is not int:
            return NotImplemented
        return Money(self.grosze * factor)

    __rmul__ = __mul__

    def __bool__(self) -> bool:
        return self.grosze != 0

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate,
            json_schema_input_schema=core_schema.union_schema(
                [core_schema.int_schema(), core_schema.str_schema(pattern=_WIRE_PATTERN)]
            ),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda money: money.grosze, return_schema=core_schema.int_schema()
            ),
        )


Money.ZERO = Money(0)


def _validate(value: Any) -> Money:
    if isinstance(value, Money):
        return value
    try:
        if type(value) is int:
            return Money(value)
        if isinstance(value, str | Decimal):
            money = Money.parse(value)
            # On the wire a bare "12345" is too easily grosze sent as a string: refuse to guess.
            if isinstance(value, str) and not re.search("[.,]", value):
                raise MoneyError(
                    'a string amount needs a decimal part, like "123,45"; '
                    "send integer grosze as a JSON number"
                )
            return money
    except MoneyError as e:
        raise PydanticCustomError("money", str(e)) from None
    if isinstance(value, float):
        raise PydanticCustomError(
            "money",
            'amount must be integer grosze or a string like "123,45"; '
            "a number with a fraction is refused because it cannot hold grosze exactly",
        )
    raise PydanticCustomError("money", 'amount must be integer grosze or a string like "123,45"')


# The field annotation for models: accepts int grosze, a "123,45" string (or Money/Decimal
# from Python), and always serializes as int grosze. Money works alone too; this name documents
# the wire format at the declaration.
Grosze: TypeAlias = Annotated[
    Money, Field(description='PLN amount: integer grosze, or a string like "123,45"')
]
MoneyField: TypeAlias = Grosze
