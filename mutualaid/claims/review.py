"""Auditors' decisions: approve, reject or override, with a reason, in the audit log.

A decision that changes an amount re-adjudicates the member's later claims in the same
product that no auditor has decided (policy.md §4), recording each change.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from mutualaid import audit
from mutualaid.claims.adjudication import (
    APPROVED,
    REJECTED,
    ClaimIn,
    History,
    MemberCase,
    Prior,
    adjudicate_members,
)
from mutualaid.claims.decide import CLAIM_IN_COLUMNS, ENGINE_USER, member_records
from mutualaid.money import fmt
from mutualaid.settlements.service import with_settlement_figures
from mutualaid.settlements.terms import WITHDRAWN
from mutualaid.store.models import Claim, Decision


class ReviewError(ValueError):
    pass


class ReviewConflict(ReviewError):
    """Someone else decided the claim since it was read: nothing was changed."""


@dataclass
class Change:
    claim_no: str
    before: tuple[str, int]
    after: tuple[str, int]


@dataclass
class ReviewResult:
    claim_no: str
    status: str
    payout_fen: int
    readjudicated: list[Change] = field(default_factory=list)


def _latest_decision(session: Session, claim_id: int) -> Decision | None:
    return session.execute(select(Decision).where(Decision.claim_id == claim_id)
                           .order_by(Decision.id.desc()).limit(1)).scalar()


def review(session: Session, claim_no: str, action: str, *, reason: str, user: str, as_of: dt.date,
           payout_fen: int | None = None, expected_version: int | None = None) -> ReviewResult:
    """Record an auditor's decision on a decided claim; the caller commits."""
    if action not in ("approve", "reject"):
        raise ReviewError(f"unknown action {action!r}")
    if not reason or not reason.strip():
        raise ReviewError("a written reason is required / 必须填写理由")
    if not user or not user.strip():
        raise ReviewError("the auditor's name is required / 必须填写审核人")
    audit.lock_chain(session)  # before any row lock: concurrent reviews of one member queue here
    claim = session.execute(select(Claim).where(Claim.claim_no == claim_no)).scalar()
    if claim is None:
        raise ReviewError(f"no claim {claim_no}")
    if claim.status == "RECEIVED":
        raise ReviewError(f"claim {claim_no} has not been adjudicated yet")
    if claim.status == WITHDRAWN:
        raise ReviewError(f"claim {claim_no} was withdrawn / 该申请已撤回")
    if expected_version is not None and claim.version != expected_version:
        raise ReviewConflict(f"claim {claim_no} was changed by someone else; reload it")
    last = _latest_decision(session, claim.id)
    if action == "reject":
        status, payout = REJECTED, 0
    else:
        status = APPROVED
        if payout_fen is not None:
            payout = payout_fen
        elif claim.status == REJECTED:
            payout = last.computed_payout_fen if last else 0
        else:
            payout = claim.payout_fen
    if payout < 0:
        raise ReviewError("payout cannot be negative")
    before = (claim.status, claim.payout_fen)
    version = claim.version
    res = session.execute(update(Claim).where(Claim.id == claim.id, Claim.version == version).values(
        status=status, payout_fen=payout, decided_on=as_of, decided_by=user, version=version + 1)
        .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise ReviewConflict(f"claim {claim_no} was changed by someone else; reload it")
    session.execute(insert(Decision).values(
        claim_id=claim.id, kind="REVIEW", status=status, payout_fen=payout,
        computed_payout_fen=last.computed_payout_fen if last else payout,
        reason_codes=claim.reason_codes, policy_version=claim.policy_version, decided_on=as_of,
        decided_by=user, reason=reason.strip(), trace=last.trace if last else {}))
    audit.record(session, user, f"claim.{action}", "claim", claim_no,
                 {"reason": reason.strip(), "before": {"status": before[0], "payout": fmt(before[1], fen=True)},
                  "after": {"status": status, "payout": fmt(payout, fen=True)}, "as_of": as_of})
    result = ReviewResult(claim_no, status, payout)
    counted_before = before[1] if before[0] != REJECTED else 0
    if counted_before != payout or (before[0] == REJECTED) != (status == REJECTED):
        result.readjudicated = readjudicate_after(session, claim, as_of=as_of, user=user)
    return result


def readjudicate_after(session: Session, claim: Claim, *, as_of: dt.date, user: str) -> list[Change]:
    """Re-decide the member's engine-decided claims processed after ``claim`` (same product)."""
    rows = session.execute(
        select(Claim).where(Claim.member_id_number == claim.member_id_number, Claim.product == claim.product,
                            Claim.status.not_in(("RECEIVED", WITHDRAWN)))
        .order_by(Claim.decision_seq).execution_options(populate_existing=True)).scalars().all()
    seq = claim.decision_seq or 0
    later = [c for c in rows if (c.decision_seq or 0) > seq and c.decided_by == ENGINE_USER]
    if not later:
        return []
    member, enrollments = member_records(session, claim.member_id_number)
    history = History()
    changes: list[Change] = []
    later_ids = {c.id for c in later}
    for c in rows:
        if c.id in later_ids:
            claim_in = ClaimIn(*session.execute(select(*CLAIM_IN_COLUMNS).where(Claim.id == c.id)).one())
            [claim_in] = with_settlement_figures(session.connection(), [claim_in])
            [(_, outcome)] = adjudicate_members([MemberCase(c.member_id_number, member, enrollments, history, [claim_in])])
            if (outcome.status, outcome.payout_fen, outcome.reasons) != (c.status, c.payout_fen, c.reason_codes):
                changes.append(Change(c.claim_no, (c.status, c.payout_fen), (outcome.status, outcome.payout_fen)))
                session.execute(update(Claim).where(Claim.id == c.id).values(
                    status=outcome.status, payout_fen=outcome.payout_fen, reason_codes=outcome.reasons,
                    allowance_days=outcome.allowance_days, category=outcome.category, decided_on=as_of,
                    version=c.version + 1).execution_options(synchronize_session=False))
                session.execute(insert(Decision).values(
                    claim_id=c.id, kind="READJUDICATION", status=outcome.status, payout_fen=outcome.payout_fen,
                    computed_payout_fen=outcome.computed_payout_fen, reason_codes=outcome.reasons,
                    policy_version=outcome.policy_version, decided_on=as_of, decided_by=ENGINE_USER,
                    reason=f"after review of {claim.claim_no} by {user}", trace=outcome.trace))
                audit.record(session, user, "claim.readjudicate", "claim", c.claim_no, {
                    "cause": claim.claim_no,
                    "before": {"status": c.status, "payout": fmt(c.payout_fen, fen=True), "codes": c.reason_codes},
                    "after": {"status": outcome.status, "payout": fmt(outcome.payout_fen, fen=True),
                              "codes": outcome.reasons}})
            if outcome.status != REJECTED:
                history.add(outcome.as_prior(claim_in))
        elif c.status != REJECTED:
            history.add(Prior(c.claim_no, c.product, c.enrollment_id, c.payout_fen, c.admission_date,
                              c.discharge_date, c.allowance_days or 0, c.category, c.diagnosis_date))
    return changes
