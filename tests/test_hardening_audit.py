"""Issue 14: the audit chain keyed with a server secret and anchored in the reports.

Each attack of the issue, on the database directly (someone with write access to it but
not to the key file): deleting the last entries, appending a forged entry with a
recomputed hash, rewriting from some point and recomputing, deleting every entry.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import delete, select

from mutualaid import audit
from mutualaid.store.db import Database
from mutualaid.store.models import AuditEntry
from tests.test_cli import cli
from tests.test_import import CLAIM_HEAD, ROSTER_HEAD, hosp_row, roster_row, write
from tests.test_ledger_import import HEAD as LEDGER_HEAD
from tests.test_ledger_import import line


@pytest.fixture(autouse=True)
def _fresh_keys(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(audit.KEY_ENV, raising=False)
    monkeypatch.delenv(audit.KEY_FILE_ENV, raising=False)
    audit.forget_keys()
    yield
    audit.forget_keys()


def _entries(db: Database, n: int = 5) -> None:
    with db.transaction() as s:
        for i in range(n):
            audit.record(s, "alice", "test.action", "thing", i, {"n": i})


def _plain(prev: str, e: AuditEntry) -> str:
    """What an attacker without the key can compute: the old, unkeyed digest."""
    return audit._digest(prev, e.at, e.actor, e.action, e.entity, e.entity_key, e.details)


def _append_forged(s, prev: str, details: dict) -> AuditEntry:  # noqa: ANN001
    e = AuditEntry(at=dt.datetime(2026, 11, 30, 12), actor="mallory", action="claims.submit", entity="batch",
                   entity_key="1", details=details, prev_hash=prev, hash="")
    e.hash = _plain(prev, e)
    s.add(e)
    return e


@pytest.mark.store
def test_forged_entry_with_recomputed_hash_is_caught(db) -> None:  # noqa: ANN001
    _entries(db)
    with db.transaction() as s:
        last = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()
        forged = _append_forged(s, last.hash, {"stored": 1000})
    with db.sessions() as s:
        r = audit.verify(s)
    assert not r.ok and r.broken_at == forged.id and r.entries == 6


@pytest.mark.store
def test_chain_rewritten_from_a_point_and_recomputed_is_caught(db) -> None:  # noqa: ANN001
    _entries(db)
    with db.transaction() as s:
        rows = s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
        prev = rows[1].hash
        for e in rows[2:]:
            e.details = {"n": 100 + e.details["n"]}
            e.prev_hash, e.hash = prev, _plain(prev, e)
            prev = e.hash
    with db.sessions() as s:
        r = audit.verify(s)
    assert not r.ok and r.broken_at == rows[2].id


@pytest.mark.store
def test_cut_or_emptied_chain_is_caught_against_an_anchor(db) -> None:  # noqa: ANN001
    _entries(db)
    with db.sessions() as s:
        anchor = audit.head(s)
        assert anchor.entries == 5 and audit.verify(s, against=anchor).ok
    _entries(db, 2)   # the chain grows: the anchor still holds
    with db.sessions() as s:
        assert audit.verify(s, against=anchor).ok
    with db.transaction() as s:   # delete the last three entries
        ids = s.execute(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(3)).scalars().all()
        s.execute(delete(AuditEntry).where(AuditEntry.id.in_(ids)))
    with db.sessions() as s:
        plain = audit.verify(s)
        anchored = audit.verify(s, against=anchor)
    assert plain.ok and plain.entries == 4          # the key alone cannot see a cut...
    assert not anchored.ok and anchored.anchor_problem == "cut"   # ...the anchor does
    with db.transaction() as s:
        s.execute(delete(AuditEntry))
    with db.sessions() as s:
        r = audit.verify(s, against=anchor)
    assert not r.ok and r.entries == 0 and r.anchor_problem == "cut"


@pytest.mark.store
def test_chain_rebuilt_with_as_many_entries_diverges_from_the_anchor(db) -> None:  # noqa: ANN001
    _entries(db, 3)
    with db.sessions() as s:
        anchor = audit.head(s)
    with db.transaction() as s:
        s.execute(delete(AuditEntry))
    _entries(db, 3)    # through the application (with the key), but another history
    with db.sessions() as s:
        r = audit.verify(s, against=anchor)
    assert not r.ok and r.anchor_problem == "diverged"


def test_key_file_beside_sqlite_database_is_private_and_used(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    _entries(db, 2)
    key_file = tmp_path / "a.db.audit-key"
    assert key_file.exists() and stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = key_file.read_text().strip().encode()
    with db.sessions() as s:
        first = s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().first()
        assert first.hash == audit._digest(audit.GENESIS, first.at, first.actor, first.action, first.entity,
                                           first.entity_key, first.details, key)
        assert first.hash != _plain(audit.GENESIS, first)
    # another key (a copy of the database elsewhere, a lost key file): nothing verifies
    key_file.write_text("f" * 64)
    audit.forget_keys()
    with db.sessions() as s:
        assert audit.verify(s).broken_at == first.id
    db.dispose()


def test_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(audit.KEY_ENV, "k" * 40)
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    _entries(db, 2)
    assert not (tmp_path / "a.db.audit-key").exists()
    with db.sessions() as s:
        assert audit.verify(s).ok
    monkeypatch.setenv(audit.KEY_ENV, "j" * 40)
    with db.sessions() as s:
        assert not audit.verify(s).ok
    db.dispose()


def test_entries_from_before_keying_are_accepted_only_at_the_start(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    with db.transaction() as s:   # as the previous version wrote them
        prev = audit.GENESIS
        for i in range(2):
            e = _append_forged(s, prev, {"n": i})
            s.flush()
            prev = e.hash
    _entries(db, 2)
    with db.sessions() as s:
        r = audit.verify(s)
    assert r.ok and (r.entries, r.unkeyed) == (4, 2)
    with db.transaction() as s:
        last = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()
        forged = _append_forged(s, last.hash, {"n": 9})
    with db.sessions() as s:
        assert audit.verify(s).broken_at == forged.id
    db.dispose()


# --- the anchor in the reports and the commands -------------------------------------------------

def _cycle(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert cli(url, "enrollments", "import", str(write(tmp_path / "r.csv", ROSTER_HEAD, [roster_row()]))).exit_code == 0
    assert cli(url, "claims", "submit", str(write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row()]))).exit_code == 0
    return url


def test_batch_jobs_print_and_reports_hold_the_chain_head(tmp_path: Path) -> None:
    url = _cycle(tmp_path)
    r = cli(url, "batch", "run", "--as-of", "2026-07-01")
    assert r.exit_code == 0
    db = Database(url)
    with db.sessions() as s:
        after_batch = audit.head(s)
    assert f"audit chain 审计链: {after_batch.entries} entries, head {after_batch.hash}" in r.output
    ledger = write(tmp_path / "l.csv", LEDGER_HEAD, [line("2026-01-01", "V1", "OPENING_BALANCE", "100000.00"),
                                                    line("2026-07-10", "V2", "PAYOUT", "7140.00", "TL2026-0001", "HOSP")])
    assert cli(url, "ledger", "import", str(ledger)).exit_code == 0
    r = cli(url, "reconcile", "--month", "2026-07", "--out", str(tmp_path / "rec"))
    assert r.exit_code == 0, r.output
    with db.sessions() as s:
        now = audit.head(s)
    summary = json.loads((tmp_path / "rec" / "summary.json").read_text("utf-8"))
    assert summary["audit_chain"] == {"entries": now.entries, "head": now.hash}
    assert now.entries == after_batch.entries + 2       # the ledger import and this run
    assert f"{now.entries} entries, head {now.hash}" in r.output
    wb = openpyxl.load_workbook(tmp_path / "rec" / "report.xlsx")
    labels = {row[0]: row[1] for row in wb.worksheets[0].iter_rows(values_only=True) if row and row[0]}
    assert labels["审计日志条数（生成时）"] == now.entries and labels["审计链末端哈希"] == now.hash
    db.dispose()


def test_audit_verify_against_summary_json(tmp_path: Path) -> None:
    url = _cycle(tmp_path)
    ledger = write(tmp_path / "l.csv", LEDGER_HEAD, [line("2026-01-01", "V1", "OPENING_BALANCE", "100000.00")])
    assert cli(url, "ledger", "import", str(ledger)).exit_code == 0
    assert cli(url, "reconcile", "--month", "2026-07", "--out", str(tmp_path / "rec")).exit_code == 0
    summary = tmp_path / "rec" / "summary.json"
    r = cli(url, "audit", "verify", "--against", str(summary))
    assert r.exit_code == 0 and "intact" in r.output and "still holds the head" in r.output, r.output
    assert cli(url, "batch", "run", "--as-of", "2026-07-01").exit_code == 0   # later entries are fine
    assert cli(url, "audit", "verify", "--against", str(summary)).exit_code == 0
    db = Database(url)
    with db.transaction() as s:   # cut the chain back before the reconciliation
        ids = s.execute(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(2)).scalars().all()
        s.execute(delete(AuditEntry).where(AuditEntry.id.in_(ids)))
    db.dispose()
    assert cli(url, "audit", "verify").exit_code == 0   # the key alone cannot tell
    r = cli(url, "audit", "verify", "--against", str(summary))
    assert r.exit_code == 1 and "cut short" in r.output
    (tmp_path / "other.json").write_text("{}")
    assert cli(url, "audit", "verify", "--against", str(tmp_path / "other.json")).exit_code == 2
