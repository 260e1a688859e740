"""FIX session state survives a gateway restart (FIX Session Protocol: a session's sequence numbers
and its store of sent messages persist until ResetSeqNumFlag; QuickFIX's FileStore / JdbcStore).

Each test runs on SQLite files and on a throwaway PostgreSQL: a counterparty works with the
gateway, the whole service is closed and opened again over the same storage (journal replayed,
a new `FixGateway` over the same session store), and the counterparty logs on again without
ResetSeqNumFlag and carries on. The last test SIGKILLs a ``lionrock serve`` process instead.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import time as dtime
from pathlib import Path

import pytest
import simplefix

from lionrock.gateways.fix.store import FixSessionStore, StoredSession, fix_store_url
from lionrock.gateways.server import BackgroundServer, free_port
from lionrock.kernel.xhkg import hk_ns
from lionrock.service.contexts import default_contexts
from lionrock.service.root import Service, market_clock
from lionrock.storage.locations import StorageSpec
from testkit.service_fixclient import RawFixClient
from testkit.service_world import DAY, PASSWORD, next_id, open_world

STOCK = "02529"
NOW = "20251124-02:00:00"


class Venue:
    """A service and its servers over one ``--db``, which a test can restart."""

    def __init__(self, db: str) -> None:
        self.db = db
        self.service, _ = open_world(db, stocks=(STOCK,))
        self.server = BackgroundServer(self.service, fix=True).start()

    @property
    def port(self) -> int:
        assert self.server.fix_port is not None
        return self.server.fix_port

    def restart(self, at: dtime = dtime(10, 30), before_gateway: Callable[[Service], None] | None = None) -> None:
        """Stop the servers and the service; open the service again over the same storage (the
        journal replays) with the market clock at ``at``, run ``before_gateway`` (the engine is
        running, timers included, and no gateway exists yet), then start a new FIX gateway over
        the same session store."""
        self.server.stop()
        self.service.close()
        self.service = Service(self.db, contexts=default_contexts(), clock=market_clock(hk_ns(DAY, at))).start()
        if before_gateway is not None:
            before_gateway(self.service)
        self.server = BackgroundServer(self.service, fix=True).start()

    def close(self) -> None:
        self.server.stop()
        self.service.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "venue.db")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def venue(db: str) -> Iterator[Venue]:
    v = Venue(db)
    yield v
    v.close()


def _seq(msg: simplefix.FixMessage) -> int:
    return int(msg.get(34))


def _ping(c: RawFixClient, text: str) -> simplefix.FixMessage:
    c.send(b"1", [(112, text)])
    hb = c.recv_type(b"0")
    assert hb.get(112) == text.encode()
    return hb


def _order(c: RawFixClient, cl: str, side: int, price: str, account: str, qty: int = 100) -> None:
    c.send(b"D", [(11, cl), (55, STOCK), (54, side), (38, qty), (40, 2), (44, price), (1, account), (60, NOW)])


def _reconnect(port: int, sender: str, user: str, client_next: int) -> tuple[RawFixClient, simplefix.FixMessage]:
    c = RawFixClient(port, sender)
    c.seq = client_next
    logon = c.logon(user, PASSWORD)
    assert logon.get(35) == b"A" and logon.get(141) is None, logon
    return c, logon


def _sell(port: int, price: str, qty: int = 100) -> None:
    """inv2 sells into the book and waits until its fill is reported (the trade is durable)."""
    seller = RawFixClient(port, next_id("SELL"))
    seller.logon("inv2", PASSWORD, reset=True)
    _order(seller, next_id("S"), 2, price, "C:B2:I2", qty)
    assert seller.recv_type(b"8").get(150) == b"0"
    assert seller.recv_type(b"8").get(150) == b"F"
    seller.close()


def test_fix_restart_logon_without_reset_continues_both_sequences(venue: Venue) -> None:
    sender = next_id("RS")
    c = RawFixClient(venue.port, sender)
    assert _seq(c.logon("brk1", PASSWORD)) == 1
    assert _seq(_ping(c, "a")) == 2
    c.close()
    venue.restart()
    c, logon = _reconnect(venue.port, sender, "brk1", 3)
    assert _seq(logon) == 3  # the gateway's numbering continues
    assert _seq(_ping(c, "b")) == 4  # and ours was accepted: it expected 3 then 4
    c.close()
    c = RawFixClient(venue.port, sender)  # starting again at 1 without ResetSeqNumFlag is still too low
    bye = c.logon("brk1", PASSWORD)
    assert bye.get(35) == b"5" and b"MsgSeqNum too low" in bye.get(58)
    c.close()


def test_fix_restart_resend_request_returns_messages_sent_before(venue: Venue) -> None:
    sender = next_id("RR")
    c = RawFixClient(venue.port, sender)
    c.logon("brk1", PASSWORD)
    cl = next_id("W")
    _order(c, cl, 1, "49.90", "C:B1:W1")
    er = c.recv_type(b"8")
    assert er.get(150) == b"0"
    client_next = c.seq
    c.close()
    venue.restart()
    c, logon = _reconnect(venue.port, sender, "brk1", client_next)
    assert _seq(logon) == _seq(er) + 1
    c.send(b"2", [(7, 1), (16, 0)])
    first, dup, last = c.recv(), c.recv(), c.recv()
    assert (first.get(35), first.get(123), _seq(first), first.get(36)) == (b"4", b"Y", 1, str(_seq(er)).encode())  # the Logon
    assert (dup.get(35), _seq(dup), dup.get(43)) == (b"8", _seq(er), b"Y")
    assert dup.get(122) == er.get(52)  # OrigSendingTime is when it was first sent, before the restart
    for tag in (11, 37, 17, 150, 39, 38, 44, 1):
        assert dup.get(tag) == er.get(tag), tag
    assert (last.get(35), _seq(last), last.get(36)) == (b"4", _seq(logon), str(_seq(logon) + 1).encode())
    assert _seq(_ping(c, "after")) == _seq(logon) + 1
    c.close()


def test_fix_restart_order_placed_before_is_replaced_and_cancelled_by_clordid(venue: Venue) -> None:
    sender = next_id("RC")
    c = RawFixClient(venue.port, sender)
    c.logon("inv1", PASSWORD)
    cl, rep = next_id("O"), next_id("R")
    _order(c, cl, 1, "49.80", "C:B1:I1", qty=300)
    order_id = c.recv_type(b"8").get(37)
    c.send(b"G", [(11, rep), (41, cl), (55, STOCK), (54, 1), (38, 300), (40, 2), (44, "49.86"), (60, NOW)])
    replaced = c.recv_type(b"8")
    assert (replaced.get(150), replaced.get(11), replaced.get(41)) == (b"5", rep.encode(), cl.encode())
    _sell(venue.port, "49.86")  # 100 of the 300 fill
    fill = c.recv_type(b"8")
    assert (fill.get(150), fill.get(14), fill.get(11)) == (b"F", b"100", rep.encode())
    client_next = c.seq
    c.close()
    venue.restart()
    c, _ = _reconnect(venue.port, sender, "inv1", client_next)
    _sell(venue.port, "49.86")  # another 100, after the restart: the view continues from the read models
    fill = c.recv_type(b"8")
    assert (fill.get(150), fill.get(37), fill.get(11), fill.get(14), fill.get(151), fill.get(6)) == (
        b"F",
        order_id,
        rep.encode(),
        b"200",
        b"100",
        b"49.860",
    )
    cxl = next_id("X")
    c.send(b"F", [(11, cxl), (41, rep), (55, STOCK), (54, 1), (60, NOW)])  # known by its latest ClOrdID
    done = c.recv_type(b"8")
    assert (done.get(150), done.get(37), done.get(11), done.get(41), done.get(14), done.get(151)) == (
        b"4",
        order_id,
        cxl.encode(),
        rep.encode(),
        b"200",
        b"0",
    )
    c.close()


def test_fix_restart_reports_produced_while_away_are_resent(venue: Venue) -> None:
    sender = next_id("AW")
    buyer = RawFixClient(venue.port, sender)
    buyer.logon("inv1", PASSWORD)
    cl = next_id("A")
    _order(buyer, cl, 1, "49.78", "C:B1:I1", qty=200)
    new = buyer.recv_type(b"8")
    client_next, last_seen = buyer.seq, _seq(new)
    buyer.close()
    _sell(venue.port, "49.78")  # filled while away, before the restart
    venue.restart()
    _sell(venue.port, "49.78")  # and after it, before the buyer is back
    c, logon = _reconnect(venue.port, sender, "inv1", client_next)
    assert _seq(logon) == last_seen + 3
    c.send(b"2", [(7, last_seen + 1), (16, 0)])
    fills = [c.recv(), c.recv()]
    assert [(m.get(35), _seq(m), m.get(43), m.get(150), m.get(11), m.get(14)) for m in fills] == [
        (b"8", last_seen + 1, b"Y", b"F", cl.encode(), b"100"),
        (b"8", last_seen + 2, b"Y", b"F", cl.encode(), b"200"),
    ]
    assert c.recv().get(35) == b"4"  # the Logon: gap-filled
    c.close()


def test_fix_restart_reset_flag_clears_the_store(venue: Venue) -> None:
    sender = next_id("RZ")
    c = RawFixClient(venue.port, sender)
    c.logon("brk1", PASSWORD)
    _order(c, next_id("Z"), 1, "49.70", "C:B1:W1")
    assert c.recv_type(b"8").get(150) == b"0"
    c.close()
    venue.restart()
    c = RawFixClient(venue.port, sender)
    logon = c.logon("brk1", PASSWORD, reset=True)
    assert (_seq(logon), logon.get(141)) == (1, b"Y")
    c.send(b"2", [(7, 1), (16, 0)])
    gap = c.recv()  # nothing stored from before the reset: one gap fill over the Logon
    assert (gap.get(35), gap.get(123), _seq(gap), gap.get(36)) == (b"4", b"Y", 1, b"2")
    assert _seq(_ping(c, "z")) == 2
    c.close()


def test_fix_store_keeps_the_last_window_messages_and_reset_clears_them(db: str) -> None:
    store = FixSessionStore.open(fix_store_url(StorageSpec(db)), window=5)
    key = (next_id("WIN"), "LIONROCK")
    store.claim(key, "brk1", 1, 1)
    for seq in range(1, 13):
        store.sent_app(key, seq, b"8", NOW, f"8=FIX.4.4\x0135=8\x0134={seq}\x01".encode(), offline=seq % 2 == 0)
    assert [m.seq for m in store.messages(key, 1, 100)] == [8, 9, 10, 11, 12]
    assert [m.seq for m in store.offline(key)] == [8, 10, 12]
    assert store.load(key) is not None and store.load(key).out_seq == 13  # type: ignore[union-attr]
    store.reset(key)
    assert store.count(key) == 0 and (store.load(key).in_seq, store.load(key).out_seq) == (1, 1)  # type: ignore[union-attr]
    store.close()


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "lionrock serve exited"
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"lionrock serve did not listen on {port}")


def _serve(db: str, fix_port: int) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "lionrock.cli",
        "serve",
        "--db",
        db,
        "--host",
        "127.0.0.1",
        "--port",
        str(free_port()),
        "--fix-port",
        str(fix_port),
        "--market-start",
        "2025-11-24T10:00",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_port(fix_port, proc)
    return proc


def test_fix_sigkilled_serve_keeps_sequences_and_resends_after_restart(tmp_path: Path) -> None:
    """A ``lionrock serve`` process killed with SIGKILL (no shutdown at all): what it sent was
    stored before it went out, so the next process continues the numbering and resends it."""
    db = str(tmp_path / "killed.db")
    open_world(db, stocks=(STOCK,))[0].close()  # users, trading day and stock, then the process takes over
    port = free_port()
    proc = _serve(db, port)
    c: RawFixClient | None = None
    try:
        c = RawFixClient(port, "KILLED")
        c.logon("brk1", PASSWORD)
        cl = next_id("K")
        _order(c, cl, 1, "49.66", "C:B1:W1")
        er = c.recv_type(b"8")
        assert er.get(150) == b"0"
        client_next = c.seq
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        c.close()
        proc = _serve(db, port)
        c, logon = _reconnect(port, "KILLED", "brk1", client_next)
        assert _seq(logon) == _seq(er) + 1
        c.send(b"2", [(7, _seq(er)), (16, _seq(er))])
        dup = c.recv()
        if dup.get(35) == b"2":
            # killed after the ExecutionReport went out but before the order's MsgSeqNum was saved
            # (it is saved once the message is handled, as FIX engines do): the gateway asks for
            # it again, we resend it as a PossDup and the venue answers the retry idempotently: the
            # order's current status (ExecType I, docs/service.md), besides the resent report, in
            # either order
            assert dup.get(7) == str(client_next - 1).encode()
            c.send(
                b"D",
                [(11, cl), (55, STOCK), (54, 1), (38, 100), (40, 2), (44, "49.66"), (1, "C:B1:W1"), (60, NOW)],
                seq=client_next - 1,
                poss_dup=True,
            )
            first, second = c.recv(), c.recv()
            status, dup = (first, second) if first.get(150) == b"I" else (second, first)
            assert (status.get(35), status.get(150), status.get(11), status.get(37)) == (b"8", b"I", cl.encode(), er.get(37))
        assert (dup.get(35), _seq(dup), dup.get(43), dup.get(11), dup.get(122)) == (b"8", _seq(er), b"Y", cl.encode(), er.get(52))
        cxl = next_id("KX")
        c.send(b"F", [(11, cxl), (41, cl), (55, STOCK), (54, 1), (60, NOW)])
        done = c.recv_type(b"8")
        assert (done.get(150), done.get(11), done.get(41), done.get(37)) == (b"4", cxl.encode(), cl.encode(), er.get(37))
    finally:
        if c is not None:
            c.close()
        proc.kill()
        proc.wait(10)


# -- reports of events the gateway had not stored when the process went down ---------------------


def _resend_all(c: RawFixClient, upto: int) -> list[simplefix.FixMessage]:
    """ResendRequest 1..0 and read until the gap fill that ends at ``upto + 1``: the ExecutionReports."""
    c.send(b"2", [(7, 1), (16, 0)])
    reports = []
    while True:
        m = c.recv()
        if m.get(35) == b"8":
            reports.append(m)
        elif m.get(35) == b"4" and int(m.get(36)) == upto + 1:
            return reports


def _stored(db: str, sender: str) -> StoredSession:
    """The pair's row in the session store, read as a restarted gateway would."""
    store = FixSessionStore.open(fix_store_url(StorageSpec(db)))
    try:
        stored = store.load((sender, "LIONROCK"))
        assert stored is not None
        return stored
    finally:
        store.close()


def _reported(db: str, sender: str) -> tuple[int, int] | None:
    return _stored(db, sender).reported


def _reports_die(monkeypatch: pytest.MonkeyPatch, sender: str) -> threading.Event:
    """From now on, storing the reports of ``sender``'s pair fails (nothing of them is stored, as
    when the process dies there); the event is set when that first happens."""
    real = FixSessionStore.sent_reports
    dead = threading.Event()

    def dies(self: FixSessionStore, key: tuple[str, str], *args: object, **kw: object) -> None:
        if key[0] == sender:
            dead.set()
            raise RuntimeError("the gateway process is gone")
        real(self, key, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(FixSessionStore, "sent_reports", dies)
    return dead


def test_fix_restart_fill_durable_but_not_reported_before_the_crash_is_reported_once(venue: Venue, monkeypatch: pytest.MonkeyPatch) -> None:
    """The crash window: a fill is durable in the journal (and in the read models) but the gateway
    dies before storing its ExecutionReport (here: storing the report fails, so nothing of it is
    stored, its position included, and the session handles no more events, as a dead process).
    After the restart the gateway reports the events after the pair's stored position: the fill
    arrives once, numbered after the reports stored before, with CumQty/LeavesQty continuing."""
    sender = next_id("CW")
    c = RawFixClient(venue.port, sender)
    c.logon("inv1", PASSWORD)
    cl = next_id("CWO")
    _order(c, cl, 1, "49.76", "C:B1:I1", qty=300)
    new = c.recv_type(b"8")
    _sell(venue.port, "49.76")
    first = c.recv_type(b"8")
    assert (first.get(150), first.get(14), first.get(151)) == (b"F", b"100", b"200")
    before = _reported(venue.db, sender)

    real = FixSessionStore.sent_reports
    dead = _reports_die(monkeypatch, sender)
    _sell(venue.port, "49.76")  # the second fill: durable, its report never stored
    assert dead.wait(10)
    assert venue.service.read.one("SELECT filled FROM orders WHERE order_id = ?", (int(new.get(37)),)) == (200,)
    assert _seq(_ping(c, "nothing-sent")) == _seq(first) + 1  # no report went out, no number was used
    assert _reported(venue.db, sender) == before  # and the position did not move
    client_next = c.seq
    c.close()
    monkeypatch.setattr(FixSessionStore, "sent_reports", real)

    venue.restart()
    c, logon = _reconnect(venue.port, sender, "inv1", client_next)
    assert _seq(logon) == _seq(first) + 3  # ping answer, the replayed fill, then the Logon
    reports = _resend_all(c, _seq(logon))
    fills = [m for m in reports if m.get(150) == b"F"]
    assert [(m.get(14), m.get(151), m.get(32), m.get(6), m.get(11)) for m in fills] == [
        (b"100", b"200", b"100", b"49.760", cl.encode()),
        (b"200", b"100", b"100", b"49.760", cl.encode()),
    ]
    assert fills[1].get(17) != fills[0].get(17) and _seq(fills[1]) == _seq(first) + 2
    assert _reported(venue.db, sender) > before  # type: ignore[operator]

    _sell(venue.port, "49.76")  # a fill after the restart continues from the replayed view
    live = c.recv_type(b"8")
    assert (live.get(150), live.get(39), live.get(14), live.get(151)) == (b"F", b"2", b"300", b"0")
    client_next = c.seq
    c.close()

    venue.restart()  # a second start-up replays nothing: every report is stored exactly once
    c, logon = _reconnect(venue.port, sender, "inv1", client_next)
    assert _seq(logon) == _seq(live) + 1
    reports = _resend_all(c, _seq(logon))
    exec_ids = [m.get(17) for m in reports]
    assert len(exec_ids) == len(set(exec_ids)) == 4  # New and three fills
    assert [m.get(14) for m in reports if m.get(150) == b"F"] == [b"100", b"200", b"300"]
    c.close()


def _closed(service: Service, order_id: int) -> None:
    """Wait until the venue's timers (closing auction, end of day) have cancelled the order."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = service.read.one("SELECT status, reason FROM orders WHERE order_id = ?", (order_id,))
        if row is not None and row[0] == "cancelled":
            return
        time.sleep(0.05)
    raise AssertionError(f"order {order_id} was not cancelled by the close")


def test_fix_restart_order_cancelled_by_the_close_before_the_gateway_starts_is_reported(venue: Venue) -> None:
    """Timer events between the engine's start and the gateway's: the service starts again after
    the close, the venue's timers run the closing auction and cancel the partly filled order at the
    end of the day before any gateway exists (the test waits for it), and the gateway reports the
    cancel at start-up: the client finds it by ResendRequest, CumQty 100 and LeavesQty 0."""
    sender = next_id("EOD")
    c = RawFixClient(venue.port, sender)
    c.logon("inv1", PASSWORD)
    cl = next_id("EODO")
    _order(c, cl, 1, "49.74", "C:B1:I1", qty=300)
    new = c.recv_type(b"8")
    _sell(venue.port, "49.74")
    fill = c.recv_type(b"8")
    assert (fill.get(150), fill.get(14)) == (b"F", b"100")
    client_next = c.seq
    c.close()

    order_id = int(new.get(37))
    venue.restart(at=dtime(16, 30), before_gateway=lambda service: _closed(service, order_id))
    c, logon = _reconnect(venue.port, sender, "inv1", client_next)
    assert _seq(logon) == _seq(fill) + 2
    c.send(b"2", [(7, _seq(fill) + 1), (16, 0)])
    cancelled = c.recv()
    assert (cancelled.get(35), _seq(cancelled), cancelled.get(43), cancelled.get(150), cancelled.get(39)) == (
        b"8",
        _seq(fill) + 1,
        b"Y",
        b"4",
        b"4",
    )
    assert (cancelled.get(37), cancelled.get(11), cancelled.get(14), cancelled.get(151), cancelled.get(38)) == (
        new.get(37),
        cl.encode(),
        b"100",
        b"0",
        b"300",
    )
    assert cancelled.get(58) in (b"END_OF_DAY", b"CAS_PRICE_LIMIT")
    assert c.recv().get(35) == b"4"  # the Logon: gap-filled
    c.close()


def test_fix_store_reports_and_their_position_are_one_transaction(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Storing an event's reports and moving the pair's position to it is all or nothing: a
    failure in between leaves neither (no stored report without its position, and vice versa)."""
    store = FixSessionStore.open(fix_store_url(StorageSpec(db)))
    key = (next_id("TX"), "LIONROCK")
    store.claim(key, "brk1", 1, 1, reported=(5, 0))
    raw = b"8=FIX.4.4\x0135=8\x01"
    store.sent_reports(key, [(1, b"8", NOW, raw)], (7, 0), offline=True)
    assert (store.load(key).reported, store.load(key).out_seq, store.count(key)) == ((7, 0), 2, 1)  # type: ignore[union-attr]

    def boom(*_: object) -> None:
        raise RuntimeError("crash before the position is written")

    monkeypatch.setattr(store, "set_reported", boom)
    with pytest.raises(RuntimeError):
        store.sent_reports(key, [(2, b"8", NOW, raw), (3, b"8", NOW, raw)], (8, 1), offline=True, aliases=[(42, "NEW")])
    assert (store.load(key).reported, store.load(key).out_seq, store.count(key)) == ((7, 0), 2, 1)  # type: ignore[union-attr]
    assert store.cl_ord_ids(key) == {}
    store.claim(key, "brk1", 1, 2, reported=(99, 0))  # a later Logon keeps the stored position
    assert store.load(key).reported == (7, 0)  # type: ignore[union-attr]
    store.close()


def _event_time(service: Service, order_id: int, kind: str) -> str:
    """The engine time of an order's event as a FIX UTCTimestamp (TransactTime, tag 60)."""
    row = service.read.one(
        "SELECT at_ns FROM events WHERE type = ? AND body LIKE ? ORDER BY seq DESC LIMIT 1", (kind, f'%"order_id":{order_id},%')
    )
    assert row is not None, (kind, order_id)
    seconds, ns = divmod(int(row[0]), 1_000_000_000)
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(seconds)) + f".{ns // 1_000_000:03d}"


@pytest.mark.parametrize("request_type", [b"F", b"G"])
def test_fix_restart_cancel_or_replace_answered_while_down_carries_the_request_clordid(
    venue: Venue, monkeypatch: pytest.MonkeyPatch, request_type: bytes
) -> None:
    """A cancel (F) or cancel/replace (G) is done by the venue (its event durable) but the gateway
    dies before storing the report. After the restart the report made by the replay is the answer
    to that request: ClOrdID (11) is the request's, OrigClOrdID (41) the order's (FIX 4.4
    ExecutionReport for OrderCancelRequest / OrderCancelReplaceRequest), and TransactTime (60) is
    when the venue did it, not when the report was made; a later request works by the new chain."""
    sender = next_id("PR")
    c = RawFixClient(venue.port, sender)
    c.logon("inv1", PASSWORD)
    cl, req = next_id("PRO"), next_id("PRQ")
    _order(c, cl, 1, "49.72", "C:B1:I1", qty=300)
    order_id = int(c.recv_type(b"8").get(37))

    real = FixSessionStore.sent_reports
    dead = _reports_die(monkeypatch, sender)
    if request_type == b"F":
        c.send(b"F", [(11, req), (41, cl), (55, STOCK), (54, 1), (60, NOW)])
    else:
        c.send(b"G", [(11, req), (41, cl), (55, STOCK), (54, 1), (38, 200), (40, 2), (44, "49.72"), (60, NOW)])
    assert dead.wait(10)
    status = "cancelled" if request_type == b"F" else "new"
    deadline = time.monotonic() + 10
    while venue.service.read.one("SELECT status, quantity FROM orders WHERE order_id = ?", (order_id,)) != (
        status,
        300 if status == "cancelled" else 200,
    ):
        assert time.monotonic() < deadline, "the venue did not act on the request"
        time.sleep(0.02)
    kind = "OrderCancelled" if request_type == b"F" else "OrderAmended"
    done_at = _event_time(venue.service, order_id, kind)
    client_next = c.seq
    c.close()
    monkeypatch.setattr(FixSessionStore, "sent_reports", real)

    venue.restart(at=dtime(11, 0))  # an hour later: a report made now would say 03:00 UTC
    c, logon = _reconnect(venue.port, sender, "inv1", client_next)
    answer = [m for m in _resend_all(c, _seq(logon)) if m.get(150) in (b"4", b"5")]
    assert len(answer) == 1
    m = answer[0]
    assert (m.get(150), m.get(37), m.get(11), m.get(41), m.get(60)) == (
        request_type == b"F" and b"4" or b"5",
        str(order_id).encode(),
        req.encode(),
        cl.encode(),
        done_at.encode(),
    )
    assert done_at.startswith("20251124-02:")  # 10:xx in Hong Kong
    if request_type == b"G":  # the order is now known by the request's ClOrdID
        cxl = next_id("PRX")
        c.send(b"F", [(11, cxl), (41, req), (55, STOCK), (54, 1), (60, NOW)])
        done = c.recv_type(b"8")
        assert (done.get(150), done.get(37), done.get(11), done.get(41)) == (b"4", str(order_id).encode(), cxl.encode(), req.encode())
        assert done.get(60) == _event_time(venue.service, order_id, "OrderCancelled").encode()
    c.close()
    store = FixSessionStore.open(fix_store_url(StorageSpec(venue.db)))
    try:
        assert store.pending((sender, "LIONROCK")) == {}  # every request answered: nothing left pending
    finally:
        store.close()


def test_fix_sell_short_side_5_is_a_short_sale_and_stays_one_across_a_restart(venue: Venue) -> None:
    """Side (54) 5, sell short, is a short sale (Schedule 11 of the Rules of the Exchange): refused
    on a stock that is not a Designated Security (the reject keeps Side 5), accepted once it is; its
    reports carry Side 5, also after a restart, when the order's view is rebuilt from the read model."""
    from lionrock.trading.commands import DesignateShortSelling

    sender = next_id("SS")
    c = RawFixClient(venue.port, sender)
    c.logon("inv2", PASSWORD)
    refused = next_id("SSR")
    c.send(b"D", [(11, refused), (55, STOCK), (54, 5), (38, 100), (40, 2), (44, "50.20"), (1, "C:B2:I2"), (60, NOW)])
    rej = c.recv_type(b"8")
    assert (rej.get(150), rej.get(54), rej.get(11)) == (b"8", b"5", refused.encode()) and b"SHORT_SELL_NOT_DESIGNATED" in rej.get(58)
    op = venue.service.auth.principal("op", via="test")
    assert venue.service.submit_sync(op, DesignateShortSelling(instrument=STOCK, designated=True)).rejection is None
    cl = next_id("SSO")
    c.send(b"D", [(11, cl), (55, STOCK), (54, 5), (38, 300), (40, 2), (44, "50.20"), (1, "C:B2:I2"), (60, NOW)])
    new = c.recv_type(b"8")
    assert (new.get(150), new.get(54)) == (b"0", b"5")
    assert venue.service.read.one("SELECT short_sell FROM orders WHERE order_id = ?", (int(new.get(37)),)) == (1,)
    client_next = c.seq
    c.close()
    venue.restart()
    c, _ = _reconnect(venue.port, sender, "inv2", client_next)
    buyer = RawFixClient(venue.port, next_id("BUY"))
    buyer.logon("inv1", PASSWORD, reset=True)
    _order(buyer, next_id("B"), 1, "50.20", "C:B1:I1")
    fill = c.recv_type(b"8")
    assert (fill.get(150), fill.get(54), fill.get(11), fill.get(14)) == (b"F", b"5", cl.encode(), b"100")
    buyer.close()
    c.close()


def _stored_in_seq(db: str, sender: str) -> int:
    return _stored(db, sender).in_seq


def test_fix_pipelined_orders_answered_in_order_and_counted_only_once_durable(venue: Venue, monkeypatch: pytest.MonkeyPatch) -> None:
    """NewOrderSingles are handed to the engine without waiting for the one before (so a burst is
    group-committed together), but answered in message order, and the expected incoming MsgSeqNum
    is saved only up to the last message whose order is durable: a crash can never count as
    received an order the venue does not have (the counterparty resends it after the restart)."""
    sender = next_id("PL")
    c = RawFixClient(venue.port, sender)
    c.logon("inv1", PASSWORD)
    held_cl = next_id("PLH")
    release = threading.Event()
    real = Service.enqueue

    def enqueue(self: Service, p: object, command: object) -> tuple[asyncio.Future[object], list[tuple[str, str]]]:
        queued, grants = real(self, p, command)  # type: ignore[arg-type]
        if getattr(command, "client_order_id", "") != held_cl:
            return queued, grants  # type: ignore[return-value]
        loop = asyncio.get_running_loop()
        late: asyncio.Future[object] = loop.create_future()  # the engine has it; its answer reaches the gateway late

        def hand_over(done: asyncio.Future[object]) -> None:
            if not late.done():  # cancelled: the gateway stopped first
                late.set_result(done.result())

        def relay(done: asyncio.Future[object]) -> None:
            release.wait(10)
            loop.call_soon_threadsafe(hand_over, done)

        queued.add_done_callback(lambda done: threading.Thread(target=relay, args=(done,), daemon=True).start())
        return late, grants

    monkeypatch.setattr(Service, "enqueue", enqueue)
    try:
        _pipelined_burst(venue, c, sender, held_cl, release)
    finally:
        release.set()  # never leave the relay waiting past the test
    c.close()


def _pipelined_burst(venue: Venue, c: RawFixClient, sender: str, held_cl: str, release: threading.Event) -> None:
    first, odd, last = next_id("PL1"), next_id("PLODD"), next_id("PL4")
    logon_next = c.seq  # MsgSeqNum of the first order
    for cl, qty in ((first, 100), (held_cl, 100), (odd, 150), (last, 100)):
        _order(c, cl, 1, "49.70", "C:B1:I1", qty)
    news = {c.recv_type(b"8").get(11) for _ in range(3)}  # the three valid orders are durable and reported
    assert news == {first.encode(), held_cl.encode(), last.encode()}
    deadline = time.monotonic() + 10
    while _stored_in_seq(venue.db, sender) != logon_next + 1:  # the first order's answer is handled
        assert time.monotonic() < deadline, "the first order's MsgSeqNum was not saved"
        time.sleep(0.02)
    _ping(c, "still-held")  # the session keeps working meanwhile; the odd lot's reject waits its turn
    time.sleep(0.2)
    assert _stored_in_seq(venue.db, sender) == logon_next + 1  # nothing after the held order is counted
    release.set()
    reject = c.recv_type(b"8")
    assert (reject.get(150), reject.get(11)) == (b"8", odd.encode()) and b"ODD_LOT" in reject.get(58)
    assert reject.get(60).startswith(b"20251124-02:")  # TransactTime: the engine's time (10:xx in Hong Kong)
    deadline = time.monotonic() + 10
    while _stored_in_seq(venue.db, sender) != logon_next + 5:  # the four orders and the TestRequest
        assert time.monotonic() < deadline, "the incoming number was not saved once every order was answered"
        time.sleep(0.02)


def test_fix_pipelined_answer_that_cannot_be_stored_is_never_counted_as_received(venue: Venue, monkeypatch: pytest.MonkeyPatch) -> None:
    """Crash-only for a pipelined answer: when the session store fails while storing an order's
    rejection, the gateway closes the connection and never saves that message as received, so
    after the restart the counterparty is asked for it again (ResendRequest) and nothing is lost."""
    sender = next_id("PF")
    c = RawFixClient(venue.port, sender)
    c.logon("inv1", PASSWORD)
    odd = next_id("PFODD")
    odd_seq = c.seq
    real = FixSessionStore.sent_app

    def fails(self: FixSessionStore, key: tuple[str, str], *args: object, **kw: object) -> None:
        if key[0] == sender:
            raise RuntimeError("the session store is gone")
        real(self, key, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(FixSessionStore, "sent_app", fails)
    _order(c, odd, 1, "49.70", "C:B1:I1", 150)  # an odd lot: its answer is a stored rejection
    deadline = time.monotonic() + 10
    closed = False
    while not closed:
        assert time.monotonic() < deadline, "the gateway kept the connection open"
        try:
            closed = c.sock.recv(1 << 16) == b""
        except OSError:
            closed = True
    monkeypatch.setattr(FixSessionStore, "sent_app", real)
    assert _stored_in_seq(venue.db, sender) == odd_seq  # the order's message is still expected
    c.close()
    venue.restart()
    c, logon = _reconnect(venue.port, sender, "inv1", odd_seq + 1)
    resend = c.recv_type(b"2")  # the gateway asks for the message it never counted
    assert (resend.get(7), resend.get(16)) == (str(odd_seq).encode(), b"0")
    c.close()
