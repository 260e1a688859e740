"""The contexts a default engine runs, in a fixed order (the order is part of the state hash)."""

from __future__ import annotations

import importlib

from lionrock.kernel.context import Context

# (module, factory) of every bounded context; each factory takes no arguments.
CONTEXT_FACTORIES: list[tuple[str, str]] = [
    ("lionrock.listing", "ListingContext"),
    ("lionrock.offering", "OfferingContext"),
    ("lionrock.trading", "TradingContext"),
    ("lionrock.clearing", "ClearingContext"),
    ("lionrock.connect", "ConnectContext"),
]


def default_contexts() -> list[Context]:
    """A fresh instance of each bounded context that is built."""
    contexts: list[Context] = []
    for module_name, factory in CONTEXT_FACTORIES:
        module = importlib.import_module(module_name)
        cls = getattr(module, factory, None)
        if cls is not None:
            contexts.append(cls())
    return contexts


__all__ = ["CONTEXT_FACTORIES", "default_contexts"]
