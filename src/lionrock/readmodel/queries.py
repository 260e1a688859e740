"""Read-side queries over the read store (`SqlStore`), with tenancy; never the engine, never the service.

Tenancy on reads: operators and regulators see everything; an investor the rows naming its
accounts; a broker its participant's; a sponsor (or issuer) its offerings (and issuers). Another
tenant's object answers 404, exactly like an unknown one. Offering events that name no account
(price fixed, results published) are public to signed-in users; events naming an account (an IOI,
an application, an allotment) are visible only to that account's owner, the offering's sponsor,
operators and regulators.
"""

from __future__ import annotations

import json
from datetime import date, time
from typing import Any

from lionrock.kernel.account import account_prefix, client_account, house_account
from lionrock.kernel.price import consideration_minor, format_price
from lionrock.kernel.xhkg import hk_date, hk_ns
from lionrock.offering.lifecycle import ALLOCATED_STAGES
from lionrock.readmodel.derived import ALLOCATION_COLUMNS
from lionrock.readmodel.projector import OPEN_STATUSES, PARTY_FIELDS
from lionrock.readmodel.tenancy import NotVisible, Principal, Role
from lionrock.storage.sql import SqlStore
from lionrock.trading.marketdata import bar_start

_ORDER_COLS = (
    "order_id",
    "instrument",
    "participant",
    "account",
    "client_order_id",
    "side",
    "order_type",
    "price",
    "quantity",
    "filled",
    "status",
    "channel",
    "reason",
    "created_seq",
    "updated_seq",
    "at_ns",
    "short_sell",
)


def _order_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    d = dict(zip(_ORDER_COLS, row, strict=True))
    d["short_sell"] = bool(d["short_sell"])
    d["remaining"] = max(d["quantity"] - d["filled"], 0) if d["status"] in OPEN_STATUSES else 0
    d["price_text"] = format_price(d["price"]) if d["price"] else ""
    return d


# -- orders -------------------------------------------------------------------------------------
def orders(
    read: SqlStore, p: Principal, *, status: str | None = None, instrument: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    where, args = [], []
    if not p.sees_all:
        parties = [a for a in p.parties() if account_prefix(a) != "P"]
        clauses = [f"account IN ({', '.join('?' * len(parties))})"] if parties else []
        args.extend(parties)
        if p.role == Role.BROKER and p.participant:
            clauses.append("participant = ?")
            args.append(p.participant)
        if not clauses:
            return []
        where.append("(" + " OR ".join(clauses) + ")")
    if status:
        where.append("status = ?")
        args.append(status)
    if instrument:
        where.append("instrument = ?")
        args.append(instrument)
    sql = f"SELECT {', '.join(_ORDER_COLS)} FROM orders" + (" WHERE " + " AND ".join(where) if where else "")
    rows = read.execute(sql + " ORDER BY order_id DESC LIMIT ?", (*args, limit))
    return [_order_dict(r) for r in rows]


def order_for(read: SqlStore, p: Principal, order_id: int, *, write: bool = False) -> dict[str, Any]:
    row = read.one(f"SELECT {', '.join(_ORDER_COLS)} FROM orders WHERE order_id = ?", (order_id,))
    allowed = row is not None and (
        p.can_trade_account(row[3]) if write else p.can_read_account(row[3]) or (p.role == Role.BROKER and row[2] == p.participant)
    )
    if row is None or not allowed:
        raise NotVisible("order_id", f"no order {order_id} of yours")
    return _order_dict(row)


# -- accounts and market data ------------------------------------------------------------------
def positions(read: SqlStore, accounts: list[str]) -> list[dict[str, Any]]:
    """Balances of the clearing ledger (settled postings), per account and asset (non-zero only)."""
    if not accounts:
        return []
    rows = read.execute(
        f"""SELECT account, asset, amount, updated_seq FROM balances
            WHERE account IN ({", ".join("?" * len(accounts))}) AND amount <> 0 ORDER BY account, asset""",
        accounts,
    )
    return [{"account": a, "asset": s, "amount": int(n), "updated_seq": int(q)} for a, s, n, q in rows]


def holdings(read: SqlStore, accounts: list[str]) -> list[dict[str, Any]]:
    """Trade flow: shares and consideration moved by executed trades (before settlement; display only)."""
    if not accounts:
        return []
    rows = read.execute(
        f"SELECT account, asset, amount FROM holdings WHERE account IN ({', '.join('?' * len(accounts))}) ORDER BY account, asset",
        accounts,
    )
    return [{"account": a, "asset": s, "amount": n} for a, s, n in rows]


def accounts(read: SqlStore, p: Principal) -> dict[str, Any]:
    own = set(p.accounts)
    if p.role == Role.BROKER and p.participant:
        rows = read.execute("SELECT DISTINCT account FROM orders WHERE participant = ?", (p.participant,))
        ledger = read.execute(
            "SELECT DISTINCT account FROM balances WHERE account = ? OR account LIKE ?",
            (house_account(p.participant), client_account(p.participant, "%")),
        )
        own |= {house_account(p.participant), *(r[0] for r in rows), *(r[0] for r in ledger)}
    if p.sees_all:
        own |= {r[0] for r in read.execute("SELECT DISTINCT account FROM balances")}
        own |= {r[0] for r in read.execute("SELECT DISTINCT account FROM holdings")}
    listed = sorted(a for a in own if p.can_read_account(a))
    return {
        "accounts": listed,
        "positions": positions(read, listed),
        "basis": "clearing ledger (settled postings)",
        "executed": holdings(read, listed),
        "executed_basis": "executed trades, by trade date (settle T+2 in the ledger)",
    }


def instruments(read: SqlStore) -> list[dict[str, Any]]:
    rows = read.execute("SELECT DISTINCT instrument FROM events WHERE instrument IS NOT NULL ORDER BY instrument")
    out = []
    for (code,) in rows:
        last = read.one("SELECT price, quantity, at_ns FROM trades WHERE instrument = ? ORDER BY seq DESC, trade_id DESC LIMIT 1", (code,))
        out.append({"instrument": code, "last_price": last[0] if last else None, "last_price_text": format_price(last[0]) if last else ""})
    return out


def depth(read: SqlStore, instrument: str, levels: int = 10) -> dict[str, Any]:
    out: dict[str, Any] = {"instrument": instrument}
    for side, name, order in (("B", "bids", "DESC"), ("S", "asks", "ASC")):
        rows = read.execute(
            f"""SELECT price, SUM(quantity - filled), COUNT(*) FROM orders
                WHERE instrument = ? AND side = ? AND status IN ('new', 'partially_filled') AND price > 0
                GROUP BY price ORDER BY price {order} LIMIT ?""",
            (instrument, side, levels),
        )
        out[name] = [{"price": int(pr), "price_text": format_price(int(pr)), "quantity": int(q), "orders": int(n)} for pr, q, n in rows]
    return out


def trades(read: SqlStore, instrument: str, limit: int = 100) -> list[dict[str, Any]]:
    rows = read.execute(
        "SELECT trade_id, price, quantity, currency, aggressor, seq, at_ns FROM trades "
        "WHERE instrument = ? ORDER BY seq DESC, trade_id DESC LIMIT ?",
        (instrument, limit),
    )
    return [
        {"trade_id": t, "price": pr, "price_text": format_price(pr), "quantity": q, "currency": c, "aggressor": a, "seq": s, "at_ns": at}
        for t, pr, q, c, a, s, at in rows
    ]


def bars(read: SqlStore, instrument: str, interval: int = 60, limit: int = 500) -> list[dict[str, Any]]:
    """OHLCV bars of ``interval`` seconds, oldest first, the newest ``limit``: added up from the
    read model's one-minute bars (``interval`` a multiple of 60 that divides a day; the caller
    checks). A bar with no trades is absent, not zero."""
    per = interval // 60
    fetch = (limit + 1) * per
    rows = read.execute(
        "SELECT start_ns, open, high, low, close, volume, turnover, trades FROM bars WHERE instrument = ? ORDER BY start_ns DESC LIMIT ?",
        (instrument, fetch),
    )
    grouped: dict[int, list[int]] = {}
    for start, o, h, lo, c, v, t, n in reversed(rows):
        key = bar_start(int(start), interval)
        bar = grouped.get(key)
        if bar is None:
            grouped[key] = [int(o), int(h), int(lo), int(c), int(v), int(t), int(n)]
        else:
            bar[1], bar[2], bar[3] = max(bar[1], int(h)), min(bar[2], int(lo)), int(c)
            bar[4], bar[5], bar[6] = bar[4] + int(v), bar[5] + int(t), bar[6] + int(n)
    starts = sorted(grouped)
    if len(rows) == fetch and starts:
        starts = starts[1:]  # the oldest group may be cut short by the row limit
    return [
        {
            "start_ns": s,
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": v,
            "turnover_minor": t,
            "trades": n,
            "open_text": format_price(o),
            "high_text": format_price(h),
            "low_text": format_price(lo),
            "close_text": format_price(c),
        }
        for s in starts[-limit:]
        for o, h, lo, c, v, t, n in (grouped[s],)
    ]


def short_selling(read: SqlStore, instrument: str, days: int = 20) -> list[dict[str, Any]]:
    """Short-selling volume and turnover by Hong Kong trading day, oldest first, the newest
    ``days`` days with trades: the trades whose sell order was a short sale (Schedule 11), and
    their share of the day's turnover in basis points (the figures the exchange publishes)."""
    totals: dict[date, int] = {}
    for start, turnover in read.execute(
        "SELECT start_ns, turnover FROM bars WHERE instrument = ? ORDER BY start_ns DESC LIMIT ?",
        (instrument, (days + 1) * 1440),
    ):
        day = hk_date(int(start))
        totals[day] = totals.get(day, 0) + int(turnover)
    keep = sorted(totals)[-days:]
    if not keep:
        return []
    short = {day: [0, 0, 0] for day in keep}
    for at_ns, price, quantity in read.execute(
        """SELECT t.at_ns, t.price, t.quantity FROM trades t JOIN orders o ON o.order_id = t.sell_order_id
           WHERE t.instrument = ? AND o.short_sell = 1 AND t.at_ns >= ?""",
        (instrument, hk_ns(keep[0], time(0))),
    ):
        row = short.get(hk_date(int(at_ns)))
        if row is not None:
            row[0] += int(quantity)
            row[1] += consideration_minor(int(price), int(quantity))
            row[2] += 1
    return [
        {
            "day": day.isoformat(),
            "short_shares": shares,
            "short_turnover_minor": turnover,
            "short_trades": n,
            "turnover_minor": totals[day],
            "short_share_bp": turnover * 10_000 // totals[day] if totals[day] else 0,
        }
        for day in keep
        for shares, turnover, n in (short[day],)
    ]


def consistent_snapshot(read: SqlStore, make: Any) -> tuple[int, Any]:
    """``(seq, make())``: the read-model sequence number and a snapshot that reflects exactly the
    events up to it. Taken inside one read-model transaction, which holds the store's lock, so the
    writer cannot project a batch halfway through the snapshot (its queries are small: top levels,
    newest trades, own orders). A WebSocket subscribes first, then takes this, then forwards only
    events after ``seq``: nothing is lost between the two, nothing counted twice."""
    with read.transaction():
        row = read.one("SELECT value FROM rm_meta WHERE key = 'projected_seq'")
        return (int(row[0]) if row else 0), make()


# -- events, offerings, issuers ----------------------------------------------------------------
_ACCOUNT_PREFIXES = ("C:", "P:", "I:", "F:", "H:", "X:")


def redact(body: Any, p: Principal) -> Any:
    """Hide counterparties: account and participant fields that are not the caller's own.

    Recurses into dicts, lists and tuples. In a list, a row that names accounts (an object with
    an account field, or a tuple such as ``(account, amount)`` in ``IpoApplicationsFunded.holds``,
    ``IpoSettlementInstructed.allotments``, ``OfferingAllocated.placees``) is kept only if one of
    those accounts is the caller's own: an investor sees its own rows, never another's."""
    if p.sees_all:
        return body
    mine = set(p.parties())

    def own(account: str) -> bool:
        return account in mine or p.can_read_account(account)

    def is_account(v: Any) -> bool:
        return isinstance(v, str) and v.startswith(_ACCOUNT_PREFIXES)

    def row_accounts(row: Any) -> list[str]:
        if isinstance(row, dict):
            return [v for k, v in row.items() if isinstance(v, str) and v and (k in PARTY_FIELDS or k.endswith("_account"))]
        if isinstance(row, (list, tuple)):  # a tuple row, or an array-like struct such as PlaceeAllotment
            return [x for x in row if is_account(x)]
        return []

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                if isinstance(x, str) and x and (k in PARTY_FIELDS or k.endswith("_account")) and not own(x):
                    x = "(counterparty)"
                elif (
                    isinstance(x, str)
                    and x
                    and (k == "participant" or k.endswith("_participant"))
                    and house_account(x) not in mine
                    and x != p.participant
                ):
                    x = "(counterparty)"
                else:
                    x = walk(x)
                out[k] = x
            return out
        if isinstance(v, (list, tuple)):
            items = []
            for x in v:
                accounts = row_accounts(x)
                if accounts and not any(own(a) for a in accounts):
                    continue  # another party's row: left out, not just masked (amounts leak too)
                if is_account(x) and not own(x):
                    x = "(counterparty)"
                items.append(walk(x))
            return type(v)(items) if isinstance(v, tuple) else items
        return v

    return walk(body)


def _event_rows(rows: list[tuple[Any, ...]], p: Principal | None = None) -> list[dict[str, Any]]:
    return [
        {"seq": s, "idx": i, "at_ns": at, "type": t, "event": json.loads(b) if p is None else redact(json.loads(b), p)}
        for s, i, at, t, b in rows
    ]


def events(read: SqlStore, p: Principal, *, after: int = 0, type_: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    args: list[Any] = [after]
    type_sql = ""
    if type_:
        type_sql = " AND e.type = ?"
        args.append(type_)
    if p.sees_all:
        rows = read.execute(
            f"SELECT e.seq, e.idx, e.at_ns, e.type, e.body FROM events e WHERE e.seq > ?{type_sql} ORDER BY e.seq, e.idx LIMIT ?",
            (*args, limit),
        )
        return _event_rows(rows)
    parties = p.parties()
    if not parties:
        return []
    rows = read.execute(
        f"""SELECT DISTINCT e.seq, e.idx, e.at_ns, e.type, e.body FROM events e JOIN event_parties ep ON ep.seq = e.seq AND ep.idx = e.idx
            WHERE e.seq > ?{type_sql} AND ep.party IN ({", ".join("?" * len(parties))}) ORDER BY e.seq, e.idx LIMIT ?""",
        (*args, *parties, limit),
    )
    return _event_rows(rows, p)


def offerings(read: SqlStore, p: Principal) -> list[dict[str, Any]]:
    rows = read.execute(
        "SELECT offering_id, MIN(seq), MAX(seq), COUNT(*) FROM events "
        "WHERE offering_id IS NOT NULL GROUP BY offering_id ORDER BY offering_id"
    )
    out = []
    for oid, first, last, n in rows:
        full = p.can_read_offering(oid)
        if not full and p.role not in (Role.INVESTOR, Role.BROKER):
            continue
        latest = read.one("SELECT type FROM events WHERE offering_id = ? ORDER BY seq DESC, idx DESC LIMIT 1", (oid,))
        out.append(
            {
                "offering_id": oid,
                "first_seq": first,
                "last_seq": last,
                "events": n if full else None,
                "last_event": latest[0] if latest else "",
                "yours": full,
            }
        )
    return out


def offering(read: SqlStore, p: Principal, offering_id: str) -> dict[str, Any]:
    exists = read.one("SELECT 1 FROM events WHERE offering_id = ? LIMIT 1", (offering_id,)) is not None
    full = p.can_read_offering(offering_id)
    if not exists or not (full or p.role in (Role.INVESTOR, Role.BROKER)):
        raise NotVisible("offering_id", f"no offering {offering_id} visible to you")
    rows = read.execute("SELECT seq, idx, at_ns, type, body FROM events WHERE offering_id = ? ORDER BY seq, idx", (offering_id,))
    if not full:
        mine = set(p.parties())
        visible = []
        for r in rows:
            parties = {x[0] for x in read.execute("SELECT party FROM event_parties WHERE seq = ? AND idx = ?", (r[0], r[1]))}
            if not parties or parties & mine:
                visible.append(r)
        rows = visible
    return {
        "offering_id": offering_id,
        "scope": "full" if full else "public and your own",
        "events": _event_rows(rows, None if full else p),
    }


def issuers(read: SqlStore, p: Principal) -> list[dict[str, Any]]:
    rows = read.execute(
        "SELECT issuer_id, MIN(seq), MAX(seq), COUNT(*) FROM events WHERE issuer_id IS NOT NULL GROUP BY issuer_id ORDER BY issuer_id"
    )
    out = []
    for iid, first, last, n in rows:
        if not p.can_read_issuer(iid):
            continue
        latest = read.one("SELECT type FROM events WHERE issuer_id = ? ORDER BY seq DESC, idx DESC LIMIT 1", (iid,))
        out.append({"issuer_id": iid, "first_seq": first, "last_seq": last, "events": n, "last_event": latest[0] if latest else ""})
    return out


def issuer(read: SqlStore, p: Principal, issuer_id: str) -> dict[str, Any]:
    if not p.can_read_issuer(issuer_id):
        raise NotVisible("issuer_id", f"no issuer {issuer_id} visible to you")
    rows = read.execute("SELECT seq, idx, at_ns, type, body FROM events WHERE issuer_id = ? ORDER BY seq, idx", (issuer_id,))
    if not rows:
        raise NotVisible("issuer_id", f"no issuer {issuer_id} visible to you")
    return {"issuer_id": issuer_id, "events": _event_rows(rows)}


# -- offering results, allocations and stage: rows the projector derived once (readmodel.derived) --
def latest_event(read: SqlStore, offering_id: str, etype: str) -> dict[str, Any] | None:
    row = read.one("SELECT body FROM events WHERE offering_id = ? AND type = ? ORDER BY seq DESC, idx DESC LIMIT 1", (offering_id, etype))
    return None if row is None else json.loads(row[0])


def offering_stage(read: SqlStore, offering_id: str) -> str:
    row = read.one("SELECT stage FROM offering_stages WHERE offering_id = ?", (offering_id,))
    return "" if row is None else str(row[0])


def visible_offering(read: SqlStore, p: Principal, offering_id: str) -> bool:
    """True for full scope; False for the public part; `NotVisible` when the caller may not see it at all."""
    exists = read.one("SELECT 1 FROM offering_stages WHERE offering_id = ?", (offering_id,)) is not None
    full = p.can_read_offering(offering_id)
    if not exists or not (full or p.role in (Role.INVESTOR, Role.BROKER)):
        raise NotVisible("offering_id", f"no offering {offering_id} visible to you")
    return full


def offering_results(read: SqlStore, p: Principal, offering_id: str) -> dict[str, Any]:
    """Price, allotment summary (basis of allocation), settlement: public figures; placees only in full scope."""
    full = visible_offering(read, p, offering_id)
    allocated = latest_event(read, offering_id, "OfferingAllocated")
    out: dict[str, Any] = {
        "offering_id": offering_id,
        "stage": offering_stage(read, offering_id),
        "scope": "full" if full else "public and your own",
        "defined": latest_event(read, offering_id, "OfferingDefined") or {},
        "closed": latest_event(read, offering_id, "PublicOfferClosed"),
        "priced": latest_event(read, offering_id, "OfferPriceFixed"),
        "settled": latest_event(read, offering_id, "OfferingSettled"),
        "summary": None,
        "cornerstones": [],
        "placees": None,
    }
    if allocated is not None:
        out["summary"] = allocated["summary"]
        out["cornerstones"] = allocated["cornerstones"]
        if full:
            out["placees"] = [{"investor": i, "account": a, "shares": s} for i, a, s in allocated["placees"]]
    return out


def _allocated(read: SqlStore, offering_id: str) -> None:
    if offering_stage(read, offering_id) not in ALLOCATED_STAGES:
        raise NotVisible("offering_id", f"offering {offering_id} is not allocated yet")


def all_allocations(read: SqlStore, offering_id: str, account: str | None = None) -> list[dict[str, Any]]:
    """Every account's allocation of an allocated offering, or one account's (no tenancy: callers filter)."""
    _allocated(read, offering_id)
    where, args = ("offering_id = ?", [offering_id]) if account is None else ("offering_id = ? AND account = ?", [offering_id, account])
    rows = read.execute(f"SELECT {', '.join(ALLOCATION_COLUMNS)} FROM allocations WHERE {where} ORDER BY account", args)
    return [{c: (v if c == "account" else int(v)) for c, v in zip(ALLOCATION_COLUMNS, r, strict=True)} for r in rows]


def allocations_for(read: SqlStore, p: Principal, offering_id: str) -> dict[str, Any]:
    """The caller's view: all accounts in full scope, its own accounts otherwise."""
    full = visible_offering(read, p, offering_id)
    rows = all_allocations(read, offering_id)
    if not full:
        rows = [r for r in rows if p.can_read_account(r["account"])]
    return {"offering_id": offering_id, "scope": "full" if full else "your accounts", "allocations": rows}


def announcement_markdown(read: SqlStore, offering_id: str) -> str:
    _allocated(read, offering_id)
    row = read.one("SELECT markdown FROM announcements WHERE offering_id = ?", (offering_id,))
    if row is None:
        raise NotVisible("offering_id", f"offering {offering_id} has no allotment results announcement")
    return str(row[0])


def full_scope_stage(read: SqlStore, p: Principal, offering_id: str) -> str:
    """The stage of an offering the caller sees in full scope (its sponsor or issuer, operators,
    regulators: the allocation preview's audience, as for the comparison); anyone else gets "not
    visible", like an unknown offering."""
    if not visible_offering(read, p, offering_id):
        raise NotVisible("offering_id", f"no offering {offering_id} visible to you")
    return offering_stage(read, offering_id)


def offering_comparison(read: SqlStore, p: Principal, offering_id: str) -> dict[str, Any]:
    """The mechanism comparison the projector derived when the offering was allocated
    (`readmodel.derived.comparison_of`): in full scope only (the offering's sponsor or issuer, operators,
    regulators: it shows the placing's concentration); anyone else gets "not visible", like an unknown offering."""
    if not visible_offering(read, p, offering_id):
        raise NotVisible("offering_id", f"no offering {offering_id} visible to you")
    _allocated(read, offering_id)
    row = read.one("SELECT body FROM offering_comparisons WHERE offering_id = ?", (offering_id,))
    if row is None:
        raise NotVisible("offering_id", f"offering {offering_id} has no mechanism comparison")
    return json.loads(row[0])


def issuer_profile(read: SqlStore, p: Principal, issuer_id: str) -> tuple[str, str, str, str | None]:
    """``(profile JSON, assessed_on, route, filed_on)`` of a submitted issuer the caller may read."""
    row = (
        read.one("SELECT profile, assessed_on, route, filed_on FROM issuer_profiles WHERE issuer_id = ?", (issuer_id,))
        if p.can_read_issuer(issuer_id)
        else None
    )
    if row is None:
        raise NotVisible("issuer_id", f"no issuer {issuer_id} visible to you")
    return str(row[0]), str(row[1]), str(row[2]), (None if row[3] is None else str(row[3]))


def projected_seq(store: SqlStore) -> int:
    """The last sequence number the read models hold (the projector saves it in the same
    transaction as the rows, so inside a read transaction it is consistent with them)."""
    row = store.one("SELECT value FROM rm_meta WHERE key = 'projected_seq'")
    return int(row[0]) if row else 0


__all__ = [
    "accounts",
    "all_allocations",
    "allocations_for",
    "announcement_markdown",
    "bars",
    "consistent_snapshot",
    "depth",
    "events",
    "full_scope_stage",
    "holdings",
    "instruments",
    "issuer",
    "issuer_profile",
    "issuers",
    "latest_event",
    "offering",
    "offering_comparison",
    "offering_results",
    "offering_stage",
    "offerings",
    "order_for",
    "orders",
    "projected_seq",
    "positions",
    "redact",
    "short_selling",
    "trades",
    "visible_offering",
]
