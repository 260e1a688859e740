"""Side, order type and phase are closed StrEnums; the plain strings the venue, the journal and the
events carry are their values, so a member and its value encode to the same bytes."""

from __future__ import annotations

import msgspec

from lionrock.kernel.money import Currency
from lionrock.trading import commands as tc
from lionrock.trading._venue import PHASES
from lionrock.trading.commands import OrderType, PlaceOrder, Side
from lionrock.trading.events import Phase, TradingPhaseChanged


def test_vocabulary_constants_are_the_enum_values_as_plain_strings() -> None:
    assert tc.SIDES == ("B", "S") and (tc.BUY, tc.SELL) == (Side.BUY, Side.SELL)
    assert tc.ORDER_TYPES == ("LIMIT", "ENHANCED_LIMIT", "SPECIAL_LIMIT", "AT_AUCTION", "AT_AUCTION_LIMIT")
    assert all(type(x) is str for x in (*tc.SIDES, *tc.ORDER_TYPES, *PHASES))
    assert list(PHASES) == [p.value for p in Phase]


def test_vocabulary_member_encodes_as_its_value() -> None:
    plain = PlaceOrder(
        instrument="00001", participant="P1", account="C:P1:A", client_order_id="1", side="B", order_type="LIMIT", price=1_000, quantity=100
    )
    typed = msgspec.structs.replace(plain, side=Side.BUY, order_type=OrderType.LIMIT)
    assert msgspec.msgpack.encode(typed) == msgspec.msgpack.encode(plain)
    changed = TradingPhaseChanged(day="2026-01-02", phase=Phase.CTS_MORNING, previous=Phase.POS_BLOCKING)
    assert msgspec.msgpack.encode(changed) == msgspec.msgpack.encode(
        TradingPhaseChanged(day="2026-01-02", phase="CTS_MORNING", previous="POS_BLOCKING")
    )
    assert msgspec.json.encode({"c": Currency.HKD}) == b'{"c":"HKD"}'
