"""The settlement extract through the JSON API and the office's page."""
from __future__ import annotations

import pytest

from tests.test_settlements import HEAD, srow
from tests.test_import import F1, write
from tests.web_support import Seeded, Web, fast_hashes, seeded, web  # noqa: F401

pytestmark = pytest.mark.store


def _file(web: Web, rows, name="s.csv"):
    path = write(web.tmp / name, HEAD, rows)
    return {"file": (path.name, path.read_bytes(), "text/csv")}


def test_api_import_and_figures(web: Web, seeded: Seeded) -> None:
    rows = [srow(settlement_no="API1", admission_date="2026-05-10", discharge_date="2026-05-12",
                 settlement_date="2026-05-13"),
            srow(settlement_no="API2", visit_type="门诊", admission_date="2026-05-10", discharge_date="2026-05-10",
                 settlement_date="2026-05-10"),
            srow(settlement_no="API3", total_cost="1.00", member_id_number=F1)]
    r = web.client.post("/api/v1/settlements", files=_file(web, rows), headers=web.auth("auditor"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["counts"]["outpatient"] == 1 and body["error_rows"] == 1
    [e] = body["errors"]
    assert (e["row"], e["column"], e["code"]) == (4, "total_cost", "settlement_costs_dont_add_up")
    assert body["counts"]["claimed"] + body["counts"]["attached"] + body["counts"]["not_enrolled"] == 1
    assert web.client.post("/api/v1/settlements", files=_file(web, rows, "t.csv"),
                           headers=web.auth("finance")).status_code == 403
    f = web.client.get("/api/v1/settlements/figures", headers=web.auth("finance"))
    assert f.status_code == 200 and set(f.json()["paid_without_application"]) == {"count", "payout"}


def test_office_page_upload_in_chinese(web: Web, seeded: Seeded) -> None:
    page = web.browser("auditor")
    r = page.client.get("/settlements")
    assert r.status_code == 200 and "医保结算数据（免申即享）" in r.text and "无需申请即核准的理赔" in r.text
    r = page.client.post("/settlements", files=_file(web, [srow(settlement_no="PG1", visit_type="门诊",
                                                                 discharge_date="")]),
                         data={"csrf_token": page.csrf()}, headers={"hx-request": "true"})
    assert r.status_code == 200 and "门诊记录（只计数）" in r.text and r.headers["hx-trigger"] == "imported"
    finance = web.browser("finance").client.get("/settlements")
    assert finance.status_code == 200 and 'action="/settlements"' not in finance.text  # reads, cannot import


def test_claim_page_shows_the_source_and_the_linked_claims(web: Web, seeded: Seeded) -> None:
    from sqlalchemy import select

    from mutualaid.claims.intake import submit_batch
    from mutualaid.settlements.service import import_settlements
    from mutualaid.store.models import Claim
    from tests.test_import import CLAIM_HEAD, hosp_row

    import_settlements(web.db, write(web.tmp / "x.csv", HEAD, [srow(settlement_no="PGS1", admission_date="2026-08-03",
                                                                    discharge_date="2026-08-05",
                                                                    settlement_date="2026-08-06")]))
    submit_batch(web.db, write(web.tmp / "c.csv", CLAIM_HEAD, [hosp_row(
        claim_no="PG-CLERK", admission_date="2026-08-03", discharge_date="2026-08-05", submitted_date="2026-08-10")]))
    with web.db.sessions() as s:
        ids = dict(s.execute(select(Claim.claim_no, Claim.id).where(Claim.claim_no.in_(["YB-PGS1", "PG-CLERK"]))).all())
    page = web.browser("auditor")
    withdrawn = page.client.get(f"/claims/{ids['YB-PGS1']}")
    assert withdrawn.status_code == 200
    assert "已撤回" in withdrawn.text and "医保结算（免申即享）" in withdrawn.text and "PG-CLERK" in withdrawn.text
    clerk = page.client.get(f"/claims/{ids['PG-CLERK']}")
    assert "工会申报" in clerk.text and "PGS1" in clerk.text and "YB-PGS1" in clerk.text
    listed = web.client.get("/api/v1/claims", params={"status": "WITHDRAWN"}, headers=web.auth("auditor"))
    assert listed.status_code == 200 and [c["claim_no"] for c in listed.json()["items"]] == ["YB-PGS1"]
    assert listed.json()["items"][0]["source"] == "settlement"
    one = web.client.get(f"/api/v1/claims/{ids['PG-CLERK']}", headers=web.auth("auditor")).json()
    assert one["source"] == "clerk"
    refused = web.client.post(f"/api/v1/claims/{ids['YB-PGS1']}/review", headers=web.auth("auditor2"),
                              json={"action": "approve", "reason": "x", "version": 1})
    assert refused.status_code in (400, 409) and listed.json()["items"][0]["payout"] == "0.00"
