"""Listing gateway: issuer profiles, eligibility (Main Board, 18C, 18A, WVR), the application workflow.

Public API::

    from lionrock.files import load_profile            # reading a file is the edge's work
    from lionrock.listing import assess, timetable, ListingContext
    profile = load_profile("examples/issuers/qianli_finance.toml")
    result = assess(profile, date(2026, 3, 2))      # tests, routes, open_routes, changes_needed
    engine.submit(SubmitIssuerProfile(profile=profile), at_ns)

Other contexts import only `lionrock.listing.commands` and `lionrock.listing.events`.
"""

from lionrock.listing.codes import ListingCode
from lionrock.listing.commands import (
    AdvanceListing,
    CompleteCsrcFiling,
    EngageTechChannel,
    ExpireListingApplications,
    FileCsrc,
    FileListingApplication,
    IssuerProfile,
    SubmitIssuerProfile,
)
from lionrock.listing.context import IssuerRecord, ListingContext
from lionrock.listing.eligibility import (
    ROUTES,
    Assessment,
    CheckResult,
    Figures,
    RouteResult,
    assess,
    closest_route,
    fmt_hkd,
)
from lionrock.listing.events import (
    CsrcFilingCompleted,
    CsrcFilingSubmitted,
    IssuerListed,
    IssuerProfileSubmitted,
    ListingAdvanced,
    ListingApplicationFiled,
    ListingApplicationLapsed,
    TechChannelEngaged,
)
from lionrock.listing.profile import (
    ProfileError,
    last_round_post_money_hkd,
    total_private_funding_hkd,
)
from lionrock.listing.workflow import (
    TRANSITIONS,
    IllegalTransition,
    Milestone,
    State,
    Trigger,
    timetable,
)

__all__ = [
    "ROUTES",
    "TRANSITIONS",
    "AdvanceListing",
    "Assessment",
    "CheckResult",
    "CompleteCsrcFiling",
    "CsrcFilingCompleted",
    "CsrcFilingSubmitted",
    "EngageTechChannel",
    "ExpireListingApplications",
    "FileCsrc",
    "FileListingApplication",
    "Figures",
    "IllegalTransition",
    "IssuerListed",
    "IssuerProfile",
    "IssuerProfileSubmitted",
    "IssuerRecord",
    "ListingAdvanced",
    "ListingApplicationFiled",
    "ListingApplicationLapsed",
    "ListingCode",
    "ListingContext",
    "Milestone",
    "ProfileError",
    "RouteResult",
    "State",
    "SubmitIssuerProfile",
    "TechChannelEngaged",
    "Trigger",
    "assess",
    "closest_route",
    "fmt_hkd",
    "last_round_post_money_hkd",
    "timetable",
    "total_private_funding_hkd",
]
