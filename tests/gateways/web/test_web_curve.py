"""The dashboard's pre-pricing demand curve agrees with the offering's own book."""

from __future__ import annotations

from lionrock.gateways.web.routes import demand_curve, priced_curve
from lionrock.offering.books import ioi_book_from_iois
from lionrock.sim.demand import synthetic_iois
from testkit.service_ipo import RO


def test_web_demand_curve_from_iois_equals_book_demand_at_each_price() -> None:
    iois = synthetic_iois(RO, 25, seed=8)
    book = ioi_book_from_iois(iois)
    events = [{"type": "IoiReceived", "event": {"ioi_id": i.ioi_id, "steps": [[s.limit_price, s.shares] for s in i.steps]}} for i in iois]
    events.append({"type": "IoiWithdrawn", "event": {"ioi_id": iois[0].ioi_id}})
    kept = ioi_book_from_iois(iois[1:])
    curve = demand_curve(events)
    assert curve and [p["price"] for p in curve] == sorted({p["price"] for p in curve}, reverse=True)
    for point in curve:
        assert point["shares"] == int(kept.demand_at(point["price"]).sum())
    assert int(book.demand_at(curve[0]["price"]).sum()) >= curve[0]["shares"]


def test_web_priced_curve_reads_the_event_points() -> None:
    assert priced_curve({"demand_curve": [[10_000, 500, 900], [9_000, 800, 900]]}) == [
        {"price": 10_000, "shares": 500, "tranche": 900},
        {"price": 9_000, "shares": 800, "tranche": 900},
    ]
