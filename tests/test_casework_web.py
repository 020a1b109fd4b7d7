"""Casework through the HTTP API and the pages: documents, return, correction, appeal, quality sample."""
from __future__ import annotations

import io
import zipfile

import pytest

from tests.test_import import CLAIM_HEAD, M1, hosp_row, write
from tests.web_support import AS_OF, Seeded, Web, adjudicate, fast_hashes, seeded, web  # noqa: F401

pytestmark = pytest.mark.store
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))


def zip_of(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            z.writestr(name, data)
    return buf.getvalue()


def claim(web: Web, claim_id: int, user: str = "auditor") -> dict:
    r = web.client.get(f"/api/v1/claims/{claim_id}", headers=web.auth(user))
    assert r.status_code == 200, r.text
    return r.json()


def test_zip_return_correct_resubmit_approve(web: Web, seeded: Seeded) -> None:
    pend = seeded.claims["A-PEND"]
    # the clerk uploads the unit's documents in a ZIP; another unit's claim number is an error
    body = zip_of([("A-PEND_invoice.pdf", PDF), ("A-PEND_settlement_sheet.png", PNG), ("B-1_invoice.pdf", PDF)])
    r = web.client.post("/api/v1/documents/imports", headers=web.auth("clerk_a"),
                        files={"file": ("docs.zip", body, "application/zip")})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["files"], out["stored"], [e["code"] for e in out["errors"]]) == (3, 2, ["doc_unknown_claim"])
    docs = web.client.get(f"/api/v1/claims/{pend}/documents", headers=web.auth("auditor")).json()
    assert [(d["kind"], d["media_type"]) for d in docs] == [("invoice", "application/pdf"),
                                                             ("settlement_sheet", "image/png")]
    # served only to who may see the claim, typed by content, never sniffed
    r = web.client.get(docs[0]["url"], headers=web.auth("clerk_a"))
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-type"] == "application/pdf" and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("inline; filename*=UTF-8''A-PEND_invoice.pdf")
    assert web.client.get(docs[0]["url"], headers=web.auth("clerk_b")).status_code == 404
    assert web.client.get(docs[0]["url"] + "?download=1", headers=web.auth("finance")).headers[
        "content-disposition"].startswith("attachment")
    # the auditor returns it: stale version -> 409, then the right one
    c = claim(web, pend)
    assert c["status"] == "PENDING_REVIEW"
    bad = web.client.post(f"/api/v1/claims/{pend}/return", headers=web.auth("auditor"),
                          json={"reason_code": "name_mismatch", "note": "姓名与身份证不符", "version": c["version"] + 5})
    assert bad.status_code == 409
    r = web.client.post(f"/api/v1/claims/{pend}/return", headers=web.auth("auditor"),
                        json={"reason_code": "name_mismatch", "note": "姓名与身份证不符", "version": c["version"]})
    assert r.status_code == 200 and r.json()["status"] == "RETURNED", r.text
    # the clerk sees it in the returned list, the other unit's clerk does not
    returned = web.client.get("/api/v1/returns", headers=web.auth("clerk_a")).json()
    assert [(x["claim_no"], x["reason_code"]) for x in returned] == [("A-PEND", "name_mismatch")]
    assert web.client.get("/api/v1/returns", headers=web.auth("clerk_b")).json() == []
    page = web.browser("clerk_a")
    html = page.get("/returned").text
    assert "A-PEND" in html and "姓名不符" in html
    # corrected row in a new batch: resubmitted, decided again by the next run
    path = write(web.tmp / "fix.csv", CLAIM_HEAD, [hosp_row(claim_no="A-PEND", member_id_number=M1, member_name="张伟",
                                                            admission_date="2026-05-03", discharge_date="2026-05-06",
                                                            submitted_date="2026-07-02")])
    r = web.client.post("/api/v1/batches", headers=web.auth("clerk_a"),
                        files={"file": (path.name, path.read_bytes(), "text/csv")})
    assert r.status_code == 201 and r.json()["stored"] == 1 and r.json()["errors"] == [], r.text
    assert claim(web, pend)["status"] == "RECEIVED"
    adjudicate(web.db, AS_OF)
    c = claim(web, pend)
    assert (c["status"], c["submitted_date"]) == ("APPROVED", "2026-05-10")
    kinds = [d["kind"] for d in web.client.get(f"/api/v1/claims/{pend}/decisions", headers=web.auth("auditor")).json()]
    assert kinds == ["AUTO", "RETURN", "AUTO"]
    # the claim page shows the documents inline and the earlier version
    html = web.browser("auditor").get(f"/claims/{pend}").text
    assert f'<iframe src="/claims/{pend}/documents/' in html and f'<img src="/claims/{pend}/documents/' in html
    assert 'id="versions"' in html and "张 伟x" in html


def test_page_return_and_appeal_with_four_eyes(web: Web, seeded: Seeded) -> None:
    pend, dup = seeded.claims["A-PEND"], seeded.claims["A-DUP"]
    auditor = web.browser("auditor")
    html = auditor.get(f"/claims/{pend}").text
    assert 'action="/claims/%d/return"' % pend in html
    r = auditor.post(f"/claims/{pend}/return", {"reason_code": "other", "note": "", "version": "0"})
    assert r.status_code == 400
    version = claim(web, pend)["version"]
    r = auditor.post(f"/claims/{pend}/return", {"reason_code": "missing_document", "note": "缺发票", "version": version})
    assert r.status_code == 303
    html = auditor.get(f"/claims/{pend}").text
    assert "已退回补正" in html and 'action="/claims/%d/review"' % pend not in html
    # appeal of the engine's rejection (R06), by the clerk; settled by an auditor
    clerk = web.browser("clerk_a")
    assert 'action="/claims/%d/appeal"' % dup in clerk.get(f"/claims/{dup}").text
    r = clerk.post(f"/claims/{dup}/appeal", {"note": "不是重复住院"})  # today: long after the 60 days
    assert r.status_code == 400 and "申诉期限" in r.text
    assert web.client.post(f"/api/v1/claims/{dup}/appeal", headers=web.auth("clerk_a"),
                           json={"note": "不是重复住院", "as_of": "2026-07-15"}).status_code == 204
    appeals = web.client.get("/api/v1/appeals", headers=web.auth("auditor")).json()
    assert [(a["claim_no"], a["decided_by"], a["state"]) for a in appeals] == [("A-DUP", "engine", "OPEN")]
    r = web.client.post(f"/api/v1/claims/{dup}/review", headers=web.auth("auditor"),
                        json={"action": "reject", "reason": "确属重复", "version": claim(web, dup)["version"]})
    assert r.status_code == 200, r.text
    # a second appeal of the auditor's rejection: only another auditor may settle it
    assert web.client.post(f"/api/v1/claims/{dup}/appeal", headers=web.auth("clerk_a"),
                           json={"note": "补充材料", "as_of": "2026-07-20"}).status_code == 204
    r = web.client.post(f"/api/v1/claims/{dup}/review", headers=web.auth("auditor"),
                        json={"action": "approve", "reason": "ok", "version": claim(web, dup)["version"]})
    assert r.status_code == 403 and r.json()["code"] == "case.appeal_same_auditor"
    r = web.client.post(f"/api/v1/claims/{dup}/review", headers=web.auth("auditor2"),
                        json={"action": "approve", "reason": "材料齐全", "version": claim(web, dup)["version"]})
    assert r.status_code == 200 and r.json()["status"] == "APPROVED", r.text
    settled = web.client.get("/api/v1/appeals", headers=web.auth("auditor"), params={"state": "ALL"}).json()
    assert [(a["outcome"], a["settled_by"]) for a in settled] == [("REJECTED", "auditor"), ("APPROVED", "auditor2")]


def test_single_upload_on_the_claim_page_and_bad_files(web: Web, seeded: Seeded) -> None:
    women = seeded.claims["TL2026-W001"]
    clerk = web.browser("clerk_a")
    files = {"file": ("report.png", PNG, "image/png")}
    r = clerk.client.post(f"/claims/{women}/documents", data={"kind": "pathology_report",
                                                              "csrf_token": clerk.csrf()}, files=files)
    assert r.status_code == 303
    r = clerk.client.post(f"/claims/{women}/documents", data={"kind": "invoice", "csrf_token": clerk.csrf()},
                          files={"file": ("evil.pdf", b"<script>alert(1)</script>", "application/pdf")})
    assert r.status_code == 415
    r = web.client.post(f"/api/v1/claims/{women}/documents", headers=web.auth("clerk_b"), data={"kind": "invoice"},
                        files={"file": ("a.pdf", PDF, "application/pdf")})
    assert r.status_code == 404
    html = web.browser("auditor").get(f"/claims/{women}").text
    assert "img src=" in html


def test_quality_draw_and_dashboard(web: Web, seeded: Seeded) -> None:
    r = web.client.post("/api/v1/quality/draws", headers=web.auth("auditor"), json={"month": "2026-07"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["population"] >= 1 and d["random"] == 1  # ceil(3 % of a handful)
    samples = web.client.get("/api/v1/quality/samples", headers=web.auth("auditor")).json()
    assert len(samples) == d["random"] + d["threshold"]
    first = samples[0]
    r = web.client.post(f"/api/v1/quality/samples/{first['claim_id']}/verdict", headers=web.auth("auditor"),
                        json={"verdict": "disagree", "note": "应核减"})
    assert r.status_code == 204, r.text
    figures = web.client.get("/api/v1/quality/figures", headers=web.auth("auditor")).json()
    assert figures[0]["month"] == "2026-07" and figures[0]["disagreed"] == 1
    html = web.browser("auditor").get("/?month=2026-07").text
    assert 'id="quality-figures"' in html and "100.0%" in html
    assert 'id="quality-queue"' in web.browser("auditor").get("/quality").text


def test_correction_form_on_the_claim_page(web: Web, seeded: Seeded) -> None:
    pend = seeded.claims["A-PEND"]
    r = web.client.post(f"/api/v1/claims/{pend}/return", headers=web.auth("auditor"),
                        json={"reason_code": "name_mismatch", "note": "姓名", "version": claim(web, pend)["version"]})
    assert r.status_code == 200
    clerk = web.browser("clerk_a")
    html = clerk.get(f"/claims/{pend}").text
    assert f'action="/claims/{pend}/correct"' in html and 'value="张 伟x"' in html
    r = web.client.post(f"/api/v1/claims/{pend}/correction", headers=web.auth("clerk_a"),
                        json={"values": {"product": "HOSP", "member_id_number": M1, "member_name": "张伟"}})
    assert r.status_code == 200 and {e["column"] for e in r.json()} >= {"admission_date", "cause"}
    assert claim(web, pend)["status"] == "RETURNED"
    assert web.client.post(f"/api/v1/claims/{pend}/correction", headers=web.auth("clerk_b"),
                           json={"values": {}}).status_code == 404
    form = {"product": "HOSP", "member_id_number": M1, "member_name": "张伟", "admission_date": "2026-05-03",
            "discharge_date": "2026-05-06", "hospital_name": "通辽市医院", "diagnosis_code": "J18.9", "cause": "illness",
            "total_cost": "20000.00", "insurance_paid": "7000.00", "in_policy_self_pay": "12000.00",
            "out_of_policy_self_pay": "1000.00"}
    r = clerk.post(f"/claims/{pend}/correct", form)
    assert r.status_code == 303, r.text
    assert claim(web, pend)["status"] == "RECEIVED"
    adjudicate(web.db, AS_OF)
    assert claim(web, pend)["status"] == "APPROVED"
