"""Property: for any mix of clerks' claims, settlement rows, reversals, batch runs and auditors'
decisions for the same stays, no stay is paid twice, every paid stay has one claim, and nothing
is lost. (An auditor who overrides an R06 rejection pays a duplicate knowingly: not generated.)"""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import batch.adjudicate as job
from mutualaid.claims.intake import submit_batch
from mutualaid.claims.review import review
from mutualaid.enrollments import import_roster
from mutualaid.settlements.match import same_stay
from mutualaid.settlements.service import import_settlements
from mutualaid.store.models import Claim
from mutualaid.store.models_settlements import Settlement
from tests.conftest import _truncate
from tests.test_import import CLAIM_HEAD, ROSTER_HEAD, hosp_row, roster_row, write
from tests.test_settlements import HEAD, srow

D = dt.date.fromisoformat
# three stays of one member; B and B2 are the same stay with dates a day apart
STAYS = {"A": ("2026-04-03", "2026-04-15"), "B": ("2026-05-10", "2026-05-12"), "B2": ("2026-05-10", "2026-05-13"),
         "C": ("2026-06-01", "2026-06-04")}
SAME = {"A": "A", "B": "B", "B2": "B", "C": "C"}
BASES = ("12000.00", "11000.00")

event = st.one_of(
    st.tuples(st.just("clerk"), st.sampled_from(sorted(STAYS)), st.sampled_from(BASES)),
    st.tuples(st.just("settle"), st.sampled_from(sorted(STAYS)), st.sampled_from(BASES)),
    st.tuples(st.just("reverse"), st.integers(0, 5), st.just("")),
    st.tuples(st.just("run"), st.just(""), st.just("")),
    st.tuples(st.just("review"), st.integers(0, 5), st.sampled_from(("approve", "reject"))),
)


def _amounts(base: str) -> dict[str, str]:
    return {"in_policy_self_pay": base, "out_of_policy_self_pay": "1000.00" if base == "12000.00" else "2000.00"}


def _play(db, tmp, events) -> set[str]:  # noqa: ANN001
    """Apply the events; returns the stays that were filed or settled (and not cancelled)."""
    issued: list[str] = []
    n = 0
    for kind, what, base in events:
        n += 1
        if kind == "clerk":
            adm, dis = STAYS[what]
            row = hosp_row(claim_no=f"C{n}", admission_date=adm, discharge_date=dis, submitted_date="2026-06-20",
                           total_cost="20000.00", insurance_paid="7000.00", **_amounts(base))
            submit_batch(db, write(tmp / f"c{n}.csv", CLAIM_HEAD, [row]))
        elif kind == "settle":
            adm, dis = STAYS[what]
            issued.append(f"S{n}")
            import_settlements(db, write(tmp / f"s{n}.csv", HEAD, [srow(
                settlement_no=f"S{n}", admission_date=adm, discharge_date=dis, settlement_date="2026-06-10",
                **_amounts(base))]), as_of=dt.date(2026, 7, 1))
        elif kind == "reverse" and issued:
            original = issued[what % len(issued)]
            import_settlements(db, write(tmp / f"r{n}.csv", HEAD, [srow(
                settlement_no=f"R{n}", is_reversal="Y", reverses=original, settlement_date="2026-06-11")]),
                as_of=dt.date(2026, 7, 1))
        elif kind == "run":
            job.run(db, as_of=dt.date(2026, 7, 1))
        elif kind == "review":  # an auditor approves a pending claim or rejects a counting one (no overrides
            with db.transaction() as s:  # of a rejection: an auditor may knowingly pay a duplicate)
                statuses = ("PENDING_REVIEW",) if base == "approve" else ("APPROVED", "PENDING_REVIEW")
                decided = s.execute(select(Claim.claim_no).where(Claim.status.in_(statuses))
                                    .order_by(Claim.claim_no)).scalars().all()
                if decided:
                    review(s, decided[what % len(decided)], base, reason="property", user="auditor",
                           as_of=dt.date(2026, 7, 1))
    job.run(db, as_of=dt.date(2026, 7, 2))
    return set()


def _check(db) -> None:  # noqa: ANN001
    with db.sessions() as s:
        claims = s.execute(select(Claim)).scalars().all()
        live = s.execute(select(Settlement).where(Settlement.is_reversal.is_(False),
                                                  Settlement.reversed_by.is_(None))).scalars().all()
    assert all(c.status != "RECEIVED" for c in claims)
    by_id = {c.id: c for c in claims}
    for stay in set(SAME.values()):
        adm, dis = (D(x) for x in STAYS[stay])
        mine = [c for c in claims if same_stay(c.admission_date, c.discharge_date, adm, dis)]
        active = [c for c in mine if c.status in ("APPROVED", "PENDING_REVIEW")]
        paid = [c for c in active if c.payout_fen > 0]
        assert len(paid) <= 1, [(c.claim_no, c.status, c.payout_fen) for c in paid]   # never paid twice
        assert len(active) <= 1, [(c.claim_no, c.status) for c in active]            # a paid stay: one claim
        clerk_filed = [c for c in mine if c.source == "clerk"]
        if clerk_filed:  # nothing lost: the clerk's stay has a decided claim that is not withdrawn
            assert any(c.status != "WITHDRAWN" for c in mine)
    for st_ in live:  # a live settlement belongs to a claim that stands
        assert st_.claim_id is not None and by_id[st_.claim_id].status != "WITHDRAWN"


@pytest.mark.store
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(events=st.lists(event, min_size=1, max_size=7))
@example(events=[("settle", "A", "12000.00"), ("clerk", "A", "11000.00")])
@example(events=[("settle", "A", "12000.00"), ("run", "", ""), ("clerk", "A", "12000.00")])
@example(events=[("clerk", "B", "12000.00"), ("settle", "B2", "12000.00"), ("reverse", 0, ""),
                 ("settle", "B", "11000.00")])
@example(events=[("settle", "A", "12000.00"), ("run", "", ""), ("reverse", 0, ""), ("settle", "A", "12000.00"),
                 ("clerk", "A", "12000.00")])
@example(events=[("settle", "B", "12000.00"), ("settle", "B2", "11000.00"), ("reverse", 0, "")])
@example(events=[("settle", "B", "12000.00"), ("settle", "B2", "11000.00"), ("clerk", "B", "12000.00"),
                 ("clerk", "B2", "12000.00")])
def test_no_stay_is_paid_twice(db, tmp_path_factory, events) -> None:  # noqa: ANN001
    _truncate(db)
    tmp = tmp_path_factory.mktemp("mix")
    import_roster(db, write(tmp / "r.csv", ROSTER_HEAD, [roster_row(start_date="2025-01-01", end_date="2025-12-31"),
                                                         roster_row()]))
    _play(db, tmp, events)
    try:
        _check(db)
    except AssertionError as e:
        raise AssertionError(f"{events}: {e}") from None
