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
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from mutualaid.payments import service  # noqa: E402
from mutualaid.store.db import Database  # noqa: E402
from tests.support.payments_data import DAY, populate  # noqa: E402


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
