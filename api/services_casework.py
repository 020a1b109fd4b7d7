"""Casework requests (returns, appeals, documents, quality sample) turned into use-case calls.

Shared by the JSON API (api/routers/casework.py) and the pages (api/pages/casework.py);
the rules live in :mod:`mutualaid.casework`; errors become :class:`AppError`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi.responses import Response
from starlette.datastructures import UploadFile

from api.errors import AppError
from api.services import display_name, masked_error, save_upload
from api.settings import Settings
from mutualaid.casework.service import CaseworkError
from mutualaid.claims import queries as claim_queries
from mutualaid.claims.review import ReviewConflict, ReviewError
from mutualaid.imports import ImportReport, write_errors_csv
from mutualaid.store.db import Database, retry_when_locked
from mutualaid.tabular import FileProblem
from mutualaid.users import Principal

T = TypeVar("T")
STATUS_OF = {"doc_too_big": 413, "doc_bad_type": 415, "doc_type_mismatch": 415, "doc_empty": 400,
             "doc_unknown_claim": 404, "case.no_claim": 404, "case.no_sample": 404, "case.doc_not_found": 404,
             "case.own_batch": 403, "case.own_decision": 403, "case.appeal_same_auditor": 403}


def _error(e: CaseworkError) -> AppError:
    return AppError(STATUS_OF.get(e.code, 400), e.code, **e.params)


def _write(db: Database, work: Callable[[Any], T], *, version: int | None = None) -> T:
    """One transaction (retried on SQLite's lost write race); casework errors as HTTP errors."""
    def attempt() -> T:
        with db.transaction() as session:
            return work(session)
    try:
        return retry_when_locked(attempt)
    except CaseworkError as e:
        raise _error(e) from None
    except ReviewConflict:
        raise AppError(409, "err.review_conflict", version="" if version is None else version) from None
    except ReviewError as e:
        raise AppError(400, "err.invalid", details=str(e)) from None


def visible_claim(db: Database, user: Principal, claim_id: int) -> tuple[str, str]:
    """(claim_no, batch submitter) of a claim the user may see, else 404."""
    with db.sessions() as session:
        found = claim_queries.claim_batch(session, claim_id, units=user.units)
    if found is None:
        raise AppError(404, "err.claim_not_found")
    return found


# --- returns and appeals ---------------------------------------------------------------------

def return_claim(db: Database, user: Principal, claim_id: int, *, reason_code: str, note: str,
                 version: int | None, as_of: dt.date | None = None) -> Any:
    from mutualaid.casework.service import return_claim as use_case

    claim_no, _ = visible_claim(db, user, claim_id)
    day = as_of or dt.date.today()
    return _write(db, lambda s: use_case(s, claim_no, reason_code=reason_code, note=note, user=user.username,
                                         as_of=day, expected_version=version), version=version)


def appeal_claim(db: Database, user: Principal, claim_id: int, *, note: str, as_of: dt.date | None = None) -> None:
    from mutualaid.casework.service import appeal_claim as use_case

    claim_no, _ = visible_claim(db, user, claim_id)
    day = as_of or dt.date.today()
    _write(db, lambda s: use_case(s, claim_no, note=note, user=user.username, as_of=day))


def correct_claim(db: Database, user: Principal, claim_id: int, values: dict[str, str]) -> list[Any]:
    """The clerk's correction form; returns row errors (masked), nothing stored when there are any."""
    from mutualaid.casework.service import correct_claim as use_case

    claim_no, _ = visible_claim(db, user, claim_id)
    errors = _write(db, lambda s: use_case(s, claim_no, values, user=user.username, units=user.units))
    return [masked_error(e) for e in errors]


def returned(db: Database, user: Principal) -> list[dict[str, Any]]:
    from mutualaid.casework.service import returned_claims

    with db.sessions() as session:
        return [{"claim_id": c.id, "claim_no": c.claim_no, "product": c.product, "member_name": c.member_name,
                 "batch_id": c.batch_id, "reason_code": r.reason_code, "note": r.note, "returned_by": r.returned_by,
                 "returned_on": r.returned_on} for c, r in returned_claims(session, units=user.units)]


def appeals(db: Database, user: Principal, state: str | None = "OPEN") -> list[dict[str, Any]]:
    from mutualaid.casework.service import appeals as use_case

    with db.sessions() as session:
        return [{"claim_id": c.id, "claim_no": c.claim_no, "status": c.status, "note": a.note, "filed_by": a.filed_by,
                 "filed_on": a.filed_on, "decided_by": a.appealed_decided_by, "state": a.state, "outcome": a.outcome,
                 "settled_by": a.settled_by, "settled_on": a.settled_on}
                for c, a in use_case(session, state=state, units=user.units)]


def casework_of(db: Database, user: Principal, claim_id: int) -> dict[str, Any]:
    """What the claim page shows beside the trace: documents, return, appeals, versions."""
    from sqlalchemy import select

    from mutualaid.casework.documents import documents_of
    from mutualaid.casework.service import RETURNED
    from mutualaid.store.models_casework import ClaimAppeal, ClaimReturn, ClaimVersion

    claim_no, submitted_by = visible_claim(db, user, claim_id)
    with db.sessions() as session:
        detail = claim_queries.get_claim(session, claim_id, units=user.units)
        assert detail is not None
        docs = documents_of(session, claim_id)
        returns = session.execute(select(ClaimReturn).where(ClaimReturn.claim_id == claim_id)
                                  .order_by(ClaimReturn.id.desc())).scalars().all()
        appeal_rows = session.execute(select(ClaimAppeal).where(ClaimAppeal.claim_id == claim_id)
                                      .order_by(ClaimAppeal.id.desc())).scalars().all()
        versions = session.execute(select(ClaimVersion).where(ClaimVersion.claim_id == claim_id)
                                   .order_by(ClaimVersion.version_no)).scalars().all()
        form = None
        if detail.row.status == RETURNED:
            from mutualaid.casework.service import form_values
            from mutualaid.store.models import Claim

            form = form_values(session.get(Claim, claim_id))  # type: ignore[arg-type]
    fired = set(detail.decisions[0].trace.get("fired", [])) if detail.decisions else set()
    v03 = "V03" in fired or "V03" in detail.row.reason_codes
    return {"claim_id": claim_id, "claim_no": claim_no, "status": detail.row.status, "version": detail.row.version,
            "own_batch": submitted_by == user.username, "documents": docs, "form": form, "returns": returns,
            "appeals": appeal_rows, "versions": versions, "v03": v03,
            "pathology_attached": any(d.kind == "pathology_report" for d in docs),
            "open_return": next((r for r in returns if r.state == "OPEN"), None) if detail.row.status == RETURNED
            else None,
            "open_appeal": next((a for a in appeal_rows if a.state == "OPEN"), None)}


# --- documents -------------------------------------------------------------------------------

def doc_settings(db: Database) -> Any:
    from mutualaid.casework.documents import DocumentSettings

    return DocumentSettings.for_database(db.url)


def upload_document(db: Database, user: Principal, claim_id: int, kind: str, upload: UploadFile | None) -> Any:
    from mutualaid.casework.documents import DocumentStore, add_document

    claim_no, _ = visible_claim(db, user, claim_id)
    if upload is None or not isinstance(upload, UploadFile):
        raise AppError(400, "doc_empty")
    settings = doc_settings(db)
    upload.file.seek(0)
    data = upload.file.read(settings.max_bytes + 1)
    name = display_name(upload.filename)
    return _write(db, lambda s: add_document(s, DocumentStore(settings), claim_no, kind, data, name,
                                             user=user.username, units=user.units)[0].id)


def import_documents(db: Database, settings: Settings, user: Principal, upload: UploadFile | None) -> ImportReport:
    """A ZIP of CLAIMNO_kind.ext files; the user's units scope which claims they may reach."""
    from mutualaid.casework.documents import import_zip

    saved = save_upload(upload, settings, allowed=(".zip",))  # the one place uploads are spooled
    try:
        report = import_zip(db, saved.path, user=user.username, units=user.units, settings=doc_settings(db),
                            file_name=saved.name)
    except FileProblem as problem:
        raise AppError(400, problem.code, **problem.params) from None
    finally:
        saved.discard()
    report.errors = [masked_error(e) for e in report.errors]
    if report.errors:
        folder = settings.reports_dir / "import-errors"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_errors_csv(report.errors, folder / f"documents-{report.fingerprint[:16]}.csv")
    return report


def document_response(db: Database, user: Principal, doc_id: int, *, download: bool = False,
                      claim_id: int | None = None) -> Response:
    """The document's bytes for a user who may see its claim: typed by content, never sniffed."""
    from mutualaid.casework.documents import DocumentStore, document_for

    with db.sessions() as session:
        doc = document_for(session, doc_id, units=user.units)
    if doc is None or (claim_id is not None and doc.claim_id != claim_id):
        raise AppError(404, "case.doc_not_found")
    try:
        data = DocumentStore(doc_settings(db)).read(doc.sha256)
    except OSError:
        raise AppError(404, "case.doc_not_found") from None
    disposition = "attachment" if download else "inline"
    return Response(data, media_type=doc.media_type, headers={
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(doc.file_name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        # shown inside the claim page (same origin only); nothing in it may run
        "X-Frame-Options": "SAMEORIGIN",
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
                                   "frame-ancestors 'self'",
    })


# --- quality sample --------------------------------------------------------------------------

def draw_sample(db: Database, user: Principal, month: str, seed: int | None = None) -> Any:
    from mutualaid.casework.quality import draw

    return _write(db, lambda s: draw(s, month, user=user.username, seed=seed))


def record_verdict(db: Database, user: Principal, claim_id: int, verdict: str, note: str | None) -> Any:
    from mutualaid.casework.quality import record_verdict as use_case

    claim_no, _ = visible_claim(db, user, claim_id)
    return _write(db, lambda s: use_case(s, claim_no, verdict, note=note, user=user.username).verdict)


def quality_queue(db: Database, month: str | None, open_only: bool) -> list[dict[str, Any]]:
    from mutualaid.casework.quality import queue

    with db.sessions() as session:
        return [{"claim_id": c.id, "claim_no": c.claim_no, "month": s.month, "reason": s.reason,
                 "payout_fen": s.payout_fen, "status": c.status, "decided_by": c.decided_by, "verdict": s.verdict,
                 "note": s.note, "checked_by": s.checked_by} for s, c in queue(session, month=month,
                                                                              open_only=open_only)]


def quality_figures(db: Database) -> list[Any]:
    from mutualaid.casework.quality import figures_by_month

    with db.sessions() as session:
        return figures_by_month(session)
