"""Money, rates and named rounding (DESIGN.md conventions: integers, rounding only where a rule says)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lionrock.kernel.money import (
    Currency,
    Money,
    Rate,
    Rounding,
    format_minor,
    round_div,
    round_to_unit,
    to_minor,
)
from lionrock.kernel.price import MAX_PRICE_TICKS, consideration_minor, format_price, parse_price


@pytest.mark.parametrize(
    ("n", "d", "mode", "want"),
    [
        (5, 2, Rounding.HALF_UP, 3),
        (-5, 2, Rounding.HALF_UP, -3),
        (5, 2, Rounding.HALF_EVEN, 2),
        (7, 2, Rounding.HALF_EVEN, 4),
        (1, 100, Rounding.UP, 1),
        (100, 100, Rounding.UP, 1),
        (199, 100, Rounding.DOWN, 1),
        (149, 100, Rounding.HALF_UP, 1),
        (150, 100, Rounding.HALF_UP, 2),
    ],
)
def test_round_div_named_modes_match_definition(n: int, d: int, mode: Rounding, want: int) -> None:
    assert round_div(n, d, mode) == want


@given(st.integers(-(10**15), 10**15), st.integers(1, 10**9))
def test_round_div_agrees_with_decimal(n: int, d: int) -> None:
    from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, localcontext

    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(n) / Decimal(d)
        assert round_div(n, d, Rounding.HALF_UP) == int(exact.quantize(Decimal(1), ROUND_HALF_UP))
        assert round_div(n, d, Rounding.HALF_EVEN) == int(exact.quantize(Decimal(1), ROUND_HALF_EVEN))
        away = ROUND_CEILING if n >= 0 else ROUND_FLOOR
        assert round_div(n, d, Rounding.UP) == int(exact.quantize(Decimal(1), away))


def test_stamp_duty_rounds_up_to_the_dollar() -> None:
    """Stamp duty 0.1% of the consideration, rounded up to the nearest dollar (docs/rules.md section 7)."""
    duty = Rate.parse("0.1%")
    assert duty.apply(100_000_00, Rounding.UP, unit_minor=100) == 100_00
    assert duty.apply(100_000_01, Rounding.UP, unit_minor=100) == 101_00
    assert round_to_unit(1, 100, Rounding.UP) == 100


def test_rate_parse_is_exact() -> None:
    assert Rate.parse("0.00565%") == Rate(565, 10_000_000)
    assert Rate.parse("1.010085") == Rate(1010085, 1000000)
    assert str(Rate.parse("0.0027%")) == "0.0027%"
    with pytest.raises(ValueError, match="not a rate"):
        Rate.parse("abc")


def test_money_parse_and_format() -> None:
    assert Money.parse("HK$5,000,000") == Money(Currency.HKD, 500_000_000)
    assert Money.parse("CNY 12.5") == Money(Currency.CNY, 1250)
    assert str(Money(Currency.USD, 123456)) == "USD 1,234.56"
    assert format_minor(-5) == "-0.05"
    with pytest.raises(ValueError, match="decimal places"):
        to_minor("1.001")
    with pytest.raises(ValueError, match="no currency"):
        Money.parse("12.00")


def test_money_refuses_mixed_currencies() -> None:
    with pytest.raises(AssertionError, match="Invariant"):
        Money(Currency.HKD, 1) + Money(Currency.CNY, 1)


def test_price_ticks_round_trip() -> None:
    assert parse_price("12.34") == 12_340
    assert parse_price("0.011") == 11
    assert format_price(12_340) == "12.34"
    assert format_price(11) == "0.011"
    with pytest.raises(ValueError, match="finer than 0.001"):
        parse_price("1.0005")
    with pytest.raises(ValueError, match="positive"):
        parse_price("0")


@given(st.integers(1, MAX_PRICE_TICKS))  # 10**7 ticks (10,000) is above the parser's bound since issue 13
def test_price_format_parse_round_trip(ticks: int) -> None:
    assert parse_price(format_price(ticks)) == ticks


def test_consideration_in_cents() -> None:
    assert consideration_minor(12_340, 1_000) == 1_234_000  # HK$12,340.00
    assert consideration_minor(11, 5) == 6  # 0.055 -> 0.06 half-up
