"""The run report: one self-contained HTML file (plotly's bundled JavaScript inlined, no network)."""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from lionrock.analytics.compare_chart import comparison_html
from lionrock.analytics.figures import (
    benchmarked_returns,
    funnel_counts,
    lockup_calendar,
    log_ticks,
    money_unit,
    peer_index,
    repricing,
)
from lionrock.analytics.model import DualCounter, OfferingRow, RunData
from lionrock.kernel.money import Currency, format_minor
from lionrock.kernel.price import format_price
from lionrock.offering.compare import Comparison

SECTIONS = [
    ("pipeline", "Listing pipeline and eligibility"),
    ("timeline", "Listing timeline and lock-up expiries"),
    ("ipos", "IPO outcomes"),
    ("allocation", "Basis of allocation"),
    ("returns", "First-day and later returns, against the peer index"),
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
p.note{font-size:12.5px;color:#445;max-width:1100px}.scroll{overflow-x:auto}
"""


def _pct(x: float) -> str:
    return f"{x:.2f}%"


def _hkd_bn(minor: int) -> str:
    return f"{minor / 100 / 1e9:,.2f}"


def _input(data: RunData, instrument: str, key: str) -> str:
    """A scenario input for a listing, as written in the scenario file, or "-"."""
    return html.escape(data.scenario_inputs.get(instrument, {}).get(key, "-"))


def _fig_html(fig: go.Figure, height: int = 360) -> str:
    fig.update_layout(height=height, margin={"l": 50, "r": 20, "t": 40, "b": 40}, template="plotly_white")
    return str(fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False}))


def _table(headers: list[str], rows: list[list[str]], left: int = 1) -> str:
    if not rows:
        return '<p class="empty">none in this run</p>'
    head = "".join(f'<th class="{"l" if i < left else ""}">{html.escape(h)}</th>' for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _pipeline(data: RunData) -> str:
    rows = []
    for row in data.issuers.values():
        status = '<span class="ok">eligible</span>' if row.eligible else '<span class="no">not eligible</span>'
        reasons = "<br>".join(html.escape(r) for r in row.reasons[:6])
        rows.append(
            [
                html.escape(row.name),
                html.escape(row.sub_sector),
                status,
                html.escape(", ".join(row.routes_open) or "none"),
                html.escape(row.stage),
                row.filed_on,
                row.listed_on or "-",
                f'<div style="text-align:left">{reasons}</div>',
            ]
        )
    funnel = funnel_counts(data)
    fig = go.Figure(go.Funnel(y=[stage for stage, _ in funnel], x=[n for _, n in funnel], textinfo="value"))
    fig.update_layout(
        title=f"Issuers through the pipeline ({len(data.issuers)} assessed; an issuer with no open route stops at 'assessed')"
    )
    return _fig_html(fig, 280) + _table(
        ["issuer", "sub-sector", "eligibility", "routes open", "stage", "filed", "listed", "reasons (rule, figures)"], rows, left=5
    )


PHASES = {
    "application_filed": "filed, awaiting vetting",
    "tech_engaged": "TECH channel",
    "vetting": "vetting",
    "hearing_passed": "hearing passed, awaiting launch",
    "launched": "launched",
    "bookbuilding": "bookbuilding and public offer",
    "priced": "priced, awaiting allotment",
    "allotted": "allotted, awaiting dealings",
}
"""The phase an issuer is in after each state it enters (the Gantt's segments)."""


def _gantt(data: RunData) -> go.Figure:
    """One bar per issuer from filing to listing, a segment per phase (dates from the events)."""
    from datetime import date

    fig = go.Figure()
    seen: set[str] = set()
    palette = ["#8da0cb", "#66c2a5", "#fc8d62", "#e78ac3", "#a6d854", "#ffd92f", "#e5c494", "#b3b3b3"]
    colours = {phase: palette[i % len(palette)] for i, phase in enumerate(PHASES.values())}
    for row in data.issuers.values():
        steps = row.milestones
        for (state, start), (_, end) in zip(steps, steps[1:], strict=False):
            phase = PHASES.get(state, state.replace("_", " "))
            days = (date.fromisoformat(end) - date.fromisoformat(start)).days
            fig.add_bar(
                y=[row.name],
                x=[days * 86_400_000],
                base=[start],
                orientation="h",
                name=phase,
                marker_color=colours.get(phase, "#999"),
                legendgroup=phase,
                showlegend=phase not in seen,
                hovertemplate=f"{html.escape(row.name)}<br>{phase}: {start} to {end} ({days} days)<extra></extra>",
            )
            seen.add(phase)
    fig.update_layout(
        title="From filing to listing (one bar per issuer, one segment per phase)",
        barmode="stack",
        xaxis={"type": "date"},
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


def _timeline(data: RunData) -> str:
    rows = []
    for row in data.issuers.values():
        dates = dict(row.milestones)
        elapsed = ""
        if row.filed_on and row.listed_on:
            from datetime import date

            elapsed = f"{(date.fromisoformat(row.listed_on) - date.fromisoformat(row.filed_on)).days:,}"
        rows.append(
            [
                html.escape(row.name),
                row.filed_on or "-",
                dates.get("hearing_passed", "-"),
                dates.get("launched", "-"),
                dates.get("priced", "-"),
                row.listed_on or "-",
                elapsed or "-",
            ]
        )
    lockups = lockup_calendar(data)
    lock_rows = [
        [
            r.ends_on,
            html.escape(r.name),
            r.instrument,
            f"{r.investors:,}",
            f"{r.shares:,}",
            f"{float(r.share_of_issue) * 100:.2f}%",
            f"HK${format_minor(r.value_minor)}",
        ]
        for r in lockups
    ]
    calendar = go.Figure(
        go.Bar(
            x=[r.ends_on for r in lockups],
            y=[float(r.share_of_issue) * 100 for r in lockups],
            text=[r.instrument for r in lockups],
            customdata=[r.name for r in lockups],
            hovertemplate="%{x}: %{customdata}, %{y:.2f}% of shares in issue<extra></extra>",
        )
    )
    calendar.update_layout(
        title="Cornerstone lock-up expiries (shares released, % of the stock's shares in issue)",
        yaxis_ticksuffix="%",
        xaxis={"type": "date"},
    )
    note = (
        '<p class="note">Cornerstone investors may not dispose of their shares for six months after listing (HKEX Guide '
        "for New Listing Applicants, chapter 4.15); controlling shareholders are also locked up (Listing Rules 10.07: six "
        "months, and six more without giving up control), not shown here because the issuer profiles do not name their "
        "holdings. Value at the last simulated close.</p>"
    )
    return (
        _fig_html(_gantt(data), 80 + 40 * max(len(data.issuers), 1))
        + _table(["issuer", "filed", "hearing passed", "launched", "priced", "listed", "days filing to listing"], rows)
        + "<h3>Lock-up expiry calendar</h3>"
        + (_fig_html(calendar, 280) if lockups else "")
        + _table(["lock-up ends", "stock", "code", "cornerstones", "shares", "of shares in issue", "value"], lock_rows, left=3)
        + note
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
            html.escape(o.name),
            o.instrument,
            html.escape(o.regime),
            f"{format_price(o.price_low)}–{format_price(o.price_high)}",
            format_price(o.offer_price) if o.offer_price else "-",
            _price_pos(o),
            f"{o.institutional_coverage:.1f}x",
            f"{o.public_multiple:.1f}x",
            _pct(o.public_initial_pct),
            _pct(o.public_final_pct),
            html.escape(o.clawback),
            _pct(o.one_lot_success_pct),
            f"{o.applications:,}",
            _hkd_bn(o.gross_proceeds_minor),
            str(o.seed),
            _input(data, o.instrument, "institutional_heat"),
            _input(data, o.instrument, "retail_heat"),
        ]
        for o in offs
    ]
    public = [max(o.public_multiple, 0.01) for o in offs]
    book = [max(o.institutional_coverage, 0.01) for o in offs]
    fig = go.Figure(go.Bar(x=[o.name for o in offs], y=public, name="public offer"))
    fig.add_bar(x=[o.name for o in offs], y=book, name="placing (book)")
    values, labels = log_ticks(min(public + book, default=1), max(public + book, default=1))
    fig.update_layout(
        title="Subscription levels (times subscribed, log scale; 1× = fully covered)",
        barmode="group",
        yaxis={"type": "log", "tickvals": values, "ticktext": labels},
    )
    return (
        _fig_html(fig)
        + _table(
            [
                "offering",
                "code",
                "regime",
                "range (HK$)",
                "price (HK$)",
                "in range",
                "book cover",
                "public x",
                "public initial",
                "public final",
                "clawback",
                "one-lot success",
                "applications",
                "gross HK$bn",
                "ballot seed",
                "scenario: institutional heat",
                "scenario: retail heat",
            ],
            rows,
            left=3,
        )
        + (
            '<p class="note">The last two columns are inputs of the scenario, not outcomes: they set how hot the '
            "institutional book and the retail public offer run (multiples of the simulated investors' base demand).</p>"
        )
    )


def _allocation(data: RunData, comparisons: Mapping[str, Comparison]) -> str:
    """Each offering's basis of allocation and, where the run computed it, the same book under every
    mechanism the deal could choose (`offering.compare`, the chart of `analytics.compare_chart`)."""
    parts = []
    for o in data.offerings.values():
        rows = [[html.escape(b.pool), html.escape(b.band), f"{b.applications:,}", html.escape(b.basis), b.allotted_pct] for b in o.bands]
        compared = comparisons.get(o.offering_id)
        parts.append(
            f"<details><summary>{html.escape(o.name)} ({o.instrument}): {len(o.bands)} bands, seed {o.seed}</summary>"
            + _table(["pool", "shares applied for", "valid applications", "basis of allocation", "approx. % allotted"], rows, left=2)
            + (comparison_html(compared, height=380) if compared is not None else "")
            + "</details>"
        )
    return "".join(parts) or '<p class="empty">no offering was allotted</p>'


def _returns(data: RunData, horizon: int) -> str:
    """First-day and day-``horizon`` closes against the offer price, the peer index over the same
    span, and the scenario's first-day pop input beside the first-day outcome."""
    results = benchmarked_returns(data, horizon)
    names = [r.name for r in results]
    fig = go.Figure()
    fig.add_bar(x=names, y=[r.first_day for r in results], name="first day")
    fig.add_bar(x=names, y=[r.later for r in results], name=f"day {horizon}")
    fig.add_bar(x=names, y=[r.benchmark for r in results], name=f"peer index, listing to day {horizon}")
    fig.add_scatter(
        x=names,
        y=[_pop_pct(data, r.instrument) for r in results],
        mode="markers",
        name="scenario pop (input)",
        marker={"symbol": "diamond", "size": 11, "color": "#222"},
    )
    fig.update_layout(title="Return on the offer price, against the peer index (%)", barmode="group", yaxis_ticksuffix="%")
    rows = [
        [
            html.escape(r.name),
            _input(data, r.instrument, "pop"),
            f"{r.first_day:+.1f}%",
            f"{r.later:+.1f}%" if r.later is not None else "-",
            f"{r.benchmark:+.1f}%" if r.benchmark is not None else "-",
            f"{r.excess:+.1f} pp" if r.excess is not None else "-",
        ]
        for r in results
    ]
    index = peer_index(data)
    chart = go.Figure(go.Scatter(x=list(index), y=list(index.values()), mode="lines", name="peer index"))
    chart.update_layout(title="Peer index of the simulated listings (equal-weighted, 100 on the first trading day)")
    note = (
        '<p class="note">The simulator has no traded market index (the Hang Seng Composite constituents it sets up carry '
        "market caps for southbound scope, not prices), so the benchmark is computed from the simulated stocks: an "
        "equal-weighted, chain-linked index of the other listings' HKD counters (a stock joins the day after its first "
        f"close, so first-day pops are not in it). Excess = day-{horizon} return minus the index over the same span, in "
        "percentage points. The scenario pop is the first-day premium the scenario asks the simulated crowd to expect: "
        "an input, shown beside the outcome it drives.</p>"
    )
    return (
        _fig_html(fig)
        + _table(["stock", "scenario pop (input)", "first-day return", f"day-{horizon} return", "peer index, same span", "excess"], rows)
        + note
        + _fig_html(chart, 260)
    )


def _pop_pct(data: RunData, instrument: str) -> float | None:
    text = data.scenario_inputs.get(instrument, {}).get("pop", "")
    try:
        return float(text[:-1]) if text.endswith("%") else float(text) * 100 if text else None
    except ValueError:
        return None


def _repricing(data: RunData, horizon: int) -> str:
    """Per share: the IPO's pre-money valuation against the last round's post-money valuation."""
    names, per_share, rows = [], [], []
    for o in data.offerings.values():
        issuer = data.issuers.get(o.issuer_id)
        change = repricing(data, o)
        if issuer is None or change is None:
            continue
        tape = data.tapes.get(o.instrument)
        bar = tape.bars[horizon - 1] if tape and len(tape.bars) >= horizon else None
        last_cap = bar.close * tape.shares_outstanding // 10 if bar and tape and tape.shares_outstanding else 0
        names.append(o.name)
        per_share.append(float(change.per_share) * 100)
        rows.append(
            [
                html.escape(o.name),
                html.escape(issuer.last_round_name),
                _hkd_bn(change.last_round_post_money_minor),
                _hkd_bn(change.pre_money_minor),
                f"{float(change.per_share) * 100:+.1f}%",
                _hkd_bn(o.gross_proceeds_minor),
                _hkd_bn(change.market_cap_minor),
                f"{float(change.post_ipo_cap) * 100:+.1f}%",
                _hkd_bn(last_cap) if last_cap else "-",
            ]
        )
    fig = go.Figure(go.Bar(x=names, y=per_share, text=[f"{v:+.1f}%" for v in per_share], textposition="outside", name="per share"))
    fig.update_layout(
        title="IPO price per share against the last private round (pre-money IPO valuation vs last post-money, %)", yaxis_ticksuffix="%"
    )
    note = (
        '<p class="note">Re-pricing per share compares like with like: the last round\'s post-money valuation (the value '
        "of the shares in issue after that round) with the IPO's pre-money valuation (the offer price times the shares "
        'in issue before the new offer shares). The post-IPO market cap includes the new money, so "cap vs round" '
        "overstates an up-round; it is kept in the table for comparison. Assumes no shares were issued between the last "
        "round and the IPO and a wholly primary offering.</p>"
    )
    return (
        _fig_html(fig)
        + _table(
            [
                "company",
                "last round",
                "post-money HK$bn",
                "IPO pre-money HK$bn",
                "per share vs round",
                "new money HK$bn",
                "IPO cap HK$bn",
                "cap vs round",
                f"day-{horizon} cap HK$bn",
            ],
            rows,
        )
        + note
    )


def _sectors(data: RunData) -> str:
    raised: dict[str, int] = defaultdict(int)
    for o in data.offerings.values():
        raised[o.sub_sector or "other"] += o.gross_proceeds_minor
    total = sum(raised.values()) or 1
    ordered = sorted(raised.items(), key=lambda kv: -kv[1])
    fig = go.Figure(
        go.Bar(
            x=[k for k, _ in ordered],
            y=[v / total * 100 for _, v in ordered],
            text=[f"HK${_hkd_bn(v)}bn" for _, v in ordered],
            textposition="outside",
        )
    )
    fig.update_layout(title="Gross proceeds by AI sub-sector (share of the total raised, %; labels in HK$bn)", yaxis_ticksuffix="%")
    rows = [[html.escape(k), _hkd_bn(v), f"{v / total * 100:.1f}%"] for k, v in ordered]
    return _fig_html(fig, 300) + _table(["sub-sector", "raised HK$bn", "share of total"], rows)


def _origins(data: RunData) -> str:
    origins = sorted({k for o in data.offerings.values() for k in o.allocation_by_origin})
    fig = go.Figure()
    names = [o.name for o in data.offerings.values()]
    for origin in origins:
        fig.add_bar(x=names, y=[o.allocation_by_origin.get(origin, 0) for o in data.offerings.values()], name=origin)
    fig.update_layout(
        title="IPO allocations by investor origin (share of each deal's offer shares, %)",
        barmode="stack",
        barnorm="percent",
        yaxis_ticksuffix="%",
    )
    flow_origins = sorted({k for f in data.flows_by_origin.values() for k in f})
    fig2 = go.Figure()
    instruments = list(data.flows_by_origin)
    labels = [data.tapes[i].name if i in data.tapes else i for i in instruments]
    turnover = {
        i: sum(_in_hkd(data, b.turnover_minor, data.tapes[i].currency, b.day) for b in data.tapes[i].bars) if i in data.tapes else 0
        for i in instruments
    }  # flows are in HKD, so is the turnover they are shared of
    for origin in flow_origins:
        fig2.add_bar(
            x=labels, y=[data.flows_by_origin[i].get(origin, 0) / turnover[i] * 100 if turnover[i] else 0 for i in instruments], name=origin
        )
    fig2.update_layout(
        title="Secondary-market net buying by investor origin (% of the stock's turnover; + bought, − sold)",
        barmode="relative",
        yaxis_ticksuffix="%",
    )
    rows = [
        [html.escape(label), *(format_minor(data.flows_by_origin[i].get(origin, 0)) for origin in flow_origins)]
        for i, label in zip(instruments, labels, strict=True)
    ]
    table = _table(["stock", *(f"{origin} (HK$)" for origin in flow_origins)], rows)
    return _fig_html(fig) + _fig_html(fig2) + f"<details><summary>net buying in HK$ by origin</summary>{table}</details>"


def _southbound(data: RunData) -> str:
    if not data.southbound:
        return '<p class="empty">no southbound trading in this run (no stock became eligible)</p>'
    divisor, word = money_unit(max(s[2] for s in data.southbound))
    unit = f" {word}" if word else ""
    fig = go.Figure()
    for link in sorted({s[1] for s in data.southbound}):
        pts = [s for s in data.southbound if s[1] == link]
        fig.add_scatter(
            x=[p[0] for p in pts],
            y=[p[2] / divisor for p in pts],
            name=f"{link}",
            mode="lines+markers",
            customdata=[f"{p[2] / p[3] * 100:.4f}% of the daily quota" if p[3] else "" for p in pts],
            hovertemplate="%{x}: RMB %{y:,.2f}" + unit + " (%{customdata})<extra></extra>",
        )
    quota = data.southbound[0][3]
    fig.update_layout(
        title=f"Southbound daily quota used (RMB{unit}; the daily quota is RMB {_in_units(quota)} per link)",
        yaxis={"exponentformat": "none", "tickformat": ",.2f"},
    )
    rows = [
        [d, link, f"RMB {format_minor(used, Currency.CNY)}", f"{used / quota * 100:.4f}%" if quota else "-"]
        for d, link, used, quota in data.southbound
    ]
    return (
        _fig_html(fig, 300)
        + f"<details><summary>daily figures</summary>{_table(['day', 'link', 'used', 'of quota'], rows, left=2)}</details>"
    )


def _in_units(minor: int) -> str:
    """``4200000000000`` cents -> ``42bn``: an amount in the largest unit that keeps it whole-ish."""
    divisor, word = money_unit(minor)
    return f"{minor / divisor:,.4g}{word}"


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
        rows.append(
            [
                tape.instrument,
                tape.currency,
                str(sum(1 for b in tape.bars if b.volume)),
                f"{volume:,}",
                f"{volume / total * 100:.1f}%",
                format_minor(turnover, Currency(tape.currency)),
                format_minor(hkd),
            ]
        )
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
        summary = (
            f"<p>{html.escape(hkd.name)}: HKD counter {dual.hkd_counter}, RMB counter {dual.rmb_counter} (one share class; "
            f"clearing holds one position per security). RMB-counter trades cleared in CNY: {dual.cleared_cny_trades:,} "
            f"(RMB {format_minor(dual.cleared_cny_minor, Currency.CNY)}). Inter-counter transfers: {len(dual.transfers):,}; "
            f"{moved['HKD->CNY']:,} shares to the RMB counter, {moved['CNY->HKD']:,} back.</p>"
        )
        parts.append(
            f"<h3>{html.escape(hkd.name)}</h3>"
            + summary
            + _table(
                ["counter", "currency", "days traded", "volume", "share of volume", "turnover", "turnover HK$"],
                _counter_rows(data, dual),
                left=2,
            )
            + _fig_html(volume, 300)
            + _fig_html(premium, 300)
            + "<h4>Inter-counter transfers</h4>"
            + _table(["account kind", "direction", "transfers", "shares"], _transfer_rows(dual), left=2)
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
            fig.add_scatter(
                x=[(base + timedelta(seconds=s)).strftime("%H:%M:%S") for s, _ in tape.first_day_prices],
                y=[p / 1000 for _, p in tape.first_day_prices],
                mode="lines",
                name="trades",
            )
        fig.update_layout(title=f"{tape.name} ({tape.instrument}): first-day trades")
        depth = go.Figure()
        if tape.close_depth:
            depth.add_bar(x=[p / 1000 for p, _, _ in tape.close_depth], y=[b for _, b, _ in tape.close_depth], name="bids")
            depth.add_bar(x=[p / 1000 for p, _, _ in tape.close_depth], y=[a for _, _, a in tape.close_depth], name="asks")
        depth.update_layout(title="Depth at the end of continuous trading on the first day (shares by price)", barmode="overlay")
        candles = go.Figure(
            go.Candlestick(
                x=[b.day for b in tape.bars],
                open=[b.open / 1000 for b in tape.bars],
                high=[b.high / 1000 for b in tape.bars],
                low=[b.low / 1000 for b in tape.bars],
                close=[b.close / 1000 for b in tape.bars],
            )
        )
        candles.update_layout(title="Daily bars", xaxis_rangeslider_visible=False)
        parts.append(f"<h3>{html.escape(tape.name)}</h3>" + _fig_html(fig, 300) + _fig_html(depth, 260) + _fig_html(candles, 300))
    return "".join(parts) or '<p class="empty">no trading in this run</p>'


def render_report(data: RunData, horizon: int = 20, comparisons: Mapping[str, Comparison] | None = None) -> str:
    """The whole report as one HTML string; ``horizon`` is the later return's trading day;
    ``comparisons``: the mechanism comparison of each allocated offering, by offering id, if known."""
    bodies = {
        "pipeline": _pipeline(data),
        "timeline": _timeline(data),
        "ipos": _ipos(data),
        "allocation": _allocation(data, comparisons or {}),
        "returns": _returns(data, horizon),
        "repricing": _repricing(data, horizon),
        "sectors": _sectors(data),
        "origins": _origins(data),
        "southbound": _southbound(data),
        "dual": _dual(data),
        "intraday": _intraday(data),
    }
    raised = sum(o.gross_proceeds_minor for o in data.offerings.values())
    funnel = dict(funnel_counts(data))
    kpis = (
        f'<div class="kpis"><div class="kpi"><b>{funnel["assessed"]}</b>issuers assessed</div>'
        f'<div class="kpi"><b>{funnel["eligible"]}</b>eligible</div>'
        f'<div class="kpi"><b>{funnel["listed"]}</b>listed</div>'
        f'<div class="kpi"><b>HK${_hkd_bn(raised)}bn</b>raised</div>'
        f'<div class="kpi"><b>{data.commands:,}</b>commands</div><div class="kpi"><b>{data.events:,}</b>events</div>'
        f'<div class="kpi"><b>{data.rejections:,}</b>rejections</div>'
        f'<div class="kpi"><b>{data.settlement_failures:,}</b>settlement failures</div>'
        f'<div class="kpi"><b>HK${format_minor(sum(data.fees_collected_minor.values()))}</b>fees, levies and duty</div></div>'
    )
    nav = "".join(f'<a href="#{k}">{html.escape(t)}</a>' for k, t in SECTIONS)
    sections = "".join(f'<section id="{k}"><h2>{html.escape(t)}</h2>{bodies[k]}</section>' for k, t in SECTIONS)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Lion Rock: {html.escape(data.title or data.scenario)}</title><style>{_CSS}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>"
        f"<header><h1>Lion Rock: {html.escape(data.title or data.scenario)}</h1>"
        f"<p>scenario {html.escape(data.scenario)} · scale {html.escape(data.scale)} · seed {data.seed}</p>"
        f"<p>state hash {data.state_hash}</p></header><nav>{nav}</nav>"
        f'<section id="summary"><h2>Summary</h2>{kpis}</section>{sections}</body></html>'
    )


__all__ = ["SECTIONS", "render_report"]
