"""Conformance: pools A and B, the application cap, multiple and double-dipping applications."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from offering_builders import at_price, batch, book, ioi_book, iois, resolved

from lionrock.kernel.money import Rate
from lionrock.offering.allocation import (
    POOL_A,
    POOL_B,
    ApplicationStatus,
    allocate,
    amount_payable,
    application_status,
    split_pools,
)
from lionrock.offering.books import _encode, ioi_book_from_iois

N = 100_000_000  # large enough that pool B exists at HK$10: initial 10% = 10,000,000; cap 5,000,000


def _ro():
    return resolved(shares_offered=N, public_share=Rate(10, 100))


def test_pool_boundary_excludes_brokerage_and_levies() -> None:
    """PN18 para 3.1: pool A is applications of HK$5m or less at the maximum offer price, measured
    without the brokerage and levies, as practised: Anker 0668 (allotment results, 30 Jun 2026,
    p.14-15) put its 50,000-share band in pool A at HK$99.32, HK$4,966,000, which is
    HK$5,016,089.56 with the 1% brokerage, 0.0027% SFC levy, 0.00565% trading fee and 0.00015%
    AFRC levy (examples/deals/anker-0668-2026)."""
    ro = _ro()
    last_a, first_b = 500_000, 500_100  # x HK$10.00: HK$5,000,000 exactly, then HK$5,001,000
    assert int(amount_payable(ro.spec.price_high, np.asarray([last_a]), ro.charges)[0]) > 500_000_000  # with charges: pool B
    apps = book(batch([last_a, first_b]))
    result = allocate(ro, at_price(ro.spec.price_high), ioi_book(ro, 10 * N), apps, seed=3)
    assert result.app_pool.tolist() == [POOL_A, POOL_B]
    anker = amount_payable(99_320, np.asarray([50_000]), ro.charges)
    assert 50_000 * 99_320 // 10 <= 500_000_000 < int(anker[0])  # Anker's band: in pool A only without the charges


def test_amount_payable_matches_prospectus_example() -> None:
    """MiniMax prospectus: 20 shares at HK$165 -> HK$3,333.28 (each charge rounded to the cent)."""
    ro = resolved(prospectus_date=resolved().spec.prospectus_date)
    assert int(amount_payable(165_000, np.asarray([20]), ro.charges)[0]) == 333_328


def test_application_cap_is_half_initial_public_tranche() -> None:
    """PN18 para 3.1: no application above the shares originally in one pool (half the initial
    public tranche, in board lots) is accepted."""
    ro = _ro()
    cap = ro.max_application_shares
    assert cap == 5_000_000
    apps = book(batch([cap, cap + 100]))
    status = application_status(ro, apps, ioi_book(ro, 0, investors=0))
    assert status.tolist() == [ApplicationStatus.VALID, ApplicationStatus.OVER_CAP]


def test_multiple_applications_all_rejected() -> None:
    """PN18 para 3.1: multiple applications within or between pools are rejected (all of them)."""
    ro = _ro()
    apps = book(batch([100, 6_000_000 // 2, 200], applicants=["X", "X", "Y"]))
    status = application_status(ro, apps, ioi_book(ro, 0, investors=0))
    assert status.tolist() == [ApplicationStatus.MULTIPLE, ApplicationStatus.MULTIPLE, ApplicationStatus.VALID]


def test_double_dipping_rejected() -> None:
    """No double dipping (prospectus 'How to Apply'): a placing investor may not apply publicly."""
    ro = _ro()
    book_ = ioi_book_from_iois(iois(ro, 1_000_000, investors=2))
    apps = book(batch([100, 100], applicants=["INV0", "RETAIL"]))
    assert application_status(ro, apps, book_).tolist() == [ApplicationStatus.DOUBLE_DIPPING, ApplicationStatus.VALID]


def test_not_whole_lots_and_non_positive_rejected() -> None:
    ro = _ro()
    apps = book(batch([150, 0, 100]))
    status = application_status(ro, apps, ioi_book(ro, 0, investors=0))
    assert status.tolist() == [ApplicationStatus.NOT_BOARD_LOTS, ApplicationStatus.NON_POSITIVE, ApplicationStatus.VALID]


def test_pools_split_equally_when_both_oversubscribed() -> None:
    """PN18 para 3.1: the public tranche divides equally into pools A and B."""
    assert split_pools(1001, 10**6, 10**6) == (501, 500)


def test_undersubscribed_pool_surplus_moves_to_other_pool() -> None:
    """PN18 para 3.1: an undersubscribed pool's surplus goes to the other pool."""
    assert split_pools(1000, 100, 10**6) == (100, 900)
    assert split_pools(1000, 10**6, 30) == (970, 30)
    assert split_pools(1000, 300, 200) == (300, 200)


def test_pool_sizes_in_allocation_follow_rules() -> None:
    ro = _ro()
    apps = book(batch([100] * 1000 + [5_000_000] * 30))
    result = allocate(ro, at_price(ro.spec.price_high), ioi_book(ro, 10 * N), apps, seed=3)
    s = result.summary
    assert s.final_public_shares == 10_000_000
    assert s.pool_a_demand_shares == 100_000 and s.pool_a_shares == 100_000  # pool A filled in full
    assert s.pool_b_shares == 9_900_000  # pool A's surplus moved to pool B
    assert int(result.app_allotted[:1000].sum()) == 100_000


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(["a", "b", "Z", "0", "é", "中", "\x00", " ", "-"]), max_size=4), min_size=1, max_size=40))
def test_application_book_codes_are_the_sorted_distinct_ids(values: list[str]) -> None:
    """The book's dictionary codes (`offering.books._encode`, fixed-width text for speed) equal
    ``np.unique`` over Python objects: same sorted values, same codes, and ids that differ only by a
    trailing NUL (which fixed-width text would drop) stay distinct."""
    codes, distinct = _encode(values)
    reference, inverse = np.unique(np.asarray(values, dtype=object), return_inverse=True)
    assert distinct == [str(v) for v in reference]
    assert codes.dtype == np.int32 and codes.tolist() == inverse.tolist()
