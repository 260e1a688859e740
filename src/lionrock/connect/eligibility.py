"""Southbound eligibility as a pure function of a security's facts, the link and the day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from lionrock.kernel.money import format_minor
from lionrock.rules.connect import SOUTHBOUND_ELIGIBILITY, SOUTHBOUND_LINKS

ELIGIBLE = "ELIGIBLE"
SELL_ONLY = "SELL_ONLY"
INELIGIBLE = "INELIGIBLE"
SIZE_INDEXES = ("HSLI", "HSMI", "HSSI")


def new_profile(instrument: str) -> dict[str, Any]:
    return {
        "instrument": instrument,
        "index": "",
        "market_cap": 0,
        "a_exchange": "",
        "risk_alert": False,
        "currency": "HKD",
        "listing_date": "",
        "foreign": False,
        "secondary": False,
        "fast_entry_from": "",
    }


def links_on(day: date) -> tuple[str, ...]:
    try:
        return SOUTHBOUND_LINKS.in_force(day).links
    except LookupError:
        return ()


def evaluate(profile: dict[str, Any], link: str, day: date, *, explain: bool = True) -> tuple[bool, list[str]]:
    """Whether ``link`` may buy the security on ``day``, with the reasons (rule and figures).
    ``explain=False`` may leave out the reasons whose figures cost formatting (a daily review of
    every stock wants the answer, and the reasons only when the status changes)."""
    if link not in links_on(day):
        return False, [f"no southbound link {link} on {day}"]
    try:
        rule = SOUTHBOUND_ELIGIBILITY.in_force(day)
    except LookupError:
        return False, [f"no southbound eligibility rule in force on {day}"]
    if profile["currency"] != rule.trading_currency:
        return False, [f"traded in {profile['currency']}, southbound buys only {rule.trading_currency} shares ({rule.rule})"]
    if profile["secondary"]:
        return False, ["secondary listings are not southbound-eligible"]
    if profile["foreign"] and not rule.foreign_companies:
        return False, [f"international companies are not yet eligible on {day} ({rule.rule})"]
    a_exchange = profile["a_exchange"]
    if a_exchange and profile["risk_alert"]:
        return False, [f"the A shares on {a_exchange} are under risk alert"]
    if a_exchange and (a_exchange, link) in rule.ah_links_by_a_exchange:
        listed = profile["listing_date"]
        if listed:
            joins = date.fromisoformat(listed) + timedelta(days=rule.ah_new_listing_wait_days)
            if day < joins:
                return False, [
                    f"new A+H listing: H shares join after the {rule.ah_new_listing_wait_days}-day stabilisation period, on {joins}"
                ]
        return True, [f"H shares of an A+H company with A shares on {a_exchange} ({rule.rule})"]
    index = profile["index"]
    fast = profile["fast_entry_from"]
    if fast and day >= date.fromisoformat(fast) and index not in rule.size_indexes:
        return True, [f"fast entry into the Hang Seng Composite Index effective {fast}"]
    if index in rule.size_indexes:
        return True, [f"constituent of {index} ({rule.rule})"]
    if index == rule.smallcap_index:
        if link not in rule.smallcap_links:
            return False, [f"{index} constituents are not eligible on link {link} on {day}"]
        cap, floor = profile["market_cap"], rule.smallcap_min_market_cap_hkd_minor
        if not explain:
            return cap >= floor, []
        if cap >= floor:
            return True, [f"{index} constituent with market cap HK${format_minor(cap)} >= HK${format_minor(floor)}"]
        return False, [f"{index} constituent with market cap HK${format_minor(cap)} < HK${format_minor(floor)}"]
    return False, ["not a Hang Seng Composite Index constituent and not an eligible A+H share"]


def next_status(eligible: bool, previous: str) -> str:
    """A security that leaves eligibility becomes sell-only (holders may still sell)."""
    if eligible:
        return ELIGIBLE
    return SELL_ONLY if previous in (ELIGIBLE, SELL_ONLY) else INELIGIBLE


__all__ = ["ELIGIBLE", "INELIGIBLE", "SELL_ONLY", "SIZE_INDEXES", "evaluate", "links_on", "new_profile", "next_status"]
