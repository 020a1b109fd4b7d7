"""Personal data stays out of what is shared: logs, terminal output, the decision export, reports.

A full small demo runs through the command line with every logger at DEBUG, then the
decision export is written; everything meant for other eyes is scanned for unmasked
resident ID numbers (18 characters with a valid GB 11643 check character) and for the
bank accounts of the generated rosters.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import re
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from mutualaid.cli import app
from mutualaid.idnumber import check_char, mask, mask_account

ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])([1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
                       r"[0-9]{3}[0-9Xx])(?![0-9A-Za-z])")
DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{12,19}(?![0-9])")


def unmasked_ids(text: str) -> set[str]:
    """18-character ID numbers whose check character is right (a masked one has '*' inside)."""
    return {m for m in ID_NUMBER.findall(text) if check_char(m[:17]) == m[17].upper()}


def leaked_accounts(text: str, accounts: set[str]) -> set[str]:
    return {run for run in DIGIT_RUN.findall(text) if run in accounts}


def test_scanner_finds_what_it_should():
    ident = "150502198301273766"  # valid check character
    assert unmasked_ids(f"x {ident}, y") == {ident}
    assert unmasked_ids(mask(ident)) == set()
    assert unmasked_ids("150502198301273765") == set()  # wrong check character: not an ID number
    assert leaked_accounts("card 6236683675724768894.", {"6236683675724768894"}) == {"6236683675724768894"}
    assert leaked_accounts(mask_account("6236683675724768894"), {"6236683675724768894"}) == set()


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.buffer = io.StringIO()
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        try:
            self.buffer.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001
            self.buffer.write(f"{record.name}: {record.msg!r} {record.args!r}\n")


def _roster_values(files: Path) -> tuple[set[str], set[str]]:
    ids, accounts = set(), set()
    for roster in files.glob("roster_*.csv"):
        for row in csv.DictReader(open(roster, encoding="utf-8")):
            ids.add(row["member_id_number"])
            if row["bank_account"]:
                accounts.add(row["bank_account"])
    return ids, accounts


def _xlsx_text(path: Path) -> str:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return "\n".join(" ".join("" if v is None else str(v) for v in row)
                         for ws in wb.worksheets for row in ws.iter_rows(values_only=True))
    finally:
        wb.close()


def test_demo_logs_outputs_and_exports_hold_no_unmasked_personal_data(tmp_path):
    root = logging.getLogger()
    capture = _Capture()
    capture.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    # every logger at DEBUG, SQLAlchemy's too (it sets itself to WARNING when imported)
    import sqlalchemy  # noqa: F401

    loggers = [root, logging.getLogger("sqlalchemy"), logging.getLogger("alembic"),
               *(lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger))]
    old_levels = [(lg, lg.level) for lg in loggers]
    root.addHandler(capture)
    for lg, _ in old_levels:
        lg.setLevel(logging.DEBUG)
    runner = CliRunner()
    out = tmp_path / "demo"
    try:
        demo = runner.invoke(app, ["demo", "--no-serve", "--scale", "800", "--out", str(out)], catch_exceptions=False)
        assert demo.exit_code == 0, demo.output
        db = f"sqlite:///{out / 'demo.db'}"
        export = tmp_path / "decisions.csv"
        exp = runner.invoke(app, ["decisions", "export", "--out", str(export), "--db", db], catch_exceptions=False)
        assert exp.exit_code == 0, exp.output
        verify = runner.invoke(app, ["audit", "verify", "--db", db], catch_exceptions=False)
        assert verify.exit_code == 0, verify.output
    finally:
        root.removeHandler(capture)
        for lg, level in old_levels:
            lg.setLevel(level)

    ids, accounts = _roster_values(out / "files")
    assert len(ids) > 800 and len(accounts) > 500          # the demo really had personal data to leak
    assert capture.records > 100                           # and the loggers really were listening

    shared: dict[str, str] = {
        "log records (DEBUG)": capture.buffer.getvalue(),
        "demo stdout/stderr": demo.output + (demo.stderr if demo.stderr_bytes else ""),
        "export stdout/stderr": exp.output + verify.output,
        "decisions export": export.read_text(encoding="utf-8-sig"),
    }
    for month_dir in sorted((out / "reconciliation").iterdir()):
        shared[f"{month_dir.name}/items.csv"] = (month_dir / "items.csv").read_text(encoding="utf-8-sig")
        shared[f"{month_dir.name}/summary.json"] = json.dumps(
            json.loads((month_dir / "summary.json").read_text(encoding="utf-8")), ensure_ascii=False)
        shared[f"{month_dir.name}/report.xlsx"] = _xlsx_text(month_dir / "report.xlsx")
    assert len(shared) > 10

    leaks = {}
    for name, text in shared.items():
        found = unmasked_ids(text) | leaked_accounts(text, accounts)
        if found:
            leaks[name] = sorted(found)[:3] + ([f"... {len(found)} in all"] if len(found) > 3 else [])
    assert not leaks, f"unmasked personal data in: {leaks}"

    # the export does carry every decided claim, with its ID number masked as files.md says
    rows = list(csv.DictReader(open(export, encoding="utf-8-sig")))
    assert rows and all(re.fullmatch(r"[0-9]{6}\*{8}[0-9]{3}[0-9X]", r["member_id_number"]) for r in rows)
