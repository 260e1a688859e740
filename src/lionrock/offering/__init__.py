"""IPO offering: bookbuilding, price setting, tranches and clawback, balloting, settlement timetable.

Drive it through the engine with the commands in `lionrock.offering.commands` (`OfferingContext`),
or call the pure functions directly (`validate_offering`, `set_price`, `allocate`), as the CLI does.
"""

from lionrock.offering._codes import OfferingCode
from lionrock.offering.allocation import AllocationResult, ApplicationStatus, allocate
from lionrock.offering.books import (
    ApplicationBook,
    IoiBook,
    application_book_from_batches,
    ioi_book_from_iois,
    read_application_book,
    read_ioi_book,
)
from lionrock.offering.context import OfferingContext
from lionrock.offering.definition import (
    ResolvedOffering,
    load_offering,
    parse_offering,
    validate_offering,
)
from lionrock.offering.pricing import PricingDecision, demand_curve, set_price

__all__ = [
    "AllocationResult",
    "ApplicationBook",
    "ApplicationStatus",
    "IoiBook",
    "OfferingCode",
    "OfferingContext",
    "PricingDecision",
    "ResolvedOffering",
    "allocate",
    "application_book_from_batches",
    "demand_curve",
    "ioi_book_from_iois",
    "load_offering",
    "parse_offering",
    "read_application_book",
    "read_ioi_book",
    "set_price",
    "validate_offering",
]
