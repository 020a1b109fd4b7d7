"""Money stays right when people act (issue 12): each test failed before its fix.

Built from policy.md's rules and worked examples, through the real store (SQLite and
PostgreSQL): reviews, overrides, a review landing while a batch decides, re-imports.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import batch.adjudicate as job
from mutualaid.claims import decide as decide_mod
from mutualaid.claims.intake import submit_batch
from mutualaid.claims.review import ReviewError, review
from mutualaid.enrollments import import_roster
from mutualaid.ledger.importer import import_ledger
from mutualaid.store.models import Claim, Decision, LedgerLine
from tests.test_import import CLAIM_HEAD, ROSTER_HEAD, hosp_row, roster_row, women_row, write

AS_OF = dt.date(2026, 7, 1)


def claim(db, no):  # noqa: ANN001
    with db.sessions() as s:
        c = s.execute(select(Claim).where(Claim.claim_no == no)).scalar_one()
        return c.status, c.payout_fen, c.reason_codes


def women_enrolled(db, tmp_path):  # noqa: ANN001
    import_roster(db, write(tmp_path / "r.csv", ROSTER_HEAD, [
        roster_row(product="WOMEN", units="2", premium_paid="60.00")]))


# --- 1. re-adjudication after a review counts earlier claims once -----------------------------

def test_review_readjudication_counts_each_earlier_claim_once(db, tmp_path):
    """W0 benign (2,000.00), W1 in situ (16,000.00), W2 invasive: 32,000 - 16,000 = 16,000.00 (A04).

    Rejecting W0 re-decides W1 and W2; before the fix W1 entered the history twice and W2
    dropped to 0.00.
    """
    women_enrolled(db, tmp_path)
    submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [
        women_row(claim_no="W0", diagnosis_code="D25.9", diagnosis_date="2026-04-10", surgery="excision"),
        women_row(claim_no="W1", diagnosis_code="D06.1", diagnosis_date="2026-05-20"),
        women_row(claim_no="W2", diagnosis_code="C50.9", diagnosis_date="2026-06-10", submitted_date="2026-06-20"),
    ]))
    job.run(db, as_of=AS_OF)
    assert claim(db, "W0") == ("APPROVED", 200_000, "")
    assert claim(db, "W1") == ("APPROVED", 1_600_000, "")
    assert claim(db, "W2") == ("APPROVED", 1_600_000, "A04")
    with db.transaction() as s:
        result = review(s, "W0", "reject", reason="不是本人", user="auditor", as_of=AS_OF)
    assert result.readjudicated == []  # nothing about W1, W2 depends on W0
    assert claim(db, "W1") == ("APPROVED", 1_600_000, "")
    assert claim(db, "W2") == ("APPROVED", 1_600_000, "A04")


def test_review_readjudication_allowance_days_counted_once(db, tmp_path):
    """Five 30-day stays (150 of 180 days): rejecting the first must not double the days used."""
    import_roster(db, write(tmp_path / "r.csv", ROSTER_HEAD, [
        roster_row(start_date="2025-01-01", end_date="2025-12-31"), roster_row()]))
    stays = [("2026-01-02", "2026-02-01"), ("2026-02-05", "2026-03-07"), ("2026-03-10", "2026-04-09"),
             ("2026-04-15", "2026-05-15"), ("2026-05-20", "2026-06-19")]
    submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [
        hosp_row(claim_no=f"H{k}", admission_date=a, discharge_date=d, submitted_date="2026-06-25",
                 in_policy_self_pay="1000.00", total_cost="2000.00", insurance_paid="900.00",
                 out_of_policy_self_pay="100.00")
        for k, (a, d) in enumerate(stays)]))
    job.run(db, as_of=AS_OF)
    # 2026 bands: 1,000 x 50 % = 500.00; participation year 2: 30 days x 20.00 = 600.00
    for k in range(5):
        assert claim(db, f"H{k}") == ("APPROVED", 110_000, "")
    with db.transaction() as s:
        review(s, "H0", "reject", reason="材料不符", user="auditor", as_of=AS_OF)
    for k in range(1, 5):
        assert claim(db, f"H{k}") == ("APPROVED", 110_000, "")


# --- 2. a review committing while the batch decides the same member ---------------------------

def test_review_during_batch_run_gives_a_serial_result(db, tmp_path, monkeypatch):
    """X (third-party cause, R05) is approved by an auditor while the batch decides Y, the same
    stay filed again. Serially: Y is a duplicate of X (R06), whatever the order."""
    import_roster(db, write(tmp_path / "r.csv", ROSTER_HEAD, [
        roster_row(start_date="2025-01-01", end_date="2025-12-31"), roster_row()]))
    submit_batch(db, write(tmp_path / "c1.csv", CLAIM_HEAD, [hosp_row(claim_no="X", cause="third_party")]))
    job.run(db, as_of=AS_OF)
    assert claim(db, "X")[0] == "REJECTED"
    submit_batch(db, write(tmp_path / "c2.csv", CLAIM_HEAD, [hosp_row(claim_no="Y", submitted_date="2026-05-02")]))

    real = decide_mod.adjudicate_members
    calls = []

    def review_lands_meanwhile(cases):  # noqa: ANN001
        outcomes = real(cases)
        if not calls:  # the batch has read Y's history and decided it: now the auditor commits
            with db.transaction() as s:
                review(s, "X", "approve", reason="第三方未赔付，核实后给付", user="auditor", as_of=AS_OF)
        calls.append(1)
        return outcomes

    monkeypatch.setattr(decide_mod, "adjudicate_members", review_lands_meanwhile)
    job.run(db, as_of=AS_OF)
    assert claim(db, "X") == ("APPROVED", 714_000, "R05")
    assert claim(db, "Y") == ("REJECTED", 0, "R06")


# --- 3. an override pays at most what the policy leaves ----------------------------------------

def test_override_above_the_annual_cap_is_refused(db, tmp_path):
    import_roster(db, write(tmp_path / "r.csv", ROSTER_HEAD, [
        roster_row(start_date="2025-01-01", end_date="2025-12-31")]))
    submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [
        hosp_row(claim_no="A", admission_date="2025-03-01", discharge_date="2025-03-11", submitted_date="2025-03-20"),
        hosp_row(claim_no="B", admission_date="2025-05-01", discharge_date="2025-05-11", submitted_date="2025-05-20")]))
    job.run(db, as_of=dt.date(2025, 6, 1))
    # 2025 bands on 12,000: 10,000 x 40 % + 2,000 x 50 % = 5,000.00; year 1: 10 days x 10 = 100.00
    assert claim(db, "A") == ("APPROVED", 510_000, "")
    with db.transaction() as s, pytest.raises(ReviewError, match="244,900.00"):
        review(s, "B", "approve", reason="特殊情况", user="auditor", as_of=dt.date(2025, 6, 2), payout_fen=30_000_000)
    assert claim(db, "B") == ("APPROVED", 510_000, "")
    with db.transaction() as s:  # exactly the cap remaining is allowed
        result = review(s, "B", "approve", reason="特殊情况", user="auditor", as_of=dt.date(2025, 6, 2),
                        payout_fen=24_490_000)
    assert result.payout_fen == 24_490_000


def test_override_of_a_women_claim_is_limited_to_the_category_amount(db, tmp_path):
    women_enrolled(db, tmp_path)
    submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [women_row(pathology_confirmed="N")]))
    job.run(db, as_of=AS_OF)
    assert claim(db, "TL2026-W001") == ("PENDING_REVIEW", 1_600_000, "V03")
    with db.transaction() as s, pytest.raises(ReviewError, match="16,000.00"):
        review(s, "TL2026-W001", "approve", reason="x", user="auditor", as_of=AS_OF, payout_fen=1_600_001)


def test_override_of_a_rejected_claim_records_the_codes_it_overrides(db, tmp_path):
    import_roster(db, write(tmp_path / "r.csv", ROSTER_HEAD, [
        roster_row(start_date="2025-01-01", end_date="2025-12-31"), roster_row()]))
    submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row(cause="third_party")]))
    job.run(db, as_of=AS_OF)
    with db.transaction() as s:
        result = review(s, "TL2026-0001", "approve", reason="核实", user="auditor", as_of=AS_OF)
    assert result.overridden_codes == ["R05"]
    with db.sessions() as s:
        last = s.execute(select(Decision).order_by(Decision.id.desc()).limit(1)).scalar_one()
        assert last.trace["overrides"] == ["R05"]


# --- 4. a repeated file is checked again, row by row --------------------------------------------

LEDGER_HEAD = ["entry_date", "voucher_no", "entry_type", "product", "amount", "reference", "memo"]


def test_reimported_ledger_file_stores_the_rows_refused_before(db, tmp_path):
    reversal = write(tmp_path / "rev.csv", LEDGER_HEAD, [
        dict(entry_date="2026-02-20", voucher_no="V4", entry_type="REVERSAL", product="HOSP", amount="7140.00",
             reference="TL2026-0001", memo="退票")])
    first = import_ledger(db, reversal)
    assert first.exit_code == 1 and first.stored == 0  # no PAYOUT to reverse yet
    import_ledger(db, write(tmp_path / "pay.csv", LEDGER_HEAD, [
        dict(entry_date="2026-02-01", voucher_no="V3", entry_type="PAYOUT", product="HOSP", amount="7140.00",
             reference="TL2026-0001")]))
    again = import_ledger(db, reversal)
    assert again.identical_to == first.import_id
    assert (again.stored, again.errors, again.exit_code) == (1, [], 0)
    with db.sessions() as s:
        assert s.execute(select(LedgerLine.voucher_no).order_by(LedgerLine.voucher_no)).scalars().all() == ["V3", "V4"]
    last = import_ledger(db, reversal)  # and a third time: nothing new, nothing wrong
    assert (last.stored, last.unchanged, last.exit_code) == (0, 1, 0)


def test_reimported_claim_file_reports_its_conflict_again(db, tmp_path):
    import_roster(db, write(tmp_path / "r.csv", ROSTER_HEAD, [roster_row()]))
    submit_batch(db, write(tmp_path / "a.csv", CLAIM_HEAD, [hosp_row()]))
    clash = write(tmp_path / "b.csv", CLAIM_HEAD, [hosp_row(hospital_name="另一家医院"),
                                                   hosp_row(claim_no="TL2026-0002", admission_date="2026-05-03",
                                                            discharge_date="2026-05-05", submitted_date="2026-05-10")])
    first = submit_batch(db, clash)
    assert (first.stored, first.exit_code) == (1, 1)
    again = submit_batch(db, clash)
    assert again.identical_to == first.import_id
    assert (again.stored, again.unchanged, again.exit_code) == (0, 1, 1)
    assert [e.row for e in again.errors] == [2]


# --- 5. an absurdly long amount is a row error, not a crash --------------------------------------

@pytest.mark.parametrize("column", ["in_policy_self_pay", "total_cost"])
def test_amount_of_5000_digits_is_a_row_error(db, tmp_path, column):
    import_roster(db, write(tmp_path / "r.csv", ROSTER_HEAD, [roster_row()]))
    report = submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [
        hosp_row(**{column: "9" * 5000}), hosp_row(claim_no="OK-1", admission_date="2026-05-03",
                                                    discharge_date="2026-05-05", submitted_date="2026-05-10")]))
    assert report.stored == 1
    assert [(e.row, e.column) for e in report.errors] == [(2, column)]


def test_ledger_amount_of_5000_digits_is_a_row_error(db, tmp_path):
    report = import_ledger(db, write(tmp_path / "l.csv", LEDGER_HEAD, [
        dict(entry_date="2026-01-01", voucher_no="V1", entry_type="OPENING_BALANCE", amount="1" * 5000)]))
    assert [(e.row, e.column) for e in report.errors] == [(2, "amount")]


# --- 6. ICD-10 sub-codes and the national clinical edition ---------------------------------------

@pytest.mark.parametrize("code,payout,codes", [
    ("D07.10", 1_600_000, ""), ("D07.39", 1_600_000, ""), ("D07.01", 1_600_000, ""),
    ("D06.100X001", 1_600_000, ""), ("C50.900", 3_200_000, "V01"), ("C50.900x001", 3_200_000, "V01"),
    ("D07.4", 0, "R08"), ("D07.40", 0, "R08"),
])
def test_sub_codes_refine_their_parent(db, tmp_path, code, payout, codes):
    women_enrolled(db, tmp_path)
    report = submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [women_row(diagnosis_code=code)]))
    assert report.errors == []
    job.run(db, as_of=AS_OF)
    _, paid, reasons = claim(db, "TL2026-W001")
    assert (paid, reasons) == (payout, codes)


# --- 7. the same same-day stay under two claim numbers -------------------------------------------

def test_two_same_day_stays_on_one_day_overlap(db, tmp_path):
    import_roster(db, write(tmp_path / "r.csv", ROSTER_HEAD, [
        roster_row(start_date="2025-01-01", end_date="2025-12-31"), roster_row()]))
    day = dict(admission_date="2026-04-03", discharge_date="2026-04-03")
    submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [
        hosp_row(claim_no="S1", **day), hosp_row(claim_no="S2", **day),
        # admitted on S3's discharge day: not an overlap
        hosp_row(claim_no="S3", admission_date="2026-05-01", discharge_date="2026-05-04", submitted_date="2026-05-10"),
        hosp_row(claim_no="S4", admission_date="2026-05-04", discharge_date="2026-05-04", submitted_date="2026-05-10")]))
    job.run(db, as_of=AS_OF)
    assert claim(db, "S1")[0] == "APPROVED"
    assert claim(db, "S2") == ("REJECTED", 0, "R06")
    assert claim(db, "S4")[0] == "APPROVED"


# --- 8. a batch run decides only what was submitted by its as-of date ----------------------------

def test_batch_run_leaves_claims_submitted_after_the_as_of_date(db, tmp_path):
    import_roster(db, write(tmp_path / "r.csv", ROSTER_HEAD, [roster_row()]))
    submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [
        hosp_row(), hosp_row(claim_no="LATE", admission_date="2026-06-01", discharge_date="2026-06-03",
                             submitted_date="2026-06-10")]))
    tally = job.run(db, as_of=dt.date(2026, 5, 31))
    assert (tally.decided, tally.waiting) == (1, 1)
    assert claim(db, "LATE")[0] == "RECEIVED"
    tally = job.run(db, as_of=dt.date(2026, 6, 30))
    assert (tally.decided, tally.waiting) == (1, 0)
    assert claim(db, "LATE")[0] == "APPROVED"


# --- 9. approved and pending totals are never added together ------------------------------------

def test_batch_totals_keep_approved_and_pending_apart(db, tmp_path):
    women_enrolled(db, tmp_path)
    import_roster(db, write(tmp_path / "r2.csv", ROSTER_HEAD, [roster_row()]))
    submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [
        hosp_row(), women_row(pathology_confirmed="N")]))
    tally = job.run(db, as_of=AS_OF)
    # HOSP, first enrollment: 6,900.00 + 12 days x 10.00; WOMEN in situ without pathology: pending
    assert (tally.approved_fen, tally.pending_fen) == (702_000, 1_600_000)
