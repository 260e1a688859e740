"""FIX 4.4 session continuity: sequence numbers and the message store belong to the
(SenderCompID, TargetCompID) pair for the gateway's lifetime, not to one TCP connection
(FIX Session Protocol: a session spans connections until ResetSeqNumFlag resets it), and a gap
is answered by one ResendRequest with the later messages held until it is filled."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import simplefix

from lionrock.gateways.server import BackgroundServer
from testkit.service_fixclient import RawFixClient
from testkit.service_world import PASSWORD, next_id, open_world

STOCK = "02531"
NOW = "20251124-02:00:00"


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    service, _ = open_world(stocks=(STOCK,))
    srv = BackgroundServer(service, fix=True).start()
    assert srv.fix_port is not None
    yield srv.fix_port
    srv.stop()
    service.close()


def _seq(msg: simplefix.FixMessage) -> int:
    return int(msg.get(34))


def _ping(c: RawFixClient, text: str) -> simplefix.FixMessage:
    c.send(b"1", [(112, text)])
    hb = c.recv_type(b"0")
    assert hb.get(112) == text.encode()
    return hb


def _order(c: RawFixClient, cl: str, side: int, price: str, account: str) -> None:
    c.send(b"D", [(11, cl), (55, STOCK), (54, side), (38, 100), (40, 2), (44, price), (1, account), (60, NOW)])


def test_fix_reconnect_without_reset_continues_both_sequences(port: int) -> None:
    sender = next_id("CONT")
    c = RawFixClient(port, sender)
    assert _seq(c.logon("brk1", PASSWORD)) == 1
    assert _seq(_ping(c, "a")) == 2
    client_next = c.seq
    c.close()
    c = RawFixClient(port, sender)
    c.seq = client_next
    logon = c.logon("brk1", PASSWORD)
    assert logon.get(35) == b"A" and _seq(logon) == 3 and logon.get(141) is None
    assert _seq(_ping(c, "b")) == 4  # our next number was accepted: the gateway expected it
    c.close()
    # starting again at 1 without ResetSeqNumFlag is too low for the continuing session
    c = RawFixClient(port, sender)
    bye = c.logon("brk1", PASSWORD)
    assert bye.get(35) == b"5" and b"MsgSeqNum too low" in bye.get(58)
    c.close()


def test_fix_reconnect_with_reset_flag_restarts_both_sequences_at_one(port: int) -> None:
    sender = next_id("RST")
    c = RawFixClient(port, sender)
    c.logon("brk1", PASSWORD)
    _ping(c, "a")
    _ping(c, "b")
    c.close()
    c = RawFixClient(port, sender)
    c.seq = 40
    logon = c.logon("brk1", PASSWORD, reset=True)
    assert logon.get(35) == b"A" and _seq(logon) == 1 and logon.get(141) == b"Y"
    assert c.seq == 2 and _seq(_ping(c, "c")) == 2
    c.close()


def test_fix_compid_pair_of_another_user_is_refused(port: int) -> None:
    sender = next_id("OWN")
    c = RawFixClient(port, sender)
    c.logon("brk1", PASSWORD)
    c.close()
    c = RawFixClient(port, sender)
    bye = c.logon("inv2", PASSWORD, reset=True)
    assert bye.get(35) == b"5" and b"another user" in bye.get(58)
    c.close()


def _fill_while_away(port: int, sender: str, price: str) -> tuple[str, int, int]:
    """inv1 rests a buy over FIX, disconnects; inv2 sells into it. Returns (ClOrdID, client's next
    MsgSeqNum, the last MsgSeqNum inv1 received)."""
    buyer = RawFixClient(port, sender)
    buyer.logon("inv1", PASSWORD)
    cl = next_id("AWAY")
    _order(buyer, cl, 1, price, "C:B1:I1")
    new = buyer.recv_type(b"8")
    assert new.get(150) == b"0" and new.get(11) == cl.encode()
    client_next, last_seen = buyer.seq, _seq(new)
    buyer.close()
    seller = RawFixClient(port, next_id("SELL"))
    seller.logon("inv2", PASSWORD, reset=True)
    _order(seller, next_id("S"), 2, price, "C:B2:I2")
    assert seller.recv_type(b"8").get(150) == b"0"
    assert seller.recv_type(b"8").get(150) == b"F"  # the trade is done (and published) by now
    seller.close()
    return cl, client_next, last_seen


def test_fix_fill_while_disconnected_is_resent_after_reconnect(port: int) -> None:
    sender = next_id("AWAYR")
    cl, client_next, last_seen = _fill_while_away(port, sender, "49.80")
    c = RawFixClient(port, sender)
    c.seq = client_next
    logon = c.logon("inv1", PASSWORD)
    assert logon.get(35) == b"A" and _seq(logon) == last_seen + 2  # the fill took last_seen + 1
    c.send(b"2", [(7, last_seen + 1), (16, 0)])
    fill = c.recv()
    assert (fill.get(35), _seq(fill), fill.get(43)) == (b"8", last_seen + 1, b"Y")
    assert fill.get(150) == b"F" and fill.get(11) == cl.encode() and fill.get(32) == b"100" and fill.get(122) is not None
    gap = c.recv()  # the Logon is admin: gap-filled
    assert (gap.get(35), gap.get(123), _seq(gap), gap.get(36)) == (b"4", b"Y", last_seen + 2, str(last_seen + 3).encode())
    assert _seq(_ping(c, "after")) == last_seen + 3
    c.close()


def test_fix_fill_while_disconnected_is_sent_again_after_reset_logon(port: int) -> None:
    sender = next_id("AWAYZ")
    cl, _, _ = _fill_while_away(port, sender, "49.70")
    c = RawFixClient(port, sender)
    logon = c.logon("inv1", PASSWORD, reset=True)
    assert _seq(logon) == 1 and logon.get(141) == b"Y"
    fill = c.recv()
    assert (fill.get(35), _seq(fill), fill.get(97), fill.get(150), fill.get(11)) == (b"8", 2, b"Y", b"F", cl.encode())
    c.close()


def test_fix_gap_sends_one_resend_request_and_holds_later_messages(port: int) -> None:
    c = RawFixClient(port, next_id("GAP"))
    c.logon("brk1", PASSWORD)
    expected = c.seq
    c.seq += 2  # two messages lost on the way
    for i in range(3):
        c.send(b"1", [(112, f"held-{i}")])
    rr = c.recv()
    assert (rr.get(35), rr.get(7), rr.get(16)) == (b"2", str(expected).encode(), b"0")
    # the lost ones were admin: a gap fill; the three held TestRequests are then answered in order
    c.send(b"4", [(123, b"Y"), (36, expected + 2)], seq=expected, poss_dup=True)
    seen = [c.recv() for _ in range(3)]
    assert [(m.get(35), m.get(112)) for m in seen] == [(b"0", f"held-{i}".encode()) for i in range(3)]
    assert _seq(_ping(c, "in-order")) == _seq(seen[-1]) + 1  # nothing else was sent: one ResendRequest only
    c.close()


def test_fix_gap_held_order_is_processed_after_client_resends(port: int) -> None:
    c = RawFixClient(port, next_id("GAPD"))
    c.logon("brk1", PASSWORD)
    lost = c.seq
    cl_lost, cl_later = next_id("L"), next_id("L")
    c.seq += 1
    _order(c, cl_later, 1, "49.60", "C:B1:W2")
    _order(c, cl_later + "x", 1, "49.60", "C:B1:W2")
    assert c.recv().get(35) == b"2"
    # the client resends the lost order as a PossDup; both held orders follow, in sequence
    c.send(
        b"D", [(11, cl_lost), (55, STOCK), (54, 1), (38, 100), (40, 2), (44, "49.60"), (1, "C:B1:W2"), (60, NOW)], seq=lost, poss_dup=True
    )
    acks = [c.recv() for _ in range(3)]
    assert [(m.get(35), m.get(150), m.get(11)) for m in acks] == [
        (b"8", b"0", cl_lost.encode()),
        (b"8", b"0", cl_later.encode()),
        (b"8", b"0", (cl_later + "x").encode()),
    ]
    c.close()
