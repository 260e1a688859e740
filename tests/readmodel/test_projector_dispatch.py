"""The projector dispatches on event classes (a table, not ``_on_<name>`` lookups): the table names
real handlers, and every order-level event (the old rule: "Order" in its name) is handled or
updated generically."""

from __future__ import annotations

import lionrock.service.root  # noqa: F401  (registers every context's events)
from lionrock.kernel.messages import event_types
from lionrock.readmodel.derived import STAGE_RANK
from lionrock.readmodel.projector import _GENERIC_ORDER_EVENTS, _HANDLERS, Projector


def test_projector_table_maps_each_event_class_to_its_handler() -> None:
    for event_type, handler in _HANDLERS.items():
        assert handler is getattr(Projector, f"_on_{event_type.__name__}")


def test_projector_every_order_event_is_handled_or_generic() -> None:
    order_events = {t for t in event_types() if "Order" in t.__name__}
    assert order_events <= set(_HANDLERS) | set(_GENERIC_ORDER_EVENTS)


def test_projector_stages_follow_the_lifecycle_order() -> None:
    assert [stage for _, stage in sorted(STAGE_RANK.values())] == ["bookbuilding", "closed", "priced", "allocated", "settled", "stabilised"]
