"""Conformance: trade charges per side at their rounding edges (rules.clearing)."""

from __future__ import annotations

from datetime import date

from lionrock.rules.clearing import (
    AFRC_LEVY,
    SETTLEMENT_FEE,
    SFC_LEVY,
    STAMP_DUTY,
    TRADING_FEE,
    trade_charges,
)

NOW = date(2025, 11, 24)


def test_stamp_duty_fraction_of_a_dollar_rounds_up() -> None:
    """Cap. 117 head 2(1), 0.1% from 17 Nov 2023, rounded up to the whole HK$ (IRD via HKEX FAQ)."""
    rule = STAMP_DUTY.in_force(NOW)
    assert rule.charge(1_000_000) == 1_000_00 // 100  # HK$10,000.00 -> HK$10.00 exactly
    assert rule.charge(1_000_001) == 1_100  # HK$10,000.01 -> HK$10.00001 -> HK$11
    assert rule.charge(1) == 100  # one cent of consideration still pays HK$1
    assert rule.charge(1_171_000) == 1_200  # HKEX FAQ example: HK$11,710 -> HK$11.71 -> HK$12


def test_stamp_duty_before_17_nov_2023_is_0_13_percent() -> None:
    """Cap. 117 head 2(1) as amended from 1 Aug 2021: 0.13% (IRD Budget 2021/22 page)."""
    assert STAMP_DUTY.in_force(date(2023, 11, 16)).charge(1_000_000) == 1_300
    assert STAMP_DUTY.in_force(date(2023, 11, 17)).charge(1_000_000) == 1_000
    assert STAMP_DUTY.in_force(date(2021, 7, 31)).charge(1_000_000) == 1_000


def test_levies_half_cent_rounds_up_to_nearest_cent() -> None:
    """Trading fee 0.00565%, SFC levy 0.0027%, AFRC levy 0.00015%: each to the nearest cent."""
    # 0.00565% of HK$8,849.56 = 50.0000... cents: find edges exactly
    fee = TRADING_FEE.in_force(NOW)
    assert fee.charge(10_000_000) == 565  # HK$100,000 -> HK$5.65
    # x * 565 / 10^7 = 0.5 cent at x = 8849.557..: 8850 cents -> 0.500025 -> 1 cent; 8849 -> 0.49996 -> 0
    assert fee.charge(8_850) == 1
    assert fee.charge(8_849) == 0
    sfc = SFC_LEVY.in_force(NOW)
    assert sfc.charge(10_000_000) == 270
    assert sfc.charge(18_519) == 1 and sfc.charge(18_518) == 0  # 0.500013 / 0.499986 cent
    afrc = AFRC_LEVY.in_force(NOW)
    assert afrc.charge(10_000_000) == 15
    assert afrc.charge(333_334) == 1 and afrc.charge(333_333) == 0  # 0.500001 / 0.4999995 cent


def test_afrc_levy_absent_before_2022() -> None:
    assert AFRC_LEVY.in_force(date(2021, 12, 31)).charge(10_000_000) == 0
    assert AFRC_LEVY.in_force(date(2022, 1, 1)).charge(10_000_000) == 15


def test_trading_fee_before_2023_is_0_005_percent() -> None:
    """HKEX news 1 Nov 2022: 0.005% -> 0.00565% from 1 Jan 2023."""
    assert TRADING_FEE.in_force(date(2022, 12, 30)).charge(10_000_000) == 500
    assert TRADING_FEE.in_force(date(2023, 1, 1)).charge(10_000_000) == 565


def test_settlement_fee_before_30_june_2025_has_minimum_and_maximum() -> None:
    """CCASS OP s.21 (HKEX fee page): 0.002%, min HK$2, max HK$100 per side."""
    old = SETTLEMENT_FEE.in_force(date(2025, 6, 27))
    assert old.charge(100_00) == 200  # HK$100 trade pays the HK$2 minimum
    assert old.charge(10_000_000) == 200  # HK$100,000 -> HK$2.00 exactly
    assert old.charge(10_000_100) == 200  # 200.002 cents -> 200
    assert old.charge(1_000_000_000) == 10_000  # HK$10m -> HK$200 capped at HK$100


def test_settlement_fee_from_30_june_2025_has_no_minimum_or_maximum() -> None:
    """HKEX 21 Feb 2025, in force 30 Jun 2025: 0.0042% per side, no minimum or maximum."""
    new = SETTLEMENT_FEE.in_force(date(2025, 6, 30))
    assert new.charge(100_00) == 0  # HK$100 -> 0.42 cent -> 0
    assert new.charge(1_000_000_000) == 42_000  # HK$10m -> HK$420
    assert new.charge(11_905) == 1 and new.charge(11_904) == 0  # 0.500010 / 0.499968 cent


def test_trade_charges_lists_each_collector() -> None:
    charges = {c.collector: c.amount_minor for c in trade_charges(10_000_000, NOW)}
    assert charges == {"F:STAMP": 10_000, "F:HKEX": 565, "F:SFC": 270, "F:AFRC": 15, "F:HKSCC": 420}
