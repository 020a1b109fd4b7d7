"""The policy office pages: what-if (finance, admin) through a background job, the year report."""
from __future__ import annotations

import json
import re

import pytest

from mutualaid.policy.loader import DRAFTS_DIR
from tests.web_support import Seeded, Web, fast_hashes, seeded, web  # noqa: F401

pytestmark = pytest.mark.store


def test_whatif_page_runs_the_example_draft_and_shows_the_comparison(web: Web, seeded: Seeded) -> None:
    page = web.browser("finance")
    r = page.get("/office/whatif")
    assert r.status_code == 200 and "2027.yaml" in r.text
    r = page.post("/office/whatif", {"year": "2026", "example": "2027.yaml"}, csrf_from="/office/whatif",
                  headers={"HX-Request": "true"})
    assert r.status_code == 200
    [job_id] = re.findall(r'id="job-([0-9a-f]{16})"', r.text)
    web.wait_jobs()
    assert "/office/whatif/" in page.get(f"/jobs/{job_id}").text       # the job's owner role can follow it
    assert web.browser("auditor").get(f"/jobs/{job_id}").status_code == 404
    r = page.get("/office/whatif")
    [run_id] = re.findall(r'href="/office/whatif/([0-9a-f]{16})"', r.text)
    r = page.get(f"/office/whatif/{run_id}")
    assert r.status_code == 200
    assert "住院医疗互助" in r.text and "<svg" in r.text and "基金测算" in r.text
    s = json.loads(page.get(f"/office/whatif/{run_id}/files/summary.json").content)
    assert s["draft"] == {"file": "2027.yaml", "version": 2027} and s["run_by"] == "finance"
    # the seeded 2026 HOSP claims: four decided, the worked example 7,140.00 becomes 6,900 + 120 = 7,020.00 under 2027
    hosp = s["products"]["HOSP"]
    assert hosp["actual"]["claims"] == 4
    assert page.get(f"/office/whatif/{run_id}/files/report.xlsx").content[:2] == b"PK"


def test_an_invalid_draft_is_refused_with_the_policy_file_error(web: Web, seeded: Seeded) -> None:
    page = web.browser("admin")
    bad = (DRAFTS_DIR / "2027.yaml").read_text(encoding="utf-8").replace("daily_self_pay_fen:", "daily_pay:")
    r = page.client.post("/office/whatif", data={"year": "2026", "csrf_token": page.csrf("/office/whatif")},
                         files={"file": ("my-draft.yaml", bad.encode(), "application/x-yaml")})
    assert r.status_code == 400
    assert "my-draft.yaml: rule V06 (HOSP): unknown fact &#39;daily_pay&#39;" in r.text


def test_year_report_page_prints_and_downloads(web: Web, seeded: Seeded) -> None:
    page = web.browser("finance")
    r = page.get("/office/year", params={"year": "2026"})
    assert r.status_code == 200
    assert "2026 年度报告" in r.text and 'class="year-report"' in r.text and "print-block" in r.text
    s = json.loads(page.get("/office/year/2026/files/summary.json").content)
    assert s["overview"]["received"] == 5 and s["year"] == 2026
    assert "@page { size: A4" in page.get("/static/app.css").text
    assert web.browser("clerk_a").get("/office/year").status_code == 403
    assert web.browser("auditor").get("/office/whatif").status_code == 403
