"""End-to-end casework in headless Chromium: the clerk uploads documents in a ZIP, the auditor
returns the claim (退回补正), the clerk corrects and resubmits it, the auditor approves it."""
from __future__ import annotations

import zipfile

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
from tests.test_import import CLAIM_HEAD, M1, hosp_row, write

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")


def test_zip_return_correct_approve(browser: Browser, live: Live, console_errors: list[str]) -> None:
    archive = live.tmp / "docs.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("A-PEND_invoice.pdf", PDF)
        z.writestr("A-PEND_settlement_sheet.png", PNG)
        z.writestr("NOPE-9_invoice.pdf", PDF)
    clerk = sign_in(browser, live, "clerk_a", console_errors)
    clerk.goto(f"{live.base}/documents")
    clerk.set_input_files("input[type=file]", str(archive))
    clerk.click("form[action='/documents'] button[type=submit]")
    result = clerk.locator("#upload-result")
    expect(result.locator("table.errors tbody tr")).to_have_count(1)
    expect(result).to_contain_text("NOPE-9_invoice.pdf")
    shot(clerk, "casework_clerk_zip")

    auditor = sign_in(browser, live, "auditor", console_errors)
    auditor.goto(f"{live.base}/review?claim_no=A-PEND")
    auditor.click("table.queue tbody tr >> text=A-PEND")
    expect(auditor.locator("#casework img")).to_be_visible()
    expect(auditor.locator("#casework iframe")).to_have_count(1)
    auditor.select_option("#return select[name=reason_code]", "amount_mismatch")
    auditor.fill("#return textarea[name=note]", "政策内自付与结算单不符")
    auditor.click("#return button[type=submit]")
    expect(auditor.locator("h2 .badge")).to_contain_text("已退回补正")
    claim_url = auditor.url.split("?")[0]
    shot(auditor, "casework_auditor_returned")

    clerk.goto(f"{live.base}/returned")
    expect(clerk.locator("#returned-list")).to_contain_text("A-PEND")
    expect(clerk.locator("#returned-list")).to_contain_text("金额与医保结算单不符")
    corrected = write(live.tmp / "corrected.csv", CLAIM_HEAD, [hosp_row(
        claim_no="A-PEND", member_id_number=M1, member_name="张 伟x", admission_date="2026-05-03",
        discharge_date="2026-05-06", submitted_date="2026-07-05", in_policy_self_pay="11000.00",
        out_of_policy_self_pay="2000.00")])
    clerk.goto(f"{live.base}/batches")
    clerk.set_input_files("input[type=file]", str(corrected))
    clerk.click("form[action='/batches'] button[type=submit]")
    expect(clerk.locator("#upload-result")).to_contain_text("重新提交")
    shot(clerk, "casework_clerk_resubmitted")

    auditor.goto(f"{live.base}/adjudication")
    auditor.fill("input[name=as_of]", "2026-07-10")
    auditor.click("form[action='/adjudication'] button[type=submit]")
    expect(auditor.locator("#job .good")).to_be_visible(timeout=20000)
    auditor.goto(claim_url)
    expect(auditor.locator("h2 .badge")).to_contain_text("待复核")  # the name still differs: V02
    expect(auditor.locator("#versions")).to_be_visible()
    auditor.check("input[name=action][value=approve]")
    auditor.fill("#decide textarea[name=reason]", "结算单已核对")
    auditor.click("#decide button[type=submit]")
    expect(auditor.locator("h2 .badge")).to_contain_text("已核准")
    shot(auditor, "casework_auditor_approved")
    no_csp_violations(console_errors)
