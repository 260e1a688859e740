"""The account grammar (`lionrock.kernel.account`) answers as the hand parsers it replaced did,
for well-formed and malformed names alike (differential, hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lionrock.kernel.account import (
    Account,
    AccountKind,
    account_kind,
    account_prefix,
    belongs_to,
    client_account,
    client_part,
    house_account,
    participant_of,
)

_OLD_KINDS = {"P": "participant", "C": "client", "I": "issuer", "F": "collector", "H": "clearing_house", "X": "external"}


def _old_account_kind(account: object) -> str | None:  # clearing.ledger before the kernel type
    if not isinstance(account, str) or "|" in account or account != account.strip():
        return None
    parts = account.split(":")
    kind = _OLD_KINDS.get(parts[0])
    if kind is None or len(parts) < 2 or not all(parts[1:]):
        return None
    if parts[0] == "P" and len(parts) != 2:
        return None
    if parts[0] == "C" and len(parts) < 3:
        return None
    return kind


def _old_participant_of(account: str) -> str:  # clearing.ledger and readmodel.tenancy
    parts = account.split(":")
    return parts[1] if len(parts) >= 2 and parts[0] in ("C", "P") else ""


_names = st.text(alphabet="PCIFHXZ:| .ab1", max_size=12)


@given(_names)
def test_account_grammar_matches_the_hand_parsers(text: str) -> None:
    assert account_kind(text) == _old_account_kind(text)
    assert participant_of(text) == _old_participant_of(text)
    for prefix in ("P", "C", "X", "I"):
        assert (account_prefix(text) == prefix) == text.startswith(f"{prefix}:")
    parsed = Account.parse(text)
    if parsed is not None:
        assert str(parsed) == text
        assert parsed.participant == (_old_participant_of(text) if parsed.kind in (AccountKind.PARTICIPANT, AccountKind.CLIENT) else "")


@given(st.text(alphabet="ab1:", max_size=6), st.text(alphabet="ab1.", max_size=6))
def test_account_constructors_and_ownership(participant: str, client: str) -> None:
    house, own = house_account(participant), client_account(participant, client)
    assert house == f"P:{participant}" and own == f"C:{participant}:{client}"
    assert belongs_to(house, participant) and belongs_to(own, participant)
    assert belongs_to(f"C:{participant}x:{client}", participant) == f"C:{participant}x:{client}".startswith(f"C:{participant}:")


def test_account_parse_names_kind_participant_and_client() -> None:
    account = Account.parse("C:BRK1:mainland.retail.7")
    assert account is not None and account.kind is AccountKind.CLIENT
    assert (account.participant, account.client) == ("BRK1", "mainland.retail.7")
    assert client_part("C:BRK1:mainland.retail.7") == "mainland.retail.7" and client_part("P:BRK1") == ""
    assert Account.parse("P:BRK1:X") is None and Account.parse("C:BRK1") is None and Account.parse(" X:BANK") is None
    assert Account.parse(42) is None and account_kind("X:FUNDING:BRK1") == "external"
