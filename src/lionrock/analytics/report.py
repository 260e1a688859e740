"""The run report: one self-contained HTML file (plotly's bundled JavaScript inlined, no network)."""

from __future__ import annotations

import html
from collections import defaultdict
from datetime import datetime, timedelta

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from lionrock.analytics.model import DualCounter, OfferingRow, RunData
from lionrock.kernel.money import Currency, format_minor
from lionrock.kernel.price import format_price

SECTIONS = [
    ("pipeline", "Listing pipeline and eligibility"),
    ("ipos", "IPO outcomes"),
    ("allocation", "Basis of allocation"),
    ("returns", "First-day and 20-day returns"),
    ("repricing", "Valuation re-pricing"),
    ("sectors", "Capital raised by AI sub-sector"),
    ("origins", "Who bought: allocations and secondary flows by investor origin"),
    ("southbound", "Stock Connect southbound quota"),
    ("dual", "Dual counters: HKD and RMB"),
    ("intraday", "Intraday prices and depth"),
]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2733;background:#f6f7f9}
header{background:#0b3d2e;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;opacity:.85;font-size:13px}nav{padding:8px 28px;background:#fff;border-bottom:1px solid #dde}
nav a{margin-right:14px;color:#0b3d2e;font-size:13px}section{background:#fff;margin:16px 28px;padding:14px 20px;
border-radius:6px;box-shadow:0 1px 2px rgba(0,0,0,.06)}h2{font-size:17px;margin:4px 0 10px}
table{border-collapse:collapse;font-size:12.5px;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #eee;
text-align:right}th{background:#f0f3f5}td.l,th.l{text-align:left}.ok{color:#0a7d32}.no{color:#b3261e}
.empty{color:#888;font-style:italic}details{margin:6px 0}summary{cursor:pointer;font-weight:600}
.kpis{display:flex;gap:22px;flex-wrap:wrap}.kpi b{display:block;font-size:20px}
"""


def _pct(x: float) -> str:
    return f"{x:.2f}%"


def _hkd_bn(minor: int) -> str:
    return f"{minor / 100 / 1e9:,.2f}"


def _fig_html(fig: go.Figure, height: int = 360) -> str:
    fig.update_layout(height=height, margin={"l": 50, "r": 20, "t": 40, "b": 40}, template="plotly_white")
    return str(fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False}))


def _table(headers: list[str], rows: list[list[str]], left: int = 1) -> str:
    if not rows:
        return '<p class="empty">none in this run</p>'
    head = "".join(f'<th class="{"l" if i < left else ""}">{html.escape(h)}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(r)) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pipeline(data: RunData) -> str:
    rows = []
    for row in data.issuers.values():
        status = '<span class="ok">eligible</span>' if row.eligible else '<span class="no">not eligible</span>'
        reasons = "<br>".join(html.escape(r) for r in row.reasons[:6])
        rows.append([
            html.escape(row.name), html.escape(row.sub_sector), status, html.escape(", ".join(row.routes_open) or "none"),
            html.escape(row.stage), row.filed_on, row.listed_on or "-", f'<div style="text-align:left">{reasons}</div>',
        ])
    stages = ["filed", "eligible", "priced", "listed"]
    counts = [
        sum(1 for r in data.issuers.values() if r.filed_on),
        sum(1 for r in data.issuers.values() if r.eligible),
        sum(1 for o in data.offerings.values() if o.offer_price),
        sum(1 for o in data.offerings.values() if o.listed_on),
    ]
    fig = go.Figure(go.Funnel(y=stages, x=counts, textinfo="value"))
    fig.update_layout(title="Issuers through the pipeline")
    return _fig_html(fig, 280) + _table(
        ["issuer", "sub-sector", "eligibility", "routes open", "stage", "filed", "listed", "reasons (rule, figures)"], rows, left=5
    )


def _price_pos(o: OfferingRow) -> str:
    if not o.offer_price:
        return "-"
    if o.offer_price < o.price_low:
        return "below range"
    if o.offer_price == o.price_high:
        return "top"
    if o.offer_price == o.price_low:
        return "bottom"
    return "within"


def _ipos(data: RunData) -> str:
    offs = list(data.offerings.values())
    rows = [
        [
            html.escape(o.name), o.instrument, html.escape(o.regime),
            f"{format_price(o.price_low)}–{format_price(o.price_high)}", format_price(o.offer_price) if o.offer_price else "-",
            _price_pos(o), f"{o.institutional_coverage:.1f}x", f"{o.public_multiple:.1f}x", _pct(o.public_initial_pct),
            _pct(o.public_final_pct), html.escape(o.clawback), _pct(o.one_lot_success_pct), f"{o.applications:,}",
            _hkd_bn(o.gross_proceeds_minor), str(o.seed),
        ]
        for o in offs
    ]
    fig = go.Figure(go.Bar(x=[o.name for o in offs], y=[max(o.public_multiple, 0.01) for o in offs], name="public offer"))
    fig.add_bar(x=[o.name for o in offs], y=[max(o.institutional_coverage, 0.01) for o in offs], name="placing (book)")
    fig.update_layout(title="Subscription levels (times, log scale)", yaxis_type="log", barmode="group")
    return _fig_html(fig) + _table(
        ["offering", "code", "regime", "range", "price", "in range", "book cover", "public x", "public initial",
         "public final", "clawback", "one-lot success", "applications", "gross HK$bn", "ballot seed"],
        rows, left=3,
    )


def _allocation(data: RunData) -> str:
    parts = []
    for o in data.offerings.values():
        rows = [[html.escape(b.pool), html.escape(b.band), f"{b.applications:,}", html.escape(b.basis), b.allotted_pct] for b in o.bands]
        parts.append(f"<details><summary>{html.escape(o.name)} ({o.instrument}): {len(o.bands)} bands, seed {o.seed}</summary>"
                     + _table(["pool", "shares applied for", "valid applications", "basis of allocation", "approx. % allotted"], rows, left=2)
                     + "</details>")
    return "".join(parts) or '<p class="empty">no offering was allotted</p>'


def _returns(data: RunData, horizon: int) -> str:
    """First-day and day-``horizon`` closes against the offer price."""
    out: dict[str, tuple[float, float | None]] = {}
    for o in data.offerings.values():
        tape = data.tapes.get(o.instrument)
        if not tape or not tape.bars or not o.offer_price:
            continue
        first = (tape.bars[0].close / o.offer_price - 1) * 100
        later = (tape.bars[horizon - 1].close / o.offer_price - 1) * 100 if len(tape.bars) >= horizon else None
        out[o.name] = (first, later)
    names = list(out)
    fig = go.Figure()
    fig.add_bar(x=names, y=[out[n][0] for n in names], name="first day")
    fig.add_bar(x=names, y=[out[n][1] for n in names], name=f"day {horizon}")
    fig.update_layout(title="Return on the offer price (%)", barmode="group")
    rows = [[html.escape(n), f"{a:+.1f}%", f"{b:+.1f}%" if b is not None else "-"] for n, (a, b) in out.items()]
    return _fig_html(fig) + _table(["stock", "first-day return", f"day-{horizon} return"], rows)


def _repricing(data: RunData, horizon: int) -> str:
    names, private, ipo, market = [], [], [], []
    rows = []
    for o in data.offerings.values():
        issuer = data.issuers.get(o.issuer_id)
        tape = data.tapes.get(o.instrument)
        if issuer is None or not o.market_cap_minor:
            continue
        bar = tape.bars[horizon - 1] if tape and len(tape.bars) >= horizon else None
        last_cap = bar.close * tape.shares_outstanding // 10 if bar and tape and tape.shares_outstanding else 0
        names.append(o.name)
        private.append(issuer.last_round_post_money_minor / 100 / 1e9)
        ipo.append(o.market_cap_minor / 100 / 1e9)
        market.append(last_cap / 100 / 1e9 if last_cap else None)
        step = (o.market_cap_minor / issuer.last_round_post_money_minor - 1) * 100 if issuer.last_round_post_money_minor else 0.0
        rows.append([html.escape(o.name), html.escape(issuer.last_round_name), _hkd_bn(issuer.last_round_post_money_minor),
                     _hkd_bn(o.market_cap_minor), f"{step:+.1f}%", _hkd_bn(last_cap) if last_cap else "-"])
    fig = go.Figure()
    for label, ys in (("last private round (post-money)", private), ("IPO market cap", ipo), (f"market cap, day {horizon}", market)):
        fig.add_bar(x=names, y=ys, name=label)
    fig.update_layout(title="Valuation re-pricing (HK$bn)", barmode="group")
    return _fig_html(fig) + _table(["company", "last round", "post-money HK$bn", "IPO cap HK$bn", "IPO vs round", f"day-{horizon} cap HK$bn"], rows)


def _sectors(data: RunData) -> str:
    raised: dict[str, int] = defaultdict(int)
    for o in data.offerings.values():
        raised[o.sub_sector or "other"] += o.gross_proceeds_minor
    fig = go.Figure(go.Bar(x=list(raised), y=[v / 100 / 1e9 for v in raised.values()]))
    fig.update_layout(title="Gross proceeds by AI sub-sector (HK$bn)")
    rows = [[html.escape(k), _hkd_bn(v)] for k, v in sorted(raised.items(), key=lambda kv: -kv[1])]
    return _fig_html(fig, 300) + _table(["sub-sector", "raised HK$bn"], rows)


def _origins(data: RunData) -> str:
    origins = sorted({k for o in data.offerings.values() for k in o.allocation_by_origin})
    fig = go.Figure()
    names = [o.name for o in data.offerings.values()]
    for origin in origins:
        fig.add_bar(x=names, y=[o.allocation_by_origin.get(origin, 0) * o.offer_price / 1000 / 1e9 for o in data.offerings.values()], name=origin)
    fig.update_layout(title="IPO allocations by investor origin (HK$bn at the offer price)", barmode="stack")
    flow_origins = sorted({k for f in data.flows_by_origin.values() for k in f})
    fig2 = go.Figure()
    instruments = list(data.flows_by_origin)
    labels = [data.tapes[i].name if i in data.tapes else i for i in instruments]
    for origin in flow_origins:
        fig2.add_bar(x=labels, y=[data.flows_by_origin[i].get(origin, 0) / 100 / 1e6 for i in instruments], name=origin)
    fig2.update_layout(title="Secondary-market net buying by investor origin (HK$m)", barmode="relative")
    return _fig_html(fig) + _fig_html(fig2)


def _southbound(data: RunData) -> str:
    if not data.southbound:
        return '<p class="empty">no southbound trading in this run (no stock became eligible)</p>'
    fig = go.Figure()
    for link in sorted({s[1] for s in data.southbound}):
        pts = [s for s in data.southbound if s[1] == link]
        fig.add_scatter(x=[p[0] for p in pts], y=[p[2] / 100 / 1e9 for p in pts], name=f"{link} quota used (RMB bn)", mode="lines+markers")
    fig.update_layout(title="Southbound daily quota used")
    rows = [[d, link, format_minor(used), f"{used / quota * 100:.3f}%" if quota else "-"] for d, link, used, quota in data.southbound]
    return _fig_html(fig, 300) + f"<details><summary>daily figures</summary>{_table(['day', 'link', 'used (RMB)', 'of quota'], rows, left=2)}</details>"


def _counter_rows(data: RunData, dual: DualCounter) -> list[list[str]]:
    """Volume and turnover of each counter; turnover also in HKD at each day's recorded rate."""
    rows = []
    tapes = [data.tapes.get(dual.hkd_counter), data.tapes.get(dual.rmb_counter)]
    total = sum(b.volume for t in tapes if t for b in t.bars) or 1
    for tape in tapes:
        if tape is None:
            continue
        turnover = sum(b.turnover_minor for b in tape.bars)
        hkd = sum(_in_hkd(data, b.turnover_minor, tape.currency, b.day) for b in tape.bars)
        volume = sum(b.volume for b in tape.bars)
        rows.append([tape.instrument, tape.currency, str(sum(1 for b in tape.bars if b.volume)), f"{volume:,}",
                     f"{volume / total * 100:.1f}%", format_minor(turnover, Currency(tape.currency)), format_minor(hkd)])
    return rows


def _in_hkd(data: RunData, minor: int, currency: str, day: str) -> int:
    if currency == "HKD":
        return minor
    rate = data.cny_hkd.get(day) if currency == "CNY" else None
    return minor * rate[0] // rate[1] if rate else 0


def _premium(data: RunData, dual: DualCounter) -> list[tuple[str, float]]:
    """(day, % premium of the RMB close × the day's CNY/HKD rate over the HKD close), on days
    both counters traded."""
    hkd, rmb = data.tapes.get(dual.hkd_counter), data.tapes.get(dual.rmb_counter)
    if hkd is None or rmb is None:
        return []
    closes = {b.day: b.close for b in hkd.bars if b.volume}
    out = []
    for bar in rmb.bars:
        rate = data.cny_hkd.get(bar.day)
        if bar.volume and rate and closes.get(bar.day):
            out.append((bar.day, (bar.close * rate[0] / rate[1] / closes[bar.day] - 1) * 100))
    return out


def _transfer_rows(dual: DualCounter) -> list[list[str]]:
    by: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for _, kind, direction, qty in dual.transfers:
        by[(kind, direction)][0] += 1
        by[(kind, direction)][1] += qty
    return [[html.escape(kind), direction.replace("->", " → "), f"{n:,}", f"{q:,}"] for (kind, direction), (n, q) in sorted(by.items())]


def _dual(data: RunData) -> str:
    parts = []
    for dual in data.dual_counters.values():
        hkd, rmb = data.tapes.get(dual.hkd_counter), data.tapes.get(dual.rmb_counter)
        if hkd is None or rmb is None:
            continue
        volume = go.Figure()
        for tape in (hkd, rmb):
            volume.add_bar(x=[b.day for b in tape.bars], y=[b.volume for b in tape.bars], name=f"{tape.instrument} ({tape.currency})")
        volume.update_layout(title="Daily volume by counter (shares)", barmode="group")
        points = _premium(data, dual)
        premium = go.Figure()
        premium.add_scatter(x=[d for d, _ in points], y=[p for _, p in points], mode="lines+markers", name="RMB counter premium")
        premium.update_layout(title="RMB counter close × CNY/HKD rate of the day vs HKD close (premium + / discount −, %)")
        moved = {d: sum(t[3] for t in dual.transfers if t[2] == d) for d in ("HKD->CNY", "CNY->HKD")}
        summary = (f"<p>{html.escape(hkd.name)}: HKD counter {dual.hkd_counter}, RMB counter {dual.rmb_counter} (one share class; "
                   f"clearing holds one position per security). RMB-counter trades cleared in CNY: {dual.cleared_cny_trades:,} "
                   f"(RMB {format_minor(dual.cleared_cny_minor, Currency.CNY)}). Inter-counter transfers: {len(dual.transfers):,}; "
                   f"{moved['HKD->CNY']:,} shares to the RMB counter, {moved['CNY->HKD']:,} back.</p>")
        parts.append(
            f"<h3>{html.escape(hkd.name)}</h3>" + summary
            + _table(["counter", "currency", "days traded", "volume", "share of volume", "turnover", "turnover HK$"], _counter_rows(data, dual), left=2)
            + _fig_html(volume, 300) + _fig_html(premium, 300)
            + "<h4>Inter-counter transfers</h4>" + _table(["account kind", "direction", "transfers", "shares"], _transfer_rows(dual), left=2)
        )
    return "".join(parts) or '<p class="empty">no dual-counter stock in this run</p>'


def _intraday(data: RunData) -> str:
    parts = []
    for tape in data.tapes.values():
        if not tape.first_day_prices and not tape.bars:
            continue
        fig = go.Figure()
        if tape.first_day_prices:
            base = datetime(2000, 1, 1, 9, 0)
            fig.add_scatter(x=[(base + timedelta(seconds=s)).strftime("%H:%M:%S") for s, _ in tape.first_day_prices],
                            y=[p / 1000 for _, p in tape.first_day_prices], mode="lines", name="trades")
        fig.update_layout(title=f"{tape.name} ({tape.instrument}): first-day trades")
        depth = go.Figure()
        if tape.close_depth:
            depth.add_bar(x=[p / 1000 for p, _, _ in tape.close_depth], y=[b for _, b, _ in tape.close_depth], name="bids")
            depth.add_bar(x=[p / 1000 for p, _, _ in tape.close_depth], y=[a for _, _, a in tape.close_depth], name="asks")
        depth.update_layout(title="Depth at the end of continuous trading on the first day (shares by price)", barmode="overlay")
        candles = go.Figure(go.Candlestick(x=[b.day for b in tape.bars], open=[b.open / 1000 for b in tape.bars],
                                           high=[b.high / 1000 for b in tape.bars], low=[b.low / 1000 for b in tape.bars],
                                           close=[b.close / 1000 for b in tape.bars]))
        candles.update_layout(title="Daily bars", xaxis_rangeslider_visible=False)
        parts.append(f"<h3>{html.escape(tape.name)}</h3>" + _fig_html(fig, 300) + _fig_html(depth, 260) + _fig_html(candles, 300))
    return "".join(parts) or '<p class="empty">no trading in this run</p>'


def render_report(data: RunData, horizon: int = 20) -> str:
    """The whole report as one HTML string; ``horizon`` is the later return's trading day."""
    bodies = {
        "pipeline": _pipeline(data),
        "ipos": _ipos(data),
        "allocation": _allocation(data),
        "returns": _returns(data, horizon),
        "repricing": _repricing(data, horizon),
        "sectors": _sectors(data),
        "origins": _origins(data),
        "southbound": _southbound(data),
        "dual": _dual(data),
        "intraday": _intraday(data),
    }
    raised = sum(o.gross_proceeds_minor for o in data.offerings.values())
    kpis = (
        f'<div class="kpis"><div class="kpi"><b>{len(data.issuers)}</b>issuers</div>'
        f'<div class="kpi"><b>{sum(1 for o in data.offerings.values() if o.listed_on)}</b>listed</div>'
        f'<div class="kpi"><b>HK${_hkd_bn(raised)}bn</b>raised</div>'
        f'<div class="kpi"><b>{data.commands:,}</b>commands</div><div class="kpi"><b>{data.events:,}</b>events</div>'
        f'<div class="kpi"><b>{data.rejections:,}</b>rejections</div>'
        f'<div class="kpi"><b>{data.settlement_failures:,}</b>settlement failures</div>'
        f'<div class="kpi"><b>HK${format_minor(sum(data.fees_collected_minor.values()))}</b>fees, levies and duty</div></div>'
    )
    nav = "".join(f'<a href="#{k}">{html.escape(t)}</a>' for k, t in SECTIONS)
    sections = "".join(f'<section id="{k}"><h2>{html.escape(t)}</h2>{bodies[k]}</section>' for k, t in SECTIONS)
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Lion Rock: {html.escape(data.title or data.scenario)}</title><style>{_CSS}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>"
        f"<header><h1>Lion Rock: {html.escape(data.title or data.scenario)}</h1>"
        f"<p>scenario {html.escape(data.scenario)} · scale {html.escape(data.scale)} · seed {data.seed}</p>"
        f"<p>state hash {data.state_hash}</p></header><nav>{nav}</nav>"
        f"<section id=\"summary\"><h2>Summary</h2>{kpis}</section>{sections}</body></html>"
    )


__all__ = ["SECTIONS", "render_report"]
