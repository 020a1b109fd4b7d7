"""Store round-trips on every configured database."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from mutualaid import audit, money
from mutualaid.store.models import Claim, FileImport


def test_money_roundtrip_at_the_top(db):
    top = Decimal("9999999999.99")
    with db.transaction() as s:
        fi = FileImport(kind="CLAIMS", file_name="x.csv", fingerprint="f" * 64, imported_by="t")
        s.add(fi)
        s.flush()
        s.add(Claim(claim_no="C1", batch_id=fi.id, product="HOSP", member_id_number="1" * 18,
                    member_name="张三", submitted_date=dt.date(2026, 1, 2), event_date=dt.date(2026, 1, 1),
                    total_cost_fen=money.to_fen(top), payout_fen=money.to_fen(top), row_hash="h"))
    with db.transaction() as s:
        c = s.execute(select(Claim)).scalar_one()
        assert isinstance(c.total_cost_fen, int)
        assert money.from_fen(c.total_cost_fen) == top
        assert money.fmt(c.payout_fen, fen=True) == "9999999999.99"


def test_audit_chain_detects_edit_and_delete(db):
    with db.transaction() as s:
        for i in range(3):
            audit.record(s, "alice", "test.action", "thing", i, {"n": i})
    with db.transaction() as s:
        assert audit.verify(s).ok
        assert audit.verify(s).entries == 3
    from mutualaid.store.models import AuditEntry
    with db.transaction() as s:
        e = s.execute(select(AuditEntry).order_by(AuditEntry.id).offset(1).limit(1)).scalar_one()
        e.details = {"n": 99}
    with db.transaction() as s:
        r = audit.verify(s)
        assert not r.ok and r.broken_at == e.id
    with db.transaction() as s:
        s.delete(s.get(AuditEntry, e.id))
    with db.transaction() as s:
        assert not audit.verify(s).ok


def test_dashboard_opens_on_the_latest_month_with_activity(db):
    """A month without decisions or ledger lines (or a store of past years) does not open on zeros."""
    from mutualaid.dashboard import as_of_month
    from mutualaid.store.models import LedgerLine

    today = dt.date(2026, 11, 24)
    with db.transaction() as s:
        assert as_of_month(s, None, today) == today  # empty store: today
        fi = FileImport(kind="LEDGER", file_name="l.csv", fingerprint="l" * 64, imported_by="t")
        s.add(fi)
        s.flush()
        s.add(LedgerLine(voucher_no="V1", entry_date=dt.date(2026, 6, 3), entry_type="CONTRIBUTION",
                         amount_fen=100, import_id=fi.id, row_hash="h"))
        s.add(LedgerLine(voucher_no="V2", entry_date=dt.date(2026, 12, 1), entry_type="CONTRIBUTION",
                         amount_fen=100, import_id=fi.id, row_hash="h"))  # after today: not activity yet
        s.add(Claim(claim_no="C1", batch_id=fi.id, product="HOSP", member_id_number="1" * 18, member_name="张三",
                    submitted_date=dt.date(2026, 6, 1), event_date=dt.date(2026, 5, 1), row_hash="h",
                    status="APPROVED", decided_on=dt.date(2026, 7, 9)))
    with db.transaction() as s:
        assert as_of_month(s, None, today) == dt.date(2026, 7, 31)
        assert as_of_month(s, "2026-03", today) == dt.date(2026, 3, 31)  # a chosen month wins
        assert as_of_month(s, "2026-11", today) == today
        s.add(LedgerLine(voucher_no="V3", entry_date=dt.date(2026, 11, 2), entry_type="CONTRIBUTION",
                         amount_fen=100, import_id=s.execute(select(FileImport.id)).scalar(), row_hash="h"))
    with db.transaction() as s:
        assert as_of_month(s, None, today) == today


def test_retry_when_locked_retries_only_sqlites_lost_race():
    from sqlalchemy.exc import OperationalError

    from mutualaid.store.db import retry_when_locked

    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("UPDATE ...", {}, Exception("database is locked"))
        return "done"
    assert retry_when_locked(flaky) == "done" and len(calls) == 3

    def broken():
        calls.append(1)
        raise OperationalError("SELECT ...", {}, Exception("no such table: claims"))
    calls.clear()
    try:
        retry_when_locked(broken)
    except OperationalError:
        pass
    assert len(calls) == 1  # anything else is not retried

    def always_locked():
        raise OperationalError("UPDATE ...", {}, Exception("database is locked"))
    try:
        retry_when_locked(always_locked, attempts=2)
        raise AssertionError("should have raised")
    except OperationalError as e:
        assert "locked" in str(e)
