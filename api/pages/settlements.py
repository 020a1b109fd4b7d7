"""The office's page for the settlement extract (免申即享): upload, what it did, figures so far."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import Response

from api import services
from api.deps import DbDep, SessionDep, SettingsDep, page_require
from api.errors import AppError
from api.routers.settlements import upload_extract
from api.web import lang_of, render
from mutualaid import imports
from mutualaid.settlements.service import figures
from mutualaid.settlements.terms import COUNT_ORDER, KIND
from mutualaid.users import Principal

router = APIRouter(include_in_schema=False)
SettlementReader = Annotated[Principal, Depends(page_require("settlements.read"))]
SettlementImporter = Annotated[Principal, Depends(page_require("settlements.import"))]


def _page(request: Request, session: SessionDep, settings: SettingsDep, status: int = 200, **extra: object) -> Response:
    return render(request, "settlements.html", status=status, kind=KIND, figures=figures(session),
                  recent=imports.list_imports(session, KIND), count_order=COUNT_ORDER,
                  max_upload=services.human_size(settings.max_upload_bytes), **extra)


@router.get("/settlements")
def settlements_page(request: Request, user: SettlementReader, session: SessionDep, settings: SettingsDep) -> Response:
    return _page(request, session, settings)


@router.post("/settlements")
def settlements_upload(request: Request, user: SettlementImporter, db: DbDep, session: SessionDep,
                       settings: SettingsDep, file: Annotated[UploadFile | None, File()] = None) -> Response:
    result, error, status = None, None, 200
    try:
        result = upload_extract(db, settings, user, file)
    except AppError as e:
        error, status = e.message(lang_of(request)), e.status
    report = result.report if result is not None else None
    if request.headers.get("hx-request") == "true":
        response = render(request, "_settlement_result.html", status=status, report=report, error=error,
                          counts=result.counts if result else {}, count_order=COUNT_ORDER, kind=KIND)
        if report is not None and report.import_id is not None:
            response.headers["HX-Trigger"] = "imported"
        return response
    return _page(request, session, settings, status=status, report=report, error=error,
                 counts=result.counts if result else {})
