"""Casework actions of one signed-in user on one claim, each its own unit of work.

The pages and the JSON API name a claim by its id and act for a :class:`Principal`; these
functions hold what they must not decide themselves: the claim must be one the user may
see (clerks: their units' claims, :func:`mutualaid.claims.service.find_claim`, else
``ClaimNotFound``), and every write is one transaction, run again when SQLite lost a
write race. The rules of each use case stay in :mod:`mutualaid.casework.service`,
:mod:`~mutualaid.casework.documents` and :mod:`~mutualaid.casework.quality`; their errors
(``CaseworkError``, ``ReviewConflict``, ``ReviewError``) pass through unchanged.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select

from mutualaid.casework.terms import AppealState, ReturnState
from mutualaid.claims.service import visible_claim
from mutualaid.claims.status import RuleCode
from mutualaid.store.db import Database, retry_when_locked
from mutualaid.users import Principal

T = TypeVar("T")


def in_transaction(db: Database, work: Callable[[Any], T]) -> T:
    """``work(session)`` in one transaction, retried on SQLite's lost write race."""
    def attempt() -> T:
        with db.transaction() as session:
            return work(session)
    return retry_when_locked(attempt)


# --- returns and appeals ---------------------------------------------------------------------

def return_claim(db: Database, user: Principal, claim_id: int, *, reason_code: str, note: str,
                 version: int | None, as_of: dt.date) -> Any:
    from mutualaid.casework.service import return_claim as use_case

    claim_no, _ = visible_claim(db, user.units, claim_id)
    return in_transaction(db, lambda s: use_case(s, claim_no, reason_code=reason_code, note=note,
                                                 user=user.username, as_of=as_of, expected_version=version))


def appeal_claim(db: Database, user: Principal, claim_id: int, *, note: str, as_of: dt.date) -> Any:
    from mutualaid.casework.service import appeal_claim as use_case

    claim_no, _ = visible_claim(db, user.units, claim_id)
    return in_transaction(db, lambda s: use_case(s, claim_no, note=note, user=user.username, as_of=as_of))


def correct_claim(db: Database, user: Principal, claim_id: int, values: dict[str, str]) -> list[Any]:
    """The clerk's correction; returns the row errors (nothing stored when there are any)."""
    from mutualaid.casework.service import correct_claim as use_case

    claim_no, _ = visible_claim(db, user.units, claim_id)
    return in_transaction(db, lambda s: use_case(s, claim_no, values, user=user.username, units=user.units))


# --- documents and the quality sample --------------------------------------------------------

def add_document(db: Database, user: Principal, claim_id: int, kind: str, data: bytes, file_name: str) -> int:
    """One document for a claim the user may see; returns the document's id."""
    from mutualaid.casework.documents import DocumentSettings, DocumentStore
    from mutualaid.casework.documents import add_document as use_case

    claim_no, _ = visible_claim(db, user.units, claim_id)
    store = DocumentStore(DocumentSettings.for_database(db.url))
    return in_transaction(db, lambda s: use_case(s, store, claim_no, kind, data, file_name, user=user.username,
                                                 units=user.units)[0].id)


def record_verdict(db: Database, user: Principal, claim_id: int, verdict: str, note: str | None) -> str:
    from mutualaid.casework.quality import record_verdict as use_case

    claim_no, _ = visible_claim(db, user.units, claim_id)
    return in_transaction(db, lambda s: use_case(s, claim_no, verdict, note=note, user=user.username).verdict)


def draw_sample(db: Database, user: Principal, month: str, seed: int | None = None) -> Any:
    from mutualaid.casework.quality import draw

    return in_transaction(db, lambda s: draw(s, month, user=user.username, seed=seed))


# --- what the claim page shows ---------------------------------------------------------------

def case_file(db: Database, user: Principal, claim_id: int) -> dict[str, Any]:
    """Beside the trace on the claim page: documents, returns, appeals, content versions,
    the correction form of a returned claim, and whether the user filed its batch."""
    from mutualaid.claims import queries
    from mutualaid.casework.documents import documents_of
    from mutualaid.casework.service import RETURNED, form_values
    from mutualaid.store.models import Claim
    from mutualaid.store.models_casework import ClaimAppeal, ClaimReturn, ClaimVersion

    claim_no, submitted_by = visible_claim(db, user.units, claim_id)
    with db.sessions() as session:
        detail = queries.get_claim(session, claim_id, units=user.units)
        assert detail is not None
        docs = documents_of(session, claim_id)
        returns = session.execute(select(ClaimReturn).where(ClaimReturn.claim_id == claim_id)
                                  .order_by(ClaimReturn.id.desc())).scalars().all()
        appeal_rows = session.execute(select(ClaimAppeal).where(ClaimAppeal.claim_id == claim_id)
                                      .order_by(ClaimAppeal.id.desc())).scalars().all()
        versions = session.execute(select(ClaimVersion).where(ClaimVersion.claim_id == claim_id)
                                   .order_by(ClaimVersion.version_no)).scalars().all()
        form = form_values(session.get(Claim, claim_id)) if detail.row.status == RETURNED else None  # type: ignore[arg-type]
    fired = set(detail.decisions[0].trace.get("fired", [])) if detail.decisions else set()
    v03 = RuleCode.V03 in fired or RuleCode.V03 in detail.row.reason_codes
    return {"claim_id": claim_id, "claim_no": claim_no, "status": detail.row.status, "version": detail.row.version,
            "own_batch": submitted_by == user.username, "documents": docs, "form": form, "returns": returns,
            "appeals": appeal_rows, "versions": versions, "v03": v03,
            "pathology_attached": any(d.kind == "pathology_report" for d in docs),
            "open_return": next((r for r in returns if r.state == ReturnState.OPEN), None) if detail.row.status == RETURNED
            else None,
            "open_appeal": next((a for a in appeal_rows if a.state == AppealState.OPEN), None)}
