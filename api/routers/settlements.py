"""JSON API of the settlement extract (免申即享): upload an extract, read what it did."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, UploadFile, status
from pydantic import Field

from api import services
from api.deps import DbDep, SessionDep, SettingsDep, require
from api.errors import AppError
from api.schemas import ErrorOut, Out, RowErrorOut, money
from api.settings import Settings
from mutualaid.imports import write_errors_csv
from mutualaid.settlements.service import Figures, SettlementImport, figures, import_settlements
from mutualaid.settlements.terms import COUNT_ORDER, KIND
from mutualaid.store.db import Database
from mutualaid.tabular import FileProblem
from mutualaid.users import Principal

ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}}
UPLOAD_ERRORS = {400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut}}
router = APIRouter(responses=ERRORS)


class SettlementImportOut(Out):
    import_id: int | None = Field(description="None when the very same file was imported before")
    file_name: str
    rows_total: int
    stored: int = Field(description="settlement rows kept (members' inpatient stays and their reversals)")
    unchanged: int
    error_rows: int
    errors: list[RowErrorOut]
    warnings: list[str]
    identical_to: int | None
    counts: dict[str, int] = Field(description="what the rows became: " + ", ".join(COUNT_ORDER))


class StatusFigureOut(Out):
    count: int
    payout: str


class SettlementFiguresOut(Out):
    settlements_by_outcome: dict[str, int]
    reversed: int
    claims_by_status: dict[str, StatusFigureOut] = Field(description="claims made from settlements")
    paid_without_application: StatusFigureOut


def upload_extract(db: Database, settings: Settings, user: Principal, upload: UploadFile | None) -> SettlementImport:
    """Store an uploaded extract for ``user``; row errors masked as on every page."""
    from mutualaid import limits

    saved = services.save_upload(upload, settings)
    try:
        with limits.using(settings.read_limits()):  # read and checked in a bounded worker first, as every upload
            result = import_settlements(db, saved.path, user=user.username, file_name=saved.name)
    except FileProblem as problem:
        status_code = {"unsupported_type": 415, "too_large": 413}.get(problem.code, 400)
        raise AppError(status_code, problem.code, **problem.params) from None
    finally:
        saved.discard()
    report = result.report
    report.errors = [services.masked_error(e) for e in report.errors]
    if report.errors and report.import_id is not None:
        write_errors_csv(report.errors, services.errors_path(settings, KIND, report.import_id),
                         omitted=report.errors_omitted)
    return result


def import_out(result: SettlementImport) -> SettlementImportOut:
    r = result.report
    return SettlementImportOut(
        import_id=r.import_id, file_name=r.file_name, rows_total=r.rows_total, stored=r.stored, unchanged=r.unchanged,
        error_rows=r.error_rows, warnings=list(r.warnings), identical_to=r.identical_to,
        errors=[RowErrorOut(row=e.row, column=e.column, value=e.value, code=e.code, message=e.message)
                for e in r.errors],
        counts={str(k): int(result.counts.get(k, 0)) for k in COUNT_ORDER})


def figures_out(f: Figures) -> SettlementFiguresOut:
    return SettlementFiguresOut(
        settlements_by_outcome=f.settlements_by_outcome, reversed=f.reversed,
        claims_by_status={s: StatusFigureOut(count=n, payout=money(fen) or "0.00")
                          for s, (n, fen) in f.claims_by_status.items()},
        paid_without_application=StatusFigureOut(count=f.paid_without_application[0],
                                                 payout=money(f.paid_without_application[1]) or "0.00"))


@router.post("/settlements", response_model=SettlementImportOut, tags=["imports"],
             status_code=status.HTTP_201_CREATED, responses=UPLOAD_ERRORS)
def import_extract(user: Annotated[Principal, Depends(require("settlements.import"))], db: DbDep,
                   settings: SettingsDep,
                   file: Annotated[UploadFile, File(description="settlement extract, .csv or .xlsx")]
                   ) -> SettlementImportOut:
    """Store a medical-insurance settlement extract: members' inpatient stays become claims (免申即享)."""
    return import_out(upload_extract(db, settings, user, file))


@router.get("/settlements/figures", response_model=SettlementFiguresOut, tags=["imports"])
def settlement_figures(user: Annotated[Principal, Depends(require("settlements.read"))],
                       session: SessionDep) -> SettlementFiguresOut:
    """What the settlement data did so far, and how many claims were paid with no application."""
    return figures_out(figures(session))
