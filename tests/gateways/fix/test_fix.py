"""FIX 4.4 gateway conformance: a real FIX engine (QuickFIX) as the counterparty for order entry,
and a raw simplefix session for the session-layer faults QuickFIX will not produce on purpose.
Every test runs against the single-process service and against the edge over NATS JetStream
(``lionrock serve --nats``: the shards and the projector behind it, `testkit.bus_world`): the same
gateway behaviour either way (issue 17)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lionrock.gateways.server import BackgroundServer
from testkit.bus_world import open_bus_world
from testkit.service_fixclient import (
    QUICKFIX_PACKAGES,
    QuickFixClient,
    RawFixClient,
    quickfix_available,
)
from testkit.service_world import PASSWORD, next_id, open_world
from testkit.system import missing

FIXSTOCK = "02528"


@pytest.fixture(scope="module", params=["one process", "edge over NATS"])
def gateway(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, BackgroundServer]]:
    if request.param == "one process":
        service, _ = open_world(stocks=(FIXSTOCK,))
        close = service.close
    else:
        pg_server = request.getfixturevalue("pg_server")
        world = open_bus_world(
            request.getfixturevalue("nats_url"), f"{pg_server.url}?schema=fix_over_bus", tmp_path_factory.mktemp("bus"), stocks=(FIXSTOCK,)
        )
        service, close = world.service, world.close
    srv = BackgroundServer(service, fix=True).start()
    yield service, srv
    srv.stop()
    close()


@pytest.fixture
def qf(gateway, tmp_path: Path) -> Iterator[QuickFixClient]:  # type: ignore[no-untyped-def]
    if not quickfix_available():
        missing("QuickFIX (the interop tests)", QUICKFIX_PACKAGES)
    _, srv = gateway
    client = QuickFixClient(srv.fix_port, "inv1", PASSWORD, tmp_path / "qf", next_id("DESK")).start()
    assert client.logged_on.wait(10), "QuickFIX did not log on"
    yield client
    client.stop()


@pytest.mark.integration
def test_fix_quickfix_order_lifecycle_new_fill_replace_cancel(gateway, qf: QuickFixClient) -> None:  # type: ignore[no-untyped-def]
    service, srv = gateway
    buy = next_id("Q")
    qf.new_order(buy, FIXSTOCK, "B", 300, "49.90")
    new = qf.expect(b"8", t150=b"0", t11=buy.encode())
    assert new.get(39) == b"0" and new.get(151) == b"300"
    order_id = int(new.get(37))
    seller = RawFixClient(srv.fix_port, "SELLER")
    assert seller.logon("inv2", PASSWORD).get(35) == b"A"
    seller.send(b"D", [(11, "S1"), (55, FIXSTOCK), (54, 1 + 1), (38, 100), (40, 2), (44, "49.90"), (60, "20251124-02:00:00")])
    fill = qf.expect(b"8", t150=b"F", t11=buy.encode())
    assert (fill.get(32), fill.get(31), fill.get(39), fill.get(14), fill.get(151)) == (b"100", b"49.900", b"1", b"100", b"200")
    assert fill.get(37) == str(order_id).encode()
    rep = next_id("R")
    qf.replace(rep, buy, FIXSTOCK, "B", 300, "49.92")
    replaced = qf.expect(b"8", t150=b"5")
    assert (replaced.get(11), replaced.get(41), replaced.get(44), replaced.get(151)) == (rep.encode(), buy.encode(), b"49.920", b"200")
    cxl = next_id("X")
    qf.cancel(cxl, rep, FIXSTOCK, "B")
    cancelled = qf.expect(b"8", t150=b"4")
    assert (cancelled.get(11), cancelled.get(39), cancelled.get(151)) == (cxl.encode(), b"4", b"0")
    assert service.order_owner(order_id) == "C:B1:I1"
    seller.close()


@pytest.mark.integration
def test_fix_quickfix_engine_reject_names_code_and_rule(gateway, qf: QuickFixClient) -> None:  # type: ignore[no-untyped-def]
    cl = next_id("Q")
    qf.new_order(cl, FIXSTOCK, "B", 150, "49.90")
    rej = qf.expect(b"8", t150=b"8", t11=cl.encode())
    assert rej.get(39) == b"8" and b"ODD_LOT" in rej.get(58) and b"board lots" in rej.get(58)
    other = next_id("Q")
    qf.new_order(other, FIXSTOCK, "B", 100, "49.90", account="C:B2:I2")  # another tenant's account
    denied = qf.expect(b"8", t150=b"8", t11=other.encode())
    assert b"NOT_YOUR_" in denied.get(58)  # participant or account: not inv1's either way
    cxl = next_id("X")
    qf.cancel(cxl, "no-such-order", FIXSTOCK, "B")
    assert qf.expect(b"9", t11=cxl.encode()).get(434) == b"1"


def test_fix_logon_with_bad_password_is_logged_out_and_audited(gateway) -> None:  # type: ignore[no-untyped-def]
    service, srv = gateway
    c = RawFixClient(srv.fix_port, "BAD")
    reply = c.logon("inv1", "not the password")
    assert reply.get(35) == b"5" and b"logon refused" in reply.get(58)
    c.close()
    assert any(r["action"] == "logon" and r["outcome"] == "failed" and r["via"] == "fix" for r in service.auth.audit_log(actor="inv1"))
    c = RawFixClient(srv.fix_port, "EARLY")
    c.send(b"D", [(11, "x")])
    assert c.recv().get(35) == b"5"  # first message must be Logon
    c.close()


def test_fix_session_testrequest_gap_resend_and_rejects(gateway) -> None:  # type: ignore[no-untyped-def]
    _, srv = gateway
    c = RawFixClient(srv.fix_port, "SESS")
    logon = c.logon("brk1", PASSWORD)
    assert logon.get(35) == b"A" and logon.get(108) == b"30"
    c.send(b"1", [(112, "ping-1")])
    hb = c.recv_type(b"0")
    assert hb.get(112) == b"ping-1"
    cl = next_id("W")
    c.send(b"D", [(11, cl), (55, FIXSTOCK), (54, 1), (38, 100), (40, 2), (44, "49.70"), (1, "C:B1:W1"), (60, "20251124-02:00:00")])
    er = c.recv_type(b"8")
    assert er.get(150) == b"0" and er.get(11) == cl.encode()
    er_seq = int(er.get(34))
    # ask for everything again: the ExecutionReport comes back as a PossDup, admin messages as GapFill
    c.send(b"2", [(7, 1), (16, 0)])
    resent = [c.recv(), c.recv()]
    kinds = [(m.get(35), m.get(43)) for m in resent]
    assert resent[0].get(34) == b"1" and resent[0].get(123) == b"Y" and int(resent[0].get(36)) == er_seq
    assert (b"4", b"Y") in kinds and (b"8", b"Y") in kinds
    dup = next(m for m in resent if m.get(35) == b"8")
    assert int(dup.get(34)) == er_seq and dup.get(122) is not None
    # a gap in our numbering: the gateway asks for a resend from the number it expected
    expected = c.seq
    c.seq += 3
    c.send(b"0", [])
    rr = c.recv_type(b"2")
    assert int(rr.get(7)) == expected and rr.get(16) == b"0"
    c.send(b"4", [(123, b"Y"), (36, c.seq)], seq=expected, poss_dup=True)
    # malformed: missing ClOrdID -> Reject naming the tag; unsupported type -> BusinessMessageReject
    c.send(b"D", [(55, FIXSTOCK), (54, 1), (38, 100), (40, 2), (44, "49.70"), (60, "20251124-02:00:00")])
    rej = c.recv_type(b"3")
    assert rej.get(371) == b"11" and rej.get(373) == b"1"
    c.send(b"R", [(131, "quote-1")])
    bmr = c.recv_type(b"j")
    assert bmr.get(380) == b"3" and bmr.get(372) == b"R"
    # a garbled message (bad checksum) is ignored: the next good one still gets its answer
    c.send(b"1", [(112, "garbled")], corrupt=True)
    c.seq -= 1
    c.send(b"1", [(112, "ping-2")])
    assert c.recv_type(b"0").get(112) == b"ping-2"
    # too low a sequence number without PossDupFlag ends the session
    c.send(b"0", [], seq=2)
    bye = c.recv_type(b"5")
    assert b"MsgSeqNum too low" in bye.get(58)
    c.close()
