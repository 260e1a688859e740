"""Scenario files (TOML): which issuers list when, under which regime, and how big the run is.

Scenarios and the example files they name ship inside the package (``lionrock/scenarios``,
``lionrock/examples``: package data, pyproject's ``[tool.setuptools.package-data]``) and are found
through `importlib.resources`, so an installed package runs its default scenario from any working
directory; the checkout's ``scenarios/`` and ``examples/`` are links to them. A path that exists
from the working directory is taken first, so a user's own scenario or profile wins.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import msgspec

from lionrock.kernel.money import Rate

PACKAGE_DATA = files("lionrock")
"""The package's data root: ``scenarios/NAME.toml`` and ``examples/...`` below it."""


class Scale(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    retail_applications: int
    """Public-offer applications per IPO (before the heat multiplier)."""
    institutions: int
    """Institutional investors in the bookbuilding universe."""
    orders_per_day: int
    """Order-entry events per instrument per trading day (noise traders and market makers)."""
    southbound_investors: int = 0
    retail_traders: int = 200


class ListingPlan(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    profile: str
    """Path of the issuer profile, relative to the repository (``examples/issuers/…``)."""
    filed: date
    """Form A1 filing date (the profile is submitted and assessed that day)."""
    price_fixing: date
    """T: the price determination date; trading starts T+2."""
    instrument: str
    mechanism: str = ""
    """``A`` or ``B`` from 4 Aug 2025 (Main Board); empty for the rulebook's default."""
    public_share: str = ""
    """Initial public share, e.g. ``"10%"`` (Mechanism B's fixed share)."""
    waiver: bool = False
    """Apply the typical large-offering waiver schedule (HKEx-LD60-2) before August 2025."""
    cornerstone_share: str = "30%"
    """Share of the offer value taken by cornerstones."""
    institutional_heat: str = "3"
    """Bookbuilding demand at the top of the range, as a multiple of the shares offered."""
    retail_heat: str = "1"
    """Multiplier of the public-offer demand (1 = the scale's applications at typical sizes)."""
    pop: str = "10%"
    """Expected first-day return of the fair-value model (the market's view on the IPO price)."""
    vcm_class: str = "MID"
    rmb_counter: str = ""
    """Stock code of an RMB counter to list beside the HKD counter (dual counter)."""
    rmb_flow: str = "25%"
    """Order flow on the RMB counter per day, as a share of the scale's ``orders_per_day``."""
    rmb_premium: str = "-0.5%"
    """Where the RMB-counter crowd values the stock against the HKD price at the day's rate
    (a belief; the RMB counters of 2023-25 mostly traded at a small discount)."""
    offer_size_adjustment: str = "0%"
    over_allotment: str = "15%"

    def rate(self, field: str) -> Rate:
        return Rate.parse(getattr(self, field))

    @property
    def pop_fraction(self) -> float:
        """The fair-value model's expected first-day return (an agent belief, not money)."""
        text = self.pop.strip()
        return float(Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text))


class FxPlan(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The exchange rates of a run (input data, as a rate provider would publish them): the
    driver records each day's rates with clearing (`RecordFxRates`), and every agent reads the
    day's rate from the `FxRatesRecorded` event, never from here."""

    cny_hkd: str
    """1 CNY in HKD on the first day, e.g. ``"1.0850"``."""
    usd_hkd: str
    """1 USD in HKD (held constant: the linked exchange rate)."""
    cny_daily_move: str = "0.15%"
    """Standard deviation of the CNY/HKD rate's daily log move (a seeded random walk)."""


class Scenario(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    title: str
    trading_days: int = 20
    fx: FxPlan
    scales: dict[str, Scale]
    listings: list[ListingPlan]


def _shipped_scenarios() -> Traversable:
    return PACKAGE_DATA / "scenarios"


def find_scenario(name_or_path: str) -> Path | Traversable:
    """A ``.toml`` path that exists, ``scenarios/NAME.toml`` from the working directory, or the
    scenario ``NAME`` shipped with the package."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.exists():
        return path
    local = Path.cwd() / "scenarios" / f"{name_or_path}.toml"
    if local.exists():
        return local
    shipped = _shipped_scenarios() / f"{name_or_path}.toml"
    if shipped.is_file():
        return shipped
    known = sorted(p.name.removesuffix(".toml") for p in _shipped_scenarios().iterdir() if p.name.endswith(".toml"))
    raise FileNotFoundError(f"no scenario {name_or_path!r}: give a .toml path or one of {', '.join(known) or '(none found)'}")


def load_scenario(name_or_path: str) -> Scenario:
    path = find_scenario(name_or_path)
    try:
        scenario = msgspec.toml.decode(path.read_bytes(), type=Scenario)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    for field in ("cny_hkd", "usd_hkd", "cny_daily_move"):
        try:
            value = parse_fraction(getattr(scenario.fx, field))
        except (ValueError, ArithmeticError) as exc:
            raise ValueError(f"{path}: fx.{field}: {exc}") from exc
        if value <= 0:
            raise ValueError(f"{path}: fx.{field} must be positive")
    for plan in scenario.listings:
        for field in (
            "cornerstone_share",
            "institutional_heat",
            "retail_heat",
            "offer_size_adjustment",
            "over_allotment",
            "pop",
            "rmb_flow",
            "rmb_premium",
        ):
            try:
                if field in ("pop", "rmb_flow", "rmb_premium"):
                    parse_fraction(getattr(plan, field))
                else:
                    plan.rate(field)
            except (ValueError, ArithmeticError) as exc:
                raise ValueError(f"{path}: listing {plan.profile}: {field}: {exc}") from exc
        if plan.price_fixing <= plan.filed:
            raise ValueError(f"{path}: listing {plan.profile}: price_fixing {plan.price_fixing} must follow filed {plan.filed}")
    return scenario


def parse_fraction(text: str) -> float:
    """``"25%"`` → 0.25, ``"-0.5%"`` → -0.005, ``"3"`` → 3.0: an agent parameter (not money)."""
    text = text.strip()
    return float(Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text))


def resolve(path: str) -> Path | Traversable:
    """A path named by a scenario (``examples/issuers/...``): from the working directory, else the
    file shipped with the package (a `Traversable`: read it with ``read_bytes``, zipped or not)."""
    p = Path(path)
    if p.exists():
        return p
    shipped = PACKAGE_DATA.joinpath(*p.parts)
    if shipped.is_file():
        return shipped
    raise FileNotFoundError(f"{path} not found (looked in {Path.cwd()} and the package data of lionrock)")


__all__ = ["FxPlan", "ListingPlan", "Scale", "Scenario", "find_scenario", "load_scenario", "parse_fraction", "resolve"]
