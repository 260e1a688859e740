"""A seeded hostile-client simulation against a real ``lionrock serve`` process (issue 13, stream E).

Why: the unit and API tests check what a well-behaved client sees. This drives the whole service
(a subprocess on loopback, SQLite journal in a temporary directory) with a seeded random mix of
valid and hostile traffic over REST and FIX, from every role, and kills the process with SIGKILL
at seeded points (once in the middle of a burst of concurrent orders), then restarts it. After
every restart and at the end it checks what must hold whatever the clients did:

- the engine never stops: no 5xx while the process is up (a hostile command is rejected, it does
  not stop the engine; 503 ENGINE_UNAVAILABLE is only allowed to be "connection refused" while
  the process is down), and ``GET /v1/health`` says running;
- no acknowledged command is lost or doubled: every order answered 2xx (REST) or with an
  ExecutionReport New (FIX) is listed after the restart exactly once, with its client order id;
  client order ids are unique per participant; an order whose answer was lost in the kill is
  retried with the same client order id and then exists exactly once;
- no tenant sees another's data: each investor's ``GET /v1/orders`` and ``GET /v1/accounts``
  hold only its own accounts; reading, amending or cancelling another tenant's order is refused;
- at the end, after a clean stop, ``lionrock replay`` (snapshot + tail) and ``lionrock replay
  --from-scratch`` print the state hash the live service printed as it stopped, and the number of
  commands it had.

A failure names its seed (`HostileFailure`); ``make hostile SEED=… COMMANDS=…`` reruns one.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from lionrock.gateways.server import free_port
from testkit.service_fixclient import RawFixClient
from testkit.service_ipo import definition
from testkit.service_world import PASSWORD, STOCK, USERS, open_world

OTHER_STOCK = "02526"
MARKET_START = "2025-11-24T10:00"
FIX_TIME = "20251124-02:00:00.000"
INVESTORS = {"inv1": "C:B1:I1", "inv2": "C:B2:I2"}
TRADERS = {"inv1": "C:B1:I1", "inv2": "C:B2:I2", "brk1": "C:B1:W1", "brk2": "C:B2:W2"}
PARTICIPANT = {"inv1": "B1", "inv2": "B2", "brk1": "B1", "brk2": "B2"}
# On the 0.02 spread and within 24 spreads of the 50.00 nominal; bids below asks, so an order
# never prices through the best opposite (a coded reject); `marketable` orders take the best.
BID_PRICES = [f"{49.52 + 0.02 * i:.2f}" for i in range(10)]
ASK_PRICES = [f"{49.80 + 0.02 * i:.2f}" for i in range(11)]
HOSTILE_PRICES = ["99999999999999999999.99", "NaN", "Infinity", "-1", "1e9", "0", "49.5201", "", "4" * 400]
HOSTILE_IDS = ["a\x00b", "\x1b[31mred", "x" * 5000, "../../etc/passwd", "é" * 70, "\ud800", "' OR 1=1 --", ""]


class HostileFailure(AssertionError):
    """An invariant broken under hostile traffic; the message starts with the seed to rerun."""


@dataclass
class Acked:
    """An order the service acknowledged (or one whose answer was lost: ``order_id`` 0)."""

    user: str
    client_order_id: str
    body: dict[str, Any]
    order_id: int = 0
    channel: str = "rest"


class Serve:
    """``lionrock serve`` as a subprocess on loopback ports, killed and restarted at will."""

    def __init__(self, db: Path, log: Path, *, writer: str = "thread") -> None:
        self.db, self.log, self.writer = db, log, writer
        self.port, self.fix_port = free_port(), free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90.0) -> None:
        cmd = [
            sys.executable,
            "-m",
            "lionrock.cli",
            "serve",
            "--db",
            str(self.db),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--fix-port",
            str(self.fix_port),
            "--market-start",
            MARKET_START,
            "--snapshot-every",
            "150",
            "--writer",
            self.writer,
        ]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"lionrock serve exited with {self.proc.returncode}: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"lionrock serve did not answer on {self.port} within {timeout_s}s")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.proc = None

    def stop(self) -> int:
        """A clean stop (SIGTERM: uvicorn finishes, the service closes its journal)."""
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None


def prepare(db: Path) -> dict[str, str]:
    """Users of every role, the trading day and two stocks, one API key per user; then closed."""
    service, _ = open_world(str(db), stocks=(STOCK, OTHER_STOCK))
    try:
        return {user: service.auth.create_api_key(user, "hostile") for user in USERS}
    finally:
        service.close()


@dataclass
class HostileRun:
    seed: int
    workdir: Path
    commands: int = 300
    kills: int = 2
    rng: random.Random = field(init=False)
    acked: list[Acked] = field(default_factory=list)
    lost: list[Acked] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.offering = f"HOST-{self.seed}"
        self.applications = 0
        self.db = self.workdir / "hostile.db"
        self.keys = prepare(self.db)
        self.server = Serve(self.db, self.workdir / "serve.log")
        self._coids = 0
        self._lock = threading.Lock()
        self._clients: dict[str, httpx.Client] = {}

    # -- plumbing ----------------------------------------------------------------------------
    def fail(self, message: str) -> HostileFailure:
        tail = "\n".join(self.log[-15:])
        return HostileFailure(
            f"seed {self.seed} (rerun: make hostile SEED={self.seed} COMMANDS={self.commands} KILLS={self.kills}): "
            f"{message}\nlast steps:\n{tail}"
        )

    def client(self, user: str | None) -> httpx.Client:
        key = user or "-"
        if key not in self._clients:
            headers = {"Authorization": f"Bearer {self.keys[user]}"} if user else {}
            self._clients[key] = httpx.Client(base_url=self.server.url, headers=headers, timeout=60)
        return self._clients[key]

    def coid(self, user: str) -> str:
        with self._lock:
            self._coids += 1
            return f"H{self.seed}-{user}-{self._coids}"

    def call(self, user: str | None, method: str, path: str, *, expect: set[int] | None = None, **kw: Any) -> httpx.Response:
        """One request while the server is up: any 5xx (503 included) fails the run; ``expect``
        (a set of statuses) is what the step must get."""
        r = self.client(user).request(method, path, **kw)
        self.counts[str(r.status_code)] = self.counts.get(str(r.status_code), 0) + 1
        step = f"{user} {method} {path} {str(kw.get('json', kw.get('content', '')))[:120]!r} -> {r.status_code} {r.text[:160]}"
        self.log.append(step)
        if r.status_code >= 500:
            raise self.fail(f"server error: {step}")
        if expect is not None and r.status_code not in expect:
            raise self.fail(f"expected {sorted(expect)}: {step}")
        if r.status_code >= 400:
            error = r.json().get("error", {})
            if not {"code", "reason", "field", "message"} <= set(error):
                raise self.fail(f"error body without code/reason/field/message: {step}")
        return r

    def close(self) -> None:
        for c in self._clients.values():
            c.close()
        self._clients.clear()
        self.server.stop()

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        kill_at = set(self.rng.sample(range(20, self.commands), self.kills))
        burst_kill = min(kill_at) if kill_at else -1
        self.server.start()
        try:
            self.call("spo", "POST", "/v1/offerings", json=definition(self.offering, "09950"), expect={201})
            for step in range(self.commands):
                if step in kill_at:
                    self.kill_and_restart(during_burst=step == burst_kill)
                self.one_step()
            self.check_invariants("end of run")
            return self.finish()
        finally:
            self.close()

    def one_step(self) -> None:
        actions = [
            (self.place_valid_rest, 30),
            (self.place_valid_fix, 8),
            (self.cancel_own, 8),
            (self.amend_own, 6),
            (self.retry_same_coid, 5),
            (self.place_hostile_price, 6),
            (self.place_hostile_ids, 6),
            (self.other_tenant, 8),
            (self.malformed_body, 5),
            (self.wrong_role, 6),
            (self.huge_ids, 4),
            (self.fix_hostile, 4),
            (self.reads, 6),
            (self.apply_valid, 5),
            (self.offering_hostile, 5),
        ]
        action = self.rng.choices([a for a, _ in actions], [w for _, w in actions])[0]
        action()

    # -- valid traffic -----------------------------------------------------------------------
    def order_body(self, user: str, *, marketable: bool = False) -> dict[str, Any]:
        side = self.rng.choice("BS")
        instrument = self.rng.choice([STOCK, OTHER_STOCK])
        price = self.rng.choice(BID_PRICES if side == "B" else ASK_PRICES)
        if marketable:  # at the best opposite price, if there is one: a trade
            book = self.call(user, "GET", f"/v1/market/{instrument}/depth", expect={200}).json()
            opposite = book["asks" if side == "B" else "bids"]
            quantity = 100 * self.rng.randint(1, 5)
            if opposite:  # no more than the level holds: a rest would sit inside the spread
                price, quantity = opposite[0]["price_text"], min(quantity, int(opposite[0]["quantity"]))
            return {
                "instrument": instrument,
                "side": side,
                "quantity": quantity,
                "price": price,
                "client_order_id": self.coid(user),
                "account": TRADERS[user],
            }
        return {
            "instrument": instrument,
            "side": side,
            "quantity": 100 * self.rng.randint(1, 5),
            "price": price,
            "client_order_id": self.coid(user),
            "account": TRADERS[user],
        }

    def place_valid_rest(self, user: str | None = None) -> None:
        user = user or self.rng.choice(list(TRADERS))
        body = self.order_body(user, marketable=self.rng.random() < 0.3)
        r = self.call(user, "POST", "/v1/orders", json=body, expect={201})
        self.acked.append(Acked(user, body["client_order_id"], body, int(r.json()["order"]["order_id"])))

    def place_valid_fix(self) -> None:
        user = self.rng.choice(list(TRADERS))
        body = self.order_body(user)
        c = RawFixClient(self.server.fix_port, f"H{self.seed}{user.upper()}{self.rng.randint(0, 10**9)}")
        try:
            logon = c.logon(user, PASSWORD, reset=True)
            if logon.get(35) != b"A":
                raise self.fail(f"FIX logon of {user} refused: {logon}")
            c.send(
                b"D",
                [
                    (11, body["client_order_id"]),
                    (55, body["instrument"]),
                    (54, 1 if body["side"] == "B" else 2),
                    (38, body["quantity"]),
                    (40, 2),
                    (44, body["price"]),
                    (1, body["account"]),
                    (60, FIX_TIME),
                ],
            )
            report = c.recv_type(b"8")
        finally:
            c.close()
        step = f"{user} FIX D {body} -> 150={report.get(150)!r} 58={report.get(58)!r}"
        self.log.append(step)
        if report.get(150) != b"0" and report.get(150) != b"F" and report.get(150) != b"1":
            raise self.fail(f"valid FIX order not accepted: {step}")
        self.acked.append(Acked(user, body["client_order_id"], body, int(report.get(37)), channel="fix"))

    def own_live_order(self, user: str) -> Acked | None:
        mine = [a for a in self.acked if a.user == user and a.channel == "rest" and a.order_id]
        return self.rng.choice(mine) if mine else None

    def cancel_own(self) -> None:
        user = self.rng.choice(list(TRADERS))
        order = self.own_live_order(user)
        if order is None:
            return self.place_valid_rest(user)
        r = self.call(user, "DELETE", f"/v1/orders/{order.order_id}", expect={200, 422})
        if r.status_code == 422 and r.json()["error"]["field"] not in ("order_id", "status"):
            self.log.append(f"  cancel refused: {r.json()['error']['reason']}")
        return None

    def amend_own(self) -> None:
        user = self.rng.choice(list(TRADERS))
        order = self.own_live_order(user)
        if order is None:
            return self.place_valid_rest(user)
        self.call(
            user,
            "PATCH",
            f"/v1/orders/{order.order_id}",
            json={"price": self.rng.choice(BID_PRICES if order.body["side"] == "B" else ASK_PRICES)},
            expect={200, 422},
        )
        return None

    def retry_same_coid(self) -> None:
        """A client that did not hear the answer sends the same order again: it must be the same order."""
        done = [a for a in self.acked if a.order_id]
        if not done:
            return self.place_valid_rest()
        order = self.rng.choice(done)
        if order.channel == "fix":  # the same client order id on another channel is refused, naming the channel
            r = self.call(order.user, "POST", "/v1/orders", json=order.body, expect={422})
            if (r.json()["error"]["reason"], r.json()["error"]["field"]) != ("DUPLICATE_CLIENT_ORDER_ID", "channel"):
                raise self.fail(f"REST retry of FIX order {order.client_order_id}: {r.text[:300]}")
            return None
        r = self.call(order.user, "POST", "/v1/orders", json=order.body, expect={201})
        got = (r.json().get("order") or {}).get("order_id")
        if got != order.order_id:
            raise self.fail(f"retry of {order.client_order_id} answered order {got}, the original is {order.order_id}: {r.text[:300]}")
        return None

    def reads(self) -> None:
        user = self.rng.choice(list(USERS))
        for path in ("/v1/orders", "/v1/accounts", f"/v1/market/{STOCK}/depth", "/v1/events?limit=50", "/v1/me"):
            self.call(user, "GET", path, expect={200})

    def apply_valid(self) -> None:
        """A public application for the offering: an investor on its own account, a broker for its participant's client."""
        user = self.rng.choice(["inv1", "inv2", "brk1", "brk2"])
        account = TRADERS[user] if user.startswith("inv") else f"C:{PARTICIPANT[user]}:A{self.rng.randint(1, 9)}"
        applicant = user if user.startswith("inv") else f"HKID-{self.coid(user)}"  # an investor applies under its own identity
        row = {"applicant": applicant, "account": account, "participant": PARTICIPANT[user], "shares": 1000}
        r = self.call(
            user,
            "POST",
            f"/v1/offerings/{self.offering}/applications",
            json={"applications": [row]},
            expect={201, 422} if user.startswith("inv") else {201},
        )  # a second application of the same identity may be refused
        if r.status_code == 201:
            self.applications += int(r.json()["PublicApplicationsLodged"]["count"])

    def offering_hostile(self) -> None:
        """Applications on another tenant's account or participant, hostile sizes, lifecycle steps by roles that may not."""
        user = self.rng.choice(["inv1", "inv2", "brk1", "brk2"])
        other = next(u for u in TRADERS if PARTICIPANT[u] != PARTICIPANT[user])
        kind = self.rng.choice(["account", "shares", "step", "unknown"])
        row = {
            "applicant": user if user.startswith("inv") else f"HKID-{self.coid(user)}",
            "account": TRADERS[other],
            "participant": PARTICIPANT[other],
            "shares": 1000,
        }
        if kind == "account":
            self.call(user, "POST", f"/v1/offerings/{self.offering}/applications", json={"applications": [row]}, expect={403})
        elif kind == "shares":
            row |= {
                "account": TRADERS[user] if user.startswith("inv") else f"C:{PARTICIPANT[user]}:A1",
                "participant": PARTICIPANT[user],
                "shares": self.rng.choice([0, -1000, 10**30, 2**63, 150, "1000", 1e3]),
            }
            # 0, negative and odd-lot sizes are lodged and judged at close (the context lodges them, counting max(shares, 0),
            # as a registrar books an invalid application and rejects it at the ballot); beyond 64 bits or not an int: refused
            lodged_later = row["shares"] in (0, -1000, 150) and type(row["shares"]) is int
            r = self.call(
                user,
                "POST",
                f"/v1/offerings/{self.offering}/applications",
                json={"applications": [row]},
                expect={201, 400, 422} if lodged_later else {400, 422},
            )
            if r.status_code == 201:
                self.applications += int(r.json()["PublicApplicationsLodged"]["count"])
        elif kind == "step":
            step = self.rng.choice(["close", "price", "allocate", "settle"])
            # a well-formed body, so the role check is what answers (a body missing `seed` is a 400 before it)
            self.call(
                self.rng.choice([user, "iss", "reg"]),
                "POST",
                f"/v1/offerings/{self.offering}/{step}",
                json={"seed": 7} if step == "allocate" else {},
                expect={403},
            )
        else:
            target = self.rng.choice(["NOPE", "OFF-A", "x" * 300, "%00", ".."])
            self.call(user, "POST", f"/v1/offerings/{target}/applications", json={"applications": [row]}, expect={400, 403, 404, 422})

    # -- hostile traffic ---------------------------------------------------------------------
    def place_hostile_price(self) -> None:
        user = self.rng.choice(list(TRADERS))
        body = self.order_body(user) | {"price": self.rng.choice(HOSTILE_PRICES)}
        if self.rng.random() < 0.3:
            body["quantity"] = self.rng.choice([10**30, -100, 0, 2**63, 150, "100", 1.5])
        self.call(user, "POST", "/v1/orders", json=body, expect={400, 422})

    def place_hostile_ids(self) -> None:
        user = self.rng.choice(list(TRADERS))
        body = self.order_body(user)
        target = self.rng.choice(["client_order_id", "account", "instrument"])
        body[target] = self.rng.choice(HOSTILE_IDS)
        content = json.dumps(body, ensure_ascii=self.rng.random() < 0.5).encode("utf-8", "surrogatepass")
        self.call(user, "POST", "/v1/orders", content=content, headers={"content-type": "application/json"}, expect={400, 403, 404, 422})

    def other_tenant(self) -> None:
        """Read, amend, cancel another investor's order; place an order on another's account."""
        user, other = self.rng.sample(list(INVESTORS), 2)
        theirs = [a for a in self.acked if a.user == other and a.order_id]
        kind = self.rng.choice(["get", "delete", "patch", "place", "positions"])
        if kind == "place" or not theirs:
            body = self.order_body(user) | {"account": INVESTORS[other]}
            self.call(user, "POST", "/v1/orders", json=body, expect={403})
        elif kind == "positions":
            self.call(user, "GET", f"/v1/accounts/{INVESTORS[other]}/positions", expect={404})
        else:
            target = self.rng.choice(theirs).order_id
            method = {"get": "GET", "delete": "DELETE", "patch": "PATCH"}[kind]
            self.call(user, method, f"/v1/orders/{target}", expect={404}, **({"json": {"price": "49.90"}} if kind == "patch" else {}))

    def malformed_body(self) -> None:
        user = self.rng.choice(list(USERS))
        content = self.rng.choice(
            [
                b"{",
                b"\x00\xff\xfe",
                b"[]",
                b"null",
                b'{"instrument": ',
                b"{" * 10_000 + b"}" * 10_000,
                json.dumps({"type": "PlaceOrder", "x": 1}).encode(),
                b'{"side": "B", "side": "S"}',
            ]
        )
        path = self.rng.choice(["/v1/orders", "/v1/commands", "/v1/session", "/v1/offerings/OFF-A/applications"])
        self.call(user, "POST", path, content=content, headers={"content-type": "application/json"}, expect={400, 401, 403, 404, 413, 422})

    def wrong_role(self) -> None:
        user = self.rng.choice(["reg", "iss", "spo"])
        body = self.order_body("inv1")
        self.call(user, "POST", "/v1/orders", json=body, expect={403})
        investor = self.rng.choice(list(INVESTORS))
        self.call(
            investor,
            "POST",
            "/v1/commands",
            json={"type": "ListInstrument", "instrument": "09988", "board_lot": 100, "nominal_price": 10_000},
            expect={403},
        )
        self.call(investor, "GET", "/v1/users", expect={403})
        self.call(None, "POST", "/v1/orders", json=body, expect={401})

    def huge_ids(self) -> None:
        user = self.rng.choice(list(TRADERS))
        target = self.rng.choice(["99999999999999999999999", "-1", "0", "1e3", "9223372036854775808", "%00"])
        self.call(user, self.rng.choice(["GET", "DELETE"]), f"/v1/orders/{target}", expect={400, 404, 422})

    def fix_hostile(self) -> None:
        """Another tenant's account over FIX, a cancel of another's order, then garbage on the wire."""
        user = self.rng.choice(list(INVESTORS))
        other = next(u for u in INVESTORS if u != user)
        c = RawFixClient(self.server.fix_port, f"X{self.seed}{user.upper()}{self.rng.randint(0, 10**9)}")
        try:
            if c.logon(user, PASSWORD, reset=True).get(35) != b"A":
                raise self.fail(f"FIX logon of {user} refused")
            coid = self.coid(user)
            c.send(b"D", [(11, coid), (55, STOCK), (54, 1), (38, 100), (40, 2), (44, "49.60"), (1, INVESTORS[other]), (60, FIX_TIME)])
            answer = c.recv()
            step = f"{user} FIX D on {INVESTORS[other]} -> 35={answer.get(35)!r} 150={answer.get(150)!r} 58={answer.get(58)!r}"
            self.log.append(step)
            if answer.get(35) == b"8" and answer.get(150) in (b"0", b"1", b"2"):
                raise self.fail(f"FIX order on another tenant's account accepted: {step}")
            theirs = [a for a in self.acked if a.user == other and a.channel == "fix" and a.order_id]
            if theirs:
                victim = self.rng.choice(theirs)
                c.send(
                    b"F",
                    [
                        (11, self.coid(user)),
                        (41, victim.client_order_id),
                        (55, victim.body["instrument"]),
                        (54, 1 if victim.body["side"] == "B" else 2),
                        (60, FIX_TIME),
                    ],
                )
                answer = c.recv()
                step = (
                    f"{user} FIX F of {other}'s {victim.client_order_id} "
                    f"-> 35={answer.get(35)!r} 39={answer.get(39)!r} 58={answer.get(58)!r}"
                )
                self.log.append(step)
                if answer.get(35) == b"8" and answer.get(150) == b"4":
                    raise self.fail(f"FIX cancel of another tenant's order done: {step}")
            c.sock.sendall(
                self.rng.choice(
                    [
                        b"8=FIX.4.4\x019=5\x0135=D\x0110=000\x01",
                        b"\x00" * 64,
                        b"8=FIX.4.4\x019=99999999\x01",
                        b"garbage\x01\x01\x01",
                        b"8=FIX.4.4\x0135=D\x0111=\x1b\x00\x01",
                    ]
                )
            )
        finally:
            c.close()

    # -- kills and invariants ----------------------------------------------------------------
    def kill_and_restart(self, *, during_burst: bool) -> None:
        self.log.append(f"-- kill -9 ({'during a burst' if during_burst else 'between steps'})")
        if during_burst:
            self.burst_then_kill()
        else:
            self.server.kill9()
        try:
            self.client("inv1").get("/v1/health", timeout=2)
        except httpx.TransportError:
            pass
        else:
            raise self.fail("the server answered after SIGKILL")
        for c in self._clients.values():
            c.close()
        self._clients.clear()
        self.server.start()
        self.retry_lost()
        self.check_invariants("after restart")

    def burst_then_kill(self) -> None:
        """Orders from four threads at once, SIGKILL at a seeded moment among them: an answered
        order must survive; an unanswered one is retried after the restart."""
        bodies = [(user, self.order_body(user)) for user in self.rng.choices(list(TRADERS), k=24)]
        delay = self.rng.uniform(0.02, 0.25)

        def send(item: tuple[str, dict[str, Any]]) -> Acked:
            user, body = item
            order = Acked(user, body["client_order_id"], body)
            try:
                r = httpx.post(
                    f"{self.server.url}/v1/orders", json=body, headers={"Authorization": f"Bearer {self.keys[user]}"}, timeout=30
                )
            except httpx.TransportError:
                return order
            if r.status_code >= 500:
                order.order_id = -r.status_code
            elif r.status_code == 201:
                order.order_id = int(r.json()["order"]["order_id"])
            else:
                order.order_id = -r.status_code
            return order

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(send, item) for item in bodies]
            time.sleep(delay)
            self.server.kill9()
            results = [f.result() for f in futures]
        for order in results:
            if order.order_id <= -500:
                raise self.fail(f"server error {-order.order_id} during the burst for {order.client_order_id}")
            if order.order_id > 0:
                self.acked.append(order)
            elif order.order_id == 0:
                self.lost.append(order)
            else:
                raise self.fail(f"valid burst order {order.client_order_id} refused with {-order.order_id}")
        self.log.append(
            f"   burst: {sum(o.order_id > 0 for o in results)} answered, {sum(o.order_id == 0 for o in results)} lost in the kill"
        )

    def retry_lost(self) -> None:
        while self.lost:
            order = self.lost.pop()
            r = self.call(order.user, "POST", "/v1/orders", json=order.body, expect={201})
            order.order_id = int(r.json()["order"]["order_id"])
            self.acked.append(order)

    def check_invariants(self, when: str) -> None:
        health = self.call(None, "GET", "/v1/health", expect={200}).json()
        if not health["running"] or health["failure"]:
            raise self.fail(f"{when}: engine not running: {health}")
        everyone = self.call("op", "GET", "/v1/orders", params={"limit": 5000}, expect={200}).json()
        by_id: dict[int, list[dict[str, Any]]] = {}
        by_coid: dict[tuple[str, str], list[int]] = {}
        for o in everyone:
            by_id.setdefault(int(o["order_id"]), []).append(o)
            by_coid.setdefault((o["participant"], o["client_order_id"]), []).append(int(o["order_id"]))
        doubled = {k: v for k, v in by_coid.items() if len(v) > 1}
        if doubled:
            raise self.fail(f"{when}: client order ids used by more than one order: {doubled}")
        for a in self.acked:
            rows = by_id.get(a.order_id, [])
            if len(rows) != 1:
                raise self.fail(f"{when}: acknowledged order {a.order_id} ({a.client_order_id}, {a.channel}) listed {len(rows)} times")
            if (rows[0]["client_order_id"], rows[0]["account"]) != (a.client_order_id, a.body["account"]):
                raise self.fail(f"{when}: order {a.order_id} is listed as {rows[0]}, acknowledged as {a.body}")
        for user, account in INVESTORS.items():
            mine = self.call(user, "GET", "/v1/orders", params={"limit": 5000}, expect={200}).json()
            foreign = [o for o in mine if o["account"] != account]
            if foreign:
                raise self.fail(f"{when}: {user} sees orders of other accounts: {foreign[:3]}")
            own_acked = {a.order_id for a in self.acked if a.user == user}
            if not own_acked <= {int(o["order_id"]) for o in mine}:
                raise self.fail(
                    f"{when}: {user}'s own acknowledged orders missing from its list: {own_acked - {int(o['order_id']) for o in mine}}"
                )
            others = [a for a in (*INVESTORS.values(), *TRADERS.values()) if a != account]
            events = self.call(user, "GET", "/v1/events", params={"limit": 5000}, expect={200}).text
            if any(other in events for other in others):
                raise self.fail(f"{when}: {user}'s event feed names another tenant's account")
            accounts = self.call(user, "GET", "/v1/accounts", expect={200}).json()
            seen = (
                set(accounts.get("accounts", []))
                | {p["account"] for p in accounts.get("positions", [])}
                | {p.get("account", account) for p in accounts.get("executed", [])}
            )
            if seen - {account}:
                raise self.fail(f"{when}: {user} sees accounts {sorted(seen - {account})}")
        book = self.call("spo", "GET", f"/v1/offerings/{self.offering}", expect={200}).json()["events"]
        lodged = sum(int(e["event"]["count"]) for e in book if e.get("type") == "PublicApplicationsLodged")
        if lodged != self.applications:
            raise self.fail(f"{when}: the offering's book holds {lodged} applications, {self.applications} were acknowledged")
        for user, account in INVESTORS.items():
            view = self.call(user, "GET", f"/v1/offerings/{self.offering}", expect={200}).text
            if any(other in view for other in TRADERS.values() if other != account):
                raise self.fail(f"{when}: {user}'s view of the offering names another tenant's account")
        for user, participant in PARTICIPANT.items():
            if user.startswith("brk"):
                theirs = self.call(user, "GET", "/v1/orders", params={"limit": 5000}, expect={200}).json()
                if any(o["participant"] != participant for o in theirs):
                    raise self.fail(f"{when}: {user} of {participant} sees orders of another participant")
        self.log.append(f"-- invariants hold {when}: {len(self.acked)} acknowledged orders, seq {health['seq']}")

    def finish(self) -> dict[str, Any]:
        """Clean stop (the service prints its live state hash), then the journal replayed with and without
        its snapshots: the same hash as the live engine's, the same count."""
        live_seq = self.call(None, "GET", "/v1/health", expect={200}).json()["seq"]
        code = self.server.stop()
        if code != 0:  # SIGTERM is a clean stop: the service closes and exits 0
            raise self.fail(f"lionrock serve stopped with exit code {code}: {(self.workdir / 'serve.log').read_text()[-2000:]}")
        stopped = [line for line in (self.workdir / "serve.log").read_text().splitlines() if line.startswith("stopped at seq ")]
        if not stopped:
            raise self.fail(
                f"lionrock serve printed no 'stopped at seq' line on a clean stop: {(self.workdir / 'serve.log').read_text()[-2000:]}"
            )
        stopped_seq = int(stopped[-1].split()[3].rstrip(";").replace(",", ""))
        if stopped_seq != live_seq:
            raise self.fail(f"the live service stopped at seq {stopped_seq}, its health said {live_seq}")
        hashes = {"live": "state hash: " + stopped[-1].split("state hash: ", 1)[1]}
        for flags in ([], ["--from-scratch"]):
            out = subprocess.run(
                [sys.executable, "-m", "lionrock.cli", "replay", str(self.db), *flags], capture_output=True, text=True, timeout=300
            )
            if out.returncode != 0:
                raise self.fail(f"lionrock replay {' '.join(flags)} exited {out.returncode}: {out.stdout[-1500:]} {out.stderr[-1500:]}")
            lines = out.stdout.splitlines()
            hash_line = next((line for line in lines if line.startswith("state hash: ")), "")
            count_line = next((line for line in lines if line.startswith("replayed ")), "")
            replayed = int(count_line.split()[1].replace(",", "")) if count_line else -1
            if replayed != live_seq:
                raise self.fail(f"lionrock replay {' '.join(flags)} replayed {replayed} commands, the live service was at seq {live_seq}")
            hashes[" ".join(flags) or "snapshot+tail"] = hash_line
        if len(set(hashes.values())) != 1 or not all(hashes.values()):
            raise self.fail(f"replay hashes differ: {hashes}")
        return {
            "seed": self.seed,
            "acknowledged": len(self.acked),
            "seq": live_seq,
            "statuses": dict(sorted(self.counts.items())),
            "hash": next(iter(hashes.values())),
        }


def run_hostile(seed: int, workdir: Path, *, commands: int = 300, kills: int = 2) -> dict[str, Any]:
    return HostileRun(seed, workdir, commands=commands, kills=kills).run()


if __name__ == "__main__":  # make hostile SEED=… COMMANDS=… KILLS=…
    import tempfile

    seeds = [int(s) for s in os.environ.get("SEED", "1").split(",")]
    for s in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            print(run_hostile(s, Path(tmp), commands=int(os.environ.get("COMMANDS", "2000")), kills=int(os.environ.get("KILLS", "6"))))
