"""The claims service: what an operator can do to a claim, with every rule they can hit.

The CLI, the JSON API and the pages call these functions and only translate arguments
and answers. Each function owns its unit of work (a :class:`Database` in, one
transaction, retried when SQLite lost a write race), so both interfaces meet the same
rules in the same order:

* unit scope -- a clerk files batches for, and sees the claims of, their own employer
  units only (:func:`submission_unit`, :func:`find_claim`); ``units=None`` means every
  unit (auditors, finance, admins, and the CLI, which is run by the fund's own staff on
  the server and has no signed-in user);
* review -- a written reason, an amount for an override, four eyes and the payout limit
  (the last two in :func:`mutualaid.claims.review.review`), returns and appeals
  (:func:`mutualaid.casework.service.decide`).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutualaid.claims.queries import ClaimRef, claim_batch
from mutualaid.claims.review import ReviewError, ReviewResult
from mutualaid.store.db import Database, retry_when_locked
from mutualaid.store.models import Claim
from mutualaid.users import Principal

if TYPE_CHECKING:
    from mutualaid.imports import ImportReport

REVIEW_ACTIONS = ("approve", "reject", "override")  # override = approve with a new amount
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
UNIT_CODE_MAX = 32


class ScopeError(ValueError):
    """A request outside the user's units; ``code`` is a key of the translation table."""

    def __init__(self, code: str, /, **params: object) -> None:
        from mutualaid.i18n import ui

        super().__init__(ui(code, "both", **params))
        self.code = code
        self.params = params


class UnitRequired(ScopeError):
    """A claim batch names no employer unit and the user has more than one."""


class NotYourUnit(ScopeError):
    """A batch for a unit the user does not serve."""


class BadUnitCode(ScopeError):
    """A unit code that cannot be one (too long, control characters)."""


class ClaimNotFound(ScopeError):
    """No such claim, or none the user may see (the two are deliberately not told apart)."""


class ReasonRequired(ReviewError):
    """A review without a written reason."""

    code = "err.reason_required"


class PayoutRequired(ReviewError):
    """An override without the new amount."""

    code = "err.payout_required"


# --- unit scope ------------------------------------------------------------------------------

def filing_units(user: Principal) -> tuple[str, ...] | None:
    """The units ``user`` may file claim batches for; None = any unit (admins)."""
    return None if user.role == "admin" else user.unit_codes


def submission_unit(user: Principal, unit_code: str | None) -> str:
    """The unit a claim batch is filed for: the one given, or a clerk's only unit.

    Admins may file for any unit; everyone else only for their own units.
    """
    unit = (unit_code or "").strip()
    if not unit and user.role == "clerk" and len(user.unit_codes) == 1:
        unit = user.unit_codes[0]
    if not unit:
        raise UnitRequired("err.unit_required")
    allowed = filing_units(user)
    if allowed is not None and unit not in allowed:
        raise NotYourUnit("err.not_your_unit", unit=unit)
    if len(unit) > UNIT_CODE_MAX or _CONTROL.search(unit):
        raise BadUnitCode("bad_unit_code", code=unit[:40])
    return unit


class FoundClaim(NamedTuple):
    id: int
    claim_no: str
    submitted_by: str | None  # who filed its batch (the four-eyes rule)


def find_claim(session: Session, *, units: Collection[str] | None, claim_id: int | None = None,
               claim_no: str | None = None) -> FoundClaim:
    """(id, claim_no, batch submitter) of a claim the user may see, by id or by number.

    Raises :class:`ClaimNotFound` when there is none or it is outside ``units``.
    """
    if claim_id is None and claim_no:
        claim_id = session.execute(select(Claim.id).where(Claim.claim_no == claim_no)).scalar()
    found = claim_batch(session, claim_id, units=units) if claim_id is not None else None
    if found is None:
        raise ClaimNotFound("err.claim_not_found")
    return FoundClaim(claim_id, found.claim_no, found.submitted_by)


def visible_claim(db: Database, units: Collection[str] | None, claim_id: int) -> ClaimRef:
    """(claim_no, batch submitter) of a claim the user may see, else :class:`ClaimNotFound`."""
    with db.sessions() as session:
        found = find_claim(session, units=units, claim_id=claim_id)
    return ClaimRef(found.claim_no, found.submitted_by)


# --- intake ----------------------------------------------------------------------------------

def submit(db: Database, path: Path, user: Principal, unit_code: str | None, *,
           file_name: str | None = None) -> ImportReport:
    """A claim batch filed by ``user`` for one of their units (:func:`submission_unit`)."""
    from mutualaid.claims.intake import submit_batch

    unit = submission_unit(user, unit_code)
    return submit_batch(db, path, clerk=user.username, file_name=file_name, unit_code=unit)


# --- review ----------------------------------------------------------------------------------

def review_claim(db: Database, *, user: str, action: str, reason: str, as_of: dt.date,
                 claim_id: int | None = None, claim_no: str | None = None, units: Collection[str] | None = None,
                 payout_fen: int | None = None, expected_version: int | None = None) -> ReviewResult:
    """An auditor's approve, reject or override of one claim, in its own transaction.

    Checked here, in this order, for every interface: a reason; an amount for an
    override; that the claim exists and is in ``units``. Then
    :func:`mutualaid.casework.service.decide` (returns, appeals) and
    :func:`mutualaid.claims.review.review` (four eyes, payout limit, optimistic version).
    ``approve`` with ``payout_fen`` is an override too. Raises :class:`ReviewError`
    (:class:`ReviewForbidden`, :class:`ReviewConflict`), ``CaseworkError`` or
    :class:`ClaimNotFound`.
    """
    from mutualaid.casework.service import decide

    if action not in REVIEW_ACTIONS:
        raise ReviewError(f"unknown action {action!r}")
    if not reason or not reason.strip():
        raise ReasonRequired("a written reason is required / 必须填写理由")
    if action == "override" and payout_fen is None:
        raise PayoutRequired("an override needs the payout amount / 改判金额必须填写")
    number = claim_no
    if number is None or units is not None:  # a number seen by every unit: review() tells "no claim"
        with db.sessions() as session:
            number = find_claim(session, units=units, claim_id=claim_id, claim_no=claim_no).claim_no

    def work() -> ReviewResult:
        with db.transaction() as session:
            return decide(session, number, "reject" if action == "reject" else "approve", reason=reason,
                          user=user, as_of=as_of, payout_fen=None if action == "reject" else payout_fen,
                          expected_version=expected_version)
    return retry_when_locked(work)  # SQLite: a concurrent writer won; the retry sees its version


# --- decision export -------------------------------------------------------------------------

def export_decisions(db: Database, out: Path, *, batch_id: int | None = None) -> int:
    """The decision export of files.md into ``out``; returns the number of rows."""
    from mutualaid.claims.export import export_decisions as write

    with db.sessions() as session:
        return write(session, out, batch_id=batch_id)
