"""End-to-end: the pages in a real headless Chromium against a live uvicorn server.

Each role signs in and does its main task; screenshots go to artifacts/screenshots/.
Needs Debian's ``chromium`` (/usr/bin/chromium) and Playwright for Python (no browser
download). Without them the tests are skipped, unless MUTUALAID_REQUIRE_BROWSER=1.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_import import CLAIM_HEAD, hosp_row, write
from tests.web_support import (
    AS_OF,
    FAST_HASHER,
    PASSWORD,
    adjudicate,
    claims_a,
    claims_b,
    make_settings,
    roster_file,
)

CHROMIUM = os.environ.get("MUTUALAID_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("MUTUALAID_REQUIRE_BROWSER") == "1"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
LEDGER_HEAD = ["entry_date", "voucher_no", "entry_type", "product", "amount", "reference", "memo"]


def _missing() -> str | None:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set MUTUALAID_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright; no `playwright install` needed)"
    return None


_why = _missing()
if _why:
    if REQUIRE:
        raise RuntimeError(f"MUTUALAID_REQUIRE_BROWSER=1 but {_why}")
    pytest.skip(_why, allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.slow


class Live:
    def __init__(self, base: str, app, db, tmp: Path) -> None:  # noqa: ANN001
        self.base, self.app, self.db, self.tmp = base, app, db, tmp


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """uvicorn on 127.0.0.1 (a free port) in a thread, over a seeded SQLite database."""
    import uvicorn

    from api.app import create_app
    from mutualaid import users
    from mutualaid.enrollments import import_roster
    from mutualaid.store.db import Database

    saved_hasher = users.HASHER
    users.HASHER = FAST_HASHER
    tmp = tmp_path_factory.mktemp("e2e")
    db = Database(f"sqlite:///{tmp / 'e2e.db'}")
    import_roster(db, roster_file(tmp), user="seed")
    from mutualaid.claims.intake import submit_batch
    submit_batch(db, claims_a(tmp), clerk="clerk_a", unit_code="TL0001")
    submit_batch(db, claims_b(tmp), clerk="clerk_b", unit_code="TL0002")
    adjudicate(db, AS_OF)
    with db.transaction() as s:
        for name, role, units, shown in (("clerk_a", "clerk", ["TL0001"], "王经办"), ("auditor", "auditor", [], "李审核"),
                                         ("finance", "finance", [], "赵财务"), ("admin", "admin", [], "系统管理员")):
            users.create_user(s, username=name, password=PASSWORD, role=role, actor="seed", unit_codes=units,
                              display_name=shown)
    app = create_app(db, make_settings(tmp, secure_cookies=False))  # plain http on 127.0.0.1
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield Live(f"http://127.0.0.1:{port}", app, db, tmp)
    server.should_exit = True
    thread.join(10)
    app.state.jobs.wait_all()
    db.dispose()
    users.HASHER = saved_hasher


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def console_errors() -> list[str]:
    return []


def sign_in(browser: Browser, live: Live, username: str, errors: list[str], **ctx) -> Page:  # noqa: ANN003
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True, **ctx)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live.base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
    return page


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def no_csp_violations(errors: list[str]) -> None:
    bad = [e for e in errors if "Content Security Policy" in e or "Refused to" in e]
    assert bad == [], bad


def test_clerk_uploads_a_batch_and_reads_the_decisions(browser: Browser, live: Live, console_errors: list[str]) -> None:
    page = sign_in(browser, live, "clerk_a", console_errors)
    expect(page.locator("nav")).to_contain_text("申请批次")
    expect(page.locator("nav")).not_to_contain_text("复核队列")
    expect(page.locator("nav")).to_contain_text("本单位申请")  # the unit's claims, not a review queue
    page.goto(f"{live.base}/batches")
    with page.expect_download() as dl:
        page.click("a[href='/templates/claims.xlsx']")
    assert dl.value.suggested_filename == "claims-template.xlsx"
    bad = write(live.tmp / "clerk_upload.csv", CLAIM_HEAD, [
        hosp_row(claim_no="E2E-1", admission_date="2026-06-01", discharge_date="2026-06-05", submitted_date="2026-06-10"),
        hosp_row(claim_no="E2E-2", total_cost="1.00"),
        hosp_row(claim_no="E2E-3", member_id_number="15050219850615002X")])
    page.set_input_files("input[type=file]", str(bad))
    page.click("form[action='/batches'] button[type=submit]")
    result = page.locator("#upload-result")
    expect(result.locator("table.errors")).to_be_visible()
    expect(result.locator("table.errors tbody tr")).to_have_count(2)
    expect(result).to_contain_text("total_cost")
    expect(result).to_contain_text("医疗总费用应等于")
    expect(result).to_contain_text("身份证号校验码错误")
    expect(page.locator("#batch-list tbody tr")).to_have_count(2)  # the new batch listed without a reload
    shot(page, "clerk_upload_errors")
    page.goto(f"{live.base}/batches")
    page.click("table tbody tr:last-child a")  # the oldest batch: decided by the seed run
    expect(page.locator("h2")).to_contain_text("批次")
    expect(page.locator("main")).to_contain_text("重复申请")   # R06 in words
    expect(page.locator("main")).to_contain_text("已核准")
    assert "*" in page.locator("td.mono").first.inner_text(), "ID numbers masked for clerks"
    shot(page, "clerk_batch_decisions")
    page.goto(f"{live.base}/review?unit=TL0002")
    expect(page.locator("main")).not_to_contain_text("B-1")
    no_csp_violations(console_errors)


def test_auditor_runs_adjudication_and_decides_a_claim(browser: Browser, live: Live,
                                                       console_errors: list[str]) -> None:
    page = sign_in(browser, live, "auditor", console_errors)
    page.goto(f"{live.base}/adjudication")
    page.fill("input[name=as_of]", "2026-07-01")
    page.click("form[action='/adjudication'] button[type=submit]")
    expect(page.locator("#job .good")).to_be_visible(timeout=20000)   # polled via htmx until done
    expect(page.locator("#job")).to_contain_text("已审核")
    shot(page, "auditor_adjudication_done")
    page.goto(f"{live.base}/review")
    page.select_option("select[name=rule]", "V02")
    page.click("form.filters button[type=submit]")
    expect(page.locator("table.queue tbody tr")).to_have_count(2)
    expect(page.locator("table.queue tbody tr").first).to_contain_text("待复核")
    shot(page, "auditor_review_queue")
    page.click("table.queue tbody tr >> text=A-PEND")
    expect(page.locator("table.rules tr.fired")).to_contain_text("V02")
    expect(page.locator("table.rules")).to_contain_text("姓名不符")
    expect(page.locator("table.amount")).to_contain_text("补助金额")
    from tests.test_import import M1
    expect(page.locator("main")).to_contain_text(M1)  # full ID number for auditors on the claim page
    shot(page, "auditor_claim_trace")
    page.check("input[name=action][value=approve]")
    page.fill("textarea[name=reason]", "已电话核实本人身份")
    page.click("#decide button[type=submit]")
    expect(page.locator(".notice.good")).to_contain_text("已记录")
    expect(page.locator("h2 .badge")).to_contain_text("已核准")
    shot(page, "auditor_claim_decided")
    page.goto(f"{live.base}/audit?action=claim.")
    expect(page.locator("table.audit")).to_contain_text("核准理赔")   # the action in words, not claim.approve
    expect(page.locator("table.audit")).not_to_contain_text("None")
    expect(page.locator("table.audit")).to_contain_text("已电话核实本人身份")
    shot(page, "auditor_audit_log")
    no_csp_violations(console_errors)


def test_finance_imports_the_ledger_and_reconciles(browser: Browser, live: Live, console_errors: list[str]) -> None:
    ledger = write(live.tmp / "ledger.csv", LEDGER_HEAD, [
        dict(entry_date="2026-01-01", voucher_no="V-OPEN", entry_type="OPENING_BALANCE", amount="500000.00"),
        dict(entry_date="2026-07-03", voucher_no="V-1", entry_type="PAYOUT", product="HOSP", amount="7020.00",
             reference="TL2026-0001"),
        dict(entry_date="2026-07-04", voucher_no="V-2", entry_type="PAYOUT", product="WOMEN", amount="8000.00",
             reference="TL2026-W001"),
        dict(entry_date="2026-07-05", voucher_no="V-3", entry_type="CONTRIBUTION", amount="1000.00",
             reference="TL0001")])
    page = sign_in(browser, live, "finance", console_errors)
    page.goto(f"{live.base}/ledger")
    page.set_input_files("input[type=file]", str(ledger))
    page.click("form[action='/ledger'] button[type=submit]")
    expect(page.locator("#upload-result")).to_contain_text("所有行均已通过检查")
    shot(page, "finance_ledger_import")
    page.goto(f"{live.base}/recon")
    page.fill("input[name=month]", "2026-07")
    page.click("form[action='/recon'] button[type=submit]")
    expect(page.locator("#job .good")).to_be_visible(timeout=30000)
    expect(page.locator("#runs")).to_contain_text("2026-07")   # the list refreshed itself
    page.click("#job a")
    expect(page.locator("svg.chart")).to_be_visible()
    expect(page.locator("main")).to_contain_text("期末余额")
    expect(page.locator("table.recon-items")).to_contain_text("少付")
    shot(page, "finance_recon_month")
    row = page.locator("table.recon-items tbody tr", has_text="TL2026-W001")
    row.locator("input[name=note]").fill("差额8000元已于8月补付")
    row.locator("button").click()
    expect(page.locator("table.recon-items tbody tr", has_text="TL2026-W001")).to_contain_text("差额8000元已于8月补付")
    with page.expect_download() as dl:
        page.click("a[href$='report.xlsx']")
    assert dl.value.suggested_filename == "2026-07-report.xlsx"
    page.select_option("select[name=status]", "UNDERPAID")
    page.click("form.filters button[type=submit]")
    expect(page.locator("table.recon-items tbody tr")).to_have_count(1)
    shot(page, "finance_recon_resolved")
    no_csp_violations(console_errors)


def test_admin_creates_a_user_and_switches_to_english(browser: Browser, live: Live,
                                                      console_errors: list[str]) -> None:
    page = sign_in(browser, live, "admin", console_errors)
    page.goto(f"{live.base}/admin/users")
    page.fill("input[name=username]", "clerk_new")
    page.fill("input[name=display_name]", "新经办")
    page.select_option("select[name=role]", "clerk")
    page.fill("input[name=unit_codes]", "TL0002")
    page.fill("input[name=password]", "a-long-password")
    page.click("form[action='/admin/users'] button[type=submit]")
    expect(page.locator(".notice.good")).to_contain_text("clerk_new")
    shot(page, "admin_users")
    page.click("a.lang")
    expect(page.locator("nav")).to_contain_text("Review queue")
    page.goto(f"{live.base}/")
    expect(page.locator("h2")).to_contain_text("Dashboard")   # remembered in a cookie
    shot(page, "admin_dashboard_en")
    no_csp_violations(console_errors)


def test_wrong_password_and_expired_session(browser: Browser, live: Live, console_errors: list[str]) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live.base}/review")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Freview"))
    page.fill("input[name=username]", "auditor")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator(".error-box")).to_contain_text("用户名或密码错误")
    shot(page, "login_wrong_password")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live.base}/review")
    from sqlalchemy import update

    from mutualaid.store.models import AuthToken
    with live.db.transaction() as s:
        s.execute(update(AuthToken).values(expires_at=dt.datetime(2000, 1, 1)))
    page.goto(f"{live.base}/audit")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Faudit&expired=1"))
    expect(page.locator(".notice")).to_contain_text("登录已过期")
    cookies = {c["name"]: c for c in context.cookies()}
    assert "ma_session" not in cookies
    context.close()
