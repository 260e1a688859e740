"""A small venue for the service tests: trading day open, one stock listed, a user per role."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, time

from lionrock.kernel.xhkg import hk_ns
from lionrock.service.auth import Principal
from lionrock.service.contexts import default_contexts
from lionrock.service.root import Service, market_clock
from lionrock.trading.commands import ListInstrument, StartTradingDay

DAY = date(2025, 11, 24)
PASSWORD = "correct horse battery"
STOCK = "02525"
USERS: dict[str, dict[str, object]] = {
    "op": {"role": "operator"},
    "reg": {"role": "regulator"},
    "inv1": {"role": "investor", "participant": "B1", "accounts": ["C:B1:I1"]},
    "inv2": {"role": "investor", "participant": "B2", "accounts": ["C:B2:I2"]},
    "brk1": {"role": "broker", "participant": "B1"},
    "brk2": {"role": "broker", "participant": "B2"},
    "spo": {"role": "sponsor", "offerings": ["OFF-A"], "issuers": ["ISS-A"]},
    "iss": {"role": "issuer", "issuers": ["ISS-A"], "offerings": ["OFF-A"]},
}
ROLES = list(USERS)
_ids = itertools.count(1)


def next_id(prefix: str = "c") -> str:
    return f"{prefix}{next(_ids)}"


class SteppableClock:
    """A market clock (real time from a start) that a test can move forward to a later moment."""

    def __init__(self, start_ns: int) -> None:
        self._base = market_clock(start_ns)
        self.offset = 0

    def __call__(self) -> int:
        return self._base() + self.offset

    def jump_to(self, at_ns: int) -> None:
        now = self()
        if at_ns > now:
            self.offset += at_ns - now


def open_world(
    db: str = "memory:", *, stocks: tuple[str, ...] = (STOCK,), hour: int = 10, clock: Callable[[], int] | None = None
) -> tuple[Service, Principal]:
    """A started service at ``hour``:00 HKT on a trading day, stocks listed at 50.00, users made."""
    service = Service(db, contexts=default_contexts(), clock=clock or market_clock(hk_ns(DAY, time(hour, 0)))).start()
    for name, spec in USERS.items():
        service.auth.create_user(name, PASSWORD, **spec)  # type: ignore[arg-type]
    op = service.auth.principal("op", via="test")
    assert service.submit_sync(op, StartTradingDay(day=DAY.isoformat())).rejection is None
    for code in stocks:
        assert (
            service.submit_sync(op, ListInstrument(instrument=code, board_lot=100, nominal_price=50_000, name=f"Stock {code}")).rejection
            is None
        )
    return service, op
