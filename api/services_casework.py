"""Casework requests (returns, appeals, documents, quality sample) turned into use-case calls.

Shared by the JSON API (api/routers/casework.py) and the pages (api/pages/casework.py);
the rules, unit scope and transactions live in :mod:`mutualaid.casework.actions` and the
casework services; this module reads uploads and turns errors into :class:`AppError`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi.responses import Response
from starlette.datastructures import UploadFile

from api.errors import AppError
from api.services import display_name, masked_error, save_upload, scope_error
from api.settings import Settings
from mutualaid.casework import actions
from mutualaid.casework.service import CaseworkError
from mutualaid.casework.terms import AppealState
from mutualaid.claims.review import ReviewConflict, ReviewError
from mutualaid.claims.service import ScopeError, visible_claim
from mutualaid.imports import ImportReport, write_errors_csv
from mutualaid.store.db import Database
from mutualaid.tabular import FileProblem
from mutualaid.users import Principal

T = TypeVar("T")
STATUS_OF = {"doc_too_big": 413, "doc_bad_type": 415, "doc_type_mismatch": 415, "doc_empty": 400,
             "doc_unknown_claim": 404, "case.no_claim": 404, "case.no_sample": 404, "case.doc_not_found": 404,
             "case.own_batch": 403, "case.own_decision": 403, "case.appeal_same_auditor": 403}


def _error(e: CaseworkError) -> AppError:
    return AppError(STATUS_OF.get(e.code, 400), e.code, **e.params)


def _call(work: Callable[[], T], *, version: int | None = None) -> T:
    """Call a casework action (scope and transaction in :mod:`mutualaid.casework.actions`);
    its errors as HTTP errors."""
    try:
        return work()
    except ScopeError as e:
        raise scope_error(e) from None
    except CaseworkError as e:
        raise _error(e) from None
    except ReviewConflict:
        raise AppError(409, "err.review_conflict", version="" if version is None else version) from None
    except ReviewError as e:
        raise AppError(400, "err.invalid", details=str(e)) from None


# --- returns and appeals ---------------------------------------------------------------------

def return_claim(db: Database, user: Principal, claim_id: int, *, reason_code: str, note: str,
                 version: int | None, as_of: dt.date | None = None) -> Any:
    return _call(lambda: actions.return_claim(db, user, claim_id, reason_code=reason_code, note=note,
                                               version=version, as_of=as_of or dt.date.today()), version=version)


def appeal_claim(db: Database, user: Principal, claim_id: int, *, note: str, as_of: dt.date | None = None) -> None:
    _call(lambda: actions.appeal_claim(db, user, claim_id, note=note, as_of=as_of or dt.date.today()))


def correct_claim(db: Database, user: Principal, claim_id: int, values: dict[str, str]) -> list[Any]:
    """The clerk's correction form; returns row errors (masked), nothing stored when there are any."""
    errors = _call(lambda: actions.correct_claim(db, user, claim_id, values))
    return [masked_error(e) for e in errors]


def returned(db: Database, user: Principal) -> list[dict[str, Any]]:
    from mutualaid.casework.service import returned_claims

    with db.sessions() as session:
        return [{"claim_id": c.id, "claim_no": c.claim_no, "product": c.product, "member_name": c.member_name,
                 "batch_id": c.batch_id, "reason_code": r.reason_code, "note": r.note, "returned_by": r.returned_by,
                 "returned_on": r.returned_on} for c, r in returned_claims(session, units=user.units)]


def appeals(db: Database, user: Principal, state: str | None = AppealState.OPEN) -> list[dict[str, Any]]:
    from mutualaid.casework.service import appeals as use_case

    with db.sessions() as session:
        return [{"claim_id": c.id, "claim_no": c.claim_no, "status": c.status, "note": a.note, "filed_by": a.filed_by,
                 "filed_on": a.filed_on, "decided_by": a.appealed_decided_by, "state": a.state, "outcome": a.outcome,
                 "settled_by": a.settled_by, "settled_on": a.settled_on}
                for c, a in use_case(session, state=state, units=user.units)]


def casework_of(db: Database, user: Principal, claim_id: int) -> dict[str, Any]:
    """What the claim page shows beside the trace: documents, return, appeals, versions."""
    return _call(lambda: actions.case_file(db, user, claim_id))


# --- documents -------------------------------------------------------------------------------

def doc_settings(db: Database) -> Any:
    from mutualaid.casework.documents import DocumentSettings

    return DocumentSettings.for_database(db.url)


def upload_document(db: Database, user: Principal, claim_id: int, kind: str, upload: UploadFile | None) -> Any:
    """Reads at most the size limit (+1, so too big is told); the rules are in the action."""
    data, name = b"", None
    if upload is not None and isinstance(upload, UploadFile):
        upload.file.seek(0)
        data, name = upload.file.read(doc_settings(db).max_bytes + 1), display_name(upload.filename)
    if name is None:
        _call(lambda: visible_claim(db, user.units, claim_id))  # an unknown claim stays a 404
        raise AppError(400, "doc_empty")
    return _call(lambda: actions.add_document(db, user, claim_id, kind, data, name))


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
    return _call(lambda: actions.draw_sample(db, user, month, seed))


def record_verdict(db: Database, user: Principal, claim_id: int, verdict: str, note: str | None) -> Any:
    return _call(lambda: actions.record_verdict(db, user, claim_id, verdict, note))


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
