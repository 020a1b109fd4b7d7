"""Casework use cases: return for correction (退回补正), resubmission, R10 closing, appeals.

Every interface (CLI, API, pages, the batch job) calls these; the rules an operator can
hit live here: a reason from the list and a note, only ``PENDING_REVIEW`` claims go back,
the deadline for an appeal, and four eyes on an appeal (not the auditor who decided it).

A ``RETURNED`` claim counts against nothing: returning it re-adjudicates the member's
later claims as if it were rejected (``review.readjudicate_after``). A corrected row
makes it ``RECEIVED`` again with its new content (the old content kept as a
``claim_versions`` row, the original ``submitted_date`` kept for the deadline) and its
original place in the processing order; the next batch run decides it there first and
re-adjudicates the member's later claims again.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from mutualaid import audit
from mutualaid.claims import review as review_mod
from mutualaid.claims.adjudication import APPROVED, PENDING, REJECTED, ClaimIn, History, MemberCase, Prior, adjudicate_members
from mutualaid.casework.terms import AppealState, ReturnState
from mutualaid.claims.status import RECEIVED, RETURNED, RuleCode
from mutualaid.claims.decide import CLAIM_IN_COLUMNS, ENGINE_USER, PRIOR_COLUMNS, Tally, member_records, store_outcomes
from mutualaid.money import fmt
from mutualaid.policy import Policy, policies
from mutualaid.rules.definitions import ruleset
from mutualaid.rules.engine import engine
from mutualaid.store.models import Claim, Decision, FileImport
from mutualaid.store.models_casework import ClaimAppeal, ClaimReturn, ClaimVersion

#: reasons an auditor can give when returning a claim (i18n: return_reason.<code>)
RETURN_REASONS = ("missing_document", "amount_mismatch", "wrong_product", "name_mismatch", "other")
#: who closes an uncorrected returned claim (R10); not ENGINE_USER, so re-adjudication leaves it closed
DEADLINE_USER = "engine-R10"
# a return and an appeal are both OPEN by the same word (the OPEN members are equal strings)
OPEN, RESUBMITTED, CLOSED = ReturnState
SETTLED = AppealState.SETTLED


class CaseworkError(ValueError):
    """A request the user can fix; ``code`` is a key of the translation table (i18n_casework)."""

    def __init__(self, code: str, /, **params: object) -> None:
        from mutualaid.i18n import ui

        super().__init__(ui(code, "both", **params))
        self.code = code
        self.params = params


@dataclass
class CaseResult:
    claim_no: str
    status: str
    payout_fen: int
    readjudicated: list[review_mod.Change] = field(default_factory=list)


# --- helpers ---------------------------------------------------------------------------------

def _required(value: str | None, code: str) -> str:
    if value is None or not value.strip():
        raise CaseworkError(code)
    return value.strip()


def _claim(session: Session, claim_no: str) -> Claim:
    claim = session.execute(select(Claim).where(Claim.claim_no == claim_no)
                            .execution_options(populate_existing=True)).scalar()
    if claim is None:
        raise CaseworkError("case.no_claim", claim_no=claim_no)
    return claim


def policy_of(claim: Claim) -> Policy:
    """The claim's policy version ('HOSP-2026'), else the one of its event year (or nearest)."""
    known = policies()
    _, _, year = (claim.policy_version or "").partition("-")
    if year.isdigit() and int(year) in known:
        return known[int(year)]
    return known[min(known, key=lambda v: (abs(v - claim.event_date.year), -v))]


def content_version(session: Session, claim_id: int) -> int:
    """1 for a claim as first filed, +1 per correction."""
    return 1 + (session.execute(select(func.count()).select_from(ClaimVersion)
                                .where(ClaimVersion.claim_id == claim_id)).scalar() or 0)


def _latest_decision(session: Session, claim_id: int) -> Decision | None:
    return session.execute(select(Decision).where(Decision.claim_id == claim_id)
                           .order_by(Decision.id.desc()).limit(1)).scalar()


def _submitter(session: Session, batch_id: int) -> str | None:
    return session.execute(select(FileImport.imported_by).where(FileImport.id == batch_id)).scalar()


def _set_status(session: Session, claim: Claim, expected_version: int | None = None, **values: Any) -> None:
    version = claim.version
    if expected_version is not None and version != expected_version:
        raise review_mod.ReviewConflict(f"claim {claim.claim_no} was changed by someone else; reload it")
    res = session.execute(update(Claim).where(Claim.id == claim.id, Claim.version == version)
                          .values(version=version + 1, **values).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise review_mod.ReviewConflict(f"claim {claim.claim_no} was changed by someone else; reload it")


# --- return for correction -------------------------------------------------------------------

def return_claim(session: Session, claim_no: str, *, reason_code: str, note: str, user: str, as_of: dt.date,
                 expected_version: int | None = None) -> CaseResult:
    """Send a PENDING_REVIEW claim back to its unit; the caller commits."""
    if reason_code not in RETURN_REASONS:
        raise CaseworkError("case.bad_reason_code", code=reason_code, codes=", ".join(RETURN_REASONS))
    note = _required(note, "case.note_required")
    user = _required(user, "case.user_required")
    audit.lock_chain(session)  # first, as reviews do: concurrent decisions on one member queue here
    claim = _claim(session, claim_no)
    if claim.status != PENDING:
        raise CaseworkError("case.not_pending", claim_no=claim_no, status=claim.status)
    if _submitter(session, claim.batch_id) == user:
        raise CaseworkError("case.own_batch", claim_no=claim_no)
    last = _latest_decision(session, claim.id)
    before = (claim.status, claim.payout_fen)
    _set_status(session, claim, expected_version, status=RETURNED, payout_fen=0, decided_on=as_of, decided_by=user)
    session.execute(insert(Decision).values(
        claim_id=claim.id, kind="RETURN", status=RETURNED, payout_fen=0,
        computed_payout_fen=last.computed_payout_fen if last else 0, reason_codes=claim.reason_codes,
        policy_version=claim.policy_version, decided_on=as_of, decided_by=user,
        reason=f"[{reason_code}] {note}", trace=last.trace if last else {}))
    session.add(ClaimReturn(claim_id=claim.id, claim_version=content_version(session, claim.id),
                            reason_code=reason_code, note=note, returned_by=user, returned_on=as_of, state=OPEN))
    audit.record(session, user, "claim.return", "claim", claim_no, {
        "reason_code": reason_code, "note": note, "as_of": as_of,
        "before": {"status": before[0], "payout": fmt(before[1], fen=True)}, "after": {"status": RETURNED}})
    changes = review_mod.readjudicate_after(session, claim, as_of=as_of, user=user)
    return CaseResult(claim_no, RETURNED, 0, changes)


def open_return(session: Session, claim_id: int) -> ClaimReturn | None:
    return session.execute(select(ClaimReturn).where(ClaimReturn.claim_id == claim_id, ClaimReturn.state == OPEN)
                           .order_by(ClaimReturn.id.desc()).limit(1)).scalar()


#: the claim columns a correction replaces (submitted_date is kept: the deadline counts from the first filing)
CORRECTED = ("product", "member_id_number", "member_name", "event_date", "admission_date", "discharge_date",
             "hospital_name", "diagnosis_code", "cause", "total_cost_fen", "insurance_paid_fen",
             "in_policy_self_pay_fen", "out_of_policy_self_pay_fen", "diagnosis_date", "pathology_confirmed",
             "surgery")


def _content(claim: Claim) -> dict[str, Any]:
    out: dict[str, Any] = {"claim_no": claim.claim_no, "submitted_date": claim.submitted_date}
    for col in CORRECTED:
        out[col] = getattr(claim, col)
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in out.items()}


def resubmit(session: Session, claim: Claim, values: dict[str, Any], *, row_hash: str, batch_id: int, user: str,
             on: dt.date | None = None) -> None:
    """A corrected RETURNED claim comes back: keep the old content, take the new, RECEIVED again.

    ``values``: the columns of :data:`CORRECTED` (as intake parses them). The caller has
    checked that the claim is RETURNED; the caller commits.
    """
    on = on or dt.date.today()
    ret = open_return(session, claim.id)
    version_no = content_version(session, claim.id)
    session.add(ClaimVersion(claim_id=claim.id, version_no=version_no, batch_id=claim.batch_id,
                             row_hash=claim.row_hash, content=_content(claim), replaced_by_batch=batch_id))
    _set_status(session, claim, None, **{c: values[c] for c in CORRECTED}, row_hash=row_hash, batch_id=batch_id,
                status=RECEIVED, payout_fen=0, reason_codes="", decided_on=None, decided_by=None)
    if ret is not None:
        ret.state, ret.settled_on = RESUBMITTED, on
    audit.record(session, user, "claim.resubmit", "claim", claim.claim_no,
                 {"batch": batch_id, "version": version_no + 1, "returned_on": ret.returned_on if ret else None})


def returned_claims(session: Session, *, units: Any = None) -> list[tuple[Claim, ClaimReturn]]:
    """Claims waiting for a correction, oldest return first, with the reason (the clerks' list)."""
    from mutualaid.claims.queries import in_units, join_units

    q = (select(Claim, ClaimReturn).join(ClaimReturn, ClaimReturn.claim_id == Claim.id)
         .where(Claim.status == RETURNED, ClaimReturn.state == OPEN).order_by(ClaimReturn.returned_on, Claim.id))
    if units is not None:
        q = join_units(q).where(in_units(units))
    return [(c, r) for c, r in session.execute(q).all()]


# --- the batch run's part ------------------------------------------------------------------

def close_overdue_returns(session: Session, *, as_of: dt.date, user: str) -> Tally:
    """R10: returned claims not corrected within the policy's ``correction_days`` are rejected."""
    tally = Tally()
    rows = session.execute(select(Claim, ClaimReturn).join(ClaimReturn, ClaimReturn.claim_id == Claim.id)
                           .where(Claim.status == RETURNED, ClaimReturn.state == OPEN)
                           .order_by(Claim.id)).all()
    for claim, ret in rows:
        limit = policy_of(claim).casework.correction_days
        facts = {"days_past_correction_limit": (as_of - ret.returned_on).days - limit}
        name, _ = ruleset(claim.product, policy_of(claim).version)
        [fired] = engine().evaluate(name, [facts])
        if RuleCode.R10 not in fired:
            continue
        codes = sorted(fired)
        _set_status(session, claim, None, status=REJECTED, payout_fen=0, reason_codes=";".join(codes),
                    decided_on=as_of, decided_by=DEADLINE_USER)
        last = _latest_decision(session, claim.id)
        session.execute(insert(Decision).values(
            claim_id=claim.id, kind="CLOSE", status=REJECTED, payout_fen=0,
            computed_payout_fen=last.computed_payout_fen if last else 0, reason_codes=";".join(codes),
            policy_version=claim.policy_version, decided_on=as_of, decided_by=DEADLINE_USER,
            reason=f"returned on {ret.returned_on}, not corrected within {limit} days",
            trace={"ruleset": name, "policy_version": claim.policy_version, "facts": facts, "fired": codes,
                   "amount": None, "returned_on": str(ret.returned_on), "correction_days": limit}))
        ret.state, ret.settled_on = CLOSED, as_of
        audit.record(session, user, "claim.close_uncorrected", "claim", claim.claim_no,
                     {"returned_on": ret.returned_on, "as_of": as_of, "codes": codes})
        tally.by_status[REJECTED] += 1
        tally.decided += 1
    return tally


def decide_resubmitted(session: Session, *, as_of: dt.date, user: str) -> Tally:
    """Corrected claims, each at its original place in the processing order, then re-adjudicate after it."""
    tally = Tally()
    ids = session.execute(select(Claim.id).where(Claim.status == RECEIVED, Claim.decision_seq.is_not(None),
                                                 Claim.submitted_date <= as_of)
                          .order_by(Claim.decision_seq)).scalars().all()
    for claim_id in ids:
        claim = session.execute(select(Claim).where(Claim.id == claim_id)
                                .execution_options(populate_existing=True)).scalar_one()
        seq = claim.decision_seq or 0
        history = History()
        for p in session.execute(select(*PRIOR_COLUMNS).where(
                Claim.member_id_number == claim.member_id_number, Claim.status.in_((APPROVED, PENDING)),
                Claim.decision_seq < seq).order_by(Claim.decision_seq)).all():
            history.add(Prior.from_row(p))
        member, enrollments = member_records(session, claim.member_id_number)
        claim_in = ClaimIn.from_row(session.execute(select(*CLAIM_IN_COLUMNS).where(Claim.id == claim_id)).one())
        outcomes = adjudicate_members([MemberCase(claim.member_id_number, member, enrollments, history, [claim_in])])
        tally.merge(store_outcomes(session, outcomes, as_of=as_of, first_seq=seq))
        claim = session.execute(select(Claim).where(Claim.id == claim_id)
                                .execution_options(populate_existing=True)).scalar_one()
        review_mod.readjudicate_after(session, claim, as_of=as_of, user=user)
    return tally


def before_batch(session: Session, *, as_of: dt.date, user: str) -> Tally:
    """The batch run's casework step, before the undecided new claims: R10 closing, corrections."""
    audit.lock_chain(session)
    tally = close_overdue_returns(session, as_of=as_of, user=user)
    tally.merge(decide_resubmitted(session, as_of=as_of, user=user))
    if tally.decided:
        audit.record(session, user, "claims.casework_run", "batch", as_of.isoformat(),
                     {"as_of": as_of, "decided": tally.decided, "by_status": dict(tally.by_status)})
    return tally


# --- appeals -------------------------------------------------------------------------------

def open_appeal(session: Session, claim_id: int) -> ClaimAppeal | None:
    return session.execute(select(ClaimAppeal).where(ClaimAppeal.claim_id == claim_id, ClaimAppeal.state == OPEN)
                           .order_by(ClaimAppeal.id.desc()).limit(1)).scalar()


def appeal_claim(session: Session, claim_no: str, *, note: str, user: str, as_of: dt.date) -> ClaimAppeal:
    """File an appeal against a rejection, within the policy's ``appeal_days`` of the decision."""
    note = _required(note, "case.note_required")
    user = _required(user, "case.user_required")
    audit.lock_chain(session)
    claim = _claim(session, claim_no)
    if claim.status != REJECTED:
        raise CaseworkError("case.not_rejected", claim_no=claim_no, status=claim.status)
    if open_appeal(session, claim.id) is not None:
        raise CaseworkError("case.appeal_open", claim_no=claim_no)
    days = policy_of(claim).casework.appeal_days
    decided_on = claim.decided_on or as_of
    if (as_of - decided_on).days > days:
        raise CaseworkError("case.appeal_too_late", claim_no=claim_no, decided_on=decided_on.isoformat(), days=days)
    appeal = ClaimAppeal(claim_id=claim.id, note=note, filed_by=user, filed_on=as_of,
                         appealed_decided_by=claim.decided_by or ENGINE_USER, state=OPEN)
    session.add(appeal)
    audit.record(session, user, "claim.appeal", "claim", claim_no,
                 {"note": note, "as_of": as_of, "decided_by": appeal.appealed_decided_by})
    return appeal


def appeals(session: Session, *, state: str | None = OPEN, units: Any = None) -> list[tuple[Claim, ClaimAppeal]]:
    from mutualaid.claims.queries import in_units, join_units

    q = select(Claim, ClaimAppeal).join(ClaimAppeal, ClaimAppeal.claim_id == Claim.id).order_by(ClaimAppeal.id)
    if state is not None:
        q = q.where(ClaimAppeal.state == state)
    if units is not None:
        q = join_units(q).where(in_units(units))
    return [(c, a) for c, a in session.execute(q).all()]


def decide(session: Session, claim_no: str, action: str, *, reason: str, user: str, as_of: dt.date,
           payout_fen: int | None = None, expected_version: int | None = None) -> review_mod.ReviewResult:
    """An auditor's approve / reject (or override), aware of returns and appeals; the caller commits.

    A RETURNED claim is with its unit: it is decided after its correction. A claim under
    appeal is settled by an auditor other than the one whose decision is appealed; the
    appeal records the outcome, and both decisions stay in ``decisions``.
    """
    claim = session.execute(select(Claim).where(Claim.claim_no == claim_no)).scalar()
    if claim is not None and claim.status == RETURNED:
        raise CaseworkError("case.is_returned", claim_no=claim_no)
    appeal = open_appeal(session, claim.id) if claim is not None else None
    if appeal is not None and appeal.appealed_decided_by == (user or "").strip():
        raise CaseworkError("case.appeal_same_auditor", claim_no=claim_no, user=user)
    result = review_mod.review(session, claim_no, action, reason=reason, user=user, as_of=as_of,
                               payout_fen=payout_fen, expected_version=expected_version)
    if appeal is not None:
        appeal.state, appeal.outcome = SETTLED, result.status
        appeal.settled_by, appeal.settled_on, appeal.settlement_reason = user, as_of, reason.strip()
        audit.record(session, user, "claim.appeal_settled", "claim", claim_no,
                     {"outcome": result.status, "payout": fmt(result.payout_fen, fen=True), "reason": reason.strip()})
    return result


# --- correction on the claim page --------------------------------------------------------------

#: the claim columns a correction form may change (files.md names; claim_no and submitted_date stay)
FORM_COLUMNS = ("product", "member_id_number", "member_name", "admission_date", "discharge_date", "hospital_name",
                "diagnosis_code", "cause", "total_cost", "insurance_paid", "in_policy_self_pay",
                "out_of_policy_self_pay", "diagnosis_date", "pathology_confirmed", "surgery")


def form_values(claim: Claim) -> dict[str, str]:
    """The claim as a correction form shows it (files.md cell texts)."""
    out: dict[str, str] = {}
    for col in FORM_COLUMNS:
        money_column = col in ("total_cost", "insurance_paid", "in_policy_self_pay", "out_of_policy_self_pay")
        value = getattr(claim, col + "_fen" if money_column else col)
        if value is None:
            out[col] = ""
        elif money_column:
            out[col] = fmt(value, fen=True)
        elif isinstance(value, bool):
            out[col] = "Y" if value else "N"
        elif isinstance(value, dt.date):
            out[col] = value.isoformat()
        else:
            out[col] = str(value)
    return out


def correct_claim(session: Session, claim_no: str, values: dict[str, str], *, user: str,
                  units: Any = None) -> list[Any]:
    """A clerk corrects a RETURNED claim in a form: validated as a batch row would be, then resubmitted.

    Returns the row errors (nothing is changed when there are any); the caller commits.
    """
    from mutualaid.claims.intake import parse_row
    from mutualaid.imports import RowError, row_hash
    from mutualaid.tabular import Cell
    from mutualaid.claims.queries import in_units, join_units

    user = _required(user, "case.user_required")
    audit.lock_chain(session)
    q = select(Claim).where(Claim.claim_no == claim_no).execution_options(populate_existing=True)
    if units is not None:
        q = join_units(q).where(in_units(units))
    claim = session.execute(q).scalar()
    if claim is None:
        raise CaseworkError("case.no_claim", claim_no=claim_no)
    if claim.status != RETURNED:
        raise CaseworkError("case.not_returned", claim_no=claim_no, status=claim.status)
    cells = {col: Cell(text.strip(), "text" if text.strip() else "empty")
             for col, text in ((c, values.get(c) or "") for c in FORM_COLUMNS)}
    cells["claim_no"] = Cell(claim.claim_no, "text")
    cells["submitted_date"] = Cell(claim.submitted_date.isoformat(), "text")
    errors: list[RowError] = []
    parsed = parse_row(1, cells, errors)
    if parsed is None:
        return errors
    resubmit(session, claim, parsed.content(), row_hash=row_hash(*parsed.stored), batch_id=claim.batch_id, user=user)
    return []
