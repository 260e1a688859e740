"""The allotment results announcement (Markdown and HTML) and the allocation CSV files.

The announcement follows the structure HKEX issuers publish ("Announcement of Allotment
Results"): summary (offer price, proceeds), the Hong Kong public offering (applications,
subscription level, clawback and final size), the international offering (placees, over-allocation,
offer size adjustment), cornerstone investors and lock-ups, compliance with the Listing Rules,
placee concentration (top 1, 5, 10, 25), the basis of allocation per pool and band, and the ballot
seed with the digest of the allotment so anyone can re-run the draw.
"""

from __future__ import annotations

import html

from lionrock.kernel.money import Currency, format_minor
from lionrock.kernel.price import format_price
from lionrock.offering.allocation import (
    POOL_A,
    POOL_B,
    AllocationResult,
)
from lionrock.offering.books import IoiBook
from lionrock.offering.definition import ResolvedOffering
from lionrock.offering.events import AllotmentSummary, PreferentialTrancheResult
from lionrock.offering.pricing import PricingDecision
from lionrock.rules import offering as rules


def _pct(bp: int) -> str:
    return f"{bp / 100:.2f}%"


def _share_pct(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.2f}%" if whole else "n/a"


def _money(minor: int, currency: str) -> str:
    cur = Currency(currency)
    return f"{cur.symbol}{format_minor(minor, cur)}"


def _half_up_pct(part: int, whole: int) -> str:
    """``part / whole`` as a percentage to two decimals, halves up (as announcements print them)."""
    return f"{(part * 20_000 + whole) // (2 * whole) / 100:.2f}%" if whole else "n/a"


def _shares(n: int) -> str:
    return f"{n:,} shares"


DISTRIBUTION_BANDS = (1, 10_001, 100_001, 1_000_001, 10_000_001)
"""Lower bounds of the placee distribution bands by shares allotted (1 to 10,000; 10,001 to
100,000; ...), the size table Transwarp's 18C.08 waiver required (condition (d))."""


def announcement_markdown(
    ro: ResolvedOffering, pricing: PricingDecision, result: AllocationResult, *, book_digest: str = "", iois: IoiBook | None = None
) -> str:
    """The allotment results announcement, section by section as HKEX's template orders them.
    ``iois`` (the book the allocation used) names placees in "placees with consent"."""
    spec, s = ro.spec, result.summary
    cur = spec.currency
    out: list[str] = []
    add = out.append
    add(f"# {spec.issuer_name}\n\n**Stock code: {spec.instrument}**" + (f" (RMB counter {spec.rmb_counter})" if spec.rmb_counter else ""))
    add("\n## Announcement of Allotment Results\n")
    add(
        f"Listing chapter: {'Main Board' if spec.chapter == 'main' else 'Chapter ' + spec.chapter}. Allocation regime: {s.regime} "
        f"({ro.regime_rule}). Prospectus dated {spec.prospectus_date}; price determined {ro.timetable.price_fixing}; "
        f"dealings expected to commence at 9:00 a.m. on {ro.timetable.listing}.\n"
    )
    add("### Summary\n")
    add("| | |\n|---|---|")
    add(
        f"| Final offer price | {cur} {format_price(s.price)} per share "
        f"(range {format_price(spec.price_low)} to {format_price(spec.price_high)}) |"
    )
    add(
        f"| Number of offer shares | {s.offer_shares:,}"
        + (f" (including {s.upsize_shares:,} offer size adjustment shares)" if s.upsize_shares else "")
        + " |"
    )
    add(f"| Gross proceeds | {_money(s.gross_proceeds_minor, cur)} |")
    add(
        f"| Estimated net proceeds | {_money(s.net_proceeds_minor, cur)} "
        f"(after underwriting commission {spec.underwriting_commission} and listing expenses) |"
    )
    add(f"| Over-allocation | {s.over_allocated_shares:,} shares |\n")
    if ro.maximum_price_only or s.price < spec.price_high:
        add(
            f"Applicants paid the maximum offer price of {cur} {format_price(spec.price_high)} per share (plus brokerage and levies) on "
            f"application; the difference from the final offer price, with its charges, and the money for shares not allotted are "
            f"refunded on {ro.timetable.listing}.\n"
        )
    add("### Pricing\n")
    for reason in pricing.reasons:
        add(f"- {reason}")
    add("")
    reserved = s.public_reserved_shares  # Dtech 1377: the template's public lines exclude reserved shares out of it
    add("### Hong Kong Public Offering" + (" (excluding the reserved shares of the preferential offering)\n" if reserved else "\n"))
    add("| | |\n|---|---|")
    add(f"| Number of valid applications | {s.valid_applications:,} |")
    add(f"| Number of successful applications | {s.successful_applications:,} |")
    add(f"| Number of shares validly applied for | {s.public_demand_shares:,} |")
    base = s.public_subscription_shares
    add(
        f"| Subscription level | {_multiple(s.public_demand_shares, base)} the {_shares(base)} initially offered"
        + (f" excluding the {_shares(reserved)} reserved |" if reserved else " |")
    )
    if reserved:
        pools = s.pool_a_shares + s.pool_b_shares
        add(f"| Number of shares excluding reserved shares initially available | {base:,} |")
        add(f"| Final number of shares excluding reserved shares | {pools:,} ({_share_pct(pools, s.offer_shares)} of the offer shares) |")
    add(f"| Reallocation (clawback) | {s.clawback_reason} |")
    moved = s.final_public_shares - s.initial_public_shares
    add(
        f"| Number of shares reallocated {'from' if moved >= 0 else 'to'} the International Offering | {abs(moved):,} |"
    )  # the HKEX template's line, whatever moved them: a clawback, a discretionary reallocation, an undersubscribed tranche
    add(
        f"| Final number of shares under the Hong Kong Public Offering | {s.final_public_shares:,} "
        f"({_share_pct(s.final_public_shares, s.offer_shares)} of the offer shares) |"
    )
    add(
        f"| Pool A / pool B | {s.pool_a_shares:,} / {s.pool_b_shares:,} shares "
        f"(demand {s.pool_a_demand_shares:,} / {s.pool_b_demand_shares:,}) |\n"
    )
    add("### International Offering\n")
    add("| | |\n|---|---|")
    add(f"| Number of placees | {s.placees:,} (plus {len(result.cornerstones)} cornerstone investors) |")
    add(
        f"| Subscription level | {_multiple(s.international_demand_shares, s.international_initial_shares)} the "
        f"{_shares(s.international_initial_shares)} initially available (cornerstone shares plus bookbuilding demand at the offer price) |"
    )
    add(
        f"| Final number of shares under the International Offering | {_shares(s.international_final_shares)} "
        f"({_half_up_pct(s.international_final_shares, s.offer_shares)} of the offer shares; "
        f"excluding {_shares(s.over_allocated_shares)} over-allocated) |"
    )
    add(f"| Bookbuilding demand at the offer price | {s.placing_demand_shares:,} shares |")
    add(
        f"| Final number of shares under the placing (excluding cornerstones) | {s.placing_shares:,} "
        f"(of which over-allocated {s.over_allocated_shares:,}) |"
    )
    if s.underwriter_shares:
        add(f"| Taken up by the underwriters | {s.underwriter_shares:,} |")
    add("")
    add("### Cornerstone Investors\n")
    if result.cornerstones:
        add(
            "| Cornerstone investor | Shares | % of offer shares | % of issued shares upon listing | Last day of lock-up |\n"
            "|---|---:|---:|---:|---|"
        )
        for c in result.cornerstones:
            add(
                f"| {c.name} | {c.shares:,} | {_share_pct(c.shares, s.offer_shares)} | "
                f"{_share_pct(c.shares, spec.shares_outstanding_after) if spec.shares_outstanding_after else 'n/a'} | {c.lockup_end} |"
            )
    else:
        add("None.")
    add("")
    add("### Offer Size Adjustment Option and Over-allotment Option\n")
    add(
        "- Offer size adjustment option: "
        f"{'exercised for ' + format(s.upsize_shares, ',') + ' shares' if s.upsize_shares else 'not exercised'} "
        f"(up to {spec.offer_size_adjustment} of the initial offer shares)."
    )
    add(
        f"- Over-allotment option: {s.over_allocated_shares:,} shares over-allocated (up to {spec.over_allotment}); "
        f"the stabilisation period ends on {ro.timetable.stabilisation_end}. "
        "A further announcement will state the shares bought back and the option exercised.\n"
    )
    add("### Compliance with the Listing Rules\n")
    add(
        f"- Bookbuilding placing tranche: initially {spec.shares_offered - ro.initial_public_shares - s.cornerstone_shares:,} shares, "
        f"minimum {s.bookbuilding_min_shares:,} ({ro.bookbuilding_rule}): {'complied' if s.bookbuilding_ok else 'NOT MET'}."
    )
    if ro.chapter_18c is not None:
        met = "complied" if not s.ipsi_shortfall_shares else f"NOT MET (shortfall of {s.ipsi_shortfall_shares:,} shares)"
        if spec.independent_price_setting_waiver:
            met += f"; the Exchange granted a waiver of {ro.chapter_18c.rule}: {spec.independent_price_setting_waiver}"
        add(
            f"- Independent price-setting investors took {s.ipsi_shares:,} shares against the {s.ipsi_required_shares:,} required "
            f"(at least {ro.chapter_18c.independent_price_setting_min} of the offer shares excluding any over-allotment, "
            f"{ro.chapter_18c.rule}): {met}."
        )
    out.extend(_float_lines(ro, s))
    add(
        f"- Pools A and B ({ro.pools.rule}): applications of {_money(ro.pools.pool_a_max_amount_minor, cur)} or less "
        f"({'including' if ro.pools.amount_includes_charges else 'excluding'} brokerage and levies) at the maximum offer price "
        f"in pool A; no application above {ro.max_application_shares:,} shares accepted; multiple "
        f"applications and applications from placing participants rejected."
    )
    for note in s.notes:
        add(f"- {note}")
    add("")
    add("### Placee Concentration\n")
    add(
        "Cornerstone investors count as placees; allotments include over-allocated shares, the international offering and the "
        "offer shares exclude them (so the top 25 may exceed 100% of the international offering).\n"
    )
    add(
        "| Placees | % of international offering | % of total offer shares | % of total issued share capital upon listing |\n"
        "|---|---:|---:|---:|"
    )
    for k in (1, 5, 10, 25):
        issued = _pct(s.top_placees_bp[f"top{k}_issued"]) if spec.shares_outstanding_after else "n/a"
        add(f"| Top {k} | {_pct(s.top_placees_bp[f'top{k}_international'])} | {_pct(s.top_placees_bp[f'top{k}_offer'])} | {issued} |")
    add("")
    out.extend(_distribution_lines(result, s))
    out.extend(_consent_lines(ro, result, iois))
    out.extend(_lockup_lines(ro, result))
    out.extend(_preferential_lines(ro, s))
    add("### Basis of Allocation under the Hong Kong Public Offering\n")
    for pool in ("A", "B"):
        bands = [b for b in s.bands if b.pool == pool]
        if not bands:
            continue
        add(f"**Pool {pool}**\n")
        add(
            "| Number of shares applied for | Number of valid applications | Basis of allocation/ballot "
            "| Approximate % allotted of the total number of shares applied for |\n"
            "|---:|---:|---|---:|"
        )
        for b in bands:
            add(f"| {b.shares_applied:,} | {b.applications:,} | {b.basis} | {_pct(b.allotted_bp)} |")
        add("")
    add("### Rejected Applications\n")
    if s.rejected:
        for name, count in sorted(s.rejected.items()):
            add(f"- {name.replace('_', ' ')}: {count:,}")
    else:
        add("None.")
    add("")
    add("### Ballot\n")
    add(
        f"The ballot was drawn with `numpy.random.Generator(PCG64({s.seed}))` (seed **{s.seed}**), pool A then pool B, bands in ascending "
        f"size, applications in lodging order. Allotment digest (SHA-256): `{s.allotment_digest}`."
        + (f" Application book digest: `{book_digest}`." if book_digest else "")
    )
    return "\n".join(out) + "\n"


def _multiple(demand: int, base: int) -> str:
    """A subscription level to two decimals, halves up (Ridge Outdoor 2720: 10,306,751,000 / 2,820,500 =
    3,654.2289 is published as 3,654.23)."""
    return f"{(demand * 200 + base) // (2 * base) / 100:,.2f} times" if base else "n/a"


def _float_lines(ro: ResolvedOffering, s: AllotmentSummary) -> list[str]:
    """Rule 8.08 public float and Rule 8.08A free float upon listing: the issued shares less those
    of holders declared not public (``[[lockups]]`` with ``public = false``); the free float also
    less every locked-up public holding (cornerstones and locked-up pre-IPO investors)."""
    issued = ro.spec.shares_outstanding_after
    if not issued:
        return ["- Public float: not computed (shares in issue upon listing not given)."]
    rules_in_force = rules.PUBLIC_FLOAT.in_force(ro.spec.prospectus_date)
    non_public = sum(x.shares for x in ro.spec.lockups if not x.public)
    public = issued - non_public
    free = public - s.cornerstone_shares - sum(x.shares for x in ro.spec.lockups if x.public)
    minimum = rules_in_force.public_float_min
    ok = public * minimum.denominator >= issued * minimum.numerator
    return [
        f"- Public float ({rules_in_force.rule}): {_shares(public)} held by the public, {_half_up_pct(public, issued)} of the "
        f"{_shares(issued)} in issue upon listing, against a minimum of {minimum}: {'complied' if ok else 'NOT MET'}.",
        f"- Free float ({rules_in_force.free_float_rule}): {_shares(free)} ({_half_up_pct(free, issued)}), the public float less "
        f"shares subject to disposal restrictions (cornerstone and other lock-ups).",
    ]


def _distribution_lines(result: AllocationResult, s: AllotmentSummary) -> list[str]:
    allotted = sorted([c.shares for c in result.cornerstones if c.shares] + result.placee_shares[result.placee_shares > 0].tolist())
    out = [
        "### Distribution of the International Offer Shares\n",
        "| Shares allotted | Number of placees | Shares | % of the international offering |\n|---|---:|---:|---:|",
    ]
    uppers = [*DISTRIBUTION_BANDS[1:], None]
    for low, high in zip(DISTRIBUTION_BANDS, uppers, strict=True):
        inside = [x for x in allotted if x >= low and (high is None or x < high)]
        label = f"{low:,} to {high - 1:,}" if high else f"{low:,} and above"
        out.append(f"| {label} | {len(inside):,} | {sum(inside):,} | {_half_up_pct(sum(inside), s.international_final_shares)} |")
    out.append(f"| Total | {len(allotted):,} | {sum(allotted):,} | {_half_up_pct(sum(allotted), s.international_final_shares)} |\n")
    return out


def _consent_lines(ro: ResolvedOffering, result: AllocationResult, iois: IoiBook | None) -> list[str]:
    out = ["### Placees with Consent\n"]
    rows = [
        (c.name, "existing shareholder (cornerstone investor)", "Appendix F1 para 5(2)", a.shares)
        for c, a in zip(ro.spec.cornerstones, result.cornerstones, strict=True)
        if c.existing_shareholder
    ]
    allotted = dict(zip(iois.investor, result.placee_shares.tolist(), strict=True)) if iois is not None else {}
    rows += [(x.investor, x.relationship, x.consent, allotted.get(x.investor, 0)) for x in ro.spec.placee_consents]
    if not rows:
        return [*out, "None.\n"]
    out.append("| Placee | Relationship | Consent | Shares allotted | % of the offer shares |\n|---|---|---|---:|---:|")
    out += [
        f"| {name} | {rel} | {consent} | {shares:,} | {_half_up_pct(shares, result.summary.offer_shares)} |"
        for name, rel, consent, shares in rows
    ]
    return [*out, ""]


def _lockup_lines(ro: ResolvedOffering, result: AllocationResult) -> list[str]:
    out = [
        "### Lock-up Undertakings\n",
        "| Holder | Kind | Shares subject to lock-up | Last day of lock-up | Basis |\n|---|---|---:|---|---|",
    ]
    out += [f"| {x.holder} | {x.kind.replace('_', ' ')} | {x.shares:,} | {x.ends} | {x.rule or '-'} |" for x in ro.spec.lockups]
    out += [
        f"| {c.name} | cornerstone investor | {c.shares:,} | {c.lockup_end} | cornerstone investment agreement |"
        for c in result.cornerstones
    ]
    return [*out, ""] if len(out) > 2 else [out[0], "None.\n"]


def _preferential_lines(ro: ResolvedOffering, s: AllotmentSummary) -> list[str]:
    if isinstance(s.preferential_tranches, list):
        return _tranche_lines(s.preferential_tranches)
    p = ro.spec.preferential
    if p is None:
        return []
    return [
        "### Preferential Offering\n",
        f"{p.reference} ({p.kind.replace('_', ' ')}): {_shares(s.preferential_reserved_shares)} "
        f"reserved out of the International Offering; {s.preferential_valid_applications:,} valid applications for "
        f"{_shares(s.preferential_demand_shares)} ({_multiple(s.preferential_demand_shares, s.preferential_reserved_shares)} the "
        f"reserved shares); {_shares(s.preferential_shares)} allotted to {s.preferential_successful_applications:,} applicants; "
        f"{_shares(s.preferential_to_international_shares)} reallocated to the International Offering.\n",
    ]


def _tranche_lines(tranches: list[PreferentialTrancheResult]) -> list[str]:
    """One block per preferential tranche, as the announcements publish them (Dtech 1377)."""
    out = ["### Preferential Offerings\n"]
    for x in tranches:
        where = "Hong Kong Public Offering" if x.source == "public" else "International Offering"
        out += [
            f"**{x.reference}** ({x.kind.replace('_', ' ')}, out of the {where})\n",
            "| | |\n|---|---|",
            f"| Number of valid applications | {x.valid_applications:,} |",
            f"| Subscription level | {_multiple(x.demand_shares, x.reserved_shares)} the {_shares(x.reserved_shares)} reserved |",
            f"| Reserved shares initially available | {x.reserved_shares:,} |",
            f"| Final number of reserved shares | {x.allotted_shares:,} (to {x.successful_applications:,} applicants) |",
            f"| Under-subscription made available to the {where} | {x.returned_shares:,} |",
            "",
        ]
    return out


def markdown_to_html(markdown: str, title: str) -> str:
    """A small, dependency-free rendering of the announcement's Markdown subset."""
    body: list[str] = []
    lines = markdown.splitlines()
    i = 0

    def inline(text: str) -> str:
        t = html.escape(text)
        parts = t.split("**")
        t = "".join(f"<strong>{p}</strong>" if k % 2 else p for k, p in enumerate(parts))
        parts = t.split("`")
        return "".join(f"<code>{p}</code>" if k % 2 else p for k, p in enumerate(parts))

    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{inline(line[level:].strip())}</h{level}>")
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append([c.strip() for c in lines[i].strip("|").split("|")])
                i += 1
            head, rest = rows[0], [r for r in rows[1:] if not all(set(c) <= set("-:") for c in r)]
            body.append(
                "<table><thead><tr>"
                + "".join(f"<th>{inline(c)}</th>" for c in head)
                + "</tr></thead><tbody>"
                + "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in rest)
                + "</tbody></table>"
            )
            continue
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{inline(lines[i][2:])}</li>")
                i += 1
            body.append("<ul>" + "".join(items) + "</ul>")
            continue
        elif line.strip():
            body.append(f"<p>{inline(line)}</p>")
        i += 1
    style = (
        "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#111}"
        "table{border-collapse:collapse;margin:0.5rem 0 1rem}td,th{border:1px solid #bbb;padding:0.25rem 0.5rem;text-align:left}"
        "th{background:#f0f0f0}code{font-size:0.85em}"
    )
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def summary_lines(s: AllotmentSummary) -> list[tuple[str, str]]:
    return [
        ("offer price", format_price(s.price)),
        ("offer shares", f"{s.offer_shares:,}"),
        ("regime", s.regime),
        ("public subscription", f"{s.subscription_multiple_bp / 10_000:,.2f}x -> {s.final_public_shares:,} shares ({s.clawback_reason})"),
        ("pools A / B", f"{s.pool_a_shares:,} / {s.pool_b_shares:,}"),
        ("valid / rejected applications", f"{s.valid_applications:,} / {sum(s.rejected.values()):,}"),
        ("placing", f"{s.placing_shares:,} shares to {s.placees:,} placees (over-allocated {s.over_allocated_shares:,})"),
        ("cornerstones", f"{s.cornerstone_shares:,}"),
        ("allotment digest", s.allotment_digest),
    ]


__all__ = [
    "POOL_A",
    "POOL_B",
    "announcement_markdown",
    "markdown_to_html",
    "summary_lines",
]
