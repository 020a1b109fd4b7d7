"""Read side for the web pages and the HTTP API: queues, claim pages, batches, dashboards.

Plain queries returning plain dataclasses; interfaces turn them into JSON or HTML. Every
function that shows claims takes ``units``: the employer units the viewer may see (a
clerk's) or None for every unit. A claim outside them is simply not found, so a guessed
id tells nothing. ID numbers and bank accounts are masked unless ``reveal`` is set.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from mutualaid.claims.status import APPROVED, PENDING_REVIEW, RECEIVED, REJECTED, RETURNED
from mutualaid.dates import add_months, month_bounds
from mutualaid.idnumber import mask, mask_account
from mutualaid.ledger.entries import FUND_SIGN
from mutualaid.store.models import (
    AuditEntry,
    Claim,
    Decision,
    Enrollment,
    FileImport,
    LedgerLine,
    Member,
    ReconItem,
    ReconResolution,
    ReconRun,
    Unit,
)

T = TypeVar("T")
_RULE_CODE = re.compile(r"^[RVA][0-9]{2}$")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
PENDING = PENDING_REVIEW
STATUSES = (PENDING_REVIEW, APPROVED, REJECTED, RETURNED, RECEIVED)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
    more: bool = False   # total is a lower bound: counting stopped at COUNT_CAP

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size), self.page + 1 if self.more else 1)


#: Lists count at most this many matches (an exact count of 100,000+ rows on every page
#: view costs more than the page itself); beyond it the total is shown as "1,000+".
COUNT_CAP = 1_000


def capped_count(session: Session, stmt: Select, cap: int | None = None) -> tuple[int, bool]:
    """(matches, more): the rows of ``stmt`` counted up to ``cap`` (default COUNT_CAP)."""
    cap = COUNT_CAP if cap is None else cap
    n = session.execute(select(func.count()).select_from(stmt.limit(cap + 1).subquery())).scalar() or 0
    return min(int(n), cap), n > cap


# --- claims ------------------------------------------------------------------------------

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


# A claim's unit: the unit of the enrollment covering it (once decided), else the unit its
# batch was submitted for. A clerk sees the claims of their units by either (docs/web.md).
_COVER = aliased(Enrollment, name="cover")
_COVER_UNIT = aliased(Unit, name="cover_unit")
CLAIM_UNIT = func.coalesce(_COVER_UNIT.code, FileImport.unit_code)


def _with_units(q: Select) -> Select:
    """Join what a claim's unit comes from: its batch, its covering enrollment and that unit."""
    return (q.join(FileImport, FileImport.id == Claim.batch_id)
            .outerjoin(_COVER, _COVER.id == Claim.enrollment_id)
            .outerjoin(_COVER_UNIT, _COVER_UNIT.id == _COVER.unit_id))


def _claim_scope(units: Collection[str]) -> Any:
    if not units:
        return literal(False)
    codes_ = sorted(units)
    return or_(FileImport.unit_code.in_(codes_), _COVER_UNIT.code.in_(codes_))


_ROW_COLUMNS = (Claim.id, Claim.claim_no, Claim.batch_id, CLAIM_UNIT.label("unit_code"), Claim.product,
                Claim.member_id_number, Claim.member_name, Claim.event_date, Claim.submitted_date, Claim.status,
                Claim.payout_fen, Claim.reason_codes, Claim.policy_version, Claim.decided_on, Claim.decided_by,
                Claim.version)


def codes(text: str | None) -> tuple[str, ...]:
    return tuple(sorted(filter(None, (text or "").split(";"))))


def _row(r: Any, reveal: bool) -> ClaimRow:
    return ClaimRow(r.id, r.claim_no, r.batch_id, r.unit_code, r.product,
                    r.member_id_number if reveal else mask(r.member_id_number), r.member_name, r.event_date,
                    r.submitted_date, r.status, r.payout_fen, codes(r.reason_codes), r.policy_version,
                    r.decided_on, r.decided_by, r.version)


def _claim_conditions(f: ClaimFilter, units: Collection[str] | None) -> tuple[list[Any], bool]:
    """WHERE conditions, and whether they need the units joined (:func:`_with_units`)."""
    conds: list[Any] = []
    needs_units = False
    if units is not None:
        conds.append(_claim_scope(units))
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
            q = _with_units(q)
        return q.where(*conds, extra)

    def fetch(extra: Any, skip: int, limit: int) -> list[Any]:
        q = (_with_units(select(*_ROW_COLUMNS).select_from(Claim))
             .where(*conds, extra).order_by(Claim.id).offset(skip).limit(limit))
        return list(session.execute(q))

    offset = (page - 1) * page_size
    rows: list[Any] = []
    if f.status:
        total, more = capped_count(session, matching(literal(True)))
        rows = fetch(literal(True), offset, page_size) if offset < total or more else []
    else:
        # both counts in one round trip: the pending part exactly, the rest up to the cap
        pending_n = select(func.count()).select_from(matching(Claim.status == PENDING).subquery())
        rest_n = select(func.count()).select_from(matching(Claim.status != PENDING).limit(COUNT_CAP + 1).subquery())
        pending, rest = (int(n or 0) for n in session.execute(
            select(pending_n.scalar_subquery(), rest_n.scalar_subquery())).one())
        rest, more = min(rest, COUNT_CAP), rest > COUNT_CAP
        total = pending + rest
        if offset < pending:
            rows = fetch(Claim.status == PENDING, offset, page_size)
        if len(rows) < page_size and (offset + len(rows) < total or more):
            rows += fetch(Claim.status != PENDING, max(0, offset - pending), page_size - len(rows))
    return Page([_row(r, reveal) for r in rows], total, page, page_size, more)


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
class AuditView:
    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_key: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EnrollmentView:
    unit_code: str
    unit_name: str
    product: str
    units: int
    start_date: dt.date
    end_date: dt.date
    bank_account: str
    policy_version: int


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


def claim_batch(session: Session, claim_id: int, *, units: Collection[str] | None) -> tuple[str, str] | None:
    """(claim_no, batch submitter) of a visible claim, for authorisation checks."""
    q = _with_units(select(Claim.claim_no, FileImport.imported_by).select_from(Claim)).where(Claim.id == claim_id)
    if units is not None:
        q = q.where(_claim_scope(units))
    r = session.execute(q).first()
    return (r.claim_no, r.imported_by) if r else None


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
    unit_name = r.unit_name
    enrollment = None
    if r.enrollment_id is not None:
        e = session.execute(select(Enrollment, Unit.code, Unit.name).join(Unit, Unit.id == Enrollment.unit_id)
                            .where(Enrollment.id == r.enrollment_id)).first()
        if e is not None:
            en = e.Enrollment
            enrollment = EnrollmentView(e.code, e.name, en.product, en.units, en.start_date, en.end_date,
                                        (en.bank_account or "") if reveal else mask_account(en.bank_account),
                                        en.policy_version)
    decisions = [DecisionView(d.id, d.kind, d.status, d.payout_fen, d.computed_payout_fen, codes(d.reason_codes),
                              d.policy_version, d.decided_on, d.decided_by, d.reason, d.trace or {}, d.created_at,
                              *explain_trace(d.trace or {}))
                 for d in session.execute(select(Decision).where(Decision.claim_id == claim_id)
                                          .order_by(Decision.id.desc())).scalars()]
    entries = [_audit_view(a) for a in session.execute(
        select(AuditEntry).where(AuditEntry.entity == "claim", AuditEntry.entity_key == r.claim_no)
        .order_by(AuditEntry.id.desc()).limit(50)).scalars()]
    return ClaimDetail(_row(r, reveal), r.file_name, r.imported_by, r.imported_at, unit_name, r.admission_date,
                       r.discharge_date, r.hospital_name, r.diagnosis_code, r.cause, r.total_cost_fen,
                       r.insurance_paid_fen, r.in_policy_self_pay_fen, r.out_of_policy_self_pay_fen,
                       r.diagnosis_date, r.pathology_confirmed, r.surgery, enrollment, decisions, entries,
                       r.name_on_record)


# --- batches -----------------------------------------------------------------------------

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


@dataclass(frozen=True, slots=True)
class ImportView:
    id: int
    kind: str
    file_name: str
    imported_by: str
    imported_at: dt.datetime
    rows_total: int
    stored: int
    unchanged: int
    errors: int


def list_imports(session: Session, kind: str, *, limit: int = 20) -> list[ImportView]:
    return [ImportView(b.id, b.kind, b.file_name, b.imported_by, b.imported_at, b.rows_total, b.stored,
                       b.unchanged, b.errors)
            for b in session.execute(select(FileImport).where(FileImport.kind == kind)
                                     .order_by(FileImport.id.desc()).limit(limit)).scalars()]


def unit_names(session: Session, codes_: Collection[str] | None = None) -> dict[str, str]:
    q = select(Unit.code, Unit.name).order_by(Unit.code)
    if codes_ is not None:
        q = q.where(Unit.code.in_(sorted(codes_)))
    return dict(session.execute(q.limit(2000)).all())


# --- audit log ---------------------------------------------------------------------------

def mask_ids(value: Any) -> Any:
    """ID numbers inside free text (audit keys and details) masked like everywhere else."""
    if isinstance(value, str):
        return _ID_NUMBER.sub(lambda m: mask(m.group(0)), value)
    if isinstance(value, dict):
        return {k: mask_ids(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_ids(v) for v in value]
    return value


def _audit_view(a: AuditEntry) -> AuditView:
    return AuditView(a.id, a.at, a.actor, a.action, a.entity, mask_ids(a.entity_key), mask_ids(a.details or {}))


def audit_log(session: Session, *, actor: str | None = None, action: str | None = None,
              key: str | None = None, page: int = 1, page_size: int = 50) -> Page[AuditView]:
    conds = []
    if actor:
        conds.append(AuditEntry.actor == actor)
    if action:
        conds.append(AuditEntry.action.startswith(action, autoescape=True))
    if key:
        conds.append(AuditEntry.entity_key == key)
    total, more = capped_count(session, select(AuditEntry.id).where(*conds))
    rows = session.execute(select(AuditEntry).where(*conds).order_by(AuditEntry.id.desc())
                           .offset((page - 1) * page_size).limit(page_size)).scalars()
    return Page([_audit_view(a) for a in rows], total, page, page_size, more)


# --- money figures -----------------------------------------------------------------------

def _signed_amount() -> Any:
    negative = [t for t, sign in FUND_SIGN.items() if sign < 0]
    return case((LedgerLine.entry_type.in_(negative), -LedgerLine.amount_fen), else_=LedgerLine.amount_fen)


def fund_balance(session: Session, as_of: dt.date) -> int:
    return int(session.execute(select(func.coalesce(func.sum(_signed_amount()), 0))
                               .where(LedgerLine.entry_date <= as_of)).scalar() or 0)


def paid_between(session: Session, first: dt.date, last: dt.date) -> int:
    paid = case((LedgerLine.entry_type == "PAYOUT", LedgerLine.amount_fen), else_=-LedgerLine.amount_fen)
    return int(session.execute(select(func.coalesce(func.sum(paid), 0)).where(
        LedgerLine.entry_type.in_(("PAYOUT", "REVERSAL")), LedgerLine.entry_date.between(first, last))).scalar() or 0)


@dataclass(frozen=True, slots=True)
class Dashboard:
    month: str
    by_status: dict[str, tuple[int, int]]   # status -> (claims, payout fen)
    approved_in_month_fen: int
    paid_in_month_fen: int | None           # None: not shown to this viewer
    fund_balance_fen: int | None


def as_of_month(session: Session, month: str | None, today: dt.date) -> dt.date:
    """The day figures are taken on: the last day of the chosen month (today at most).

    Without a choice: today, unless nothing was decided or booked this month; then the
    last day of the latest month that had a decision or a ledger line, so that a quiet
    month (or a store of past years) doesn't open on a page of zeros.
    """
    if month:
        return min(month_bounds(month)[1], today)
    latest = max((d for d in (
        session.execute(select(func.max(Claim.decided_on)).where(Claim.decided_on <= today)).scalar(),
        session.execute(select(func.max(LedgerLine.entry_date)).where(LedgerLine.entry_date <= today)).scalar(),
    ) if d is not None), default=None)
    if latest is None or (latest.year, latest.month) == (today.year, today.month):
        return today
    return month_bounds(f"{latest:%Y-%m}")[1]


def dashboard(session: Session, *, today: dt.date, units: Collection[str] | None,
              money: bool) -> Dashboard:
    """Claims by status (of the viewer's units), the month's approvals (the month of
    ``today``); fund figures (paid in the month, balance on ``today``) if ``money``."""
    first, last = month_bounds(f"{today:%Y-%m}")
    q = select(Claim.status, func.count(), func.coalesce(func.sum(Claim.payout_fen), 0)).group_by(Claim.status)
    a = select(func.coalesce(func.sum(Claim.payout_fen), 0)).where(
        Claim.status == APPROVED, Claim.decided_on.between(first, last))
    if units is not None:
        q = _with_units(q.select_from(Claim)).where(_claim_scope(units))
        a = _with_units(a.select_from(Claim)).where(_claim_scope(units))
    by_status = {s: (int(n), int(p)) for s, n, p in session.execute(q)}
    approved = int(session.execute(a).scalar() or 0)
    return Dashboard(f"{today:%Y-%m}", by_status, approved,
                     paid_between(session, first, last) if money else None,
                     fund_balance(session, today) if money else None)


def months_back(month: str, n: int) -> list[str]:
    """The n months ending with ``month``, oldest first."""
    first, _ = month_bounds(month)
    return [f"{add_months(first, -k):%Y-%m}" for k in range(n - 1, -1, -1)]


def payouts_by_month(session: Session, months: Sequence[str]) -> dict[str, dict[str, int]]:
    """Paid amount (PAYOUT − REVERSAL) per month and product over ``months``; product of the
    line, else of the claim it pays, else 'UNSPECIFIED'."""
    if not months:
        return {}
    first, _ = month_bounds(months[0])
    _, last = month_bounds(months[-1])
    product = func.coalesce(LedgerLine.product, Claim.product, "UNSPECIFIED")
    year, mon = func.extract("year", LedgerLine.entry_date), func.extract("month", LedgerLine.entry_date)
    paid = case((LedgerLine.entry_type == "PAYOUT", LedgerLine.amount_fen), else_=-LedgerLine.amount_fen)
    out: dict[str, dict[str, int]] = {m: {} for m in months}
    for y, m, p, fen in session.execute(
            select(year, mon, product, func.sum(paid))
            .select_from(LedgerLine).outerjoin(Claim, Claim.claim_no == LedgerLine.reference)
            .where(LedgerLine.entry_type.in_(("PAYOUT", "REVERSAL")), LedgerLine.entry_date.between(first, last))
            .group_by(year, mon, product)):
        key = f"{int(y):04d}-{int(m):02d}"
        if key in out:
            out[key][p] = out[key].get(p, 0) + int(fen)
    return out


# --- reconciliation ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReconRunView:
    id: int
    month: str
    created_at: dt.datetime
    created_by: str
    inputs_fingerprint: str
    summary: dict[str, Any]


def _run_view(r: ReconRun) -> ReconRunView:
    return ReconRunView(r.id, r.month, r.created_at, r.created_by, r.inputs_fingerprint, r.summary or {})


def recon_runs(session: Session, *, month: str | None = None, limit: int = 50) -> list[ReconRunView]:
    q = select(ReconRun).order_by(ReconRun.id.desc()).limit(limit)
    if month:
        q = q.where(ReconRun.month == month)
    return [_run_view(r) for r in session.execute(q).scalars()]


def recon_run(session: Session, run_id: int) -> ReconRunView | None:
    r = session.get(ReconRun, run_id)
    return _run_view(r) if r else None


def latest_run(session: Session, month: str) -> ReconRunView | None:
    r = session.execute(select(ReconRun).where(ReconRun.month == month)
                        .order_by(ReconRun.id.desc()).limit(1)).scalar()
    return _run_view(r) if r else None


@dataclass(frozen=True, slots=True)
class ReconItemView:
    id: int
    item_key: str
    claim_no: str | None
    product: str | None
    status: str
    approved_fen: int
    paid_fen: int
    difference_fen: int
    vouchers: tuple[str, ...]
    days_outstanding: int | None
    note: str | None
    resolved_by: str | None
    resolved_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ReconItemFilter:
    status: str | None = None
    product: str | None = None
    resolved: bool | None = None
    claim_no: str | None = None


def recon_items(session: Session, run: ReconRunView, f: ReconItemFilter, *, page: int = 1,
                page_size: int = 50) -> Page[ReconItemView]:
    """Items of a run in report order (the order they were stored), with finance's notes."""
    res = and_(ReconResolution.month == run.month, ReconResolution.item_key == ReconItem.item_key)
    conds: list[Any] = [ReconItem.run_id == run.id]
    if f.status:
        conds.append(ReconItem.status == f.status)
    if f.product:
        conds.append(ReconItem.product == f.product)
    if f.claim_no:
        conds.append(or_(ReconItem.claim_no == f.claim_no, ReconItem.item_key == f.claim_no))
    if f.resolved is True:
        conds.append(ReconResolution.id.is_not(None))
    elif f.resolved is False:
        conds.append(ReconResolution.id.is_(None))
    base = select(ReconItem, ReconResolution.note, ReconResolution.resolved_by, ReconResolution.resolved_at) \
        .outerjoin(ReconResolution, res).where(*conds)
    total, more = capped_count(session, select(ReconItem.id).outerjoin(ReconResolution, res).where(*conds))
    rows = session.execute(base.order_by(ReconItem.id).offset((page - 1) * page_size).limit(page_size))
    items = [ReconItemView(i.id, i.item_key, i.claim_no, i.product, i.status, i.approved_fen, i.paid_fen,
                           i.difference_fen, tuple(filter(None, (i.vouchers or "").split(";"))),
                           i.days_outstanding, note, by, at)
             for i, note, by, at in rows]
    return Page(items, total, page, page_size, more)


def recon_item(session: Session, run: ReconRunView, item_key: str) -> ReconItemView | None:
    page = recon_items(session, run, ReconItemFilter(claim_no=item_key), page_size=5)
    return next((i for i in page.items if i.item_key == item_key), None)
