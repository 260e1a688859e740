"""``lionrock serve --market-start`` after a restart: the market clock resumes from the journal's
last command time instead of running behind it (issue 13)."""

from __future__ import annotations

import time as wall
from datetime import date, time
from pathlib import Path

from lionrock.kernel.xhkg import hk_ns
from lionrock.service.contexts import default_contexts
from lionrock.service.root import MarketClock, Service, market_clock
from lionrock.trading.commands import ListInstrument, StartTradingDay

DAY = date(2025, 11, 24)
START_NS = hk_ns(DAY, time(9, 30))
LATER_NS = hk_ns(DAY, time(11, 0))


def test_market_clock_resumes_after_a_later_journal_time_and_runs_on() -> None:
    clock = MarketClock(START_NS)
    clock.resume_after(LATER_NS)
    first = clock()
    assert first >= LATER_NS
    wall.sleep(0.002)
    assert clock() > first
    clock.resume_after(START_NS)  # an earlier journal time never moves the clock back
    assert clock() > first


def test_serve_restart_with_the_same_market_start_continues_after_the_journal(tmp_path: Path) -> None:
    db = str(tmp_path / "lionrock.db")
    # The first run's last command is stamped 11:00 (it ran on past the configured 09:30 start).
    service = Service(db, contexts=default_contexts(), clock=market_clock(LATER_NS)).start()
    service.auth.create_user("operator", "a-long-password-1", role="operator")
    op = service.auth.principal("operator", via="cli")
    assert service.submit_sync(op, StartTradingDay(day=DAY.isoformat())).rejection is None
    assert service.submit_sync(op, ListInstrument(instrument="02525", board_lot=100, nominal_price=50_000, name="A")).rejection is None
    last_before = service.engine.last_at_ns
    assert last_before >= LATER_NS
    service.close()

    again = Service(db, contexts=default_contexts(), clock=market_clock(START_NS)).start()
    try:
        op = again.auth.principal("operator", via="cli")
        stamps = []
        for code in ("02526", "02527", "02528"):
            assert again.submit_sync(op, ListInstrument(instrument=code, board_lot=100, nominal_price=50_000, name=code)).rejection is None
            stamps.append(again.engine.last_at_ns)
            wall.sleep(0.002)
        # Before the fix every command was stamped LATER_NS (the clock ran from 09:30, behind).
        assert stamps[0] >= last_before
        assert stamps[0] < stamps[1] < stamps[2]
    finally:
        again.close()
