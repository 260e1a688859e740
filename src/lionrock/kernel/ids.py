"""Typed identifiers. `NewType` keeps them free at run time and distinct to the type checker."""

from typing import NewType

AccountId = NewType("AccountId", str)
"""A ledger account, e.g. ``"P:BROKER1"`` (participant) or ``"C:BROKER1:INV42"`` (client)."""
ParticipantId = NewType("ParticipantId", str)
"""An exchange / clearing participant (a broker)."""
InvestorId = NewType("InvestorId", str)
"""An end investor: a placee, a retail applicant, a southbound investor."""
InstrumentId = NewType("InstrumentId", str)
"""A traded line: stock code and counter, e.g. ``"02525"`` (HKD) or ``"82525"`` (RMB counter)."""
IssuerId = NewType("IssuerId", str)
OfferingId = NewType("OfferingId", str)
OrderId = NewType("OrderId", int)
"""Assigned by the venue in sequence; never by the client (clients use client order ids)."""
ApplicationId = NewType("ApplicationId", int)
"""A public-offer application, numbered by the registrar in file order."""

__all__ = [
    "AccountId",
    "ApplicationId",
    "InstrumentId",
    "InvestorId",
    "IssuerId",
    "OfferingId",
    "OrderId",
    "ParticipantId",
]
