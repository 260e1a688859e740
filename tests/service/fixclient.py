"""FIX counterparties for the gateway tests: QuickFIX (a real FIX engine) and a raw simplefix socket."""

from __future__ import annotations

import queue
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import simplefix


def parse(raw: str | bytes) -> simplefix.FixMessage:
    p = simplefix.FixParser()
    p.append_buffer(raw.encode() if isinstance(raw, str) else raw)
    msg = p.get_message()
    assert msg is not None, raw
    return msg


def quickfix_available() -> bool:
    try:
        import quickfix  # noqa: F401
    except ImportError:
        return False
    return dictionary() is not None


def dictionary() -> Path | None:
    for base in (Path(sys.prefix) / "share" / "quickfix", Path("/usr/share/quickfix")):
        if (base / "FIX44.xml").exists():
            return base / "FIX44.xml"
    return None


class QuickFixClient:
    """A QuickFIX/Python initiator logging on with Username/Password; inbound messages queued."""

    def __init__(self, port: int, user: str, password: str, workdir: Path, sender: str) -> None:
        import quickfix as fix

        self.fix = fix
        self.inbox: queue.Queue[simplefix.FixMessage] = queue.Queue()
        self.admin: queue.Queue[simplefix.FixMessage] = queue.Queue()
        self.logged_on = threading.Event()
        self.logged_out = threading.Event()
        self.session_id: Any = None
        client = self

        class App(fix.Application):  # type: ignore[misc]
            def onCreate(self, sid: Any) -> None:
                client.session_id = sid

            def onLogon(self, sid: Any) -> None:
                client.logged_on.set()

            def onLogout(self, sid: Any) -> None:
                client.logged_out.set()

            def toAdmin(self, msg: Any, sid: Any) -> None:
                t = fix.MsgType()
                msg.getHeader().getField(t)
                if t.getValue() == fix.MsgType_Logon:
                    msg.setField(fix.StringField(553, user))
                    msg.setField(fix.StringField(554, password))

            def fromAdmin(self, msg: Any, sid: Any) -> None:
                client.admin.put(parse(msg.toString()))

            def toApp(self, msg: Any, sid: Any) -> None:
                pass

            def fromApp(self, msg: Any, sid: Any) -> None:
                client.inbox.put(parse(msg.toString()))

        workdir.mkdir(parents=True, exist_ok=True)
        cfg = workdir / "client.cfg"
        cfg.write_text(
            "[DEFAULT]\nConnectionType=initiator\nReconnectInterval=1\nStartTime=00:00:00\nEndTime=00:00:00\n"
            f"FileStorePath={workdir / 'store'}\nFileLogPath={workdir / 'log'}\nHeartBtInt=1\nResetOnLogon=Y\n"
            f"UseDataDictionary=Y\nDataDictionary={dictionary()}\nSocketConnectHost=127.0.0.1\nSocketConnectPort={port}\n"
            f"[SESSION]\nBeginString=FIX.4.4\nSenderCompID={sender}\nTargetCompID=LIONROCK\n"
        )
        self.app = App()
        settings = fix.SessionSettings(str(cfg))
        self.initiator = fix.SocketInitiator(self.app, fix.FileStoreFactory(settings), settings, fix.FileLogFactory(settings))

    def start(self) -> QuickFixClient:
        self.initiator.start()
        return self

    def stop(self) -> None:
        self.initiator.stop()

    def new_order(self, cl: str, symbol: str, side: str, qty: int, price: str, account: str = "") -> None:
        import quickfix44 as fix44

        fix = self.fix
        m = fix44.NewOrderSingle()
        for f in (fix.ClOrdID(cl), fix.Side(fix.Side_BUY if side == "B" else fix.Side_SELL), fix.TransactTime(), fix.OrdType(fix.OrdType_LIMIT)):
            m.setField(f)
        m.setField(fix.Symbol(symbol))
        m.setField(fix.OrderQty(qty))
        m.setField(fix.StringField(44, price))
        if account:
            m.setField(fix.Account(account))
        fix.Session.sendToTarget(m, self.session_id)

    def cancel(self, cl: str, orig: str, symbol: str, side: str) -> None:
        import quickfix44 as fix44

        fix = self.fix
        m = fix44.OrderCancelRequest()
        for f in (fix.OrigClOrdID(orig), fix.ClOrdID(cl), fix.Side(fix.Side_BUY if side == "B" else fix.Side_SELL), fix.TransactTime()):
            m.setField(f)
        m.setField(fix.Symbol(symbol))
        fix.Session.sendToTarget(m, self.session_id)

    def replace(self, cl: str, orig: str, symbol: str, side: str, qty: int, price: str) -> None:
        import quickfix44 as fix44

        fix = self.fix
        m = fix44.OrderCancelReplaceRequest()
        for f in (fix.OrigClOrdID(orig), fix.ClOrdID(cl), fix.Side(fix.Side_BUY if side == "B" else fix.Side_SELL), fix.TransactTime(), fix.OrdType(fix.OrdType_LIMIT)):
            m.setField(f)
        m.setField(fix.Symbol(symbol))
        m.setField(fix.OrderQty(qty))
        m.setField(fix.StringField(44, price))
        fix.Session.sendToTarget(m, self.session_id)

    def expect(self, msg_type: bytes, timeout: float = 10.0, **tags: bytes) -> simplefix.FixMessage:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {msg_type!r} with {tags} within {timeout}s")
            msg = self.inbox.get(timeout=left)
            if msg.get(35) == msg_type and all(msg.get(int(k[1:])) == v for k, v in tags.items()):
                return msg


class RawFixClient:
    """A hand-driven FIX 4.4 session over a socket, built on simplefix (for session-layer faults)."""

    def __init__(self, port: int, sender: str = "RAW") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.parser = simplefix.FixParser()
        self.seq = 1
        self.sender = sender

    def send(self, msg_type: bytes, fields: list[tuple[int, Any]], *, seq: int | None = None, poss_dup: bool = False, corrupt: bool = False) -> None:
        m = simplefix.FixMessage()
        m.append_pair(8, b"FIX.4.4", header=True)
        m.append_pair(35, msg_type, header=True)
        m.append_pair(49, self.sender, header=True)
        m.append_pair(56, b"LIONROCK", header=True)
        m.append_pair(34, seq if seq is not None else self.seq, header=True)
        if poss_dup:
            m.append_pair(43, b"Y", header=True)
        m.append_pair(52, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()) + ".000", header=True)
        for t, v in fields:
            m.append_pair(t, v)
        raw = m.encode()
        if corrupt:
            raw = raw[:-4] + b"000\x01"
        if seq is None:
            self.seq += 1
        self.sock.sendall(raw)

    def logon(self, user: str, password: str, hb: int = 30, *, reset: bool = False) -> simplefix.FixMessage:
        """Logon at the next MsgSeqNum (``self.seq``), or at 1 with ResetSeqNumFlag (141=Y)."""
        if reset:
            self.seq = 1
        self.send(b"A", [(98, 0), (108, hb), (553, user), (554, password)] + ([(141, b"Y")] if reset else []))
        return self.recv()

    def recv(self, timeout: float = 10.0) -> simplefix.FixMessage:
        deadline = time.monotonic() + timeout
        while True:
            msg = self.parser.get_message()
            if msg is not None:
                return msg
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("gateway closed the connection")
            self.parser.append_buffer(data)

    def recv_type(self, msg_type: bytes, timeout: float = 10.0) -> simplefix.FixMessage:
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv(max(deadline - time.monotonic(), 0.01))
            if msg.get(35) == msg_type:
                return msg

    def close(self) -> None:
        self.sock.close()
