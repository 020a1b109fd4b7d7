"""files.md import rules, each with a failing case, through the real database."""
import csv
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mutualaid import idnumber
from mutualaid.claims.intake import submit_batch
from mutualaid.enrollments import import_roster
from mutualaid.store.models import Claim, Enrollment, FileImport, Member, Unit
from mutualaid.tabular import FileProblem

D = dt.date.fromisoformat
F1 = idnumber.make("150502", D("1985-06-15"), 1, "F")
F2 = idnumber.make("150521", D("1990-01-31"), 2, "F")
M1 = idnumber.make("150502", D("1970-03-03"), 3, "M")
OLD = idnumber.make("150502", D("1960-03-03"), 4, "F")  # 65 in 2025

ROSTER_HEAD = ["unit_code", "unit_name", "member_id_number", "member_name", "product", "units",
               "start_date", "end_date", "premium_paid", "bank_account"]
CLAIM_HEAD = ["claim_no", "product", "member_id_number", "member_name", "submitted_date", "admission_date",
              "discharge_date", "hospital_name", "diagnosis_code", "cause", "total_cost", "insurance_paid",
              "in_policy_self_pay", "out_of_policy_self_pay", "diagnosis_date", "pathology_confirmed", "surgery"]


def write(path: Path, head, rows, encoding="utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(head)
        for r in rows:
            w.writerow([r.get(h, "") for h in head] if isinstance(r, dict) else r)
    return path


def roster_row(**kw):
    row = dict(unit_code="TL0001", unit_name="通辽市第一中学工会", member_id_number=F1, member_name="王丽",
               product="HOSP", units="1", start_date="2026-01-01", end_date="2026-12-31",
               premium_paid="100.00", bank_account="6222021234567890123")
    row.update(kw)
    return row


def hosp_row(**kw):
    row = dict(claim_no="TL2026-0001", product="HOSP", member_id_number=F1, member_name="王丽",
               submitted_date="2026-04-20", admission_date="2026-04-03", discharge_date="2026-04-15",
               hospital_name="通辽市医院", diagnosis_code="J18.9", cause="illness", total_cost="20,000.00",
               insurance_paid="7000.00", in_policy_self_pay="12000.00", out_of_policy_self_pay="1000.00")
    row.update(kw)
    return row


def women_row(**kw):
    row = dict(claim_no="TL2026-W001", product="WOMEN", member_id_number=F1, member_name="王丽",
               submitted_date="2026-06-01", diagnosis_code="D06.1", diagnosis_date="2026-05-20",
               pathology_confirmed="Y", surgery="")
    row.update(kw)
    return row


def count(db, model):
    with db.sessions() as s:
        return s.execute(select(func.count()).select_from(model)).scalar()


# --- rosters ----------------------------------------------------------------------------

def test_roster_valid_rows_stored(db, tmp_path):
    f = write(tmp_path / "r.csv", ROSTER_HEAD, [
        roster_row(), roster_row(product="WOMEN", units="2", premium_paid="60.00"),
        roster_row(member_id_number=M1, member_name="张伟", unit_code="TL0002", unit_name="供电公司工会")])
    rep = import_roster(db, f)
    assert (rep.stored, rep.unchanged, rep.errors) == (3, 0, [])
    assert count(db, Unit) == 2 and count(db, Member) == 2 and count(db, Enrollment) == 3


@pytest.mark.parametrize("change,column,code", [
    (dict(unit_code=""), "unit_code", "required"),
    (dict(unit_name=""), "unit_name", "required"),
    (dict(member_id_number=F1[:-1] + ("0" if F1[-1] != "0" else "1")), "member_id_number", "id_checksum"),
    (dict(member_id_number="15050219850230001X"), "member_id_number", "id_birth_date"),
    (dict(member_id_number="1505021985"), "member_id_number", "id_length"),
    (dict(member_name=""), "member_name", "required"),
    (dict(product="CAR"), "product", "bad_product"),
    (dict(units="2"), "units", "bad_units"),
    (dict(units="0"), "units", "bad_units"),
    (dict(start_date="2026-02-30"), "start_date", "bad_date"),
    (dict(start_date="2026/01/01"), "start_date", "bad_date"),
    (dict(end_date="2025-12-31"), "end_date", "end_before_start"),
    (dict(end_date="2027-01-02"), "end_date", "period_too_long"),
    (dict(premium_paid="99.00"), "premium_paid", "premium_mismatch"),
    (dict(premium_paid="100.001"), "premium_paid", "bad_amount"),
    (dict(premium_paid="-100.00"), "premium_paid", "bad_amount"),
    (dict(bank_account="62220212345"), "bank_account", "bad_bank_account"),
    (dict(bank_account="6222-0212-3456-7890"), "bank_account", "bad_bank_account"),
    (dict(start_date="2030-01-01", end_date="2030-12-31"), "start_date", "no_policy"),
    (dict(product="WOMEN", member_id_number=M1, premium_paid="30.00"), "member_id_number", "women_not_female"),
    (dict(product="WOMEN", member_id_number=OLD, premium_paid="30.00", start_date="2025-06-01",
          end_date="2026-05-31"), "member_id_number", "women_age"),
])
def test_roster_row_errors(db, tmp_path, change, column, code):
    f = write(tmp_path / "r.csv", ROSTER_HEAD, [roster_row(**change)])
    rep = import_roster(db, f)
    assert rep.stored == 0
    assert (rep.errors[0].row, rep.errors[0].column, rep.errors[0].code) == (2, column, code)
    assert " / " in rep.errors[0].message  # Chinese / English
    assert count(db, Enrollment) == 0 and count(db, Member) == 0


def test_roster_overlap_and_conflict(db, tmp_path):
    import_roster(db, write(tmp_path / "a.csv", ROSTER_HEAD, [roster_row()]))
    rep = import_roster(db, write(tmp_path / "b.csv", ROSTER_HEAD, [
        roster_row(),                                                  # unchanged
        roster_row(bank_account="6222020000000000001"),                # same key, other content
        roster_row(start_date="2026-06-01", end_date="2027-05-31"),     # overlaps
        roster_row(start_date="2027-01-01", end_date="2027-12-31"),     # 2027: no policy
    ]))
    assert rep.unchanged == 1 and rep.stored == 0
    assert [(e.row, e.code) for e in rep.errors] == [(3, "conflict"), (4, "enrollment_overlap"), (5, "no_policy")]


def test_roster_member_name_conflict(db, tmp_path):
    f = write(tmp_path / "r.csv", ROSTER_HEAD, [roster_row(), roster_row(product="WOMEN", premium_paid="30.00", member_name="王莉")])
    rep = import_roster(db, f)
    assert rep.stored == 1 and rep.errors[0].code == "name_mismatch_member"


def test_roster_chinese_headers_gb18030(db, tmp_path):
    zh = ["单位编码", "单位名称", "身份证号", "姓名", "保障项目", "份数", "保障起期", "保障止期", "缴费金额", "银行卡号"]
    rows = [[roster_row()[h] for h in ROSTER_HEAD]]
    rows[0][4] = "住院医疗互助"
    f = write(tmp_path / "r.csv", zh, rows, encoding="gb18030")
    rep = import_roster(db, f)
    assert rep.stored == 1, rep.errors


def test_identical_file_recognised(db, tmp_path):
    f = write(tmp_path / "r.csv", ROSTER_HEAD, [roster_row()])
    first = import_roster(db, f)
    second = import_roster(db, f)
    assert second.identical_to == first.import_id
    assert (second.stored, second.unchanged, second.exit_code) == (0, 1, 0)
    assert count(db, FileImport) == 2  # each run is recorded; the rows are stored once


def test_missing_column_is_a_file_problem(db, tmp_path):
    f = write(tmp_path / "r.csv", [h for h in ROSTER_HEAD if h != "units"], [roster_row()])
    with pytest.raises(FileProblem) as e:
        import_roster(db, f)
    assert "units" in str(e.value) and "份数" in str(e.value)
    assert count(db, FileImport) == 0


# --- claims -----------------------------------------------------------------------------

def test_claims_valid_and_unknown_member_stored(db, tmp_path):
    stranger = idnumber.make("150502", D("1980-01-01"), 9, "M")
    f = write(tmp_path / "c.csv", CLAIM_HEAD, [
        hosp_row(), women_row(), hosp_row(claim_no="X3", member_id_number=stranger, member_name="李四")])
    rep = submit_batch(db, f, clerk="clerk1")
    assert (rep.stored, rep.errors) == (3, [])
    with db.sessions() as s:
        c = s.execute(select(Claim).where(Claim.claim_no == "TL2026-0001")).scalar_one()
        assert c.total_cost_fen == 2_000_000 and c.in_policy_self_pay_fen == 1_200_000
        assert c.status == "RECEIVED" and c.event_date == D("2026-04-03")
        w = s.execute(select(Claim).where(Claim.claim_no == "TL2026-W001")).scalar_one()
        assert w.surgery == "none" and w.pathology_confirmed is True and w.event_date == D("2026-05-20")


@pytest.mark.parametrize("row,column,code", [
    (hosp_row(claim_no=""), "claim_no", "required"),
    (hosp_row(product="X"), "product", "bad_product"),
    (hosp_row(member_id_number="150502198506150011"), "member_id_number", "id_checksum"),
    (hosp_row(member_name=""), "member_name", "required"),
    (hosp_row(submitted_date="2026-04-01"), "submitted_date", "submitted_before_event"),
    (hosp_row(admission_date=""), "admission_date", "required"),
    (hosp_row(discharge_date="2026-04-01"), "discharge_date", "discharge_before_admission"),
    (hosp_row(discharge_date="2026-02-30"), "discharge_date", "bad_date"),
    (hosp_row(hospital_name=""), "hospital_name", "required"),
    (hosp_row(diagnosis_code="J18-9"), "diagnosis_code", "bad_icd10"),
    (hosp_row(cause="bored"), "cause", "bad_cause"),
    (hosp_row(total_cost="20000.01"), "total_cost", "costs_dont_add_up"),
    (hosp_row(insurance_paid="abc"), "insurance_paid", "bad_amount"),
    (hosp_row(in_policy_self_pay=""), "in_policy_self_pay", "required"),
    (hosp_row(diagnosis_date="2026-04-01"), "diagnosis_date", "other_product_column"),
    (women_row(diagnosis_code=""), "diagnosis_code", "required"),
    (women_row(diagnosis_date=""), "diagnosis_date", "required"),
    (women_row(pathology_confirmed="maybe"), "pathology_confirmed", "bad_yes_no"),
    (women_row(surgery="lobotomy"), "surgery", "bad_surgery"),
    (women_row(hospital_name="某医院"), "hospital_name", "other_product_column"),
])
def test_claim_row_errors(db, tmp_path, row, column, code):
    rep = submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [row]))
    assert rep.stored == 0
    assert (rep.errors[0].row, rep.errors[0].column, rep.errors[0].code) == (2, column, code), rep.errors
    assert count(db, Claim) == 0


def test_chinese_values_accepted(db, tmp_path):
    rep = submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [
        hosp_row(product="住院医疗互助", cause="疾病"), women_row(product="女性安康互助", pathology_confirmed="是")]))
    assert rep.stored == 2, rep.errors


def test_duplicate_claim_no_in_file(db, tmp_path):
    rep = submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row(), hosp_row(), women_row()]))
    assert rep.stored == 2
    assert [(e.row, e.column, e.code) for e in rep.errors] == [(3, "claim_no", "duplicate_in_file")]


def test_resubmission_skips_unchanged_reports_conflict(db, tmp_path):
    submit_batch(db, write(tmp_path / "a.csv", CLAIM_HEAD, [hosp_row()]))
    rep = submit_batch(db, write(tmp_path / "b.csv", CLAIM_HEAD, [
        hosp_row(), women_row(), hosp_row(claim_no="TL2026-0001x"),
        hosp_row(claim_no="TL2026-0001", hospital_name="另一医院")]))
    # the last row re-uses claim_no TL2026-0001 inside this file too: reported once, as in-file duplicate
    assert rep.unchanged == 1 and rep.stored == 2
    assert [e.code for e in rep.errors] == ["duplicate_in_file"]
    rep = submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row(hospital_name="另一医院")]))
    assert rep.stored == 0 and [e.code for e in rep.errors] == ["conflict"]
    with db.sessions() as s:
        assert s.execute(select(Claim.hospital_name).where(Claim.claim_no == "TL2026-0001")).scalar() == "通辽市医院"


def test_xlsx_numeric_id_and_formula_are_row_errors(db, tmp_path):
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.append(CLAIM_HEAD)
    r1 = hosp_row()
    ws.append([r1[h] if h in r1 else None for h in CLAIM_HEAD])
    r2 = hosp_row(claim_no="N2")
    ws.append([int(F1[:15]) if h == "member_id_number" else r2.get(h) for h in CLAIM_HEAD])
    r3 = hosp_row(claim_no="N3")
    ws.append(["=1+1" if h == "total_cost" else r3.get(h) for h in CLAIM_HEAD])
    r4 = hosp_row(claim_no="N4", admission_date=None)
    ws.append([dt.datetime(2026, 4, 3) if h == "admission_date" else r4.get(h) for h in CLAIM_HEAD])
    f = tmp_path / "c.xlsx"
    wb.save(f)
    rep = submit_batch(db, f)
    assert rep.stored == 2, rep.errors
    assert [(e.row, e.column, e.code) for e in rep.errors] == [(3, "member_id_number", "id_numeric_cell"),
                                                               (4, "total_cost", "formula_cell")]


claim_numbers = st.lists(st.integers(1, 40), min_size=1, max_size=30)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claim_numbers, st.integers(0, 30))
def test_import_idempotent_whole_or_halves(sqlite_db, tmp_path_factory, numbers, cut):
    """Importing the same rows twice, or in two halves, stores the same thing once."""
    tmp = tmp_path_factory.mktemp("idem")
    rows = [hosp_row(claim_no=f"K{n}") for n in dict.fromkeys(numbers)]
    submit_batch(sqlite_db, write(tmp / "all.csv", CLAIM_HEAD, rows))
    submit_batch(sqlite_db, write(tmp / "h1.csv", CLAIM_HEAD, rows[:cut]))
    submit_batch(sqlite_db, write(tmp / "h2.csv", CLAIM_HEAD, rows[cut:]))
    submit_batch(sqlite_db, write(tmp / "again.csv", CLAIM_HEAD, rows + rows[:1]))
    with sqlite_db.sessions() as s:
        stored = s.execute(select(Claim.claim_no).order_by(Claim.claim_no)).scalars().all()
        s.execute(Claim.__table__.delete())
        s.execute(FileImport.__table__.delete())
        s.commit()
    assert stored == sorted(r["claim_no"] for r in rows)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([hosp_row, women_row]),
       st.dictionaries(st.sampled_from(CLAIM_HEAD),
                       st.sampled_from(["", "2026-04-01", "2026-04-20", "2026-02-30", "J18.9", "C50", "Y", "N", "是",
                                        "none", "excision", "illness", "工伤", "100.00", "1,000.00", "-1", "x",
                                        "HOSP", "WOMEN", F1, F1.lower(), M1[:-1] + "0"]), max_size=4))
def test_fast_path_agrees_with_reporting_path(make, changes):
    """Whatever the fast path does (take the row, or bail out), the import's result for a row is
    exactly the reporting path's: the same values, or the same rejection."""
    from mutualaid.claims.intake import STORED, _reporting, parse_row
    from mutualaid.tabular import Cell
    row = make(**changes)
    cells = {h: Cell(row.get(h, "").strip(), "text" if row.get(h, "").strip() else "empty") for h in CLAIM_HEAD}
    slow = _reporting(2, cells, [])
    parsed = parse_row(2, cells, [])
    if slow is None:
        assert parsed is None
    else:
        assert parsed == (2, slow["claim_no"], slow["event_date"], *[slow[k] for k in STORED])


@pytest.mark.parametrize("make", [hosp_row, women_row])
def test_fast_path_takes_a_plain_valid_claim_row(make):
    from mutualaid.claims.intake import _fast
    from mutualaid.tabular import Cell
    row = make()
    _fast({h: Cell(row.get(h, ""), "text" if row.get(h, "") else "empty") for h in CLAIM_HEAD})  # no bail-out


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(ROSTER_HEAD),
                       st.sampled_from(["", "2025-01-01", "2025-12-31", "2026-01-01", "2026-02-30", "2030-01-01",
                                        "1", "2", "0", "x", "100.00", "30.00", "60.00", "1,000.00", "HOSP", "WOMEN",
                                        "住院医疗互助", F1, M1, OLD, "6222021234567890123", "123"]), max_size=4))
def test_roster_fast_path_agrees_with_reporting_path(changes):
    """As for claims: the import's result for a roster row is exactly the reporting path's."""
    from mutualaid.enrollments import _reporting, parse_row
    from mutualaid.tabular import Cell
    row = roster_row(**changes)
    cells = {h: Cell(row[h], "text" if row[h] else "empty") for h in ROSTER_HEAD}
    assert parse_row(2, cells, []) == _reporting(2, cells, [])


def test_roster_fast_path_takes_a_plain_valid_row():
    from mutualaid.enrollments import _fast
    from mutualaid.tabular import Cell
    row = roster_row()
    _fast(2, {h: Cell(row[h], "text" if row[h] else "empty") for h in ROSTER_HEAD})  # no bail-out