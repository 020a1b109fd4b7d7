"""The adjudication batch job through the real database: re-runs, splits, interruptions, reviews."""
import datetime as dt

import pytest
from sqlalchemy import func, select

import batch.adjudicate as job
from mutualaid import audit
from mutualaid.claims import decide as decide_mod
from mutualaid.claims.intake import submit_batch
from mutualaid.claims.review import ReviewConflict, ReviewError, review
from mutualaid.enrollments import import_roster
from mutualaid.store.models import AuditEntry, Claim, Decision
from tests.test_import import CLAIM_HEAD, F1, F2, M1, ROSTER_HEAD, hosp_row, roster_row, women_row, write

AS_OF = dt.date(2026, 7, 1)


def snapshot(db):
    with db.sessions() as s:
        return sorted(s.execute(select(Claim.claim_no, Claim.status, Claim.payout_fen, Claim.reason_codes,
                                       Claim.policy_version)).all())


@pytest.fixture
def enrolled(db, tmp_path):
    import_roster(db, write(tmp_path / "r.csv", ROSTER_HEAD, [
        roster_row(start_date="2025-01-01", end_date="2025-12-31"), roster_row(),
        roster_row(product="WOMEN", units="2", premium_paid="60.00", start_date="2025-01-01", end_date="2025-12-31"),
        roster_row(product="WOMEN", units="2", premium_paid="60.00"),
        roster_row(member_id_number=M1, member_name="张伟"),
        roster_row(member_id_number=F2, member_name="刘芳", start_date="2025-01-01", end_date="2025-12-31"),
        roster_row(member_id_number=F2, member_name="刘芳"),
    ]))
    return db


def claim_rows():
    return [
        hosp_row(),  # worked example: 7,140.00
        hosp_row(claim_no="H2", admission_date="2026-04-10", discharge_date="2026-04-12"),  # overlaps -> R06
        hosp_row(claim_no="H3", member_id_number=M1, member_name="张伟", admission_date="2026-01-20",
                 discharge_date="2026-01-25", submitted_date="2026-02-01"),  # waiting period -> R03
        hosp_row(claim_no="H4", member_id_number=F2, member_name="刘芳", admission_date="2026-05-01",
                 discharge_date="2026-05-03", submitted_date="2026-05-10", in_policy_self_pay="300.00",
                 total_cost="1300.00", insurance_paid="700.00", out_of_policy_self_pay="300.00"),
        women_row(),  # 2 units x 8,000
        women_row(claim_no="W2", diagnosis_code="C50.9", diagnosis_date="2026-06-01", submitted_date="2026-06-20"),
    ]


def claims_file(tmp_path, name="c.csv"):
    return write(tmp_path / name, CLAIM_HEAD, claim_rows())


def test_batch_decides_everything_once(enrolled, tmp_path):
    db = enrolled
    submit_batch(db, claims_file(tmp_path))
    tally = job.run(db, as_of=AS_OF)
    assert tally.decided == 6
    snap = {r.claim_no: r for r in snapshot(db)}
    assert (snap["TL2026-0001"].status, snap["TL2026-0001"].payout_fen) == ("APPROVED", 714_000)
    assert snap["H2"].reason_codes == "R06"
    assert snap["H3"].reason_codes == "R03"
    assert (snap["H4"].payout_fen, snap["H4"].reason_codes) == (20_000 + 4_000, "A01")  # min 200 + 2 days x 20
    assert (snap["TL2026-W001"].payout_fen, snap["TL2026-W001"].policy_version) == (1_600_000, "WOMEN-2026")
    # invasive after in-situ, 2 units: 32,000 - 16,000
    assert (snap["W2"].payout_fen, snap["W2"].reason_codes) == (1_600_000, "A04")
    again = job.run(db, as_of=dt.date(2026, 8, 1))
    assert again.decided == 0 and snapshot(db) == sorted(snap.values())
    with db.sessions() as s:
        assert s.execute(select(func.count()).select_from(Decision)).scalar() == 6
        d = s.execute(select(Decision).join(Claim).where(Claim.claim_no == "TL2026-0001")).scalar_one()
        assert d.trace["policy_version"] == "HOSP-2026" and d.decided_on == AS_OF
        assert audit.verify(s).ok


def test_split_batch_gives_same_decisions(enrolled, tmp_path, db):
    # the first batch holds the earlier events of each member, as batches arrive month by month
    event = lambda r: r.get("admission_date") or r.get("diagnosis_date")  # noqa: E731
    early = [r for r in claim_rows() if event(r) < "2026-04-05"]
    late = [r for r in claim_rows() if event(r) >= "2026-04-05"]
    assert early and late
    submit_batch(db, write(tmp_path / "a.csv", CLAIM_HEAD, early))
    job.run(db, as_of=AS_OF)
    submit_batch(db, write(tmp_path / "b.csv", CLAIM_HEAD, late))
    job.run(db, as_of=AS_OF)
    split = snapshot(db)
    with db.transaction() as s:
        s.execute(Decision.__table__.delete())
        s.execute(Claim.__table__.update().values(status="RECEIVED", payout_fen=0, reason_codes="",
                                                  policy_version="", decided_on=None, decision_seq=None))
    job.run(db, as_of=AS_OF)
    assert snapshot(db) == split


def test_interrupted_run_loses_nothing_and_decides_nothing_twice(enrolled, tmp_path, monkeypatch):
    db = enrolled
    submit_batch(db, claims_file(tmp_path))
    real = decide_mod.store_outcomes
    calls = {"n": 0}

    def crash_on_second_chunk(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed")
        return real(*a, **kw)

    monkeypatch.setattr(decide_mod, "store_outcomes", crash_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        job.run(db, as_of=AS_OF, members_per_chunk=1)
    monkeypatch.setattr(decide_mod, "store_outcomes", real)
    decided_before = [r for r in snapshot(db) if r.status != "RECEIVED"]
    assert 0 < len(decided_before) < 6
    job.run(db, as_of=AS_OF, members_per_chunk=1)
    after = snapshot(db)
    assert all(r.status != "RECEIVED" for r in after)
    with db.sessions() as s:
        assert s.execute(select(func.count()).select_from(Decision)).scalar() == 6


def test_review_approve_pending_and_reject_cascades(enrolled, tmp_path):
    db = enrolled
    submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [
        women_row(pathology_confirmed="N"),                                               # IN_SITU pending (V03)
        women_row(claim_no="W2", diagnosis_code="C50.9", diagnosis_date="2026-06-01",
                  submitted_date="2026-06-20"),                                           # INVASIVE minus IN_SITU
    ]))
    job.run(db, as_of=AS_OF)
    snap = {r.claim_no: r for r in snapshot(db)}
    assert snap["TL2026-W001"].status == "PENDING_REVIEW"
    assert (snap["W2"].payout_fen, snap["W2"].reason_codes) == (1_600_000, "A04")
    with pytest.raises(ReviewError):
        with db.transaction() as s:
            review(s, "TL2026-W001", "reject", reason=" ", user="auditor1", as_of=AS_OF)
    with db.transaction() as s:
        result = review(s, "TL2026-W001", "reject", reason="病理报告为良性", user="auditor1", as_of=AS_OF)
    assert [(c.claim_no, c.after) for c in result.readjudicated] == [("W2", ("PENDING_REVIEW", 3_200_000))]
    snap = {r.claim_no: r for r in snapshot(db)}
    assert (snap["TL2026-W001"].status, snap["TL2026-W001"].payout_fen) == ("REJECTED", 0)
    assert (snap["W2"].status, snap["W2"].payout_fen, snap["W2"].reason_codes) == ("PENDING_REVIEW", 3_200_000, "V01")
    with db.transaction() as s:
        review(s, "W2", "approve", reason="大额已核实", user="auditor2", as_of=AS_OF)
        actions = s.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars().all()
        assert actions[-3:] == ["claim.reject", "claim.readjudicate", "claim.approve"]
        assert audit.verify(s).ok
    assert {r.claim_no: r.status for r in snapshot(db)}["W2"] == "APPROVED"


def test_review_conflict_when_version_moved(enrolled, tmp_path):
    db = enrolled
    submit_batch(db, claims_file(tmp_path))
    job.run(db, as_of=AS_OF)
    with db.sessions() as s:
        v = s.execute(select(Claim.version).where(Claim.claim_no == "H2")).scalar()
    with db.transaction() as s:
        review(s, "H2", "approve", reason="非重复住院", user="a1", as_of=AS_OF, expected_version=v)
    with pytest.raises(ReviewConflict):
        with db.transaction() as s:
            review(s, "H2", "reject", reason="重复", user="a2", as_of=AS_OF, expected_version=v)


def test_concurrent_batch_run_refused(enrolled, tmp_path):
    from mutualaid.store.locks import JobBusy, job_lock
    db = enrolled
    with job_lock(db, "adjudicate"):
        with pytest.raises(JobBusy):
            job.run(db, as_of=AS_OF)
