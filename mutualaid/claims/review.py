"""Auditors' decisions: approve, reject or override, with a reason, in the audit log.

A decision that changes an amount re-adjudicates the member's later claims in the same
product that no auditor has decided (policy.md §4), recording each change.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

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
    fallback_policy,
)
from mutualaid.claims.decide import CLAIM_IN_COLUMNS, ENGINE_USER, member_records
from mutualaid.money import ZERO, fmt, from_fen, grouped, to_fen
from mutualaid.policy import HospPolicy, policies
from mutualaid.rules.amounts import women_amount
from mutualaid.settlements.service import with_settlement_figures
from mutualaid.claims.status import COUNTING, RECEIVED, UNDECIDED, WITHDRAWN
from mutualaid.store.models import Claim, Decision, Enrollment, FileImport



class ReviewError(ValueError):
    pass


class ReviewConflict(ReviewError):
    """Someone else decided the claim since it was read: nothing was changed."""


class ReviewForbidden(ReviewError):
    """Four-eyes: the person who filed a claim's batch may not decide it."""


@dataclass(frozen=True)
class PayoutLimit:
    """The most an auditor may pay on a claim, and why (policy.md caps, once-only amounts)."""

    fen: int
    why_zh: str
    why_en: str

    def refusal(self, asked_fen: int) -> str:
        return (f"改判金额 {grouped(asked_fen)} 超过上限 {grouped(self.fen)}（{self.why_zh}）"
                f" / the amount {grouped(asked_fen)} exceeds the limit {grouped(self.fen)} ({self.why_en})")


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
    overridden_codes: list[str] = field(default_factory=list)  # R codes an approval sets aside
    limited_to: PayoutLimit | None = None  # the default amount was cut to this limit
    replaced_review: tuple[str, str, int] | None = None  # (auditor, status, payout) of a prior review


def _latest_decision(session: Session, claim_id: int) -> Decision | None:
    return session.execute(select(Decision).where(Decision.claim_id == claim_id)
                           .order_by(Decision.id.desc()).limit(1)).scalar()


def review(session: Session, claim_no: str, action: str, *, reason: str, user: str, as_of: dt.date,
           payout_fen: int | None = None, expected_version: int | None = None) -> ReviewResult:
    """Record an auditor's decision on a decided claim; the caller commits.

    Every interface calls this, so the rules an auditor can hit hold everywhere: a written
    reason, four-eyes (not on a batch one filed), and an amount no higher than the policy
    leaves (:func:`payout_limit`).
    """
    if action not in ("approve", "reject"):
        raise ReviewError(f"unknown action {action!r}")
    if not reason or not reason.strip():
        raise ReviewError("a written reason is required / 必须填写理由")
    if not user or not user.strip():
        raise ReviewError("the auditor's name is required / 必须填写审核人")
    audit.lock_chain(session)  # before any read: reviews and batch chunks queue here (serial order)
    claim = session.execute(select(Claim).where(Claim.claim_no == claim_no)
                            .execution_options(populate_existing=True)).scalar()
    if claim is None:
        raise ReviewError(f"no claim {claim_no}")
    if claim.status == RECEIVED:
        raise ReviewError(f"claim {claim_no} has not been adjudicated yet")
    if claim.status == WITHDRAWN:
        raise ReviewError(f"claim {claim_no} was withdrawn / 该申请已撤回")
    if expected_version is not None and claim.version != expected_version:
        raise ReviewConflict(f"claim {claim_no} was changed by someone else; reload it")
    filed_by = session.execute(select(FileImport.imported_by).where(FileImport.id == claim.batch_id)).scalar()
    if filed_by is not None and filed_by == user:
        raise ReviewForbidden(f"{user} filed the batch of claim {claim_no}: another auditor must decide it "
                              f"/ 不能审核本人提交的批次")
    last = _latest_decision(session, claim.id)
    result = ReviewResult(claim_no, claim.status, claim.payout_fen)
    if claim.decided_by != ENGINE_USER:
        result.replaced_review = (claim.decided_by, claim.status, claim.payout_fen)
    if action == "reject":
        status, payout = REJECTED, 0
    else:
        status = APPROVED
        limit = payout_limit(session, claim)
        if payout_fen is not None:
            if payout_fen < 0:
                raise ReviewError("payout cannot be negative / 金额不能为负")
            if payout_fen > limit.fen:
                raise ReviewError(limit.refusal(payout_fen))
            payout = payout_fen
        else:
            payout = (last.computed_payout_fen if last else 0) if claim.status == REJECTED else claim.payout_fen
            if payout > limit.fen:
                payout, result.limited_to = limit.fen, limit
        result.overridden_codes = [c for c in (claim.reason_codes or "").split(";") if c.startswith("R")]
    before = (claim.status, claim.payout_fen)
    version = claim.version
    res = session.execute(update(Claim).where(Claim.id == claim.id, Claim.version == version).values(
        status=status, payout_fen=payout, decided_on=as_of, decided_by=user, version=version + 1)
        .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise ReviewConflict(f"claim {claim_no} was changed by someone else; reload it")
    trace = dict(last.trace) if last and last.trace else {}
    if result.overridden_codes:
        trace["overrides"] = result.overridden_codes
    session.execute(insert(Decision).values(
        claim_id=claim.id, kind="REVIEW", status=status, payout_fen=payout,
        computed_payout_fen=last.computed_payout_fen if last else payout,
        reason_codes=claim.reason_codes, policy_version=claim.policy_version, decided_on=as_of,
        decided_by=user, reason=reason.strip(), trace=trace))
    overriding = status == APPROVED and (bool(result.overridden_codes) or payout_fen is not None)
    details: dict[str, object] = {
        "reason": reason.strip(), "before": {"status": before[0], "payout": fmt(before[1], fen=True)},
        "after": {"status": status, "payout": fmt(payout, fen=True)}, "as_of": as_of}
    if result.overridden_codes:
        details["overrides"] = result.overridden_codes
    if result.replaced_review:
        details["replaces_review_by"] = result.replaced_review[0]
    audit.record(session, user, "claim.override" if overriding else f"claim.{action}", "claim", claim_no, details)
    result.status, result.payout_fen = status, payout
    counted_before = before[1] if before[0] != REJECTED else 0
    if counted_before != payout or (before[0] == REJECTED) != (status == REJECTED):
        result.readjudicated = readjudicate_after(session, claim, as_of=as_of, user=user)
    return result


@dataclass(frozen=True)
class ReviewPreview:
    """What an auditor should see before confirming: the R codes an approval sets aside and
    the most the claim may be paid."""

    overridable_codes: list[str]
    limit: PayoutLimit


def preview(session: Session, claim_no: str) -> ReviewPreview | None:
    claim = session.execute(select(Claim).where(Claim.claim_no == claim_no)).scalar()
    if claim is None or claim.status in UNDECIDED:
        return None
    return ReviewPreview([c for c in (claim.reason_codes or "").split(";") if c.startswith("R")],
                         payout_limit(session, claim))


def _counted_others(session: Session, claim: Claim, *, same_enrollment: bool) -> list[Claim]:
    """The member's other counting claims that bind this one: earlier in processing order,
    or decided by an auditor (re-adjudication never lowers those)."""
    q = select(Claim).where(Claim.member_id_number == claim.member_id_number, Claim.product == claim.product,
                            Claim.id != claim.id, Claim.status.in_(COUNTING))
    if same_enrollment:
        q = q.where(Claim.enrollment_id == claim.enrollment_id if claim.enrollment_id is not None
                    else Claim.enrollment_id.is_(None))
    seq = claim.decision_seq or 0
    return [c for c in session.execute(q).scalars()
            if (c.decision_seq or 0) < seq or c.decided_by != ENGINE_USER]


def payout_limit(session: Session, claim: Claim) -> PayoutLimit:
    """policy.md caps as they bind an auditor's amount.

    ``HOSP``: the annual cap less what the member's other counting claims of the period take;
    ``WOMEN``: the category's amount for the member's units, less what was paid that is
    deducted from it (``IN_SITU`` before ``INVASIVE``) or for the same category already.
    A claim with no covering enrollment is held to the policy of its event year.
    """
    enrollment = session.get(Enrollment, claim.enrollment_id) if claim.enrollment_id else None
    policy = policies().get(enrollment.policy_version) if enrollment else None
    policy = policy or fallback_policy(claim.event_date)
    params = policy.product(claim.product)
    if isinstance(params, HospPolicy):
        others = _counted_others(session, claim, same_enrollment=True)
        taken = sum(c.payout_fen for c in others)
        cap = to_fen(params.annual_cap)
        return PayoutLimit(max(cap - taken, 0),
                           f"年度封顶 {grouped(cap)}，本期其他申请已计 {grouped(taken)}",
                           f"annual cap {grouped(cap)} less {grouped(taken)} counted for other claims of the period")
    units = enrollment.units if enrollment else 1
    others = _counted_others(session, claim, same_enrollment=False)
    paid: dict[str, Decimal] = {}
    for c in others:
        if c.category:
            paid[c.category] = paid.get(c.category, ZERO) + from_fen(c.payout_fen)
    if claim.category is None:  # not a covered diagnosis: at most the largest category amount
        name, cat = max(params.categories.items(), key=lambda kv: kv[1].amount_per_unit)
        top = to_fen(cat.amount_per_unit * units)
        return PayoutLimit(top, f"最高病种（{name}）{units} 份 {grouped(top)}",
                           f"the largest category ({name}) for {units} units, {grouped(top)}")
    amount = women_amount(params, category=claim.category, units=units, paid_by_category=paid)
    same = to_fen(paid.get(claim.category, ZERO))
    limit = max(to_fen(amount.payout) - same, 0)
    return PayoutLimit(limit, f"{claim.category} {units} 份 {grouped(to_fen(amount.gross))}，已扣除/已付 "
                              f"{grouped(to_fen(amount.deducted) + same)}",
                       f"{claim.category} for {units} units {grouped(to_fen(amount.gross))} less "
                       f"{grouped(to_fen(amount.deducted) + same)} deducted or already paid")


def readjudicate_after(session: Session, claim: Claim, *, as_of: dt.date, user: str) -> list[Change]:
    """Re-decide the member's engine-decided claims processed after ``claim`` (same product)."""
    rows = session.execute(
        select(Claim).where(Claim.member_id_number == claim.member_id_number, Claim.product == claim.product,
                            Claim.status.not_in(UNDECIDED))
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
            claim_in = ClaimIn.from_row(session.execute(select(*CLAIM_IN_COLUMNS).where(Claim.id == c.id)).one())
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
            # adjudicate_members has already added a non-rejected outcome to ``history``
        elif c.status in COUNTING:
            history.add(Prior.from_row(c))
    return changes
