"""Write a month's reconciliation: ``items.csv``, ``summary.json``, ``report.xlsx`` (files.md).

* ``items.csv`` -- UTF-8 with BOM (so Excel on Chinese Windows shows the notes), ``\\n`` line ends, one row per item in report order,
  columns :data:`ITEMS_CSV_COLUMNS`; codes (``status``, ``product``) as in the spec,
  amounts as two-decimal text, ``days_outstanding`` empty unless ``UNPAID``,
  ``resolved_note`` = finance's note for the item's ``item_key`` (empty if none).
* ``summary.json`` -- the :class:`Reconciliation` summary plus ``generated_at``, keys
  sorted, two-space indent, UTF-8: the only field that differs between two runs on the
  same data.
* ``report.xlsx`` -- for people: a Chinese summary sheet (fund roll-forward, items by
  status, amounts by product with a bar chart) and an items sheet (Chinese header,
  autofilter, frozen header row, same order as ``items.csv``: late ``UNPAID`` first).
  Amounts are numeric cells formatted ``#,##0.00``. Excel holds at most 1,048,575 data
  rows; beyond that the sheet says so and ``items.csv`` remains the complete list.

Same inputs -> byte-identical ``items.csv`` and ``summary.json`` apart from
``generated_at``. Files are written to a temporary name and renamed into place.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill

from mutualaid.cellsafe import safe, safe_series
from mutualaid.i18n import ui
from mutualaid.ledger.reconcile import STATUS_ORDER, Reconciliation, ReconStatus
from mutualaid.money import fmt, from_fen
from mutualaid.payments.service import PaymentState

ITEMS_CSV = "items.csv"
SUMMARY_JSON = "summary.json"
REPORT_XLSX = "report.xlsx"

ITEMS_CSV_COLUMNS: tuple[str, ...] = (
    "claim_no", "product", "status", "approved_amount", "paid_amount", "difference",
    "vouchers", "days_outstanding", "resolved_note",
    # added with payment runs (docs/payments.md): where the claim's money is
    "payment_state", "payment_run", "payment_reason", "bank_confirmed_amount", "bank_check",
)
# claim_no -> (payment state, run, bank's reason, bank-confirmed net fen); see
# mutualaid.payments.service.payment_states. None: no payment runs at all.
Payments = dict[str, tuple[str, "int | None", str, int]]

# Texts of report.xlsx not (yet) in the translation table mutualaid.i18n.UI; keyed as
# they would be there, and looked up in UI first, so moving them over needs no change here.
# TODO(i18n owner): move these entries into mutualaid.i18n.UI.
EXCEL_MAX_DATA_ROWS = 1_048_575  # 1,048,576 rows minus the header
AMOUNT_FORMAT = "#,##0.00"


def _zh(key: str, **params: object) -> str:
    """Chinese text of a UI key (mutualaid.i18n.UI): the report files are in Chinese."""
    return ui(key, "zh", **params)


def _code_zh(namespace: str, code: str | None) -> str | None:
    """'HOSP' -> 住院医疗互助 via 'product.HOSP'; an unknown code is shown as it is."""
    if code is None:
        return None
    text = _zh(f"{namespace}.{code}")
    return code if text == f"{namespace}.{code}" else text


def fen_text(fen: pd.Series | np.ndarray | Iterable[int]) -> pd.Series:
    """Vectorised ``mutualaid.money.fmt(value, fen=True)``: 123456 -> '1234.56', -5 -> '-0.05'."""
    values = np.asarray(fen, dtype=np.int64)
    magnitude = np.abs(values)
    whole = pd.Series(magnitude // 100, dtype=np.int64).astype(str)
    cents = pd.Series(magnitude % 100, dtype=np.int64).astype(str).str.zfill(2)
    sign = pd.Series(np.where(values < 0, "-", ""), dtype=str)
    return sign + whole + "." + cents


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o600)   # an earlier .tmp left by a killed run keeps its mode otherwise
    os.replace(tmp, path)


def _notes(items: pd.DataFrame, resolutions: dict[str, str] | None) -> pd.Series:
    if not resolutions:
        return pd.Series([""] * len(items), dtype=str, index=items.index)
    return items["item_key"].map(resolutions).fillna("").astype(str)


def payment_cell(claim_no: str | None, status: str, paid_fen: int,
                 payments: Payments) -> tuple[str, int | None, str, int | None, str] | None:
    """(state, run, bank's reason, bank-confirmed fen, bank check) of one reconciliation item,
    the one rule behind ``items.csv``, ``report.xlsx`` and the month page; None: nothing to say
    (a ledger line of an unknown claim)."""
    if status == ReconStatus.UNKNOWN_CLAIM or claim_no is None:
        return None
    info = payments.get(claim_no)
    if info is None:
        waiting = PaymentState.WAITING if status in (ReconStatus.UNPAID, ReconStatus.UNDERPAID) else ""
        return waiting, None, "", None, "NO_BANK_PAYMENT" if paid_fen > 0 else ""
    state, run, reason, confirmed = info
    check = ("NO_BANK_PAYMENT" if confirmed == 0 else "AMOUNT_DIFFERS") if paid_fen != confirmed and paid_fen > 0 else ""
    return state, run, reason, confirmed, check


def payment_columns(items: pd.DataFrame, payments: Payments | None) -> dict[str, list[str]]:
    """The payment columns of the items: state (``WAITING`` for an unpaid claim in no run),
    run, the bank's reason of a failure, the bank-confirmed amount, and ``bank_check``:
    ``NO_BANK_PAYMENT`` / ``AMOUNT_DIFFERS`` when the ledger's paid amount of a claim is not
    what the bank confirmed. All empty without payment runs (``payments`` None)."""
    n = len(items)
    cols: dict[str, list[str]] = {c: [""] * n for c in ITEMS_CSV_COLUMNS[-5:]}
    if payments is None or n == 0:
        return cols
    rows = zip(items["claim_no"].to_numpy(dtype=object, na_value=None), items["status"].to_numpy(dtype=object),
               items["paid_fen"].to_numpy())
    for i, (claim_no, status, paid) in enumerate(rows):
        cell = payment_cell(claim_no, status, paid, payments)
        if cell is None:
            continue
        state, run, reason, confirmed, check = cell
        cols["payment_state"][i] = state
        cols["payment_run"][i] = "" if run is None else str(run)
        cols["payment_reason"][i] = safe(reason)
        cols["bank_confirmed_amount"][i] = "" if confirmed is None else fmt(confirmed, fen=True)
        cols["bank_check"][i] = check
    return cols


def items_csv_frame(rec: Reconciliation, resolutions: dict[str, str] | None = None,
                    payments: Payments | None = None) -> pd.DataFrame:
    """The rows of ``items.csv`` (texts only), in report order."""
    items = rec.items
    return pd.DataFrame({
        **payment_columns(items, payments),
        "claim_no": safe_series(items["claim_no"]),
        "product": items["product"],
        "status": items["status"],
        "approved_amount": fen_text(items["approved_fen"]).to_numpy(),
        "paid_amount": fen_text(items["paid_fen"]).to_numpy(),
        "difference": fen_text(items["difference_fen"]).to_numpy(),
        "vouchers": safe_series(items["vouchers"]),
        "days_outstanding": items["days_outstanding"],
        "resolved_note": safe_series(_notes(items, resolutions)),
    }, columns=list(ITEMS_CSV_COLUMNS))


def summary_document(rec: Reconciliation, generated_at: dt.datetime,
                     audit_chain: dict[str, Any] | None = None) -> dict[str, Any]:
    """The summary, when it was written and, given, the audit chain's head then
    (``{"entries": n, "head": hash}``: ``mutualaid audit verify --against summary.json``)."""
    doc = {**rec.summary, "generated_at": generated_at.isoformat(timespec="seconds")}
    if audit_chain is not None:
        doc["audit_chain"] = dict(audit_chain)
    return doc


def write_reports(
    rec: Reconciliation,
    out_dir: Path,
    *,
    generated_at: dt.datetime,
    resolutions: dict[str, str] | None = None,
    payments: Payments | None = None,
    audit_chain: dict[str, Any] | None = None,
) -> list[Path]:
    """Write ``items.csv``, ``summary.json`` and ``report.xlsx`` into ``out_dir``.

    ``resolutions``: finance's notes by ``item_key`` (claim_no, or voucher_no of an
    ``UNKNOWN_CLAIM`` line); notes for keys that are no item of the month are ignored.
    Returns the three paths in that order.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    csv_path = out_dir / ITEMS_CSV
    text = items_csv_frame(rec, resolutions, payments).to_csv(index=False, lineterminator="\n")
    _atomic_write(csv_path, text.encode("utf-8-sig"))

    json_path = out_dir / SUMMARY_JSON
    doc = summary_document(rec, generated_at, audit_chain)
    _atomic_write(json_path, (json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))

    xlsx_path = out_dir / REPORT_XLSX
    tmp = xlsx_path.with_name(xlsx_path.name + ".tmp")
    _workbook(rec, generated_at, resolutions, audit_chain, payments).save(tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, xlsx_path)
    return [csv_path, json_path, xlsx_path]


# --- report.xlsx ------------------------------------------------------------------------

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


class _Sheet:
    """A write-only worksheet that counts its rows, with styled-cell shorthands."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.row = 0

    def cell(self, value: Any, *, bold: bool = False, amount: bool = False, header: bool = False,
             font: Font | None = None) -> WriteOnlyCell:
        c = WriteOnlyCell(self.ws, value=value)
        if bold or header:
            c.font = _BOLD
        if font is not None:
            c.font = font
        if header:
            c.fill = _HEADER_FILL
            c.alignment = Alignment(horizontal="center")
        if amount:
            c.number_format = AMOUNT_FORMAT
        return c

    def append(self, values: list[Any]) -> int:
        self.ws.append(values)
        self.row += 1
        return self.row


def _amount(text: str) -> Decimal:
    return Decimal(text)


def _summary_sheet(wb: Workbook, rec: Reconciliation, generated_at: dt.datetime,
                   resolutions: dict[str, str] | None, shown: int, audit_chain: dict[str, Any] | None = None) -> None:
    s = rec.summary
    sh = _Sheet(wb.create_sheet(_zh("recon.summary_sheet")))
    for col, width in zip("ABCDE", (30, 18, 18, 18, 22)):
        sh.ws.column_dimensions[col].width = width

    sh.append([sh.cell(_zh("recon.report_title"), font=_TITLE)])
    sh.append([_zh("field.month"), rec.month])
    sh.append([_zh("recon.period"), _zh("recon.period_range", first=s["first_day"], last=s["last_day"])])
    sh.append([_zh("recon.generated_at"), generated_at.isoformat(sep=" ", timespec="seconds")])
    if audit_chain is not None:
        sh.append([_zh("recon.audit_entries"), int(audit_chain["entries"])])
        sh.append([_zh("recon.audit_head"), str(audit_chain["head"])])
    if resolutions:
        keys = set(rec.items["item_key"].dropna())
        sh.append([_zh("recon.resolved_count"), sum(1 for k in resolutions if k in keys)])
    if shown < len(rec.items):
        sh.append([sh.cell(_zh("recon.truncated", shown=shown, total=len(rec.items)), bold=True)])
    sh.append([])

    rf = s["roll_forward"]
    sh.append([sh.cell(_zh("recon.roll_forward"), header=True), sh.cell(_zh("recon.amount_yuan"), header=True)])
    sh.append([sh.cell(_zh("recon.opening"), bold=True), sh.cell(_amount(rf["opening"]), amount=True, bold=True)])
    for t, v in rf["inflows"].items():
        sh.append([_zh("recon.inflow_of", entry=_code_zh("entry", t)), sh.cell(_amount(v), amount=True)])
    sh.append([sh.cell(_zh("recon.total_inflows"), bold=True),
               sh.cell(_amount(rf["total_inflows"]), amount=True, bold=True)])
    for t, v in rf["outflows"].items():
        sh.append([_zh("recon.outflow_of", entry=_code_zh("entry", t)), sh.cell(_amount(v), amount=True)])
    sh.append([sh.cell(_zh("recon.total_outflows"), bold=True),
               sh.cell(_amount(rf["total_outflows"]), amount=True, bold=True)])
    sh.append([sh.cell(_zh("recon.closing"), bold=True), sh.cell(_amount(rf["closing"]), amount=True, bold=True)])
    sh.append([])

    sh.append([sh.cell(_zh(k), header=True) for k in
               ("recon.by_status", "common.count", "recon.approved_amount", "recon.paid_amount", "recon.difference")])
    for st in STATUS_ORDER:
        v = s["by_status"][st]
        sh.append([_code_zh("recon", st), v["count"], sh.cell(_amount(v["approved"]), amount=True),
                   sh.cell(_amount(v["paid"]), amount=True), sh.cell(_amount(v["difference"]), amount=True)])
    tot = s["items"]
    sh.append([sh.cell(_zh("common.total"), bold=True), sh.cell(tot["count"], bold=True),
               sh.cell(_amount(tot["approved"]), amount=True, bold=True),
               sh.cell(_amount(tot["paid"]), amount=True, bold=True),
               sh.cell(_amount(tot["difference"]), amount=True, bold=True)])
    sh.append([])

    sh.append([sh.cell(_zh(k), header=True) for k in
               ("field.product", "recon.approved_in_month", "recon.paid_in_month", "recon.difference")])
    first_product_row = sh.row + 1
    for p, v in s["by_product"].items():
        sh.append([_code_zh("product", p), sh.cell(_amount(v["approved"]), amount=True),
                   sh.cell(_amount(v["paid"]), amount=True), sh.cell(_amount(v["difference"]), amount=True)])
    last_product_row = sh.row

    if last_product_row >= first_product_row:
        chart = BarChart()
        chart.type = "col"
        chart.title = _zh("recon.chart_by_product")
        chart.y_axis.title = _zh("recon.amount_yuan")
        chart.y_axis.numFmt = AMOUNT_FORMAT
        data = Reference(sh.ws, min_col=2, max_col=3, min_row=first_product_row - 1, max_row=last_product_row)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(Reference(sh.ws, min_col=1, min_row=first_product_row, max_row=last_product_row))
        chart.x_axis.delete = False  # newer Excel hides axes openpyxl leaves unset
        chart.y_axis.delete = False
        chart.height, chart.width = 8, 16
        sh.ws.add_chart(chart, "G2")


ITEMS_SHEET_HEADER: tuple[str, ...] = (
    "field.claim_no", "field.product", "field.status", "recon.approved_amount", "recon.paid_amount",
    "recon.difference", "recon.vouchers", "recon.days_outstanding", "recon.resolved_note",
    "recon.payment_state", "recon.payment_reason",
)


def _item_rows(sh: _Sheet, items: pd.DataFrame, notes: pd.Series, limit: int,
               payments: Payments | None = None) -> Iterator[list[Any]]:
    # one styled cell per amount column, reused: a write-only row is written on append
    approved_c, paid_c, diff_c = (sh.cell(None, amount=True) for _ in range(3))
    head = items.iloc[:limit]
    product_zh = {p: _code_zh("product", p) for p in head["product"].dropna().unique()}
    status_zh = {s: _code_zh("recon", s) for s in STATUS_ORDER}
    pay = payment_columns(head, payments)
    columns = zip(
        head["claim_no"].to_numpy(dtype=object, na_value=None),
        head["product"].to_numpy(dtype=object, na_value=None),
        head["status"].to_numpy(dtype=object),
        head["approved_fen"].to_numpy(),
        head["paid_fen"].to_numpy(),
        head["difference_fen"].to_numpy(),
        head["vouchers"].to_numpy(dtype=object, na_value=None),
        head["days_outstanding"].to_numpy(dtype=object, na_value=None),
        notes.iloc[:limit].to_numpy(dtype=object),
        pay["payment_state"],
        pay["payment_reason"],
    )
    for claim_no, product, status, approved, paid, diff, vouchers, days, note, pstate, preason in columns:
        approved_c.value, paid_c.value, diff_c.value = from_fen(approved), from_fen(paid), from_fen(diff)
        yield [safe(claim_no), product_zh.get(product), status_zh[status], approved_c, paid_c, diff_c,
               safe(vouchers) or None, days, safe(note) or None, _code_zh("paystate", pstate) if pstate else None,
               safe(preason) or None]


def _items_sheet(wb: Workbook, rec: Reconciliation, resolutions: dict[str, str] | None, shown: int,
                 payments: Payments | None = None) -> None:
    sh = _Sheet(wb.create_sheet(_zh("recon.items")))
    for col, width in zip("ABCDEFGHIJK", (20, 14, 14, 14, 14, 18, 30, 16, 30, 14, 24)):
        sh.ws.column_dimensions[col].width = width
    sh.ws.freeze_panes = "A2"
    sh.ws.auto_filter.ref = f"A1:K{shown + 1}"
    sh.append([sh.cell(_zh(k), header=True) for k in ITEMS_SHEET_HEADER])
    for row in _item_rows(sh, rec.items, _notes(rec.items, resolutions), shown, payments):
        sh.ws.append(row)


def _workbook(rec: Reconciliation, generated_at: dt.datetime, resolutions: dict[str, str] | None,
              audit_chain: dict[str, Any] | None = None,
              payments: Payments | None = None) -> Workbook:
    wb = Workbook(write_only=True)
    wb.properties.creator = "mutualaid"
    wb.properties.title = f"{_zh('recon.report_title')} {rec.month}"
    created = generated_at
    if created.tzinfo is not None:  # openpyxl stores naive datetimes as UTC
        created = created.astimezone(dt.timezone.utc).replace(tzinfo=None)
    wb.properties.created = created
    shown = min(len(rec.items), EXCEL_MAX_DATA_ROWS)
    _summary_sheet(wb, rec, generated_at, resolutions, shown, audit_chain)
    _items_sheet(wb, rec, resolutions, shown, payments)
    return wb


__all__ = ["ITEMS_CSV_COLUMNS", "fen_text", "items_csv_frame", "summary_document",
           "write_reports"]
