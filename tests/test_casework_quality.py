"""Quality sampling (事后抽查): reproducible draw, threshold approvals, verdicts, monthly rate."""
import datetime as dt

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from mutualaid.casework.quality import draw, figures_by_month, queue, record_verdict, sample_key
from mutualaid.casework.service import CaseworkError
from mutualaid.store.models import Claim, FileImport
from mutualaid.store.models_casework import QualitySample

D = dt.date.fromisoformat


def approvals(db, n=100, month="2026-05", big=()):
    """n approvals by the engine in the month (payout 500.00), those in ``big`` at 12,000.00, one by an auditor."""
    with db.transaction() as s:
        batch = FileImport(kind="CLAIMS", file_name="b.csv", fingerprint="x", imported_by="cli")
        s.add(batch)
        s.flush()
        for i in range(n):
            s.add(Claim(claim_no=f"Q{i:04d}", batch_id=batch.id, product="HOSP", member_id_number=f"{i:018d}",
                        member_name="王丽", submitted_date=D(month + "-01"), event_date=D(month + "-01"),
                        row_hash="h", status="APPROVED", payout_fen=1_200_000 if i in big else 50_000,
                        decided_on=D(month + "-10"), decided_by="engine", decision_seq=i + 1))
        s.add(Claim(claim_no="AUD1", batch_id=batch.id, product="HOSP", member_id_number="9" * 18, member_name="张伟",
                    submitted_date=D(month + "-01"), event_date=D(month + "-01"), row_hash="h", status="APPROVED",
                    payout_fen=3_000_000, decided_on=D(month + "-12"), decided_by="auditor1", decision_seq=n + 1))
        s.add(Claim(claim_no="JUNE", batch_id=batch.id, product="HOSP", member_id_number="8" * 18, member_name="张伟",
                    submitted_date=D(month + "-01"), event_date=D(month + "-01"), row_hash="h", status="APPROVED",
                    payout_fen=50_000, decided_on=D("2026-06-01"), decided_by="engine", decision_seq=n + 2))
    return db


def sampled(db):
    with db.sessions() as s:
        return sorted(s.execute(select(Claim.claim_no, QualitySample.reason)
                                .join(QualitySample, QualitySample.claim_id == Claim.id)).all())


def test_draw_is_reproducible_rate_plus_threshold(db):
    approvals(db, big=(7,))
    with db.transaction() as s:
        d = draw(s, "2026-05", user="auditor2")
    ranked = sorted((f"Q{i:04d}" for i in range(100)), key=lambda c: sample_key(2026, "2026-05", c))
    random_ = sorted(ranked[:3])  # ceil(3 % of the engine's 100 May approvals); JUNE is June's
    thresholds = sorted({"AUD1", "Q0007"} - set(random_))  # paying more than 10,000.00
    assert (d.population, d.random, d.threshold, d.already) == (100, 3, len(thresholds), 0)
    got = sampled(db)
    assert got == sorted([(c, "RANDOM") for c in random_] + [(c, "THRESHOLD") for c in thresholds])
    with db.transaction() as s:
        again = draw(s, "2026-05", user="auditor2")
    assert again.already == len(got) and sampled(db) == got


def test_same_seed_same_sample_in_a_fresh_database(db, sqlite_db):
    approvals(db)
    approvals(sqlite_db)
    for database in (db, sqlite_db):
        with database.transaction() as s:
            draw(s, "2026-05", user="a", seed=7)
    assert sampled(db) == sampled(sqlite_db)
    ranked = sorted((f"Q{i:04d}" for i in range(100)), key=lambda c: sample_key(7, "2026-05", c))
    # the engine's approvals of May: Q0000..Q0099 (JUNE is June's); 3 % of 100 = 3, plus AUD1 above the threshold
    assert [c for c, r in sampled(db) if r == "RANDOM"] == sorted(ranked[:3])


def test_verdicts_and_monthly_rate(db):
    approvals(db, n=40)
    with db.transaction() as s:
        draw(s, "2026-05", user="a")
    with db.sessions() as s:
        items = [c.claim_no for _, c in queue(s, month="2026-05")]
    assert "AUD1" in items and len(items) == 3  # ceil(0.03 * 40) = 2 random + AUD1
    with db.transaction() as s, pytest.raises(CaseworkError) as e:
        record_verdict(s, "AUD1", "agree", note=None, user="auditor1")  # decided it himself
    assert e.value.code == "case.own_decision"
    with db.transaction() as s, pytest.raises(CaseworkError) as e:
        record_verdict(s, items[0], "disagree", note=" ", user="auditor2")
    assert e.value.code == "case.note_required"
    with db.transaction() as s, pytest.raises(CaseworkError) as e:
        record_verdict(s, items[0], "maybe", note="x", user="auditor2")
    assert e.value.code == "case.bad_verdict"
    with db.transaction() as s, pytest.raises(CaseworkError) as e:
        record_verdict(s, "JUNE", "agree", note="x", user="auditor2")
    assert e.value.code == "case.no_sample"
    with db.transaction() as s:
        record_verdict(s, items[0], "disagree", note="金额应为 400.00", user="auditor2")
        record_verdict(s, items[1], "agree", note=None, user="auditor2")
    with db.transaction() as s, pytest.raises(CaseworkError) as e:
        record_verdict(s, items[1], "agree", note=None, user="auditor3")
    assert e.value.code == "case.already_checked"
    with db.sessions() as s:
        [f] = figures_by_month(s)
        assert (f.month, f.sampled, f.checked, f.disagreed, f.rate) == ("2026-05", 3, 2, 1, 0.5)
        assert [c.claim_no for _, c in queue(s)] == ["AUD1"]


def test_cli_quality(db):
    from mutualaid.cli import app

    approvals(db, n=10)
    runner = CliRunner()
    r = runner.invoke(app, ["quality", "draw", "--month", "2026-05", "--db", db.url])
    assert r.exit_code == 0 and "drawn 1 at random + 1 above" in r.output, r.output
    r = runner.invoke(app, ["quality", "draw", "--month", "2026-13", "--db", db.url])
    assert r.exit_code == 2
    r = runner.invoke(app, ["quality", "check", "AUD1", "--verdict", "disagree", "--note", "应拒付", "--user", "a2",
                            "--db", db.url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["quality", "report", "--db", db.url])
    assert r.exit_code == 0 and "100.0%" in r.output, r.output
