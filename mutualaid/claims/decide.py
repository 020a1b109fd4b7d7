"""Decide the undecided claims of a range of members: load, adjudicate, store.

The one use case behind the batch job, the Dask partitions and re-adjudication; the
caller owns the transaction, so a chunk is stored whole or not at all.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutualaid import audit
from mutualaid.claims.adjudication import (
    APPROVED,
    CLAIM_IN_FIELDS,
    ENROLLMENT_IN_FIELDS,
    PENDING,
    ClaimIn,
    EnrollmentIn,
    History,
    MemberCase,
    MemberIn,
    Outcome,
    Prior,
    adjudicate_members,
    checked_by_name,
)
from mutualaid.claims.status import COUNTING, RECEIVED
from mutualaid.settlements.service import fill_settlement_figures
from mutualaid.store.bulk import in_values, insert_rows, update_rows
from mutualaid.store.models import Claim, Decision, Enrollment, Member, utc_now

ENGINE_USER = "engine"
CLAIM_IN_COLUMNS = (Claim.id, Claim.claim_no, Claim.product, Claim.member_id_number, Claim.member_name,
                    Claim.submitted_date, Claim.event_date, Claim.admission_date, Claim.discharge_date,
                    Claim.cause, Claim.in_policy_self_pay_fen, Claim.diagnosis_code, Claim.diagnosis_date,
                    Claim.pathology_confirmed, Claim.surgery)
DECISION_COLUMNS = ("claim_id", "kind", "status", "payout_fen", "computed_payout_fen", "reason_codes",
                    "policy_version", "decided_on", "decided_by", "reason", "trace", "created_at")
CLAIM_DECIDED_COLUMNS = ("status", "payout_fen", "reason_codes", "policy_version", "enrollment_id", "decided_on",
                         "decided_by", "allowance_days", "category", "decision_seq")
# what Prior.from_row reads, in Prior's field order (a claim without allowance days counts 0)
PRIOR_COLUMNS = tuple(func.coalesce(Claim.allowance_days, 0).label(name) if name == "allowance_days"
                      else getattr(Claim, name) for name in Prior.COLUMNS)


class DecisionConflict(RuntimeError):
    """A claim changed under us (another job or an auditor): the chunk is rolled back."""


@dataclass
class Tally:
    """What a run decided. Approved and pending amounts are kept apart: a pending payout is
    not money granted, and adding the two gave a misleading "total payout"."""

    by_status: Counter[str] = field(default_factory=Counter)
    approved_fen: int = 0
    pending_fen: int = 0
    decided: int = 0
    waiting: int = 0  # received claims submitted after the as-of date: left for a later run

    def add(self, outcome: Outcome) -> None:
        self.by_status[outcome.status] += 1
        if outcome.status == APPROVED:
            self.approved_fen += outcome.payout_fen
        elif outcome.status == PENDING:
            self.pending_fen += outcome.payout_fen
        self.decided += 1

    def merge(self, other: "Tally") -> None:
        self.by_status.update(other.by_status)
        self.approved_fen += other.approved_fen
        self.pending_fen += other.pending_fen
        self.decided += other.decided

    def details(self) -> dict[str, object]:
        """The audit entry's figures (and what :meth:`from_details` reads back)."""
        return {"decided": self.decided, "by_status": dict(self.by_status),
                "approved_fen": self.approved_fen, "pending_fen": self.pending_fen}

    @classmethod
    def from_details(cls, details: dict) -> "Tally":
        return cls(Counter(details["by_status"]), int(details.get("approved_fen", 0)),
                   int(details.get("pending_fen", 0)), int(details["decided"]))


def _due(as_of: dt.date | None):  # noqa: ANN202
    """RECEIVED claims a run as of this date may decide: none submitted after it (policy: a
    claim is never decided before it was submitted)."""
    cond = Claim.status == RECEIVED
    return cond if as_of is None else cond & (Claim.submitted_date <= as_of)


def pending_member_ids(session: Session, as_of: dt.date | None = None) -> list[str]:
    """ID numbers with undecided claims due by ``as_of``, sorted: the unit of partitioning."""
    return list(session.execute(
        select(Claim.member_id_number).where(_due(as_of))
        .group_by(Claim.member_id_number).order_by(Claim.member_id_number)).scalars())


def waiting_count(session: Session, as_of: dt.date) -> int:
    """Received claims submitted after ``as_of``: a later run decides them."""
    return session.execute(select(func.count()).select_from(Claim).where(
        Claim.status == RECEIVED, Claim.submitted_date > as_of)).scalar() or 0


def load_cases(session: Session, lo: str, hi: str, as_of: dt.date | None = None) -> list[MemberCase]:
    """Members with id_number in [lo, hi] that have RECEIVED claims, with what they need.

    The range selects the undecided claims; members, enrollments and earlier claims are
    then fetched for exactly those members (a range can span far more enrolled members).
    """
    conn = session.connection()  # Core rows: the ORM's row processing is not needed here
    claims: dict[str, list[ClaimIn]] = {}
    rows = conn.execute(select(*CLAIM_IN_COLUMNS).where(_due(as_of), Claim.member_id_number.between(lo, hi)))
    for row in checked_by_name(rows, CLAIM_IN_FIELDS).all():
        claim = ClaimIn(*row)
        claims.setdefault(claim.member_id_number, []).append(claim)
    fill_settlement_figures(conn, claims)  # V05's input (mutualaid.settlements)
    members: dict[str, MemberIn] = {}
    enrollments: dict[str, list[EnrollmentIn]] = {}
    histories: dict[str, History] = {}
    ids = sorted(claims)
    if not ids:
        return []
    for m in conn.execute(select(Member.id_number, Member.name, Member.birth_date, Member.sex)
                          .where(in_values(conn, Member.id_number, ids))).all():
        members[m.id_number] = MemberIn(m.id_number, m.name, m.birth_date, m.sex)
    rows = conn.execute(
        select(Member.id_number, *(getattr(Enrollment, name) for name in ENROLLMENT_IN_FIELDS))
        .join(Member, Member.id == Enrollment.member_id).where(in_values(conn, Member.id_number, ids)))
    for id_number, *values in checked_by_name(rows, ENROLLMENT_IN_FIELDS, lead=1).all():
        enrollments.setdefault(id_number, []).append(EnrollmentIn(*values))
    rows = conn.execute(
        select(Claim.member_id_number, *PRIOR_COLUMNS)
        .where(in_values(conn, Claim.member_id_number, ids), Claim.status.in_(COUNTING))
        .order_by(Claim.decision_seq))
    for id_number, *values in checked_by_name(rows, Prior.COLUMNS, lead=1).all():
        histories.setdefault(id_number, History()).add(Prior(*values))
    return [MemberCase(i, members.get(i), enrollments.get(i, []), histories.get(i, History()), claims[i])
            for i in ids]


def member_records(session: Session, id_number: str) -> tuple[MemberIn | None, list[EnrollmentIn]]:
    m = session.execute(select(Member).where(Member.id_number == id_number)).scalar()
    if m is None:
        return None, []
    enrollments = [EnrollmentIn.from_row(e) for e in session.execute(select(Enrollment).where(Enrollment.member_id == m.id)).scalars()]
    return MemberIn(m.id_number, m.name, m.birth_date, m.sex), enrollments


def next_seq(session: Session) -> int:
    return (session.execute(select(func.max(Claim.decision_seq))).scalar() or 0) + 1


def store_outcomes(session: Session, outcomes: list[tuple[ClaimIn, Outcome]], *, as_of: dt.date,
                   first_seq: int, kind: str = "AUTO", user: str = ENGINE_USER) -> Tally:
    """Insert the decisions and update the claims, guarded so nothing is decided twice."""
    tally = Tally()
    if not outcomes:
        return tally
    conn = session.connection()
    now = utc_now()
    decisions, rows = [], []
    for k, (_, o) in enumerate(outcomes):
        reasons = o.reasons
        decisions.append((o.claim_id, kind, o.status, o.payout_fen, o.computed_payout_fen, reasons,
                          o.policy_version, as_of, user, None, o.trace, now))
        rows.append((o.status, o.payout_fen, reasons, o.policy_version, o.enrollment_id, as_of, user,
                     o.allowance_days, o.category, first_seq + k, o.claim_id))
        tally.add(o)
    insert_rows(conn, Decision.__table__, DECISION_COLUMNS, decisions, json_columns=("trace",))
    changed = update_rows(conn, Claim.__table__, CLAIM_DECIDED_COLUMNS, f"id = {{}} AND status = '{RECEIVED}'", ("id",),
                          rows, also_set="version = version + 1")
    if changed != len(rows):
        raise DecisionConflict(f"{len(rows) - changed} claims were decided by someone else meanwhile")
    return tally


def range_state(session: Session, lo: str, hi: str) -> tuple[int, int]:
    """(claims, sum of versions) of the members in [lo, hi]: changes whenever any of their
    claims is added, decided, reviewed or re-adjudicated (versions only grow)."""
    n, versions = session.connection().execute(
        select(func.count(), func.coalesce(func.sum(Claim.version), 0))
        .where(Claim.member_id_number.between(lo, hi))).one()
    return int(n), int(versions)


def decide_range(session: Session, lo: str, hi: str, *, as_of: dt.date) -> Tally:
    """The unit of work of the batch job: every due undecided claim of members in [lo, hi].

    Adjudication runs without a lock (a chunk is seconds of work); storing takes the writers'
    lock and first checks that none of these members' claims changed since they were read
    (say an auditor's review committed meanwhile). If one did, the chunk is read and decided
    again under the lock, so the stored decisions are those of a serial order.
    """
    seen = range_state(session, lo, hi)
    outcomes = adjudicate_members(load_cases(session, lo, hi, as_of))
    audit.lock_chain(session)
    if range_state(session, lo, hi) != seen:
        outcomes = adjudicate_members(load_cases(session, lo, hi, as_of))
    return store_outcomes(session, outcomes, as_of=as_of, first_seq=next_seq(session))


#: the audit action of one decided member range (batch.adjudicate, batch.distributed)
ADJUDICATE_ACTION = "claims.adjudicate"


def recorded_tally(session: Session, run_id: str, key: str) -> Tally | None:
    """The counts a committed attempt of run ``run_id`` recorded for member range ``key``, if
    any: a retried task of that run then decides nothing again (batch.distributed)."""
    from mutualaid.store.models import AuditEntry

    for details in session.execute(
            select(AuditEntry.details).where(AuditEntry.entity == "members", AuditEntry.entity_key == key,
                                             AuditEntry.action == ADJUDICATE_ACTION)).scalars():
        if isinstance(details, dict) and details.get("run") == run_id:
            return Tally.from_details(details)
    return None


def decide_and_record(session: Session, lo: str, hi: str, *, as_of: dt.date, user: str,
                      run_id: str | None = None) -> Tally:
    """One chunk of a batch run: decide members [lo, hi] and record it in the audit log, with
    ``run_id`` for a distributed run (whose retried tasks ask :func:`recorded_tally` first).
    The caller commits."""
    key = f"{lo}..{hi}"
    tally = decide_range(session, lo, hi, as_of=as_of)
    details = {"as_of": as_of, **tally.details()}
    if run_id is not None:
        details["run"] = run_id
    audit.record(session, user, ADJUDICATE_ACTION, "members", key, details)
    return tally


__all__ = ["ADJUDICATE_ACTION", "Tally", "decide_and_record", "decide_range", "recorded_tally", "pending_member_ids", "load_cases", "store_outcomes",
           "waiting_count"]
