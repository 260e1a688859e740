"""IPO offering: bookbuilding, price setting, tranches and clawback, balloting, settlement timetable.

Drive it through the engine with the commands in `lionrock.offering.commands` (`OfferingContext`),
or call the pure functions directly (`validate_offering`, `set_price`, `allocate`), as the CLI does.
Offering, IOI and application files are read at the edge (`lionrock.files`).
"""

from lionrock.offering._codes import OfferingCode
from lionrock.offering.allocation import AllocationResult, ApplicationStatus, allocate
from lionrock.offering.books import (
    ApplicationBook,
    IoiBook,
    application_book_from_batches,
    ioi_book_from_iois,
)
from lionrock.offering.context import OfferingContext
from lionrock.offering.definition import (
    ResolvedOffering,
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
    "set_price",
    "validate_offering",
]
