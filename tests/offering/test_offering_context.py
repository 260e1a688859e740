"""The offering driven through the engine: define, book, price, allocate, settle, stabilise."""

from __future__ import annotations

from datetime import time

import msgspec
from offering_builders import cornerstone, spec

from lionrock.engine import Engine
from lionrock.kernel.messages import Codec
from lionrock.kernel.money import Rate
from lionrock.kernel.price import consideration_minor
from lionrock.kernel.xhkg import hk_ns
from lionrock.offering import OfferingContext
from lionrock.offering.commands import (
    AllocateOffering,
    ClosePublicOffer,
    CloseStabilisation,
    DefineOffering,
    FixOfferPrice,
    LodgePublicApplications,
    SettleOffering,
    SubmitIoi,
)
from lionrock.offering.definition import validate_offering
from lionrock.offering.events import (
    IpoApplicationsFunded,
    IpoSettlementInstructed,
    OfferingAllocated,
    OfferingStabilisationClosed,
    PublicOfferClosed,
)
from lionrock.sim.demand import synthetic_application_batch, synthetic_iois

SPEC = spec(
    shares_offered=10_000_000,
    over_allotment=Rate(15, 100),
    offer_size_adjustment=Rate(15, 100),
    cornerstones=[cornerstone("CS1", amount_minor=900_000_000)],
)
RO = validate_offering(SPEC)
T = RO.timetable


def _run(engine: Engine, late_pricing: bool = False) -> dict[str, object]:
    at = hk_ns(T.public_offer_open, time(9, 0))
    seen: dict[str, object] = {}
    assert engine.submit(DefineOffering(offering=SPEC), at).accepted
    for ioi in synthetic_iois(RO, 60, seed=5):
        assert engine.submit(SubmitIoi(offering_id="T1", ioi=ioi), at).accepted
    for k in range(3):
        batch = synthetic_application_batch(RO, 2_000, seed=10 + k)
        batch = msgspec.structs.replace(batch, applicants=[f"{a}-{k}" for a in batch.applicants])
        assert engine.submit(LodgePublicApplications(offering_id="T1", batch=batch), at).accepted
    out = engine.submit(ClosePublicOffer(offering_id="T1"), hk_ns(T.public_offer_close, time(12, 0)))
    seen["closed"] = next(e for e in out.events if isinstance(e, PublicOfferClosed))
    seen["funded"] = next(e for e in out.events if isinstance(e, IpoApplicationsFunded))
    if late_pricing:
        seen["late"] = engine.submit(FixOfferPrice(offering_id="T1"), hk_ns(T.price_fixing, time(12, 1))).rejection
        return seen
    assert engine.submit(FixOfferPrice(offering_id="T1"), hk_ns(T.price_fixing, time(11, 0))).accepted
    digest = seen["closed"].book_digest  # type: ignore[attr-defined]
    wrong = engine.submit(AllocateOffering(offering_id="T1", seed=7, applications_digest="0" * 64), hk_ns(T.price_fixing, time(13, 0)))
    seen["wrong_digest"] = wrong.rejection
    out = engine.submit(AllocateOffering(offering_id="T1", seed=7, applications_digest=digest), hk_ns(T.price_fixing, time(13, 0)))
    seen["allocated"] = next(e for e in out.events if isinstance(e, OfferingAllocated))
    seen["early"] = engine.submit(SettleOffering(offering_id="T1"), hk_ns(T.results, time(20, 0))).rejection
    out = engine.submit(SettleOffering(offering_id="T1"), hk_ns(T.listing, time(8, 0)))
    seen["settlement"] = [e for e in out.events if isinstance(e, IpoSettlementInstructed)]
    over = seen["allocated"].summary.over_allocated_shares  # type: ignore[attr-defined]
    out = engine.submit(
        CloseStabilisation(offering_id="T1", shares_bought_back=over // 2 // 100 * 100), hk_ns(T.stabilisation_end, time(17, 0))
    )
    seen["stabilised"] = out.events
    return seen


def test_offering_through_engine_end_to_end_balances() -> None:
    engine = Engine([OfferingContext()])
    seen = _run(engine)
    assert seen["wrong_digest"].reason == "BOOK_DIGEST_MISMATCH"  # type: ignore[attr-defined]
    assert seen["early"].reason == "TOO_EARLY"  # type: ignore[attr-defined]
    funded: IpoApplicationsFunded = seen["funded"]  # type: ignore[assignment]
    issuer, lender = seen["settlement"]  # type: ignore[misc]
    summary = seen["allocated"].summary  # type: ignore[attr-defined]
    assert issuer.issuer_account == "I:ISS" and lender.issuer_account == "I:ISS:LENDER"
    # shares: the issuer delivers the offer shares, the lender the over-allocation
    assert sum(s for _, s, _ in issuer.allotments) == summary.offer_shares
    assert sum(s for _, s, _ in lender.allotments) == summary.over_allocated_shares
    # money: what public applicants held = what they paid (consideration + charges) + refunds
    holds = dict(funded.holds)
    public_accounts = set(holds)
    paid = sum(c for a, _, c in issuer.allotments if a in public_accounts) + sum(f for a, f in issuer.account_fees if a in public_accounts)
    assert sum(holds.values()) == paid + sum(r for _, r in issuer.refunds)
    # each allottee pays shares x offer price (kernel arithmetic, not the offering's own) plus the
    # application charges of 1% + 0.0027% + 0.00565% + 0.00015% (docs/rules.md section 5), each rounded
    price = summary.price
    fees = dict(issuer.account_fees)
    refunds = dict(issuer.refunds)
    for account, shares, consideration in issuer.allotments:
        assert consideration == consideration_minor(price, shares)
        if account in public_accounts:
            expected_charges = consideration * 10_085 // 1_000_000
            assert abs(fees[account] - expected_charges) <= 4, (account, fees[account], expected_charges)
            assert refunds.get(account, 0) == holds[account] - consideration - fees[account] >= 0
    assert all(r >= 0 for r in refunds.values())
    # charges collected equal charges charged
    for ins in (issuer, lender):
        assert sum(v for _, v in ins.fees) == sum(v for _, v in ins.account_fees)
    closed = [e for e in seen["stabilised"] if isinstance(e, OfferingStabilisationClosed)][0]  # type: ignore[attr-defined]
    exercise = [e for e in seen["stabilised"] if isinstance(e, IpoSettlementInstructed)]  # type: ignore[attr-defined]
    assert closed.over_allotment_exercised == summary.over_allocated_shares - closed.shares_bought_back
    assert exercise[0].allotments == [
        ("I:ISS:LENDER", closed.over_allotment_exercised, consideration_minor(summary.price, closed.over_allotment_exercised))
    ]


def test_offering_replay_and_snapshot_give_same_state_hash() -> None:
    first = Engine([OfferingContext()])
    _run(first)
    h = first.state_hash()
    replayed = Engine([OfferingContext()], first.journal).recover(use_snapshot=False)
    assert replayed.state_hash() == h
    first.snapshot()
    restored = Engine([OfferingContext()], first.journal).recover(use_snapshot=True)
    assert restored.state_hash() == h


def test_offering_messages_roundtrip_through_codec() -> None:
    codec = Codec()
    cmd = DefineOffering(offering=SPEC)
    assert codec.decode_command(codec.encode(cmd)) == cmd
    engine = Engine([OfferingContext()])
    for events in _run(engine).values():
        for e in events if isinstance(events, list) else [events]:
            if hasattr(e, "offering_id"):
                assert codec.decode_event(codec.encode(e)) == e


def test_bad_definition_rejected_with_field() -> None:
    engine = Engine([OfferingContext()])
    bad = msgspec.structs.replace(SPEC, public_share=Rate(61, 100))
    out = engine.submit(DefineOffering(offering=bad), hk_ns(T.public_offer_open, time(9, 0)))
    assert out.rejection is not None and out.rejection.field == "offering.public_share" and "60%" in out.rejection.message


def test_pricing_after_noon_on_price_determination_date_rejected() -> None:
    """Prospectus terms: the offering lapses if the price is not agreed by noon on the price
    determination date."""
    seen = _run(Engine([OfferingContext()]), late_pricing=True)
    assert seen["late"] is not None and seen["late"].reason == "PRICING_DEADLINE_PASSED"  # type: ignore[attr-defined]


def test_offering_settles_in_clearing_without_failures() -> None:
    """Cross-context contract: clearing settles every instruction the offering emits (issuer,
    stock lender, over-allotment exercise) with no failure and no note."""
    from lionrock.clearing import ClearingContext

    engine = Engine([OfferingContext(), ClearingContext()])
    events: list[object] = []
    engine.subscribe(lambda _stamp, _command, evs: events.extend(evs))
    _run(engine)
    names = [type(e).__name__ for e in events]
    assert "IpoSettlementFailed" not in names
    settled = [e for e in events if type(e).__name__ == "IpoSettled"]
    assert len(settled) == 3 and all(not e.notes for e in settled)  # type: ignore[attr-defined]
