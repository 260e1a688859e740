"""The FIX gateway against hostile input (issue 13, found by a hand-written initiator): field
injection through identifiers, empty and repeated tags, oversized values, non-decimal prices,
duplicate ClOrdIDs, a Logon to the wrong CompID, and the per-session throttle. Each answer is
the one FIX 4.4 prescribes (session Reject with SessionRejectReason and RefTagID, Logout before
Logon, ExecutionReport Rejected with OrdRejReason, BusinessMessageReject), never a dropped
connection or a traceback; the session goes on working afterwards."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from lionrock.gateways.fix.framing import UnsafeFixValue
from lionrock.service.root import Service
from lionrock.trading.commands import PlaceOrder
from testkit.service_fixharness import (
    NOW,
    Connection,
    InProcessGateway,
    outbound_messages,
    raw_frame,
)
from testkit.service_world import PASSWORD, next_id, open_world

STOCK = "02533"


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    svc, _ = open_world(stocks=(STOCK,))
    yield svc
    svc.close()


def run(service: Service, scenario: Callable[[InProcessGateway], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        gateway = InProcessGateway(service, **options)
        try:
            await scenario(gateway)
            for conn in gateway.connections:
                outbound_messages(bytes(conn.writer.data))  # every message well formed, no control characters
        finally:
            await gateway.close()

    asyncio.run(main())


def order(cl: str, account: str = "C:B1:W1", price: str = "49.90", qty: int = 100) -> list[tuple[int, Any]]:
    return [(11, cl), (55, STOCK), (54, 1), (38, qty), (40, 2), (44, price), (1, account), (60, NOW)]


async def logged_on(gw: InProcessGateway, user: str = "brk1") -> Connection:
    conn = gw.connect(next_id("HOST"))
    assert (await conn.logon(user, PASSWORD)).get(35) == b"A"
    return conn


async def still_works(conn: Connection, account: str = "C:B1:W1") -> None:
    """A valid order is still accepted on the session."""
    cl = next_id("OK")
    conn.send(b"D", order(cl, account))
    er = await conn.recv(b"8")
    assert (er.get(150), er.get(11)) == (b"0", cl.encode()), er.get(58)


def body(conn: Connection, msg_type: bytes, fields: bytes) -> bytes:
    """A message with hand-written fields (anything a hostile client can put on the wire)."""
    head = (
        b"35="
        + msg_type
        + b"\x0149="
        + conn.sender.encode()
        + b"\x0156=LIONROCK\x0134="
        + str(conn.seq).encode()
        + b"\x0152="
        + NOW.encode()
        + b"\x01"
    )
    conn.seq += 1
    return raw_frame(head + fields)


def test_fix_encoder_refuses_a_control_character_in_any_value_and_sends_nothing(service: Service) -> None:
    async def scenario(gw: InProcessGateway) -> None:
        conn = await logged_on(gw)
        before, out_seq = bytes(conn.writer.data), conn.session.state.out_seq
        for value in ("A\x0139=2\x0114=100", "tab\there", "del\x7f", "nul\x00", ""):
            with pytest.raises(UnsafeFixValue, match="tag 11"):
                conn.session.state.send(b"8", [(11, value), (39, b"0")])
        assert bytes(conn.writer.data) == before and conn.session.state.out_seq == out_seq
        await still_works(conn)

    run(service, scenario)


def test_fix_report_of_an_order_with_soh_in_its_client_order_id_injects_nothing(service: Service) -> None:
    """An order entered outside FIX (REST) with SOH in its client order id: the broker's FIX
    session never carries the injected fields (the edge refuses the id, or the encoder the report)."""

    async def scenario(gw: InProcessGateway) -> None:
        conn = await logged_on(gw)
        brk1 = service.auth.principal("brk1", via="rest")
        hostile = PlaceOrder(
            instrument=STOCK,
            participant="B1",
            account="C:B1:W1",
            client_order_id="X\x0139=2\x0114=100",
            side="B",
            order_type="LIMIT",
            price=49_900,
            quantity=100,
            channel="REST",
        )
        await asyncio.get_running_loop().run_in_executor(None, lambda: _submit_quietly(service, brk1, hostile))
        await still_works(conn)
        assert b"39=2\x0114=100" not in bytes(conn.writer.data)

    run(service, scenario)


def _submit_quietly(service: Service, principal: Any, command: PlaceOrder) -> None:
    try:
        service.submit_sync(principal, command)
    except Exception:  # noqa: BLE001 - refused at the edge (stream A's identifier rules): as good
        pass


MALFORMED = [
    # (what, fields after the header, SessionRejectReason, RefTagID)
    ("empty ClOrdID", b"11=\x0155=02533\x0154=1\x0138=100\x0140=2\x0144=49.5\x0160=" + NOW.encode() + b"\x01", 4, 11),
    ("repeated Side", b"11=R1\x0155=02533\x0154=1\x0154=2\x0138=100\x0140=2\x0144=49.5\x0160=" + NOW.encode() + b"\x01", 13, 54),
    ("ClOrdID of 100,000 characters", b"11=" + b"C" * 100_000 + b"\x0155=02533\x0154=1\x0138=100\x0140=2\x0144=49.5\x01", 5, 11),
    ("control character in ClOrdID", b"11=A\x02B\x0155=02533\x0154=1\x0138=100\x0140=2\x0144=49.5\x01", 6, 11),
    ("price with an exponent", b"11=P1\x0155=02533\x0154=1\x0138=100\x0140=2\x0144=1e400\x01", 6, 44),
    ("price NaN", b"11=P2\x0155=02533\x0154=1\x0138=100\x0140=2\x0144=NaN\x01", 6, 44),
    ("price Infinity", b"11=P3\x0155=02533\x0154=1\x0138=100\x0140=2\x0144=Infinity\x01", 6, 44),
    ("negative price", b"11=P4\x0155=02533\x0154=1\x0138=100\x0140=2\x0144=-49.5\x01", 6, 44),
    ("quantity of 5,000 digits", b"11=Q1\x0155=02533\x0154=1\x0138=" + b"9" * 5000 + b"\x0140=2\x0144=49.5\x01", 5, 38),
    ("OrigClOrdID of 1,000 characters", b"11=X1\x0141=" + b"O" * 1000 + b"\x0155=02533\x0154=1\x0160=" + NOW.encode() + b"\x01", 5, 41),
    ("ResendRequest BeginSeqNo not a number", b"7=abc\x0116=0\x01", 5, 7),
    ("TestRequest without TestReqID", b"", 1, 112),  # found by the fuzz: the Heartbeat echoed an empty 112
    ("TestRequest with a TestReqID of 1,000 characters", b"112=" + b"t" * 1000 + b"\x01", 5, 112),
]


@pytest.mark.parametrize(("what", "fields", "reason", "tag"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_fix_malformed_message_gets_a_session_reject_naming_tag_and_rule(
    service: Service, what: str, fields: bytes, reason: int, tag: int
) -> None:
    msg_type = b"2" if what.startswith("ResendRequest") else b"1" if what.startswith("TestRequest") else b"F" if b"41=" in fields else b"D"

    async def scenario(gw: InProcessGateway) -> None:
        conn = await logged_on(gw)
        conn.feed(body(conn, msg_type, fields))
        rej = await conn.recv(b"3")
        assert (rej.get(373), rej.get(371), rej.get(372)) == (str(reason).encode(), str(tag).encode(), msg_type), rej.get(58)
        assert str(tag).encode() in rej.get(58) and len(rej.get(58)) < 300
        await still_works(conn)

    run(service, scenario)


def test_fix_malformed_logon_is_answered_by_a_logout_with_text_not_a_dropped_connection(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(gw: InProcessGateway) -> None:
        for fields in (
            b"98=0\x01108=\x01553=brk1\x01554=" + PASSWORD.encode() + b"\x01",  # empty HeartBtInt
            b"98=0\x01108=30\x01553=brk1\x01553=brk2\x01554=" + PASSWORD.encode() + b"\x01",
        ):  # repeated Username
            conn = gw.connect(next_id("PRE"))
            conn.feed(body(conn, b"A", fields))
            bye = await conn.recv()
            assert bye.get(35) == b"5" and b"logon refused: malformed Logon" in bye.get(58), bye.get(58)
            await asyncio.wait_for(conn.task, 5)  # the connection is closed after the Logout
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []

    run(service, scenario)


def test_fix_logon_to_the_wrong_target_comp_id_is_refused_and_audited(service: Service) -> None:
    async def scenario(gw: InProcessGateway) -> None:
        conn = gw.connect(next_id("WRONG"))
        conn.feed(
            raw_frame(
                b"35=A\x0149="
                + conn.sender.encode()
                + b"\x0156=NOTLIONROCK\x0134=1\x0152="
                + NOW.encode()
                + b"\x0198=0\x01108=30\x01553=brk1\x01554="
                + PASSWORD.encode()
                + b"\x01"
            )
        )
        bye = await conn.recv()
        assert bye.get(35) == b"5" and b"TargetCompID (56) must be LIONROCK" in bye.get(58)
        assert conn.session.principal is None
        audit = service.auth.audit_log(actor="brk1")
        assert any(
            r["action"] == "logon" and r["outcome"] == "failed" and r["target"] == conn.sender and "TargetCompID" in r["detail"]
            for r in audit
        )

    run(service, scenario)


def test_fix_message_with_another_comp_id_after_logon_is_rejected_and_ends_the_session(service: Service) -> None:
    async def scenario(gw: InProcessGateway) -> None:
        conn = await logged_on(gw)
        conn.feed(
            raw_frame(
                b"35=1\x0149=SOMEONEELSE\x0156=LIONROCK\x0134=" + str(conn.seq).encode() + b"\x0152=" + NOW.encode() + b"\x01112=x\x01"
            )
        )
        rej = await conn.recv(b"3")
        assert rej.get(373) == b"9" and b"CompID problem" in rej.get(58)
        assert (await conn.recv(b"5")).get(58) == b"CompID problem: session ended"

    run(service, scenario)


def test_fix_repeated_clordid_without_possdup_is_rejected_as_duplicate_with_possdup_gets_status(service: Service) -> None:
    async def scenario(gw: InProcessGateway) -> None:
        conn = await logged_on(gw)
        cl = next_id("DUP")
        conn.send(b"D", order(cl))
        new = await conn.recv(b"8")
        assert new.get(150) == b"0"
        conn.send(b"D", order(cl))
        rej = await conn.recv(b"8")
        assert (rej.get(150), rej.get(39), rej.get(103), rej.get(11)) == (b"8", b"8", b"6", cl.encode())
        assert b"duplicate order" in rej.get(58)
        conn.send(b"D", order(cl), poss_dup=True)
        status = await conn.recv(b"8")
        assert (status.get(150), status.get(39), status.get(37), status.get(151), status.get(14)) == (b"I", b"0", new.get(37), b"100", b"0")
        await still_works(conn)

    run(service, scenario)


def test_fix_duplicate_clordid_reject_does_not_reveal_who_used_it(service: Service) -> None:
    """brk1 (broker B1) uses a ClOrdID; inv1 (an investor client of B1) sends the same one for
    its own account: rejected as a duplicate, with the same Text a session gets for its own
    repeat, nothing about the other order (its id, account, channel or user)."""

    async def scenario(gw: InProcessGateway) -> None:
        broker = await logged_on(gw, "brk1")
        cl = next_id("SHARED")
        broker.send(b"D", order(cl, "C:B1:W1"))
        first = await broker.recv(b"8")
        assert first.get(150) == b"0"
        investor = await logged_on(gw, "inv1")
        investor.send(b"D", order(cl, "C:B1:I1"))
        rej = await investor.recv(b"8")
        assert (rej.get(150), rej.get(103)) == (b"8", b"6")
        broker.send(b"D", order(cl, "C:B1:W1", qty=200))  # the broker's own conflicting repeat
        own = await broker.recv(b"8")
        assert own.get(103) == b"6" and own.get(58) == rej.get(58)
        for secret in (first.get(37), b"W1", b"brk1", b"channel", b"account"):  # as words: order id 1 is in "(11)"
            assert re.search(rb"\b" + re.escape(secret) + rb"\b", rej.get(58)) is None, secret

    run(service, scenario)


def test_fix_throttle_rejects_application_messages_over_the_rate_in_one_second_window(service: Service) -> None:
    clock = [1_000.25]

    async def scenario(gw: InProcessGateway) -> None:
        conn = await logged_on(gw)
        cls = [next_id("T") for _ in range(5)]
        for cl in cls:
            conn.send(b"D", order(cl))
        conn.send(b"1", [(112, "still-there")])  # admin messages are not throttled
        answers = [await conn.recv() for _ in range(6)]
        kinds = sorted((m.get(35), m.get(150)) for m in answers)
        assert kinds == sorted([(b"8", b"0")] * 3 + [(b"j", None)] * 2 + [(b"0", None)])
        for bmr in (m for m in answers if m.get(35) == b"j"):
            assert bmr.get(380) == b"0" and bmr.get(372) == b"D" and b"throttle exceeded" in bmr.get(58)
        clock[0] = 1_001.0  # the next whole second: a new window
        await still_works(conn)

    run(service, scenario, throttle_per_second=3, throttle_clock=lambda: clock[0])


def test_fix_gateway_refuses_a_throttle_below_one_message_per_second(service: Service) -> None:
    from lionrock.gateways.fix.gateway import FixGateway

    with pytest.raises(ValueError, match="throttle_per_second"):
        FixGateway(service, store=None, throttle_per_second=0)


def test_fix_garbled_frames_are_ignored_and_the_session_goes_on(service: Service) -> None:
    async def scenario(gw: InProcessGateway) -> None:
        conn = await logged_on(gw)
        good = body(conn, b"1", b"112=ping\x01")  # the garbled copies carry its MsgSeqNum: ignored, it is still expected
        for garbled in (good[:-4] + b"abc\x01", good.replace(b"\x019=", b"\x019=x", 1), good[:-4] + b"9999\x01"):
            conn.feed(garbled)
        conn.feed(good)
        hb = await conn.recv(b"0")
        assert hb.get(112) == b"ping"
        await still_works(conn)

    run(service, scenario)


def test_fix_session_of_a_user_disabled_by_an_operator_stops_at_once(service: Service) -> None:
    name = next_id("fixdis")
    service.auth.create_user(name, PASSWORD, "broker", participant="B1")

    async def scenario(gw: InProcessGateway) -> None:
        conn = await logged_on(gw, name)
        await still_works(conn)
        assert service.auth.set_disabled(name, True)
        conn.send(b"D", order(next_id("GONE")))
        bye = await conn.recv()
        assert (bye.get(35), bye.get(58)) == (b"5", b"user disabled: session ended")
        await asyncio.wait_for(conn.task, 5)
        assert any(r["action"] == "logout" and r["detail"] == "user disabled" for r in service.auth.audit_log(actor=name))
        again = gw.connect(next_id("DIS"))
        assert (await again.logon(name, PASSWORD)).get(35) == b"5"

    run(service, scenario)


def test_fix_logon_throttle_is_a_logout_that_does_not_say_whether_the_user_exists(service: Service) -> None:
    """Failed password guesses over FIX Logon hit the service's login throttle: refused by a
    Logout whose text is the same for a real user and a made-up one."""
    real = next_id("fixguess")
    service.auth.create_user(real, PASSWORD, "broker", participant="B1")

    async def refusals(gw: InProcessGateway, user: str) -> list[bytes]:
        texts = []
        for _ in range(service.limits.login_failures_per_user + 1):
            conn = gw.connect(next_id("GUESS"))
            bye = await conn.logon(user, "wrong password!")
            assert bye.get(35) == b"5"
            texts.append(bye.get(58))
            await asyncio.wait_for(conn.task, 5)
        return texts

    async def scenario(gw: InProcessGateway) -> None:
        for_real, for_nobody = await refusals(gw, real), await refusals(gw, next_id("nobody"))
        assert b"too many failed sign-ins" in for_real[-1]
        assert for_real == for_nobody

    run(service, scenario)
