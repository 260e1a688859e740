"""The investor population of a run: institutions, retail applicants and traders, seeded.

Account ids follow ``C:<participant>:<origin>.<kind>.<n>`` so any read model can tell an
investor's origin (international, mainland, hong_kong) from the account alone.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from lionrock.kernel.account import client_account

BROKERS = [f"B{n:02d}" for n in range(1, 21)]
INSTITUTION_KINDS = [
    # (investor type, origin, tier, weight)
    ("long_only", "international", 1, 0.26),
    ("hedge_fund", "international", 2, 0.16),
    ("sovereign", "international", 1, 0.06),
    ("pension", "international", 1, 0.06),
    ("qdii", "mainland", 2, 0.16),
    ("mainland_fund", "mainland", 2, 0.10),
    ("hk_asset_manager", "hong_kong", 2, 0.12),
    ("family_office", "hong_kong", 3, 0.08),
]


@dataclass(frozen=True, slots=True)
class Institution:
    investor: str
    name: str
    account: str
    participant: str
    investor_type: str
    origin: str
    tier: int
    size: float
    """Relative ticket size (lognormal); an agent belief, not an amount."""
    valuation_bias: float
    """How far above (+) or below (-) the range midpoint this investor values IPOs."""


@dataclass(frozen=True, slots=True)
class Trader:
    account: str
    participant: str
    origin: str
    kind: str


def institutions(rng: random.Random, count: int) -> list[Institution]:
    kinds = [k for k in INSTITUTION_KINDS]
    weights = [k[3] for k in kinds]
    out = []
    for i in range(count):
        itype, origin, tier, _ = rng.choices(kinds, weights)[0]
        broker = BROKERS[i % len(BROKERS)]
        out.append(
            Institution(
                investor=f"INST{i:04d}",
                name=f"{itype.replace('_', ' ').title()} {i:04d}",
                account=client_account(broker, f"{origin}.{itype}.{i}"),
                participant=broker,
                investor_type=itype,
                origin=origin,
                tier=tier,
                size=math.exp(rng.gauss(0.0, 1.0)),
                valuation_bias=rng.gauss(0.0, 0.08),
            )
        )
    return out


def traders(rng: random.Random, count: int) -> list[Trader]:
    out = []
    for i in range(count):
        origin = rng.choices(["hong_kong", "international", "mainland"], [0.6, 0.28, 0.12])[0]
        broker = BROKERS[rng.randrange(len(BROKERS))]
        out.append(Trader(client_account(broker, f"{origin}.trader.{i}"), broker, origin, "trader"))
    return out


def southbound_investors(rng: random.Random, count: int) -> list[Trader]:
    # Mainland investors trade through mainland brokers routed by the SSE / SZSE subsidiaries.
    brokers = ("SBSH", "SBSZ")
    return [
        Trader(client_account(brokers[i % 2], f"mainland.southbound.{i}"), brokers[i % 2], "mainland", "southbound") for i in range(count)
    ]


MARKET_MAKER = Trader(client_account("MM01", "hong_kong.marketmaker.1"), "MM01", "hong_kong", "marketmaker")
DUAL_COUNTER_MARKET_MAKER = Trader(client_account("MM02", "hong_kong.dualcountermaker.1"), "MM02", "hong_kong", "dualcountermaker")
"""Quotes the RMB counter of a dual-counter stock (HKEX's Dual Counter Market Makers)."""
ARBITRAGEUR = Trader(client_account("AR01", "hong_kong.arbitrageur.1"), "AR01", "hong_kong", "arbitrageur")
"""Buys on the cheaper counter, sells on the dearer one, and moves stock between them."""
AGENT_ACCOUNTS = frozenset({MARKET_MAKER.account, DUAL_COUNTER_MARKET_MAKER.account, ARBITRAGEUR.account})
"""Accounts of the liquidity agents: never picked as noise sellers."""
MAINLAND_INSTITUTION_TYPES = ("qdii", "mainland_fund")


def rmb_investors(traders_: list[Trader], institutions_: list[Institution]) -> list[Trader]:
    """The investors who prefer a dual-counter stock's RMB counter: mainland-origin retail traders
    and the mainland institutions (QDII funds, mainland funds), each trading from an offshore-RMB
    account of its own (``C:<participant>:mainland.<type>_rmb.<n>``, apart from its IPO account)."""
    out = [t for t in traders_ if t.origin == "mainland"]
    for i in institutions_:
        if i.investor_type in MAINLAND_INSTITUTION_TYPES:
            n = i.account.rsplit(".", 1)[1]
            out.append(
                Trader(client_account(i.participant, f"{i.origin}.{i.investor_type}_rmb.{n}"), i.participant, i.origin, i.investor_type)
            )
    return out


__all__ = [
    "AGENT_ACCOUNTS",
    "ARBITRAGEUR",
    "BROKERS",
    "DUAL_COUNTER_MARKET_MAKER",
    "MARKET_MAKER",
    "Institution",
    "Trader",
    "institutions",
    "rmb_investors",
    "southbound_investors",
    "traders",
]
