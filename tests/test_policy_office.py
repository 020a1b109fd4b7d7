"""What-if and year report on a small year computed by hand (SQLite and PostgreSQL).

The year 2025, one unit, three members enrolled 2025-01-01..2025-12-31 (first year, so
allowance 10.00 a day; HOSP waiting 30 days):

claim  member  product  stay / diagnosis          self-pay    2025 (actual)                2027 draft
A      F1      HOSP     04-03..04-15 (12 d)       12,000.00   4000+1000+120 = 5,120.00      2250+4550+120 = 6,920.00
B      M1      HOSP     06-01..06-03 (2 d)         8,000.00   3200+20 = 3,220.00            2250+1950+20 = 4,220.00, V06 (4,000.00/day)
C      F2      HOSP     07-01..07-04 (3 d)           300.00   min 200+30 = 230.00 A01       same 230.00 A01
D      F1      WOMEN    D06.1 05-20, 2 units                  IN_SITU 2 x 5,000 = 10,000.00  2 x 8,000 = 16,000.00
E      M1      HOSP     01-10..01-12 (day 9)       1,000.00   R03                           R03
F      F2      HOSP     09-01..09-30 (29 d)       60,000.00   30,290.00 V01, auditor rejects kept rejected
G      F1      HOSP     11-01..11-05, sub 2026-05-15 2,000.00 R04 (deadline 2026-03-31)     900+40 = 940.00 (deadline 2026-06-30)
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

import batch.adjudicate as job
from mutualaid.claims.intake import submit_batch
from mutualaid.claims.review import review
from mutualaid.enrollments import import_roster
from mutualaid.idnumber import mask
from mutualaid.ledger.importer import import_ledger
from mutualaid.policy.loader import DATA_DIR, DRAFTS_DIR
from mutualaid.policy_office.service import SimulationError, simulate
from mutualaid.policy_office.year_report import build_year_report, write_year_report
from mutualaid.store.models import Claim
from tests.test_import import CLAIM_HEAD, F1, F2, M1, ROSTER_HEAD, hosp_row, roster_row, women_row, write

LEDGER_HEAD = ["entry_date", "voucher_no", "entry_type", "product", "amount", "reference", "memo"]
Y25 = dict(start_date="2025-01-01", end_date="2025-12-31")
DRAFT = (DRAFTS_DIR / "2027.yaml").read_text(encoding="utf-8")


def _h(no, member, name, adm, dis, base, submitted):
    return hosp_row(claim_no=no, member_id_number=member, member_name=name, admission_date=adm, discharge_date=dis,
                    in_policy_self_pay=base, submitted_date=submitted, total_cost=f"{Decimal(base) + 1000:.2f}",
                    insurance_paid="1000.00", out_of_policy_self_pay="0.00")


@pytest.fixture
def small_year(db, tmp_path):
    import_roster(db, write(tmp_path / "r.csv", ROSTER_HEAD, [
        roster_row(**Y25), roster_row(product="WOMEN", units="2", premium_paid="60.00", **Y25),
        roster_row(member_id_number=M1, member_name="张伟", **Y25),
        roster_row(member_id_number=F2, member_name="刘芳", **Y25)]))
    submit_batch(db, write(tmp_path / "c1.csv", CLAIM_HEAD, [
        _h("A", F1, "王丽", "2025-04-03", "2025-04-15", "12000.00", "2025-04-20"),
        _h("B", M1, "张伟", "2025-06-01", "2025-06-03", "8000.00", "2025-06-10"),
        _h("C", F2, "刘芳", "2025-07-01", "2025-07-04", "300.00", "2025-07-10"),
        women_row(claim_no="D", diagnosis_code="D06.1", diagnosis_date="2025-05-20", submitted_date="2025-06-01"),
        _h("E", M1, "张伟", "2025-01-10", "2025-01-12", "1000.00", "2025-01-20")]))
    job.run(db, as_of=dt.date(2025, 7, 15))
    submit_batch(db, write(tmp_path / "c2.csv", CLAIM_HEAD, [
        _h("F", F2, "刘芳", "2025-09-01", "2025-09-30", "60000.00", "2025-10-10")]))
    job.run(db, as_of=dt.date(2025, 10, 20))
    with db.transaction() as s:
        review(s, "F", "reject", reason="住院记录不符", user="auditor1", as_of=dt.date(2025, 10, 20))
    submit_batch(db, write(tmp_path / "c3.csv", CLAIM_HEAD, [
        _h("G", F1, "王丽", "2025-11-01", "2025-11-05", "2000.00", "2026-05-15")]))
    job.run(db, as_of=dt.date(2026, 5, 20))
    import_ledger(db, write(tmp_path / "l.csv", LEDGER_HEAD, [
        ["2025-01-01", "V1", "OPENING_BALANCE", "", "100000.00", "", ""],
        ["2025-01-15", "V2", "CONTRIBUTION", "", "360.00", "TL0001", ""],
        ["2025-07-25", "V3", "PAYOUT", "HOSP", "5120.00", "A", ""]]))
    return db


def test_small_year_is_decided_as_computed(small_year):
    with small_year.sessions() as s:
        got = {c.claim_no: (c.status, c.payout_fen, c.reason_codes) for c in s.execute(select(Claim)).scalars()}
    assert got == {"A": ("APPROVED", 512_000, ""), "B": ("APPROVED", 322_000, ""), "C": ("APPROVED", 23_000, "A01"),
                   "D": ("APPROVED", 1_000_000, ""), "E": ("REJECTED", 0, "R03"), "F": ("REJECTED", 0, "V01"),
                   "G": ("REJECTED", 0, "R04")}


def test_simulate_2027_draft_on_the_small_year(small_year, tmp_path):
    r = simulate(small_year, year=2025, draft_text=DRAFT, draft_name="2027.yaml", out_dir=tmp_path / "out", workers=2)
    s = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    h = s["products"]["HOSP"]
    assert {k: h["actual"][k] for k in ("claims", "approved", "pending_review", "rejected", "total_payout",
                                        "paid_claims", "average_payout", "median_payout", "cap_hits",
                                        "allowance_days")} == {
        "claims": 6, "approved": 3, "pending_review": 0, "rejected": 3, "total_payout": "8570.00",
        "paid_claims": 3, "average_payout": "2856.67", "median_payout": "3220.00", "cap_hits": 0, "allowance_days": 17}
    assert {k: h["draft"][k] for k in ("claims", "approved", "pending_review", "rejected", "total_payout",
                                       "paid_claims", "average_payout", "median_payout", "cap_hits",
                                       "allowance_days")} == {
        "claims": 6, "approved": 3, "pending_review": 1, "rejected": 2, "total_payout": "12310.00",
        "paid_claims": 4, "average_payout": "3077.50", "median_payout": "2580.00", "cap_hits": 0, "allowance_days": 21}
    assert h["actual"]["payout_by_band"][:3] == [
        {"band": "0.01–1,000", "claims": 1, "amount": "230.00"},
        {"band": "1,000.01–5,000", "claims": 1, "amount": "3220.00"},
        {"band": "5,000.01–20,000", "claims": 1, "amount": "5120.00"}]
    assert h["draft"]["payout_by_band"][:3] == [
        {"band": "0.01–1,000", "claims": 2, "amount": "1170.00"},
        {"band": "1,000.01–5,000", "claims": 1, "amount": "4220.00"},
        {"band": "5,000.01–20,000", "claims": 1, "amount": "6920.00"}]
    assert h["payout_change"] == "3740.00"
    assert (h["members_better_off"], h["members_worse_off"]) == (2, 0)
    assert h["largest_changes"] == [
        {"member": mask(F1), "actual": "5120.00", "draft": "7860.00", "change": "2740.00"},
        {"member": mask(M1), "actual": "3220.00", "draft": "4220.00", "change": "1000.00"}]
    assert h["codes_changed"] == [{"code": "R04", "actual": 1, "draft": 0, "change": -1},
                                  {"code": "V06", "actual": 0, "draft": 1, "change": 1}]
    w = s["products"]["WOMEN"]
    assert (w["actual"]["total_payout"], w["draft"]["total_payout"], w["members_better_off"]) == ("10000.00", "16000.00", 1)
    assert s["fund"] == {
        "closing_balance": "95240.00", "contributions_at_actual_premiums": "360.00",
        "contributions_at_draft_premiums": "360.00", "actual_payouts": "18570.00", "projected_payouts": "28310.00",
        "resulting_closing_balance": "67290.00", "years_of_payouts_covered": "2.38"}
    assert s["draft"] == {"file": "2027.yaml", "version": 2027}
    wb = load_workbook(tmp_path / "out" / "report.xlsx")
    assert len(wb.worksheets) == 5 and wb.worksheets[1]._charts
    assert r.fund.resulting_closing_fen == 6_729_000
    # nothing stored: the claims are as they were
    with small_year.sessions() as s2:
        assert s2.execute(select(Claim.status).where(Claim.claim_no == "B")).scalar() == "APPROVED"


def test_the_year_own_policy_as_draft_changes_nothing(small_year):
    r = simulate(small_year, year=2025, draft_text=(DATA_DIR / "2025.yaml").read_text(encoding="utf-8"),
                 draft_name="2025.yaml", workers=1)
    for pc in r.comparison.values():
        assert pc.actual.as_json() == pc.draft.as_json()
        assert not any(pc.member_change.values())


def test_an_invalid_draft_gets_the_policy_file_error(small_year):
    bad = DRAFT.replace('daily_self_pay_fen: "3000.00"', 'daily_self_pay_fen: 300000')
    with pytest.raises(SimulationError, match=r"^2027.yaml: rule V06 \(HOSP\): fact 'daily_self_pay_fen' is money"):
        simulate(small_year, year=2025, draft_text=bad, draft_name="2027.yaml", workers=1)


def test_year_report_of_the_small_year(small_year, tmp_path):
    r = build_year_report(small_year, 2025)
    assert r["overview"] == {
        "members_enrolled": 3, "hosp_members": 3, "women_members": 1, "units_enrolled": 5, "employers": 1,
        "received": 7, "approved": 4, "pending_review": 0, "rejected": 3, "returned": 0, "withdrawn": 0,
        "not_decided": 0, "claims_paid": 4,
        "amount_approved": "18570.00", "average_payout": "4642.50", "claims_per_1000_members": "1750.0",
        "paid_in_ledger": "5120.00"}
    assert [x["claim_no"] for x in r["largest_payouts"]] == ["D", "A", "B", "C"]
    assert r["largest_payouts"][0]["member"] == mask(F1)
    assert [(m["month"], m["amount"]) for m in r["by_month"] if m["claims"]] == [
        ("2025-04", "5120.00"), ("2025-05", "10000.00"), ("2025-06", "3220.00"), ("2025-07", "230.00")]
    assert [(b["claims"], b["amount"]) for b in r["by_band"][:3]] == [(1, "230.00"), (1, "3220.00"), (2, "15120.00")]
    assert r["top_diagnoses"] == [{"group": "J18", "claims": 6, "amount": "8570.00"},
                                  {"group": "D06", "claims": 1, "amount": "10000.00"}]
    assert r["fund"]["opening"] == "0.00" and r["fund"]["closing"] == "95240.00"
    assert r["fund"]["inflows"] == {"CONTRIBUTION": "360.00", "OPENING_BALANCE": "100000.00"}
    t = r["timing"]
    assert (t["to_decision_median_days"], t["to_decision_p90_days"]) == ("35.0", "122.0")
    assert (t["to_payment_median_days"], t["paid_within_promise"], t["share_paid_within_promise"]) == ("96.0", 1, "25.0")
    files = write_year_report(r, tmp_path / "yr")
    assert [p.name for p in files] == ["summary.json", "report.xlsx"]
    assert load_workbook(files[1]).worksheets[1]._charts


def test_cli_simulate_and_year_report(small_year, tmp_path):
    from typer.testing import CliRunner

    from mutualaid.cli import app
    runner = CliRunner()
    out = tmp_path / "whatif"
    r = runner.invoke(app, ["policy", "simulate", "--draft", str(DRAFTS_DIR / "2027.yaml"), "--year", "2025",
                            "--out", str(out), "--db", small_year.url, "--workers", "1"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "12310.00" in r.output and "V06 +1" in r.output and "67290.00" in r.output
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["products"]["HOSP"]["draft"]["total_payout"] == "12310.00"
    bad = tmp_path / "2027.yaml"
    bad.write_text(DRAFT.replace("{$gt: {daily_self_pay_fen", "{$above: {daily_self_pay_fen"), encoding="utf-8")
    r = runner.invoke(app, ["policy", "simulate", "--draft", str(bad), "--year", "2025", "--db", small_year.url])
    assert r.exit_code == 2
    assert "2027.yaml: rule V06 (HOSP): unknown operator '$above'" in r.output.replace("\n", "")
    r = runner.invoke(app, ["report", "year", "--year", "2025", "--out", str(tmp_path / "yr"), "--db", small_year.url],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "18570.00" in r.output
    assert json.loads((tmp_path / "yr" / "summary.json").read_text(encoding="utf-8"))["overview"]["received"] == 7
