"""The reconciliation's inputs cut into partitions, for the distributed job.

Claims are cut into ``claim_no`` ranges; ``PAYOUT``/``REVERSAL`` ledger lines go to the
range of the claim they name, so every line meets its claim and every claim and line is
in exactly one partition (what makes the merge of ``batch.distributed`` exact). The
queries are :func:`mutualaid.ledger.service.claims_query` and ``ledger_query`` narrowed.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, true

from mutualaid.ledger import service as recon_service
from mutualaid.ledger.reconcile import PAYOUT, REVERSAL
from mutualaid.store.models import Claim, LedgerLine


def _in_range(column: Any, lo: str | None, hi: str | None) -> Any:
    conditions = ([column >= lo] if lo is not None else []) + ([column < hi] if hi is not None else [])
    return and_(true(), *conditions)


def partition_queries(last_day: dt.date, lo: str | None, hi: str | None) -> tuple[Any, Any]:
    """Claims with claim_no in [lo, hi) and the ledger lines that go with them.

    ``PAYOUT``/``REVERSAL`` lines go where their reference falls (the range of the claim they
    name, if any); the first partition (lo None) also takes the other lines and the lines
    without reference. Every line is in exactly one partition.
    """
    claims_sql = recon_service.claims_query().where(_in_range(Claim.claim_no, lo, hi))
    payout_or_reversal = LedgerLine.entry_type.in_((PAYOUT, REVERSAL))
    reference = LedgerLine.reference
    if lo is None:
        lines = or_(~payout_or_reversal, reference.is_(None), _in_range(reference, lo, hi))
    else:
        lines = and_(payout_or_reversal, _in_range(reference, lo, hi))
    return claims_sql, recon_service.ledger_query(last_day).where(lines)


def claim_bounds(conn: Connection, partitions: int) -> list[str]:
    """claim_no values cutting the sorted claims into about equal ranges (at most one per claim)."""
    n = conn.execute(select(func.count()).select_from(Claim)).scalar() or 0
    parts = max(1, min(partitions, n))
    ordered = select(Claim.claim_no).order_by(Claim.claim_no)
    return [conn.execute(ordered.offset(n * i // parts).limit(1)).scalar() for i in range(1, parts)]
