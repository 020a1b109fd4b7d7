"""Claim batches, claims, decisions and auditors' reviews; the adjudication run; jobs."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Path, Query, Response, UploadFile, status
from fastapi.responses import FileResponse

from api import services
from api.authz import can, reveals_identity
from api.deps import CurrentUser, DbDep, JobsDep, SessionDep, SettingsDep, require
from api.errors import AppError
from api.schemas import (
    MAX_INT,
    AdjudicationIn,
    BatchOut,
    ClaimDetailOut,
    ClaimOut,
    DecisionOut,
    ErrorOut,
    ImportOut,
    JobOut,
    MoneyIn,
    PageOut,
    Product,
    ReviewIn,
    ReviewOut,
    RuleCode,
    Status,
    UnitCode,
    page_of,
)
from mutualaid.claims import queries as claim_queries
from mutualaid.money import fmt
from mutualaid.users import Principal

ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}}
router = APIRouter(responses=ERRORS)

Id = Annotated[int, Path(ge=1, le=MAX_INT)]
PageNo = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=200)]
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _amount(text: str | None) -> int | None:
    return services.parse_payout(text)


# --- batches -----------------------------------------------------------------------------------

@router.post("/batches", response_model=ImportOut, tags=["batches"], status_code=status.HTTP_201_CREATED,
             responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut}})
def submit_batch(user: Annotated[Principal, Depends(require("batches.submit"))], db: DbDep, settings: SettingsDep,
                 file: Annotated[UploadFile, File(description="claim batch, .csv or .xlsx")],
                 unit_code: Annotated[UnitCode | None, Form(description="the employer unit (optional if you have one)")] = None,
                 ) -> ImportOut:
    """Store a claim batch: valid rows are stored, each invalid row is reported (row, column, value, message)."""
    unit = services.check_unit(user, unit_code)
    report = services.import_upload("CLAIMS", db, settings, user, file, unit)
    return ImportOut.of(report, unit)


@router.get("/batches", response_model=PageOut[BatchOut], tags=["batches"])
def list_batches(user: Annotated[Principal, Depends(require("batches.read"))], session: SessionDep,
                 page: PageNo = 1, page_size: PageSize = 20) -> dict:
    return page_of(claim_queries.list_batches(session, units=user.units, page=page, page_size=page_size), BatchOut.of)


@router.get("/batches/{batch_id}", response_model=BatchOut, tags=["batches"], responses={404: {"model": ErrorOut}})
def get_batch(user: Annotated[Principal, Depends(require("batches.read"))], session: SessionDep,
              batch_id: Id) -> BatchOut:
    """Counts of the batch's rows and of its claims by status."""
    batch = claim_queries.get_batch(session, batch_id, units=user.units)
    if batch is None:
        raise AppError(404, "err.batch_not_found")
    return BatchOut.of(batch)


@router.get("/batches/{batch_id}/claims", response_model=PageOut[ClaimOut], tags=["batches"],
            responses={404: {"model": ErrorOut}})
def batch_claims(user: Annotated[Principal, Depends(require("batches.read"))], session: SessionDep, batch_id: Id,
                 page: PageNo = 1, page_size: PageSize = 50) -> dict:
    """The batch's claims with their decisions and reasons (rule codes with their meaning)."""
    if claim_queries.get_batch(session, batch_id, units=user.units) is None:
        raise AppError(404, "err.batch_not_found")
    found = claim_queries.list_claims(session, claim_queries.ClaimFilter(batch_id=batch_id, include_received=True),
                                      units=user.units, page=page, page_size=page_size)
    return page_of(found, ClaimOut.of)


@router.get("/batches/{batch_id}/errors.csv", tags=["batches"], response_class=FileResponse,
            responses={200: {"content": {"text/csv": {}}}, 404: {"model": ErrorOut}})
def batch_errors(user: Annotated[Principal, Depends(require("batches.read"))], session: SessionDep,
                 settings: SettingsDep, batch_id: Id) -> FileResponse:
    """The row error report of the upload (row, column, value, message); 404 when it had none."""
    if claim_queries.get_batch(session, batch_id, units=user.units) is None:
        raise AppError(404, "err.batch_not_found")
    path = services.errors_path(settings, "CLAIMS", batch_id)
    if not path.is_file():
        raise AppError(404, "err.not_found")
    return FileResponse(path, media_type=CSV_TYPE, filename=f"batch-{batch_id}-errors.csv")


@router.get("/templates/claims.csv", tags=["batches"], response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def template_csv(user: CurrentUser) -> Response:
    """A blank claim batch with the Chinese headers (UTF-8 with BOM, for Excel)."""
    return Response(services.claim_template_csv(), media_type=CSV_TYPE,
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''claims-template.csv"})


@router.get("/templates/claims.xlsx", tags=["batches"], response_class=Response,
            responses={200: {"content": {XLSX_TYPE: {}}}})
def template_xlsx(user: CurrentUser) -> Response:
    """A blank claim batch workbook with the Chinese headers, cells formatted as text."""
    return Response(services.claim_template_xlsx(), media_type=XLSX_TYPE,
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''claims-template.xlsx"})


# --- adjudication and jobs -------------------------------------------------------------------------

def job_out(job: services.Job) -> JobOut:
    return JobOut(id=job.id, kind=job.kind, status=job.status, done=job.done, total=job.total,  # type: ignore[arg-type]
                  percent=job.percent, started_at=job.started_at, finished_at=job.finished_at,
                  params=job.params, result=job.result, error=job.error)


@router.post("/adjudication/runs", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED,
             tags=["adjudication"], responses={409: {"model": ErrorOut, "description": "a run is in progress"}})
def run_adjudication(user: Annotated[Principal, Depends(require("adjudication.run"))], db: DbDep, jobs: JobsDep,
                     body: AdjudicationIn | None = None) -> JobOut:
    """Adjudicate every claim not yet decided, in the background; poll /jobs/{id}."""
    as_of = (body.as_of if body else None) or dt.date.today()
    return job_out(services.start_adjudication(jobs, db, user, as_of))


#: who may follow a job: whoever may start one of its kind
JOB_PERMISSION = {"adjudicate": "adjudication.run", "reconcile": "recon.run", "whatif": "office.simulate"}


@router.get("/jobs/{job_id}", response_model=JobOut, tags=["adjudication"], responses={404: {"model": ErrorOut}})
def get_job(user: Annotated[Principal, Depends(require("jobs.read"))], jobs: JobsDep,
            job_id: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]) -> JobOut:
    """Progress of a background job (done / total, percent) and, when finished, its result."""
    job = jobs.get(job_id)
    if job is None or not can(user, JOB_PERMISSION.get(job.kind, "users.manage")):
        raise AppError(404, "err.job_not_found")
    return job_out(job)


# --- claims --------------------------------------------------------------------------------------

@router.get("/claims", response_model=PageOut[ClaimOut], tags=["claims"], responses={400: {"model": ErrorOut}})
def list_claims(user: Annotated[Principal, Depends(require("claims.read"))], session: SessionDep,
                status_: Annotated[Status | None, Query(alias="status")] = None,
                rule: RuleCode | None = None, product: Product | None = None, unit: UnitCode | None = None,
                min_payout: MoneyIn | None = None, max_payout: MoneyIn | None = None,
                batch_id: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
                claim_no: Annotated[str | None, Query(max_length=64)] = None,
                page: PageNo = 1, page_size: PageSize = 50) -> dict:
    """The review queue: PENDING_REVIEW first, then the other decided claims, oldest first.

    Filters: status, rule code (e.g. R06), product, unit, payout range, batch, claim number.
    Clerks see only claims of their units' batches.
    """
    f = claim_queries.ClaimFilter(status=status_, rule=rule, product=product, unit=unit,
                                  min_payout_fen=_amount(min_payout), max_payout_fen=_amount(max_payout),
                                  batch_id=batch_id, claim_no=claim_no,
                                  include_received=batch_id is not None or claim_no is not None)
    return page_of(claim_queries.list_claims(session, f, units=user.units, page=page, page_size=page_size), ClaimOut.of)


@router.get("/claims/{claim_id}", response_model=ClaimDetailOut, tags=["claims"], responses={404: {"model": ErrorOut}})
def get_claim(user: Annotated[Principal, Depends(require("claims.read"))], session: SessionDep,
              claim_id: Id) -> ClaimDetailOut:
    """One claim as filed, its enrollment, every decision with its rule trace, and its audit trail.

    ID number and bank account in full for auditors and admins only.
    """
    detail = claim_queries.get_claim(session, claim_id, units=user.units, reveal=reveals_identity(user))
    if detail is None:
        raise AppError(404, "err.claim_not_found")
    return ClaimDetailOut.of_detail(detail)


@router.get("/claims/{claim_id}/decisions", response_model=list[DecisionOut], tags=["claims"],
            responses={404: {"model": ErrorOut}})
def claim_decisions(user: Annotated[Principal, Depends(require("claims.read"))], session: SessionDep,
                    claim_id: Id) -> list[DecisionOut]:
    """Every decision on the claim, newest first, each with the rules (fired or not, inputs) and amounts."""
    detail = claim_queries.get_claim(session, claim_id, units=user.units)
    if detail is None:
        raise AppError(404, "err.claim_not_found")
    return [DecisionOut.of(d) for d in detail.decisions]


@router.post("/claims/{claim_id}/review", response_model=ReviewOut, tags=["claims"],
             responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut},
                        409: {"model": ErrorOut, "description": "someone else decided the claim since you read it"}})
def review_claim(user: Annotated[Principal, Depends(require("claims.review"))], db: DbDep, claim_id: Id,
                 body: ReviewIn) -> ReviewOut:
    """An auditor's decision: approve, reject, or override the amount; a reason is required.

    Send the claim's ``version`` as read: if it changed meanwhile the answer is 409 and nothing
    is recorded. Nobody may decide a claim in a batch they submitted themselves (403).
    """
    result = services.review_claim(db, user, claim_id, action=body.action, reason=body.reason,
                                   version=body.version, payout_fen=_amount(body.payout), as_of=body.as_of)
    return ReviewOut(claim_no=result.claim_no, status=result.status, payout=fmt(result.payout_fen, fen=True),
                     readjudicated=[{"claim_no": c.claim_no, "before_status": c.before[0],
                                     "before_payout": fmt(c.before[1], fen=True), "after_status": c.after[0],
                                     "after_payout": fmt(c.after[1], fen=True)} for c in result.readjudicated],
                     overrides=result.overridden_codes,
                     limited_to=fmt(result.limited_to.fen, fen=True) if result.limited_to else None,
                     replaces_review_by=result.replaced_review[0] if result.replaced_review else None)


@router.get("/decisions/export", tags=["claims"], response_class=FileResponse,
            responses={200: {"content": {"text/csv": {}}}, 404: {"model": ErrorOut}})
def export_decisions(user: Annotated[Principal, Depends(require("decisions.export"))], db: DbDep,
                     session: SessionDep, settings: SettingsDep, background: BackgroundTasks,
                     batch_id: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None) -> FileResponse:
    """The decision export of files.md (ID numbers masked); clerks must name one of their batches."""
    if user.units is not None:
        if batch_id is None or claim_queries.get_batch(session, batch_id, units=user.units) is None:
            raise AppError(404, "err.batch_not_found")
    path = services.decisions_csv(db, settings, batch_id)
    background.add_task(path.unlink, missing_ok=True)
    name = f"decisions-batch-{batch_id}.csv" if batch_id else "decisions.csv"
    return FileResponse(path, media_type=CSV_TYPE, filename=name)
