"""Seeding for the payment benchmark and fault tests: N approved HOSP claims written straight
into the store (units, members, enrollments with bank accounts; 0.2 % without one).

Shared by benchmarks/bench_payments.py (which measures) and tests/test_payments_faults.py.
"""
from __future__ import annotations

import datetime as dt

from mutualaid import idnumber
from mutualaid.payments import service
from mutualaid.store.bulk import insert_rows
from mutualaid.store.db import Database
from mutualaid.store.models import Claim, Enrollment, FileImport, Member, Unit

DAY = dt.date(2026, 3, 10)


def account(n: int) -> str:
    base = f"62220{n:010d}"
    return next(base + str(d) for d in range(10) if service.luhn_ok(base + str(d)))


def populate(db: Database, n: int) -> None:
    with db.transaction() as s:
        roster = FileImport(kind="ROSTER", file_name="r.csv", fingerprint="r" * 64, imported_by="bench")
        batch = FileImport(kind="CLAIMS", file_name="c.csv", fingerprint="c" * 64, imported_by="bench", unit_code="U0001")
        unit = Unit(code="U0001", name="通辽市第一中学工会")
        s.add_all([roster, batch, unit])
        s.flush()
        conn = s.connection()
        members, enrollments, claims = [], [], []
        for i in range(n):
            birth = dt.date(1960, 1, 1) + dt.timedelta(days=i // 500 % 12000)
            number = idnumber.make("150502", birth, i % 500, "F" if i % 2 else "M")
            members.append((i + 1, number, f"会员{i}", birth, "F" if i % 2 else "M"))
            enrollments.append((i + 1, i + 1, unit.id, "HOSP", 1, dt.date(2026, 1, 1), dt.date(2026, 12, 31), 3000,
                                None if i % 500 == 7 else account(i), 2026, roster.id, "x"))
            claims.append((i + 1, f"HZ2026{i:08d}", batch.id, "HOSP", number, f"会员{i}", dt.date(2026, 3, 1), dt.date(2026, 2, 1),
                           "h", "APPROVED", 10_000 + (i * 7919) % 2_000_000, "", "HOSP-2026", i + 1, DAY, "engine", 1))
        insert_rows(conn, Member.__table__, ("id", "id_number", "name", "birth_date", "sex"), members)
        insert_rows(conn, Enrollment.__table__, ("id", "member_id", "unit_id", "product", "units", "start_date", "end_date",
                                                 "premium_fen", "bank_account", "policy_version", "import_id", "row_hash"),
                    enrollments)
        insert_rows(conn, Claim.__table__, ("id", "claim_no", "batch_id", "product", "member_id_number", "member_name",
                                            "submitted_date", "event_date", "row_hash", "status", "payout_fen",
                                            "reason_codes", "policy_version", "enrollment_id", "decided_on",
                                            "decided_by", "version"), claims)
