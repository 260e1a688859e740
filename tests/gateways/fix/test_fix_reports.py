"""Execution reports go to the session that sent the order, never to the participant's others."""

from __future__ import annotations

from typing import Any

from lionrock.gateways.fix.gateway import FixSession
from lionrock.kernel.errors import Rejection
from lionrock.readmodel.tenancy import Principal, Role
from lionrock.service.hub import Published
from lionrock.trading.events import OrderRejected
from testkit.service_world import STOCK

INV1 = Principal("inv1", Role.INVESTOR, participant="B1", accounts=("C:B1:I1",))
BRK1 = Principal("brk1", Role.BROKER, participant="B1")
SPO = Principal("spo", Role.SPONSOR, offerings=("OFF-A",), issuers=("ISS-A",))


class _Sink(FixSession):
    def __init__(self, principal: Principal) -> None:  # no socket: record what would be sent
        self.principal, self.orders, self.pending_cl, self.out = principal, {}, {}, []

    def send(self, msg_type: bytes, fields: list[tuple[int, Any]], **_: Any) -> None:  # type: ignore[override]
        self.out.append((msg_type, fields))


def test_fix_order_rejected_is_not_routed_to_other_sessions_of_the_participant() -> None:
    """Another session of the same participant never gets a client's rejection; the sender reports
    it once, from its own command's outcome (not a second time from the hub)."""
    rejected = OrderRejected(instrument=STOCK, participant="B1", client_order_id="X1", channel="FIX",
                             rejection=Rejection(code=1, reason="R", field="price", message="m"))
    pub = Published(seq=5, at_ns=0, index=0, event=rejected, parties=frozenset({"P:B1"}), instrument=STOCK)
    for session in (_Sink(INV1), _Sink(BRK1)):
        if session._mine(pub):
            session._report(pub)
        assert session.out == []
