"""Signing out revokes the session server-side; read models survive a kill mid-replay and a
restart from a snapshot with the read model deleted."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import httpx
import pytest

from lionrock.clearing.commands import DepositCash
from lionrock.gateways.server import BackgroundServer
from lionrock.kernel.xhkg import hk_ns
from lionrock.readmodel import projector
from lionrock.readmodel.projector import Projector
from lionrock.service.auth import SESSION_COOKIE, AuthError
from lionrock.service.contexts import default_contexts
from lionrock.service.root import Service, market_clock
from lionrock.trading.commands import ListInstrument, PlaceOrder, StartTradingDay
from lionrock.trading.events import OrderAccepted
from testkit.service_world import DAY, PASSWORD, STOCK, open_world


def test_session_logout_copied_cookie_refused() -> None:
    """DELETE /v1/session bumps the user's session epoch: a copy of the cookie stops working."""
    service, _ = open_world()
    srv = BackgroundServer(service, fix=False).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as c, httpx.Client(base_url=srv.url, timeout=30) as thief:
            assert c.post("/v1/session", json={"username": "inv1", "password": PASSWORD}).status_code == 200
            token = c.cookies[SESSION_COOKIE]
            other = service.auth.issue_session("inv2")
            thief.cookies.set(SESSION_COOKIE, token)
            assert thief.get("/v1/me").json()["username"] == "inv1"
            assert c.delete("/v1/session").status_code == 200
            assert thief.get("/v1/me").status_code == 401
            with pytest.raises(AuthError):
                service.auth.verify_session(token)
            assert service.auth.verify_session(other).username == "inv2"  # other users unaffected
            assert c.post("/v1/session", json={"username": "inv1", "password": PASSWORD}).status_code == 200
            assert c.get("/v1/me").json()["username"] == "inv1"  # signing in again works
    finally:
        srv.stop()
        service.close()


def _activity(service: Service) -> None:
    op = service.auth.principal("op", via="test")
    for i in range(6):
        account = f"C:B1:I{i}"
        assert service.submit_sync(op, DepositCash(account=account, currency="HKD", amount=1_000_000 + i)).rejection is None
        side = "B" if i % 2 else "S"
        cmd = PlaceOrder(
            instrument=STOCK,
            participant="B1",
            account=account,
            client_order_id=f"o{i}",
            side=side,
            order_type="LIMIT",
            price=50_000,
            quantity=100,
        )
        assert service.submit_sync(op, cmd).rejection is None


def _read_model(service: Service) -> tuple[list[tuple[object, ...]], ...]:
    r = service.read
    return (
        r.execute("SELECT account, asset, amount FROM balances ORDER BY account, asset"),
        r.execute("SELECT order_id, account, quantity, filled, status FROM orders ORDER BY order_id"),
        r.execute("SELECT seq, idx, type FROM events ORDER BY seq, idx"),
        r.execute("SELECT value FROM rm_meta WHERE key = 'projected_seq'"),
        r.execute("SELECT instrument, start_ns, open, high, low, close, volume, turnover, trades FROM bars ORDER BY instrument, start_ns"),
    )


def _delete_read_model(service: Service) -> None:
    path = Path(service.spec.read_model_url)
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)


def _restart(db: str, snapshot_every: int = 0) -> Service:
    return Service(db, contexts=default_contexts(), snapshot_every=snapshot_every, clock=market_clock(hk_ns(DAY, time(10, 0)))).start()


def test_readmodel_replay_killed_midway_restart_same_balances(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash mid-replay leaves the read model at a batch boundary; the next start neither
    double-counts balances nor trips the events primary key."""
    db = str(tmp_path / "venue.db")
    service, _ = open_world(db)
    _activity(service)
    want = _read_model(service)
    assert want[0] and want[1]
    service.close()
    _delete_read_model(service)

    calls = {"n": 0}
    real = Projector._on_OrderAccepted

    def dying(self: Projector, *args: object) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("killed mid-replay")
        real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Projector, "REPLAY_BATCH", 3, raising=False)
    monkeypatch.setitem(projector._HANDLERS, OrderAccepted, dying)  # the projector dispatches through this table
    with pytest.raises(RuntimeError, match="killed mid-replay"):
        _restart(db)
    monkeypatch.undo()

    again = _restart(db)
    try:
        assert _read_model(again) == want
    finally:
        again.close()


def test_readmodel_projected_seq_behind_its_rows_reprojection_idempotent(tmp_path: Path) -> None:
    """A read model whose rows run ahead of its saved ``projected_seq`` (as a pre-atomic replay
    left it) is caught up without counting any record twice."""
    db = str(tmp_path / "venue.db")
    service, _ = open_world(db)
    _activity(service)
    want = _read_model(service)
    service.close()
    from lionrock.storage.sql import SqlStore

    read = SqlStore(service.spec.read_model_url)
    read.execute("UPDATE rm_meta SET value = '3' WHERE key = 'projected_seq'")
    read.close()
    again = _restart(db)
    try:
        assert _read_model(again) == want
    finally:
        again.close()


def test_readmodel_written_before_bars_existed_gets_them_from_its_trades(tmp_path: Path) -> None:
    """Upgrade path: a read model with trades but no bars (written by an older version) is given
    its one-minute bars from the trades table at start-up, equal to the live projection's."""
    db = str(tmp_path / "venue.db")
    service, _ = open_world(db)
    _activity(service)
    want = _read_model(service)
    assert want[4], "the activity trades, so there are bars"
    service.close()
    from lionrock.storage.sql import SqlStore

    read = SqlStore(service.spec.read_model_url)
    read.execute("DELETE FROM bars")
    read.execute("DELETE FROM schema_versions")  # an older version recorded no migrations
    read.close()
    again = _restart(db)
    try:
        assert _read_model(again) == want
    finally:
        again.close()


def test_readmodel_deleted_restart_from_snapshot_rebuilt(tmp_path: Path) -> None:
    """Recovery from a snapshot replays only the tail; a read model behind the snapshot is rebuilt
    from the journal first, so deleting it and restarting gives the same balances and orders."""
    db = str(tmp_path / "venue.db")
    service = _restart(db, snapshot_every=4)
    service.auth.create_user("op", PASSWORD, "operator")
    op = service.auth.principal("op", via="test")
    assert service.submit_sync(op, StartTradingDay(day=DAY.isoformat())).rejection is None
    assert service.submit_sync(op, ListInstrument(instrument=STOCK, board_lot=100, nominal_price=50_000, name="S")).rejection is None
    _activity(service)
    want = _read_model(service)
    digest = service.runner.call(lambda e: e.state_hash()).result(10)
    snap = service.runner.call(lambda e: e.journal.latest_snapshot()).result(10)
    assert snap is not None and snap.seq > 4  # recovery will start from a snapshot past the first records
    service.close()
    _delete_read_model(service)

    again = _restart(db, snapshot_every=4)
    try:
        assert again.engine.state_hash() == digest
        assert _read_model(again) == want
    finally:
        again.close()


def test_dashboard_logout_revokes_the_session_server_side() -> None:
    """The web dashboard's sign-out revokes like DELETE /v1/session: a copied cookie stops working."""
    service, _ = open_world()
    srv = BackgroundServer(service, fix=False).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as c, httpx.Client(base_url=srv.url, timeout=30) as thief:
            assert c.post("/v1/session", json={"username": "inv1", "password": PASSWORD}).status_code == 200
            thief.cookies.set(SESSION_COOKIE, c.cookies[SESSION_COOKIE])
            assert thief.get("/v1/me").status_code == 200
            assert c.post("/logout").status_code == 303
            assert thief.get("/v1/me").status_code == 401
    finally:
        srv.stop()
        service.close()
