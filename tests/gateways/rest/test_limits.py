"""The service's limits: login throttling (REST and FIX), request rates and body sizes.

STYLE.md: put a limit on everything; going over a limit is a coded reject, not a slowdown. The
throttle and the buckets take an injected clock, so every number here is exact.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from lionrock.gateways.rest.app import create_app
from lionrock.gateways.rest.limits import TokenBuckets
from lionrock.gateways.server import BackgroundServer
from lionrock.service.auth import AuthError, AuthStore, LoginThrottle, LoginThrottled
from lionrock.service.policy import ServiceCode, ServiceLimits
from lionrock.service.root import Service
from lionrock.storage.sql import SqlStore
from testkit.service_fixclient import RawFixClient
from testkit.service_world import PASSWORD, open_world


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingHasher(PasswordHasher):
    """argon2 at its cheapest, counting every hash and verify (the work a guess costs)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.calls = 0

    def hash(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        return super().hash(*args, **kwargs)

    def verify(self, *args: Any, **kwargs: Any) -> bool:
        self.calls += 1
        return super().verify(*args, **kwargs)


@pytest.fixture
def auth_store() -> Iterator[Callable[..., AuthStore]]:
    """Make an in-memory auth store with user alice and a throttle on the given clock."""
    made: list[AuthStore] = []

    def make(clock: FakeClock, **throttle: int) -> AuthStore:
        store = AuthStore(SqlStore(":memory:"), hasher=CountingHasher(), throttle=LoginThrottle(clock=clock, **throttle))
        made.append(store)
        store.create_user("alice", PASSWORD, "investor", participant="B1", accounts=["C:B1:A"])
        return store

    yield make
    for store in made:
        store.store.close()


def fail(store: AuthStore, username: str = "alice", address: str = "") -> None:
    with pytest.raises(AuthError) as info:
        store.verify_password(username, "not the password", address=address)
    assert not isinstance(info.value, LoginThrottled), info.value


def throttled(store: AuthStore, username: str = "alice", address: str = "", password: str = PASSWORD) -> int:
    with pytest.raises(LoginThrottled) as info:
        store.verify_password(username, password, address=address)
    return info.value.retry_after_s


# -- the login throttle -------------------------------------------------------------------------------
def test_login_after_user_budget_is_refused_before_any_hashing(auth_store: Callable[..., AuthStore]) -> None:
    clock = FakeClock()
    store = auth_store(clock, failures_per_user=5)
    for _ in range(5):
        fail(store)
    hasher = store.hasher
    assert isinstance(hasher, CountingHasher)
    before = hasher.calls
    assert throttled(store) == 1  # even the right password is refused while locked
    assert throttled(store) == 1
    assert hasher.calls == before  # no argon2 work for a throttled guess
    clock.now += 1.0
    assert store.verify_password("alice", PASSWORD).username == "alice"


def test_login_backoff_doubles_per_failure_and_is_capped(auth_store: Callable[..., AuthStore]) -> None:
    clock = FakeClock()
    store = auth_store(clock, failures_per_user=2, backoff_s=1, backoff_max_s=8)
    fail(store)
    fail(store)
    waits = []
    for _ in range(5):
        waits.append(throttled(store))
        clock.now += waits[-1]
        fail(store)
    assert waits == [1, 2, 4, 8, 8]


def test_login_throttle_treats_unknown_usernames_like_known_ones(auth_store: Callable[..., AuthStore]) -> None:
    clock = FakeClock()
    store = auth_store(clock, failures_per_user=3)
    messages = set()
    for name in ("alice", "nobody"):
        for _ in range(3):
            with pytest.raises(AuthError) as info:
                store.verify_password(name, "not the password")
            messages.add(str(info.value))
        with pytest.raises(LoginThrottled) as locked:
            store.verify_password(name, "not the password")
        messages.add(str(locked.value))
    assert len(messages) == 2  # one "wrong password" text and one throttle text, the same for both names


def test_login_success_clears_the_username_count(auth_store: Callable[..., AuthStore]) -> None:
    clock = FakeClock()
    store = auth_store(clock, failures_per_user=3)
    fail(store)
    fail(store)
    store.verify_password("alice", PASSWORD)
    fail(store)
    fail(store)
    store.verify_password("alice", PASSWORD)  # not locked: the success before reset the count


def test_login_throttle_per_address_spans_usernames_and_a_success_does_not_reset_it(auth_store: Callable[..., AuthStore]) -> None:
    clock = FakeClock()
    store = auth_store(clock, failures_per_user=100, failures_per_address=4)
    fail(store, "u1", "10.0.0.1")
    fail(store, "u2", "10.0.0.1")
    store.verify_password("alice", PASSWORD, address="10.0.0.1")  # the guesser's own valid account
    fail(store, "u3", "10.0.0.1")
    fail(store, "u4", "10.0.0.1")
    assert throttled(store, "u5", "10.0.0.1") == 1
    store.verify_password("alice", PASSWORD, address="10.0.0.2")  # another address is not locked


def test_guesser_elsewhere_cannot_lock_a_user_out_of_the_address_it_signs_in_from(auth_store: Callable[..., AuthStore]) -> None:
    clock = FakeClock()
    store = auth_store(clock, failures_per_user=3, failures_per_address=5)
    store.verify_password("alice", PASSWORD, address="10.0.0.1")  # alice's desk
    for _ in range(3):
        fail(store, "alice", "10.9.9.9")
    assert throttled(store, "alice", "10.9.9.9") == 1  # the guesser is locked on alice's name...
    assert throttled(store, "alice", "10.0.0.2") == 1  # ...so is any other new address
    assert store.verify_password("alice", PASSWORD, address="10.0.0.1").username == "alice"  # alice is not
    assert throttled(store, "alice", "10.9.9.9") == 1  # and her success does not reset the guesser's backoff
    for _ in range(5):  # a guesser at alice's own address meets that address's budget
        fail(store, "alice", "10.0.0.1")
    assert throttled(store, "alice", "10.0.0.1") == 1


def test_login_failures_are_forgotten_after_a_quiet_period(auth_store: Callable[..., AuthStore]) -> None:
    clock = FakeClock()
    store = auth_store(clock, failures_per_user=3, forget_s=600)
    fail(store)
    fail(store)
    clock.now += 601
    fail(store)
    fail(store)
    store.verify_password("alice", PASSWORD)


def test_login_attempts_in_flight_count_against_the_budget() -> None:
    """Concurrent guesses: each attempt counts before its hash, so a sixth one started while five
    are still hashing is refused."""
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock, failures_per_user=5)
    for _ in range(5):
        throttle.begin("alice", "10.0.0.1")
    with pytest.raises(LoginThrottled):
        throttle.begin("alice", "10.0.0.1")


def test_login_throttle_keeps_a_bounded_number_of_keys() -> None:
    throttle = LoginThrottle(clock=FakeClock(), max_tracked=3)
    for i in range(10):
        throttle.begin(f"random{i}", f"10.0.0.{i}")
    assert len(throttle._entries) == 3  # noqa: SLF001


@pytest.mark.parametrize("setting", ["failures_per_user", "backoff_s", "forget_s", "max_tracked"])
def test_login_throttle_refuses_settings_below_one_naming_them(setting: str) -> None:
    with pytest.raises(ValueError, match=f"{setting} must be a whole number >= 1, got 0"):
        LoginThrottle(**{setting: 0})  # type: ignore[arg-type]


@pytest.mark.parametrize("setting", ["requests_per_s_per_user", "max_body_bytes", "login_failures_per_address"])
def test_service_limits_refuse_values_below_one_naming_them(setting: str) -> None:
    with pytest.raises(ValueError, match=f"service limit {setting} must be a whole number >= 1, got -5"):
        ServiceLimits(**{setting: -5})  # type: ignore[arg-type]


# -- token buckets ---------------------------------------------------------------------------------------
def test_token_bucket_allows_a_burst_then_the_refill_rate() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(2, 4, clock=clock)
    assert [buckets.take("a") for _ in range(4)] == [0.0] * 4
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0.0  # buckets are per key
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    clock.now += 100
    assert [buckets.take("a") for _ in range(4)] == [0.0] * 4  # refills to the burst, no further
    assert buckets.take("a") > 0


def test_token_buckets_are_bounded_in_number() -> None:
    buckets = TokenBuckets(1, 1, max_tracked=2, clock=FakeClock())
    for key in "abcdef":
        buckets.take(key)
    assert len(buckets._buckets) == 2  # noqa: SLF001


# -- over HTTP --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Service, BackgroundServer]]:
    service, _ = open_world()
    srv = BackgroundServer(service, fix=True).start()
    yield service, srv
    srv.stop()
    service.close()


def test_rest_login_throttled_answers_429_with_retry_after_and_is_audited(served: tuple[Service, BackgroundServer]) -> None:
    service, srv = served
    clock = FakeClock()
    service.auth.throttle = LoginThrottle(clock=clock, failures_per_user=3)
    try:
        with httpx.Client(base_url=srv.url) as c:
            for _ in range(3):
                assert c.post("/v1/session", json={"username": "inv2", "password": "not the password"}).status_code == 401
            r = c.post("/v1/session", json={"username": "inv2", "password": PASSWORD})
            assert r.status_code == 429 and r.headers["retry-after"] == "1"
            error = r.json()["error"]
            assert (error["code"], error["reason"], error["field"]) == (int(ServiceCode.LOGIN_THROTTLED), "LOGIN_THROTTLED", "username")
            assert error["rule"] and "try again in 1 s" in error["message"]
            rows = [row for row in service.auth.audit_log(actor="inv2") if row["action"] == "login"]
            assert rows[0]["outcome"] == "throttled" and rows[0]["target"] == "127.0.0.1"
            clock.now += 1
            assert c.post("/v1/session", json={"username": "inv2", "password": PASSWORD}).status_code == 200
    finally:
        service.auth.throttle = LoginThrottle()


def test_web_sign_in_form_is_throttled_per_address_too(served: tuple[Service, BackgroundServer]) -> None:
    service, srv = served
    clock = FakeClock()
    service.auth.throttle = LoginThrottle(clock=clock, failures_per_user=100, failures_per_address=2)
    try:
        with httpx.Client(base_url=srv.url) as c:
            for name in ("ghost1", "ghost2"):
                r = c.post("/login", data={"username": name, "password": "not the password"})
                assert r.status_code == 303 and "wrong+password" in r.headers["location"]
            r = c.post("/login", data={"username": "inv1", "password": PASSWORD})  # another name, same address
            assert r.status_code == 303 and r.headers["location"] == "/login?error=Too+many+failed+sign-ins:+try+again+in+1+s"
        assert service.auth.audit_log(actor="inv1")[0]["outcome"] == "throttled"
    finally:
        service.auth.throttle = LoginThrottle()


def test_fix_logon_is_throttled_like_rest(served: tuple[Service, BackgroundServer]) -> None:
    service, srv = served
    clock = FakeClock()
    service.auth.throttle = LoginThrottle(clock=clock, failures_per_user=2)
    try:
        for _ in range(2):
            with pytest.raises(AuthError):
                service.auth.verify_password("brk2", "not the password", "fix")
        c = RawFixClient(srv.fix_port, "THROTTLED")
        reply = c.logon("brk2", PASSWORD)
        c.close()
        assert reply.get(35) == b"5" and b"too many failed sign-ins" in reply.get(58)
        assert any(r["via"] == "fix" and r["outcome"] == "failed" for r in service.auth.audit_log(actor="brk2"))
    finally:
        service.auth.throttle = LoginThrottle()


def test_request_body_over_content_length_limit_is_413_before_it_is_sent(served: tuple[Service, BackgroundServer]) -> None:
    """Only the headers are sent: the answer comes without the server waiting for the body."""
    _, srv = served
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        sock.sendall(b"POST /v1/orders HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b'"code":7014' in body and b'"reason":"REQUEST_TOO_LARGE"' in body and b'"field":"body"' in body


def test_large_bodies_only_for_signed_in_callers_on_the_batch_endpoints(served: tuple[Service, BackgroundServer]) -> None:
    _, srv = served
    row = {"applicant": "inv1", "account": "C:B1:I1", "participant": "B1", "shares": 1000}
    body = {"applications": [row] * 20_000}  # about 1.4 MB of JSON: over the 1 MiB default
    with httpx.Client(base_url=srv.url, timeout=60) as anonymous:
        r = anonymous.post("/v1/offerings/NO-SUCH/applications", json=body)
        assert r.status_code == 413 and r.json()["error"]["code"] == 7014
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        assert c.post("/v1/session", json={"username": "inv1", "password": PASSWORD}).status_code == 200
        r = c.post("/v1/offerings/NO-SUCH/applications", json=body)
        assert r.status_code != 413 and r.json()["error"]["code"] != 7014  # read, then refused on its merits
        r = c.post("/v1/orders", json={"instrument": "x" * (2 << 20)})
        assert r.status_code == 413  # the ordinary limit still holds for everything else


# -- in process, with a clock -----------------------------------------------------------------------------
def app_with_clock(service: Service, clock: FakeClock) -> FastAPI:
    return create_app(service, clock=clock)


@pytest.fixture(scope="module")
def tight() -> Iterator[Service]:
    limits = ServiceLimits(
        requests_per_s_per_user=1, request_burst_per_user=3, requests_per_s_per_address=1, request_burst_per_address=2, max_body_bytes=1000
    )
    service = Service("memory:", limits=limits)
    service.auth.create_user("ann", PASSWORD, "investor", participant="B1", accounts=["C:B1:ANN"])
    yield service
    service.close()


def in_process(app: FastAPI, run: Callable[[httpx.AsyncClient, httpx.AsyncClient], Awaitable[None]]) -> None:
    """Two clients of the app in this process: ``c`` and ``other`` (separate cookie jars, one address)."""

    async def main() -> None:
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lionrock") as c,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lionrock") as other,
        ):
            await run(c, other)

    asyncio.run(main())


def test_rate_limit_per_user_answers_429_with_retry_after(tight: Service) -> None:
    clock = FakeClock()

    async def run(c: httpx.AsyncClient, other: httpx.AsyncClient) -> None:
        assert (await c.post("/v1/session", json={"username": "ann", "password": PASSWORD})).status_code == 200  # address: 1 left
        assert [(await c.get("/v1/me")).status_code for _ in range(3)] == [200, 200, 200]
        r = await c.get("/v1/me")
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        assert r.json()["error"] | {"message": ""} == {
            "code": 7013,
            "reason": "RATE_LIMITED",
            "field": "",
            "message": "",
            "rule": "service limits (docs/service.md, Limits)",
        }
        clock.now += 1
        assert (await c.get("/v1/me")).status_code == 200
        # no cookie: the address bucket (refilled to its burst of 2), not ann's
        assert [(await other.get("/v1/health")).status_code for _ in range(2)] == [200, 200]
        forged = await other.get("/v1/me", headers={"Authorization": "Bearer lr_abc_forged"})
        assert forged.status_code == 429 and "this address" in forged.json()["error"]["message"]  # an unverified key: its sender's address
        clock.now += 1
        assert (await c.get("/v1/me")).status_code == 200  # ...never against the user

    in_process(app_with_clock(tight, clock), run)


def test_streamed_body_without_content_length_is_cut_at_the_limit(tight: Service) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"username": "ann", "password": "'
        for _ in range(10):
            yield b"x" * 200
        yield b'"}'

    async def run(c: httpx.AsyncClient, other: httpx.AsyncClient) -> None:
        r = await c.post("/v1/session", content=chunks())
        assert "content-length" not in r.request.headers
        assert r.status_code == 413 and r.json()["error"]["reason"] == "REQUEST_TOO_LARGE"

    in_process(app_with_clock(tight, FakeClock()), run)


# -- lionrock serve ---------------------------------------------------------------------------------------
def test_serve_flags_set_the_service_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import lionrock.service.root as service_module
    from lionrock.cli.main import app

    seen: dict[str, ServiceLimits] = {}

    def fake_service(*args: object, limits: ServiceLimits, **kwargs: object) -> None:
        seen["limits"] = limits
        raise SystemExit(3)  # stop before anything listens

    monkeypatch.setattr(service_module, "Service", fake_service)
    runner = CliRunner()
    result = runner.invoke(app, ["serve", "--db", "memory:", "--login-attempts", "3", "--rate-limit", "50", "--rate-limit-address", "7"])
    assert result.exit_code == 3, result.output
    limits = seen["limits"]
    assert (limits.login_failures_per_user, limits.login_failures_per_address) == (3, 18)
    assert (limits.requests_per_s_per_user, limits.request_burst_per_user) == (50, 100)
    assert (limits.requests_per_s_per_address, limits.request_burst_per_address) == (7, 14)
    assert runner.invoke(app, ["serve", "--rate-limit", "0"]).exit_code == 2  # a limit cannot be switched off
    defaults = runner.invoke(app, ["serve", "--db", "memory:"])
    assert defaults.exit_code == 3 and seen["limits"] == ServiceLimits()  # the flags' defaults are ServiceLimits'
