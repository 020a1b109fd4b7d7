"""Casework API: return for correction, appeals, documents, quality sample (mutualaid.casework)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api import services_casework as cw
from api.deps import DbDep, SettingsDep, require
from api.schemas import MAX_INT, Day, ErrorOut, Money, Out, RowErrorOut, Text
from mutualaid.casework.documents import KINDS
from mutualaid.casework.service import RETURN_REASONS
from mutualaid.money import fmt
from mutualaid.users import Principal

ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}}
router = APIRouter(responses=ERRORS)
Id = Annotated[int, Path(ge=1, le=MAX_INT)]
Note = Annotated[Text, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
Month = Annotated[str, StringConstraints(pattern=r"^(20\d\d|2100)-(0[1-9]|1[0-2])$")]


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason_code: Literal[RETURN_REASONS] = Field(description="why the claim goes back to the unit")  # type: ignore[valid-type]
    note: Note
    version: Annotated[int, Field(ge=0, le=MAX_INT, description="the claim's version as read")]
    as_of: Day | None = None


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Note
    as_of: Day | None = None


class CaseOut(Out):
    claim_no: str
    status: str
    payout: Money
    readjudicated: list[str]


class ReturnedOut(Out):
    claim_id: int
    claim_no: str
    product: str
    member_name: str
    batch_id: int
    reason_code: str
    note: str
    returned_by: str
    returned_on: dt.date


class AppealOut(Out):
    claim_id: int
    claim_no: str
    status: str
    note: str
    filed_by: str
    filed_on: dt.date
    decided_by: str
    state: str
    outcome: str | None
    settled_by: str | None
    settled_on: dt.date | None


class DocumentOut(Out):
    id: int
    kind: str
    media_type: str
    size: int
    file_name: str
    sha256: str
    uploaded_by: str
    url: str


class DocImportOut(Out):
    file_name: str
    fingerprint: str
    files: int
    stored: int
    unchanged: int
    errors: list[RowErrorOut]


class DrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: Month
    seed: Annotated[int, Field(ge=0, le=MAX_INT)] | None = None


class DrawOut(Out):
    month: str
    population: int
    random: int
    threshold: int
    already: int


class SampleOut(Out):
    claim_id: int
    claim_no: str
    month: str
    reason: str
    payout: Money
    status: str
    decided_by: str | None
    verdict: str | None
    note: str | None
    checked_by: str | None


class VerdictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: Literal["agree", "disagree"]
    note: Annotated[Text, StringConstraints(max_length=2000, strip_whitespace=True)] | None = None


class MonthOut(Out):
    month: str
    sampled: int
    checked: int
    disagreed: int
    disagreement_rate: float | None = Field(description="disagreed / checked (a display ratio)")


@router.post("/claims/{claim_id}/return", response_model=CaseOut, tags=["claims"],
             responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}})
def return_claim(user: Annotated[Principal, Depends(require("claims.review"))], db: DbDep, claim_id: Id,
                 body: ReturnIn) -> CaseOut:
    """Return a PENDING_REVIEW claim to its unit for correction (退回补正); it then counts against nothing."""
    r = cw.return_claim(db, user, claim_id, reason_code=body.reason_code, note=body.note, version=body.version,
                        as_of=body.as_of)
    return CaseOut(claim_no=r.claim_no, status=r.status, payout=fmt(r.payout_fen, fen=True),
                   readjudicated=[c.claim_no for c in r.readjudicated])


@router.post("/claims/{claim_id}/appeal", status_code=status.HTTP_204_NO_CONTENT, tags=["claims"],
             responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}})
def appeal_claim(user: Annotated[Principal, Depends(require("claims.appeal"))], db: DbDep, claim_id: Id,
                 body: AppealIn) -> Response:
    """Appeal a rejection within the policy's appeal period; another auditor settles it by a review."""
    cw.appeal_claim(db, user, claim_id, note=body.note, as_of=body.as_of)
    return Response(status_code=204)


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[Annotated[str, StringConstraints(max_length=40)], Annotated[Text, StringConstraints(max_length=200)]] = \
        Field(description="the claim's columns (files.md names, cell texts); claim_no and submitted_date stay")


@router.post("/claims/{claim_id}/correction", response_model=list[RowErrorOut], tags=["claims"],
             responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}})
def correct_claim(user: Annotated[Principal, Depends(require("batches.submit"))], db: DbDep, claim_id: Id,
                  body: CorrectionIn) -> list[RowErrorOut]:
    """Correct a RETURNED claim (as a batch row is checked); empty answer = resubmitted, decided by the next run."""
    return [RowErrorOut(row=e.row, column=e.column, value=e.value, code=e.code, message=e.message)
            for e in cw.correct_claim(db, user, claim_id, body.values)]


@router.get("/returns", response_model=list[ReturnedOut], tags=["claims"])
def list_returned(user: Annotated[Principal, Depends(require("batches.read"))], db: DbDep) -> list[dict]:
    """Claims returned for correction and not yet corrected, with the reasons (clerks: their units')."""
    return cw.returned(db, user)


@router.get("/appeals", response_model=list[AppealOut], tags=["claims"])
def list_appeals(user: Annotated[Principal, Depends(require("claims.read"))], db: DbDep,
                 state: Literal["OPEN", "SETTLED", "ALL"] = "OPEN") -> list[dict]:
    return cw.appeals(db, user, None if state == "ALL" else state)


@router.get("/claims/{claim_id}/documents", response_model=list[DocumentOut], tags=["claims"],
            responses={404: {"model": ErrorOut}})
def list_documents(user: Annotated[Principal, Depends(require("claims.read"))], db: DbDep,
                   claim_id: Id) -> list[DocumentOut]:
    info = cw.casework_of(db, user, claim_id)
    return [DocumentOut(id=d.id, kind=d.kind, media_type=d.media_type, size=d.size, file_name=d.file_name,
                        sha256=d.sha256, uploaded_by=d.uploaded_by, url=f"/api/v1/documents/{d.id}/content")
            for d in info["documents"]]


@router.post("/claims/{claim_id}/documents", status_code=status.HTTP_201_CREATED, tags=["claims"],
             responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}, 413: {"model": ErrorOut},
                        415: {"model": ErrorOut}})
def upload_document(user: Annotated[Principal, Depends(require("documents.upload"))], db: DbDep, claim_id: Id,
                    kind: Annotated[Literal[KINDS], Form()],  # type: ignore[valid-type]
                    file: Annotated[UploadFile, File(description="PDF, JPEG or PNG")]) -> dict:
    """Attach a document (PDF, JPEG or PNG by content; size limit MUTUALAID_DOCUMENT_MAX_MB, default 10)."""
    return {"id": cw.upload_document(db, user, claim_id, kind, file)}


@router.get("/documents/{doc_id}/content", tags=["claims"], response_class=Response,
            responses={200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}},
                       404: {"model": ErrorOut}})
def document_content(user: Annotated[Principal, Depends(require("claims.read"))], db: DbDep, doc_id: Id,
                     download: bool = False) -> Response:
    return cw.document_response(db, user, doc_id, download=download)


@router.post("/documents/imports", response_model=DocImportOut, tags=["claims"],
             responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut}})
def import_documents(user: Annotated[Principal, Depends(require("documents.upload"))], db: DbDep,
                     settings: SettingsDep, file: Annotated[UploadFile, File(description="ZIP of CLAIMNO_kind.ext")]
                     ) -> DocImportOut:
    """Attach every CLAIMNO_kind.ext of a ZIP; each bad file is reported (row = its place in the ZIP)."""
    r = cw.import_documents(db, settings, user, file)
    return DocImportOut(file_name=r.file_name, fingerprint=r.fingerprint, files=r.rows_total, stored=r.stored,
                        unchanged=r.unchanged, errors=[RowErrorOut(row=e.row, column=e.column, value=e.value,
                                                                   code=e.code, message=e.message) for e in r.errors])


@router.post("/quality/draws", response_model=DrawOut, tags=["claims"], responses={400: {"model": ErrorOut}})
def draw(user: Annotated[Principal, Depends(require("claims.review"))], db: DbDep, body: DrawIn) -> DrawOut:
    """Draw the month's reproducible sample of approvals (rate, threshold and seed from the policy)."""
    d = cw.draw_sample(db, user, body.month, body.seed)
    return DrawOut(month=d.month, population=d.population, random=d.random, threshold=d.threshold, already=d.already)


@router.get("/quality/samples", response_model=list[SampleOut], tags=["claims"])
def samples(user: Annotated[Principal, Depends(require("claims.review"))], db: DbDep,
            month: Annotated[Month | None, Query()] = None, open_only: bool = True) -> list[SampleOut]:
    return [SampleOut(payout=fmt(s.pop("payout_fen"), fen=True), **s) for s in cw.quality_queue(db, month, open_only)]


@router.post("/quality/samples/{claim_id}/verdict", status_code=status.HTTP_204_NO_CONTENT, tags=["claims"],
             responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}})
def verdict(user: Annotated[Principal, Depends(require("claims.review"))], db: DbDep, claim_id: Id,
            body: VerdictIn) -> Response:
    """Agree or disagree (with a note) with a sampled decision; disagreement: override by a normal review."""
    cw.record_verdict(db, user, claim_id, body.verdict, body.note)
    return Response(status_code=204)


@router.get("/quality/figures", response_model=list[MonthOut], tags=["dashboard"])
def figures(user: Annotated[Principal, Depends(require("claims.review"))], db: DbDep) -> list[MonthOut]:
    """The sample's disagreement rate per month."""
    return [MonthOut(month=f.month, sampled=f.sampled, checked=f.checked, disagreed=f.disagreed,
                     disagreement_rate=f.rate) for f in cw.quality_figures(db)]
