"""Benchmark: a payment run of N approved claims — create, export, return import, vouchers.

Target (issue 15): a run of 100,000 claims is created, exported and its bank return
imported in under 30 s each on the project machine.

    .venv/bin/python benchmarks/bench_payments.py [SIZE] [--db URL] [--template NAME] [--keep DIR]

SIZE (default 100000) approved HOSP claims of as many members, each with a bank account on
its covering enrollment (0.2 % without one), are written straight into a fresh database
(SQLite file in a temporary folder unless --db names a PostgreSQL database); then the use
cases run as the CLI calls them, each timed: create (fin1), approve (fin2), export, the
bank's return file (0.5 % failures) imported, the same file imported again (recognised),
vouchers of the month. Try it small first: ``bench_payments.py 2000``.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

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


def timed(label: str, fn):  # noqa: ANN001, ANN201
    t0 = time.perf_counter()
    out = fn()
    print(f"{label:<28} {time.perf_counter() - t0:8.2f} s")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("size", nargs="?", type=int, default=100_000)
    p.add_argument("--db", help="database URL (default: a SQLite file in a temporary folder)")
    p.add_argument("--template", default="generic")
    p.add_argument("--keep", type=Path, help="keep the files (bank file, returns, vouchers) in this folder")
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_payments_"))
    out = a.keep or tmp
    out.mkdir(parents=True, exist_ok=True)
    db = Database(a.db or f"sqlite:///{tmp / 'bench.db'}")
    try:
        if not db.is_sqlite:
            from tests.conftest import _truncate  # an empty database, as the tests do
            _truncate(db)
        timed(f"populate {a.size:,} claims", lambda: populate(db, a.size))
        with db.engine.begin() as c:
            c.execute(text("ANALYZE"))

        def create() -> service.CreateResult:
            with db.transaction() as s:
                return service.create_run(s, as_of=DAY, user="fin1")
        r = timed("create run", create)
        print(f"  run {r.run_id}: {r.items:,} items, {service.fmt(r.total_fen, fen=True)} yuan, "
              f"{len(r.no_account):,} without account")
        with db.transaction() as s:
            service.approve_run(s, r.run_id, user="fin2")

        def export() -> service.ExportResult:
            with db.transaction() as s:
                return service.export_run(s, r.run_id, template=a.template, user="fin1")
        e = timed(f"export ({a.template})", export)
        bank = out / f"run{r.run_id}.{service.bankfile.template(a.template).format}"
        bank.write_bytes(e.data or b"")
        print(f"  {bank.name}: {len(e.data or b''):,} bytes")

        returns = out / "returns.csv"
        with db.sessions() as s:
            items = s.execute(text("SELECT claim_no, account, amount_fen FROM payment_items WHERE run_id = :r ORDER BY id"),
                              {"r": r.run_id}).all()
        with open(returns, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["reference", "account", "amount", "status", "reason", "bank_date", "bank_txn"])
            for k, (claim_no, acc, fen) in enumerate(items):
                failed = k % 200 == 13  # 0.5 %
                w.writerow([claim_no, acc, service.fmt(fen, fen=True), "失败" if failed else "成功",
                            "账户已销户" if failed else "", "2026-04-02", "" if failed else f"B{k:09d}"])
        rep = timed("returns import", lambda: service.import_returns(db, returns, user="fin1"))
        print(f"  stored {rep.stored:,}, errors {len(rep.errors):,}")
        rep2 = timed("returns import again", lambda: service.import_returns(db, returns, user="fin1"))
        assert rep2.identical_to is not None

        def vouchers() -> int:
            with db.sessions() as s:
                return service.write_vouchers(service.vouchers(s, "2026-04"), out / "vouchers.csv")
        n = timed("vouchers", vouchers)
        print(f"  {n:,} vouchers")
    finally:
        db.dispose()
        if a.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
