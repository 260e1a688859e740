"""The kernel's bounded parsers (issue 13, hardening): every string either parses to a value within
its documented bounds or raises `ValueError` with a message saying what was expected; never
another exception, never a value the journal's 64-bit integers cannot hold."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lionrock.kernel.ids import IDENTIFIER_MAX_LENGTH, ORDER_ID_MAX, parse_identifier
from lionrock.kernel.money import MAX_AMOUNT_MINOR, Currency, Money, Rate, to_minor
from lionrock.kernel.price import MAX_PRICE_TICKS, format_price, parse_price
from lionrock.kernel.quantity import MAX_QUANTITY, parse_quantity

_INT64 = 2**63 - 1
_NUMBERISH = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="0123456789.,-+eE_ naNIfity%", max_size=60),
    st.from_regex(r"-?\d{0,45}(\.\d{0,45})?", fullmatch=True),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)


@pytest.mark.parametrize(
    "text", ["NaN", "nan", "Infinity", "-Infinity", "inf", "5e1", "1e400", "1E+2", "4_9.90", "+5", "1 0", "", " ", ".", "-", "0x10", "٣"]
)
def test_parse_price_non_plain_decimal_says_what_a_price_is(text: str) -> None:
    with pytest.raises(ValueError, match="not a price: .*plain decimal like 12.34"):
        parse_price(text)


def test_parse_price_beyond_maximum_is_refused_with_the_maximum() -> None:
    assert parse_price("9999.999") == MAX_PRICE_TICKS
    for text in ("10000", "99999999999999999999999999.00", "9" * 39):
        with pytest.raises(ValueError, match=f"above the largest price accepted, {format_price(MAX_PRICE_TICKS)}"):
            parse_price(text)
    with pytest.raises(ValueError, match="at most 40"):
        parse_price("1" * 41)


def test_parse_price_is_exact_beyond_decimal_context_precision() -> None:
    # 28-digit Decimal arithmetic rounded this to 1000 ticks before; it is finer than 0.001.
    with pytest.raises(ValueError, match="finer than 0.001"):
        parse_price("1.00000000000000000000000000001")
    assert parse_price("12.340000000000000000000000000000") == 12_340


def test_parse_price_accepts_decimal_and_int_and_refuses_bool_and_non_finite() -> None:
    assert parse_price(Decimal("12.34")) == 12_340
    assert parse_price(Decimal("1E+1")) == 10_000
    assert parse_price(12) == 12_000
    for bad in (True, Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(ValueError, match="not a price"):
            parse_price(bad)  # type: ignore[arg-type]


def test_parse_price_messages_do_not_cite_the_access_policy() -> None:
    with pytest.raises(ValueError) as info:
        parse_price("NaN")
    assert "finer" not in str(info.value) and "policy" not in str(info.value)


@given(_NUMBERISH)
def test_parse_price_any_text_is_a_bounded_int_or_a_value_error(text: str) -> None:
    try:
        ticks = parse_price(text)
    except ValueError as exc:
        assert str(exc)
        return
    assert type(ticks) is int and 0 < ticks <= MAX_PRICE_TICKS
    msgspec.msgpack.encode(ticks)


@given(_NUMBERISH)
def test_to_minor_any_text_is_a_bounded_int_or_a_value_error(text: str) -> None:
    try:
        minor = to_minor(text, Currency.HKD)
    except ValueError as exc:
        assert str(exc)
        return
    assert type(minor) is int and abs(minor) <= MAX_AMOUNT_MINOR


@given(_NUMBERISH)
def test_rate_parse_any_text_fits_64_bits_or_is_a_value_error(text: str) -> None:
    try:
        rate = Rate.parse(text)
    except ValueError as exc:
        assert str(exc)
        return
    assert 0 <= rate.numerator <= _INT64 and 0 < rate.denominator <= _INT64
    msgspec.msgpack.encode(rate)


@given(_NUMBERISH)
def test_parse_quantity_any_text_is_a_bounded_int_or_a_value_error(text: str) -> None:
    try:
        quantity = parse_quantity(text)
    except ValueError as exc:
        assert str(exc).startswith("quantity: ")
        return
    assert type(quantity) is int and 1 <= quantity <= MAX_QUANTITY


@given(st.integers(1, MAX_PRICE_TICKS))
def test_parse_price_round_trips_every_price_up_to_the_maximum(ticks: int) -> None:
    assert parse_price(format_price(ticks)) == ticks


def test_to_minor_refuses_non_finite_exponents_and_huge_amounts() -> None:
    assert to_minor("-1.50") == -150
    assert to_minor("5_000,000") == 500_000_000
    for text in ("NaN", "Infinity", "1e3", "1E+400"):
        with pytest.raises(ValueError, match="not an amount"):
            to_minor(text)
    with pytest.raises(ValueError, match="beyond the largest amount accepted"):
        to_minor("1" + "0" * 20)
    with pytest.raises(ValueError, match="decimal places"):
        Money.parse("HKD 1.00000000000000000000000000001")


def test_rate_parse_refuses_exponents_and_too_many_digits() -> None:
    assert Rate.parse("0.00565%") == Rate(565, 10_000_000)
    assert Rate.parse("-0") == Rate(0, 1)
    for text in ("1e-3", "NaN", "Infinity%"):
        with pytest.raises(ValueError, match="not a rate"):
            Rate.parse(text)
    with pytest.raises(ValueError, match="significant digits"):
        Rate.parse("1." + "1" * 20)
    with pytest.raises(ValueError, match="decimal places"):
        Rate.parse("0.0000000000000000001%")  # one significant digit, but a denominator of 10**21


def test_parse_quantity_bounds_and_shapes() -> None:
    assert parse_quantity("1,000") == 1000
    assert parse_quantity(500) == 500
    assert parse_quantity("0", minimum=0) == 0
    for bad in ("1.5", "1e3", "-1", "+1", "", "1,00", True, 1.0):
        with pytest.raises(ValueError, match="quantity: expected a whole number"):
            parse_quantity(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="outside 1-1,000,000,000,000"):
        parse_quantity(MAX_QUANTITY + 1)
    assert MAX_QUANTITY * MAX_PRICE_TICKS // 10 < 2**63  # the largest consideration in cents fits 64 bits


@pytest.mark.parametrize("good", ["C:BROKER1:INV42", "DEEPCORE-2025", "web-1733-42", "a.b@c.example", "x", "A" * IDENTIFIER_MAX_LENGTH])
def test_parse_identifier_accepts_the_documented_charset(good: str) -> None:
    assert parse_identifier(good, "client_order_id") == good


@pytest.mark.parametrize(
    "bad", ["a\x01b", "11=FORGED", "a b", "a/b", "caf\u00e9", "x\n", "\x7f", "<script>", "A" * (IDENTIFIER_MAX_LENGTH + 1), ""]
)
def test_parse_identifier_refuses_control_chars_separators_and_length(bad: str) -> None:
    with pytest.raises(ValueError, match="^client_order_id: "):
        parse_identifier(bad, "client_order_id")


def test_parse_identifier_refuses_non_text_and_allows_empty_only_when_asked() -> None:
    with pytest.raises(ValueError, match="expected a text identifier"):
        parse_identifier(12, "ioi_id")
    assert parse_identifier("", "participant", allow_empty=True) == ""


@given(st.text(max_size=80))
def test_parse_identifier_any_text_is_itself_or_a_value_error(text: str) -> None:
    try:
        out = parse_identifier(text, "field")
    except ValueError as exc:
        assert str(exc).startswith("field: ")
        return
    assert out == text and len(text) <= IDENTIFIER_MAX_LENGTH and text.isascii() and text.isprintable() and " " not in text


def test_order_id_max_is_the_largest_signed_64_bit_integer() -> None:
    assert ORDER_ID_MAX == _INT64
    msgspec.msgpack.encode(ORDER_ID_MAX)


def _rate_as_journals_recorded_it(text: str) -> Rate:
    """The parser before bounds were added (Decimal digits and exponent): the reference for the
    numerator/denominator pair that existing journals and state hashes hold."""
    from decimal import Decimal

    s, scale = (text[:-1], 100) if text.endswith("%") else (text, 1)
    _, digits, exponent = Decimal(s).as_tuple()
    assert isinstance(exponent, int)
    numerator = int("".join(map(str, digits)) or "0")
    if exponent >= 0:
        return Rate(numerator * 10**exponent, scale)
    return Rate(numerator, scale * 10 ** (-exponent))


@given(
    st.from_regex(r"[0-9]{1,6}(\.[0-9]{1,8})?%?", fullmatch=True),
)
def test_rate_parse_keeps_the_representation_journals_recorded(text: str) -> None:
    """``"1.0850"`` stays 10850/10000, not 217/200 or 1085/1000: a rate's pair is encoded in
    journal records, so a different pair changes the journal's bytes and every state hash."""
    assert Rate.parse(text) == _rate_as_journals_recorded_it(text)
    assert Rate.parse("1.0850") == Rate(10850, 10000)
