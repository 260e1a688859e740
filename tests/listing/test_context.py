"""ListingContext driven through the engine: workflow, rejections, lapse, snapshot and replay."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import msgspec
import pytest

from lionrock.engine import Engine
from lionrock.files.profiles import load_profile
from lionrock.kernel.context import Context
from lionrock.kernel.messages import Codec
from lionrock.kernel.xhkg import hk_ns
from lionrock.listing import (
    AdvanceListing,
    CompleteCsrcFiling,
    EngageTechChannel,
    ExpireListingApplications,
    FileCsrc,
    FileListingApplication,
    IssuerListed,
    ListingApplicationFiled,
    ListingApplicationLapsed,
    ListingCode,
    ListingContext,
    SubmitIssuerProfile,
)
from testkit.listing import profile, with_latest_year, years

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "issuers"


def at(d: date, hour: int = 10) -> int:
    return hk_ns(d, time(hour))


def engine() -> Engine:
    return Engine([ListingContext()])


def drive_to_listing(e: Engine, issuer_id: str, route: str, filed: date) -> list[object]:
    outcomes = [e.submit(FileListingApplication(issuer_id=issuer_id, route=route), at(filed))]
    filed_event = outcomes[0].events[0]
    assert isinstance(filed_event, ListingApplicationFiled), outcomes[0]
    if filed_event.csrc_required:
        outcomes.append(e.submit(FileCsrc(issuer_id=issuer_id), at(filed_event.csrc_deadline)))  # type: ignore[arg-type]
        outcomes.append(e.submit(CompleteCsrcFiling(issuer_id=issuer_id), at(date(filed.year, filed.month + 1, 20))))
    steps = ["vetting_round", "vetting_round", "pass_hearing", "launch", "open_book", "fix_price", "allot", "list"]
    day = date(filed.year, filed.month + 2, 1)
    for i, trigger in enumerate(steps):
        outcomes.append(e.submit(AdvanceListing(issuer_id=issuer_id, trigger=trigger), at(day, 9 + i)))
    return outcomes


def test_listing_context_satisfies_protocol() -> None:
    assert isinstance(ListingContext(), Context)


def test_full_workflow_from_profile_to_listed() -> None:
    e = engine()
    p = load_profile(EXAMPLES / "tianshu_models.toml")
    out = e.submit(SubmitIssuerProfile(profile=p), at(date(2026, 3, 2)))
    assert out.accepted and out.events[0].routes_open == ["18c_pre_commercial"]  # type: ignore[attr-defined]
    assert e.submit(EngageTechChannel(issuer_id="TIANSHU"), at(date(2026, 3, 3))).accepted
    outcomes = drive_to_listing(e, "TIANSHU", "18c_pre_commercial", date(2026, 3, 9))
    assert all(o.accepted for o in outcomes), [o.rejection for o in outcomes if not o.accepted]  # type: ignore[attr-defined]
    listed = outcomes[-1].events[-1]  # type: ignore[attr-defined]
    assert isinstance(listed, IssuerListed)
    assert listed.stock_name_markers == ["W", "P"] and listed.board_lot == 100


def test_csrc_deadline_three_mainland_working_days() -> None:
    """CSRC Trial Measures: file within 3 working days after the HK application."""
    e = engine()
    e.submit(SubmitIssuerProfile(profile=profile()), at(date(2026, 3, 2)))
    out = e.submit(FileListingApplication(issuer_id="TEST", route="main_board_profit"), at(date(2026, 3, 6)))
    ev = out.events[0]
    assert isinstance(ev, ListingApplicationFiled)
    assert ev.csrc_required and ev.csrc_deadline == date(2026, 3, 11) and ev.expires_on == date(2026, 9, 6)
    late = e.submit(FileCsrc(issuer_id="TEST"), at(date(2026, 3, 12)))
    assert late.events[0].late is True  # type: ignore[attr-defined]


def test_hearing_rejected_before_csrc_filing_notice() -> None:
    e = engine()
    e.submit(SubmitIssuerProfile(profile=profile()), at(date(2026, 3, 2)))
    e.submit(FileListingApplication(issuer_id="TEST", route="main_board_profit"), at(date(2026, 3, 2)))
    e.submit(AdvanceListing(issuer_id="TEST", trigger="vetting_round"), at(date(2026, 4, 1)))
    out = e.submit(AdvanceListing(issuer_id="TEST", trigger="pass_hearing"), at(date(2026, 4, 20)))
    assert out.rejection is not None and out.rejection.code == ListingCode.CSRC_NOT_COMPLETED


def test_move_not_in_table_rejected_with_code() -> None:
    e = engine()
    e.submit(SubmitIssuerProfile(profile=profile()), at(date(2026, 3, 2)))
    out = e.submit(AdvanceListing(issuer_id="TEST", trigger="launch"), at(date(2026, 3, 3)))
    assert out.rejection is not None and out.rejection.code == ListingCode.ILLEGAL_TRANSITION
    unknown = e.submit(AdvanceListing(issuer_id="TEST", trigger="ring_gong"), at(date(2026, 3, 3)))
    assert unknown.rejection is not None and unknown.rejection.code == ListingCode.UNKNOWN_TRIGGER


def test_filing_on_closed_route_rejected_with_changes() -> None:
    e = engine()
    p = with_latest_year(profile(), revenue=220 * 100 * 10**6, specialist_technology_revenue=220 * 100 * 10**6)
    e.submit(SubmitIssuerProfile(profile=p), at(date(2026, 3, 2)))
    out = e.submit(FileListingApplication(issuer_id="TEST", route="18c_commercial"), at(date(2026, 3, 2)))
    assert out.rejection is not None and out.rejection.code == ListingCode.ROUTE_NOT_OPEN
    assert "HK$220m short of HK$250m by HK$30m" in out.rejection.message


def test_confidential_filing_only_via_tech() -> None:
    """TECH (6 May 2025): confidential filing for 18C/18A applicants only."""
    e = engine()
    e.submit(SubmitIssuerProfile(profile=profile()), at(date(2026, 3, 2)))
    mb = e.submit(FileListingApplication(issuer_id="TEST", route="main_board_profit", confidential=True), at(date(2026, 3, 2)))
    assert mb.rejection is not None and mb.rejection.code == ListingCode.CONFIDENTIAL_NOT_ALLOWED
    ok = e.submit(FileListingApplication(issuer_id="TEST", route="18c_commercial", confidential=True), at(date(2026, 3, 2)))
    assert ok.accepted


def test_tech_channel_not_before_6_may_2025() -> None:
    e = engine()
    early = msgspec.structs.replace(profile(), financial_years=years(ends=(2022, 2023, 2024)))
    e.submit(SubmitIssuerProfile(profile=early), at(date(2025, 5, 5)))
    before = e.submit(EngageTechChannel(issuer_id="TEST"), at(date(2025, 5, 5)))
    assert before.rejection is not None and before.rejection.code == ListingCode.TECH_NOT_AVAILABLE
    assert e.submit(EngageTechChannel(issuer_id="TEST"), at(date(2025, 5, 6))).accepted


def test_application_lapses_after_six_months_and_can_be_refiled() -> None:
    """Listing Rules 9.03: Form A1 valid for six months."""
    e = engine()
    e.submit(SubmitIssuerProfile(profile=profile()), at(date(2026, 3, 2)))
    e.submit(FileListingApplication(issuer_id="TEST", route="main_board_profit"), at(date(2026, 3, 2)))
    assert e.submit(ExpireListingApplications(), at(date(2026, 9, 1))).events == []
    late = e.submit(AdvanceListing(issuer_id="TEST", trigger="vetting_round"), at(date(2026, 9, 2)))
    assert late.rejection is not None and late.rejection.code == ListingCode.APPLICATION_LAPSED
    tick = e.submit(ExpireListingApplications(), at(date(2026, 9, 2)))
    assert [type(ev) for ev in tick.events] == [ListingApplicationLapsed]
    again = e.submit(FileListingApplication(issuer_id="TEST", route="main_board_profit"), at(date(2026, 9, 3)))
    assert again.accepted and again.events[0].attempt == 2  # type: ignore[attr-defined]


def test_profile_locked_after_filing() -> None:
    e = engine()
    e.submit(SubmitIssuerProfile(profile=profile()), at(date(2026, 3, 2)))
    assert e.submit(SubmitIssuerProfile(profile=profile()), at(date(2026, 3, 2))).events[0].replaced  # type: ignore[attr-defined]
    e.submit(FileListingApplication(issuer_id="TEST", route="main_board_profit"), at(date(2026, 3, 2)))
    out = e.submit(SubmitIssuerProfile(profile=profile()), at(date(2026, 3, 3)))
    assert out.rejection is not None and out.rejection.code == ListingCode.PROFILE_LOCKED


def test_invalid_profile_command_rejected_naming_field() -> None:
    bad = with_latest_year(profile(), rd_expense=10**15)
    out = engine().submit(SubmitIssuerProfile(profile=bad), at(date(2026, 3, 2)))
    assert out.rejection is not None and out.rejection.code == ListingCode.PROFILE_INVALID
    assert out.rejection.field == "profile.financial_years[2].rd_expense"


def _run(e: Engine) -> None:
    for path in sorted(EXAMPLES.glob("*.toml")):
        e.submit(SubmitIssuerProfile(profile=load_profile(path)), at(date(2026, 3, 2)))
    drive_to_listing(e, "QIANLI", "main_board_profit", date(2026, 3, 9))
    drive_to_listing(e, "JIXIE", "18c_commercial", date(2026, 4, 7))
    e.submit(FileListingApplication(issuer_id="XINHE", route="18c_pre_commercial"), at(date(2026, 4, 8)))


def test_snapshot_restore_and_replay_give_same_state_hash() -> None:
    first, second = engine(), engine()
    _run(first)
    _run(second)
    assert first.state_hash() == second.state_hash()
    restored = ListingContext()
    restored.restore(msgspec.msgpack.decode(msgspec.msgpack.encode(first.contexts["listing"].snapshot())))
    assert restored.canonical_state() == first.contexts["listing"].canonical_state()
    replayed = Engine([ListingContext()], first.journal).recover(use_snapshot=False)
    assert replayed.state_hash() == first.state_hash()


def test_commands_and_events_round_trip_through_codec() -> None:
    e = engine()
    _run(e)
    codec = Codec()
    seen: list[object] = []
    for rec in e.journal.records():
        cmd = codec.decode_command(rec.body)
        assert codec.decode_command(codec.encode(cmd)) == cmd
        seen.append(cmd)
    assert len(seen) == e.seq
    out = e.submit(AdvanceListing(issuer_id="XINHE", trigger="withdraw"), at(date(2026, 5, 1)))
    for ev in out.events:
        assert codec.decode_event(codec.encode(ev)) == ev


@pytest.mark.parametrize("issuer", ["QIANLI", "YIXIN", "TIANSHU", "JIXIE", "XINHE", "LUHENG"])
def test_every_example_with_open_route_can_file(issuer: str) -> None:
    e = engine()
    for path in sorted(EXAMPLES.glob("*.toml")):
        e.submit(SubmitIssuerProfile(profile=load_profile(path)), at(date(2026, 3, 2)))
    routes = e.contexts["listing"].issuers  # type: ignore[attr-defined]
    from lionrock.listing import assess

    open_routes = assess(routes[issuer].profile, date(2026, 3, 9)).open_routes
    assert open_routes
    assert e.submit(FileListingApplication(issuer_id=issuer, route=open_routes[0]), at(date(2026, 3, 9))).accepted
