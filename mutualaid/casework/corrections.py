"""Corrected rows of RETURNED claims in a claim batch (called by claims.intake)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutualaid.casework.service import resubmit
from mutualaid.i18n import ui
from mutualaid.imports import ImportReport
from mutualaid.store.models import Claim, FileImport

if TYPE_CHECKING:
    from mutualaid.claims.intake import ParsedClaim


def resubmit_rows(session: Session, batch_id: int, stored_columns: tuple[str, ...],
                  rows: list[tuple[ParsedClaim, str]], report: ImportReport) -> None:
    """Each (parsed row, row hash): the claim comes back with its new content as a new version.

    ``stored_columns``: kept for callers; the parsed row names its own columns."""
    clerk = session.execute(select(FileImport.imported_by).where(FileImport.id == batch_id)).scalar() or "cli"
    done = []
    for parsed, digest in rows:
        claim = session.execute(select(Claim).where(Claim.claim_no == parsed.claim_no)
                                .execution_options(populate_existing=True)).scalar_one()
        resubmit(session, claim, parsed.content(), row_hash=digest, batch_id=batch_id, user=clerk)
        done.append(parsed.claim_no)
    report.stored += len(done)
    shown = ", ".join(done[:20]) + (" …" if len(done) > 20 else "")
    report.warnings.append(ui("case.resubmitted", "both", n=len(done), claims=shown))
