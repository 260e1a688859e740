"""The rulebook: Hong Kong and mainland rules as effective-dated data (sources: docs/rules.md).

One module per area (``rules.trading``, ``rules.offering``, ``rules.listing``, ``rules.clearing``,
``rules.connect``); each defines `Schedule` objects whose provisions cite their source. Code asks
``SCHEDULE.in_force(day)``; no rule's number is written anywhere else.
"""

from lionrock.rules._schedule import Provision, Schedule, schedules

__all__ = ["Provision", "Schedule", "schedules"]
