"""Money and shares at settlement: pre-funding holds, refunds, charges, and the clearing instructions.

Public applicants pre-fund the amount payable at the top of the range (price x shares plus
brokerage 1%, SFC levy, trading fee and AFRC levy, each rounded to the cent); at settlement each
pays the consideration at the offer price on the shares allotted plus the same charges on that
consideration, and the rest of the hold is refunded. Placees and cornerstones pay consideration
plus charges at settlement (no hold). Underwriters taking up shortfall pay consideration only.

Preferential applicants (assured entitlements, employees) are settled like placees: consideration
plus charges at settlement on the shares allotted, no pre-funding hold in the ledger (the parent's
or employer's registrar collects their money; the offering does not model that hold).

Over-allocated shares are delivered at listing by the stock lender (a separate instruction whose
``issuer_account`` is the lender's account), taken from the largest placees' allotments first, in
whole lots. When stabilisation closes, the issuer issues the exercised over-allotment shares to
the lender against payment at the offer price (a third instruction); the shares the stabilising
manager bought back in the market are returned to the lender outside the offering.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from lionrock.kernel.price import consideration_minor
from lionrock.offering.allocation import (
    AllocationResult,
    PreferentialApplications,
    amount_payable,
    charges_on,
    consideration_array,
)
from lionrock.offering.books import ApplicationBook, IoiBook
from lionrock.offering.definition import ResolvedOffering
from lionrock.offering.events import IpoSettlementInstructed

COLLECTORS = {"sfc_levy": "F:SFC", "trading_fee": "F:HKEX", "afrc_levy": "F:AFRC"}


def brokerage_account(participant: str) -> str:
    return f"F:BROKERAGE:{participant or 'SYNDICATE'}"


def application_holds(ro: ResolvedOffering, apps: ApplicationBook) -> np.ndarray:
    """Amount each application pre-funded (at the top of the range, with charges)."""
    return amount_payable(ro.spec.price_high, np.maximum(apps.shares, 0), ro.charges)


def holds_by_account(ro: ResolvedOffering, apps: ApplicationBook) -> list[tuple[str, int]]:
    holds = application_holds(ro, apps)
    if int(holds.sum()) < 2**53:  # float64 sums are exact below 2**53, and bincount is fast
        sums = np.bincount(apps.account, weights=holds, minlength=len(apps.account_values)).astype(np.int64)
    else:
        sums = np.zeros(len(apps.account_values), dtype=np.int64)
        np.add.at(sums, apps.account, holds)
    return sorted((apps.account_values[int(i)], int(sums[i])) for i in np.flatnonzero(sums))


class _Instruction:
    def __init__(self) -> None:
        self.shares: dict[str, int] = defaultdict(int)
        self.consideration: dict[str, int] = defaultdict(int)
        self.account_fees: dict[str, int] = defaultdict(int)
        self.fees: dict[str, int] = defaultdict(int)

    def allot(self, account: str, shares: int, price: int, participant: str | None, ro: ResolvedOffering) -> None:
        if shares <= 0:
            return
        cons = consideration_minor(price, shares)
        self.shares[account] += shares
        self.consideration[account] += cons
        if participant is None:
            return
        parts = charges_on(np.asarray([cons], dtype=np.int64), ro.charges)
        for name, amount in parts.items():
            a = int(amount[0])
            if a:
                self.account_fees[account] += a
                self.fees[brokerage_account(participant) if name == "brokerage" else COLLECTORS[name]] += a

    def event(self, ro: ResolvedOffering, delivering: str, price: int, refunds: Iterable[tuple[str, int]] = ()) -> IpoSettlementInstructed:
        spec = ro.spec
        return IpoSettlementInstructed(
            offering_id=spec.offering_id,
            instrument=spec.instrument,
            currency=spec.currency,
            issuer_account=delivering,
            price=price,
            allotments=sorted((a, s, self.consideration[a]) for a, s in self.shares.items()),
            refunds=sorted(r for r in refunds if r[1] > 0),
            fees=sorted((k, v) for k, v in self.fees.items() if v),
            account_fees=sorted((k, v) for k, v in self.account_fees.items() if v),
        )


def _public_part(
    ro: ResolvedOffering, apps: ApplicationBook, result: AllocationResult, price: int, ins: _Instruction
) -> list[tuple[str, int]]:
    allotted = result.app_allotted
    cons = consideration_array(price, allotted)
    parts = charges_on(cons, ro.charges)
    paid = cons + sum(parts.values())
    refund = application_holds(ro, apps) - paid
    n_acc = len(apps.account_values)

    def by_account(values: np.ndarray) -> np.ndarray:
        out = np.zeros(n_acc, dtype=np.int64)
        np.add.at(out, apps.account, values)
        return out

    shares_acc, cons_acc, refund_acc = by_account(allotted), by_account(cons), by_account(refund)
    fees_acc = by_account(paid - cons)
    for i in np.flatnonzero(shares_acc):
        account = apps.account_values[int(i)]
        ins.shares[account] += int(shares_acc[i])
        ins.consideration[account] += int(cons_acc[i])
        ins.account_fees[account] += int(fees_acc[i])
    n_part = len(apps.participant_values)
    brokerage = np.zeros(n_part, dtype=np.int64)
    np.add.at(brokerage, apps.participant, parts["brokerage"])
    for i in np.flatnonzero(brokerage):
        ins.fees[brokerage_account(apps.participant_values[int(i)])] += int(brokerage[i])
    for name, collector in COLLECTORS.items():
        ins.fees[collector] += int(parts[name].sum())
    return [(apps.account_values[int(i)], int(refund_acc[i])) for i in np.flatnonzero(refund_acc)]


def over_allocation_split(placee_shares: np.ndarray, over_allocated: int, lot: int) -> np.ndarray:
    """Shares of each placee delivered from the stock lender: largest placees first, whole lots."""
    out = np.zeros_like(placee_shares)
    left = over_allocated
    for i in np.lexsort((np.arange(len(placee_shares)), -placee_shares)):
        if left <= 0:
            break
        take = min(int(placee_shares[i]), left) // lot * lot
        out[i] = take
        left -= take
    return out


def settlement_instructions(
    ro: ResolvedOffering,
    iois: IoiBook,
    apps: ApplicationBook,
    result: AllocationResult,
    preferential: PreferentialApplications | None = None,
) -> list[IpoSettlementInstructed]:
    """The instructions clearing settles at listing: from the issuer, and (if any shares were
    over-allocated) from the stock lender. ``preferential``: the applications
    `allocate` was given (their allotments are ``result.preferential_allotted``)."""
    spec, price = ro.spec, result.summary.price
    issuer = _Instruction()
    refunds = _public_part(ro, apps, result, price, issuer)
    for c in result.cornerstones:
        participant = next((cs.participant for cs in spec.cornerstones if cs.investor == c.investor), "")
        issuer.allot(c.account, c.shares, price, participant, ro)
    if preferential is not None:
        for i in np.flatnonzero(result.preferential_allotted):
            issuer.allot(preferential.accounts[i], int(result.preferential_allotted[i]), price, preferential.participants[i], ro)
    from_lender = over_allocation_split(result.placee_shares, result.summary.over_allocated_shares, ro.lot)
    lender = _Instruction()
    for i in np.flatnonzero(result.placee_shares):
        issuer.allot(iois.account[i], int(result.placee_shares[i] - from_lender[i]), price, iois.participant[i], ro)
        lender.allot(iois.account[i], int(from_lender[i]), price, iois.participant[i], ro)
    issuer.allot(spec.underwriter_account, result.summary.underwriter_shares, price, None, ro)
    events = [issuer.event(ro, spec.issuer_account, price, refunds)]
    if result.summary.over_allocated_shares:
        events.append(lender.event(ro, spec.lender_account, price))
    return events


def exercise_instruction(ro: ResolvedOffering, price: int, exercised: int) -> IpoSettlementInstructed:
    """The issuer issues the exercised over-allotment shares to the stock lender at the offer price."""
    ins = _Instruction()
    ins.allot(ro.spec.lender_account, exercised, price, None, ro)
    return ins.event(ro, ro.spec.issuer_account, price)


__all__ = [
    "application_holds",
    "brokerage_account",
    "exercise_instruction",
    "holds_by_account",
    "over_allocation_split",
    "settlement_instructions",
]
