"""End-to-end in a real browser: a payment run from creation to reconciliation.

finance creates a run → the same user may not approve it → a second finance user approves
→ the bank file is downloaded → the bank's result file is uploaded → the vouchers go into
the ledger → the month is reconciled and its items.csv knows the bank confirmed the claims.
"""
from __future__ import annotations

import csv
import io

import pytest

from tests.e2e.test_browser import browser, console_errors, live, no_csp_violations, shot, sign_in  # noqa: F401
from tests.web_support import PASSWORD

playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect
pytestmark = pytest.mark.slow


def test_payment_run_create_approve_export_returns_reconcile(browser, live, console_errors) -> None:  # noqa: ANN001, F811
    from mutualaid import users

    with live.db.transaction() as s:
        users.create_user(s, username="finance2", password=PASSWORD, role="finance", actor="seed",
                          display_name="钱复核")
    page = sign_in(browser, live, "finance", console_errors)
    page.goto(f"{live.base}/payments")
    page.fill("input[name=as_of]", "2026-07-31")
    page.click("#create-run button[type=submit]")
    expect(page.locator("#run-status")).to_have_text("待审批")
    run_url = page.url.split("?")[0]
    expect(page.locator("#items")).to_contain_text("TL2026-0001")
    expect(page.locator("#items")).not_to_contain_text("6222021234567890123")   # accounts masked
    shot(page, "payments_run_created")
    page.click("#approve")
    expect(page.locator(".error-box")).to_contain_text("双人复核")

    second = sign_in(browser, live, "finance2", console_errors)
    second.goto(run_url)
    second.click("#approve")
    expect(second.locator("#run-status")).to_have_text("已审批")

    page.goto(run_url)
    with page.expect_download() as dl:
        page.click("#export")
    bank_file = dl.value.path().read_bytes()
    assert bank_file.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(bank_file.decode("utf-8-sig"))))
    assert rows[0] == ["reference", "account", "name", "amount"] and len(rows) >= 2
    page.goto(run_url)
    expect(page.locator("#run-status")).to_have_text("已导出")

    returns = live.tmp / "bank-returns.csv"
    with open(returns, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["reference", "account", "amount", "status", "reason", "bank_date", "bank_txn"])
        for k, (ref, account, _name, amount) in enumerate(rows[1:]):
            w.writerow([ref, account, amount, "成功", "", "2026-08-03", f"E2E{k:04d}"])
    page.set_input_files("#returns-form input[type=file]", str(returns))
    page.click("#returns")
    expect(page.locator("#run-status")).to_have_text("结果已回")
    expect(page.locator("#upload-result")).to_contain_text(str(len(rows) - 1))
    shot(page, "payments_results_in")

    page.goto(f"{live.base}/payments")
    page.fill("input[name=month]", "2026-08")
    with page.expect_download() as dl:
        page.click("form[action='/payments/vouchers'] button[type=submit]")
    vouchers = live.tmp / "vouchers-2026-08.csv"
    vouchers.write_bytes(dl.value.path().read_bytes())
    page.goto(f"{live.base}/ledger")
    page.set_input_files("input[type=file]", str(vouchers))
    page.click("form[action='/ledger'] button[type=submit]")
    expect(page.locator("#upload-result")).to_contain_text("所有行均已通过检查")

    page.goto(f"{live.base}/recon")
    page.fill("input[name=month]", "2026-08")
    page.click("form[action='/recon'] button[type=submit]")
    expect(page.locator("#job .good")).to_be_visible(timeout=30000)
    page.click("#job a")
    expect(page.locator("table.recon-items")).to_contain_text("TL2026-0001")
    with page.expect_download() as dl:
        page.click("a[href$='items.csv']")
    items = list(csv.DictReader(io.StringIO(dl.value.path().read_bytes().decode("utf-8-sig"))))
    paid = {i["claim_no"]: (i["status"], i["payment_state"], i["bank_check"]) for i in items}
    assert paid["TL2026-0001"] == ("MATCHED", "CONFIRMED", "")
    shot(page, "payments_reconciled")
    no_csp_violations(console_errors)
