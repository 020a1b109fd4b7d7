"""The office imports a settlement extract (免申即享) on its page in a real browser."""
from __future__ import annotations

import pytest

from tests.e2e.test_browser import (  # noqa: F401  (fixtures)
    Live, browser, console_errors, live, no_csp_violations, shot, sign_in,
)
from tests.test_import import write
from tests.test_settlements import HEAD, srow

from playwright.sync_api import Browser, expect  # noqa: E402

pytestmark = pytest.mark.store


def test_auditor_imports_an_extract_on_the_settlement_page(browser: Browser, live: Live,  # noqa: F811
                                                            console_errors: list[str]) -> None:  # noqa: F811
    page = sign_in(browser, live, "auditor", console_errors)
    expect(page.locator("nav")).to_contain_text("医保结算")
    page.goto(f"{live.base}/settlements")
    expect(page.locator("h2")).to_contain_text("医保结算数据（免申即享）")
    extract = write(live.tmp / "e2e_settlements.csv", HEAD, [
        srow(settlement_no="E2E-S1", admission_date="2026-09-01", discharge_date="2026-09-04",
             settlement_date="2026-09-05"),
        srow(settlement_no="E2E-S2", visit_type="门诊", admission_date="2026-09-02", discharge_date="",
             settlement_date="2026-09-02"),
        srow(settlement_no="E2E-S3", total_cost="1.00")])
    page.set_input_files("input[type=file]", str(extract))
    page.click("form[action='/settlements'] button[type=submit]")
    result = page.locator("#upload-result")
    expect(result.locator("table.errors tbody tr")).to_have_count(1)
    expect(result).to_contain_text("医疗总费用应等于统筹基金支付")
    expect(result.locator("#settlement-counts")).to_contain_text("门诊记录（只计数）")
    expect(page.locator("#recent tbody tr")).not_to_have_count(0)  # listed without a reload
    expect(page.locator("#settlement-tables")).to_contain_text("已受理")  # the new claim, by status
    shot(page, "office_settlement_import")
    no_csp_violations(console_errors)
