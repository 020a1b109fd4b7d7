"""Payment runs (批量代发): the use cases every interface calls (CLI, API, pages, demo).

The loop: ``create_run`` gathers every approved, unpaid claim not in a live run;
``approve_run`` by a second finance user (four-eyes); ``export_run`` writes the bank file
through a template (:mod:`mutualaid.payments.bankfile`); ``import_returns`` books the
bank's answer per claim; ``vouchers`` turns bank-confirmed payouts (and refunds) into
fund-ledger lines that ``ledger import`` takes. A failed payment sends the claim back to
the pool once the member's account is corrected (roster, or ``update_account``).

Nothing paid twice: a claim has at most one *live* item (pending in a run not cancelled,
or paid), enforced by a unique column in the database (``payment_items.live_claim_id``).

A claim that changed after it was put in a run (rejected by an auditor, payout changed)
is *dropped* from the run when the run is first exported (item ``DROPPED``, audited and
reported): only the unchanged claims go to the bank, never an old amount, and the dropped
claim returns to the pool at its new amount. Dropping only removes payments, so the
second person's approval still covers what is paid. Once exported, a run's file is fixed:
exporting again gives the same bytes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from enum import StrEnum, auto
from pathlib import Path

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from mutualaid import audit, fields
from mutualaid.claims.status import APPROVED, PRODUCTS
from mutualaid.fields import FieldError
from mutualaid.i18n import message
from mutualaid.idnumber import mask_account
from mutualaid.imports import ImportReport, Progress, RowError, run_import
from mutualaid.ledger.entries import EntryType
from mutualaid.money import fmt
from mutualaid.payments import bankfile
from mutualaid.store.bulk import in_values, insert_rows, update_rows
from mutualaid.store.db import Database
from mutualaid.store.models import Claim, Enrollment, FileImport, Member, Unit, User
from mutualaid.store.models_payments import AccountUpdate, PaymentItem, PaymentRun
from mutualaid.tabular import Cell



class RunStatus(StrEnum):
    """``payment_runs.status``: CREATED -> APPROVED -> EXPORTED -> CLOSED, or CANCELLED.

    A vocabulary of its own: a run's APPROVED is not the claim status (mutualaid.claims.status).
    Each value is its member's name (as stored)."""

    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list) -> str:  # noqa: ARG004
        return name

    CREATED = auto()
    APPROVED = auto()
    EXPORTED = auto()
    CLOSED = auto()
    CANCELLED = auto()


CREATED, APPROVED_RUN, EXPORTED, CLOSED, CANCELLED = RunStatus
LIVE_RUN = (CREATED, APPROVED_RUN, EXPORTED)


class ItemStatus(StrEnum):
    """``payment_items.status``: PENDING -> PAID (-> REFUNDED) or FAILED; DROPPED, CANCELLED."""

    PENDING = "PENDING"      # in a run, not answered by the bank yet
    PAID = "PAID"
    FAILED = "FAILED"
    REFUNDED = "REFUNDED"    # paid, then returned by the bank
    DROPPED = "DROPPED"      # taken out of the run before export
    CANCELLED = "CANCELLED"  # its run was cancelled


PENDING, PAID, FAILED, REFUNDED, DROPPED, WITHDRAWN = ItemStatus
RETURN_KIND = "PAYRETURN"
PAYER_ROLES = ("finance", "admin")
BANK_TXN_MAX = 60


class PaymentError(ValueError):
    """A rule of the payment loop said no: nothing was changed. ``code`` is an i18n message key."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        return message(self.code, **self.params)


# --- accounts ------------------------------------------------------------------------------

def luhn_ok(account: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(account)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def valid_account(account: str | None) -> bool:
    return bool(account) and account.isascii() and account.isdigit() and 12 <= len(account) <= 19  # type: ignore[union-attr]


@dataclass(slots=True)
class Candidate:
    claim_id: int
    claim_no: str
    product: str
    member_id_number: str
    member_name: str
    unit_code: str | None
    amount_fen: int
    account: str | None
    state: str = "PAYABLE"  # PAYABLE | NO_ACCOUNT | AWAITING_FIX (failed at the bank, account unchanged)
    failed_reason: str | None = None

    @property
    def warning(self) -> str | None:
        return None if self.account is None or luhn_ok(self.account) else "luhn"


_COVER = aliased(Enrollment, name="cover")
_COVER_UNIT = aliased(Unit, name="cover_unit")
_COVER_IMPORT = aliased(FileImport, name="cover_import")


def _current_accounts(session: Session, members: Collection[str],
                      cover: dict[str, tuple[str | None, dt.datetime | None]]) -> dict[str, str | None]:
    """Each member's account: the covering enrollment's (``cover``), else the latest roster's.
    A newer source wins over it: a roster imported later with another account (a roster
    correction), or an update by finance."""
    conn = session.connection()
    best: dict[str, tuple[str, dt.datetime | None]] = {
        m: (acc, at) for m, (acc, at) in cover.items() if valid_account(acc)}  # type: ignore[misc]
    if members:
        for m, acc, at in session.execute(
                select(Member.id_number, Enrollment.bank_account, FileImport.imported_at)
                .join(Enrollment, Enrollment.member_id == Member.id)
                .join(FileImport, FileImport.id == Enrollment.import_id)
                .where(in_values(conn, Member.id_number, list(members)), Enrollment.bank_account.is_not(None))
                .order_by(Enrollment.import_id, Enrollment.id)).all():  # latest roster last
            if not valid_account(acc):
                continue
            known = best.get(m)
            if m not in cover or known is None or (at is not None and known[1] is not None and at > known[1]):
                best[m] = (acc, at)
    if members and session.execute(select(AccountUpdate.id).limit(1)).first() is not None:
        for m, acc, at in session.execute(
                select(AccountUpdate.member_id_number, AccountUpdate.account, AccountUpdate.updated_at)
                .where(in_values(conn, AccountUpdate.member_id_number, list(members)))
                .order_by(AccountUpdate.id)).all():
            known = best.get(m)
            if known is None or known[1] is None or at >= known[1]:
                best[m] = (acc, at)
    return {m: (best[m][0] if m in best else None) for m in set(members) | set(cover)}


def pool(session: Session, *, as_of: dt.date | None = None, product: str | None = None,
         units: Collection[str] | None = None, member: str | None = None) -> list[Candidate]:
    """Approved claims with payout > 0, decided on or before ``as_of``, neither paid nor in a
    live run, in claim order, each with its account and state."""
    live = exists().where(PaymentItem.live_claim_id == Claim.id)
    q = (select(Claim.id, Claim.claim_no, Claim.product, Claim.member_id_number, Claim.member_name,
                func.coalesce(_COVER_UNIT.code, FileImport.unit_code), Claim.payout_fen,
                _COVER.bank_account, _COVER_IMPORT.imported_at)
         .join(FileImport, FileImport.id == Claim.batch_id)
         .outerjoin(_COVER, _COVER.id == Claim.enrollment_id)
         .outerjoin(_COVER_UNIT, _COVER_UNIT.id == _COVER.unit_id)
         .outerjoin(_COVER_IMPORT, _COVER_IMPORT.id == _COVER.import_id)
         .where(Claim.status == APPROVED, Claim.payout_fen > 0, ~live)
         .order_by(Claim.id))
    if as_of is not None:
        q = q.where(Claim.decided_on <= as_of)
    if product is not None:
        q = q.where(Claim.product == product)
    if member is not None:
        q = q.where(Claim.member_id_number == member)
    rows = session.execute(q).all()
    if units is not None:
        rows = [r for r in rows if r[5] in units]
    cover: dict[str, tuple[str | None, dt.datetime | None]] = {}
    for r in rows:
        if valid_account(r[7]) or r[3] not in cover:
            cover[r[3]] = (r[7], r[8])
    accounts = _current_accounts(session, {r[3] for r in rows}, cover)
    out = [Candidate(r[0], r[1], r[2], r[3], r[4], r[5], r[6], accounts.get(r[3])) for r in rows]
    # failed before with the very account we would use again: wait for a correction
    ids = [c.claim_id for c in out]
    last_failed: dict[int, tuple[str, str | None]] = {}
    if ids and session.execute(select(PaymentItem.id).where(PaymentItem.status.in_((FAILED, REFUNDED)))
                               .limit(1)).first() is not None:
        conn = session.connection()
        for claim_id, status, account, reason in session.execute(
                select(PaymentItem.claim_id, PaymentItem.status, PaymentItem.account, PaymentItem.reason)
                .where(in_values(conn, PaymentItem.claim_id, ids),
                       PaymentItem.status.in_((FAILED, REFUNDED, PAID, DROPPED, WITHDRAWN)))
                .order_by(PaymentItem.id)).all():
            if status in (FAILED, REFUNDED):
                last_failed[claim_id] = (account, reason)
            else:
                last_failed.pop(claim_id, None)
    for c in out:
        if c.account is None:
            c.state = "NO_ACCOUNT"
        elif c.claim_id in last_failed and last_failed[c.claim_id][0] == c.account:
            c.state, c.failed_reason = "AWAITING_FIX", last_failed[c.claim_id][1]
    return out


# --- runs --------------------------------------------------------------------------------------

@dataclass
class CreateResult:
    run_id: int | None
    items: int
    total_fen: int
    no_account: list[Candidate] = field(default_factory=list)
    awaiting_fix: list[Candidate] = field(default_factory=list)
    luhn_warnings: list[str] = field(default_factory=list)  # claim numbers


def _require_user(session: Session, user: str) -> None:
    if not user or not user.strip():
        raise PaymentError("pay_user_required")
    role = session.execute(select(User.role).where(User.username == user)).scalar()
    if role is not None and role not in PAYER_ROLES:
        raise PaymentError("pay_not_finance", user=user, role=role)


def create_run(session: Session, *, as_of: dt.date, product: str | None = None, user: str) -> CreateResult:
    """A run of every payable claim; none when there is nothing to pay. The caller commits."""
    _require_user(session, user)
    if product is not None and product not in PRODUCTS:
        raise PaymentError("pay_bad_product", product=product)
    audit.lock_chain(session)  # concurrent creations queue (PostgreSQL); the unique live item guards the rest
    candidates = pool(session, as_of=as_of, product=product)
    payable = [c for c in candidates if c.state == "PAYABLE"]
    result = CreateResult(None, len(payable), sum(c.amount_fen for c in payable),
                          [c for c in candidates if c.state == "NO_ACCOUNT"],
                          [c for c in candidates if c.state == "AWAITING_FIX"],
                          [c.claim_no for c in payable if c.warning])
    if not payable:
        return result
    run = PaymentRun(status=CREATED, as_of=as_of, product=product, created_by=user,
                     item_count=len(payable), total_fen=result.total_fen, version=0)
    session.add(run)
    session.flush()
    insert_rows(session.connection(), PaymentItem.__table__,
                ("run_id", "claim_id", "live_claim_id", "claim_no", "product", "member_id_number", "member_name",
                 "unit_code", "account", "account_warning", "amount_fen", "status"),
                [(run.id, c.claim_id, c.claim_id, c.claim_no, c.product, c.member_id_number, c.member_name,
                  c.unit_code, c.account, c.warning, c.amount_fen, PENDING) for c in payable])
    result.run_id = run.id
    audit.record(session, user, "payment.create", "payment_run", run.id,
                 {"as_of": as_of, "product": product, "items": len(payable), "total": fmt(result.total_fen, fen=True),
                  "no_account": len(result.no_account), "awaiting_fix": len(result.awaiting_fix)})
    return result


def _run(session: Session, run_id: int, *, lock: bool = True) -> PaymentRun:
    q = select(PaymentRun).where(PaymentRun.id == run_id).execution_options(populate_existing=True)
    if lock and session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    run = session.execute(q).scalar()
    if run is None:
        raise PaymentError("pay_no_run", run=run_id)
    return run


def _set_status(session: Session, run: PaymentRun, status: str, **values: object) -> None:
    res = session.execute(update(PaymentRun).where(PaymentRun.id == run.id, PaymentRun.version == run.version)
                          .values(status=status, version=run.version + 1, **values)
                          .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise PaymentError("pay_changed", run=run.id)
    session.expire(run)


def approve_run(session: Session, run_id: int, *, user: str) -> PaymentRun:
    """The second pair of eyes: another finance user than the creator approves a CREATED run."""
    _require_user(session, user)
    audit.lock_chain(session)
    run = _run(session, run_id)
    if run.status != CREATED:
        raise PaymentError("pay_not_created", run=run_id, status=run.status)
    if user == run.created_by:
        raise PaymentError("pay_four_eyes", run=run_id, user=user)
    _set_status(session, run, APPROVED_RUN, approved_by=user, approved_at=_now())
    audit.record(session, user, "payment.approve", "payment_run", run_id,
                 {"items": run.item_count, "total": fmt(run.total_fen, fen=True)})
    return run


def cancel_run(session: Session, run_id: int, *, user: str) -> PaymentRun:
    """Cancel a run not yet exported: its claims return to the pool."""
    _require_user(session, user)
    audit.lock_chain(session)
    run = _run(session, run_id)
    if run.status not in (CREATED, APPROVED_RUN):
        raise PaymentError("pay_cannot_cancel", run=run_id, status=run.status)
    session.execute(update(PaymentItem).where(PaymentItem.run_id == run_id, PaymentItem.status == PENDING)
                    .values(status=WITHDRAWN, live_claim_id=None).execution_options(synchronize_session=False))
    _set_status(session, run, CANCELLED, cancelled_by=user, cancelled_at=_now())
    audit.record(session, user, "payment.cancel", "payment_run", run_id, {"items": run.item_count})
    return run


@dataclass
class ExportResult:
    run_id: int
    data: bytes | None          # None: every claim of the run changed; the run was cancelled
    template: str
    items: int
    total_fen: int
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (claim_no, why)
    first_export: bool = True

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data or b"").hexdigest()


def export_run(session: Session, run_id: int, *, template: str | None = None, user: str) -> ExportResult:
    """The bank file of an approved run (first export) or of an exported one (same bytes)."""
    _require_user(session, user)
    try:
        t = bankfile.template(template)
    except bankfile.TemplateError as e:
        raise PaymentError("pay_bad_template", detail=str(e)) from None
    audit.lock_chain(session)
    run = _run(session, run_id)
    if run.status in (EXPORTED, CLOSED):
        if template is not None and template != run.template:
            raise PaymentError("pay_other_template", run=run_id, template=run.template)
        t = bankfile.template(run.template)
        data = _render(session, run, t)
        if hashlib.sha256(data).hexdigest() != run.file_sha256:  # a template file was edited since
            raise PaymentError("pay_template_changed", run=run_id, template=run.template)
        return ExportResult(run_id, data, t.name, run.item_count, run.total_fen, first_export=False)
    if run.status != APPROVED_RUN:
        raise PaymentError("pay_not_approved", run=run_id, status=run.status)
    dropped = _drop_changed(session, run_id)
    if dropped:
        n, total = session.execute(select(func.count(), func.coalesce(func.sum(PaymentItem.amount_fen), 0))
                                   .where(PaymentItem.run_id == run_id, PaymentItem.status == PENDING)).one()
        audit.record(session, user, "payment.drop", "payment_run", run_id,
                     {"dropped": [{"claim": c, "why": w} for c, w in dropped]})
        if n == 0:
            _set_status(session, run, CANCELLED, item_count=0, total_fen=0, cancelled_by=user, cancelled_at=_now())
            return ExportResult(run_id, None, t.name, 0, 0, dropped)
        session.execute(update(PaymentRun).where(PaymentRun.id == run_id).values(item_count=n, total_fen=int(total))
                        .execution_options(synchronize_session=False))
        session.expire(run)
    data = _render(session, run, t)
    digest = hashlib.sha256(data).hexdigest()
    _set_status(session, run, EXPORTED, exported_by=user, exported_at=_now(), template=t.name, file_sha256=digest)
    audit.record(session, user, "payment.export", "payment_run", run_id,
                 {"template": t.name, "items": run.item_count, "total": fmt(run.total_fen, fen=True), "sha256": digest})
    return ExportResult(run_id, data, t.name, run.item_count, run.total_fen, dropped)


def _drop_changed(session: Session, run_id: int) -> list[tuple[str, str]]:
    rows = session.execute(
        select(PaymentItem.id, PaymentItem.claim_no, PaymentItem.amount_fen, Claim.status, Claim.payout_fen)
        .join(Claim, Claim.id == PaymentItem.claim_id)
        .where(PaymentItem.run_id == run_id, PaymentItem.status == PENDING,
               (Claim.status != APPROVED) | (Claim.payout_fen != PaymentItem.amount_fen))
        .order_by(PaymentItem.id)).all()
    if not rows:
        return []
    session.execute(update(PaymentItem).where(PaymentItem.id.in_([r[0] for r in rows]))
                    .values(status=DROPPED, live_claim_id=None).execution_options(synchronize_session=False))
    return [(r[1], f"{r[3]} {fmt(r[4], fen=True)} ≠ {APPROVED} {fmt(r[2], fen=True)}") for r in rows]


def _render(session: Session, run: PaymentRun, t: bankfile.Template) -> bytes:
    payees = [bankfile.Payee(*r) for r in session.execute(
        select(PaymentItem.claim_no, PaymentItem.account, PaymentItem.member_name, PaymentItem.amount_fen,
               PaymentItem.product)
        .where(PaymentItem.run_id == run.id, PaymentItem.status.not_in((DROPPED, WITHDRAWN)))
        .order_by(PaymentItem.id)).all()]
    return bankfile.render(t, bankfile.RunFacts(run.id, run.as_of, run.product), payees)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# --- the bank's return file ----------------------------------------------------------------------

@dataclass(slots=True)
class ReturnLine:
    row: int
    reference: str
    account: str
    amount_fen: int
    status: str
    reason: str | None
    bank_date: dt.date
    bank_txn: str | None


_EMPTY = Cell("", "empty")


def parse_return_row(row: int, cells: dict[str, Cell], errors: list[RowError]) -> ReturnLine | None:
    """One line of a bank's result file (module level: big files are parsed in another process)."""
    ref_c = cells.get("reference", _EMPTY)
    if ref_c.text in bankfile.skip_references():
        return None
    before = len(errors)
    acc_c, amt_c, st_c = cells.get("account", _EMPTY), cells.get("amount", _EMPTY), cells.get("status", _EMPTY)
    why_c, day_c, txn_c = cells.get("reason", _EMPTY), cells.get("bank_date", _EMPTY), cells.get("bank_txn", _EMPTY)

    def bad(col: str, cell: Cell, e: FieldError) -> None:
        errors.append(RowError.of(row, col, cell.text, e.code, **e.params))

    reference = account = status = reason = txn = None
    amount = day = None
    try:
        reference = fields.text(ref_c, max_length=64)
    except FieldError as e:
        bad("reference", ref_c, e)
    try:
        account = (fields.text(acc_c, max_length=40) or "").replace(" ", "")
        if not valid_account(account):
            errors.append(RowError.of(row, "account", mask_account(account), "bad_bank_account"))
    except FieldError as e:
        bad("account", acc_c, e)
    try:
        amount = fields.amount_fen(amt_c)
    except FieldError as e:
        bad("amount", amt_c, e)
    status = bankfile.STATUS_WORDS.get(st_c.text) if st_c.kind != "formula" else None
    if status is None:
        errors.append(RowError.of(row, "status", st_c.text, "required" if not st_c.text else "pay_bad_status"))
    try:
        reason = fields.text(why_c, required=False)
    except FieldError as e:
        bad("reason", why_c, e)
    try:
        txn = fields.text(txn_c, required=False, max_length=BANK_TXN_MAX)
        if status == "SUCCESS" and not txn:
            errors.append(RowError.of(row, "bank_txn", "", "pay_txn_required"))
    except FieldError as e:
        bad("bank_txn", txn_c, e)
    if not day_c.text:
        errors.append(RowError.of(row, "bank_date", "", "required"))
    else:
        try:
            day = bankfile.parse_bank_date(day_c.text[:10] if day_c.kind == "date" else day_c.text)
        except ValueError:
            errors.append(RowError.of(row, "bank_date", day_c.text, "pay_bad_bank_date"))
    if len(errors) > before:
        return None
    return ReturnLine(row, reference, account, amount, status, reason, day, txn)  # type: ignore[arg-type]


@dataclass(slots=True)
class _Item:
    id: int
    run_id: int
    claim_no: str
    account: str
    amount_fen: int
    status: str
    bank_date: dt.date | None
    bank_txn: str | None
    reason: str | None
    refund_txn: str | None
    run_status: str
    claim_id: int


def import_returns(db: Database, path: str | Path, *, user: str = "cli", file_name: str | None = None,
                   progress: Progress | None = None) -> ImportReport:
    """Book a bank's result file: idempotent, row errors at (row, column), one transaction."""
    def begin(session: Session, import_id: int, report: ImportReport):  # noqa: ANN202
        audit.lock_chain(session)
        seen: dict[str, int] = {}
        touched: set[int] = set()

        def store(lines: list[ReturnLine]) -> None:
            _store_returns(session, import_id, lines, report, seen, touched)
        return store

    report = run_import(db, path, bankfile.return_columns(), kind=RETURN_KIND, user=user, file_name=file_name,
                        progress=progress, audit_action="payment.returns", audit_entity="file_import",
                        parse=parse_return_row, begin=begin)
    return report


def _store_returns(session: Session, import_id: int, lines: list[ReturnLine], report: ImportReport,
                   seen: dict[str, int], touched: set[int]) -> None:
    if not lines:
        return
    conn = session.connection()
    refs = sorted({ln.reference for ln in lines})
    items: dict[str, list[_Item]] = defaultdict(list)
    for r in session.execute(
            select(PaymentItem.id, PaymentItem.run_id, PaymentItem.claim_no, PaymentItem.account,
                   PaymentItem.amount_fen, PaymentItem.status, PaymentItem.bank_date, PaymentItem.bank_txn,
                   PaymentItem.reason, PaymentItem.refund_txn, PaymentRun.status, PaymentItem.claim_id)
            .join(PaymentRun, PaymentRun.id == PaymentItem.run_id)
            .where(in_values(conn, PaymentItem.claim_no, refs), PaymentRun.status.in_((EXPORTED, CLOSED)))
            .order_by(PaymentItem.id)).all():
        items[r[2]].append(_Item(*r))
    unknown = [ref for ref in refs if ref not in items]
    claims_known = set(session.execute(select(Claim.claim_no).where(in_values(conn, Claim.claim_no, unknown))).scalars()) if unknown else set()
    txns = sorted({ln.bank_txn for ln in lines if ln.bank_txn})
    txn_owner: dict[str, str] = dict(session.execute(
        select(PaymentItem.bank_txn, PaymentItem.claim_no).where(in_values(conn, PaymentItem.bank_txn, txns))).all()) if txns else {}
    paid, failed, refunded = [], [], []
    for ln in lines:
        err = lambda col, value, code, **kw: report.add_errors([RowError.of(ln.row, col, value, code, **kw)])  # noqa: E731
        key = f"{ln.reference}\x1f{ln.status}"
        if key in seen:
            err("reference", ln.reference, "duplicate_in_file", first=seen[key])
            continue
        seen[key] = ln.row
        candidates = items.get(ln.reference)
        if not candidates:
            err("reference", ln.reference, "pay_not_exported" if ln.reference in claims_known else "pay_unknown_reference",
                reference=ln.reference)
            continue
        done = next((i for i in candidates if _same_result(i, ln)), None)
        if done is not None:
            report.unchanged += 1
            continue
        live = next((i for i in candidates if i.status in (PENDING, PAID)), None)
        if live is None:
            err("status", ln.status, "pay_no_open_item", reference=ln.reference)
            continue
        if ln.account != live.account:
            err("account", mask_account(ln.account), "pay_account_differs", expected=mask_account(live.account))
            continue
        if ln.amount_fen != live.amount_fen:
            err("amount", fmt(ln.amount_fen, fen=True), "pay_amount_differs", expected=fmt(live.amount_fen, fen=True))
            continue
        if ln.bank_txn and txn_owner.get(ln.bank_txn, ln.reference) != ln.reference:
            err("bank_txn", ln.bank_txn, "pay_txn_used", other=txn_owner[ln.bank_txn])
            continue
        if live.status == PENDING and ln.status == "SUCCESS":
            paid.append((ln.bank_date, ln.bank_txn, ln.reason, import_id, live.id))
            live.status, live.bank_date, live.bank_txn, live.reason = PAID, ln.bank_date, ln.bank_txn, ln.reason
        elif live.status == PENDING:
            failed.append((ln.bank_date, ln.bank_txn, ln.reason or "", import_id, live.id))
            live.status, live.bank_date, live.bank_txn, live.reason = FAILED, ln.bank_date, ln.bank_txn, ln.reason or ""
        elif ln.status == FAILED and ln.bank_txn and ln.bank_txn != live.bank_txn and ln.bank_date >= live.bank_date:  # type: ignore[operator]
            refunded.append((ln.bank_date, ln.bank_txn, ln.reason or "", import_id, live.id))
            live.status, live.refund_txn, live.reason = REFUNDED, ln.bank_txn, ln.reason or ""
        else:  # a second success, or a failure that contradicts the recorded payment
            err("status", ln.status, "pay_already_paid", txn=live.bank_txn or "", date=live.bank_date)
            continue
        if ln.bank_txn:
            txn_owner[ln.bank_txn] = ln.reference
        touched.add(live.run_id)
        report.stored += 1
    u = update_rows
    if paid:
        u(conn, PaymentItem.__table__, ("bank_date", "bank_txn", "reason", "result_import_id"),
          f"id = {{}} AND status = '{PENDING}'", ("id",), paid, also_set=f"status = '{PAID}'")
    if failed:
        u(conn, PaymentItem.__table__, ("bank_date", "bank_txn", "reason", "result_import_id"),
          f"id = {{}} AND status = '{PENDING}'", ("id",), failed, also_set=f"status = '{FAILED}', live_claim_id = NULL")
    if refunded:
        u(conn, PaymentItem.__table__, ("refund_date", "refund_txn", "reason", "result_import_id"),
          f"id = {{}} AND status = '{PAID}'", ("id",), refunded, also_set=f"status = '{REFUNDED}', live_claim_id = NULL")
    if touched:
        still = set(session.execute(select(PaymentItem.run_id).where(PaymentItem.run_id.in_(sorted(touched)),
                                                                     PaymentItem.status == PENDING).distinct()).scalars())
        done_runs = sorted(touched - still)
        if done_runs:
            session.execute(update(PaymentRun).where(PaymentRun.id.in_(done_runs), PaymentRun.status == EXPORTED)
                            .values(status=CLOSED, version=PaymentRun.version + 1).execution_options(synchronize_session=False))


def _same_result(item: _Item, ln: ReturnLine) -> bool:
    """The line says what is already recorded for this item (a file imported again)."""
    if item.account != ln.account or item.amount_fen != ln.amount_fen:
        return False
    if ln.status == "SUCCESS":
        return item.status in (PAID, REFUNDED) and item.bank_txn == ln.bank_txn and item.bank_date == ln.bank_date
    if item.status == FAILED:
        return item.bank_date == ln.bank_date and (item.bank_txn or None) == (ln.bank_txn or None)
    return item.status == REFUNDED and item.refund_txn == ln.bank_txn


# --- vouchers for the accounting system ------------------------------------------------------------

VOUCHER_COLUMNS = ("entry_date", "voucher_no", "entry_type", "product", "amount", "reference", "memo")


@dataclass(frozen=True, slots=True)
class Voucher:
    entry_date: dt.date
    voucher_no: str
    entry_type: str
    product: str
    amount_fen: int
    reference: str
    memo: str


def payout_voucher_no(bank_txn: str) -> str:
    return f"BK{bank_txn}"


def refund_voucher_no(refund_txn: str) -> str:
    return f"BKR{refund_txn}"


def vouchers(session: Session, month: str) -> list[Voucher]:
    """Bank-confirmed payouts (PAYOUT, on the bank date) and refunds (REVERSAL) of the month."""
    from mutualaid.dates import month_bounds

    try:
        first, last = month_bounds(month)
    except ValueError:
        raise PaymentError("pay_bad_month", month=month) from None
    out: list[Voucher] = []
    memo: dict[int, str] = {}

    def paid_memo(run: int) -> str:
        if run not in memo:
            memo[run] = message("pay_voucher_memo", run=run).split(" / ")[0]
        return memo[run]

    for r in session.execute(
            select(PaymentItem.bank_date, PaymentItem.bank_txn, PaymentItem.product, PaymentItem.amount_fen,
                   PaymentItem.claim_no, PaymentItem.run_id)
            .where(PaymentItem.status.in_((PAID, REFUNDED)), PaymentItem.bank_date.between(first, last))).all():
        out.append(Voucher(r[0], payout_voucher_no(r[1]), EntryType.PAYOUT, r[2], r[3], r[4], paid_memo(r[5])))
    for r in session.execute(
            select(PaymentItem.refund_date, PaymentItem.refund_txn, PaymentItem.product, PaymentItem.amount_fen,
                   PaymentItem.claim_no, PaymentItem.run_id, PaymentItem.reason)
            .where(PaymentItem.status == REFUNDED, PaymentItem.refund_date.between(first, last))).all():
        out.append(Voucher(r[0], refund_voucher_no(r[1]), EntryType.REVERSAL, r[2], r[3], r[4],
                           message("pay_refund_memo", run=r[5], reason=r[6] or "").split(" / ")[0]))
    out.sort(key=lambda v: (v.entry_date, v.entry_type != EntryType.PAYOUT, v.voucher_no))
    return out


def write_vouchers(rows: Iterable[Voucher], path: Path) -> int:
    """The fund-ledger file of files.md (UTF-8 with BOM), written to a temporary name and renamed."""
    import csv
    import os

    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(VOUCHER_COLUMNS)
        for v in rows:
            w.writerow([v.entry_date.isoformat(), v.voucher_no, v.entry_type, v.product, fmt(v.amount_fen, fen=True),
                        bankfile.neutral(v.reference), bankfile.neutral(v.memo)])
            n += 1
    os.replace(tmp, path)
    return n


# --- accounts corrected by finance, failed payments ---------------------------------------------------

@dataclass
class AccountResult:
    member_id_number: str
    account: str
    luhn_warning: bool
    released: list[str]  # claims back in the pool for the next run


def update_account(session: Session, member_id_number: str, account: str, *, reason: str, user: str) -> AccountResult:
    """Finance corrects a member's bank account (audited; the account is masked in the log)."""
    _require_user(session, user)
    account = (account or "").replace(" ", "")
    if not valid_account(account):
        raise PaymentError("bad_bank_account")
    if not reason or not reason.strip():
        raise PaymentError("pay_reason_required")
    if session.execute(select(Member.id).where(Member.id_number == member_id_number)).scalar() is None:
        raise PaymentError("pay_no_member")
    before = _current_accounts(session, [member_id_number], {}).get(member_id_number)
    audit.lock_chain(session)
    session.add(AccountUpdate(member_id_number=member_id_number, account=account, reason=reason.strip(), updated_by=user))
    session.flush()
    released = [c.claim_no for c in pool(session, member=member_id_number) if c.state == "PAYABLE"]
    audit.record(session, user, "payment.account_update", "member", _mask_id(member_id_number),
                 {"before": mask_account(before), "after": mask_account(account), "reason": reason.strip(),
                  "released": released})
    return AccountResult(member_id_number, account, not luhn_ok(account), released)


def _mask_id(number: str) -> str:
    from mutualaid.idnumber import mask

    return mask(number)


@dataclass
class FailedPayment:
    claim_no: str
    product: str
    member_id_number: str
    member_name: str
    unit_code: str | None
    amount_fen: int
    run_id: int | None
    bank_date: dt.date | None
    reason: str | None
    account: str | None          # the account the bank refused (full; mask for display)
    corrected: bool              # the member's account differs now: paid in the next run
    state: str                   # FAILED | REFUNDED | NO_ACCOUNT


def failed_payments(session: Session, *, units: Collection[str] | None = None) -> list[FailedPayment]:
    """What a clerk must fix: payments the bank refused (and not paid since), and approved
    claims without a valid bank account; ``units`` limits to a clerk's units."""
    out: list[FailedPayment] = []
    for c in pool(session, units=units):
        if c.state == "NO_ACCOUNT":
            out.append(FailedPayment(c.claim_no, c.product, c.member_id_number, c.member_name, c.unit_code,
                                     c.amount_fen, None, None, None, None, False, "NO_ACCOUNT"))
    latest = (select(PaymentItem.claim_id, func.max(PaymentItem.id).label("last"))
              .where(PaymentItem.status.not_in((WITHDRAWN, DROPPED))).group_by(PaymentItem.claim_id).subquery())
    q = (select(PaymentItem).join(latest, and_(latest.c.last == PaymentItem.id))
         .where(PaymentItem.status.in_((FAILED, REFUNDED))).order_by(PaymentItem.claim_no))
    rows = session.execute(q).scalars().all()
    if units is not None:
        rows = [r for r in rows if r.unit_code in units]
    current = _current_accounts(session, {r.member_id_number for r in rows}, {})
    live_ids = set(session.execute(select(PaymentItem.claim_id).where(PaymentItem.live_claim_id.is_not(None),
                                                                      PaymentItem.claim_id.in_([r.claim_id for r in rows]))
                                   ).scalars()) if rows else set()
    for r in rows:
        if r.claim_id in live_ids:
            continue
        now = current.get(r.member_id_number)
        out.append(FailedPayment(r.claim_no, r.product, r.member_id_number, r.member_name, r.unit_code, r.amount_fen,
                                 r.run_id, r.refund_date or r.bank_date, r.reason, r.account,
                                 now is not None and now != r.account, r.status))
    return out


# --- read side: runs and their figures -----------------------------------------------------------------

@dataclass
class RunView:
    id: int
    status: str
    as_of: dt.date
    product: str | None
    created_by: str
    created_at: dt.datetime
    approved_by: str | None
    exported_at: dt.datetime | None
    template: str | None
    item_count: int
    total_fen: int
    by_status: dict[str, tuple[int, int]]  # item status -> (count, fen)
    file_sha256: str | None


def list_runs(session: Session, *, limit: int = 200, ids: Collection[int] | None = None) -> list[RunView]:
    """Runs, newest first (or the runs ``ids``), with their item figures by status."""
    q = select(PaymentRun).order_by(PaymentRun.id.desc()).limit(limit)
    if ids is not None:
        q = q.where(PaymentRun.id.in_(list(ids)))
    runs = session.execute(q).scalars().all()
    figures: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    if runs:
        for run_id, status, n, total in session.execute(
                select(PaymentItem.run_id, PaymentItem.status, func.count(), func.sum(PaymentItem.amount_fen))
                .where(PaymentItem.run_id.in_([r.id for r in runs])).group_by(PaymentItem.run_id, PaymentItem.status)):
            figures[run_id][status] = (int(n), int(total or 0))
    return [RunView(r.id, r.status, r.as_of, r.product, r.created_by, r.created_at, r.approved_by, r.exported_at,
                    r.template, r.item_count, r.total_fen, dict(figures[r.id]), r.file_sha256) for r in runs]


def get_run(session: Session, run_id: int) -> RunView:
    runs = list_runs(session, ids=[run_id])
    if not runs:
        raise PaymentError("pay_no_run", run=run_id)
    return runs[0]


@dataclass
class ItemView:
    claim_no: str
    product: str
    member_name: str
    account_masked: str
    amount_fen: int
    status: str
    bank_date: dt.date | None
    bank_txn: str | None
    reason: str | None
    warning: str | None


def run_items(session: Session, run_id: int, *, offset: int = 0, limit: int = 100) -> list[ItemView]:
    return [ItemView(i.claim_no, i.product, i.member_name, mask_account(i.account), i.amount_fen, i.status,
                     i.bank_date, i.bank_txn, i.reason, i.account_warning)
            for i in session.execute(select(PaymentItem).where(PaymentItem.run_id == run_id)
                                     .order_by(PaymentItem.id).offset(offset).limit(limit)).scalars()]


# --- what the reconciliation needs ----------------------------------------------------------------------


class PaymentState(StrEnum):
    """Where a claim's money stands for the reconciliation (``payment_states``), in report order."""

    WAITING = "WAITING"        # never in a run (or only in dropped / cancelled items)
    IN_RUN = "IN_RUN"          # in a run not yet exported
    EXPORTED = "EXPORTED"      # sent to the bank, no answer yet
    CONFIRMED = "CONFIRMED"    # paid
    FAILED = "FAILED"          # refused by the bank
    REFUNDED = "REFUNDED"      # paid, then returned


PAYMENT_STATES: tuple[str, ...] = tuple(PaymentState)
_STATE_OF_ITEM = {PAID: PaymentState.CONFIRMED, FAILED: PaymentState.FAILED, REFUNDED: PaymentState.REFUNDED}
_REFUSED = (PaymentState.FAILED, PaymentState.REFUNDED)


def any_payment_run(session: Session) -> bool:
    """Whether payment runs are used at all (the reports show their columns only then)."""
    return session.execute(select(PaymentRun.id).limit(1)).first() is not None


def payment_states(session: Session, last_day: dt.date,
                   claim_nos: Collection[str] | None = None) -> dict[str, tuple[str, int | None, str, int]]:
    """claim_no -> (state, run, reason, bank-confirmed net fen as of ``last_day``) for every claim
    that was ever in a run. State from the claim's latest item (not cancelled or dropped):
    pending in a run not yet exported ``IN_RUN``, exported ``EXPORTED``, paid ``CONFIRMED``,
    refused ``FAILED``/``REFUNDED`` (with the bank's reason); none ``WAITING``. ``claim_nos``
    limits it to those claims (a page of the month's items)."""
    out: dict[str, tuple[str, int | None, str, int]] = {}
    confirmed: dict[str, int] = defaultdict(int)
    q = (select(PaymentItem.claim_no, PaymentItem.run_id, PaymentItem.status, PaymentRun.status, PaymentItem.reason,
                PaymentItem.amount_fen, PaymentItem.bank_date, PaymentItem.refund_date)
         .join(PaymentRun, PaymentRun.id == PaymentItem.run_id).order_by(PaymentItem.id))
    if claim_nos is not None:
        q = q.where(PaymentItem.claim_no.in_(list(claim_nos)))
    for claim_no, run_id, status, run_status, reason, amount, bank_date, refund_date in session.execute(q):
        if status in (PAID, REFUNDED) and bank_date is not None and bank_date <= last_day:
            confirmed[claim_no] += amount
            if status == REFUNDED and refund_date is not None and refund_date <= last_day:
                confirmed[claim_no] -= amount
        if status in (DROPPED, WITHDRAWN):
            out.setdefault(claim_no, (PaymentState.WAITING, None, "", 0))
            continue
        state = _STATE_OF_ITEM.get(
            status, PaymentState.EXPORTED if run_status in (EXPORTED, CLOSED) else PaymentState.IN_RUN)
        out[claim_no] = (state, run_id, reason or "" if state in _REFUSED else "", 0)
    return {k: (s, r, why, confirmed.get(k, 0)) for k, (s, r, why, _) in out.items()}
