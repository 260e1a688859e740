"""The service access policy: the command allow-list per role, applicant identity, accounts inside
lists of structs (from the service-edge review)."""

from __future__ import annotations

import msgspec
import pytest

from lionrock.offering.commands import (
    ApplicationBatch,
    CornerstoneSpec,
    DefineOffering,
    LodgePublicApplications,
)
from lionrock.service.auth import Principal, Role
from lionrock.service.policy import Denied, Policy, ServiceCode
from testkit.service_ipo import RO

INV1 = Principal("inv1", Role.INVESTOR, participant="B1", accounts=("C:B1:I1",))
BRK1 = Principal("brk1", Role.BROKER, participant="B1")
SPO = Principal("spo", Role.SPONSOR, offerings=("OFF-A",), issuers=("ISS-A",))


def _policy(extra: dict[Role, set[str]] | None = None) -> Policy:
    return Policy(lambda oid, participant, cl: None, lambda kind, value: False, extra)


def _define(account: str, cornerstone_account: str) -> DefineOffering:
    spec = msgspec.structs.replace(
        RO.spec,
        offering_id="OFF-Z",
        issuer_id="ISS-Z",
        underwriter_account=account,
        stabilising_manager_account=account,
        stock_lender_account=account,
        cornerstones=[CornerstoneSpec(investor="C:B1:I1", name="Cornerstone", account=cornerstone_account, amount_minor=1_000_000)],
    )
    return DefineOffering(offering=spec)


@pytest.mark.parametrize("p", [INV1, BRK1], ids=["investor", "broker"])
def test_policy_investor_or_broker_define_offering_is_role_not_allowed(p: Principal) -> None:
    """An investor or broker naming its own accounts as underwriter / stabilising manager / lender
    may still not define an offering: that is a sponsor's command."""
    with pytest.raises(Denied) as d:
        _policy().check(p, _define("C:B1:I1", "C:B1:I1"))
    assert d.value.code == ServiceCode.ROLE_NOT_ALLOWED


def test_policy_sponsor_define_offering_is_allowed_and_granted() -> None:
    assert _policy().check(SPO, _define("P:UNDERWRITERS", "C:B2:I2")) == [("offering", "OFF-Z"), ("issuer", "ISS-Z")]


def test_policy_list_of_structs_cornerstone_account_not_yours_is_denied() -> None:
    """Lists of structs (``OfferingSpec.cornerstones``) are checked like nested structs."""
    with pytest.raises(Denied) as d:
        _policy({Role.INVESTOR: {"offering"}}).check(INV1, _define("C:B1:I1", "C:B2:I2"))
    assert d.value.code == ServiceCode.NOT_YOUR_ACCOUNT and d.value.field == "account"


def _lodge(applicant: str) -> LodgePublicApplications:
    return LodgePublicApplications(
        offering_id="OFF-A", batch=ApplicationBatch(applicants=[applicant], accounts=["C:B1:I1"], participants=["B1"], shares=[100])
    )


def test_policy_investor_application_under_another_identity_is_denied() -> None:
    """An investor applies under its own identity key only (else it could get another person's
    real applications rejected as multiple)."""
    with pytest.raises(Denied) as d:
        _policy().check(INV1, _lodge("HKID-SOMEONE-ELSE"))
    assert d.value.code == ServiceCode.NOT_YOUR_ACCOUNT and d.value.field == "applicants[0]"
    assert _policy().check(INV1, _lodge("inv1")) == []


def test_policy_broker_application_for_client_identity_is_allowed() -> None:
    """Brokers supply their clients' identities (as on FINI)."""
    assert _policy().check(BRK1, _lodge("HKID-CLIENT-7")) == []
