"""Fund-ledger import: append-only lines, idempotent by voucher_no, conflicts reported.

A correction is a new line (a REVERSAL or an ADJUSTMENT), never an update of a stored one.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from mutualaid import fields
from mutualaid.fields import FieldError
from mutualaid.imports import ImportReport, Progress, RowError, row_hash, run_import
from mutualaid.ledger.entries import ENTRY_TYPES, INFLOW, OUTFLOW, EntryType, signed
from mutualaid.money import fmt
from mutualaid.store.db import Database
from mutualaid.store.models import LedgerLine
from mutualaid.tabular import Cell, ColumnSpec

KIND = "LEDGER"
COLUMNS = (
    ColumnSpec("entry_date", ("记账日期",)),
    ColumnSpec("voucher_no", ("凭证号",)),
    ColumnSpec("entry_type", ("类型",)),
    ColumnSpec("product", ("保障项目",), required=False),
    ColumnSpec("amount", ("金额",)),
    ColumnSpec("reference", ("关联编号",), required=False),
    ColumnSpec("memo", ("摘要",), required=False),
)
_ENTRY_TYPE_SET = frozenset(ENTRY_TYPES)
NEEDS_REFERENCE = {EntryType.PAYOUT: "claim_no", EntryType.REVERSAL: "claim_no", EntryType.CONTRIBUTION: "unit_code"}
_PAID = (EntryType.PAYOUT, EntryType.REVERSAL)  # the lines that pay a claim (or take it back)
_EMPTY = Cell("", "empty")
# widths of the free-text columns in the store: longer is a row error (PostgreSQL would refuse the file)
MAX_LENGTH = {c: LedgerLine.__table__.c[c].type.length for c in ("voucher_no", "reference")}


@dataclass(slots=True)
class LedgerRow:
    row: int
    entry_date: dt.date
    voucher_no: str
    entry_type: str
    product: str | None
    amount_fen: int
    reference: str | None
    memo: str | None

    @property
    def hash(self) -> str:
        return row_hash(self.entry_date, self.entry_type, self.product, self.amount_fen, self.reference, self.memo)


def parse_row(row: int, cells: dict[str, Cell], errors: list[RowError]) -> LedgerRow | None:
    before = len(errors)
    out: dict[str, object] = {}

    def take(col: str, fn, *args, **kw) -> object:  # noqa: ANN001
        try:
            out[col] = fn(cells.get(col, _EMPTY), *args, **kw)
        except FieldError as e:
            errors.append(RowError.of(row, col, cells.get(col, _EMPTY).text, e.code, **e.params))
        return out.get(col)

    take("entry_date", fields.date)
    take("voucher_no", fields.text, max_length=MAX_LENGTH["voucher_no"])
    kind = take("entry_type", fields.choice, _ENTRY_TYPE_SET, "bad_entry_type")
    take("product", fields.choice, {"HOSP", "WOMEN"}, "bad_ledger_product", required=False)
    amount = take("amount", fields.amount_fen, signed=True)
    reference = take("reference", fields.text, required=False, max_length=MAX_LENGTH["reference"])
    take("memo", fields.text, required=False)
    if isinstance(amount, int) and isinstance(kind, str):
        if amount == 0:
            errors.append(RowError.of(row, "amount", cells["amount"].text, "amount_zero"))
        elif amount < 0 and kind != EntryType.ADJUSTMENT:
            errors.append(RowError.of(row, "amount", cells["amount"].text, "amount_not_positive"))
    if isinstance(kind, str) and kind in NEEDS_REFERENCE and not cells.get("reference", _EMPTY).text:
        errors.append(RowError.of(row, "reference", "", "reference_required", entry_type=kind,
                                  what=NEEDS_REFERENCE[kind]))
    if len(errors) > before:
        return None
    return LedgerRow(row, out["entry_date"], out["voucher_no"], kind, out["product"], amount,  # type: ignore[arg-type]
                     reference, out["memo"])  # type: ignore[arg-type]


class _History:
    """What the stored ledger says, for the checks that need earlier lines."""

    def __init__(self, session: Session):
        first = session.execute(select(func.min(LedgerLine.entry_date))).scalar()
        opening = session.execute(select(LedgerLine.entry_date)
                                  .where(LedgerLine.entry_type == EntryType.OPENING_BALANCE)).scalar()
        self.first_date: dt.date | None = first
        self.opening: dt.date | None = opening
        self.paid: dict[str, list[tuple[dt.date, int]]] = defaultdict(list)  # reference -> signed (date, fen)

    def load_references(self, session: Session, refs: set[str]) -> None:
        refs = refs - self.paid.keys()
        if not refs:
            return
        for r in session.execute(select(LedgerLine.reference, LedgerLine.entry_date, LedgerLine.entry_type,
                                        LedgerLine.amount_fen)
                                 .where(LedgerLine.reference.in_(refs),
                                        LedgerLine.entry_type.in_(_PAID))):
            self.paid[r.reference].append((r.entry_date, r.amount_fen if r.entry_type == EntryType.PAYOUT else -r.amount_fen))
        for ref in refs:
            self.paid.setdefault(ref, [])

    def paid_until(self, reference: str, day: dt.date) -> tuple[int, int]:
        """(payouts, net paid) for a reference up to and including ``day``."""
        lines = [a for d, a in self.paid[reference] if d <= day]
        return sum(a for a in lines if a > 0), sum(lines)


def import_ledger(db: Database, path: str | Path, *, user: str = "cli", file_name: str | None = None,
                  progress: Progress | None = None) -> ImportReport:
    def begin(session: Session, import_id: int, report: ImportReport):  # noqa: ANN202
        history = _History(session)
        seen: dict[str, int] = {}

        def store(parsed: list[LedgerRow]) -> None:
            _store_chunk(session, import_id, parsed, history, seen, report)
        return store

    return run_import(db, path, COLUMNS, kind=KIND, user=user, file_name=file_name, progress=progress,
                      audit_action="ledger.import", audit_entity="file_import", parse=parse_row, begin=begin)


def _store_chunk(session: Session, import_id: int, rows: list[LedgerRow], history: _History,
                 seen: dict[str, int], report: ImportReport) -> None:
    if not rows:
        return
    existing = dict(session.execute(select(LedgerLine.voucher_no, LedgerLine.row_hash)
                                    .where(LedgerLine.voucher_no.in_([r.voucher_no for r in rows]))).all())
    history.load_references(session, {r.reference for r in rows if r.entry_type in _PAID and r.reference})
    fresh: list[dict] = []
    for r in rows:
        if r.voucher_no in seen:
            report.errors.append(RowError.of(r.row, "voucher_no", r.voucher_no, "duplicate_in_file", first=seen[r.voucher_no]))
            continue
        seen[r.voucher_no] = r.row
        stored = existing.get(r.voucher_no)
        if stored is not None:
            if stored == r.hash:
                report.unchanged += 1
            else:
                report.errors.append(RowError.of(r.row, "voucher_no", r.voucher_no, "conflict", key=r.voucher_no))
            continue
        if r.entry_type == EntryType.OPENING_BALANCE:
            if history.opening is not None or (history.first_date is not None and history.first_date < r.entry_date):
                report.errors.append(RowError.of(r.row, "entry_type", r.entry_type, "opening_not_first"))
                continue
            history.opening = r.entry_date
        elif history.opening is not None and r.entry_date < history.opening:
            report.errors.append(RowError.of(r.row, "entry_date", str(r.entry_date), "before_opening",
                                             date=history.opening))
            continue
        if r.entry_type == EntryType.REVERSAL:
            payouts, net = history.paid_until(r.reference, r.entry_date)  # type: ignore[arg-type]
            if payouts == 0:
                report.errors.append(RowError.of(r.row, "reference", r.reference or "", "reversal_without_payout",
                                                 reference=r.reference))
                continue
            if r.amount_fen > net:
                report.errors.append(RowError.of(r.row, "amount", fmt(r.amount_fen, fen=True),
                                                 "reversal_exceeds_paid", paid=fmt(net, fen=True)))
                continue
        if r.entry_type in _PAID:
            history.paid[r.reference].append(  # type: ignore[index]
                (r.entry_date, r.amount_fen if r.entry_type == EntryType.PAYOUT else -r.amount_fen))
        history.first_date = min(history.first_date or r.entry_date, r.entry_date)
        fresh.append({"voucher_no": r.voucher_no, "entry_date": r.entry_date, "entry_type": r.entry_type,
                      "product": r.product, "amount_fen": r.amount_fen, "reference": r.reference, "memo": r.memo,
                      "import_id": import_id, "row_hash": r.hash})
    if fresh:
        session.execute(insert(LedgerLine), fresh)
        report.stored += len(fresh)


__all__ = ["import_ledger", "signed", "INFLOW", "OUTFLOW", "ENTRY_TYPES"]
