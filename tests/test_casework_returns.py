"""Return for correction (退回补正), resubmission, R10 closing and appeals, through the real database."""
import csv
import datetime as dt

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import batch.adjudicate as job
from mutualaid.casework.service import CaseworkError, appeal_claim, decide, return_claim, returned_claims
from mutualaid.claims.export import export_decisions
from mutualaid.claims.intake import submit_batch
from mutualaid.store.models import Claim, Decision
from mutualaid.store.models_casework import ClaimAppeal, ClaimReturn, ClaimVersion
from tests.test_batch import enrolled  # noqa: F401  (fixture)
from tests.test_import import CLAIM_HEAD, women_row, write

D = dt.date.fromisoformat
IN_SITU = dict(pathology_confirmed="N")  # V03: pending review, 2 units x 8,000
INVASIVE = dict(claim_no="W2", diagnosis_code="C50.9", diagnosis_date="2026-06-01", submitted_date="2026-06-20")


def state(db, claim_no):
    with db.sessions() as s:
        c = s.execute(select(Claim).where(Claim.claim_no == claim_no)).scalar_one()
        return c.status, c.payout_fen, c.reason_codes


@pytest.fixture
def pending(enrolled, tmp_path):  # noqa: F811
    db = enrolled
    submit_batch(db, write(tmp_path / "b1.csv", CLAIM_HEAD, [women_row(**IN_SITU), women_row(**INVASIVE)]))
    job.run(db, as_of=D("2026-07-01"))
    assert state(db, "TL2026-W001") == ("PENDING_REVIEW", 1_600_000, "V03")
    assert state(db, "W2") == ("APPROVED", 1_600_000, "A04")  # 32,000 less the 16,000 counted for in-situ
    return db


def do_return(db, claim_no="TL2026-W001", as_of="2026-07-02", **kw):
    args = dict(reason_code="missing_document", note="请补病理报告", user="auditor1", as_of=D(as_of))
    args.update(kw)
    with db.transaction() as s:
        return return_claim(s, claim_no, **args)


def test_returned_claim_counts_against_nothing(pending, tmp_path):
    db = pending
    result = do_return(db)
    assert result.status == "RETURNED"
    assert [(c.claim_no, c.after) for c in result.readjudicated] == [("W2", ("PENDING_REVIEW", 3_200_000))]
    assert state(db, "TL2026-W001") == ("RETURNED", 0, "V03")
    assert state(db, "W2") == ("PENDING_REVIEW", 3_200_000, "V01")
    out = tmp_path / "d.csv"
    with db.sessions() as s:
        export_decisions(s, out)
        [(c, r)] = returned_claims(s)
        assert (c.claim_no, r.reason_code, r.returned_by, r.state) == ("TL2026-W001", "missing_document", "auditor1", "OPEN")
        assert s.execute(select(Decision.kind).where(Decision.claim_id == c.id).order_by(Decision.id)
                         ).scalars().all() == ["AUTO", "RETURN"]
    rows = {r["claim_no"]: r for r in csv.DictReader(open(out, encoding="utf-8-sig"))}
    assert rows["TL2026-W001"]["status"] == "RETURNED" and rows["TL2026-W001"]["payout"] == "0.00"


def test_corrected_row_resubmits_and_is_decided_in_its_place(pending, tmp_path):
    db = pending
    do_return(db)
    with db.sessions() as s:
        seq = s.execute(select(Claim.decision_seq).where(Claim.claim_no == "TL2026-W001")).scalar()
    corrected = women_row(pathology_confirmed="Y", submitted_date="2026-07-05")
    rep = submit_batch(db, write(tmp_path / "b2.csv", CLAIM_HEAD, [corrected]), clerk="clerk1")
    assert (rep.stored, rep.unchanged, rep.errors) == (1, 0, [])
    with db.sessions() as s:
        c = s.execute(select(Claim).where(Claim.claim_no == "TL2026-W001")).scalar_one()
        assert (c.status, c.submitted_date, c.pathology_confirmed, c.batch_id) == ("RECEIVED", D("2026-06-01"), True,
                                                                                    rep.import_id)
        [v] = s.execute(select(ClaimVersion)).scalars().all()
        assert (v.version_no, v.content["pathology_confirmed"], v.content["submitted_date"]) == (1, False, "2026-06-01")
        assert s.execute(select(ClaimReturn.state)).scalar() == "RESUBMITTED"
    # the same corrected file again: unchanged, not another version
    again = submit_batch(db, write(tmp_path / "b3.csv", CLAIM_HEAD, [corrected, women_row(claim_no="X9")]))
    assert (again.stored, again.unchanged) == (1, 1)
    tally = job.run(db, as_of=D("2026-07-10"))
    assert tally.by_status["APPROVED"] >= 1
    assert state(db, "TL2026-W001") == ("APPROVED", 1_600_000, "")
    assert state(db, "W2") == ("APPROVED", 1_600_000, "A04")  # re-adjudicated again, counting it
    with db.sessions() as s:
        assert s.execute(select(Claim.decision_seq).where(Claim.claim_no == "TL2026-W001")).scalar() == seq
        kinds = s.execute(select(Decision.kind).join(Claim, Claim.id == Decision.claim_id)
                          .where(Claim.claim_no == "W2").order_by(Decision.id)).scalars().all()
        assert kinds == ["AUTO", "READJUDICATION", "READJUDICATION"]


def test_changed_row_of_a_claim_not_returned_is_still_a_conflict(pending, tmp_path):
    rep = submit_batch(pending, write(tmp_path / "b2.csv", CLAIM_HEAD, [women_row(pathology_confirmed="Y")]))
    assert [e.code for e in rep.errors] == ["conflict"] and rep.stored == 0


@pytest.mark.parametrize("days,expected", [(60, ("RETURNED", 0, "V03")), (61, ("REJECTED", 0, "R10"))])
def test_r10_closes_uncorrected_returns_after_the_policy_days(pending, days, expected):
    db = pending
    do_return(db)
    job.run(db, as_of=D("2026-07-02") + dt.timedelta(days=days))
    assert state(db, "TL2026-W001") == expected
    if expected[0] == "REJECTED":
        with db.sessions() as s:
            assert s.execute(select(ClaimReturn.state)).scalar() == "CLOSED"
            d = s.execute(select(Decision).order_by(Decision.id.desc()).limit(1)).scalar()
            assert (d.kind, d.trace["fired"], d.trace["facts"]) == ("CLOSE", ["R10"], {"days_past_correction_limit": 1})


def test_return_rules(pending):
    db = pending
    with pytest.raises(CaseworkError) as e:
        do_return(db, reason_code="because")
    assert e.value.code == "case.bad_reason_code"
    with pytest.raises(CaseworkError) as e:
        do_return(db, note="  ")
    assert e.value.code == "case.note_required"
    with pytest.raises(CaseworkError) as e:
        do_return(db, claim_no="W2")
    assert e.value.code == "case.not_pending"
    with pytest.raises(CaseworkError) as e:
        do_return(db, user="cli")  # submitted the batch
    assert e.value.code == "case.own_batch"
    do_return(db)
    with db.transaction() as s, pytest.raises(CaseworkError) as e:
        decide(s, "TL2026-W001", "approve", reason="ok", user="auditor2", as_of=D("2026-07-03"))
    assert e.value.code == "case.is_returned"


def test_appeal_settled_by_another_auditor(pending):
    db = pending
    with db.transaction() as s:
        decide(s, "W2", "reject", reason="材料不全", user="auditor1", as_of=D("2026-07-02"))
    with db.transaction() as s, pytest.raises(CaseworkError) as e:
        appeal_claim(s, "W2", note="补充病理", user="clerk1", as_of=D("2026-09-01"))  # 61 days
    assert e.value.code == "case.appeal_too_late"
    with db.transaction() as s:
        appeal_claim(s, "W2", note="补充病理", user="clerk1", as_of=D("2026-08-31"))
    with db.transaction() as s, pytest.raises(CaseworkError) as e:
        appeal_claim(s, "W2", note="again", user="clerk1", as_of=D("2026-08-31"))
    assert e.value.code == "case.appeal_open"
    with db.transaction() as s, pytest.raises(CaseworkError) as e:
        decide(s, "W2", "approve", reason="ok", user="auditor1", as_of=D("2026-09-02"))
    assert e.value.code == "case.appeal_same_auditor"
    with db.transaction() as s:
        r = decide(s, "W2", "approve", reason="病理确认", user="auditor2", as_of=D("2026-09-02"))
    assert (r.status, r.payout_fen) == ("APPROVED", 1_600_000)
    with db.sessions() as s:
        a = s.execute(select(ClaimAppeal)).scalar_one()
        assert (a.state, a.outcome, a.settled_by, a.appealed_decided_by) == ("SETTLED", "APPROVED", "auditor2", "auditor1")
        kinds = s.execute(select(Decision.status).join(Claim, Claim.id == Decision.claim_id)
                          .where(Claim.claim_no == "W2", Decision.kind == "REVIEW").order_by(Decision.id)).scalars().all()
        assert kinds == ["REJECTED", "APPROVED"]


def test_appeal_needs_a_rejection(pending):
    with pending.transaction() as s, pytest.raises(CaseworkError) as e:
        appeal_claim(s, "W2", note="x", user="clerk1", as_of=D("2026-07-02"))
    assert e.value.code == "case.not_rejected"


def test_cli_return_and_appeal(pending, tmp_path):
    from mutualaid.cli import app

    url = pending.url
    runner = CliRunner()
    r = runner.invoke(app, ["review", "return", "TL2026-W001", "--reason-code", "missing_document", "--note", "缺病理",
                            "--user", "auditor1", "--as-of", "2026-07-02", "--db", url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["review", "return", "W2", "--reason-code", "nope", "--note", "x", "--user", "a", "--db", url])
    assert r.exit_code == 2
    out = tmp_path / "d.csv"
    r = runner.invoke(app, ["decisions", "export", "--out", str(out), "--db", url])
    rows = {row["claim_no"]: row["status"] for row in csv.DictReader(open(out, encoding="utf-8-sig"))}
    assert rows["TL2026-W001"] == "RETURNED"
    r = runner.invoke(app, ["review", "reject", "W2", "--reason", "no", "--user", "auditor1", "--as-of", "2026-07-03",
                            "--db", url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["review", "appeal", "W2", "--note", "申诉", "--user", "clerk1", "--as-of", "2026-07-04",
                            "--db", url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["review", "approve", "W2", "--reason", "ok", "--user", "auditor1", "--db", url])
    assert r.exit_code == 2
    r = runner.invoke(app, ["review", "approve", "W2", "--reason", "ok", "--user", "auditor2", "--as-of", "2026-07-05",
                            "--db", url])
    assert r.exit_code == 0, r.output
    assert state(pending, "W2")[0] == "APPROVED"


def test_correction_form_validates_like_a_batch_row(pending):
    from mutualaid.casework.service import correct_claim, form_values

    db = pending
    do_return(db)
    with db.sessions() as s:
        values = form_values(s.execute(select(Claim).where(Claim.claim_no == "TL2026-W001")).scalar_one())
    assert (values["product"], values["pathology_confirmed"], values["diagnosis_date"]) == ("WOMEN", "N", "2026-05-20")
    with db.transaction() as s:
        errors = correct_claim(s, "TL2026-W001", {**values, "pathology_confirmed": "maybe", "admission_date": "2026-05-01"},
                               user="clerk1")
    assert sorted((e.column, e.code) for e in errors) == [("admission_date", "other_product_column"),
                                                          ("pathology_confirmed", "bad_yes_no")]
    assert state(db, "TL2026-W001")[0] == "RETURNED"
    with db.transaction() as s, pytest.raises(CaseworkError) as e:
        correct_claim(s, "TL2026-W001", {**values, "pathology_confirmed": "Y"}, user="clerk1", units=["TL9999"])
    assert e.value.code == "case.no_claim"
    with db.transaction() as s:
        assert correct_claim(s, "TL2026-W001", {**values, "pathology_confirmed": "Y"}, user="clerk1") == []
    with db.sessions() as s:
        c = s.execute(select(Claim).where(Claim.claim_no == "TL2026-W001")).scalar_one()
        assert (c.status, c.pathology_confirmed, c.submitted_date) == ("RECEIVED", True, D("2026-06-01"))
    job.run(db, as_of=D("2026-07-10"))
    assert state(db, "TL2026-W001") == ("APPROVED", 1_600_000, "")
    with db.transaction() as s, pytest.raises(CaseworkError) as e:
        correct_claim(s, "TL2026-W001", values, user="clerk1")
    assert e.value.code == "case.not_returned"


def test_overlapping_stay_readjudicated_when_returned_and_again_when_corrected(enrolled, tmp_path):  # noqa: F811
    from tests.test_import import M1, hosp_row

    db = enrolled
    first = hosp_row(member_name="王丽x")  # V02: pending review; 7,140.00
    rows = [first, hosp_row(claim_no="H2", admission_date="2026-04-10", discharge_date="2026-04-12"),
            hosp_row(claim_no="H3", member_id_number=M1, member_name="张伟", admission_date="2026-05-20",
                     discharge_date="2026-05-25", submitted_date="2026-06-01")]
    submit_batch(db, write(tmp_path / "h.csv", CLAIM_HEAD, rows))
    job.run(db, as_of=D("2026-07-01"))
    other = state(db, "H3")
    assert state(db, "TL2026-0001")[:2] == ("PENDING_REVIEW", 714_000)
    assert state(db, "H2")[0] == "REJECTED" and "R06" in state(db, "H2")[2]
    result = do_return(db, claim_no="TL2026-0001", reason_code="name_mismatch")
    assert [c.claim_no for c in result.readjudicated] == ["H2"]
    assert state(db, "H2")[0] == "APPROVED"  # the returned stay no longer overlaps anything counted
    submit_batch(db, write(tmp_path / "fix.csv", CLAIM_HEAD, [hosp_row(submitted_date="2026-07-03")]))
    job.run(db, as_of=D("2026-07-10"))
    assert state(db, "TL2026-0001") == ("APPROVED", 714_000, "")
    assert state(db, "H2")[0] == "REJECTED" and "R06" in state(db, "H2")[2]  # again, now that it counts
    assert state(db, "H3") == other  # another member's claim never changes


def test_distributed_run_closes_uncorrected_returns_too(pending):
    from batch.distributed import run_distributed

    db = pending
    do_return(db)
    # nothing else is undecided: the run closes the return and needs no Dask worker at all
    tally = run_distributed(db.url, as_of=D("2026-09-01"), workers=1)
    assert (tally.decided, tally.by_status["REJECTED"]) == (1, 1)
    assert state(db, "TL2026-W001") == ("REJECTED", 0, "R10")
