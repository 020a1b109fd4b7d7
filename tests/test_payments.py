"""Payment runs (批量代发), through the CLI contract of issue 15, on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from mutualaid.cli import app
from mutualaid.store.models import AuditEntry, LedgerLine
from mutualaid.store.models_payments import PaymentItem, PaymentRun
from tests.payments_support import (
    RETURN_HEAD,
    account_for,
    read_csv,
    seed,
    set_claim,
    success_rows,
    write_returns,
)

runner = CliRunner()


def cli(db, *args):
    return runner.invoke(app, [*args, "--db", db.url], catch_exceptions=False)


def created_run(db, as_of="2026-03-31", user="fin1", approver="fin2", extra=()):
    r = cli(db, "payments", "create", "--as-of", as_of, "--user", user, *extra)
    assert r.exit_code == 0, r.output
    run = int(r.output.split("payment run ")[1].split()[0])
    if approver:
        r = cli(db, "payments", "approve", str(run), "--user", approver)
        assert r.exit_code == 0, r.output
    return run


def test_create_approve_export_returns_vouchers(db, tmp_path):
    seed(db, 4, payouts=[100_000, 250_050, 1, 99_999], accounts={3: None})
    r = cli(db, "payments", "create", "--as-of", "2026-03-31", "--user", "fin1")
    assert r.exit_code == 0, r.output
    assert "payment run 1" in r.output
    assert "items: 3; total: 3500.51; no account: 1; awaiting account correction: 0" in r.output

    out = tmp_path / "bank.csv"
    r = cli(db, "payments", "export", "1", "--out", str(out))
    assert r.exit_code == 2 and "second person" in r.output  # not approved yet
    r = cli(db, "payments", "approve", "1", "--user", "fin1")
    assert r.exit_code == 2 and "four-eyes" in r.output
    r = cli(db, "payments", "approve", "1", "--user", "fin2")
    assert r.exit_code == 0, r.output

    r = cli(db, "payments", "export", "1", "--out", str(out))
    assert r.exit_code == 0, r.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = read_csv(out)
    assert rows == [["reference", "account", "name", "amount"],
                    ["C0001", account_for(0), "王0", "1000.00"],
                    ["C0002", account_for(1), "王1", "2500.50"],
                    ["C0003", account_for(2), "王2", "0.01"]]
    again = tmp_path / "again.csv"
    assert cli(db, "payments", "export", "1", "--out", str(again)).exit_code == 0
    assert again.read_bytes() == raw
    assert cli(db, "payments", "cancel", "1").exit_code == 2  # exported: too late

    ret = write_returns(tmp_path / "ret.csv", success_rows(rows, fail={"C0002": "账户已销户"}))
    r = cli(db, "payments", "returns", "import", str(ret))
    assert r.exit_code == 0, r.output
    with db.sessions() as s:
        items = {i.claim_no: i for i in s.execute(select(PaymentItem)).scalars()}
        assert (items["C0001"].status, items["C0001"].bank_txn, str(items["C0001"].bank_date)) == ("PAID", "TC0001", "2026-04-02")
        assert (items["C0002"].status, items["C0002"].reason, items["C0002"].live_claim_id) == ("FAILED", "账户已销户", None)
        assert s.get(PaymentRun, 1).status == "CLOSED"
    # the same file again: recognised; an edited copy: unchanged lines
    r = cli(db, "payments", "returns", "import", str(ret))
    assert r.exit_code == 0 and "checked again row by row" in r.output
    rows2 = success_rows(rows, fail={"C0002": "账户已销户"}) + [["C0001", account_for(0), "1000.00", "SUCCESS", "", "2026-04-02", "TC0001"]]
    ret2 = write_returns(tmp_path / "ret2.csv", rows2[:3])
    r = cli(db, "payments", "returns", "import", str(ret2))
    assert r.exit_code == 0, r.output

    vouchers = tmp_path / "v.csv"
    r = cli(db, "payments", "vouchers", "--month", "2026-04", "--out", str(vouchers))
    assert r.exit_code == 0, r.output
    assert read_csv(vouchers) == [
        ["entry_date", "voucher_no", "entry_type", "product", "amount", "reference", "memo"],
        ["2026-04-02", "BKTC0001", "PAYOUT", "HOSP", "1000.00", "C0001", "批量代发 第1批"],
        ["2026-04-02", "BKTC0003", "PAYOUT", "HOSP", "0.01", "C0003", "批量代发 第1批"]]
    r = cli(db, "ledger", "import", str(vouchers))
    assert r.exit_code == 0, r.output
    with db.sessions() as s:
        assert s.execute(select(func.sum(LedgerLine.amount_fen))).scalar() == 100_001

    # the failed claim waits for a corrected account; then the next run pays it
    r = cli(db, "payments", "create", "--as-of", "2026-04-30", "--user", "fin1")
    assert "no claims to pay" in r.output and "awaiting account correction: 1" in r.output
    with db.sessions() as s:
        number = s.execute(select(PaymentItem.member_id_number).where(PaymentItem.claim_no == "C0002")).scalar()
    r = cli(db, "payments", "account", "--member", number, "--account", account_for(77), "--reason", "会员换卡",
            "--user", "fin1")
    assert r.exit_code == 0, r.output
    run2 = created_run(db, "2026-04-30")
    assert run2 == 2
    out2 = tmp_path / "bank2.csv"
    assert cli(db, "payments", "export", "2", "--out", str(out2)).exit_code == 0
    assert read_csv(out2)[1:] == [["C0002", account_for(77), "王1", "2500.50"]]
    with db.sessions() as s:
        log = s.execute(select(AuditEntry).where(AuditEntry.action == "payment.account_update")).scalar()
        assert account_for(77) not in str(log.details) and log.details["after"].endswith(account_for(77)[-4:])


def test_return_errors_at_row_and_column(db, tmp_path):
    seed(db, 3)
    run = created_run(db)
    out = tmp_path / "bank.csv"
    assert cli(db, "payments", "export", str(run), "--out", str(out)).exit_code == 0
    rows = read_csv(out)
    lines = success_rows(rows)
    lines[0][2] = "1000.01"              # C0001 differs by a fen
    lines[1][1] = account_for(55)        # C0002 another account
    lines.append(["NOPE", account_for(1), "5.00", "SUCCESS", "", "2026-04-02", "TX"])
    lines.append(["C0003", account_for(2), "1000.02", "FAILED", "", "2026-13-01", ""])  # bad date (and duplicate)
    ret = write_returns(tmp_path / "ret.csv", lines)
    errors = tmp_path / "err.csv"
    r = cli(db, "payments", "returns", "import", str(ret), "--errors", str(errors))
    assert r.exit_code == 1, r.output
    got = [(e["row"], e["column"]) for e in csv.DictReader(open(errors, encoding="utf-8-sig"))]
    assert got == [("2", "amount"), ("3", "account"), ("5", "reference"), ("6", "bank_date")]
    with db.sessions() as s:
        assert dict(s.execute(select(PaymentItem.claim_no, PaymentItem.status)).all()) == {
            "C0001": "PENDING", "C0002": "PENDING", "C0003": "PAID"}
    # a second success for a paid claim is refused, nothing paid twice
    again = write_returns(tmp_path / "again.csv", [["C0003", account_for(2), "1000.02", "SUCCESS", "", "2026-04-03", "OTHER"]])
    r = cli(db, "payments", "returns", "import", str(again))
    assert r.exit_code == 1
    assert cli(db, "payments", "returns", "import", str(tmp_path / "missing.csv")).exit_code == 2


def test_cancel_returns_claims_to_pool_and_no_claim_in_two_live_runs(db, tmp_path):
    seed(db, 2)
    run = created_run(db, approver=None)
    r = cli(db, "payments", "create", "--as-of", "2026-03-31", "--user", "fin1")
    assert "no claims to pay" in r.output  # both are in run 1
    assert cli(db, "payments", "cancel", str(run)).exit_code == 0
    run2 = created_run(db)
    assert run2 == 2
    assert cli(db, "payments", "approve", str(run), "--user", "fin2").exit_code == 2  # cancelled


def test_changed_claim_is_dropped_at_export(db, tmp_path):
    seed(db, 3)
    run = created_run(db)
    set_claim(db, "C0002", status="REJECTED", payout_fen=0)
    set_claim(db, "C0003", payout_fen=5)
    out = tmp_path / "bank.csv"
    r = cli(db, "payments", "export", str(run), "--out", str(out))
    assert r.exit_code == 1
    assert "C0002" in r.output and "C0003" in r.output
    assert [row[0] for row in read_csv(out)[1:]] == ["C0001"]
    run2 = created_run(db)
    out2 = tmp_path / "bank2.csv"
    assert cli(db, "payments", "export", str(run2), "--out", str(out2)).exit_code == 0
    assert read_csv(out2)[1:] == [["C0003", account_for(2), "王2", "0.05"]]


def test_gb18030_template_with_control_totals(db, tmp_path):
    seed(db, 2, payouts=[12_345, 100])
    run = created_run(db)
    out = tmp_path / "bank.csv"
    r = cli(db, "payments", "export", str(run), "--out", str(out), "--template", "bank_gb18030")
    assert r.exit_code == 0, r.output
    rows = read_csv(out, "gb18030")
    assert rows[0][:2] == ["批次号", str(run)] and rows[0][4:] == ["总笔数", "2", "总金额", "124.45"]
    assert rows[1] == ["序号", "收款账号", "收款户名", "金额", "用途", "业务参考号"]
    assert rows[2] == ["1", account_for(0), "王0", "123.45", "互助金", "C0001"]
    assert rows[-1] == ["合计", "2", "124.45"]
    assert b"\r\n" in out.read_bytes() and not out.read_bytes().startswith(b"\xef\xbb\xbf")
    again = tmp_path / "again.csv"
    assert cli(db, "payments", "export", str(run), "--out", str(again), "--template", "generic").exit_code == 2
    assert cli(db, "payments", "export", str(run), "--out", str(again)).exit_code == 0
    assert again.read_bytes() == out.read_bytes()
    # the bank's answer in its own format (GB18030, Chinese headers, YYYYMMDD, a 合计 line)
    head = ["业务参考号", "收款账号", "金额", "处理结果", "失败原因", "交易日期", "银行流水号"]
    ret = write_returns(tmp_path / "ret.csv", [["C0001", account_for(0), "123.45", "成功", "", "20260402", "B1"],
                                               ["C0002", account_for(1), "1.00", "失败", "户名不符", "20260402", ""],
                                               ["合计", "2", "124.45", "", "", "", ""]], head, "gb18030")
    r = cli(db, "payments", "returns", "import", str(ret))
    assert r.exit_code == 0, r.output


def test_xlsx_template_deterministic(db, tmp_path):
    seed(db, 2, payouts=[12_345, 100])
    run = created_run(db)
    out = tmp_path / "bank.xlsx"
    assert cli(db, "payments", "export", str(run), "--out", str(out), "--template", "bank_xlsx").exit_code == 0
    again = tmp_path / "again.xlsx"
    assert cli(db, "payments", "export", str(run), "--out", str(again)).exit_code == 0
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(again.read_bytes()).digest()
    ws = openpyxl.load_workbook(out).worksheets[0]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[1] == ["账号", "户名", "金额", "摘要", "参考号"]
    assert values[2] == [account_for(0), "王0", 123.45, "工会互助金", "C0001"]
    assert values[-1][:4] == ["总笔数", 2, "总金额", 124.45]
    assert zipfile.ZipFile(io.BytesIO(out.read_bytes())).testzip() is None


def test_formula_like_names_are_neutralised(db, tmp_path):
    from mutualaid.store.models import Claim

    seed(db, 1)
    with db.transaction() as s:
        s.execute(Claim.__table__.update().values(member_name="=HYPERLINK(1)"))
    run = created_run(db)
    out = tmp_path / "bank.csv"
    assert cli(db, "payments", "export", str(run), "--out", str(out)).exit_code == 0
    assert read_csv(out)[1][2] == "'=HYPERLINK(1)"


def test_refund_after_success_is_a_reversal(db, tmp_path):
    seed(db, 1)
    run = created_run(db)
    out = tmp_path / "bank.csv"
    assert cli(db, "payments", "export", str(run), "--out", str(out)).exit_code == 0
    acc = account_for(0)
    ret = write_returns(tmp_path / "r1.csv", [["C0001", acc, "1000.00", "SUCCESS", "", "2026-04-02", "P1"]])
    assert cli(db, "payments", "returns", "import", str(ret)).exit_code == 0
    ret = write_returns(tmp_path / "r2.csv", [["C0001", acc, "1000.00", "FAILED", "退汇：卡已注销", "2026-05-03", "R1"]])
    assert cli(db, "payments", "returns", "import", str(ret)).exit_code == 0
    v4, v5 = tmp_path / "v4.csv", tmp_path / "v5.csv"
    assert cli(db, "payments", "vouchers", "--month", "2026-04", "--out", str(v4)).exit_code == 0
    assert cli(db, "payments", "vouchers", "--month", "2026-05", "--out", str(v5)).exit_code == 0
    assert [r[1:5] for r in read_csv(v4)[1:]] == [["BKP1", "PAYOUT", "HOSP", "1000.00"]]
    assert [r[1:5] for r in read_csv(v5)[1:]] == [["BKRR1", "REVERSAL", "HOSP", "1000.00"]]
    assert cli(db, "ledger", "import", str(v4)).exit_code == 0
    assert cli(db, "ledger", "import", str(v5)).exit_code == 0
    r = cli(db, "payments", "create", "--as-of", "2026-05-31", "--user", "fin1")
    assert "awaiting account correction: 1" in r.output


def test_reconciliation_knows_the_payment_state(db, tmp_path):
    from tests.test_import import write
    from tests.test_ledger_import import HEAD as LEDGER_HEAD
    from tests.test_ledger_import import line

    seed(db, 5, payouts=[100_000, 200_000, 300_000, 400_000, 500_000])
    run = created_run(db)
    out = tmp_path / "bank.csv"
    assert cli(db, "payments", "export", str(run), "--out", str(out), "--template", "generic").exit_code == 0
    rows = read_csv(out)
    # C0001 paid; C0002 failed; C0003 and C0004 no answer yet
    ret = write_returns(tmp_path / "ret.csv", success_rows([rows[0], rows[1], rows[2]], day="2026-03-20",
                                                            fail={"C0002": "卡已注销"}))
    assert cli(db, "payments", "returns", "import", str(ret)).exit_code == 0
    set_claim(db, "C0005", status="REJECTED", payout_fen=0)  # rejected after export, no ledger line: no item
    vouchers = tmp_path / "v.csv"
    assert cli(db, "payments", "vouchers", "--month", "2026-03", "--out", str(vouchers)).exit_code == 0
    ledger = write(tmp_path / "ledger.csv", LEDGER_HEAD, [
        line("2026-01-01", "V0", "OPENING_BALANCE", "100000.00"),
        line("2026-03-21", "V9", "PAYOUT", "4000.00", "C0004", "HOSP"),     # booked, but not bank-confirmed
        line("2026-03-22", "V8", "PAYOUT", "3000.01", "C0003", "HOSP")])    # booked, wrong amount
    assert cli(db, "ledger", "import", str(vouchers)).exit_code == 0
    assert cli(db, "ledger", "import", str(ledger)).exit_code == 0
    # claim C0003 then confirmed by the bank at its payout
    ret2 = write_returns(tmp_path / "ret2.csv", [["C0003", account_for(2), "3000.00", "SUCCESS", "", "2026-03-25", "TC0003"]])
    assert cli(db, "payments", "returns", "import", str(ret2)).exit_code == 0
    r = cli(db, "reconcile", "--month", "2026-03", "--out", str(tmp_path / "rec"))
    assert r.exit_code == 0, r.output
    items = {i["claim_no"]: i for i in csv.DictReader(open(tmp_path / "rec" / "items.csv", encoding="utf-8-sig"))}
    got = {k: (v["status"], v["payment_state"], v["payment_run"], v["payment_reason"], v["bank_confirmed_amount"],
               v["bank_check"]) for k, v in items.items()}
    assert got == {
        "C0001": ("MATCHED", "CONFIRMED", "1", "", "1000.00", ""),
        "C0002": ("UNPAID", "FAILED", "1", "卡已注销", "0.00", ""),
        "C0003": ("OVERPAID", "CONFIRMED", "1", "", "3000.00", "AMOUNT_DIFFERS"),
        "C0004": ("MATCHED", "EXPORTED", "1", "", "0.00", "NO_BANK_PAYMENT"),
    }


def test_demo_month_cycle_fails_fixes_and_pays_later(db, tmp_path, monkeypatch):
    """The demo's payments: a closed card fails, finance corrects it, the next run pays it."""
    from mutualaid.payments import demo

    seed(db, 3)
    monkeypatch.setattr(demo, "fails", lambda claim_no, per_mille=5: claim_no == "C0002")
    pay = demo.Payments(db, tmp_path / "payments")
    pay.month(dt.date(2026, 3, 31))            # run 1 exported, bank answers pending
    pay.month(dt.date(2026, 4, 30))            # answers booked (C0002 failed), vouchers of April
    assert pay.failures == 1 and len(pay.runs) == 1
    pay.fix_accounts()
    pay.month(dt.date(2026, 5, 31))            # run 2 pays C0002 on the new card
    pay.month(dt.date(2026, 6, 30))
    with db.sessions() as s:
        items = [(i.run_id, i.claim_no, i.status) for i in s.execute(select(PaymentItem).order_by(PaymentItem.id)).scalars()]
        assert items == [(1, "C0001", "PAID"), (1, "C0002", "FAILED"), (1, "C0003", "PAID"), (2, "C0002", "PAID")]
        ledger = dict(s.execute(select(LedgerLine.reference, func.sum(LedgerLine.amount_fen))
                                .group_by(LedgerLine.reference)).all())
        assert ledger == {"C0001": 100_000, "C0002": 100_001, "C0003": 100_002}
    assert (tmp_path / "payments" / "run-1.csv").read_bytes().decode("gb18030").startswith("批次号,1,代发日期,20260331")


def test_the_database_refuses_a_second_live_payment(db):
    """The last guard: two live items for one claim cannot both be stored, whatever the code does."""
    from sqlalchemy.exc import IntegrityError

    seed(db, 1)
    run = created_run(db, approver=None)
    with db.sessions() as s:
        item = s.execute(select(PaymentItem)).scalar_one()
    with pytest.raises(IntegrityError), db.transaction() as s:
        other = PaymentRun(status="CREATED", as_of=dt.date(2026, 3, 31),
                           created_by="x", item_count=1, total_fen=item.amount_fen, version=0)
        s.add(other)
        s.flush()
        s.add(PaymentItem(run_id=other.id, claim_id=item.claim_id, live_claim_id=item.claim_id, claim_no=item.claim_no,
                          product="HOSP", member_id_number=item.member_id_number, member_name="x", account=item.account,
                          amount_fen=item.amount_fen, status="PENDING"))
    assert run == 1


def test_a_later_roster_with_another_account_releases_a_failed_claim(db, tmp_path):
    """The roster path of a correction: a roster imported after the failure with a new account."""
    from mutualaid.store.models import Enrollment, FileImport

    seed(db, 1)
    run = created_run(db)
    out = tmp_path / "bank.csv"
    assert cli(db, "payments", "export", str(run), "--out", str(out)).exit_code == 0
    ret = write_returns(tmp_path / "r.csv", [["C0001", account_for(0), "1000.00", "FAILED", "卡已注销", "2026-04-02", ""]])
    assert cli(db, "payments", "returns", "import", str(ret)).exit_code == 0
    assert "awaiting account correction: 1" in cli(db, "payments", "create", "--as-of", "2026-04-30", "--user", "fin1").output
    with db.transaction() as s:
        old = s.execute(select(Enrollment)).scalar_one()
        later = FileImport(kind="ROSTER", file_name="r2.csv", fingerprint="s" * 64, imported_by="t",
                           imported_at=dt.datetime(2099, 1, 1))
        s.add(later)
        s.flush()
        s.add(Enrollment(member_id=old.member_id, unit_id=old.unit_id, product="WOMEN", units=1,
                         start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31), premium_fen=3000,
                         bank_account=account_for(42), policy_version=2026, import_id=later.id, row_hash="y"))
    run2 = created_run(db, "2026-04-30")
    out2 = tmp_path / "bank2.csv"
    assert cli(db, "payments", "export", str(run2), "--out", str(out2)).exit_code == 0
    assert read_csv(out2)[1:] == [["C0001", account_for(42), "王0", "1000.00"]]


def test_two_runs_created_at_the_same_moment_share_no_claim(db):
    import threading

    from sqlalchemy.exc import IntegrityError

    from mutualaid.payments import service
    from mutualaid.store.db import retry_when_locked

    seed(db, 30)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def create(user: str) -> None:
        barrier.wait()

        def attempt():
            with db.transaction() as s:
                return service.create_run(s, as_of=dt.date(2026, 3, 31), user=user)
        try:
            outcomes.append(retry_when_locked(attempt).items)
        except IntegrityError:
            outcomes.append("refused")

    threads = [threading.Thread(target=create, args=(u,)) for u in ("fin1", "fin3")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes, key=str) in ([0, 30], [30, "refused"]), outcomes
    with db.sessions() as s:
        claims = s.execute(select(PaymentItem.claim_id)).scalars().all()
    assert len(claims) == len(set(claims)) == 30


def test_a_web_user_of_another_role_cannot_approve(db):
    from mutualaid import users

    seed(db, 1)
    run = created_run(db, approver=None)
    with db.transaction() as s:
        users.create_user(s, username="aud1", password="long-enough-password-1", role="auditor", actor="t")
    r = cli(db, "payments", "approve", str(run), "--user", "aud1")
    assert r.exit_code == 2 and "only finance" in r.output
    assert cli(db, "payments", "approve", str(run), "--user", "fin2").exit_code == 0
