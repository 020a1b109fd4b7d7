"""Reconciliation as a service: every use case of the monthly reconciliation.

The CLI (`mutualaid reconcile`, `mutualaid reconcile-resolve`), the API and pages
(through api/services.py), the demo, the batch job (``batch.reconcile``) and the distributed job
(``batch.distributed.reconcile_distributed``) all call these functions; they only
translate arguments and results.

* :func:`run` -- load the claims and the ledger as of the month's last day, reconcile
  (pure: ``mutualaid.ledger.reconcile``), store the run with its inputs' fingerprint and
  its items, write items.csv, summary.json and report.xlsx. One run per month at a time
  (a job lock). Re-running the same month on the same data gives the same report.
* :func:`resolve` -- finance's note on an item, kept by month + item across re-runs
  (a note is required; the item must be in the month's latest run).
* The pieces (queries, frame reading, fingerprint, storing, writing) for the distributed
  job, which reads and reconciles partitions on Dask workers and stores and writes the
  merged result through :func:`store_run` and :func:`write_files`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Select, insert, select
from sqlalchemy.orm import Session

from mutualaid import audit
from mutualaid.dates import month_bounds
from mutualaid.ledger.reconcile import Reconciliation, reconcile
from mutualaid.ledger.report import write_reports
from mutualaid.store.db import Database, retry_when_locked
from mutualaid.store.locks import job_lock
from mutualaid.store.models import Claim, LedgerLine, ReconItem, ReconResolution, ReconRun

CLAIM_DTYPES = {"claim_no": "string", "product": "string", "status": "string", "payout_fen": "int64"}
LEDGER_DTYPES = {"voucher_no": "string", "entry_type": "string", "product": "string", "amount_fen": "int64",
                 "reference": "string"}


class ReconcileError(ValueError):
    """A reconciliation request that cannot be done (bad month, missing note, unknown item)."""


class NoteRequired(ReconcileError):
    """Resolving an item without a note."""


class UnknownItem(ReconcileError):
    """Resolving an item that is in no reconciliation of the month."""


@dataclass
class RunResult:
    run_id: int
    reconciliation: Reconciliation
    files: list[Path]
    fingerprint: str
    audit_head: audit.ChainHead | None = None   # the audit chain right after this run was stored


def month_days(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of 'YYYY-MM', or :class:`ReconcileError`."""
    try:
        return month_bounds(month)
    except ValueError:
        raise ReconcileError(f"not a month (YYYY-MM): {month}") from None


def claims_query() -> Select:
    """All claims (an unknown reference must be told from a known one)."""
    return (select(Claim.claim_no, Claim.product, Claim.status, Claim.payout_fen, Claim.decided_on)
            .order_by(Claim.claim_no))


def ledger_query(last_day: dt.date) -> Select:
    """Ledger lines dated <= last_day."""
    return (select(LedgerLine.voucher_no, LedgerLine.entry_date, LedgerLine.entry_type, LedgerLine.product,
                   LedgerLine.amount_fen, LedgerLine.reference)
            .where(LedgerLine.entry_date <= last_day).order_by(LedgerLine.voucher_no))


def read_frames(conn: Connection, claims_sql: Select, ledger_sql: Select) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the two queries into the frames ``reconcile`` takes (fixed dtypes, so row hashes are stable)."""
    claims = pd.read_sql(claims_sql, conn, dtype=CLAIM_DTYPES)
    ledger = pd.read_sql(ledger_sql, conn, dtype=LEDGER_DTYPES)
    claims["decided_on"] = pd.to_datetime(claims["decided_on"])
    ledger["entry_date"] = pd.to_datetime(ledger["entry_date"])
    return claims, ledger


def load_frames(session: Session, last_day: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Claims (all: an unknown reference must be told from a known one) and ledger lines <= last_day."""
    return read_frames(session.connection(), claims_query(), ledger_query(last_day))


def row_hashes(df: pd.DataFrame) -> np.ndarray:
    """One uint64 per row, independent of the other rows (so partitions can be hashed apart)."""
    return pd.util.hash_pandas_object(df, index=False).to_numpy()


def digest(*tables: tuple[int, np.ndarray]) -> str:
    """Fingerprint of tables given as (row count, row hashes in any order)."""
    h = hashlib.sha256()
    for rows, hashes in tables:
        h.update(str(rows).encode())
        h.update(np.sort(hashes).tobytes())
    return h.hexdigest()


def fingerprint(claims: pd.DataFrame, ledger: pd.DataFrame) -> str:
    """Order-independent digest of exactly the inputs the report depends on."""
    return digest(*((len(df), row_hashes(df)) for df in (claims, ledger)))


def resolutions(session: Session, month: str) -> dict[str, str]:
    return dict(session.execute(select(ReconResolution.item_key, ReconResolution.note)
                                .where(ReconResolution.month == month)).all())


def store_run(db: Database, rec: Reconciliation, inputs_fingerprint: str, *, user: str) -> tuple[int, dict[str, str]]:
    """Store the run and its items with an audit entry, in one transaction; returns (run id, notes)."""
    month = rec.month
    with db.transaction() as session:
        recon = ReconRun(month=month, created_by=user, inputs_fingerprint=inputs_fingerprint, summary=rec.summary)
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
                     {"month": month, "fingerprint": inputs_fingerprint, "items": len(items)})
        notes = resolutions(session, month)
    return recon.id, notes


def payment_info(db: Database, last_day: dt.date) -> dict | None:
    """What the payment runs say of each claim (docs/payments.md); None when there are none."""
    from mutualaid.payments.service import payment_states

    with db.sessions() as session:
        states = payment_states(session, last_day)
    return states or None


def item_payment_states(session: Session, items: Sequence[Any],
                        today: dt.date | None = None) -> dict[str, tuple[str, str]] | None:
    """item_key -> (payment state, bank's reason) of these items of a month's run, by the rule
    of ``items.csv`` (``report.payment_cell``) but as things stand now: the month page shows
    finance whether an item still open at the month's end has been paid since (``items.csv``
    keeps the state at the time of the run). None when no payment runs are used at all (the
    page then shows no payment column, like the reports)."""
    from mutualaid.ledger.report import payment_cell
    from mutualaid.payments.service import any_payment_run, payment_states

    if not any_payment_run(session):
        return None
    states = payment_states(session, today or dt.date.today(), [i.claim_no for i in items if i.claim_no])
    out: dict[str, tuple[str, str]] = {}
    for i in items:
        cell = payment_cell(i.claim_no, i.status, i.paid_fen, states)
        if cell is not None and cell[0]:
            out[i.item_key] = (cell[0], cell[2])
    return out


def chain_head(db: Database) -> audit.ChainHead:
    """The audit chain's head now: written into the reports, so a later cut is caught."""
    with db.sessions() as session:
        return audit.head(session)


def write_files(rec: Reconciliation, out_dir: Path | None, notes: dict[str, str],
                generated_at: dt.datetime | None = None, audit_head: audit.ChainHead | None = None,
                db: Database | None = None) -> list[Path]:
    """items.csv, summary.json and report.xlsx into out_dir (nothing when out_dir is None);
    with ``db``, items carry the payment state of their claim (docs/payments.md)."""
    if out_dir is None:
        return []
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    payments = payment_info(db, rec.last_day) if db is not None else None
    return write_reports(rec, out_dir, generated_at=generated_at or dt.datetime.now(dt.timezone.utc),
                         resolutions=notes, audit_chain=audit_head.as_dict() if audit_head else None,
                         payments=payments)


def run(db: Database, month: str, out_dir: Path | None, *, user: str = "cli",
        generated_at: dt.datetime | None = None) -> RunResult:
    """Reconcile ``month`` ('YYYY-MM'), store the run, write the reports into ``out_dir``.

    Raises :class:`ReconcileError` for a malformed month and ``JobBusy`` when the month's
    reconciliation is already running.
    """
    _, last_day = month_days(month)
    with job_lock(db, f"reconcile-{month}"):
        with db.sessions() as session:
            claims, ledger = load_frames(session, last_day)
        rec = reconcile(month, claims, ledger)
        inputs = fingerprint(claims, ledger)
        run_id, notes = store_run(db, rec, inputs, user=user)
        head = chain_head(db)
        files = write_files(rec, out_dir, notes, generated_at, head, db)
    return RunResult(run_id, rec, files, inputs, head)


def latest_run_id(session: Session, month: str) -> int | None:
    """The month's latest reconciliation run: the one finance reads and notes."""
    return session.execute(select(ReconRun.id).where(ReconRun.month == month)
                           .order_by(ReconRun.id.desc()).limit(1)).scalar()


def resolve(db: Database, month: str, item_key: str, note: str, *, user: str) -> None:
    """Mark an item resolved with a note; kept by month + item, so it survives re-runs.

    The item must be in the month's latest run: that is the list finance works through
    (the month page, the API's items); an item the latest run no longer lists needs no note
    any more (docs/architecture.md). The CLI and the web both come here.
    """
    if not note or not note.strip():
        raise NoteRequired("a note is required / 必须填写说明")
    note = note.strip()

    def work() -> None:
        with db.transaction() as session:
            audit.lock_chain(session)  # two people resolving one item at once: the second updates the first's note
            run_id = latest_run_id(session, month)
            known = None if run_id is None else session.execute(
                select(ReconItem.id).where(ReconItem.run_id == run_id, ReconItem.item_key == item_key).limit(1)).scalar()
            if known is None:
                raise UnknownItem(f"no item {item_key} in the latest reconciliation of {month}")
            existing = session.execute(select(ReconResolution).where(ReconResolution.month == month,
                                                                     ReconResolution.item_key == item_key)).scalar()
            before = existing.note if existing else None
            if existing:
                existing.note, existing.resolved_by = note, user
                existing.resolved_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            else:
                session.add(ReconResolution(month=month, item_key=item_key, note=note, resolved_by=user))
            audit.record(session, user, "reconcile.resolve", "recon_item", f"{month}/{item_key}",
                         {"note": note, "previous_note": before})
    retry_when_locked(work)  # SQLite: two notes on one item at once; the retry updates the first
