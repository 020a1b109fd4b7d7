"""Payment runs (批量代发) over HTTP: create, approve (a second finance user), cancel, export the
bank file, import the bank's result file, vouchers for the accounting system, account
corrections, and the failed payments a clerk must fix. Every rule is in
:mod:`mutualaid.payments.service`; this module only translates."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, File, Path, Query, UploadFile, status
from fastapi.responses import Response
from pydantic import Field, StringConstraints
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import services
from api.deps import DbDep, SessionDep, SettingsDep, require
from api.errors import AppError
from api.schemas import MAX_INT, ErrorOut, Instant, Money, Month, Out, Product, RowErrorOut, Text, money
from mutualaid.idnumber import mask, mask_account
from mutualaid.imports import write_errors_csv
from mutualaid.payments import service
from mutualaid.store.db import Database
from mutualaid.tabular import FileProblem
from mutualaid.users import Principal

T = TypeVar("T")
RUN_STATUSES = tuple(s.value for s in service.RunStatus)  # the Literal of the schema, as before
ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}}
RULE_ERRORS = {404: {"model": ErrorOut}, 409: {"model": ErrorOut}}
router = APIRouter(responses=ERRORS, tags=["payments"])
RunId = Annotated[int, Path(ge=1, le=MAX_INT)]
Finance = Annotated[Principal, Depends(require("payments.manage"))]
TemplateName = Literal["generic", "bank_gb18030", "bank_xlsx"]


class RunOut(Out):
    id: int
    status: Literal[RUN_STATUSES]  # type: ignore[valid-type]
    as_of: dt.date
    product: Product | None
    created_by: str
    created_at: Instant
    approved_by: str | None
    exported_at: Instant | None
    template: str | None
    item_count: int
    total: Money
    file_sha256: str | None = Field(description="SHA-256 of the exported bank file (control figure)")
    by_status: dict[str, dict[str, Any]] = Field(description="item status -> {count, amount}")

    @classmethod
    def of(cls, r: service.RunView) -> "RunOut":
        return cls(id=r.id, status=r.status, as_of=r.as_of, product=r.product, created_by=r.created_by,  # type: ignore[arg-type]
                   created_at=r.created_at, approved_by=r.approved_by, exported_at=r.exported_at,
                   template=r.template, item_count=r.item_count, total=money(r.total_fen) or "0.00",
                   file_sha256=r.file_sha256,
                   by_status={k: {"count": n, "amount": money(f)} for k, (n, f) in sorted(r.by_status.items())})


class LeftOut(Out):
    claim_no: str
    reason: Literal["NO_ACCOUNT", "AWAITING_FIX"]


class CreatedOut(Out):
    run: RunOut | None = Field(description="None when there was nothing to pay")
    left_out: list[LeftOut] = Field(description="approved claims not in the run: no valid account, or failed "
                                                "at the bank and the account not corrected since")
    luhn_warnings: list[str] = Field(description="claims whose account fails the Luhn check digit (paid anyway)")


class CreateIn(Out):
    as_of: dt.date = Field(description="claims approved on or before this day")
    product: Product | None = None


class ItemOut(Out):
    claim_no: str
    product: str
    member_name: str
    account: str = Field(description="masked: last 4 digits")
    amount: Money
    status: Literal["PENDING", "PAID", "FAILED", "REFUNDED", "DROPPED", "CANCELLED"]
    bank_date: dt.date | None
    bank_txn: str | None
    reason: str | None
    warning: str | None


class ReturnsOut(Out):
    import_id: int | None
    file_name: str
    rows_total: int
    stored: int
    unchanged: int
    error_rows: int
    errors: list[RowErrorOut]
    warnings: list[str]
    identical_to: int | None


class AccountIn(Out):
    member_id_number: Annotated[str, StringConstraints(pattern=r"^\d{17}[\dX]$")]
    account: Annotated[str, StringConstraints(pattern=r"^\d{12,19}$")]
    reason: Text = Field(min_length=1, max_length=2000)


class AccountOut(Out):
    member_id_number: str = Field(description="masked")
    account: str = Field(description="masked")
    luhn_warning: bool
    released: list[str] = Field(description="claims back in the pool for the next run")


class FailedOut(Out):
    claim_no: str
    product: str
    member_id_number: str = Field(description="masked")
    member_name: str
    unit_code: str | None
    amount: Money
    run: int | None
    bank_date: dt.date | None
    reason: str | None
    account: str | None = Field(description="the refused account, masked")
    corrected: bool
    state: Literal["FAILED", "REFUNDED", "NO_ACCOUNT"]


def run_rule(db: Database, fn: Callable[[Session], T]) -> T:
    """One transaction; a rule's refusal is 409 (404 for an unknown run), nothing changed."""
    from mutualaid.store.db import retry_when_locked

    def attempt() -> T:
        with db.transaction() as session:
            return fn(session)
    try:
        return retry_when_locked(attempt)  # SQLite: another writer in the same instant
    except service.PaymentError as e:
        raise AppError(404 if e.code == "pay_no_run" else 409, e.code, **e.params) from None
    except IntegrityError:
        raise AppError(409, "pay_changed", run="-") from None


@router.get("/payments/runs", response_model=list[RunOut])
def list_runs(user: Finance, session: SessionDep) -> list[RunOut]:
    """Payment runs, newest first, with their totals and item figures."""
    return [RunOut.of(r) for r in service.list_runs(session)]


@router.post("/payments/runs", response_model=CreatedOut, status_code=status.HTTP_201_CREATED, responses=RULE_ERRORS)
def create_run(user: Finance, db: DbDep, body: CreateIn) -> CreatedOut:
    """A run of every approved, unpaid claim not in a live run (then approved by another finance user)."""
    r = run_rule(db, lambda s: service.create_run(s, as_of=body.as_of, product=body.product, user=user.username))
    run = None
    if r.run_id is not None:
        with db.sessions() as session:
            run = RunOut.of(service.get_run(session, r.run_id))
    return CreatedOut(run=run, luhn_warnings=r.luhn_warnings,
                      left_out=[LeftOut(claim_no=c.claim_no, reason=c.state) for c in r.no_account + r.awaiting_fix])  # type: ignore[arg-type]


@router.get("/payments/runs/{run_id}", response_model=RunOut, responses=RULE_ERRORS)
def get_run(user: Finance, session: SessionDep, run_id: RunId) -> RunOut:
    try:
        return RunOut.of(service.get_run(session, run_id))
    except service.PaymentError as e:
        raise AppError(404, e.code, **e.params) from None


@router.get("/payments/runs/{run_id}/items", response_model=list[ItemOut])
def run_items(user: Finance, session: SessionDep, run_id: RunId,
              offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[ItemOut]:
    """The run's items (accounts masked)."""
    return [ItemOut(claim_no=i.claim_no, product=i.product, member_name=i.member_name, account=i.account_masked,
                    amount=money(i.amount_fen) or "0.00", status=i.status, bank_date=i.bank_date,  # type: ignore[arg-type]
                    bank_txn=i.bank_txn, reason=i.reason, warning=i.warning)
            for i in service.run_items(session, run_id, offset=offset, limit=limit)]


@router.post("/payments/runs/{run_id}/approve", response_model=RunOut, responses=RULE_ERRORS)
def approve_run(user: Finance, db: DbDep, run_id: RunId) -> RunOut:
    """Four-eyes: a finance user other than the creator approves the run."""
    run_rule(db, lambda s: service.approve_run(s, run_id, user=user.username))
    with db.sessions() as session:
        return RunOut.of(service.get_run(session, run_id))


@router.post("/payments/runs/{run_id}/cancel", response_model=RunOut, responses=RULE_ERRORS)
def cancel_run(user: Finance, db: DbDep, run_id: RunId) -> RunOut:
    """Cancel a run not yet exported; its claims return to the pool."""
    run_rule(db, lambda s: service.cancel_run(s, run_id, user=user.username))
    with db.sessions() as session:
        return RunOut.of(service.get_run(session, run_id))


def export_response(r: service.ExportResult) -> Response:
    if r.data is None:
        raise AppError(409, "pay.dropped", claims=", ".join(c for c, _ in r.dropped))
    t = service.bankfile.template(r.template)
    media = ("text/csv; charset=" + ("gb18030" if t.encoding == "gb18030" else "utf-8")) if t.format == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    headers = {"Content-Disposition": f'attachment; filename="payment-run-{r.run_id}.{t.format}"',
               "X-Payment-Items": str(r.items), "X-Payment-Total": money(r.total_fen) or "0.00",
               "X-Payment-Dropped": ",".join(c for c, _ in r.dropped)}
    return Response(r.data, media_type=media, headers=headers)


@router.post("/payments/runs/{run_id}/export", response_class=Response, responses={
    **RULE_ERRORS, 200: {"content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
                         "description": "the bank file; exported again: the same bytes"}})
def export_run(user: Finance, db: DbDep, run_id: RunId, template: TemplateName | None = None) -> Response:
    """The bank file of an approved run. Claims changed since the run was made are dropped from it
    (listed in X-Payment-Dropped) and return to the pool."""
    return export_response(run_rule(db, lambda s: service.export_run(s, run_id, template=template, user=user.username)))


@router.post("/payments/returns", response_model=ReturnsOut, status_code=status.HTTP_201_CREATED,
             responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut}})
def import_returns(user: Finance, db: DbDep, settings: SettingsDep,
                   file: Annotated[UploadFile, File(description="the bank's result file, .csv or .xlsx")]) -> ReturnsOut:
    """Book the bank's result file: idempotent, row errors at (row, column)."""
    return ReturnsOut.model_validate(upload_returns(db, settings, user, file), from_attributes=True)


def upload_returns(db: Database, settings: services.Settings, user: Principal, file: UploadFile | None) -> dict:
    from mutualaid import limits

    saved = services.save_upload(file, settings)
    try:
        with limits.using(settings.read_limits()):  # the upload limits, as for every other import
            report = service.import_returns(db, saved.path, user=user.username, file_name=saved.name)
    except FileProblem as problem:
        raise services.file_problem(problem) from None
    finally:
        saved.discard()
    errors = [services.masked_error(e) for e in report.errors]
    if errors and report.import_id is not None:
        write_errors_csv(errors, services.errors_path(settings, service.RETURN_KIND, report.import_id),
                         omitted=report.errors_omitted)
    return {"import_id": report.import_id, "file_name": report.file_name, "rows_total": report.rows_total,
            "stored": report.stored, "unchanged": report.unchanged, "error_rows": report.error_rows,
            "errors": [RowErrorOut(row=e.row, column=e.column, value=e.value, code=e.code, message=e.message)
                       for e in errors], "warnings": report.warnings, "identical_to": report.identical_to}


def vouchers_csv(session: Session, month: str) -> bytes:
    import tempfile
    from pathlib import Path as FsPath

    rows = service.vouchers(session, month)
    with tempfile.TemporaryDirectory() as tmp:
        path = FsPath(tmp) / "vouchers.csv"
        service.write_vouchers(rows, path)
        return path.read_bytes()


@router.get("/payments/vouchers", response_class=Response, responses={
    200: {"content": {"text/csv": {}}, "description": "fund-ledger lines (files.md) for `ledger import`"}})
def vouchers(user: Finance, session: SessionDep, month: Annotated[Month, Query()]) -> Response:
    """Bank-confirmed payouts (PAYOUT) and refunds (REVERSAL) of a month, in the fund-ledger columns."""
    return Response(vouchers_csv(session, month), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="vouchers-{month}.csv"'})


@router.post("/payments/accounts", response_model=AccountOut, responses=RULE_ERRORS)
def update_account(user: Finance, db: DbDep, body: AccountIn) -> AccountOut:
    """Correct a member's bank account (audited): failed payments go into the next run."""
    r = run_rule(db, lambda s: service.update_account(s, body.member_id_number, body.account, reason=body.reason,
                                                      user=user.username))
    return AccountOut(member_id_number=mask(r.member_id_number), account=mask_account(r.account),
                      luhn_warning=r.luhn_warning, released=r.released)


def failed_list(session: Session, user: Principal) -> list[service.FailedPayment]:
    return service.failed_payments(session, units=user.units)


@router.get("/payments/failed", response_model=list[FailedOut])
def failed(user: Annotated[Principal, Depends(require("payments.failed"))], session: SessionDep) -> list[FailedOut]:
    """Payments the bank refused (not paid since) and approved claims without a valid account;
    a clerk sees their units' members only."""
    return [FailedOut(claim_no=f.claim_no, product=f.product, member_id_number=mask(f.member_id_number),
                      member_name=f.member_name, unit_code=f.unit_code, amount=money(f.amount_fen) or "0.00",
                      run=f.run_id, bank_date=f.bank_date, reason=f.reason, account=mask_account(f.account) or None,
                      corrected=f.corrected, state=f.state)  # type: ignore[arg-type]
            for f in failed_list(session, user)]


def routes() -> list[tuple[str, APIRouter]]:
    """(prefix, router) of the payment loop: this API router and the pages."""
    from api.app import API_PREFIX
    from api.pages import payments as pages

    return [(API_PREFIX, router), ("", pages.router)]
