"""The read model a run's report is drawn from: plain records, filled by `RunProjection`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IssuerRow:
    issuer_id: str
    name: str
    sub_sector: str
    routes_open: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    """Why routes are closed (the figures compared, the rule), or the pass reasons."""
    eligible: bool = False
    last_round_name: str = ""
    last_round_post_money_minor: int = 0
    filed_on: str = ""
    listed_on: str = ""
    stage: str = "profile"
    assessed_on: str = ""
    milestones: list[tuple[str, str]] = field(default_factory=list)
    """(state entered, ISO date) in order: filed, vetting, hearing passed, launched, ... listed."""


@dataclass
class BandRow:
    pool: str
    band: str
    applications: int
    basis: str
    allotted_pct: str


@dataclass
class OfferingRow:
    offering_id: str
    issuer_id: str
    name: str
    instrument: str
    sub_sector: str = ""
    regime: str = ""
    currency: str = "HKD"
    board_lot: int = 0
    price_low: int = 0
    price_high: int = 0
    offer_price: int = 0
    price_reason: str = ""
    shares_offered: int = 0
    shares_allotted: int = 0
    gross_proceeds_minor: int = 0
    market_cap_minor: int = 0
    shares_in_issue: int = 0
    """After listing: the issuer's planned figure plus the offer size adjustment exercised."""
    institutional_coverage: float = 0.0
    public_multiple: float = 0.0
    public_initial_pct: float = 0.0
    public_final_pct: float = 0.0
    clawback: str = ""
    one_lot_success_pct: float = 0.0
    applications: int = 0
    seed: int = 0
    price_fixed_on: str = ""
    listed_on: str = ""
    bands: list[BandRow] = field(default_factory=list)
    allocation_by_origin: dict[str, int] = field(default_factory=dict)
    """Shares allotted by investor origin (international, mainland, hong-kong, retail)."""
    cornerstone_shares: int = 0
    offer_shares: int = 0
    """New shares issued in the global offering (after the offer size adjustment, before
    over-allocation): the offering is treated as wholly primary, as the eligibility engine does."""
    pre_money_minor: int = 0
    """The IPO valuation before the new money: offer price x (shares in issue - offer shares)."""
    lockups: list[tuple[str, str, int]] = field(default_factory=list)
    """(lock-up end ISO date, cornerstone investor, shares) per cornerstone allotment."""
    public_offer_open: str = ""


@dataclass
class Bar:
    day: str
    open: int
    high: int
    low: int
    close: int
    volume: int
    turnover_minor: int


@dataclass
class InstrumentTape:
    instrument: str
    name: str
    currency: str = "HKD"
    shares_outstanding: int = 0
    bars: list[Bar] = field(default_factory=list)
    first_day_prices: list[tuple[int, int]] = field(default_factory=list)
    """(seconds after 09:00 of the first day, price ticks) per trade, sampled."""
    close_depth: list[tuple[int, int, int]] = field(default_factory=list)
    """(price ticks, bid quantity, ask quantity) at the end of the first day."""
    vcm_triggers: int = 0


@dataclass
class DualCounter:
    """A dual-counter stock: its HKD counter, its RMB counter and what moved between them."""

    hkd_counter: str
    rmb_counter: str
    transfers: list[tuple[str, str, str, int]] = field(default_factory=list)
    """(day, account kind, "HKD->CNY" or "CNY->HKD", shares) per inter-counter transfer."""
    cleared_cny_trades: int = 0
    cleared_cny_minor: int = 0
    """RMB-counter trades novated by clearing, and their consideration in CNY minor units (fen)."""


@dataclass
class RunData:
    scenario: str = ""
    title: str = ""
    seed: int = 0
    scale: str = ""
    state_hash: str = ""
    commands: int = 0
    events: int = 0
    rejections: int = 0
    issuers: dict[str, IssuerRow] = field(default_factory=dict)
    offerings: dict[str, OfferingRow] = field(default_factory=dict)
    tapes: dict[str, InstrumentTape] = field(default_factory=dict)
    flows_by_origin: dict[str, dict[str, int]] = field(default_factory=dict)
    """instrument -> origin -> net buy value (minor units) in secondary trading."""
    southbound: list[tuple[str, str, int, int]] = field(default_factory=list)
    """(day, link, quota used, daily quota) in RMB minor units."""
    settlement_failures: int = 0
    fees_collected_minor: dict[str, int] = field(default_factory=dict)
    dual_counters: dict[str, DualCounter] = field(default_factory=dict)
    """RMB counter -> its dual-counter record."""
    cny_hkd: dict[str, tuple[int, int]] = field(default_factory=dict)
    """day -> the CNY/HKD rate recorded with clearing (numerator, denominator: 1 CNY in HKD)."""
    scenario_inputs: dict[str, dict[str, str]] = field(default_factory=dict)
    """instrument -> the scenario's inputs for that listing (demand heat, first-day pop, ...), as
    written in the scenario file: the report shows them beside the outcomes they drive. Filled by
    the runner (the journal holds commands, not the agents' parameters)."""
