"""Rosters and the fund ledger (imports), reconciliation runs and items, audit log, dashboard."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Path, Query, UploadFile, status
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from api import services
from api.authz import sees_fund
from api.deps import DbDep, JobsDep, SessionDep, SettingsDep, require
from api.errors import AppError
from api.routers.claims import PageNo, PageSize, job_out
from api.schemas import (
    MAX_INT,
    AuditOut,
    DashboardOut,
    ErrorOut,
    ImportOut,
    JobOut,
    Month,
    PageOut,
    Product,
    ReconItemOut,
    ReconRunIn,
    ReconRunOut,
    ReconStatus,
    ResolveIn,
    StatusFigure,
    Text,
    money,
    page_of,
)
from mutualaid import audit
from mutualaid import dashboard as dashboard_figures
from mutualaid.ledger import queries as ledger_queries
from mutualaid.users import Principal

ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}}
UPLOAD_ERRORS = {400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut}}
router = APIRouter(responses=ERRORS)
RunId = Annotated[int, Path(ge=1, le=MAX_INT)]


@router.post("/rosters", response_model=ImportOut, tags=["imports"], status_code=status.HTTP_201_CREATED,
             responses=UPLOAD_ERRORS)
def import_roster(user: Annotated[Principal, Depends(require("rosters.import"))], db: DbDep, settings: SettingsDep,
                  file: Annotated[UploadFile, File(description="enrollment roster, .csv or .xlsx")]) -> ImportOut:
    """Store an enrollment roster (units, members, enrollments); row errors reported."""
    return ImportOut.of(services.import_upload("ROSTER", db, settings, user, file))


@router.post("/ledger/imports", response_model=ImportOut, tags=["imports"], status_code=status.HTTP_201_CREATED,
             responses=UPLOAD_ERRORS)
def import_ledger(user: Annotated[Principal, Depends(require("ledger.import"))], db: DbDep, settings: SettingsDep,
                  file: Annotated[UploadFile, File(description="fund ledger export, .csv or .xlsx")]) -> ImportOut:
    """Store fund-ledger lines (append-only; a stored voucher with other content is a row error)."""
    return ImportOut.of(services.import_upload("LEDGER", db, settings, user, file))


# --- reconciliation ----------------------------------------------------------------------------

def run_out(session: Session, settings: services.Settings, run: ledger_queries.ReconRunView) -> ReconRunOut:
    files = services.report_files(settings, run, latest=_is_latest(session, run))
    return ReconRunOut(id=run.id, month=run.month, created_at=run.created_at, created_by=run.created_by,
                       inputs_fingerprint=run.inputs_fingerprint, summary=run.summary, files=sorted(files))


def _is_latest(session: Session, run: ledger_queries.ReconRunView) -> bool:
    latest = ledger_queries.latest_run(session, run.month)
    return latest is not None and latest.id == run.id


@router.post("/reconciliations", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED, tags=["reconciliation"],
             responses={409: {"model": ErrorOut}, 503: {"model": ErrorOut}})
def run_reconciliation(user: Annotated[Principal, Depends(require("recon.run"))], db: DbDep, jobs: JobsDep,
                       settings: SettingsDep, body: ReconRunIn) -> JobOut:
    """Reconcile a month in the background (items, summary, report files); poll /jobs/{id}."""
    return job_out(services.start_reconciliation(jobs, db, settings, user, body.month))


@router.get("/reconciliations", response_model=list[ReconRunOut], tags=["reconciliation"])
def list_runs(user: Annotated[Principal, Depends(require("recon.read"))], session: SessionDep, settings: SettingsDep,
              month: Month | None = None) -> list[ReconRunOut]:
    """Reconciliation runs, newest first (optionally of one month), with their report files."""
    return [run_out(session, settings, r) for r in ledger_queries.recon_runs(session, month=month)]


def _run(session: Session, run_id: int) -> ledger_queries.ReconRunView:
    run = ledger_queries.recon_run(session, run_id)
    if run is None:
        raise AppError(404, "err.run_not_found")
    return run


@router.get("/reconciliations/{run_id}", response_model=ReconRunOut, tags=["reconciliation"],
            responses={404: {"model": ErrorOut}})
def get_run(user: Annotated[Principal, Depends(require("recon.read"))], session: SessionDep, settings: SettingsDep,
            run_id: RunId) -> ReconRunOut:
    """A run with its summary: counts and amounts by status, by product, and the fund roll-forward."""
    return run_out(session, settings, _run(session, run_id))


@router.get("/reconciliations/{run_id}/items", response_model=PageOut[ReconItemOut], tags=["reconciliation"],
            responses={404: {"model": ErrorOut}})
def run_items(user: Annotated[Principal, Depends(require("recon.read"))], session: SessionDep, run_id: RunId,
              status_: Annotated[ReconStatus | None, Query(alias="status")] = None, product: Product | None = None,
              resolved: bool | None = None, claim_no: Annotated[Text | None, Query(max_length=80)] = None,
              page: PageNo = 1, page_size: PageSize = 50) -> dict:
    """Items in report order (late unpaid first), with finance's notes."""
    run = _run(session, run_id)
    f = ledger_queries.ReconItemFilter(status=status_, product=product, resolved=resolved, claim_no=claim_no)
    return page_of(ledger_queries.recon_items(session, run, f, page=page, page_size=page_size), ReconItemOut.of)


@router.post("/reconciliations/{month}/resolutions", response_model=ReconItemOut, tags=["reconciliation"],
             responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}, 503: {"model": ErrorOut}})
def resolve_item(user: Annotated[Principal, Depends(require("recon.resolve"))], db: DbDep,
                 month: Annotated[str, Path(pattern=r"^(20\d\d|2100)-(0[1-9]|1[0-2])$")],
                 body: ResolveIn) -> ReconItemOut:
    """Mark an item of the month resolved with a note (kept across re-runs of the month)."""
    services.resolve_item(db, user, month, body.item_key, body.note)
    with db.sessions() as session:
        run = ledger_queries.latest_run(session, month)
        item = ledger_queries.recon_item(session, run, body.item_key) if run else None
    if item is None:
        raise AppError(404, "err.item_not_found")
    return ReconItemOut.of(item)


@router.get("/reconciliations/{run_id}/files/{name}", tags=["reconciliation"], response_class=FileResponse,
            responses={200: {"content": {"text/csv": {}, "application/json": {},
                                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}},
                       404: {"model": ErrorOut}})
def run_file(user: Annotated[Principal, Depends(require("recon.read"))], session: SessionDep, settings: SettingsDep,
             run_id: RunId, name: Literal["items.csv", "summary.json", "report.xlsx"]) -> FileResponse:
    """A report file of the run: items.csv, summary.json or report.xlsx (files.md)."""
    run = _run(session, run_id)
    path = services.report_file(settings, run, name, latest=_is_latest(session, run))
    media = {"items.csv": "text/csv; charset=utf-8", "summary.json": "application/json",
             "report.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[name]
    return FileResponse(path, media_type=media, filename=f"{run.month}-{name}")


# --- audit log and dashboard ----------------------------------------------------------------------

@router.get("/audit", response_model=PageOut[AuditOut], tags=["audit"])
def audit_log(user: Annotated[Principal, Depends(require("audit.read"))], session: SessionDep,
              actor: Annotated[Text | None, Query(max_length=64)] = None,
              action: Annotated[Text | None, Query(max_length=64)] = None,
              key: Annotated[Text | None, Query(max_length=64)] = None,
              page: PageNo = 1, page_size: PageSize = 50) -> dict:
    """Every state change, newest first: who, what, on which object, with what details."""
    found = audit.audit_log(session, actor=actor, action=action, key=key, page=page, page_size=page_size)
    return page_of(found, AuditOut.model_validate)


@router.get("/dashboard", response_model=DashboardOut, tags=["dashboard"])
def dashboard(user: Annotated[Principal, Depends(require("dashboard.read"))], session: SessionDep,
              month: Annotated[Month | None, Query(description="an earlier month (default: this one, or the latest with decisions or ledger lines if this one has none)")] = None,
              ) -> DashboardOut:
    """Claims by status (a clerk: of their units), approvals and payouts in the month, fund balance
    at the month's end (or today)."""
    d = dashboard_figures.dashboard(session, today=dashboard_figures.as_of_month(session, month, dt.date.today()),
                                    units=user.units, money=sees_fund(user))
    return DashboardOut(month=d.month, by_status={s: StatusFigure(count=n, payout=money(p))  # type: ignore[arg-type]
                                                  for s, (n, p) in d.by_status.items()},
                        approved_in_month=money(d.approved_in_month_fen),  # type: ignore[arg-type]
                        paid_in_month=money(d.paid_in_month_fen), fund_balance=money(d.fund_balance_fen))
