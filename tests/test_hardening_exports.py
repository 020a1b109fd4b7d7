"""Issue 14: formula cells in every CSV/XLSX written, claim numbers, bank digits, future births."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import update

from mutualaid import idnumber
from mutualaid.cellsafe import safe, safe_series
from mutualaid.claims.export import export_decisions
from mutualaid.claims.intake import submit_batch
from mutualaid.enrollments import import_roster
from mutualaid.imports import RowError, write_errors_csv
from mutualaid.ledger.reconcile import reconcile
from mutualaid.ledger.report import write_reports
from mutualaid.store.models import Claim
from tests.test_import import CLAIM_HEAD, ROSTER_HEAD, hosp_row, roster_row, write
from tests.test_reconcile import D, claims_df, ledger_df

HYPERLINK = '=HYPERLINK("http://evil.example/x","点此查看明细")'
RISKY = [HYPERLINK, "+SUM(1,2)", "-2+3+cmd|' /C calc'!A0", "@SUM(1,2)", "\t=1+1", "\r=1+1", "＝1+1"]


# --- the helper ------------------------------------------------------------------------------

@pytest.mark.parametrize("value", RISKY)
def test_risky_text_gets_an_apostrophe(value: str) -> None:
    assert safe(value) == "'" + value


@pytest.mark.parametrize("value", ["-12.50", "+3", "-0.05", "42", ".5", 12, -3, None, "TL2026-0001", "王丽", ""])
def test_numbers_and_plain_text_unchanged(value: object) -> None:
    assert safe(value) == value


def test_series_version_matches_the_scalar_one() -> None:
    values = pd.Series([*RISKY, "-25.00", "C1", None, "V3;V4"], dtype=object)
    out = safe_series(values)
    assert list(out[: len(RISKY)]) == ["'" + v for v in RISKY]
    assert list(out[len(RISKY):].fillna("NA")) == ["-25.00", "C1", "NA", "V3;V4"]


# --- every writer ---------------------------------------------------------------------------------

def _recon_with_formulas():
    claims = claims_df(("+SUM(1,2)", 1000, D(2026, 3, 2)), ("C2", 2500, D(2026, 3, 2)))
    ledger = ledger_df(("V0", D(2026, 1, 1), "OPENING_BALANCE", 1_000_000),
                       ("=1+1", D(2026, 3, 5), "PAYOUT", 1000, "+SUM(1,2)", "HOSP"),
                       ("V5", D(2026, 3, 7), "PAYOUT", 40, HYPERLINK))
    return reconcile("2026-03", claims, ledger)


def test_items_csv_and_report_xlsx_hold_no_formula(tmp_path: Path) -> None:
    rec = _recon_with_formulas()
    csv_path, _, xlsx = write_reports(rec, tmp_path, generated_at=dt.datetime(2026, 4, 1),
                                      resolutions={"C2": "@SUM(A1:A9)"})
    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_note = {r["resolved_note"]: r for r in rows}
    assert by_note["'@SUM(A1:A9)"]["claim_no"] == "C2"
    claim_nos = {r["claim_no"] for r in rows}
    assert {"'+SUM(1,2)", "'" + HYPERLINK} <= claim_nos
    assert "'=1+1" in {r["vouchers"] for r in rows}
    for r in rows:   # amounts stay plain numbers, negative ones too
        for col in ("approved_amount", "paid_amount", "difference"):
            float(r[col])
    assert any(r["difference"].startswith("-") for r in rows)
    wb = openpyxl.load_workbook(xlsx)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    assert c.value[0] not in "=+-@\t\r", (ws.title, c.coordinate, c.value)
    items = wb.worksheets[1]
    values = [c for row in items.iter_rows(values_only=True) for c in row]
    assert "'+SUM(1,2)" in values and "'" + HYPERLINK in values and "'=1+1" in values
    assert any(isinstance(v, (int, float)) and v < 0 for v in values), "amounts stay numeric cells"


def test_error_report_csv_neutralised(tmp_path: Path) -> None:
    out = tmp_path / "errors.csv"
    write_errors_csv([RowError.of(2, "claim_no", HYPERLINK, "bad_claim_no", max=40),
                      RowError.of(3, "total_cost", "-5", "bad_amount")], out)
    rows = list(csv.reader(open(out, encoding="utf-8-sig", newline="")))
    assert rows[1][2] == "'" + HYPERLINK and rows[2][2] == "-5"


def test_decision_export_neutralised(db, tmp_path: Path) -> None:
    # stored before intake checked the character set (or by another path): still safe on the way out
    assert submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row()])).stored == 1
    with db.transaction() as s:
        s.execute(update(Claim).values(claim_no="+SUM(1,2)", status="REJECTED", reason_codes="R01",
                                       decided_on=D(2026, 4, 2)))
    out = tmp_path / "d.csv"
    with db.sessions() as s:
        assert export_decisions(s, out) == 1
    rows = list(csv.reader(open(out, encoding="utf-8-sig", newline="")))
    assert rows[1][0] == "'+SUM(1,2)" and rows[1][4] == "0.00"


# --- intake -------------------------------------------------------------------------------------

@pytest.mark.parametrize("claim_no", ["+SUM(1,2)", HYPERLINK[:40], "@A1", "TL 2026", "TL2026#1", "申请1",
                                      "A" * 41, "-TL1", "TL１"])
def test_claim_no_charset_is_a_row_error(db, tmp_path: Path, claim_no: str) -> None:
    f = write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row(claim_no=claim_no), hosp_row(claim_no="TL2026-0002")])
    rep = submit_batch(db, f)
    assert rep.stored == 1
    assert [(e.row, e.column, e.code) for e in rep.errors] == [(2, "claim_no", "bad_claim_no")]
    assert "40" in rep.errors[0].message


@pytest.mark.parametrize("claim_no", ["TL2026-0001", "a_b/c.d-1", "A" * 40])
def test_claim_no_charset_accepts(db, tmp_path: Path, claim_no: str) -> None:
    f = write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row(claim_no=claim_no)])
    rep = submit_batch(db, f)
    assert (rep.stored, rep.errors) == (1, [])


def test_claim_no_charset_on_the_xlsx_path_too(db, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(CLAIM_HEAD)
    ws.append([hosp_row(claim_no="@x(1)").get(h, "") for h in CLAIM_HEAD])
    wb.save(tmp_path / "c.xlsx")
    rep = submit_batch(db, tmp_path / "c.xlsx")
    assert rep.stored == 0 and [(e.row, e.code) for e in rep.errors] == [(2, "bad_claim_no")]


@pytest.mark.parametrize("account", ["６２２２０２１２３４５６７８９０１２３", "٦٢٢٢٠٢١٢٣٤٥٦٧٨٩٠", "6222０21234567890"])
def test_bank_account_in_non_ascii_digits_is_a_row_error(db, tmp_path: Path, account: str) -> None:
    f = write(tmp_path / "r.csv", ROSTER_HEAD, [roster_row(bank_account=account)])
    rep = import_roster(db, f)
    assert rep.stored == 0
    assert [(e.row, e.column, e.code) for e in rep.errors] == [(2, "bank_account", "bad_bank_account")]


def test_id_number_born_in_the_future_is_a_row_error(db, tmp_path: Path) -> None:
    future = idnumber.make("150502", dt.date.today() + dt.timedelta(days=30), 1, "F")
    with pytest.raises(idnumber.IdNumberError) as e:
        idnumber.parse(future)
    assert e.value.code == "future_birth_date"
    f = write(tmp_path / "r.csv", ROSTER_HEAD, [roster_row(member_id_number=future), roster_row()])
    rep = import_roster(db, f)
    assert rep.stored == 1
    assert [(e.row, e.column, e.code) for e in rep.errors] == [(2, "member_id_number", "id_future_birth_date")]
    f = write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row(member_id_number=future)])
    rep = submit_batch(db, f)
    assert [(e.column, e.code) for e in rep.errors] == [("member_id_number", "id_future_birth_date")]


def test_policy_office_workbooks_hold_no_formula(tmp_path: Path) -> None:
    from mutualaid.policy_office.excel import Fen, Sheet, write_workbook

    out = tmp_path / "w.xlsx"
    write_workbook(out, [Sheet("s", ["claim_no", "amount", "delta"],
                               [["+SUM(1,2)", Fen(-1250), -3], [HYPERLINK, Fen(100), 2]])])
    ws = openpyxl.load_workbook(out).active
    cells = [c for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert [c.value for c in cells[3:6]] == ["'+SUM(1,2)", -12.5, -3]


def test_claim_templates_are_plain(tmp_path: Path) -> None:
    from api.services import claim_template_csv, claim_template_xlsx

    assert claim_template_csv().decode("utf-8-sig").startswith("申请编号,")
    (tmp_path / "t.xlsx").write_bytes(claim_template_xlsx())
    assert openpyxl.load_workbook(tmp_path / "t.xlsx").active["A1"].value == "申请编号"
