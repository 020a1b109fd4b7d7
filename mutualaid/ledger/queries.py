"""Read side of the fund: balance, payouts by month, stored reconciliation runs and items.

Plain queries returning plain values or dataclasses; the pages and the API show them.
A line's effect on the balance comes from the one sign table (:mod:`mutualaid.ledger.entries`).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from mutualaid.dates import add_months, month_bounds
from mutualaid.ledger.entries import FUND_SIGN, EntryType
from mutualaid.store.models import Claim, LedgerLine, ReconItem, ReconResolution, ReconRun
from mutualaid.store.paging import Page, capped_count

# --- money figures -----------------------------------------------------------------------

_PAID_TYPES = (EntryType.PAYOUT, EntryType.REVERSAL)


def _signed_amount() -> Any:
    negative = [t for t, sign in FUND_SIGN.items() if sign < 0]
    return case((LedgerLine.entry_type.in_(negative), -LedgerLine.amount_fen), else_=LedgerLine.amount_fen)


def _paid_amount() -> Any:
    """PAYOUT counts, a REVERSAL gives it back (use on those two entry types only)."""
    return case((LedgerLine.entry_type == EntryType.PAYOUT, LedgerLine.amount_fen), else_=-LedgerLine.amount_fen)


def fund_balance(session: Session, as_of: dt.date) -> int:
    return int(session.execute(select(func.coalesce(func.sum(_signed_amount()), 0))
                               .where(LedgerLine.entry_date <= as_of)).scalar() or 0)


def paid_between(session: Session, first: dt.date, last: dt.date) -> int:
    return int(session.execute(select(func.coalesce(func.sum(_paid_amount()), 0)).where(
        LedgerLine.entry_type.in_(_PAID_TYPES), LedgerLine.entry_date.between(first, last))).scalar() or 0)


def months_back(month: str, n: int) -> list[str]:
    """The n months ending with ``month``, oldest first."""
    first, _ = month_bounds(month)
    return [f"{add_months(first, -k):%Y-%m}" for k in range(n - 1, -1, -1)]


def payouts_by_month(session: Session, months: Sequence[str]) -> dict[str, dict[str, int]]:
    """Paid amount (PAYOUT − REVERSAL) per month and product over ``months``; product of the
    line, else of the claim it pays, else 'UNSPECIFIED'."""
    if not months:
        return {}
    first, _ = month_bounds(months[0])
    _, last = month_bounds(months[-1])
    product = func.coalesce(LedgerLine.product, Claim.product, "UNSPECIFIED")
    year, mon = func.extract("year", LedgerLine.entry_date), func.extract("month", LedgerLine.entry_date)
    out: dict[str, dict[str, int]] = {m: {} for m in months}
    for y, m, p, fen in session.execute(
            select(year, mon, product, func.sum(_paid_amount()))
            .select_from(LedgerLine).outerjoin(Claim, Claim.claim_no == LedgerLine.reference)
            .where(LedgerLine.entry_type.in_(_PAID_TYPES), LedgerLine.entry_date.between(first, last))
            .group_by(year, mon, product)):
        key = f"{int(y):04d}-{int(m):02d}"
        if key in out:
            out[key][p] = out[key].get(p, 0) + int(fen)
    return out


# --- reconciliation runs and items ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReconRunView:
    id: int
    month: str
    created_at: dt.datetime
    created_by: str
    inputs_fingerprint: str
    summary: dict[str, Any]


def _run_view(r: ReconRun) -> ReconRunView:
    return ReconRunView(r.id, r.month, r.created_at, r.created_by, r.inputs_fingerprint, r.summary or {})


def recon_runs(session: Session, *, month: str | None = None, limit: int = 50) -> list[ReconRunView]:
    q = select(ReconRun).order_by(ReconRun.id.desc()).limit(limit)
    if month:
        q = q.where(ReconRun.month == month)
    return [_run_view(r) for r in session.execute(q).scalars()]


def recon_run(session: Session, run_id: int) -> ReconRunView | None:
    r = session.get(ReconRun, run_id)
    return _run_view(r) if r else None


def latest_run(session: Session, month: str) -> ReconRunView | None:
    r = session.execute(select(ReconRun).where(ReconRun.month == month)
                        .order_by(ReconRun.id.desc()).limit(1)).scalar()
    return _run_view(r) if r else None


@dataclass(frozen=True, slots=True)
class ReconItemView:
    id: int
    item_key: str
    claim_no: str | None
    product: str | None
    status: str
    approved_fen: int
    paid_fen: int
    difference_fen: int
    vouchers: tuple[str, ...]
    days_outstanding: int | None
    note: str | None
    resolved_by: str | None
    resolved_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ReconItemFilter:
    status: str | None = None
    product: str | None = None
    resolved: bool | None = None
    claim_no: str | None = None


def recon_items(session: Session, run: ReconRunView, f: ReconItemFilter, *, page: int = 1,
                page_size: int = 50) -> Page[ReconItemView]:
    """Items of a run in report order (the order they were stored), with finance's notes."""
    res = and_(ReconResolution.month == run.month, ReconResolution.item_key == ReconItem.item_key)
    conds: list[Any] = [ReconItem.run_id == run.id]
    if f.status:
        conds.append(ReconItem.status == f.status)
    if f.product:
        conds.append(ReconItem.product == f.product)
    if f.claim_no:
        conds.append(or_(ReconItem.claim_no == f.claim_no, ReconItem.item_key == f.claim_no))
    if f.resolved is True:
        conds.append(ReconResolution.id.is_not(None))
    elif f.resolved is False:
        conds.append(ReconResolution.id.is_(None))
    base = select(ReconItem, ReconResolution.note, ReconResolution.resolved_by, ReconResolution.resolved_at) \
        .outerjoin(ReconResolution, res).where(*conds)
    total, more = capped_count(session, select(ReconItem.id).outerjoin(ReconResolution, res).where(*conds))
    rows = session.execute(base.order_by(ReconItem.id).offset((page - 1) * page_size).limit(page_size))
    items = [ReconItemView(i.id, i.item_key, i.claim_no, i.product, i.status, i.approved_fen, i.paid_fen,
                           i.difference_fen, tuple(filter(None, (i.vouchers or "").split(";"))),
                           i.days_outstanding, note, by, at)
             for i, note, by, at in rows]
    return Page(items, total, page, page_size, more)


def recon_item(session: Session, run: ReconRunView, item_key: str) -> ReconItemView | None:
    page = recon_items(session, run, ReconItemFilter(claim_no=item_key), page_size=5)
    return next((i for i in page.items if i.item_key == item_key), None)
