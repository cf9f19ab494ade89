"""Money: exact grosze, Polish notation, and the wire format of money fields."""

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from ebok.money import Grosze, Money, MoneyError, MoneyField

NBSP = "\u00a0"
LIMIT = 2**63 - 1
amounts = st.integers(min_value=-LIMIT, max_value=LIMIT)
small = st.integers(min_value=-(10**12), max_value=10**12)


@pytest.mark.parametrize(
    ("text", "grosze"),
    [
        ("123,45", 12345),
        ("123.45", 12345),
        ("0,5", 50),
        ("7", 700),
        ("  7 ", 700),
        ("0", 0),
        ("-0,00", 0),
        ("-12,34", -1234),
        ("1234,56", 123456),
        ("1 234,56", 123456),
        (f"1{NBSP}234,56{NBSP}zł", 123456),
        ("1\u202f234\u202f567,89 zł", 123456789),
        ("1234,56 PLN", 123456),
        ("1234,56zł", 123456),
    ],
)
def test_parse_accepts(text: str, grosze: int) -> None:
    assert Money.parse(text) == Money(grosze)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("123,456", "more than 2 decimal places"),
        ("1,234", "more than 2 decimal places"),  # could be English grouping: refuse, not guess
        ("0,001", "more than 2 decimal places"),
        ("", "must look like"),
        ("abc", "must look like"),
        ("12,3,4", "must look like"),
        ("1.234,56", "must look like"),
        ("1 23,45", "must look like"),
        ("12,", "must look like"),
        (",5", "must look like"),
        ("+5", "must look like"),
        ("1e3", "must look like"),
        ("--5", "must look like"),
        ("\u0661\u0662", "must look like"),  # Arabic-Indic digits
        ("12 EUR", "must look like"),
    ],
)
def test_parse_rejects_text(text: str, problem: str) -> None:
    with pytest.raises(MoneyError, match=problem):
        Money.parse(text)


@pytest.mark.parametrize(
    ("value", "grosze"),
    [
        (Decimal("123.45"), 12345),
        (Decimal("1.230"), 123),  # the value has 2 places, only the notation has 3
        (Decimal("1E+2"), 10000),
        (Decimal("-0"), 0),
        (Decimal("-0.01"), -1),
    ],
)
def test_parse_decimal(value: Decimal, grosze: int) -> None:
    assert Money.parse(value) == Money(grosze)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (Decimal("1.235"), "more than 2 decimal places"),
        (Decimal("NaN"), "finite"),
        (Decimal("sNaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        (Decimal("-Infinity"), "finite"),
        (Decimal("1E+30"), "too large"),
        (Decimal("1E+999999"), "too large"),
    ],
)
def test_parse_rejects_decimal(value: Decimal, problem: str) -> None:
    with pytest.raises(MoneyError, match=problem):
        Money.parse(value)


@pytest.mark.parametrize("value", [1.5, 0.1, float("nan"), float("inf"), 5, True, None, b"1,00"])
def test_parse_rejects_other_types(value: object) -> None:
    with pytest.raises(TypeError, match="str or Decimal"):
        Money.parse(value)  # type: ignore[arg-type]


def test_parse_int_points_to_constructor() -> None:
    with pytest.raises(TypeError, match=r"Money\(grosze\)"):
        Money.parse(5)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [1.0, True, "100", Decimal(1), None])
def test_constructor_takes_int_only(value: object) -> None:
    with pytest.raises(TypeError, match="integer grosze"):
        Money(value)  # type: ignore[arg-type]


def test_constructor_bounds() -> None:
    assert Money(LIMIT).grosze == LIMIT and Money(-LIMIT).grosze == -LIMIT
    with pytest.raises(MoneyError, match="too large"):
        Money(LIMIT + 1)
    with pytest.raises(MoneyError, match="too large"):
        Money(LIMIT) + Money(1)


@pytest.mark.parametrize(
    ("grosze", "text"),
    [
        (0, "0,00 zł"),
        (5, "0,05 zł"),
        (99999, "999,99 zł"),
        (123456, "1 234,56 zł"),
        (-123456, "-1 234,56 zł"),
        (-5, "-0,05 zł"),
        (100_000_000, "1 000 000,00 zł"),
    ],
)
def test_format_pl(grosze: int, text: str) -> None:
    # Spelled with plain spaces here for readability; the output uses U+00A0.
    formatted = Money(grosze).format_pl()
    assert formatted == text.replace(" ", NBSP)
    assert str(Money(grosze)) == formatted


def test_arithmetic() -> None:
    a, b = Money(1000), Money(250)
    assert a + b == Money(1250) and a - b == Money(750) and b - a == Money(-750)
    assert -a == Money(-1000) and abs(Money(-3)) == Money(3)
    assert a * 3 == Money(3000) and 3 * a == Money(3000) and a * -1 == -a
    assert sum([a, b, b]) == Money(1500) and sum([], Money.ZERO) == Money.ZERO
    assert b < a <= a and max(a, b) is a and sorted([a, b]) == [b, a]
    assert not Money.ZERO and a
    assert len({Money(1), Money(1), Money(2)}) == 2
    assert a.to_decimal() == Decimal("10.00") and str(Money(-5).to_decimal()) == "-0.05"


@pytest.mark.parametrize(
    "operation",
    [
        lambda m: m + 1,
        lambda m: 1 + m,
        lambda m: m - 1,
        lambda m: m * 1.5,
        lambda m: m * Decimal(2),
        lambda m: m * True,
        lambda m: m * m,
        lambda m: m < 5,
    ],
)
def test_unitless_operands_are_refused(operation: object) -> None:
    with pytest.raises(TypeError):
        operation(Money(100))  # type: ignore[operator]


def test_immutable_and_not_equal_to_int() -> None:
    money = Money(100)
    with pytest.raises(dataclasses.FrozenInstanceError):
        money.grosze = 5  # type: ignore[misc]
    assert money != 100  # type: ignore[comparison-overlap]


@given(amounts)
def test_format_roundtrip(grosze: int) -> None:
    money = Money(grosze)
    assert Money.parse(money.format_pl()) == money
    assert Money.parse(money.to_decimal()) == money
    assert Money.parse(str(money.to_decimal())) == money


@given(st.booleans(), st.integers(0, 10**15), st.text("0123456789", min_size=1, max_size=2))
def test_parse_matches_reference(negative: bool, units: int, frac: str) -> None:
    expected = units * 100 + int(frac) * (10 if len(frac) == 1 else 1)
    text = ("-" if negative else "") + f"{units},{frac}"
    assert Money.parse(text) == Money(-expected if negative else expected)
    assert Money.parse(text.replace(",", ".")) == Money.parse(text)


@given(st.integers(0, 10**9), st.text("0123456789", min_size=3, max_size=6))
def test_more_than_two_places_always_refused(units: int, frac: str) -> None:
    with pytest.raises(MoneyError, match="more than 2 decimal places"):
        Money.parse(f"{units},{frac}")


@given(st.lists(small, max_size=30))
def test_sum_equals_sum_of_ints(values: list[int]) -> None:
    assert sum((Money(v) for v in values), Money.ZERO) == Money(sum(values))
    assert sum(Money(v) for v in values) == (Money(sum(values)) if values else 0)


@given(small, small, st.integers(-1000, 1000))
def test_arithmetic_matches_ints(a: int, b: int, k: int) -> None:
    assert Money(a) - Money(b) + Money(b) == Money(a)
    assert (Money(a) < Money(b)) == (a < b) and (Money(a) == Money(b)) == (a == b)
    assert Money(a) * k == Money(a * k) and -Money(a) == Money(-a)


class Invoice(BaseModel):
    amount: Grosze
    parts: list[MoneyField] = []
    paid: Money | None = None


def test_model_accepts_int_grosze_and_strings() -> None:
    inv = Invoice.model_validate_json(
        '{"amount": 12345, "parts": ["1 234,56 zł", 5], "paid": "0.5"}'
    )
    assert inv.amount == Money(12345) and inv.parts == [Money(123456), Money(5)]
    assert inv.paid == Money(50)
    py = Invoice(amount=Decimal("1.23"), parts=[Money(7)], paid=None)
    assert py.amount == Money(123)


def test_model_serializes_int_grosze() -> None:
    inv = Invoice(amount=Money(12345), parts=[Money(-1)], paid=Money(0))
    assert inv.model_dump() == {"amount": 12345, "parts": [-1], "paid": 0}
    assert inv.model_dump_json() == '{"amount":12345,"parts":[-1],"paid":0}'
    assert Invoice.model_validate_json(inv.model_dump_json()) == inv


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ('{"amount": 123.45}', "number with a fraction is refused"),
        ('{"amount": 100.0}', "number with a fraction is refused"),
        ('{"amount": "12345"}', "needs a decimal part"),  # grosze sent as a string?
        ('{"amount": "1,234"}', "more than 2 decimal places"),
        ('{"amount": "abc"}', "must look like"),
        ('{"amount": true}', "integer grosze or a string"),
        ('{"amount": null}', "integer grosze or a string"),
        ('{"amount": 9223372036854775808}', "too large"),
    ],
)
def test_model_errors_name_the_field(payload: str, problem: str) -> None:
    with pytest.raises(ValidationError) as info:
        Invoice.model_validate_json(payload)
    (error,) = info.value.errors()
    assert error["loc"] == ("amount",) and error["type"] == "money"
    assert problem in error["msg"]


def test_nested_error_location() -> None:
    with pytest.raises(ValidationError) as info:
        Invoice.model_validate_json('{"amount": 1, "parts": [1, 2.5]}')
    assert info.value.errors()[0]["loc"] == ("parts", 1)


def test_json_schema_documents_both_inputs() -> None:
    schema = Invoice.model_json_schema()["properties"]["amount"]
    assert [s["type"] for s in schema["anyOf"]] == ["integer", "string"]
    assert "grosze" in schema["description"]
    out = Invoice.model_json_schema(mode="serialization")["properties"]["amount"]
    assert out["type"] == "integer"
