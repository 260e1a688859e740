"""Southbound gateway: eligibility around each threshold, investors, the daily quota boundary."""

from __future__ import annotations

from datetime import date

from lionrock.clearing.commands import FxQuote, RecordFxRates
from lionrock.connect.commands import (
    EvaluateFastEntry,
    PlaceSouthboundOrder,
    RegisterSouthboundInvestor,
    ReviewSouthboundEligibility,
    SetAhStatus,
    SetConnectProfile,
    SetIndexConstituents,
    SetMarketCaps,
)
from lionrock.connect.events import (
    SouthboundOrderAdmitted,
    SouthboundQuotaExhausted,
    SouthboundQuotaReturned,
)
from lionrock.kernel.money import Rate
from lionrock.trading.commands import PlaceOrder
from lionrock.trading.events import OrderAccepted, OrderCancelled
from testkit.ledger_kit import DAY, LedgerTestEmit, at, engine, trade

INV = "C:SBSH:ZHANG"
HK5BN = 5_000_000_000 * 100
QUOTA = 42_000_000_000 * 100  # RMB 42bn in fen


def setup(fx: str = "1"):
    eng, clearing, connect = engine()
    eng.submit(RecordFxRates(day=DAY, rates=[FxQuote(base="CNY", quote="HKD", rate=Rate.parse(fx))]), at(DAY, 8))
    assert eng.submit(RegisterSouthboundInvestor(account=INV, investor_type="INSTITUTION"), at(DAY, 8)).accepted
    eng.submit(SetIndexConstituents(index="HSLI", instruments=["00700", "02525"]), at(DAY, 8))
    return eng, connect


def order(side: str = "B", price: int = 100_000, quantity: int = 1000, coid: str = "o1", instrument: str = "00700") -> PlaceOrder:
    return PlaceOrder(
        instrument=instrument,
        participant="SBSH",
        account=INV,
        client_order_id=coid,
        side=side,
        order_type="LIMIT",
        price=price,
        quantity=quantity,
    )


def test_eligible_buy_is_admitted_and_reserves_quota() -> None:
    eng, connect = setup(fx="1.1")
    out = eng.submit(PlaceSouthboundOrder(link="SH", order=order()), at())
    admitted = [e for e in out.events if isinstance(e, SouthboundOrderAdmitted)][0]
    assert admitted.quota_used == 9_090_910  # HK$100,000 / 1.1 rounded up to the fen
    assert connect.quota_balance("SH", DAY) == QUOTA - 9_090_910


def test_smallcap_market_cap_threshold_is_inclusive() -> None:
    """SZ link: HSSI constituents with market cap of HK$5bn or above (etfexpress 2017)."""
    eng, _ = setup()
    eng.submit(SetIndexConstituents(index="HSSI", instruments=["01111", "02222"]), at(DAY, 8))
    eng.submit(SetMarketCaps(market_caps=[("01111", HK5BN), ("02222", HK5BN - 1)]), at(DAY, 8))
    assert eng.submit(PlaceSouthboundOrder(link="SZ", order=order(instrument="01111")), at()).accepted
    out = eng.submit(PlaceSouthboundOrder(link="SZ", order=order(instrument="02222", coid="o2")), at())
    assert out.rejection is not None and out.rejection.reason == "NOT_ELIGIBLE"


def test_shanghai_smallcap_rule_starts_13_march_2023() -> None:
    """SFC/CSRC 19 Dec 2022, effective 13 Mar 2023: Shanghai southbound aligned with Shenzhen."""
    from lionrock.connect.eligibility import evaluate, new_profile

    profile = {**new_profile("01111"), "index": "HSSI", "market_cap": HK5BN}
    assert evaluate(profile, "SH", date(2023, 3, 10))[0] is False
    assert evaluate(profile, "SH", date(2023, 3, 13))[0] is True
    assert evaluate(profile, "SZ", date(2023, 3, 10))[0] is True


def test_ah_new_listing_waits_for_stabilisation_and_risk_alert_excludes() -> None:
    from lionrock.connect.eligibility import evaluate, new_profile

    profile = {**new_profile("03750"), "a_exchange": "SZSE", "listing_date": "2025-05-20"}
    assert evaluate(profile, "SZ", date(2025, 6, 18))[0] is False
    assert evaluate(profile, "SZ", date(2025, 6, 19))[0] is True  # 30 days after listing
    assert evaluate(profile, "SH", date(2025, 6, 19))[0] is False  # A shares on SZSE: the SZ link
    assert evaluate({**profile, "risk_alert": True}, "SZ", date(2025, 6, 19))[0] is False


def test_removed_constituent_becomes_sell_only() -> None:
    eng, _ = setup()
    eng.submit(SetIndexConstituents(index="HSLI", instruments=["02525"]), at(DAY, 9))  # 00700 leaves
    out = eng.submit(PlaceSouthboundOrder(link="SH", order=order()), at())
    assert out.rejection is not None and out.rejection.reason == "SELL_ONLY"
    assert eng.submit(PlaceSouthboundOrder(link="SH", order=order(side="S", coid="s1")), at()).accepted
    never = eng.submit(PlaceSouthboundOrder(link="SH", order=order(side="S", coid="s2", instrument="09999")), at())
    assert never.rejection is not None and never.rejection.reason == "NOT_ELIGIBLE"


def test_individual_investor_threshold_is_rmb_500k_inclusive() -> None:
    eng, _ = setup()
    low = eng.submit(RegisterSouthboundInvestor(account="C:SBSH:LI", investor_type="INDIVIDUAL", assets_cny=49_999_999), at())
    assert low.rejection is not None and low.rejection.reason == "INVESTOR_BELOW_THRESHOLD"
    assert eng.submit(RegisterSouthboundInvestor(account="C:SBSH:LI", investor_type="INDIVIDUAL", assets_cny=50_000_000), at()).accepted
    stranger = PlaceOrder(
        instrument="00700",
        participant="SBSH",
        account="C:SBSH:WANG",
        client_order_id="x",
        side="B",
        order_type="LIMIT",
        price=1000,
        quantity=100,
    )
    out = eng.submit(PlaceSouthboundOrder(link="SH", order=stranger), at())
    assert out.rejection is not None and out.rejection.reason == "INVESTOR_NOT_REGISTERED"


def _exhaust(eng, hh: int, mm: int):
    # HK$42bn at 1 HKD per CNY: exactly the daily quota
    big = order(price=1_000_000, quantity=42_000_000, coid="big")
    out = eng.submit(PlaceSouthboundOrder(link="SH", order=big), at(DAY, hh, mm))
    assert out.accepted
    return out


def test_quota_used_up_in_continuous_trading_rejects_buys_for_the_rest_of_the_day() -> None:
    """Balance = quota - buys + sells + adjustments; at zero in continuous trading, no more buys today."""
    eng, connect = setup()
    out = _exhaust(eng, 10, 0)
    assert [e.rest_of_day for e in out.events if isinstance(e, SouthboundQuotaExhausted)] == [True]
    assert connect.quota_balance("SH", DAY) == 0
    rejected = eng.submit(PlaceSouthboundOrder(link="SH", order=order(coid="o2")), at(DAY, 10, 1))
    assert rejected.rejection is not None and rejected.rejection.reason == "QUOTA_EXHAUSTED"
    # the big order is cancelled: quota comes back, but buying stays closed for the day
    eng.submit(
        LedgerTestEmit(
            accepted=[
                OrderAccepted(
                    order_id=7,
                    instrument="00700",
                    participant="SBSH",
                    account=INV,
                    client_order_id="big",
                    side="B",
                    order_type="LIMIT",
                    price=1_000_000,
                    quantity=42_000_000,
                    channel="SB-SH",
                )
            ]
        ),
        at(DAY, 10, 2),
    )
    out = eng.submit(
        LedgerTestEmit(
            cancelled=[
                OrderCancelled(
                    order_id=7, instrument="00700", participant="SBSH", client_order_id="big", remaining=42_000_000, reason="client"
                )
            ]
        ),
        at(DAY, 10, 3),
    )
    assert [e.amount for e in out.events if isinstance(e, SouthboundQuotaReturned)] == [QUOTA]
    again = eng.submit(PlaceSouthboundOrder(link="SH", order=order(coid="o3")), at(DAY, 10, 4))
    assert again.rejection is not None and again.rejection.reason == "QUOTA_EXHAUSTED"
    # the SZ link has its own quota; the next day the quota resets
    assert eng.submit(PlaceSouthboundOrder(link="SZ", order=order(coid="z1")), at(DAY, 10, 5)).accepted
    eng.submit(
        RecordFxRates(day=date(2025, 11, 25), rates=[FxQuote(base="CNY", quote="HKD", rate=Rate.parse("1"))]), at(date(2025, 11, 25), 8)
    )
    assert eng.submit(PlaceSouthboundOrder(link="SH", order=order(coid="d2")), at(date(2025, 11, 25), 10)).accepted


def test_quota_one_fen_left_still_admits_a_buy() -> None:
    eng, connect = setup()
    eng.submit(PlaceSouthboundOrder(link="SH", order=order(price=1_000_000, quantity=41_999_999, coid="a")), at())
    eng.submit(PlaceSouthboundOrder(link="SH", order=order(price=99_999, quantity=10, coid="b")), at())  # HK$999.99
    assert connect.quota_balance("SH", DAY) == 1
    out = eng.submit(PlaceSouthboundOrder(link="SH", order=order(coid="c")), at())
    assert out.accepted and connect.quota_balance("SH", DAY) < 0


def test_opening_auction_cancellation_restores_buying() -> None:
    eng, connect = setup()
    _exhaust(eng, 9, 5)
    assert eng.submit(PlaceSouthboundOrder(link="SH", order=order(coid="o2")), at(DAY, 9, 6)).rejection.reason == "QUOTA_EXHAUSTED"
    eng.submit(
        LedgerTestEmit(
            accepted=[
                OrderAccepted(
                    order_id=7,
                    instrument="00700",
                    participant="SBSH",
                    account=INV,
                    client_order_id="big",
                    side="B",
                    order_type="AT_AUCTION_LIMIT",
                    price=1_000_000,
                    quantity=42_000_000,
                    channel="SB-SH",
                )
            ]
        ),
        at(DAY, 9, 6),
    )
    eng.submit(
        LedgerTestEmit(
            cancelled=[
                OrderCancelled(
                    order_id=7, instrument="00700", participant="SBSH", client_order_id="big", remaining=42_000_000, reason="client"
                )
            ]
        ),
        at(DAY, 9, 7),
    )
    assert eng.submit(PlaceSouthboundOrder(link="SH", order=order(coid="o3")), at(DAY, 9, 8)).accepted


def test_better_price_fill_and_sell_trade_return_quota() -> None:
    eng, connect = setup()
    eng.submit(PlaceSouthboundOrder(link="SH", order=order(price=100_000, quantity=1000, coid="b1")), at())
    eng.submit(PlaceSouthboundOrder(link="SH", order=order(side="S", price=100_000, quantity=500, coid="s1")), at())
    eng.submit(
        LedgerTestEmit(
            accepted=[
                OrderAccepted(
                    order_id=11,
                    instrument="00700",
                    participant="SBSH",
                    account=INV,
                    client_order_id="b1",
                    side="B",
                    order_type="LIMIT",
                    price=100_000,
                    quantity=1000,
                    channel="SB-SH",
                ),
                OrderAccepted(
                    order_id=12,
                    instrument="00700",
                    participant="SBSH",
                    account=INV,
                    client_order_id="s1",
                    side="S",
                    order_type="LIMIT",
                    price=100_000,
                    quantity=500,
                    channel="SB-SH",
                ),
            ]
        ),
        at(),
    )
    before = connect.quota_balance("SH", DAY)
    out = eng.submit(
        LedgerTestEmit(trades=[trade(1, INV, "C:P9:HK", 99_000, 1000, instrument="00700", buy_order_id=11, sell_order_id=99)]), at()
    )
    assert [(e.reason, e.amount) for e in out.events if isinstance(e, SouthboundQuotaReturned)] == [("BETTER_PRICE", 100_000)]
    out = eng.submit(
        LedgerTestEmit(trades=[trade(2, "C:P9:HK", INV, 100_000, 500, instrument="00700", buy_order_id=98, sell_order_id=12)]), at()
    )
    assert [(e.reason, e.amount) for e in out.events if isinstance(e, SouthboundQuotaReturned)] == [("SELL_TRADE", 5_000_000)]
    assert connect.quota_balance("SH", DAY) == before + 100_000 + 5_000_000


def _thirty_constituents(eng) -> None:  # type: ignore[no-untyped-def]
    """00700 plus 29 mid-sized HSCI constituents (HK$20bn-48bn): 31 names with a newcomer, so
    the top 10% is ranks 1-4."""
    caps = [("00700", 4_000_000_000_000 * 100)] + [(f"{1000 + i:05d}", (20 + i) * 1_000_000_000 * 100) for i in range(29)]
    eng.submit(SetIndexConstituents(index="HSMI", instruments=[c for c, _ in caps[1:]]), at(DAY, 8))
    eng.submit(SetMarketCaps(market_caps=caps), at(DAY, 8))


def test_fast_entry_outside_the_top_ten_percent_does_not_qualify() -> None:
    """Hang Seng fast entry: only a day-1 market cap in the top 10% of HSCI constituents."""
    eng, _ = setup()
    _thirty_constituents(eng)
    out = eng.submit(EvaluateFastEntry(instrument="09998", listing_date=DAY, market_cap=45_500_000_000 * 100), at(DAY, 17))
    evaluated = [e for e in out.events if type(e).__name__ == "FastEntryEvaluated"]
    assert evaluated and evaluated[0].rank == 5 and not evaluated[0].qualifies


def test_fast_entry_large_new_listing_joins_after_ten_trading_days() -> None:
    eng, connect = setup()
    _thirty_constituents(eng)
    eng.submit(SetConnectProfile(instrument="09999", listing_date=DAY), at(DAY, 8))
    eng.submit(EvaluateFastEntry(instrument="09999", listing_date=DAY, market_cap=100_000_000_000 * 100), at(DAY, 17))
    early = eng.submit(PlaceSouthboundOrder(link="SH", order=order(instrument="09999")), at(date(2025, 12, 5), 10))
    assert early.rejection is not None and early.rejection.reason == "NOT_ELIGIBLE"
    eng.submit(
        RecordFxRates(day=date(2025, 12, 8), rates=[FxQuote(base="CNY", quote="HKD", rate=Rate.parse("1"))]), at(date(2025, 12, 8), 8)
    )
    out = eng.submit(ReviewSouthboundEligibility(), at(date(2025, 12, 8), 8, 30))
    assert out.accepted and any(getattr(e, "status", "") == "ELIGIBLE" for e in out.events)
    assert eng.submit(PlaceSouthboundOrder(link="SH", order=order(instrument="09999", coid="late")), at(date(2025, 12, 8), 10)).accepted


def test_ah_status_command_makes_h_shares_eligible_on_the_matching_link() -> None:
    eng, _ = setup()
    eng.submit(SetAhStatus(instrument="01088", a_share_exchange="SSE"), at(DAY, 8))
    assert eng.submit(PlaceSouthboundOrder(link="SH", order=order(instrument="01088")), at()).accepted
    assert eng.submit(PlaceSouthboundOrder(link="SZ", order=order(instrument="01088", coid="z")), at()).rejection.reason == "NOT_ELIGIBLE"


def test_rejected_southbound_order_the_next_day_changes_nothing() -> None:
    """A rejected command changes nothing (DESIGN.md), not even the purge of yesterday's
    reservations: the purge runs only once an order is admitted."""
    import msgspec

    from lionrock.kernel.xhkg import add_business_days

    eng, connect = setup()
    assert eng.submit(PlaceSouthboundOrder(link="SH", order=order()), at()).accepted
    nxt = add_business_days(DAY, 1)
    before = msgspec.msgpack.encode(connect.canonical_state())
    reservations_before = dict(connect.reservations)
    out = eng.submit(PlaceSouthboundOrder(link="SH", order=order(instrument="09999", coid="x")), at(nxt, 10))
    assert out.rejection is not None and out.rejection.reason == "NOT_ELIGIBLE"
    assert msgspec.msgpack.encode(connect.canonical_state()) == before
    assert connect.reservations == reservations_before and reservations_before
    # once an order is admitted today, yesterday's reservations go and its client order id is free
    assert eng.submit(PlaceSouthboundOrder(link="SH", order=order(coid="o1")), at(nxt, 10, 5)).accepted
    assert all(r[1] == nxt.isoformat() for r in connect.reservations.values())


def test_eligibility_without_explanation_gives_the_same_answer() -> None:
    """The daily review asks `evaluate(..., explain=False)` and formats reasons only when a status
    changes: the answer must be the one the explained evaluation gives, for every kind of stock."""
    from itertools import product

    from lionrock.connect.eligibility import evaluate, new_profile
    from lionrock.rules.connect import SOUTHBOUND_ELIGIBILITY

    day = date(2025, 11, 24)
    floor = SOUTHBOUND_ELIGIBILITY.in_force(day).smallcap_min_market_cap_hkd_minor
    for index, cap, a_exchange, currency, link in product(
        ("", "HSLI", "HSMI", "HSSI"),
        (0, floor - 1, floor, floor * 3),
        ("", "SSE", "SZSE"),
        ("HKD", "CNY"),
        ("SH", "SZ"),
    ):
        profile = {**new_profile("09999"), "index": index, "market_cap": cap, "a_exchange": a_exchange, "currency": currency}
        explained = evaluate(profile, link, day)
        assert evaluate(profile, link, day, explain=False)[0] == explained[0] and explained[1], profile
