"""The settlement extract (免申即享) through the real database, SQLite and PostgreSQL."""
import datetime as dt

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import batch.adjudicate as job
from mutualaid.claims.export import export_decisions
from mutualaid.claims.intake import submit_batch
from mutualaid.claims.review import ReviewError, review
from mutualaid.enrollments import import_roster
from mutualaid.policy import policies
from mutualaid.settlements import service
from mutualaid.settlements.service import figures, import_settlements
from mutualaid.store.models import Claim, Decision
from mutualaid.store.models_settlements import Settlement
from tests.test_import import CLAIM_HEAD, F1, F2, M1, ROSTER_HEAD, hosp_row, roster_row, write

AS_OF = dt.date(2026, 7, 1)
HEAD = ["settlement_no", "member_id_number", "member_name", "hospital_name", "hospital_code", "visit_type",
        "admission_date", "discharge_date", "diagnosis_code", "total_cost", "fund_paid", "serious_illness_paid",
        "medical_aid_paid", "in_policy_self_pay", "out_of_policy_self_pay", "settlement_date", "is_reversal",
        "reverses"]
HEAD_ZH = ["结算流水号", "身份证号", "姓名", "医院名称", "定点医药机构编码", "就诊类型", "入院日期", "出院日期",
           "主要诊断编码", "医疗总费用", "统筹基金支付", "大病保险支付", "医疗救助支付", "政策范围内个人自付", "全自费",
           "结算日期", "是否冲销", "原结算流水号"]


def srow(**kw):
    """The worked example's stay (base 12,000.00) as the medical-insurance bureau settles it."""
    row = dict(settlement_no="S0001", member_id_number=F1, member_name="王丽", hospital_name="通辽市医院",
               hospital_code="H15050200001", visit_type="住院", admission_date="2026-04-03",
               discharge_date="2026-04-15", diagnosis_code="J18.900", total_cost="20000.00", fund_paid="6000.00",
               serious_illness_paid="800.00", medical_aid_paid="200.00", in_policy_self_pay="12000.00",
               out_of_policy_self_pay="1000.00", settlement_date="2026-04-16", is_reversal="N", reverses="")
    row.update(kw)
    return row


@pytest.fixture
def enrolled(db, tmp_path):
    """F1 renewed into 2026 (participation year 2: the worked example); M1 a first enrollment."""
    import_roster(db, write(tmp_path / "r.csv", ROSTER_HEAD, [
        roster_row(start_date="2025-01-01", end_date="2025-12-31"), roster_row(),
        roster_row(member_id_number=M1, member_name="张伟"),
    ]))
    return db


def extract(tmp_path, rows, name="s.csv", head=HEAD):
    return write(tmp_path / name, head, rows)


def claims(db):
    with db.sessions() as s:
        return {c.claim_no: c for c in s.execute(select(Claim)).scalars()}


def settlements(db):
    with db.sessions() as s:
        return {x.settlement_no: x for x in s.execute(select(Settlement)).scalars()}


def clerk_file(tmp_path, name="c.csv", **kw):
    return write(tmp_path / name, CLAIM_HEAD, [hosp_row(**kw)])


# --- the file -----------------------------------------------------------------------------------

@pytest.mark.parametrize("change,column,code", [
    (dict(total_cost="20000.01"), "total_cost", "settlement_costs_dont_add_up"),
    (dict(visit_type="急诊"), "visit_type", "bad_visit_type"),
    (dict(member_id_number=F1[:-1] + ("0" if F1[-1] != "0" else "1")), "member_id_number", "id_checksum"),
    (dict(discharge_date="2026-04-01"), "discharge_date", "discharge_before_admission"),
    (dict(settlement_date="2026-04-01"), "settlement_date", "settled_before_admission"),
    (dict(is_reversal="Y"), "reverses", "reverses_required"),
    (dict(reverses="S0000"), "reverses", "reverses_without_reversal"),
    (dict(diagnosis_code="C50-900"), "diagnosis_code", "bad_diagnosis_code"),
    (dict(in_policy_self_pay="-1.00"), "in_policy_self_pay", "bad_amount"),
    (dict(discharge_date=""), "discharge_date", "required"),
])
def test_bad_row_is_an_error_at_its_cell(enrolled, tmp_path, change, column, code):
    from mutualaid.i18n import message

    result = import_settlements(enrolled, extract(tmp_path, [srow(settlement_no="OK1", admission_date="2026-05-03",
                                                                  discharge_date="2026-05-04",
                                                                  settlement_date="2026-05-05"),
                                                             srow(**change)]))
    assert result.exit_code == 1
    [e] = result.report.errors
    assert (e.row, e.column) == (3, column)
    assert e.message.startswith(message(code, expected="20000.00").split(" / ")[0][:6])
    assert result.report.stored == 1 and set(claims(enrolled)) == {"YB-OK1"}


def test_chinese_headers_and_outpatient_without_discharge(enrolled, tmp_path):
    rows = [[r[h] for h in HEAD] for r in (srow(), srow(settlement_no="S0002", visit_type="门诊", discharge_date=""))]
    result = import_settlements(enrolled, extract(tmp_path, rows, head=HEAD_ZH))
    assert result.exit_code == 0, result.report.errors
    assert (result.counts["claimed"], result.counts["outpatient"]) == (1, 1)


def test_inpatient_stay_of_member_becomes_claim_decided_by_the_batch_run(enrolled, tmp_path):
    result = import_settlements(enrolled, extract(tmp_path, [
        srow(),
        srow(settlement_no="S0002", member_id_number=F2, member_name="刘芳"),       # not enrolled at all
        srow(settlement_no="S0003", admission_date="2025-12-20", discharge_date="2025-12-22",
             settlement_date="2025-12-23", member_id_number=M1, member_name="张伟"),  # enrolled only from 2026
        srow(settlement_no="S0004", visit_type="outpatient", admission_date="2026-04-01", discharge_date="2026-04-01"),
        srow(settlement_no="S0005", visit_type="chronic", admission_date="2026-04-02", discharge_date="2026-04-02"),
    ]))
    assert result.exit_code == 0
    assert result.report.stored == 1 and result.report.rows_total == 5
    assert dict(result.counts) == {"claimed": 1, "not_enrolled": 2, "outpatient": 2}
    c = claims(enrolled)["YB-S0001"]
    assert (c.source, c.status, c.cause, c.submitted_date, c.event_date, c.in_policy_self_pay_fen,
            c.insurance_paid_fen, c.total_cost_fen) == ("settlement", "RECEIVED", "illness", dt.date(2026, 4, 16),
                                                        dt.date(2026, 4, 3), 1_200_000, 700_000, 2_000_000)
    assert set(settlements(enrolled)) == {"S0001"}  # other people's rows are not kept
    job.run(enrolled, as_of=AS_OF)
    c = claims(enrolled)["YB-S0001"]
    assert (c.status, c.payout_fen, c.reason_codes) == ("APPROVED", 714_000, "")
    f = figures_of(enrolled)
    assert f.paid_without_application == (1, 714_000)


def figures_of(db):
    with db.sessions() as s:
        return figures(s)


def test_reimport_is_idempotent_and_a_changed_row_conflicts(enrolled, tmp_path):
    f = extract(tmp_path, [srow(), srow(settlement_no="S0002", member_id_number=F2, member_name="刘芳")])
    import_settlements(enrolled, f)
    again = import_settlements(enrolled, f)
    assert again.report.identical_to is not None and again.report.stored == 0
    assert (again.report.unchanged, dict(again.counts)) == (1, {"not_enrolled": 1})  # checked row by row again
    changed = import_settlements(enrolled, extract(tmp_path, [
        srow(), srow(settlement_no="S0009", in_policy_self_pay="11000.00", out_of_policy_self_pay="2000.00"),
        srow(settlement_no="S0010", admission_date="2026-06-01", discharge_date="2026-06-03",
             settlement_date="2026-06-04"),
    ], name="s2.csv"))
    assert (changed.report.unchanged, changed.report.stored) == (1, 2)
    conflict = import_settlements(enrolled, extract(tmp_path, [srow(in_policy_self_pay="11000.00",
                                                                    out_of_policy_self_pay="2000.00")], name="s3.csv"))
    [e] = conflict.report.errors
    assert (e.row, e.column, e.value) == (2, "settlement_no", "S0001")
    assert sorted(claims(enrolled)) == ["YB-S0001", "YB-S0010"]  # S0009 overlaps S0001: attached, no claim


def test_a_claim_number_taken_by_a_clerk_is_a_row_error(enrolled, tmp_path):
    submit_batch(enrolled, clerk_file(tmp_path, claim_no="YB-S0002", admission_date="2026-06-01",
                                      discharge_date="2026-06-03", submitted_date="2026-06-10"))
    result = import_settlements(enrolled, extract(tmp_path, [srow(), srow(settlement_no="S0002")]))
    [e] = result.report.errors
    assert (e.row, e.column, e.code) == (3, "settlement_no", "claim_no_taken")
    assert set(claims(enrolled)) == {"YB-S0001", "YB-S0002"} and set(settlements(enrolled)) == {"S0001"}


def test_duplicate_settlement_no_in_one_file(enrolled, tmp_path):
    result = import_settlements(enrolled, extract(tmp_path, [srow(), srow()]))
    [e] = result.report.errors
    assert (e.row, e.column) == (3, "settlement_no") and "第 2 行" in e.message


def test_fast_and_reporting_paths_agree(tmp_path):
    from mutualaid.settlements.extract import COLUMNS, _fast, _reporting
    from mutualaid.tabular import open_table

    rows = [srow(), srow(settlement_no="X2", visit_type="outpatient", discharge_date="", diagnosis_code=""),
            srow(settlement_no="X3", is_reversal="Y", reverses="S0001", hospital_code=""),
            srow(settlement_no="X4", total_cost="20,000.00")]  # the slow path only: a thousands separator
    with open_table(extract(tmp_path, rows), COLUMNS) as table:
        for n, cells in table.rows():
            errors: list = []
            slow = _reporting(n, cells, errors)
            assert errors == [] and slow is not None
            if n < 5:
                assert _fast(n, cells) == slow
            else:
                with pytest.raises(Exception):
                    _fast(n, cells)


# --- no double claims ------------------------------------------------------------------------------

def test_settlement_for_a_stay_the_clerk_filed_is_attached_not_claimed(enrolled, tmp_path):
    submit_batch(enrolled, clerk_file(tmp_path))
    result = import_settlements(enrolled, extract(tmp_path, [srow()]))
    assert dict(result.counts) == {"attached": 1}
    assert set(claims(enrolled)) == {"TL2026-0001"}
    s = settlements(enrolled)["S0001"]
    assert (s.outcome, s.claim_id) == ("ATTACHED", claims(enrolled)["TL2026-0001"].id)
    job.run(enrolled, as_of=AS_OF)
    c = claims(enrolled)["TL2026-0001"]
    assert (c.status, c.payout_fen, c.reason_codes) == ("APPROVED", 714_000, "")  # same figures: no V05


def test_clerk_claim_replaces_an_undecided_settlement_claim(enrolled, tmp_path):
    import_settlements(enrolled, extract(tmp_path, [srow()]))
    submit_batch(enrolled, clerk_file(tmp_path), clerk="clerk1")
    cs = claims(enrolled)
    assert (cs["YB-S0001"].status, cs["YB-S0001"].payout_fen) == ("WITHDRAWN", 0)
    s = settlements(enrolled)["S0001"]
    assert (s.claim_id, s.created_claim_id) == (cs["TL2026-0001"].id, cs["YB-S0001"].id)  # linked
    with enrolled.sessions() as session:
        d = session.execute(select(Decision).where(Decision.claim_id == cs["YB-S0001"].id)).scalar_one()
    assert (d.kind, d.status, d.trace) == ("WITHDRAWAL", "WITHDRAWN", {"replaced_by": "TL2026-0001"})
    tally = job.run(enrolled, as_of=AS_OF)
    assert tally.decided == 1
    cs = claims(enrolled)
    assert (cs["TL2026-0001"].status, cs["TL2026-0001"].payout_fen) == ("APPROVED", 714_000)
    assert cs["YB-S0001"].status == "WITHDRAWN"
    # withdrawn: never reviewed, never exported
    with enrolled.transaction() as session, pytest.raises(ReviewError):
        review(session, "YB-S0001", "approve", reason="x", user="auditor", as_of=AS_OF)
    out = tmp_path / "export.csv"
    with enrolled.sessions() as session:
        assert export_decisions(session, out) == 1
    assert "YB-S0001" not in out.read_text()


def test_clerk_claim_for_a_stay_whose_settlement_claim_was_decided_is_a_duplicate(enrolled, tmp_path):
    import_settlements(enrolled, extract(tmp_path, [srow()]))
    job.run(enrolled, as_of=AS_OF)
    submit_batch(enrolled, clerk_file(tmp_path))
    job.run(enrolled, as_of=AS_OF)
    cs = claims(enrolled)
    assert (cs["YB-S0001"].status, cs["YB-S0001"].payout_fen) == ("APPROVED", 714_000)
    assert (cs["TL2026-0001"].status, cs["TL2026-0001"].payout_fen, cs["TL2026-0001"].reason_codes) == \
        ("REJECTED", 0, "R06")


# --- cross-check (V05) ------------------------------------------------------------------------------

@pytest.mark.parametrize("change", [dict(in_policy_self_pay="11000.00", out_of_policy_self_pay="2000.00"),
                                    dict(discharge_date="2026-04-14")])
def test_clerk_claim_that_differs_from_its_settlement_goes_to_review(enrolled, tmp_path, change):
    import_settlements(enrolled, extract(tmp_path, [srow(**change)]))
    submit_batch(enrolled, clerk_file(tmp_path))
    job.run(enrolled, as_of=AS_OF)
    c = claims(enrolled)["TL2026-0001"]
    assert (c.status, c.payout_fen, c.reason_codes) == ("PENDING_REVIEW", 714_000, "V05")
    with enrolled.sessions() as session:
        d = session.execute(select(Decision).where(Decision.claim_id == c.id)).scalar_one()
    expected = {"settlement_no": "S0001", "admission_date": "2026-04-03",
                "discharge_date": change.get("discharge_date", "2026-04-15"),
                "in_policy_self_pay": "11000.00" if "in_policy_self_pay" in change else "12000.00"}
    assert d.trace["settlement"] == expected and d.trace["facts"]["settlement_differs"] is True
    assert d.trace["amount"]["base"] == "12000.00"  # the clerk's figure beside the settlement's


def test_settlement_differing_from_a_decided_clerk_claim_puts_it_to_review(enrolled, tmp_path):
    submit_batch(enrolled, clerk_file(tmp_path))
    job.run(enrolled, as_of=AS_OF)
    result = import_settlements(enrolled, extract(tmp_path, [srow(in_policy_self_pay="11000.00",
                                                                  out_of_policy_self_pay="2000.00")]),
                                as_of=dt.date(2026, 7, 5))
    assert dict(result.counts) == {"attached": 1, "to_review": 1}
    c = claims(enrolled)["TL2026-0001"]
    assert (c.status, c.payout_fen, c.reason_codes, c.decided_by, c.decided_on) == \
        ("PENDING_REVIEW", 714_000, "V05", "settlement", dt.date(2026, 7, 5))


def test_a_policy_version_without_settlement_data_behaves_as_before(enrolled, tmp_path, monkeypatch):
    import dataclasses

    from mutualaid.claims import adjudication
    from mutualaid.claims.adjudication import SettlementFigures
    from tests import factories

    without = {v: p.model_copy(update={"settlements": None}) for v, p in policies().items()}
    # V05 is declared in the policy files (rules as data) but reads ``settlement_differs``,
    # which the adjudication computes only for a version with a ``settlements`` section
    m = factories.member()
    covers = [factories.enrollment("HOSP", "2025-01-01"), factories.enrollment("HOSP", "2026-01-01")]
    claim = factories.hosp(m, "2026-04-03", "2026-04-15", "12000.00")
    differing = dataclasses.replace(claim, settlement=SettlementFigures(
        "S1", dt.date(2026, 4, 3), dt.date(2026, 4, 15), 1_100_000))
    [checked] = factories.decide(m, covers, [differing])
    assert (checked.status, checked.payout_fen, checked.reason_codes) == ("PENDING_REVIEW", 714_000, ["V05"])
    monkeypatch.setattr(adjudication, "policies", lambda: without)  # the rules may declare V05: its fact never comes
    [as_today] = factories.decide(m, covers, [differing])
    [plain] = factories.decide(m, covers, [claim])
    assert (as_today.status, as_today.payout_fen, as_today.reason_codes) == \
        (plain.status, plain.payout_fen, plain.reason_codes) == ("APPROVED", 714_000, [])
    assert "settlement_differs" not in as_today.trace["facts"] and "settlement" not in as_today.trace
    monkeypatch.setattr(service, "policies", lambda: without)
    result = import_settlements(enrolled, extract(tmp_path, [srow()]))
    assert dict(result.counts) == {"scheme_off": 1} and result.report.stored == 0
    assert claims(enrolled) == {}


# --- reversals ---------------------------------------------------------------------------------------

def test_reversal_withdraws_an_undecided_claim(enrolled, tmp_path):
    result = import_settlements(enrolled, extract(tmp_path, [srow(), srow(settlement_no="S0001R", is_reversal="Y",
                                                                          reverses="S0001")]))
    assert dict(result.counts) == {"claimed": 1, "reversed": 1, "withdrawn": 1}
    assert claims(enrolled)["YB-S0001"].status == "WITHDRAWN"
    ss = settlements(enrolled)
    assert ss["S0001"].reversed_by == "S0001R" and ss["S0001R"].outcome == "REVERSAL"
    assert job.run(enrolled, as_of=AS_OF).decided == 0
    # the hospital settles the stay again: a new claim
    again = import_settlements(enrolled, extract(tmp_path, [srow(settlement_no="S0002")], name="s2.csv"))
    assert dict(again.counts) == {"claimed": 1}


def test_reversal_puts_a_decided_claim_to_review(enrolled, tmp_path):
    import_settlements(enrolled, extract(tmp_path, [srow()]))
    job.run(enrolled, as_of=AS_OF)
    result = import_settlements(enrolled, extract(tmp_path, [srow(settlement_no="S0001R", is_reversal="是",
                                                                  reverses="S0001")], name="s2.csv"))
    assert dict(result.counts) == {"reversed": 1, "to_review": 1}
    c = claims(enrolled)["YB-S0001"]
    assert (c.status, c.payout_fen, c.decided_by) == ("PENDING_REVIEW", 714_000, "settlement")
    with enrolled.transaction() as session:
        r = review(session, "YB-S0001", "reject", reason="冲销，医院已退费", user="auditor", as_of=AS_OF)
    assert (r.status, r.payout_fen) == ("REJECTED", 0)


def test_reversal_of_an_unknown_settlement_is_a_row_error(enrolled, tmp_path):
    result = import_settlements(enrolled, extract(tmp_path, [srow(settlement_no="S0001R", is_reversal="Y",
                                                                  reverses="S0001")]))
    [e] = result.report.errors
    assert (e.row, e.column, e.value) == (2, "reverses", "S0001")
    assert settlements(enrolled) == {}


def test_reversal_of_a_settlement_attached_to_a_clerk_claim_leaves_the_claim(enrolled, tmp_path):
    submit_batch(enrolled, clerk_file(tmp_path))
    import_settlements(enrolled, extract(tmp_path, [srow(in_policy_self_pay="11000.00",
                                                         out_of_policy_self_pay="2000.00"),
                                                    srow(settlement_no="S0001R", is_reversal="Y", reverses="S0001",
                                                         in_policy_self_pay="11000.00",
                                                         out_of_policy_self_pay="2000.00")]))
    job.run(enrolled, as_of=AS_OF)
    c = claims(enrolled)["TL2026-0001"]
    assert (c.status, c.reason_codes) == ("APPROVED", "")  # a cancelled settlement is no cross-check


# --- the command ---------------------------------------------------------------------------------------

def test_cli_exit_codes(enrolled, tmp_path):
    from mutualaid.cli import app

    runner = CliRunner()
    good = extract(tmp_path, [srow()])
    r = runner.invoke(app, ["settlements", "import", str(good), "--db", enrolled.url, "--as-of", "2026-07-01"])
    assert r.exit_code == 0, r.output
    assert "claims made" in r.output
    bad = extract(tmp_path, [srow(settlement_no="S0002", total_cost="1.00")], name="bad.csv")
    out = tmp_path / "errors.csv"
    r = runner.invoke(app, ["settlements", "import", str(bad), "--db", enrolled.url, "--errors", str(out)])
    assert r.exit_code == 1 and "total_cost" in out.read_text(encoding="utf-8-sig")
    r = runner.invoke(app, ["settlements", "import", str(tmp_path / "missing.csv"), "--db", enrolled.url])
    assert r.exit_code == 2
    r = runner.invoke(app, ["settlements", "figures", "--db", enrolled.url])
    assert r.exit_code == 0 and "paid with no application" in r.output


def test_a_reversal_takes_the_claim_out_of_a_payment_run_not_yet_exported(enrolled, tmp_path):
    from mutualaid.payments import service as payments

    import_settlements(enrolled, extract(tmp_path, [srow()]))
    job.run(enrolled, as_of=AS_OF)
    with enrolled.transaction() as s:
        created = payments.create_run(s, as_of=AS_OF, user="fin1")
    assert created.run_id is not None and created.total_fen == 714_000
    with enrolled.transaction() as s:
        payments.approve_run(s, created.run_id, user="fin2")
    import_settlements(enrolled, extract(tmp_path, [srow(settlement_no="S0001R", is_reversal="Y", reverses="S0001")],
                                         name="r.csv"))
    with enrolled.transaction() as s:
        exported = payments.export_run(s, created.run_id, user="fin1")
    assert [c for c, _ in exported.dropped] == ["YB-S0001"] and exported.data is None  # nothing left to pay


def test_a_batch_filed_as_of_a_past_day_dates_the_withdrawal_then(enrolled, tmp_path):
    """The demo replays a past year: a withdrawal caused by a batch carries the batch's filing day."""
    import datetime as dt

    import_settlements(enrolled, extract(tmp_path, [srow()]))
    submit_batch(enrolled, clerk_file(tmp_path), clerk="clerk1", as_of=dt.date(2026, 8, 31))
    withdrawn = claims(enrolled)["YB-S0001"]
    assert (withdrawn.status, withdrawn.decided_on) == ("WITHDRAWN", dt.date(2026, 8, 31))
