"""Two auditors at once on one member's claims (found by benchmarks/soak.py).

Auditor A rejects claim X, which re-decides the member's later claim Y; meanwhile auditor B
approves Y with the version B read. Before the fix, PostgreSQL either deadlocked (A held the
audit-log lock, B held Y's row) or A's re-decision overwrote B's approval. Now reviews queue
on the audit-log lock: B's approval either lands after A's re-decision or is refused as stale.
"""
from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select

import batch.adjudicate as adj
import mutualaid.claims.review as review_mod
from api import services
from api.errors import AppError
from mutualaid.claims.intake import submit_batch
from mutualaid.enrollments import import_roster
from mutualaid.store.models import Claim, Decision
from mutualaid.users import Principal
from tests.test_import import CLAIM_HEAD, ROSTER_HEAD, hosp_row, roster_row, write


def _claim(db, no):  # noqa: ANN001
    with db.sessions() as s:
        c = s.execute(select(Claim).where(Claim.claim_no == no)).scalar()
        decisions = s.execute(select(func.count()).select_from(Decision).where(Decision.claim_id == c.id)).scalar()
        last = s.execute(select(Decision).where(Decision.claim_id == c.id).order_by(Decision.id.desc())
                         .limit(1)).scalar()
        return c.id, c.status, c.version, decisions, last.decided_by


def test_concurrent_reviews_of_one_member_neither_deadlock_nor_lose_a_decision(db, tmp_path, monkeypatch):
    import_roster(db, write(tmp_path / "r.csv", ROSTER_HEAD, [roster_row()]))
    # X: name typo (V02, pending); Y: the same stay again (R06, rejected as a duplicate of X)
    submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [
        hosp_row(claim_no="X", member_name="王莉"), hosp_row(claim_no="Y", submitted_date="2026-04-21")]),
        clerk="clerk")
    adj.run(db, as_of=dt.date(2026, 7, 1))
    x_id, _, x_version, _, _ = _claim(db, "X")
    y_id, y_status, y_version, _, _ = _claim(db, "Y")
    assert y_status == "REJECTED"

    paused, go = threading.Event(), threading.Event()
    real = review_mod.adjudicate_members

    def slow(cases):  # noqa: ANN001 - A stops between reading Y and re-deciding it
        paused.set()
        go.wait(10)
        return real(cases)

    monkeypatch.setattr(review_mod, "adjudicate_members", slow)
    outcome: dict[str, object] = {}
    day = dt.date(2026, 7, 2)

    def auditor(name: str, claim_id: int, action: str, version: int) -> None:
        try:
            services.review_claim(db, Principal(1, name, "auditor", ()), claim_id, action=action,
                                  reason="checked", version=version, as_of=day)
            outcome[name] = "ok"
        except AppError as e:
            outcome[name] = e.status
        except Exception as e:  # noqa: BLE001 - a deadlock or anything else fails the test below
            outcome[name] = repr(e)

    a = threading.Thread(target=auditor, args=("auditorA", x_id, "reject", x_version))
    a.start()
    assert paused.wait(10)
    monkeypatch.setattr(review_mod, "adjudicate_members", real)
    b = threading.Thread(target=auditor, args=("auditorB", y_id, "approve", y_version))
    b.start()
    b.join(0.5)  # B is now waiting for A (lock), or done
    go.set()
    a.join(30)
    b.join(30)
    assert outcome["auditorA"] == "ok"
    assert outcome["auditorB"] in ("ok", 409)
    _, status, version, decisions, decided_by = _claim(db, "Y")
    assert version == decisions  # every change to Y is a recorded decision: nothing overwritten
    if outcome["auditorB"] == "ok":
        assert (status, decided_by) == ("APPROVED", "auditorB")
