"""Decide the undecided claims of a range of members: load, adjudicate, store.

The one use case behind the batch job, the Dask partitions and re-adjudication; the
caller owns the transaction, so a chunk is stored whole or not at all.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from mutualaid.claims.adjudication import (
    REJECTED,
    ClaimIn,
    EnrollmentIn,
    History,
    MemberCase,
    MemberIn,
    Outcome,
    Prior,
    adjudicate_members,
)
from mutualaid.store.models import Claim, Decision, Enrollment, Member

ENGINE_USER = "engine"
IN_LIST = 2000  # ids per IN (...) list: well inside SQLite's and PostgreSQL's parameter limits
CLAIM_IN_COLUMNS = (Claim.id, Claim.claim_no, Claim.product, Claim.member_id_number, Claim.member_name,
                    Claim.submitted_date, Claim.event_date, Claim.admission_date, Claim.discharge_date,
                    Claim.cause, Claim.in_policy_self_pay_fen, Claim.diagnosis_code, Claim.diagnosis_date,
                    Claim.pathology_confirmed, Claim.surgery)
PRIOR_COLUMNS = (Claim.claim_no, Claim.product, Claim.enrollment_id, Claim.payout_fen, Claim.admission_date,
                 Claim.discharge_date, Claim.allowance_days, Claim.category, Claim.diagnosis_date)


class DecisionConflict(RuntimeError):
    """A claim changed under us (another job or an auditor): the chunk is rolled back."""


@dataclass
class Tally:
    by_status: Counter[str] = field(default_factory=Counter)
    payout_fen: int = 0
    decided: int = 0

    def add(self, outcome: Outcome) -> None:
        self.by_status[outcome.status] += 1
        self.payout_fen += outcome.payout_fen
        self.decided += 1

    def merge(self, other: "Tally") -> None:
        self.by_status.update(other.by_status)
        self.payout_fen += other.payout_fen
        self.decided += other.decided


def pending_member_ids(session: Session) -> list[str]:
    """ID numbers with undecided claims, sorted: the unit of partitioning."""
    return list(session.execute(
        select(Claim.member_id_number).where(Claim.status == "RECEIVED")
        .group_by(Claim.member_id_number).order_by(Claim.member_id_number)).scalars())


def load_cases(session: Session, lo: str, hi: str) -> list[MemberCase]:
    """Members with id_number in [lo, hi] that have RECEIVED claims, with what they need.

    The range selects the undecided claims; members, enrollments and earlier claims are
    then fetched for exactly those members (a range can span far more enrolled members).
    """
    claims: dict[str, list[ClaimIn]] = {}
    for row in session.execute(select(*CLAIM_IN_COLUMNS).where(Claim.member_id_number.between(lo, hi),
                                                               Claim.status == "RECEIVED")):
        claims.setdefault(row.member_id_number, []).append(ClaimIn(*row))
    members: dict[str, MemberIn] = {}
    enrollments: dict[str, list[EnrollmentIn]] = {}
    histories: dict[str, History] = {}
    ids = sorted(claims)
    for part in (ids[i:i + IN_LIST] for i in range(0, len(ids), IN_LIST)):
        for m in session.execute(select(Member.id_number, Member.name, Member.birth_date, Member.sex)
                                 .where(Member.id_number.in_(part))):
            members[m.id_number] = MemberIn(m.id_number, m.name, m.birth_date, m.sex)
        for e in session.execute(
                select(Member.id_number, Enrollment.id, Enrollment.product, Enrollment.units, Enrollment.start_date,
                       Enrollment.end_date, Enrollment.policy_version)
                .join(Member, Member.id == Enrollment.member_id).where(Member.id_number.in_(part))):
            enrollments.setdefault(e.id_number, []).append(EnrollmentIn(*e[1:]))
        for p in session.execute(
                select(Claim.member_id_number, *PRIOR_COLUMNS)
                .where(Claim.member_id_number.in_(part), Claim.status.in_(("APPROVED", "PENDING_REVIEW")))
                .order_by(Claim.decision_seq)):
            histories.setdefault(p.member_id_number, History()).add(
                Prior(p.claim_no, p.product, p.enrollment_id, p.payout_fen, p.admission_date, p.discharge_date,
                      p.allowance_days or 0, p.category, p.diagnosis_date))
    return [MemberCase(i, members.get(i), enrollments.get(i, []), histories.get(i, History()), claims[i])
            for i in ids]


def member_records(session: Session, id_number: str) -> tuple[MemberIn | None, list[EnrollmentIn]]:
    m = session.execute(select(Member).where(Member.id_number == id_number)).scalar()
    if m is None:
        return None, []
    enrollments = [EnrollmentIn(e.id, e.product, e.units, e.start_date, e.end_date, e.policy_version)
                   for e in session.execute(select(Enrollment).where(Enrollment.member_id == m.id)).scalars()]
    return MemberIn(m.id_number, m.name, m.birth_date, m.sex), enrollments


def next_seq(session: Session) -> int:
    return (session.execute(select(func.max(Claim.decision_seq))).scalar() or 0) + 1


def store_outcomes(session: Session, outcomes: list[tuple[ClaimIn, Outcome]], *, as_of: dt.date,
                   first_seq: int, kind: str = "AUTO", user: str = ENGINE_USER) -> Tally:
    """Insert the decisions and update the claims, guarded so nothing is decided twice."""
    tally = Tally()
    if not outcomes:
        return tally
    session.execute(insert(Decision), [
        {"claim_id": o.claim_id, "kind": kind, "status": o.status, "payout_fen": o.payout_fen,
         "computed_payout_fen": o.computed_payout_fen, "reason_codes": o.reasons,
         "policy_version": o.policy_version, "decided_on": as_of, "decided_by": user, "reason": None,
         "trace": o.trace} for _, o in outcomes])
    params = []
    for k, (_, o) in enumerate(outcomes):
        params.append({"b_id": o.claim_id, "b_status": o.status, "b_payout": o.payout_fen,
                       "b_reasons": o.reasons, "b_pv": o.policy_version, "b_enr": o.enrollment_id,
                       "b_on": as_of, "b_by": user, "b_days": o.allowance_days, "b_cat": o.category,
                       "b_seq": first_seq + k})
        tally.add(o)
    stmt = (update(Claim.__table__)
            .where(and_(Claim.__table__.c.id == bindparam("b_id"), Claim.__table__.c.status == "RECEIVED"))
            .values(status=bindparam("b_status"), payout_fen=bindparam("b_payout"),
                    reason_codes=bindparam("b_reasons"), policy_version=bindparam("b_pv"),
                    enrollment_id=bindparam("b_enr"), decided_on=bindparam("b_on"),
                    decided_by=bindparam("b_by"), allowance_days=bindparam("b_days"),
                    category=bindparam("b_cat"), decision_seq=bindparam("b_seq"),
                    version=Claim.__table__.c.version + 1))
    result = session.connection().execute(stmt, params)
    if result.rowcount != len(params):
        raise DecisionConflict(f"{len(params) - result.rowcount} claims were decided by someone else meanwhile")
    return tally


def decide_range(session: Session, lo: str, hi: str, *, as_of: dt.date) -> Tally:
    """The unit of work of the batch job: every undecided claim of members in [lo, hi]."""
    cases = load_cases(session, lo, hi)
    outcomes = adjudicate_members(cases)
    return store_outcomes(session, outcomes, as_of=as_of, first_seq=next_seq(session))


__all__ = ["REJECTED", "Tally", "decide_range", "pending_member_ids", "load_cases", "store_outcomes"]
