"""SIGKILL during export and during the return import: nothing paid twice, nothing lost.

The CLI runs as a subprocess on a run of a few thousand claims and is killed at a random
moment; the command is then run again to the end. The bank file must be the same bytes
as an uninterrupted export, and every item must end confirmed exactly once at its amount.
"""
from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from mutualaid.payments import service
from tests.support.payments_data import DAY, populate

N = 6000
SEED = int(os.environ.get("MUTUALAID_FAULT_SEED", str(random.randrange(1 << 30))))


def _cli(url: str, *args: str) -> list[str]:
    return [os.path.join(os.path.dirname(sys.executable), "mutualaid"), *args, "--db", url]


def _kill_then_finish(argv: list[str], delay: float) -> tuple[bool, subprocess.CompletedProcess]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return killed, subprocess.run(argv, capture_output=True, text=True, timeout=300)


@pytest.mark.store
def test_sigkill_during_export_and_returns(db, tmp_path):
    rng = random.Random(SEED)
    t0 = time.perf_counter()  # the command's start-up (imports, schema check): kill after it
    subprocess.run(_cli(db.url, "payments", "--help")[:-2], capture_output=True, timeout=120)
    startup = time.perf_counter() - t0
    populate(db, N)
    with db.transaction() as s:
        run = service.create_run(s, as_of=DAY, user="fin1").run_id
    with db.transaction() as s:
        service.approve_run(s, run, user="fin2")
    out = tmp_path / "bank.csv"
    killed, done = _kill_then_finish(_cli(db.url, "payments", "export", str(run), "--out", str(out)),
                                     startup + rng.uniform(0.0, 1.0))
    assert done.returncode == 0, (SEED, done.stdout, done.stderr)
    print(f"MUTUALAID_FAULT_SEED={SEED}: export killed={killed}")
    again = tmp_path / "again.csv"
    assert subprocess.run(_cli(db.url, "payments", "export", str(run), "--out", str(again)),
                          capture_output=True, timeout=300).returncode == 0
    assert out.read_bytes() == again.read_bytes()
    assert not (tmp_path / "bank.csv.tmp").exists() or killed

    rows = list(csv.reader(open(out, encoding="utf-8-sig")))[1:]
    returns = tmp_path / "returns.csv"
    with open(returns, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["reference", "account", "amount", "status", "reason", "bank_date", "bank_txn"])
        for k, (ref, account, _name, amount) in enumerate(rows):
            w.writerow([ref, account, amount, "FAILED" if k % 200 == 3 else "SUCCESS", "", "2026-04-02", f"B{k}"])
    killed, done = _kill_then_finish(_cli(db.url, "payments", "returns", "import", str(returns)),
                                     startup + rng.uniform(0.0, 1.0))
    assert done.returncode == 0, (SEED, done.stdout, done.stderr)
    print(f"MUTUALAID_FAULT_SEED={SEED}: returns import killed={killed}")
    with db.engine.connect() as c:
        by_status = dict(c.execute(text("SELECT status, count(*) FROM payment_items GROUP BY status")).all())
        assert by_status == {"PAID": len(rows) - len(rows[3::200]), "FAILED": len(rows[3::200])}, SEED
        twice = c.execute(text("SELECT claim_id FROM payment_items WHERE status = 'PAID' "
                               "GROUP BY claim_id HAVING count(*) > 1")).all()
        assert twice == []
        wrong = c.execute(text("SELECT count(*) FROM payment_items i JOIN claims c ON c.id = i.claim_id "
                               "WHERE i.status = 'PAID' AND i.amount_fen <> c.payout_fen")).scalar()
        assert wrong == 0
        imports = c.execute(text("SELECT count(*) FROM file_imports WHERE kind = 'PAYRETURN' AND stored > 0")).scalar()
        assert imports == 1  # the killed attempt stored nothing, or all: booked by exactly one import
