"""The compiled venue core: when the fast path is on, that it hands unusual commands back to the
Python path unchanged, and that the compiled client-order-id index behaves as the dict it
replaces (skipped when the extension is not built)."""

from __future__ import annotations

import msgspec
import pytest
from _venue_kit import Venue, at
from test_differential import command_stream

from lionrock.kernel.messages import Codec, Stamp
from lionrock.trading import PyFastBook, ReferenceBook, TradingContext
from lionrock.trading.book import FastBook
from lionrock.trading.commands import CancelOrder, PlaceOrder, StartTradingDay, TradingTick
from lionrock.trading.events import OrderRetryAcknowledged, TradeExecuted

pytestmark = pytest.mark.skipif(FastBook is PyFastBook, reason="compiled _fastbook not built (pip install -e .)")


def test_fast_path_on_only_for_the_compiled_book() -> None:
    assert TradingContext().fast_path
    assert not TradingContext(ReferenceBook).fast_path
    assert not TradingContext(PyFastBook).fast_path
    assert not TradingContext(FastBook, fast_path=False).fast_path


def test_client_order_index_behaves_as_a_dict() -> None:
    from lionrock.trading._fastbook import ClientOrderIndex

    index, plain = ClientOrderIndex(), {}
    cmd = PlaceOrder(instrument="X", participant="P", account="A", client_order_id="c", side="B", order_type="LIMIT", price=1, quantity=1)
    for i in range(5_000):  # grows past its initial table several times
        key = (f"P{i % 7}", f"c{i}")
        index[key] = plain[key] = (i, cmd, "")
    index[("P0", "c0")] = plain[("P0", "c0")] = (99, cmd, "SB-SH")  # overwrite keeps one entry
    assert len(index) == len(plain) == 5_000
    assert index.items() == list(plain.items())
    assert index.get(("P0", "c0")) == (99, cmd, "SB-SH") and index[("P1", "c1")] == (1, cmd, "")
    assert index.get("nope") is None and "nope" not in index and ("P0", "c1") not in index and ("P2", "c2") in index
    with pytest.raises(KeyError):
        index[("nope", "c0")]
    index.clear()
    assert len(index) == 0 and index.get(("P1", "c1")) is None


def test_retry_and_cancel_by_client_id_on_the_fast_path() -> None:
    v = Venue()
    v.list()
    v.start()
    v.to_continuous()
    first = v.order("B", 10_000, 200, coid="abc")
    again = v.order("B", 10_000, 200, coid="abc")  # exact retry: answered by the Python path
    assert v.events(again, OrderRetryAcknowledged)[0].order_id == first.events[0].order_id
    assert v.order("B", 10_010, 200, coid="abc").rejection.reason == "DUPLICATE_CLIENT_ORDER_ID"
    out = v.submit(CancelOrder(instrument="02525", participant="P1", client_order_id="abc"))
    assert out.accepted and out.events[0].remaining == 200
    again = v.submit(CancelOrder(instrument="02525", participant="P1", client_order_id="abc"))
    assert again.rejection.reason == "UNKNOWN_ORDER"
    assert v.submit(CancelOrder(instrument="02525", participant="P1", client_order_id="never")).rejection.reason == "UNKNOWN_ORDER"


def test_snapshot_restore_mid_day_then_continue_matches_an_uninterrupted_run() -> None:
    """Restore rebuilds the compiled book and index; the rest of the stream then gives the same
    events and state as a context that was never restored."""
    codec = Codec()
    stream = list(command_stream(5, 6_000))
    cut = len(stream) // 2

    def drive(ctx: TradingContext, commands: list, seq0: int) -> list[bytes]:
        out = []
        for seq, (t, command) in enumerate(commands, seq0):
            pending = ctx.timers[ctx.timer_index :]
            if not isinstance(command, (TradingTick, StartTradingDay)) and pending and pending[0][0] <= t:
                out += [codec.encode(e) for e in ctx.execute(TradingTick(), Stamp(seq, t))]
            try:
                out += [codec.encode(e) for e in ctx.execute(command, Stamp(seq, t))]
            except Exception as exc:  # noqa: BLE001 - rejections are part of the compared stream
                out.append(repr(exc).encode())
        return out

    whole = TradingContext()
    expected = drive(whole, stream, 1)
    first = TradingContext()
    head = drive(first, stream[:cut], 1)
    restored = TradingContext()
    restored.restore(msgspec.msgpack.decode(msgspec.msgpack.encode(first.snapshot())))
    assert restored.fast_path and restored.canonical_state() == first.canonical_state()
    tail = drive(restored, stream[cut:], 1 + cut)
    assert head + tail == expected
    assert restored.canonical_state() == whole.canonical_state()
    assert any(b"TradeExecuted" in e for e in tail)


def test_trade_events_of_the_fast_path_carry_both_parties() -> None:
    v = Venue()
    v.list()
    v.start()
    v.to_continuous()
    v.order("S", 10_000, 300, participant="P2", account="C:P2:S")
    trade = v.events(v.order("B", 10_000, 100, account="C:P1:B"), TradeExecuted)[0]
    assert (trade.buyer, trade.seller, trade.aggressor, trade.buy_remaining, trade.sell_remaining) == ("C:P1:B", "C:P2:S", "B", 0, 200)
    assert v.now == at(9, 30)


def test_fast_path_under_vcm_monitoring_only_when_no_trade_can_leave_the_band() -> None:
    """VCM (docs/rules.md section 7): with monitoring on, an order that cannot trade, or can trade only
    between a best opposite price and a limit both inside the band, takes the fast path and gives
    the events the Python path gives; one that could trade outside the band is handed back
    unchanged, and the Python path starts the cooling-off period."""

    def venue(book: type = FastBook) -> Venue:
        v = Venue(book)
        v.list(nominal=10_000, vcm_class="LARGE")  # +/-10% band around the price 5 minutes earlier
        v.start()
        v.to_continuous()
        v.order("S", 10_000, 100, participant="P2")
        v.submit(
            PlaceOrder(
                instrument="02525",
                participant="P3",
                account="C:P3:A",
                client_order_id="t0",
                side="B",
                order_type="LIMIT",
                price=10_000,
                quantity=100,
            ),
            at(9, 46),
        )
        v.now = at(9, 52)  # the 09:46 trade at 10.00 is the reference: band 9.00-11.00
        v.order("B", 10_900, 100, participant="P4")  # lifts the nominal price, so asks may sit near 11.00
        for i, price in enumerate((10_950, 10_980, 11_100)):
            assert v.order("S", price, 100, participant="P2", coid=f"ask{i}").accepted
        return v

    def place(v: Venue, coid: str, price: int, otype: str = "ENHANCED_LIMIT") -> tuple[object, object]:
        cmd = PlaceOrder(
            instrument="02525",
            participant="P1",
            account="C:P1:A",
            client_order_id=coid,
            side="B",
            order_type=otype,
            price=price,
            quantity=300,
        )
        stamp = Stamp(v.engine.seq + 1, v.now)
        return v.ctx.fast_execute(cmd, stamp), cmd

    fast, reference = venue(), venue(ReferenceBook)
    assert fast.ctx._vcm_band(fast.ctx.instruments["02525"], fast.now) == (9_000, 11_000)
    for coid, price in (("rest", 10_850), ("inside", 10_980)):  # rests; trades 10.95 and 10.98, the rest rests
        events, cmd = place(fast, coid, price)
        assert events is not None, coid
        expected = reference.submit(cmd).events
        assert [msgspec.to_builtins(e) for e in events] == [msgspec.to_builtins(e) for e in expected]
    before = fast.ctx.canonical_state()
    events, cmd = place(fast, "through", 11_100)  # could trade at 11.10: outside the band
    assert events is None and fast.ctx.canonical_state() == before
    out = fast.submit(cmd)
    assert [type(e).__name__ for e in out.events][:2] == ["OrderAccepted", "VolatilityCoolingOffStarted"]
