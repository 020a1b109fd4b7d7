"""Seeding for the payment tests: units, members, enrollments with bank accounts, decided claims.

Rows go straight into the store (the claims are as the adjudication would leave them), so
the payment tests do not depend on the rules.
"""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from sqlalchemy import insert, update

from mutualaid import idnumber
from mutualaid.store.models import Claim, Enrollment, FileImport, Member, Unit

D = dt.date.fromisoformat


def account_for(n: int) -> str:
    """A 16-digit account that passes the Luhn check."""
    from mutualaid.payments.service import luhn_ok

    base = f"622202{n:09d}"
    return next(base + str(d) for d in range(10) if luhn_ok(base + str(d)))


def seed(db, n: int = 5, *, payouts: list[int] | None = None, accounts: dict[int, str | None] | None = None,
         decided_on: str = "2026-03-10", unit: str = "U001") -> list[str]:
    """``n`` approved HOSP claims C0001..; claim i pays ``payouts[i]`` fen (default 1000_00 + i).
    ``accounts``: member index -> account (None: none on the roster). Returns the claim numbers."""
    payouts = payouts or [100_000 + i for i in range(n)]
    accounts = accounts or {}
    with db.transaction() as s:
        roster = FileImport(kind="ROSTER", file_name="r.csv", fingerprint="r" * 64, imported_by="t")
        batch = FileImport(kind="CLAIMS", file_name="c.csv", fingerprint="c" * 64, imported_by="t", unit_code=unit)
        s.add_all([roster, batch])
        s.flush()
        u = Unit(code=unit, name="通辽市第一中学")
        s.add(u)
        s.flush()
        claim_nos = []
        for i in range(n):
            number = idnumber.make("150502", D("1980-01-01") + dt.timedelta(days=i), i % 500, "F")
            m = Member(id_number=number, name=f"王{i}", birth_date=D("1980-01-01"), sex="F")
            s.add(m)
            s.flush()
            e = Enrollment(member_id=m.id, unit_id=u.id, product="HOSP", units=1, start_date=D("2026-01-01"),
                           end_date=D("2026-12-31"), premium_fen=3000,
                           bank_account=accounts.get(i, account_for(i)) if i in accounts else account_for(i),
                           policy_version=2026, import_id=roster.id, row_hash="x")
            s.add(e)
            s.flush()
            claim_no = f"C{i + 1:04d}"
            s.execute(insert(Claim).values(
                claim_no=claim_no, batch_id=batch.id, product="HOSP", member_id_number=number, member_name=f"王{i}",
                submitted_date=D("2026-03-01"), event_date=D("2026-02-01"), row_hash="h", status="APPROVED",
                payout_fen=payouts[i], reason_codes="", policy_version="HOSP-2026", enrollment_id=e.id,
                decided_on=D(decided_on), decided_by="engine", version=1))
            claim_nos.append(claim_no)
    return claim_nos


def set_claim(db, claim_no: str, **values) -> None:
    with db.transaction() as s:
        s.execute(update(Claim).where(Claim.claim_no == claim_no).values(**values))


def read_csv(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as fh:
        return list(csv.reader(fh))


RETURN_HEAD = ["reference", "account", "amount", "status", "reason", "bank_date", "bank_txn"]


def write_returns(path: Path, rows: list[list[str]], head: list[str] = RETURN_HEAD, encoding: str = "utf-8-sig") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(head)
        w.writerows(rows)
    return path


def success_rows(export_rows: list[list[str]], day: str = "2026-04-02", fail: dict[str, str] | None = None) -> list[list[str]]:
    """Return lines for the payees of a generic export (header skipped): all paid but ``fail``."""
    fail = fail or {}
    out = []
    for ref, account, _name, amount in export_rows[1:]:
        if ref in fail:
            out.append([ref, account, amount, "失败", fail[ref], day, ""])
        else:
            out.append([ref, account, amount, "成功", "", day, f"T{ref}"])
    return out
