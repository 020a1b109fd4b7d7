"""Read side of claims: the review queue, a claim's page, its decisions, claim batches.

Plain queries returning plain dataclasses; interfaces turn them into JSON or HTML. Every
function that shows claims takes ``units``: the employer units the viewer may see (a
clerk's) or None for every unit. A claim outside them is simply not found, so a guessed
id tells nothing. ID numbers and bank accounts are masked unless ``reveal`` is set.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Select, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from mutualaid.audit import AuditView, audit_view
from mutualaid.claims.status import APPROVED, PENDING_REVIEW, RECEIVED
from mutualaid.enrollments import EnrollmentView, enrollment_view
from mutualaid.idnumber import mask
from mutualaid.store import paging
from mutualaid.store.models import AuditEntry, Claim, Decision, Enrollment, FileImport, Member, Unit
from mutualaid.store.paging import Page, capped_count

_RULE_CODE = re.compile(r"^[RVA][0-9]{2}$")
PENDING = PENDING_REVIEW


# --- a claim's unit ------------------------------------------------------------------------
# A claim's unit: the unit of the enrollment covering it (once decided), else the unit its
# batch was submitted for. A clerk sees the claims of their units by either (docs/web.md).
_COVER = aliased(Enrollment, name="cover")
_COVER_UNIT = aliased(Unit, name="cover_unit")
CLAIM_UNIT = func.coalesce(_COVER_UNIT.code, FileImport.unit_code)


def join_units(q: Select) -> Select:
    """Join what a claim's unit comes from: its batch, its covering enrollment and that unit."""
    return (q.join(FileImport, FileImport.id == Claim.batch_id)
            .outerjoin(_COVER, _COVER.id == Claim.enrollment_id)
            .outerjoin(_COVER_UNIT, _COVER_UNIT.id == _COVER.unit_id))


def in_units(units: Collection[str]) -> Any:
    """The condition "the claim is in one of ``units``" (needs :func:`join_units`)."""
    if not units:
        return literal(False)
    codes_ = sorted(units)
    return or_(FileImport.unit_code.in_(codes_), _COVER_UNIT.code.in_(codes_))


# --- the review queue ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ClaimFilter:
    status: str | None = None
    rule: str | None = None            # a reason code, e.g. "R06"
    product: str | None = None
    unit: str | None = None
    min_payout_fen: int | None = None
    max_payout_fen: int | None = None
    batch_id: int | None = None
    claim_no: str | None = None
    include_received: bool = False     # the review queue shows decided claims only


@dataclass(frozen=True, slots=True)
class ClaimRow:
    id: int
    claim_no: str
    batch_id: int
    unit_code: str | None
    product: str
    member_id_number: str
    member_name: str
    event_date: dt.date
    submitted_date: dt.date
    status: str
    payout_fen: int
    reason_codes: tuple[str, ...]
    policy_version: str
    decided_on: dt.date | None
    decided_by: str | None
    version: int
    source: str = "clerk"  # settlements.terms.Source: filed by a clerk, or made from settlement data


_ROW_COLUMNS = (Claim.id, Claim.claim_no, Claim.batch_id, CLAIM_UNIT.label("unit_code"), Claim.product,
                Claim.member_id_number, Claim.member_name, Claim.event_date, Claim.submitted_date, Claim.status,
                Claim.payout_fen, Claim.reason_codes, Claim.policy_version, Claim.decided_on, Claim.decided_by,
                Claim.version, Claim.source)


def codes(text: str | None) -> tuple[str, ...]:
    return tuple(sorted(filter(None, (text or "").split(";"))))


def _row(r: Any, reveal: bool) -> ClaimRow:
    return ClaimRow(r.id, r.claim_no, r.batch_id, r.unit_code, r.product,
                    r.member_id_number if reveal else mask(r.member_id_number), r.member_name, r.event_date,
                    r.submitted_date, r.status, r.payout_fen, codes(r.reason_codes), r.policy_version,
                    r.decided_on, r.decided_by, r.version, r.source)


def _claim_conditions(f: ClaimFilter, units: Collection[str] | None) -> tuple[list[Any], bool]:
    """WHERE conditions, and whether they need the units joined (:func:`join_units`)."""
    conds: list[Any] = []
    needs_units = False
    if units is not None:
        conds.append(in_units(units))
        needs_units = True
    if f.unit:
        conds.append(CLAIM_UNIT == f.unit)
        needs_units = True
    if f.status:
        conds.append(Claim.status == f.status)
    elif not f.include_received:
        conds.append(Claim.status != RECEIVED)
    if f.rule:
        if not _RULE_CODE.match(f.rule):
            raise ValueError(f"not a rule code: {f.rule!r}")
        conds.append(Claim.reason_codes.like(f"%{f.rule}%"))  # codes are 3 characters, ';'-joined
    if f.product:
        conds.append(Claim.product == f.product)
    if f.min_payout_fen is not None:
        conds.append(Claim.payout_fen >= f.min_payout_fen)
    if f.max_payout_fen is not None:
        conds.append(Claim.payout_fen <= f.max_payout_fen)
    if f.batch_id is not None:
        conds.append(Claim.batch_id == f.batch_id)
    if f.claim_no:
        conds.append(Claim.claim_no == f.claim_no)
    return conds, needs_units


def list_claims(session: Session, f: ClaimFilter, *, units: Collection[str] | None, page: int = 1,
                page_size: int = 50, reveal: bool = False) -> Page[ClaimRow]:
    """The review queue: PENDING_REVIEW first, then the rest; each part oldest first.

    Index-friendly: the pending part is counted exactly (it is small: the backlog), the
    rest up to COUNT_CAP, and each part is read in id order with OFFSET/LIMIT; no ORDER BY
    over an expression of the whole table.
    """
    conds, needs_units = _claim_conditions(f, units)

    def matching(extra: Any) -> Select:
        q = select(literal(1)).select_from(Claim)
        if needs_units:
            q = join_units(q)
        return q.where(*conds, extra)

    def fetch(extra: Any, skip: int, limit: int) -> list[Any]:
        q = (join_units(select(*_ROW_COLUMNS).select_from(Claim))
             .where(*conds, extra).order_by(Claim.id).offset(skip).limit(limit))
        return list(session.execute(q))

    offset = (page - 1) * page_size
    rows: list[Any] = []
    if f.status:
        total, more = capped_count(session, matching(literal(True)))
        rows = fetch(literal(True), offset, page_size) if offset < total or more else []
    else:
        # both counts in one round trip: the pending part exactly, the rest up to the cap
        cap = paging.COUNT_CAP
        pending_n = select(func.count()).select_from(matching(Claim.status == PENDING).subquery())
        rest_n = select(func.count()).select_from(matching(Claim.status != PENDING).limit(cap + 1).subquery())
        pending, rest = (int(n or 0) for n in session.execute(
            select(pending_n.scalar_subquery(), rest_n.scalar_subquery())).one())
        rest, more = min(rest, cap), rest > cap
        total = pending + rest
        if offset < pending:
            rows = fetch(Claim.status == PENDING, offset, page_size)
        if len(rows) < page_size and (offset + len(rows) < total or more):
            rows += fetch(Claim.status != PENDING, max(0, offset - pending), page_size - len(rows))
    return Page([_row(r, reveal) for r in rows], total, page, page_size, more)


# --- one claim -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DecisionView:
    id: int
    kind: str
    status: str
    payout_fen: int
    computed_payout_fen: int
    reason_codes: tuple[str, ...]
    policy_version: str
    decided_on: dt.date
    decided_by: str
    reason: str | None
    trace: dict[str, Any]
    created_at: dt.datetime
    rules: list[dict[str, Any]] = field(default_factory=list)   # every rule: code, fired, inputs
    amount: dict[str, Any] | None = None                        # breakdown, bands as dicts


def explain_trace(trace: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(rules, amount) of a stored trace, whichever form it was stored in.

    Traces store either every rule (``rules``) or only the facts and the fired codes
    (``fired``); the latter is expanded from the versioned ruleset. HOSP bands may be
    ``[from, to, rate, amount]`` lists or dicts; they come back as dicts.
    """
    rules = trace.get("rules")
    if not isinstance(rules, list):
        try:
            from mutualaid.claims.adjudication import explain
            rules = explain(trace)
        except Exception:  # noqa: BLE001  (an unknown ruleset: show the fired codes only)
            rules = [{"code": c, "fired": True, "inputs": {}} for c in trace.get("fired") or []]
    amount = trace.get("amount")
    if isinstance(amount, dict) and isinstance(amount.get("bands"), list):
        bands = []
        for b in amount["bands"]:
            if isinstance(b, (list, tuple)) and len(b) >= 4:
                bands.append({"from": b[0], "to": b[1], "rate": b[2], "amount": b[3]})
            elif isinstance(b, dict):
                bands.append(b)
        amount = {**amount, "bands": bands}
    return list(rules), amount if isinstance(amount, dict) else None


@dataclass(frozen=True, slots=True)
class ClaimDetail:
    row: ClaimRow
    batch_file_name: str
    batch_imported_by: str
    batch_imported_at: dt.datetime
    unit_name: str | None
    admission_date: dt.date | None
    discharge_date: dt.date | None
    hospital_name: str | None
    diagnosis_code: str | None
    cause: str | None
    total_cost_fen: int | None
    insurance_paid_fen: int | None
    in_policy_self_pay_fen: int | None
    out_of_policy_self_pay_fen: int | None
    diagnosis_date: dt.date | None
    pathology_confirmed: bool | None
    surgery: str | None
    enrollment: EnrollmentView | None
    decisions: list[DecisionView]
    audit: list[AuditView]
    member_name_on_record: str | None = None   # the enrollment records' name (V02 compares it)


class ClaimRef(NamedTuple):
    """A visible claim's number and who filed its batch: what the four-eyes and scope checks need."""

    claim_no: str
    submitted_by: str | None


def claim_batch(session: Session, claim_id: int, *, units: Collection[str] | None) -> ClaimRef | None:
    """(claim_no, batch submitter) of a visible claim, for authorisation checks."""
    q = join_units(select(Claim.claim_no, FileImport.imported_by).select_from(Claim)).where(Claim.id == claim_id)
    if units is not None:
        q = q.where(in_units(units))
    r = session.execute(q).first()
    return ClaimRef(r.claim_no, r.imported_by) if r else None


def get_claim(session: Session, claim_id: int, *, units: Collection[str] | None,
              reveal: bool = False) -> ClaimDetail | None:
    conds, _ = _claim_conditions(ClaimFilter(include_received=True), units)
    r = session.execute(
        select(*_ROW_COLUMNS, FileImport.file_name, FileImport.imported_by, FileImport.imported_at,
               Claim.admission_date, Claim.discharge_date, Claim.hospital_name, Claim.diagnosis_code, Claim.cause,
               Claim.total_cost_fen, Claim.insurance_paid_fen, Claim.in_policy_self_pay_fen,
               Claim.out_of_policy_self_pay_fen, Claim.diagnosis_date, Claim.pathology_confirmed, Claim.surgery,
               Claim.enrollment_id, func.coalesce(_COVER_UNIT.name, Unit.name).label("unit_name"),
               Member.name.label("name_on_record"))
        .select_from(Claim)
        .join(FileImport, FileImport.id == Claim.batch_id)
        .outerjoin(_COVER, _COVER.id == Claim.enrollment_id)
        .outerjoin(_COVER_UNIT, _COVER_UNIT.id == _COVER.unit_id)
        .outerjoin(Unit, Unit.code == FileImport.unit_code)
        .outerjoin(Member, Member.id_number == Claim.member_id_number)
        .where(Claim.id == claim_id, *conds)).first()
    if r is None:
        return None
    enrollment = enrollment_view(session, r.enrollment_id, reveal=reveal) if r.enrollment_id is not None else None
    decisions = [DecisionView(d.id, d.kind, d.status, d.payout_fen, d.computed_payout_fen, codes(d.reason_codes),
                              d.policy_version, d.decided_on, d.decided_by, d.reason, d.trace or {}, d.created_at,
                              *explain_trace(d.trace or {}))
                 for d in session.execute(select(Decision).where(Decision.claim_id == claim_id)
                                          .order_by(Decision.id.desc())).scalars()]
    entries = [audit_view(a) for a in session.execute(
        select(AuditEntry).where(AuditEntry.entity == "claim", AuditEntry.entity_key == r.claim_no)
        .order_by(AuditEntry.id.desc()).limit(50)).scalars()]
    return ClaimDetail(_row(r, reveal), r.file_name, r.imported_by, r.imported_at, r.unit_name, r.admission_date,
                       r.discharge_date, r.hospital_name, r.diagnosis_code, r.cause, r.total_cost_fen,
                       r.insurance_paid_fen, r.in_policy_self_pay_fen, r.out_of_policy_self_pay_fen,
                       r.diagnosis_date, r.pathology_confirmed, r.surgery, enrollment, decisions, entries,
                       r.name_on_record)


# --- claim batches -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BatchView:
    id: int
    file_name: str
    unit_code: str | None
    imported_by: str
    imported_at: dt.datetime
    rows_total: int
    stored: int
    unchanged: int
    errors: int
    claims: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    approved_payout_fen: int = 0


def _batch_scope(q: Select, units: Collection[str] | None) -> Select:
    if units is not None:
        q = q.where(FileImport.unit_code.in_(sorted(units)) if units else literal(False))
    return q


def list_batches(session: Session, *, units: Collection[str] | None, page: int = 1,
                 page_size: int = 20) -> Page[BatchView]:
    base = _batch_scope(select(FileImport).where(FileImport.kind == "CLAIMS"), units)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar() or 0
    batches = session.execute(base.order_by(FileImport.id.desc())
                              .offset((page - 1) * page_size).limit(page_size)).scalars().all()
    stats: dict[int, dict[str, tuple[int, int]]] = {}
    if batches:
        for b_id, status, n, payout in session.execute(
                select(Claim.batch_id, Claim.status, func.count(), func.coalesce(func.sum(Claim.payout_fen), 0))
                .where(Claim.batch_id.in_([b.id for b in batches])).group_by(Claim.batch_id, Claim.status)):
            stats.setdefault(b_id, {})[status] = (int(n), int(payout))
    return Page([_batch_view(b, stats.get(b.id, {})) for b in batches], int(total), page, page_size)


def _batch_view(b: FileImport, stats: dict[str, tuple[int, int]]) -> BatchView:
    return BatchView(b.id, b.file_name, b.unit_code, b.imported_by, b.imported_at, b.rows_total, b.stored,
                     b.unchanged, b.errors, sum(n for n, _ in stats.values()),
                     {s: n for s, (n, _) in stats.items()}, stats.get(APPROVED, (0, 0))[1])


def get_batch(session: Session, batch_id: int, *, units: Collection[str] | None) -> BatchView | None:
    b = session.execute(_batch_scope(select(FileImport).where(FileImport.kind == "CLAIMS",
                                                              FileImport.id == batch_id), units)).scalar()
    if b is None:
        return None
    stats = {s: (int(n), int(p)) for s, n, p in session.execute(
        select(Claim.status, func.count(), func.coalesce(func.sum(Claim.payout_fen), 0))
        .where(Claim.batch_id == batch_id).group_by(Claim.status))}
    return _batch_view(b, stats)
