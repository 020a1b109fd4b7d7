"""Casework pages: the claim page's documents / return / appeal section, the returned list,
appeals, the document ZIP upload and the quality sample (mutualaid.casework)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from api import services_casework as cw
from api.deps import BatchReader, ClaimReader, DbDep, Reviewer, SettingsDep, page_require
from api.errors import AppError
from api.schemas import MAX_INT
from api.web import ENV, render
from mutualaid.casework.documents import KINDS
from mutualaid.casework.service import RETURN_REASONS
from mutualaid.casework.terms import AppealState
from mutualaid.users import Principal

router = APIRouter(include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=MAX_INT)]
Appellant = Annotated[Principal, Depends(page_require("claims.appeal"))]
Uploader = Annotated[Principal, Depends(page_require("documents.upload"))]
Corrector = Annotated[Principal, Depends(page_require("batches.submit"))]
MONTH = r"^(20\d\d|2100)-(0[1-9]|1[0-2])$"


def _casework_of(request: Request, user: Principal, claim_id: int) -> dict[str, Any]:
    """For claim.html's casework section (rendered with the page, no extra request)."""
    info = cw.casework_of(request.app.state.db, user, claim_id)
    info.update(kinds=KINDS, reasons=RETURN_REASONS)
    return info


ENV.globals["casework_of"] = _casework_of
ENV.globals["quality_figures_for"] = lambda request: cw.quality_figures(request.app.state.db)  # the dashboard


def _lang(request: Request) -> str:
    return getattr(request.state, "lang", "zh")


def _back(claim_id: int, error: AppError | None = None, request: Request | None = None) -> Response:
    if error is not None and request is not None:
        return render(request, "error.html", status=error.status, message=error.message(_lang(request)),
                      back=f"/claims/{claim_id}")
    return RedirectResponse(f"/claims/{claim_id}?done=1#casework", status_code=303)


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise AppError(400, "err.bad_date") from None


@router.post("/claims/{claim_id}/return")
def return_claim(request: Request, user: Reviewer, db: DbDep, claim_id: Id,
                 reason_code: Annotated[str, Form(max_length=32)] = "", note: Annotated[str, Form(max_length=2000)] = "",
                 version: Annotated[int, Form(ge=0, le=MAX_INT)] = 0, as_of: Annotated[str, Form(max_length=10)] = ""
                 ) -> Response:
    try:
        cw.return_claim(db, user, claim_id, reason_code=reason_code, note=note, version=version, as_of=_day(as_of))
    except AppError as e:
        if e.status == 404:
            raise
        return _back(claim_id, e, request)
    return _back(claim_id)


@router.post("/claims/{claim_id}/correct")
async def correct_claim(request: Request, user: Corrector, db: DbDep, claim_id: Id) -> Response:
    from mutualaid.casework.service import FORM_COLUMNS

    form = await request.form()
    values = {c: str(form.get(c) or "")[:200] for c in FORM_COLUMNS}
    try:
        errors = cw.correct_claim(db, user, claim_id, values)
    except AppError as e:
        if e.status == 404:
            raise
        return _back(claim_id, e, request)
    if errors:
        message = "; ".join(f"{e.column} = {e.value!r}: {e.message}" for e in errors)
        return render(request, "error.html", status=400, message=message)
    return _back(claim_id)


@router.post("/claims/{claim_id}/appeal")
def appeal_claim(request: Request, user: Appellant, db: DbDep, claim_id: Id,
                 note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    try:
        cw.appeal_claim(db, user, claim_id, note=note)
    except AppError as e:
        if e.status == 404:
            raise
        return _back(claim_id, e, request)
    return _back(claim_id)


@router.post("/claims/{claim_id}/documents")
def upload_document(request: Request, user: Uploader, db: DbDep, claim_id: Id,
                    kind: Annotated[str, Form(max_length=32)] = "",
                    file: Annotated[UploadFile | None, File()] = None) -> Response:
    try:
        cw.upload_document(db, user, claim_id, kind, file)
    except AppError as e:
        if e.status == 404:
            raise
        return _back(claim_id, e, request)
    return _back(claim_id)


@router.get("/claims/{claim_id}/documents/{doc_id}")
def document(user: ClaimReader, db: DbDep, claim_id: Id, doc_id: Id, download: int = 0) -> Response:
    return cw.document_response(db, user, doc_id, download=bool(download), claim_id=claim_id)


@router.get("/returned")
def returned_page(request: Request, user: BatchReader, db: DbDep) -> Response:
    return render(request, "casework_returned.html", rows=cw.returned(db, user))


@router.get("/appeals")
def appeals_page(request: Request, user: ClaimReader, db: DbDep, state: str = AppealState.OPEN) -> Response:
    state = state if state in tuple(AppealState) else AppealState.OPEN
    return render(request, "casework_appeals.html", rows=cw.appeals(db, user, state), state=state)


@router.get("/documents")
def documents_page(request: Request, user: Uploader) -> Response:
    return render(request, "casework_documents.html", kinds=KINDS)


@router.post("/documents")
def documents_upload(request: Request, user: Uploader, db: DbDep, settings: SettingsDep,
                     file: Annotated[UploadFile | None, File()] = None) -> Response:
    report, error, status = None, None, 200
    try:
        report = cw.import_documents(db, settings, user, file)
    except AppError as e:
        error, status = e.message(_lang(request)), e.status
    if request.headers.get("hx-request") == "true":
        return render(request, "_import_result.html", status=status, report=report, error=error, kind="DOCUMENTS")
    return render(request, "casework_documents.html", status=status, kinds=KINDS, report=report, error=error)


@router.get("/quality")
def quality_page(request: Request, user: Reviewer, db: DbDep,
                 month: Annotated[str | None, Query(pattern=MONTH)] = None, done: int = 0) -> Response:
    return render(request, "casework_quality.html", rows=cw.quality_queue(db, month, open_only=False),
                  figures=cw.quality_figures(db), month=month or "", drawn=None, done=bool(done))


@router.post("/quality")
def quality_draw(request: Request, user: Reviewer, db: DbDep,
                 month: Annotated[str, Form(pattern=MONTH)]) -> Response:
    drawn = cw.draw_sample(db, user, month)
    return render(request, "casework_quality.html", rows=cw.quality_queue(db, month, open_only=False),
                  figures=cw.quality_figures(db), month=month, drawn=drawn, done=False)


@router.post("/quality/{claim_id}/verdict")
def quality_verdict(request: Request, user: Reviewer, db: DbDep, claim_id: Id,
                    verdict: Annotated[str, Form(max_length=16)] = "",
                    note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    try:
        cw.record_verdict(db, user, claim_id, verdict, note)
    except AppError as e:
        if e.status == 404:
            raise
        return render(request, "error.html", status=e.status, message=e.message(_lang(request)))
    return RedirectResponse("/quality?done=1", status_code=303)
