"""FIX counterparties for the gateway tests: QuickFIX (a real FIX engine) and a raw simplefix socket."""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import shutil
import socket
import subprocess
import tempfile
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


_SOURCE = Path(__file__).with_name("qfinitiator.cpp")
_HEADER = Path("/usr/include/quickfix/Application.h")
QUICKFIX_PACKAGES = "g++ and libquickfix-dev (Debian: apt-get install g++ libquickfix-dev)"


def quickfix_binary() -> Path | None:
    """The QuickFIX initiator (`qfinitiator.cpp` on Debian's libquickfix-dev), compiled once per
    version of its source into the temp directory (about 3 s); None without g++ or the headers."""
    compiler = shutil.which("g++")
    if compiler is None or not _HEADER.exists():
        return None
    digest = hashlib.sha256(_SOURCE.read_bytes()).hexdigest()[:16]
    binary = Path(tempfile.gettempdir()) / f"lionrock-qfinitiator-{digest}"
    if not binary.exists():
        partial = binary.with_name(f"{binary.name}.{os.getpid()}")
        subprocess.run(
            [compiler, "-std=c++14", "-Wno-deprecated", "-O1", "-o", str(partial), str(_SOURCE), "-lquickfix", "-lpthread"],
            check=True,
            capture_output=True,
            timeout=300,
        )
        partial.replace(binary)  # atomic: parallel test workers never run a half-written file
    return binary


def quickfix_available() -> bool:
    return quickfix_binary() is not None


class QuickFixClient:
    """A QuickFIX (C++) initiator logging on with Username/Password, driven over its stdin and
    stdout (`qfinitiator.cpp`); application messages received are queued in ``inbox``, admin
    ones in ``admin``. QuickFIX runs the session layer (Logon, heartbeats, sequence numbers,
    resends, its own validation of what the gateway sends) as a real counterparty would."""

    def __init__(self, port: int, user: str, password: str, workdir: Path, sender: str) -> None:
        binary = quickfix_binary()
        assert binary is not None, f"QuickFIX needs {QUICKFIX_PACKAGES}"
        self.inbox: queue.Queue[simplefix.FixMessage] = queue.Queue()
        self.admin: queue.Queue[simplefix.FixMessage] = queue.Queue()
        self.errors: queue.Queue[str] = queue.Queue()
        self.logged_on = threading.Event()
        self.logged_out = threading.Event()
        workdir.mkdir(parents=True, exist_ok=True)
        cfg = workdir / "client.cfg"
        cfg.write_text(
            "[DEFAULT]\nConnectionType=initiator\nReconnectInterval=1\nStartTime=00:00:00\nEndTime=00:00:00\n"
            f"FileStorePath={workdir / 'store'}\nHeartBtInt=1\nResetOnLogon=Y\nUseDataDictionary=N\n"
            f"SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\n"
            f"[SESSION]\nBeginString=FIX.4.4\nSenderCompID={sender}\nTargetCompID=LIONROCK\n"
        )
        self.args = [str(binary), str(cfg), user, password]
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> QuickFixClient:
        self.process = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.reader = threading.Thread(target=self._read, name="quickfix-stdout", daemon=True)
        self.reader.start()
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            kind, _, rest = line.rstrip("\n").partition(" ")
            if kind == "LOGON":
                self.logged_on.set()
            elif kind == "LOGOUT":
                self.logged_out.set()
            elif kind in ("APP", "ADMIN"):
                (self.inbox if kind == "APP" else self.admin).put(parse(rest.replace("|", "\x01")))
            elif kind == "ERROR":
                self.errors.put(rest)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            assert self.process.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.write("QUIT\n")
                self.process.stdin.flush()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process is not None:
            self.reader.join(5)  # it ends at the end of the process's output
            for pipe in (self.process.stdin, self.process.stdout):
                if pipe is not None:
                    pipe.close()

    def send(self, msg_type: str, fields: list[tuple[int, object]]) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write("SEND " + "|".join([f"35={msg_type}", *(f"{t}={v}" for t, v in fields)]) + "\n")
        self.process.stdin.flush()

    @staticmethod
    def _now() -> str:
        return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()) + ".000"

    def new_order(self, cl: str, symbol: str, side: str, qty: int, price: str, account: str = "") -> None:
        fields: list[tuple[int, object]] = [
            (11, cl),
            (55, symbol),
            (54, 1 if side == "B" else 2),
            (60, self._now()),
            (38, qty),
            (40, 2),
            (44, price),
        ]
        if account:
            fields.append((1, account))
        self.send("D", fields)

    def cancel(self, cl: str, orig: str, symbol: str, side: str) -> None:
        self.send("F", [(41, orig), (11, cl), (55, symbol), (54, 1 if side == "B" else 2), (60, self._now())])

    def replace(self, cl: str, orig: str, symbol: str, side: str, qty: int, price: str) -> None:
        self.send(
            "G", [(41, orig), (11, cl), (55, symbol), (54, 1 if side == "B" else 2), (60, self._now()), (40, 2), (38, qty), (44, price)]
        )

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

    def send(
        self, msg_type: bytes, fields: list[tuple[int, Any]], *, seq: int | None = None, poss_dup: bool = False, corrupt: bool = False
    ) -> None:
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
