"""The command-line contract of cli.md: commands, counts, exit codes 0/1/2."""
import csv
import json

from typer.testing import CliRunner

from mutualaid.cli import app
from tests.test_import import CLAIM_HEAD, ROSTER_HEAD, hosp_row, roster_row, women_row, write
from tests.test_ledger_import import HEAD as LEDGER_HEAD
from tests.test_ledger_import import line

runner = CliRunner()


def cli(db_url, *args):
    return runner.invoke(app, [*args, "--db", db_url], catch_exceptions=False)


def test_full_cycle(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    roster = write(tmp_path / "roster.csv", ROSTER_HEAD, [
        roster_row(start_date="2025-01-01", end_date="2025-12-31"), roster_row(),
        roster_row(product="WOMEN", units="2", premium_paid="60.00")])
    r = cli(url, "enrollments", "import", str(roster))
    assert r.exit_code == 0, r.output
    assert "3" in r.output

    claims = write(tmp_path / "claims.csv", CLAIM_HEAD, [hosp_row(), women_row(), hosp_row(claim_no="BAD", admission_date="2026-02-30")])
    errors = tmp_path / "errors.csv"
    r = cli(url, "claims", "submit", str(claims), "--errors", str(errors), "--clerk", "clerk1")
    assert r.exit_code == 1
    rows = list(csv.DictReader(open(errors, encoding="utf-8-sig")))
    assert [(x["row"], x["column"], x["value"]) for x in rows] == [("4", "admission_date", "2026-02-30")]
    assert "YYYY-MM-DD" in rows[0]["message"]

    r = cli(url, "claims", "submit", str(claims))  # the same file: checked again, its bad row still bad
    assert r.exit_code == 1 and "checked again row by row" in r.output

    r = cli(url, "batch", "run", "--as-of", "2026-07-01")
    assert r.exit_code == 0 and "7140.00" not in r.output  # total printed, not per claim
    assert "23,140.00" in r.output  # 7,140.00 + 16,000.00

    out = tmp_path / "decisions.csv"
    r = cli(url, "decisions", "export", "--out", str(out))
    assert r.exit_code == 0
    dec = {d["claim_no"]: d for d in csv.DictReader(open(out, encoding="utf-8-sig"))}
    assert dec["TL2026-0001"]["payout"] == "7140.00" and dec["TL2026-0001"]["status"] == "APPROVED"
    assert dec["TL2026-0001"]["policy_version"] == "HOSP-2026" and dec["TL2026-0001"]["decided_on"] == "2026-07-01"
    assert dec["TL2026-0001"]["member_id_number"].count("*") == 8

    r = cli(url, "review", "reject", "TL2026-W001", "--reason", "", "--user", "a1")
    assert r.exit_code == 2
    r = cli(url, "review", "reject", "TL2026-W001", "--reason", "复核不符", "--user", "a1", "--as-of", "2026-07-02")
    assert r.exit_code == 0 and "REJECTED" in r.output

    ledger = write(tmp_path / "ledger.csv", LEDGER_HEAD, [
        line("2026-01-01", "V1", "OPENING_BALANCE", "100000.00"),
        line("2026-07-10", "V2", "PAYOUT", "7140.00", "TL2026-0001", "HOSP"),
        line("2026-07-11", "V3", "PAYOUT", "50.00", "NOPE", "HOSP")])
    r = cli(url, "ledger", "import", str(ledger))
    assert r.exit_code == 0, r.output
    r = cli(url, "reconcile", "--month", "2026-07", "--out", str(tmp_path / "rec"))
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "rec" / "summary.json").read_text(encoding="utf-8"))
    assert summary["roll_forward"]["closing"] == "92810.00"
    items = {i["claim_no"]: i["status"] for i in csv.DictReader(open(tmp_path / "rec" / "items.csv", encoding="utf-8-sig"))}
    assert items == {"TL2026-0001": "MATCHED", "NOPE": "UNKNOWN_CLAIM"}
    r = cli(url, "reconcile", "resolve", "--month", "2026-07", "--item", "V3", "--note", "退回", "--user", "f1")
    assert r.exit_code == 0, r.output
    r = cli(url, "audit", "verify")
    assert r.exit_code == 0 and "intact" in r.output


def test_usage_errors_exit_2(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert cli(url, "claims", "submit", str(tmp_path / "missing.csv")).exit_code == 2
    (tmp_path / "empty.csv").write_bytes(b"")
    assert cli(url, "claims", "submit", str(tmp_path / "empty.csv")).exit_code == 2
    (tmp_path / "x.xls").write_bytes(b"whatever")
    assert cli(url, "enrollments", "import", str(tmp_path / "x.xls")).exit_code == 2
    assert cli(url, "batch", "run", "--as-of", "2026-02-30").exit_code == 2
    assert cli(url, "reconcile", "--month", "2026-13", "--out", str(tmp_path)).exit_code == 2
