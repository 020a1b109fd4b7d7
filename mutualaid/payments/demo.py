"""The demo year's payments: monthly runs through the bank, with ~0.5 % failures (closed
cards) whose accounts finance corrects, paid in a later run; vouchers into the ledger.

Called by :mod:`mutualaid.demo` month by month, after the claims of the month are decided
and before the month is reconciled, so the reconciliation shows claims sent to the bank
(``EXPORTED``) and refused by it (``FAILED``, with the reason) besides the paid ones.
Deterministic: failures are chosen by a hash of the claim number.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from mutualaid.ledger.entries import EntryType
from mutualaid.payments import service
from mutualaid.store.db import Database
from mutualaid.store.models_payments import PaymentItem

CREATOR, APPROVER = "demo-finance", "demo-finance2"
TEMPLATE = "bank_gb18030"
FAILURE_REASON = "银行卡已注销"
RETURN_HEAD = ["业务参考号", "收款账号", "金额", "处理结果", "失败原因", "交易日期", "银行流水号"]
BANK_DAYS = 3  # the bank answers this many days after the run


def fails(claim_no: str, per_mille: int = 5) -> bool:
    return int(hashlib.sha256(claim_no.encode()).hexdigest()[:8], 16) % 1000 < per_mille


def new_account(old: str) -> str:
    """The member's new card: another 16-digit number that passes the Luhn check."""
    base = "6217" + hashlib.sha256(old.encode()).hexdigest()
    digits = "".join(str(int(c, 16) % 10) for c in base[4:])[:11]
    body = "6217" + digits
    return next(body + str(d) for d in range(10) if service.luhn_ok(body + str(d)))


@dataclass
class Payments:
    """The state the demo carries from month to month."""

    db: Database
    folder: Path
    pending_returns: list[tuple[int, Path, list[str]]] = field(default_factory=list)  # run, file, its failed members
    failed_members: list[str] = field(default_factory=list)
    fixed: set[str] = field(default_factory=set)
    missing_accounts: list[str] = field(default_factory=list)  # members without an account: the clerk sends it
    accounts_supplied: int = 0
    runs: list[int] = field(default_factory=list)
    failures: int = 0

    def month(self, month_end: dt.date) -> None:
        """Month-end work: book the bank's answers, make, approve and export the run, vouchers
        of the month into the ledger (the month is then reconciled)."""
        from mutualaid.ledger.importer import import_ledger

        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # bank files: full accounts
        for _run_id, path, failed in self.pending_returns:
            report = service.import_returns(self.db, path, user=CREATOR)
            assert not report.errors, report.errors[:3]
            self.failed_members.extend(failed)  # known once the bank has answered
        self.pending_returns.clear()
        with self.db.transaction() as s:
            created = service.create_run(s, as_of=month_end, user=CREATOR)
        self.missing_accounts.extend(c.member_id_number for c in created.no_account)
        if created.run_id is not None:
            run_id = created.run_id
            with self.db.transaction() as s:
                service.approve_run(s, run_id, user=APPROVER)
            with self.db.transaction() as s:
                exported = service.export_run(s, run_id, template=TEMPLATE, user=CREATOR)
            (self.folder / f"run-{run_id}.csv").write_bytes(exported.data or b"")
            self.pending_returns.append((run_id, *self._bank_answers(run_id, month_end + dt.timedelta(days=BANK_DAYS))))
            self.runs.append(run_id)
        vouchers = self.folder / f"vouchers-{month_end:%Y-%m}.csv"
        with self.db.sessions() as s:
            n = service.write_vouchers(service.vouchers(s, f"{month_end:%Y-%m}"), vouchers)
        if n:
            report = import_ledger(self.db, vouchers, user=CREATOR)
            assert not report.errors, report.errors[:3]

    def fix_accounts(self) -> None:
        """After the reconciliation: finance corrects the closed cards (paid in the next run)."""
        for member in self.failed_members:
            with self.db.sessions() as s:
                old = s.execute(select(PaymentItem.account).where(PaymentItem.member_id_number == member)
                                .order_by(PaymentItem.id.desc()).limit(1)).scalar() or ""
            with self.db.transaction() as s:
                service.update_account(s, member, new_account(old), reason="会员更换银行卡 / new bank card",
                                       user=CREATOR)
            self.fixed.add(member)
        self.failed_members.clear()
        # the unit's clerk sees "no bank account" on the failed-payments page and sends the
        # member's card number; finance enters it (a later roster would do the same)
        for member in dict.fromkeys(self.missing_accounts):
            with self.db.transaction() as s:
                service.update_account(s, member, new_account(member), reason="单位经办人补报银行卡号 / account sent by the unit",
                                       user=CREATOR)
            self.accounts_supplied += 1
        self.missing_accounts.clear()

    def _bank_answers(self, run_id: int, day: dt.date) -> tuple[Path, list[str]]:
        with self.db.sessions() as s:
            items = s.execute(select(PaymentItem.claim_no, PaymentItem.account, PaymentItem.amount_fen,
                                     PaymentItem.member_id_number)
                              .where(PaymentItem.run_id == run_id, PaymentItem.status == service.PENDING)
                              .order_by(PaymentItem.id)).all()
        path = self.folder / f"returns-{run_id}.csv"
        failed: list[str] = []
        with open(path, "w", encoding="gb18030", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(RETURN_HEAD)
            for k, (claim_no, account, fen, member) in enumerate(items):
                amount = service.fmt(fen, fen=True)
                # a card fails once: after the correction the new card is paid
                if fails(claim_no) and member not in self.fixed:
                    w.writerow([claim_no, account, amount, "失败", FAILURE_REASON, f"{day:%Y%m%d}", ""])
                    failed.append(member)
                    self.failures += 1
                else:
                    w.writerow([claim_no, account, amount, "成功", "", f"{day:%Y%m%d}", f"{run_id:04d}{k:07d}"])
        return path, failed


def ledger_without_payouts(source: Path, target: Path) -> Path:
    """The generated ledger minus its PAYOUT/REVERSAL lines: in the demo they come from the runs."""
    with open(source, encoding="utf-8-sig", newline="") as fh, open(target, "w", encoding="utf-8", newline="") as out:
        r, w = csv.reader(fh), csv.writer(out, lineterminator="\n")
        head = next(r)
        w.writerow(head)
        kind = head.index("entry_type")
        w.writerows(row for row in r if row[kind] not in (EntryType.PAYOUT, EntryType.REVERSAL))
    return target
