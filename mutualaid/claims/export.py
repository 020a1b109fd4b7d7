"""The decision export of files.md: one row per decided claim, ID numbers masked.

UTF-8 with BOM: auditors open it in Excel, which reads a file without BOM as the local
code page on Chinese Windows.
"""
from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutualaid.cellsafe import safe_row
from mutualaid.claims.status import UNDECIDED
from mutualaid.idnumber import mask
from mutualaid.money import fmt
from mutualaid.store.models import Claim

COLUMNS = ("claim_no", "product", "member_id_number", "status", "payout", "reason_codes",
           "policy_version", "decided_on", "batch_id")


def export_decisions(session: Session, out: Path, *, batch_id: int | None = None) -> int:
    """Write the CSV; returns the number of rows. Undecided and withdrawn claims are left out."""
    q = (select(Claim.claim_no, Claim.product, Claim.member_id_number, Claim.status, Claim.payout_fen,
                Claim.reason_codes, Claim.policy_version, Claim.decided_on, Claim.batch_id)
         .where(Claim.status.not_in(UNDECIDED)).order_by(Claim.claim_no))  # withdrawn: no decision
    if batch_id is not None:
        q = q.where(Claim.batch_id == batch_id)
    n = 0
    with open(out, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in session.execute(q).yield_per(10_000):
            w.writerow(safe_row([r.claim_no, r.product, mask(r.member_id_number), r.status, fmt(r.payout_fen, fen=True),
                        ";".join(sorted(filter(None, r.reason_codes.split(";")))), r.policy_version,
                        r.decided_on.isoformat() if r.decided_on else "", r.batch_id]))
            n += 1
    return n
