"""End-to-end: finance runs the 2027 example draft on 2026 and prints the year report to A4."""
from __future__ import annotations

import pytest

from tests.e2e.test_browser import (  # noqa: F401  (fixtures)
    Browser,
    Live,
    browser,
    console_errors,
    expect,
    live,
    no_csp_violations,
    shot,
    sign_in,
)

pytestmark = pytest.mark.slow
A4_POINTS = (595, 842)  # 210 x 297 mm


def test_finance_runs_a_what_if_and_prints_the_year_report(browser: Browser, live: Live,
                                                          console_errors: list[str]) -> None:
    page = sign_in(browser, live, "finance", console_errors)
    page.goto(f"{live.base}/office/whatif")
    page.fill("input[name=year]", "2026")
    page.select_option("select[name=example]", "2027.yaml")
    page.click("form[action='/office/whatif'] button[type=submit]")
    expect(page.locator("#job .good")).to_be_visible(timeout=60000)
    page.click("#job a")
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator("main")).to_contain_text("基金测算")
    shot(page, "finance_whatif_result")
    page.goto(f"{live.base}/office/year?year=2026")
    expect(page.locator("h2")).to_contain_text("2026 年度报告")
    shot(page, "finance_year_report")
    page.emulate_media(media="print")
    assert not page.locator("nav").first.is_visible()          # the navigation is not printed
    pdf = page.pdf(format="A4", print_background=False)
    assert pdf[:5] == b"%PDF-"
    assert f"/MediaBox [0 0 {A4_POINTS[0]}".encode() in pdf or b"/MediaBox [0 0 595.9" in pdf
    assert 1 <= pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type/Page") <= 4
    no_csp_violations(console_errors)
