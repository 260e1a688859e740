"""Rules the offering context applies on the command path, the same as the file path's: each
public application's share count, the IOI tier, the timetable's dates; and a preferential
offering run through the engine end to end."""

from __future__ import annotations

from datetime import time

import numpy as np
from offering_builders import batch, spec

from lionrock.engine import Engine
from lionrock.kernel.messages import Codec
from lionrock.kernel.xhkg import add_business_days, hk_ns
from lionrock.offering import OfferingContext
from lionrock.offering.allocation import PreferentialApplications, allocate
from lionrock.offering.books import (
    application_book_from_batches,
    application_share_faults,
    ioi_book_from_iois,
)
from lionrock.offering.commands import (
    AllocateOffering,
    ClosePublicOffer,
    DefineOffering,
    FixOfferPrice,
    Ioi,
    IoiStep,
    LodgePreferentialApplications,
    LodgePublicApplications,
    PreferentialBatch,
    PreferentialOfferingSpec,
    SettleOffering,
    SubmitIoi,
)
from lionrock.offering.context import MAX_FAULTS_LISTED
from lionrock.offering.definition import validate_offering
from lionrock.offering.events import (
    IpoSettlementInstructed,
    OfferingAllocated,
    PreferentialApplicationsLodged,
    PublicApplicationsLodged,
)
from lionrock.offering.pricing import set_price
from lionrock.sim.demand import synthetic_application_batch, synthetic_iois

SPEC = spec()
RO = validate_offering(SPEC)
T = RO.timetable
OPEN = hk_ns(T.public_offer_open, time(9, 0))


def _defined() -> Engine:
    engine = Engine([OfferingContext()])
    assert engine.submit(DefineOffering(offering=SPEC), OPEN).accepted
    return engine


def test_lodge_bad_share_counts_refused_whole_each_named_with_index_and_reason() -> None:
    engine = _defined()
    cap = RO.max_application_shares
    shares = [100, 0, -100, 150, cap + 100, 200]
    out = engine.submit(LodgePublicApplications(offering_id="T1", batch=batch(shares)), OPEN)
    r = out.rejection
    assert r is not None and r.reason == "INVALID_APPLICATIONS" and r.field == "batch.shares[1]"
    assert "PN18 para 3.1" in r.rule
    for index, reason, _ in application_share_faults(shares, RO.lot, cap):  # the file path's function, the same verdicts
        assert f"applications[{index}]: {reason}:" in r.message
    assert [i for i, _, _ in application_share_faults(shares, RO.lot, cap)] == [1, 2, 3, 4]
    assert "4 of 6 applications refused, none lodged" in r.message
    assert "applications[0]" not in r.message and "applications[5]" not in r.message
    # nothing was lodged: the good batch that follows is the first
    out = engine.submit(LodgePublicApplications(offering_id="T1", batch=batch([100, 200])), OPEN)
    lodged = next(e for e in out.events if isinstance(e, PublicApplicationsLodged))
    assert (lodged.count, lodged.total_count, lodged.total_shares) == (2, 2, 300)


def test_lodge_many_bad_applications_lists_the_first_and_counts_the_rest() -> None:
    engine = _defined()
    r = engine.submit(LodgePublicApplications(offering_id="T1", batch=batch([0] * (MAX_FAULTS_LISTED + 5))), OPEN).rejection
    assert r is not None and r.message.count("non_positive") == MAX_FAULTS_LISTED and r.message.endswith("and 5 more")


def test_ioi_tier_above_the_placing_tier_weights_refused_like_the_file_reader() -> None:
    engine = _defined()
    tiers = len(SPEC.placing.tier_weights)

    def ioi(tier: int) -> SubmitIoi:
        return SubmitIoi(
            offering_id="T1",
            ioi=Ioi(ioi_id=f"I{tier}", investor=f"INV{tier}", account=f"C:S:INV{tier}", tier=tier, steps=[IoiStep(0, 10_000)]),
        )

    assert engine.submit(ioi(tiers), OPEN).accepted
    for bad in (0, tiers + 1):
        r = engine.submit(ioi(bad), OPEN).rejection
        assert r is not None and (r.reason, r.field) == ("INVALID_IOI", "ioi.tier") and f"1 to {tiers}" in r.message


def test_close_before_noon_on_t_minus_1_and_price_before_t_refused_citing_the_timetable() -> None:
    engine = _defined()
    assert engine.submit(LodgePublicApplications(offering_id="T1", batch=batch([100, 200])), OPEN).accepted
    early = engine.submit(ClosePublicOffer(offering_id="T1"), hk_ns(T.public_offer_close, time(11, 59))).rejection
    assert early is not None and early.reason == "TOO_EARLY" and "12:00" in early.message and "FINI" in early.rule
    assert engine.submit(ClosePublicOffer(offering_id="T1"), hk_ns(T.public_offer_close, time(12, 0))).accepted
    too_soon = engine.submit(FixOfferPrice(offering_id="T1"), hk_ns(T.public_offer_close, time(15, 0))).rejection
    assert too_soon is not None and too_soon.reason == "TOO_EARLY" and str(T.price_fixing) in too_soon.message
    assert engine.submit(FixOfferPrice(offering_id="T1"), hk_ns(T.price_fixing, time(9, 0))).accepted
    assert T.listing == add_business_days(T.price_fixing, 2)  # settlement: T+2 (TOO_EARLY before it, test_offering_context)


PREF = spec(
    preferential=PreferentialOfferingSpec(
        kind="assured_entitlement",
        reference="Preferential Offering to Qualifying Parent Shareholders (PN15 para 3(f))",
        reserved_shares=100_000,
    )
)
PREF_RO = validate_offering(PREF)
PREF_BATCH = PreferentialBatch(
    applicants=["Q1", "Q2", "Q3", "Q4"],
    accounts=["C:P1:Q1", "C:P1:Q2", "C:P2:Q3", "C:P2:Q4"],
    participants=["P1", "P1", "P2", "P2"],
    shares=[20_000, 50_000, 30_000, 40_000],
    entitlements=[20_000, 30_000, 10_000, 0],
)


def test_preferential_offering_through_the_engine_equals_the_pure_allocation_and_settles() -> None:
    engine = Engine([OfferingContext()])
    assert engine.submit(DefineOffering(offering=PREF), OPEN).accepted
    iois = synthetic_iois(PREF_RO, 30, seed=5)
    for ioi in iois:
        assert engine.submit(SubmitIoi(offering_id="T1", ioi=ioi), OPEN).accepted
    public = synthetic_application_batch(PREF_RO, 500, seed=3)
    assert engine.submit(LodgePublicApplications(offering_id="T1", batch=public), OPEN).accepted
    out = engine.submit(LodgePreferentialApplications(offering_id="T1", batch=PREF_BATCH), OPEN)
    lodged = next(e for e in out.events if isinstance(e, PreferentialApplicationsLodged))
    assert (lodged.count, lodged.shares, lodged.total_count) == (4, 140_000, 4)
    assert engine.submit(ClosePublicOffer(offering_id="T1"), hk_ns(T.public_offer_close, time(12, 0))).accepted
    assert engine.submit(FixOfferPrice(offering_id="T1"), hk_ns(T.price_fixing, time(10, 0))).accepted
    out = engine.submit(AllocateOffering(offering_id="T1", seed=11), hk_ns(T.price_fixing, time(13, 0)))
    summary = next(e for e in out.events if isinstance(e, OfferingAllocated)).summary
    # the same figures as the pure function given the same books
    ioi_book, app_book = ioi_book_from_iois(iois), application_book_from_batches([public])
    pricing = set_price(PREF_RO, ioi_book, 0, -1)
    want = allocate(PREF_RO, pricing, ioi_book, app_book, 11, preferential=PreferentialApplications.from_batches([PREF_BATCH]))
    assert summary == want.summary
    assert summary.preferential_valid_applications == 4 and summary.preferential_shares == int(want.preferential_allotted.sum()) > 0
    assert want.preferential_allotted[0] == 20_000  # an assured entitlement in full
    # settlement delivers the preferential allotments with the rest, consideration at the offer price
    out = engine.submit(SettleOffering(offering_id="T1"), hk_ns(T.listing, time(8, 0)))
    issuer = next(e for e in out.events if isinstance(e, IpoSettlementInstructed))
    delivered = {account: shares for account, shares, _ in issuer.allotments}
    got = np.asarray(want.preferential_allotted)
    for i, account in enumerate(PREF_BATCH.accounts):
        if got[i]:
            assert delivered.get(account, 0) >= int(got[i])
    total = sum(s for _, s, _ in issuer.allotments) + sum(
        s for e in out.events if isinstance(e, IpoSettlementInstructed) and e is not issuer for _, s, _ in e.allotments
    )
    assert total == summary.offer_shares + summary.over_allocated_shares


def test_preferential_replay_and_snapshot_keep_the_state_hash() -> None:
    def run(engine: Engine) -> None:
        engine.submit(DefineOffering(offering=PREF), OPEN)
        engine.submit(LodgePreferentialApplications(offering_id="T1", batch=PREF_BATCH), OPEN)

    first = Engine([OfferingContext()])
    run(first)
    h = first.state_hash()
    assert Engine([OfferingContext()], first.journal).recover(use_snapshot=False).state_hash() == h
    first.snapshot()
    assert Engine([OfferingContext()], first.journal).recover(use_snapshot=True).state_hash() == h
    codec = Codec()
    command = LodgePreferentialApplications(offering_id="T1", batch=PREF_BATCH)
    assert codec.decode_command(codec.encode(command)) == command
    event = PreferentialApplicationsLodged(offering_id="T1", count=4, shares=140_000, total_count=4, total_shares=140_000)
    assert codec.decode_event(codec.encode(event)) == event


def test_preferential_refused_without_a_preferential_offering_or_with_bad_rows() -> None:
    engine = _defined()
    r = engine.submit(LodgePreferentialApplications(offering_id="T1", batch=PREF_BATCH), OPEN).rejection
    assert r is not None and r.reason == "INVALID_APPLICATIONS" and "no preferential offering" in r.message
    engine = Engine([OfferingContext()])
    engine.submit(DefineOffering(offering=PREF), OPEN)
    bad = PreferentialBatch(
        applicants=["Q1", "Q2"], accounts=["C:P1:Q1", "C:P1:Q2"], participants=["P1", "P1"], shares=[0, 100], entitlements=[0, -1]
    )
    r = engine.submit(LodgePreferentialApplications(offering_id="T1", batch=bad), OPEN).rejection
    assert r is not None and "applications[0]" in r.message and "applications[1]" in r.message
