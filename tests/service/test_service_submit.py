"""Commands through the service: the venue's duplicate client order id message names no other
account; the journal records who sent each command and through which channel."""

from __future__ import annotations

import msgspec

from lionrock.engine import Origin
from lionrock.service.root import origin_of
from lionrock.trading.commands import PlaceOrder
from testkit.service_world import STOCK, open_world


def test_venue_duplicate_client_order_id_message_does_not_name_other_account() -> None:
    service, op = open_world()
    try:
        first = PlaceOrder(
            instrument=STOCK,
            participant="B1",
            account="C:B1:SECRET",
            client_order_id="DUP1",
            side="B",
            order_type="LIMIT",
            price=49_800,
            quantity=100,
        )
        assert service.submit_sync(op, first).rejection is None
        again = service.submit_sync(op, msgspec.structs.replace(first, account="C:B1:OTHER"))
        r = again.rejection
        assert r is not None and r.reason == "DUPLICATE_CLIENT_ORDER_ID" and r.field == "account"
        assert "SECRET" not in r.message and "already used for a different order" in r.message
    finally:
        service.close()


def test_journal_records_who_sent_each_command_and_the_channel() -> None:
    """One log: the journal holds each command with its sender and channel, set by the server
    from the authenticated caller; no audit row is written per command."""
    service, op = open_world()
    try:
        order = PlaceOrder(
            instrument=STOCK,
            participant="B1",
            account="C:B1:I1",
            client_order_id="ORIGIN1",
            side="B",
            order_type="LIMIT",
            price=49_800,
            quantity=100,
        )
        outcome = service.submit_sync(op, order)
        origins = dict(service.journal.origins(outcome.seq - 1))
        assert origins[outcome.seq] == Origin(op.username, op.via) == origin_of(op)
        audited = [row for row in service.auth.audit_log(actor=op.username, limit=100) if str(row.get("action", "")).startswith("command:")]
        assert audited == []
    finally:
        service.close()
