"""Pages for clerks and auditors: dashboard, batches, uploads, review queue, claim page, audit log."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from api import services
from api.authz import can, reveals_identity, sees_fund
from api.deps import (
    Adjudicator,
    AuditReader,
    BatchReader,
    BatchSubmitter,
    ClaimReader,
    DbDep,
    Exporter,
    JobsDep,
    PageUser,
    Reviewer,
    RosterImporter,
    SessionDep,
    SettingsDep,
)
from api.errors import AppError
from api.jobs import JobStatus
from api.routers.claims import CSV_TYPE, JOB_PERMISSION, XLSX_TYPE
from api.schemas import MAX_INT
from api.web import render
from mutualaid import audit, enrollments, imports
from mutualaid import dashboard as dashboard_figures
from mutualaid.claims import queries as claim_queries
from mutualaid.claims.review import preview as review_preview
from mutualaid.claims.service import filing_units
from mutualaid.claims.status import LISTED, PRODUCTS, RECEIVED, RETURNED, WITHDRAWN, rule_codes
from mutualaid.users import Principal

router = APIRouter(include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=MAX_INT)]
PageNo = Annotated[int, Query(ge=1, le=100_000)]
STATUSES = LISTED
RULE_CODES = rule_codes()  # from the policy files' rules (their words: rule.<code> in the translation table)



def _clean(value: str | None, limit: int = 64) -> str | None:
    value = (value or "").strip()
    return value[:limit] if value else None


# --- dashboard ------------------------------------------------------------------------------------

@router.get("/")
def dashboard(request: Request, user: PageUser, session: SessionDep,
              month: Annotated[str | None, Query(pattern=r"^(20\d\d|2100)-(0[1-9]|1[0-2])$")] = None) -> Response:
    day = dashboard_figures.as_of_month(session, month, dt.date.today())
    d = dashboard_figures.dashboard(session, today=day, units=user.units, money=sees_fund(user)) \
        if can(user, "dashboard.read") else None
    return render(request, "dashboard.html", d=d, statuses=STATUSES, month=f"{day:%Y-%m}")


# --- batches (clerks) ----------------------------------------------------------------------------

def _unit_choices(session: SessionDep, user: Principal) -> dict[str, str]:
    """The units the upload form offers: those the claims service lets the user file for."""
    allowed = filing_units(user)
    if allowed is None:
        return enrollments.unit_names(session)
    names = enrollments.unit_names(session, allowed)
    return {code: names.get(code, "") for code in allowed}


@router.get("/batches")
def batches(request: Request, user: BatchReader, session: SessionDep, settings: SettingsDep,
            page: PageNo = 1) -> Response:
    found = claim_queries.list_batches(session, units=user.units, page=page, page_size=20)
    return render(request, "batches.html", page=found, units=_unit_choices(session, user),
                  max_upload=services.human_size(settings.max_upload_bytes))


@router.post("/batches")
def upload_batch(request: Request, user: BatchSubmitter, db: DbDep, session: SessionDep,
                 settings: SettingsDep, file: Annotated[UploadFile | None, File()] = None,
                 unit_code: Annotated[str, Form(max_length=40)] = "") -> Response:
    report, error, status = None, None, 200
    try:
        report = services.import_upload("CLAIMS", db, settings, user, file, unit_code or None)
    except AppError as e:
        error, status = e.message(getattr(request.state, "lang", "zh")), e.status
    if request.headers.get("hx-request") == "true":
        response = render(request, "_import_result.html", status=status, report=report, error=error, kind="CLAIMS")
        if report is not None and report.import_id is not None:
            response.headers["HX-Trigger"] = "imported"  # the list below refreshes itself
        return response
    found = claim_queries.list_batches(session, units=user.units, page=1, page_size=20)
    return render(request, "batches.html", status=status, page=found, units=_unit_choices(session, user),
                  report=report, error=error, max_upload=services.human_size(settings.max_upload_bytes))


@router.get("/batches/{batch_id}")
def batch_page(request: Request, user: BatchReader, session: SessionDep, settings: SettingsDep,
               batch_id: Id, page: PageNo = 1) -> Response:
    batch = claim_queries.get_batch(session, batch_id, units=user.units)
    if batch is None:
        raise AppError(404, "err.batch_not_found")
    claims = claim_queries.list_claims(session, claim_queries.ClaimFilter(batch_id=batch_id, include_received=True),
                                       units=user.units, page=page, page_size=settings.page_size)
    has_errors = services.errors_path(settings, "CLAIMS", batch_id).is_file()
    return render(request, "batch.html", batch=batch, claims=claims, has_errors=has_errors)


@router.get("/batches/{batch_id}/errors.csv")
def batch_errors(user: BatchReader, session: SessionDep, settings: SettingsDep, batch_id: Id) -> Response:
    if claim_queries.get_batch(session, batch_id, units=user.units) is None:
        raise AppError(404, "err.batch_not_found")
    path = services.errors_path(settings, "CLAIMS", batch_id)
    if not path.is_file():
        raise AppError(404, "err.not_found")
    return FileResponse(path, media_type=CSV_TYPE, filename=f"batch-{batch_id}-errors.csv")


@router.get("/batches/{batch_id}/decisions.csv")
def batch_decisions(user: Exporter, db: DbDep, session: SessionDep, settings: SettingsDep,
                    background: BackgroundTasks, batch_id: Id) -> Response:
    if claim_queries.get_batch(session, batch_id, units=user.units) is None:
        raise AppError(404, "err.batch_not_found")
    path = services.decisions_csv(db, settings, batch_id)
    background.add_task(path.unlink, missing_ok=True)
    return FileResponse(path, media_type=CSV_TYPE, filename=f"decisions-batch-{batch_id}.csv")


@router.get("/templates/claims.csv")
def template_csv(user: PageUser) -> Response:
    return Response(services.claim_template_csv(), media_type=CSV_TYPE,
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''claims-template.csv"})


@router.get("/templates/claims.xlsx")
def template_xlsx(user: PageUser) -> Response:
    return Response(services.claim_template_xlsx(), media_type=XLSX_TYPE,
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''claims-template.xlsx"})


# --- review queue and claim page (auditors) ----------------------------------------------------------

@router.get("/review")
def review_queue(request: Request, user: ClaimReader, session: SessionDep, settings: SettingsDep,
                 status: str | None = None, rule: str | None = None, product: str | None = None,
                 unit: str | None = None, min_payout: str | None = None, max_payout: str | None = None,
                 claim_no: str | None = None, page: PageNo = 1) -> Response:
    error = None
    try:
        low, high = services.parse_payout(min_payout), services.parse_payout(max_payout)
    except AppError as e:
        low = high = None
        error = e.message(getattr(request.state, "lang", "zh"))
    f = claim_queries.ClaimFilter(status=status if status in STATUSES else None,
                          rule=rule if rule in RULE_CODES else None,
                          product=product if product in PRODUCTS else None, unit=_clean(unit, 32),
                          min_payout_fen=low, max_payout_fen=high, claim_no=_clean(claim_no),
                          include_received=status == RECEIVED or bool(_clean(claim_no)))
    found = claim_queries.list_claims(session, f, units=user.units, page=page, page_size=settings.page_size)
    return render(request, "review.html", page=found, f=f, statuses=STATUSES, rules=RULE_CODES, error=error,
                  form={"status": status or "", "rule": rule or "", "product": product or "", "unit": unit or "",
                        "min_payout": min_payout or "", "max_payout": max_payout or "", "claim_no": claim_no or ""},
                  units=enrollments.unit_names(session, user.units))


def _claim_page(request: Request, user: Principal, session: SessionDep, claim_id: int, *, status: int = 200,
                error: str | None = None, decided: bool = False, form: dict[str, str] | None = None) -> Response:
    detail = claim_queries.get_claim(session, claim_id, units=user.units, reveal=reveals_identity(user))
    if detail is None:
        raise AppError(404, "err.claim_not_found")
    own = detail.batch_imported_by == user.username
    ahead = review_preview(session, detail.row.claim_no) if can(user, "claims.review") and not own else None
    # a clerk sees their members' claims filed in other units' batches, but not those batches
    batch_visible = (user.units is None
                     or claim_queries.get_batch(session, detail.row.batch_id, units=user.units) is not None)
    from mutualaid.settlements.service import claim_settlements
    return render(request, "claim.html", status=status, c=detail, row=detail.row, error=error, decided=decided,
                  ahead=ahead, batch_visible=batch_visible, settlement=claim_settlements(session, claim_id),
                  may_review=can(user, "claims.review") and not own
                  and detail.row.status not in (RECEIVED, RETURNED, WITHDRAWN),
                  own_batch=own and can(user, "claims.review"), form=form or {},
                  latest=detail.decisions[0] if detail.decisions else None)


@router.get("/claims/{claim_id}")
def claim_page(request: Request, user: ClaimReader, session: SessionDep, claim_id: Id,
               decided: int = 0) -> Response:
    return _claim_page(request, user, session, claim_id, decided=bool(decided))


@router.post("/claims/{claim_id}/review")
def claim_review(request: Request, user: Reviewer, db: DbDep, claim_id: Id,
                 action: Annotated[str, Form(max_length=16)] = "", reason: Annotated[str, Form(max_length=2000)] = "",
                 version: Annotated[int, Form(ge=0, le=MAX_INT)] = 0,
                 payout: Annotated[str, Form(max_length=20)] = "") -> Response:
    lang = getattr(request.state, "lang", "zh")
    form = {"action": action, "reason": reason, "payout": payout}
    try:
        if action not in ("approve", "reject", "override"):
            raise AppError(400, "err.invalid", details=action or "action")
        if "\x00" in reason:
            raise AppError(400, "err.nul")
        services.review_claim(db, user, claim_id, action=action, reason=reason, version=version,
                              payout_fen=services.parse_payout(payout) if action == "override" else None)
    except AppError as e:
        if e.status == 404:
            raise
        with db.sessions() as session:
            return _claim_page(request, user, session, claim_id, status=e.status, error=e.message(lang), form=form)
    return RedirectResponse(f"/claims/{claim_id}?decided=1", status_code=303)


@router.get("/audit")
def audit_page(request: Request, user: AuditReader, session: SessionDep, settings: SettingsDep,
               actor: str | None = None, action: str | None = None, key: str | None = None,
               page: PageNo = 1) -> Response:
    found = audit.audit_log(session, actor=_clean(actor), action=_clean(action), key=_clean(key), page=page,
                            page_size=settings.page_size)
    return render(request, "audit.html", page=found, form={"actor": actor or "", "action": action or "",
                                                           "key": key or ""})


# --- adjudication run and jobs -------------------------------------------------------------------------

@router.get("/adjudication")
def adjudication_page(request: Request, user: Adjudicator, session: SessionDep,
                      jobs: JobsDep) -> Response:
    waiting = claim_queries.list_claims(session, claim_queries.ClaimFilter(status=RECEIVED), units=None,
                                        page_size=1).total
    return render(request, "adjudication.html", waiting=waiting, job=jobs.running("adjudicate"),
                  today=dt.date.today().isoformat())


@router.post("/adjudication")
def adjudication_start(request: Request, user: Adjudicator, db: DbDep, jobs: JobsDep,
                       as_of: Annotated[str, Form(max_length=10)] = "") -> Response:
    try:
        day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
        if not dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31):
            raise ValueError
    except ValueError:
        raise AppError(400, "err.bad_date") from None
    job = services.start_adjudication(jobs, db, user, day)
    if request.headers.get("hx-request") == "true":
        return render(request, "_job.html", job=job)
    return RedirectResponse("/adjudication", status_code=303)


@router.get("/jobs/{job_id}")
def job_fragment(request: Request, user: PageUser, jobs: JobsDep,
                 job_id: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]) -> Response:
    job = jobs.get(job_id)
    if job is None or not can(user, JOB_PERMISSION.get(job.kind, "users.manage")):
        raise AppError(404, "err.job_not_found")
    response = render(request, "_job.html", job=job)
    if job.status != JobStatus.RUNNING:
        response.headers["HX-Trigger"] = "job-finished"  # lists on the page refresh themselves
    return response


# --- rosters ------------------------------------------------------------------------------------------

@router.get("/rosters")
def rosters_page(request: Request, user: RosterImporter, session: SessionDep,
                 settings: SettingsDep) -> Response:
    return render(request, "imports.html", kind="ROSTER", recent=imports.list_imports(session, "ROSTER"),
                  max_upload=services.human_size(settings.max_upload_bytes))


@router.post("/rosters")
def rosters_upload(request: Request, user: RosterImporter, db: DbDep, session: SessionDep,
                   settings: SettingsDep, file: Annotated[UploadFile | None, File()] = None) -> Response:
    return _import_page(request, "ROSTER", user, db, session, settings, file)


def _import_page(request: Request, kind: str, user: Principal, db: DbDep, session: SessionDep,
                 settings: SettingsDep, file: UploadFile | None) -> Response:
    report, error, status = None, None, 200
    try:
        report = services.import_upload(kind, db, settings, user, file)
    except AppError as e:
        error, status = e.message(getattr(request.state, "lang", "zh")), e.status
    if request.headers.get("hx-request") == "true":
        response = render(request, "_import_result.html", status=status, report=report, error=error, kind=kind)
        if report is not None and report.import_id is not None:
            response.headers["HX-Trigger"] = "imported"
        return response
    return render(request, "imports.html", status=status, kind=kind, recent=imports.list_imports(session, kind),
                  report=report, error=error, max_upload=services.human_size(settings.max_upload_bytes))
