"""`mutualaid reconcile`: the monthly reconciliation job for finance.

Loads the claims and the ledger as of the month's last day into pandas, reconciles with
``mutualaid.ledger.reconcile``, stores the run (with its inputs' fingerprint) and its
items, and writes items.csv, summary.json and report.xlsx. Re-running the same month on
the same data gives the same report; finance's resolved-notes are kept by month + item.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mutualaid import audit
from mutualaid.dates import month_bounds
from mutualaid.ledger.reconcile import Reconciliation, reconcile
from mutualaid.ledger.report import write_reports
from mutualaid.store.db import Database
from mutualaid.store.locks import job_lock
from mutualaid.store.models import Claim, LedgerLine, ReconItem, ReconResolution, ReconRun


class ReconcileError(ValueError):
    pass


@dataclass
class RunResult:
    run_id: int
    reconciliation: Reconciliation
    files: list[Path]
    fingerprint: str


def load_frames(session: Session, last_day: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Claims (all: an unknown reference must be told from a known one) and ledger lines <= last_day."""
    conn = session.connection()
    claims = pd.read_sql(select(Claim.claim_no, Claim.product, Claim.status, Claim.payout_fen, Claim.decided_on)
                         .order_by(Claim.claim_no), conn,
                         dtype={"claim_no": "string", "product": "string", "status": "string", "payout_fen": "int64"})
    ledger = pd.read_sql(select(LedgerLine.voucher_no, LedgerLine.entry_date, LedgerLine.entry_type,
                                LedgerLine.product, LedgerLine.amount_fen, LedgerLine.reference)
                         .where(LedgerLine.entry_date <= last_day).order_by(LedgerLine.voucher_no), conn,
                         dtype={"voucher_no": "string", "entry_type": "string", "product": "string",
                                "amount_fen": "int64", "reference": "string"})
    claims["decided_on"] = pd.to_datetime(claims["decided_on"])
    ledger["entry_date"] = pd.to_datetime(ledger["entry_date"])
    return claims, ledger


def fingerprint(claims: pd.DataFrame, ledger: pd.DataFrame) -> str:
    """Order-independent digest of exactly the inputs the report depends on."""
    h = hashlib.sha256()
    for df in (claims, ledger):
        h.update(str(len(df)).encode())
        h.update(pd.util.hash_pandas_object(df, index=False).sort_values().to_numpy().tobytes())
    return h.hexdigest()


def resolutions(session: Session, month: str) -> dict[str, str]:
    return dict(session.execute(select(ReconResolution.item_key, ReconResolution.note)
                                .where(ReconResolution.month == month)).all())


def run(db: Database, month: str, out_dir: Path | None, *, user: str = "cli",
        generated_at: dt.datetime | None = None) -> RunResult:
    try:
        _, last_day = month_bounds(month)
    except ValueError:
        raise ReconcileError(f"not a month (YYYY-MM): {month}") from None
    with job_lock(db, f"reconcile-{month}"):
        with db.sessions() as session:
            claims, ledger = load_frames(session, last_day)
        rec = reconcile(month, claims, ledger)
        digest = fingerprint(claims, ledger)
        with db.transaction() as session:
            recon = ReconRun(month=month, created_by=user, inputs_fingerprint=digest, summary=rec.summary)
            session.add(recon)
            session.flush()
            items = rec.items
            if len(items):
                records = items.assign(run_id=recon.id).astype(object).where(items.notna(), None)
                session.execute(insert(ReconItem), [
                    {"run_id": recon.id, "item_key": r["item_key"], "claim_no": r["claim_no"],
                     "product": r["product"], "status": r["status"], "approved_fen": int(r["approved_fen"]),
                     "paid_fen": int(r["paid_fen"]), "difference_fen": int(r["difference_fen"]),
                     "vouchers": r["vouchers"] or "",
                     "days_outstanding": None if r["days_outstanding"] is None else int(r["days_outstanding"])}
                    for r in records.to_dict("records")])
            audit.record(session, user, "reconcile.run", "recon_run", recon.id,
                         {"month": month, "fingerprint": digest, "items": len(items)})
            notes = resolutions(session, month)
        files: list[Path] = []
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            files = write_reports(rec, out_dir, generated_at=generated_at or dt.datetime.now(dt.timezone.utc),
                                  resolutions=notes)
    return RunResult(recon.id, rec, files, digest)


def resolve(db: Database, month: str, item_key: str, note: str, *, user: str) -> None:
    """Mark an item resolved with a note; kept by month + item, so it survives re-runs."""
    if not note or not note.strip():
        raise ReconcileError("a note is required / 必须填写说明")
    with db.transaction() as session:
        known = session.execute(select(ReconItem.id).join(ReconRun, ReconRun.id == ReconItem.run_id)
                                .where(ReconRun.month == month, ReconItem.item_key == item_key).limit(1)).scalar()
        if known is None:
            raise ReconcileError(f"no item {item_key} in a reconciliation of {month}")
        existing = session.execute(select(ReconResolution).where(ReconResolution.month == month,
                                                                 ReconResolution.item_key == item_key)).scalar()
        before = existing.note if existing else None
        if existing:
            existing.note, existing.resolved_by = note.strip(), user
            existing.resolved_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        else:
            session.add(ReconResolution(month=month, item_key=item_key, note=note.strip(), resolved_by=user))
        audit.record(session, user, "reconcile.resolve", "recon_item", f"{month}/{item_key}",
                     {"note": note.strip(), "previous_note": before})
