"""Fuzzing harness for the file readers: seed files and the oracle (the atheris driver is benchmarks/fuzz_readers.py).

For each reader -- ``roster`` (``import_roster``), ``claims`` (``submit_batch``), ``ledger``
(``import_ledger``) -- a child process runs atheris for N minutes on a SQLite database,
starting from a seed corpus of valid files (CSV in UTF-8, UTF-8 with BOM and GB18030 with
Chinese headers; ``.xlsx``). An input starting with ``PK`` is imported as ``.xlsx``, any other
as ``.csv``; a workbook is mutated mostly inside one of its XML parts and zipped again (a
flipped byte of the zip itself would only ever meet the CRC check). Every input must end in one of two ways (the :class:`Oracle`):

* ``FileProblem`` -- and then nothing at all was stored (no import record, no row);
* an import report -- rows stored + unchanged + rows with errors = rows read; exactly
  ``stored`` new rows, all linked to this import; no member or unit appears that no stored
  row names.

Anything else (another exception, a broken count) is a crash: the input is saved under
``<out>/crashes/`` and fuzzing goes on. Coverage counts the instrumented ``mutualaid``
modules and ``openpyxl`` (libFuzzer's ``cov:`` = edges, ``ft:`` = features).

Usage::

    .venv/bin/python benchmarks/fuzz_readers.py [--minutes 10] [--readers roster,claims,ledger] [--out DIR]

The hypothesis tests in ``tests/test_fuzz_readers.py`` use the same oracle and seed files.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

READERS = ("roster", "claims", "ledger")

# --- valid files: the seeds ---------------------------------------------------------------------

ROSTER_HEAD = ["unit_code", "unit_name", "member_id_number", "member_name", "product", "units",
               "start_date", "end_date", "premium_paid", "bank_account"]
CLAIM_HEAD = ["claim_no", "product", "member_id_number", "member_name", "submitted_date", "admission_date",
              "discharge_date", "hospital_name", "diagnosis_code", "cause", "total_cost", "insurance_paid",
              "in_policy_self_pay", "out_of_policy_self_pay", "diagnosis_date", "pathology_confirmed", "surgery"]
LEDGER_HEAD = ["entry_date", "voucher_no", "entry_type", "product", "amount", "reference", "memo"]
HEADERS = {"roster": ROSTER_HEAD, "claims": CLAIM_HEAD, "ledger": LEDGER_HEAD}
KEY_COLUMN = {"roster": "member_id_number", "claims": "claim_no", "ledger": "voucher_no"}


def _ident(n: int, sex: str) -> str:
    from mutualaid.idnumber import make

    birth = dt.date(1966, 1, 1) + dt.timedelta(days=(n * 97) % 12000)
    return make(("150502", "150521", "150102")[n % 3], birth, n % 500, sex)


def valid_rows(reader: str, salt: int = 0) -> list[list[str]]:
    """A small valid file's rows (header excluded); ``salt`` varies keys and members."""
    s = salt * 10
    if reader == "roster":
        rows = []
        for k in range(4):
            rows.append([f"TL{salt % 90 + 1:04d}", f"通辽市第{salt % 90 + 1}中学工会", _ident(s + k, "MF"[k % 2]),
                         "王丽张伟李娜赵强"[2 * k:2 * k + 2], "HOSP", "1", "2026-01-01", "2026-12-31", "100.00",
                         f"62220212345678{s + k:05d}" if k % 2 else ""])
        rows.append([f"TL{salt % 90 + 1:04d}", f"通辽市第{salt % 90 + 1}中学工会", _ident(s + 1, "F"), "张伟",
                     "女性安康互助", "2", "2026-01-01", "2026-12-31", "60.00", ""])
        return rows
    if reader == "claims":
        ident = _ident(s, "F")
        return [
            [f"C{salt}-{k}", "HOSP", ident, "王丽", "2026-04-20", f"2026-04-{3 + k:02d}", f"2026-04-{5 + k:02d}",
             "通辽市医院", "J18.9", ("illness", "accident", "疾病")[k % 3], "20,000.00", "7000.00", "12000.00",
             "1000.00", "", "", ""] for k in range(3)
        ] + [
            [f"W{salt}-1", "WOMEN", ident, "王丽", "2026-06-01", "", "", "", "D06.1", "", "", "", "", "", "2026-05-20",
             "Y", ""],
            [f"W{salt}-2", "女性安康互助", ident, "王丽", "2026-07-01", "", "", "", "C50.9", "", "", "", "", "",
             "2026-06-20", "是", "excision"],
        ]
    if reader == "ledger":
        return [
            ["2026-01-01", f"V{salt}-1", "OPENING_BALANCE", "", "1,000,000.00", "", ""],
            ["2026-01-05", f"V{salt}-2", "CONTRIBUTION", "HOSP", "13,550.00", "TL0001", ""],
            ["2026-02-01", f"V{salt}-3", "PAYOUT", "HOSP", "7140.00", f"C{salt}-0", ""],
            ["2026-02-20", f"V{salt}-4", "REVERSAL", "HOSP", "7140.00", f"C{salt}-0", "银行卡已注销"],
            ["2026-02-28", f"V{salt}-5", "ADJUSTMENT", "", "-12.34", "", "更正"],
        ]
    raise ValueError(reader)


def chinese_header(reader: str) -> list[str]:
    from mutualaid.claims.intake import COLUMNS as CLAIM_COLUMNS
    from mutualaid.enrollments import COLUMNS as ROSTER_COLUMNS
    from mutualaid.ledger.importer import COLUMNS as LEDGER_COLUMNS

    specs = {"roster": ROSTER_COLUMNS, "claims": CLAIM_COLUMNS, "ledger": LEDGER_COLUMNS}[reader]
    alias = {c.name: (c.aliases[0] if c.aliases else c.name) for c in specs}
    return [alias[h] for h in HEADERS[reader]]


def csv_bytes(header: list[str], rows: Iterable[list[str]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    return buf.getvalue().encode(encoding)


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xlsx_bytes(header: list[Any], rows: Iterable[list[Any]], title: str | None = None) -> bytes:
    """A workbook of one sheet; ``title`` (document property) makes otherwise equal files differ."""
    import openpyxl

    wb = openpyxl.Workbook()
    if title:
        wb.properties.title = title
    ws = wb.active
    for r in [header, *rows]:
        ws.append([_ILLEGAL_XML.sub("", v) if isinstance(v, str) else v for v in r])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def seeds(reader: str) -> dict[str, bytes]:
    head, rows = HEADERS[reader], valid_rows(reader)
    return {
        f"{reader}-utf8.csv": csv_bytes(head, rows),
        f"{reader}-bom.csv": csv_bytes(head, valid_rows(reader, 1), "utf-8-sig"),
        f"{reader}-gb18030-zh.csv": csv_bytes(chinese_header(reader), valid_rows(reader, 2), "gb18030"),
        f"{reader}.xlsx": xlsx_bytes(head, valid_rows(reader, 3)),
    }


# --- the oracle ------------------------------------------------------------------------------------

class OracleFailure(AssertionError):
    """An import ended in a way it must not (a count is off, something was stored on FileProblem...)."""


def importer(reader: str) -> Callable[..., Any]:
    if reader == "roster":
        from mutualaid.enrollments import import_roster
        return import_roster
    if reader == "claims":
        from mutualaid.claims.intake import submit_batch
        return submit_batch
    from mutualaid.ledger.importer import import_ledger
    return import_ledger


class Oracle:
    """Runs one import and checks how it ended (see the module docstring)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    _TABLES = (("imports", "file_imports"), ("members", "members"), ("units", "units"),
               ("enrollments", "enrollments"), ("claims", "claims"), ("ledger", "ledger_lines"))
    _COUNTS = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {t}), (SELECT COALESCE(MAX(id), 0) FROM {t})"
                                    for _, t in _TABLES)

    def _counts(self) -> dict[str, int]:
        """Row count and largest id of each table an import may write (one query: it runs twice per input)."""
        with self.db.engine.connect() as c:
            values = c.exec_driver_sql(self._COUNTS).one()
        out: dict[str, int] = {}
        for k, (name, _) in enumerate(self._TABLES):
            out[name], out[name + "_max_id"] = values[2 * k], values[2 * k + 1]
        return out

    def run(self, reader: str, path: Path, accepted: Callable[[set[int]], dict[str, set]] | None = None) -> str:
        """Import ``path``; returns an outcome label. ``accepted(error_rows)`` gives the keys the
        rows without errors carry (``members``, ``units``, ``enrollments``, ``claims``, ``ledger``),
        when the caller knows the rows; everything new must be among them."""
        from sqlalchemy import select

        from mutualaid.store.models import Claim, Enrollment, LedgerLine, Member, Unit
        from mutualaid.tabular import FileProblem

        before = self._counts()
        try:
            report = importer(reader)(self.db, path)
        except FileProblem as problem:
            after = self._counts()
            if after != before:
                raise OracleFailure(f"FileProblem {problem.code} but something was stored: {before} -> {after}")
            return f"file problem: {problem.code}"
        after = self._counts()
        if report.identical_to is not None and report.stored:
            # the same bytes again are checked row by row (a re-submission); the oracle's files
            # change nothing between two imports, so nothing new may be stored
            raise OracleFailure(f"identical file but {report.stored} rows stored: {before} -> {after}")
        if report.stored + report.unchanged + report.error_rows != report.rows_total:
            raise OracleFailure(f"stored {report.stored} + unchanged {report.unchanged} + error rows "
                                f"{report.error_rows} != rows {report.rows_total}")
        if after["imports"] != before["imports"] + 1:
            raise OracleFailure("not exactly one import record")
        table = {"roster": "enrollments", "claims": "claims", "ledger": "ledger"}[reader]
        if after[table] - before[table] != report.stored:
            raise OracleFailure(f"{after[table] - before[table]} new {table} rows, report says {report.stored}")
        for other in {"enrollments", "claims", "ledger"} - {table}:
            if after[other] != before[other]:
                raise OracleFailure(f"a {reader} import changed {other}")
        if reader != "roster" and (after["members"], after["units"]) != (before["members"], before["units"]):
            raise OracleFailure(f"a {reader} import created members or units")
        with self.db.sessions() as s:
            if reader == "roster":
                new = {"enrollments": {(i, p, d.isoformat()) for i, p, d in s.execute(
                    select(Member.id_number, Enrollment.product, Enrollment.start_date)
                    .join(Member, Member.id == Enrollment.member_id).where(Enrollment.import_id == report.import_id))},
                    "members": set(s.execute(select(Member.id_number).where(Member.id > before["members_max_id"]))
                                   .scalars()),
                    "units": set(s.execute(select(Unit.code).where(Unit.id > before["units_max_id"])).scalars())}
            elif reader == "claims":
                new = {"claims": set(s.execute(select(Claim.claim_no).where(Claim.batch_id == report.import_id))
                                     .scalars())}
            else:
                new = {"ledger": set(s.execute(select(LedgerLine.voucher_no)
                                               .where(LedgerLine.import_id == report.import_id)).scalars())}
        if len(next(iter(new.values()))) != report.stored and reader != "roster":
            raise OracleFailure(f"{len(next(iter(new.values())))} rows linked to the import, report says {report.stored}")
        if reader == "roster" and len(new["enrollments"]) != report.stored:
            raise OracleFailure(f"{len(new['enrollments'])} enrollments linked to the import, report says {report.stored}")
        if reader == "roster" and new["members"] - {i for i, _, _ in new["enrollments"]}:
            raise OracleFailure(f"members without a stored enrollment: {new['members']}")
        if accepted is not None:
            allowed = accepted({e.row for e in report.errors})
            for key, values in new.items():
                stray = values - allowed.get(key, set())
                if stray:
                    raise OracleFailure(f"stored from a rejected row ({key}): {sorted(stray)[:5]}")
        return "rows" + (" with errors" if report.errors else "") + (" stored" if report.stored else "")


def accepted_keys(reader: str, header: list[str], rows: list[list[Any]], first_row: int = 2
                  ) -> Callable[[set[int]], dict[str, set]]:
    """For a file written as ``header`` + ``rows`` (row k at spreadsheet row ``first_row + k``):
    the keys the rows without errors carry, as the import normalises them."""
    from mutualaid import fields
    from mutualaid.tabular import Cell

    def cell(v: Any) -> str:
        return "" if v is None else str(v).strip()

    def col(row: list[Any], name: str) -> str:
        return cell(row[header.index(name)]) if name in header and header.index(name) < len(row) else ""

    def product(text: str) -> str | None:
        try:
            return fields.product(Cell(text, "text"))
        except Exception:  # noqa: BLE001
            return None

    def keys(error_rows: set[int]) -> dict[str, set]:
        ok = [r for k, r in enumerate(rows) if first_row + k not in error_rows]
        if reader == "claims":
            return {"claims": {col(r, "claim_no") for r in ok}}
        if reader == "ledger":
            return {"ledger": {col(r, "voucher_no") for r in ok}}
        ids = {col(r, "member_id_number").upper() for r in ok}
        return {"members": ids, "units": {col(r, "unit_code") for r in ok},
                "enrollments": {(col(r, "member_id_number").upper(), product(col(r, "product")),
                                 col(r, "start_date")[:10]) for r in ok}}
    return keys
