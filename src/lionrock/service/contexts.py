"""The bounded contexts a default engine runs, listed explicitly, in a fixed order (the order is
part of the state hash): listing, offering, trading, clearing, connect. Every one is part of the
build; there is no loading by name and nothing optional."""

from __future__ import annotations

from lionrock.clearing import ClearingContext
from lionrock.connect import ConnectContext
from lionrock.kernel.context import Context
from lionrock.listing import ListingContext
from lionrock.offering import OfferingContext
from lionrock.trading import TradingContext

CONTEXT_TYPES: tuple[type[Context], ...] = (ListingContext, OfferingContext, TradingContext, ClearingContext, ConnectContext)
"""The five contexts, in engine order."""


def default_contexts() -> list[Context]:
    """A fresh instance of each bounded context, in `CONTEXT_TYPES` order."""
    return [context_type() for context_type in CONTEXT_TYPES]


__all__ = ["CONTEXT_TYPES", "default_contexts"]
