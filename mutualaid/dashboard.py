"""The dashboard's figures: claims by status (of the viewer's units), the month's approvals,
and, for those who may see money, the fund's payouts and balance.

Reads both claims and the ledger, so it sits beside them rather than inside either.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutualaid.claims.queries import in_units, join_units
from mutualaid.claims.status import APPROVED
from mutualaid.dates import month_bounds
from mutualaid.ledger.queries import fund_balance, paid_between
from mutualaid.store.models import Claim, LedgerLine


@dataclass(frozen=True, slots=True)
class Dashboard:
    month: str
    by_status: dict[str, tuple[int, int]]   # status -> (claims, payout fen)
    approved_in_month_fen: int
    paid_in_month_fen: int | None           # None: not shown to this viewer
    fund_balance_fen: int | None


def as_of_month(session: Session, month: str | None, today: dt.date) -> dt.date:
    """The day figures are taken on: the last day of the chosen month (today at most).

    Without a choice: today, unless nothing was decided or booked this month; then the
    last day of the latest month that had a decision or a ledger line, so that a quiet
    month (or a store of past years) doesn't open on a page of zeros.
    """
    if month:
        return min(month_bounds(month)[1], today)
    latest = max((d for d in (
        session.execute(select(func.max(Claim.decided_on)).where(Claim.decided_on <= today)).scalar(),
        session.execute(select(func.max(LedgerLine.entry_date)).where(LedgerLine.entry_date <= today)).scalar(),
    ) if d is not None), default=None)
    if latest is None or (latest.year, latest.month) == (today.year, today.month):
        return today
    return month_bounds(f"{latest:%Y-%m}")[1]


def dashboard(session: Session, *, today: dt.date, units: Collection[str] | None,
              money: bool) -> Dashboard:
    """Claims by status (of the viewer's units), the month's approvals (the month of
    ``today``); fund figures (paid in the month, balance on ``today``) if ``money``."""
    first, last = month_bounds(f"{today:%Y-%m}")
    q = select(Claim.status, func.count(), func.coalesce(func.sum(Claim.payout_fen), 0)).group_by(Claim.status)
    a = select(func.coalesce(func.sum(Claim.payout_fen), 0)).where(
        Claim.status == APPROVED, Claim.decided_on.between(first, last))
    if units is not None:
        q = join_units(q.select_from(Claim)).where(in_units(units))
        a = join_units(a.select_from(Claim)).where(in_units(units))
    by_status = {s: (int(n), int(p)) for s, n, p in session.execute(q)}
    approved = int(session.execute(a).scalar() or 0)
    return Dashboard(f"{today:%Y-%m}", by_status, approved,
                     paid_between(session, first, last) if money else None,
                     fund_balance(session, today) if money else None)
