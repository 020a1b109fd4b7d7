"""Every page of every role on a 390 × 844 phone: no sideways page scroll.

Wide tables scroll inside their own box and the claim's rule trace becomes a list, so
the page itself never gets wider than the screen. Same live server and Chromium as
test_browser.py (skipped the same way when Chromium is missing).
"""
from __future__ import annotations

import datetime as dt

import pytest

from tests.e2e.test_browser import PASSWORD, SHOTS, Live, browser, live  # noqa: F401  (fixtures)

from playwright.sync_api import Browser, Page  # noqa: E402

pytestmark = pytest.mark.slow
PHONE = {"width": 390, "height": 844}

WIDEST = """() => {
  const d = document.documentElement;
  const wide = [...document.querySelectorAll('main *, header *')]
    .filter(e => e.getBoundingClientRect().right > d.clientWidth + 1)
    .filter(e => !e.closest('table, .overflow-auto, .chart-box') || e.matches('table'))
    .slice(0, 6)
    .map(e => `${e.tagName.toLowerCase()}.${e.className} → ${Math.round(e.getBoundingClientRect().right)}px`);
  return {scroll: d.scrollWidth, client: d.clientWidth, wide};
}"""


def phone_page(browser: Browser, live: Live, username: str) -> Page:  # noqa: F811
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live.base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def fits(page: Page, what: str) -> None:
    width = page.evaluate(WIDEST)
    assert width["scroll"] <= width["client"], f"{what} scrolls sideways at 390 px: {width}"


def visit_all(page: Page, live: Live, role: str, extra: list[str]) -> list[str]:  # noqa: F811
    """The role's menu pages plus ``extra``; each must fit the phone's width."""
    page.goto(f"{live.base}/")
    menu = page.eval_on_selector_all("nav .menu a", "els => els.map(e => e.getAttribute('href'))")
    assert menu, "the menu is there on a phone"
    seen = []
    for href in [*menu, *extra]:
        page.goto(f"{live.base}{href}")
        assert page.url.startswith(live.base) and "/login" not in page.url, href
        fits(page, f"{role} {href}")
        seen.append(href)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"phone_{role}_last.png"), full_page=True)
    return seen


def first_link(page: Page, live: Live, path: str, selector: str) -> str:  # noqa: F811
    page.goto(f"{live.base}{path}")
    link = page.locator(selector).first
    href = link.get_attribute("href")
    assert href, f"no link {selector} on {path}"
    return href


@pytest.fixture(scope="module")
def month_reconciled(live: Live) -> str:  # noqa: F811
    """One reconciliation run, so finance's month page has a chart and items."""
    from batch.reconcile import run

    month = "2026-07"
    run(live.db, month, live.tmp / "phone-recon" / month, user="finance",
        generated_at=dt.datetime(2026, 8, 1, tzinfo=dt.timezone.utc))
    return month


def test_clerk_pages_fit_a_phone(browser: Browser, live: Live) -> None:  # noqa: F811
    page = phone_page(browser, live, "clerk_a")
    batch = first_link(page, live, "/batches", "table a[href^='/batches/']")
    claim = first_link(page, live, "/review", "table a[href^='/claims/']")
    seen = visit_all(page, live, "clerk", [batch, claim])
    assert "/batches" in seen


def test_auditor_pages_fit_a_phone_and_the_trace_is_a_list(browser: Browser, live: Live) -> None:  # noqa: F811
    page = phone_page(browser, live, "auditor")
    claim = first_link(page, live, "/review", "table a[href^='/claims/']")
    visit_all(page, live, "auditor", [claim, "/audit"])
    page.goto(f"{live.base}{claim}")
    rows = page.locator("table.rules tbody tr")
    assert rows.count() > 3
    assert rows.first.evaluate("e => getComputedStyle(e).display") == "block", "the trace is a list on a phone"
    # the rule text gets the screen's width, not a three-character column
    text_cell = rows.first.locator("td").nth(1)
    assert text_cell.evaluate("e => e.getBoundingClientRect().width") > 250
    page.screenshot(path=str(SHOTS / "phone_auditor_claim.png"), full_page=True)


def test_finance_pages_fit_a_phone(browser: Browser, live: Live, month_reconciled: str) -> None:  # noqa: F811
    page = phone_page(browser, live, "finance")
    visit_all(page, live, "finance", [f"/recon/{month_reconciled}"])
    page.goto(f"{live.base}/recon/{month_reconciled}")
    page.screenshot(path=str(SHOTS / "phone_finance_recon.png"), full_page=True)


def test_admin_pages_fit_a_phone(browser: Browser, live: Live) -> None:  # noqa: F811
    page = phone_page(browser, live, "admin")
    seen = visit_all(page, live, "admin", ["/audit"])
    assert "/admin/users" in seen


def test_a_wide_table_scrolls_in_its_box_not_the_page(browser: Browser, live: Live) -> None:  # noqa: F811
    page = phone_page(browser, live, "auditor")
    page.goto(f"{live.base}/review")
    table = page.locator("main table").first
    box = table.evaluate("e => ({scroll: e.scrollWidth, client: e.clientWidth, overflow: getComputedStyle(e).overflowX})")
    assert box["client"] <= 390
    if box["scroll"] > box["client"]:
        assert box["overflow"] in ("auto", "scroll"), box
    fits(page, "review queue")



def test_login_and_english_pages_fit_a_phone(browser: Browser, live: Live) -> None:  # noqa: F811
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live.base}/login")
    fits(page, "login")
    context.close()
    page = phone_page(browser, live, "auditor")
    page.goto(f"{live.base}/review?lang=en")
    visit_all(page, live, "auditor_en", [])
