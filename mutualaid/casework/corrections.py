"""Corrected rows of RETURNED claims in a claim batch (called by claims.intake)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutualaid.casework.service import resubmit
from mutualaid.i18n import ui
from mutualaid.imports import ImportReport
from mutualaid.store.models import Claim, FileImport


def resubmit_rows(session: Session, batch_id: int, stored_columns: tuple[str, ...],
                  rows: list[tuple[tuple[Any, ...], str]], report: ImportReport) -> None:
    """Each (parsed row, row hash): the claim comes back with its new content as a new version."""
    clerk = session.execute(select(FileImport.imported_by).where(FileImport.id == batch_id)).scalar() or "cli"
    done = []
    for parsed, digest in rows:
        values = dict(zip(stored_columns, parsed[3:]))
        values["event_date"] = parsed[2]
        claim = session.execute(select(Claim).where(Claim.claim_no == parsed[1])
                                .execution_options(populate_existing=True)).scalar_one()
        resubmit(session, claim, values, row_hash=digest, batch_id=batch_id, user=clerk)
        done.append(parsed[1])
    report.stored += len(done)
    shown = ", ".join(done[:20]) + (" …" if len(done) > 20 else "")
    report.warnings.append(ui("case.resubmitted", "both", n=len(done), claims=shown))
