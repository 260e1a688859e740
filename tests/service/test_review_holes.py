"""Regression tests for the service-edge review: command allow-list per role, applicant identity,
redaction of list rows, the market feed allow-list, FIX rejection routing, the duplicate
client-order-id message, and a submit racing the runner's stop."""

from __future__ import annotations

import json
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import msgspec
import pytest

from lionrock.engine import Engine, MemoryJournal
from lionrock.gateways.fix.gateway import FixSession
from lionrock.gateways.rest.app import MARKET_EVENT_TYPES
from lionrock.kernel.errors import Rejection
from lionrock.offering.commands import (
    ApplicationBatch,
    CornerstoneSpec,
    DefineOffering,
    LodgePublicApplications,
)
from lionrock.offering.events import IpoApplicationsFunded, IpoSettlementInstructed
from lionrock.readmodel.queries import redact
from lionrock.service.auth import Principal, Role
from lionrock.service.policy import Denied, Policy, ServiceCode
from lionrock.service.root import Published
from lionrock.service.writer import EngineRunner, RunnerStopped
from lionrock.trading.commands import PlaceOrder
from lionrock.trading.events import OrderRejected
from testkit import tally_contexts
from testkit.service_ipo import RO
from testkit.service_world import STOCK, open_world

INV1 = Principal("inv1", Role.INVESTOR, participant="B1", accounts=("C:B1:I1",))
BRK1 = Principal("brk1", Role.BROKER, participant="B1")
SPO = Principal("spo", Role.SPONSOR, offerings=("OFF-A",), issuers=("ISS-A",))


def _policy(extra: dict[Role, set[str]] | None = None) -> Policy:
    return Policy(lambda oid, participant, cl: None, lambda kind, value: False, extra)


def _define(account: str, cornerstone_account: str) -> DefineOffering:
    spec = msgspec.structs.replace(
        RO.spec, offering_id="OFF-Z", issuer_id="ISS-Z", underwriter_account=account, stabilising_manager_account=account,
        stock_lender_account=account,
        cornerstones=[CornerstoneSpec(investor="C:B1:I1", name="Cornerstone", account=cornerstone_account, amount_minor=1_000_000)],
    )
    return DefineOffering(offering=spec)


@pytest.mark.parametrize("p", [INV1, BRK1], ids=["investor", "broker"])
def test_policy_investor_or_broker_define_offering_is_role_not_allowed(p: Principal) -> None:
    """An investor or broker naming its own accounts as underwriter / stabilising manager / lender
    may still not define an offering: that is a sponsor's command."""
    with pytest.raises(Denied) as d:
        _policy().check(p, _define("C:B1:I1", "C:B1:I1"))
    assert d.value.code == ServiceCode.ROLE_NOT_ALLOWED


def test_policy_sponsor_define_offering_is_allowed_and_granted() -> None:
    assert _policy().check(SPO, _define("P:UNDERWRITERS", "C:B2:I2")) == [("offering", "OFF-Z"), ("issuer", "ISS-Z")]


def test_policy_list_of_structs_cornerstone_account_not_yours_is_denied() -> None:
    """Lists of structs (``OfferingSpec.cornerstones``) are checked like nested structs."""
    with pytest.raises(Denied) as d:
        _policy({Role.INVESTOR: {"offering"}}).check(INV1, _define("C:B1:I1", "C:B2:I2"))
    assert d.value.code == ServiceCode.NOT_YOUR_ACCOUNT and d.value.field == "account"


def _lodge(applicant: str) -> LodgePublicApplications:
    return LodgePublicApplications(offering_id="OFF-A", batch=ApplicationBatch(applicants=[applicant], accounts=["C:B1:I1"], participants=["B1"], shares=[100]))


def test_policy_investor_application_under_another_identity_is_denied() -> None:
    """An investor applies under its own identity key only (else it could get another person's
    real applications rejected as multiple)."""
    with pytest.raises(Denied) as d:
        _policy().check(INV1, _lodge("HKID-SOMEONE-ELSE"))
    assert d.value.code == ServiceCode.NOT_YOUR_ACCOUNT and d.value.field == "applicants[0]"
    assert _policy().check(INV1, _lodge("inv1")) == []


def test_policy_broker_application_for_client_identity_is_allowed() -> None:
    """Brokers supply their clients' identities (as on FINI)."""
    assert _policy().check(BRK1, _lodge("HKID-CLIENT-7")) == []


def _body(event: Any) -> dict[str, Any]:
    return json.loads(msgspec.json.encode(event))


def test_redact_lists_of_rows_investor_sees_only_own_rows() -> None:
    funded = IpoApplicationsFunded(offering_id="OFF-A", currency="HKD", holds=[("C:B1:I1", 100), ("C:B2:I2", 999_999)])
    settled = IpoSettlementInstructed(
        offering_id="OFF-A", instrument="09999", currency="HKD", issuer_account="I:ISS-A", price=10_000,
        allotments=[("C:B1:I1", 100, 1_000), ("C:B2:I2", 5_000, 50_000)], refunds=[("C:B2:I2", 7)], fees=[("F:HKEX", 3)],
    )
    for event, field in ((funded, "holds"), (settled, "allotments"), (settled, "refunds")):
        seen = redact(_body(event), INV1)
        assert "C:B2:I2" not in json.dumps(seen), field
        assert all(row[0] == "C:B1:I1" for row in seen[field])
    assert redact(_body(funded), INV1)["holds"] == [["C:B1:I1", 100]]
    allocated = {  # OfferingAllocated as JSON (PlaceeAllotment is array-like)
        "offering_id": "OFF-A", "summary": {"price": 10_000},
        "cornerstones": [{"investor": "CS", "name": "C", "account": "C:B2:I2", "shares": 9, "lockup_end": "2026-06-01"}],
        "placees": [["PL1", "C:B2:I2", 400], ["PL2", "C:B1:I1", 100]],
    }
    seen = redact(allocated, INV1)
    assert seen["cornerstones"] == [] and seen["placees"] == [["PL2", "C:B1:I1", 100]]


def test_market_feed_allow_list_excludes_orders_and_settlement() -> None:
    assert {"TradeExecuted", "MarketDepthUpdated", "AuctionIndicativeUpdated", "ClosingPriceSet", "InstrumentListed"} <= MARKET_EVENT_TYPES
    assert not {"IpoSettlementInstructed", "OrderAccepted", "OrderRejected", "OrderCancelled"} & MARKET_EVENT_TYPES


class _Sink(FixSession):
    def __init__(self, principal: Principal) -> None:  # no socket: record what would be sent
        self.principal, self.orders, self.pending_cl, self.out = principal, {}, {}, []

    def send(self, msg_type: bytes, fields: list[tuple[int, Any]], **_: Any) -> None:  # type: ignore[override]
        self.out.append((msg_type, fields))


def test_fix_order_rejected_is_not_routed_to_other_sessions_of_the_participant() -> None:
    """Another session of the same participant never gets a client's rejection; the sender reports
    it once, from its own command's outcome (not a second time from the hub)."""
    rejected = OrderRejected(instrument=STOCK, participant="B1", client_order_id="X1", channel="FIX",
                             rejection=Rejection(code=1, reason="R", field="price", message="m"))
    pub = Published(seq=5, at_ns=0, index=0, event=rejected, parties=frozenset({"P:B1"}), instrument=STOCK)
    for session in (_Sink(INV1), _Sink(BRK1)):
        if session._mine(pub):
            session._report(pub)
        assert session.out == []


def test_venue_duplicate_client_order_id_message_does_not_name_other_account() -> None:
    service, op = open_world()
    try:
        first = PlaceOrder(instrument=STOCK, participant="B1", account="C:B1:SECRET", client_order_id="DUP1", side="B", order_type="LIMIT", price=49_800, quantity=100)
        assert service.submit_sync(op, first).rejection is None
        again = service.submit_sync(op, msgspec.structs.replace(first, account="C:B1:OTHER"))
        r = again.rejection
        assert r is not None and r.reason == "DUPLICATE_CLIENT_ORDER_ID" and r.field == "account"
        assert "SECRET" not in r.message and "already used for a different order" in r.message
    finally:
        service.close()


def test_runner_submit_racing_stop_fails_with_runner_stopped() -> None:
    """A submit that passed the stop check just before the writer's last drain is failed, not lost."""
    runner = EngineRunner(Engine(tally_contexts(), MemoryJournal())).start()
    runner.stop()

    class _Racy(threading.Event):
        calls = 0

        def is_set(self) -> bool:  # the first check (in submit) misses the stop
            self.calls += 1
            return self.calls > 1

    runner._stopped = _Racy()
    from testkit import Credit

    fut = runner.submit(Credit(account="A", amount=1))
    try:
        fut.result(timeout=2)
    except RunnerStopped:
        pass
    except FutureTimeout:
        pytest.fail("the future never resolved")
    else:
        pytest.fail("a command after stop succeeded")
