"""Execution reports go to the session that sent the order, never to the participant's others."""

from __future__ import annotations

from typing import Any

from lionrock.gateways.fix.reports import Reporter
from lionrock.kernel.errors import Rejection
from lionrock.readmodel.tenancy import Principal, Role
from lionrock.service.hub import Published
from lionrock.trading.events import OrderRejected
from testkit.service_world import STOCK

INV1 = Principal("inv1", Role.INVESTOR, participant="B1", accounts=("C:B1:I1",))
BRK1 = Principal("brk1", Role.BROKER, participant="B1")
SPO = Principal("spo", Role.SPONSOR, offerings=("OFF-A",), issuers=("ISS-A",))


class _Sink:
    """An outbox that records what would be sent (no session, no socket)."""

    def __init__(self) -> None:
        self.out: list[tuple[bytes, Any]] = []

    def send(self, msg_type: bytes, fields: Any) -> None:
        self.out.append((msg_type, fields))

    def remember_cl(self, order_id: int, cl_ord_id: str) -> None:
        pass

    def answered(self, orig: str, cl: str) -> None:
        pass


def test_fix_order_rejected_is_not_routed_to_other_sessions_of_the_participant() -> None:
    """Another session of the same participant never gets a client's rejection; the sender reports
    it once, from its own command's outcome (not a second time from the hub)."""
    rejected = OrderRejected(
        instrument=STOCK,
        participant="B1",
        client_order_id="X1",
        channel="FIX",
        rejection=Rejection(code=1, reason="R", field="price", message="m"),
    )
    pub = Published(seq=5, at_ns=0, index=0, event=rejected, parties=frozenset({"P:B1"}), instrument=STOCK)
    for principal in (INV1, BRK1):
        session = _Sink()
        reporter = Reporter(session, principal)
        if reporter.wants(pub):
            reporter.report(pub)
        assert session.out == []
