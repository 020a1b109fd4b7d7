"""The HTTP API and the pages through the real app and database (SQLite and PostgreSQL)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading

import openpyxl
import pytest
from sqlalchemy import func, select, update

from mutualaid.store.models import AuditEntry, AuthToken, Claim, Decision, LoginFailure
from tests.test_import import CLAIM_HEAD, F1, hosp_row, write
from tests.web_support import (  # noqa: F401
    PASSWORD, Seeded, Web, adjudicate, fast_hashes, make_settings, seeded, submit_as, web)

pytestmark = pytest.mark.store
LEDGER_HEAD = ["entry_date", "voucher_no", "entry_type", "product", "amount", "reference", "memo"]


def upload(web: Web, user: str, path: str, name: str, content: bytes, mime: str = "text/csv", **data: str):
    return web.client.post(path, headers=web.auth(user), files={"file": (name, content, mime)}, data=data)


# --- sign-in -----------------------------------------------------------------------------------

def test_token_me_and_sign_out(web: Web) -> None:
    me = web.client.get("/api/v1/me", headers=web.auth("clerk_a"))
    assert me.status_code == 200
    assert me.json() == {"id": me.json()["id"], "username": "clerk_a", "role": "clerk", "unit_codes": ["TL0001"],
                         "display_name": "", "active": True}
    assert web.client.get("/api/v1/me").status_code == 401
    bad = web.client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    assert web.client.delete("/api/v1/token", headers=web.auth("clerk_a")).status_code == 204
    assert web.client.get("/api/v1/me", headers=web.auth("clerk_a")).status_code == 401
    with web.db.sessions() as s:  # only a hash of the secret is stored
        hashes = s.execute(select(AuthToken.token_hash)).scalars().all()
    assert all(len(h) == 64 for h in hashes)


def test_wrong_password_is_rate_limited(web: Web) -> None:
    for _ in range(5):
        r = web.client.post("/api/v1/token", data={"username": "auditor", "password": "wrong-password"})
        assert r.status_code == 401
        assert "用户名或密码错误" in r.json()["detail"]
    r = web.client.post("/api/v1/token", data={"username": "auditor", "password": PASSWORD})
    assert r.status_code == 429, "even the right password waits once the limit is reached"
    assert int(r.headers["retry-after"]) > 0 and "too many wrong passwords" in r.json()["detail"]
    # another user is not affected; the window passes
    assert web.client.post("/api/v1/token", data={"username": "finance", "password": PASSWORD}).status_code == 200
    with web.db.transaction() as s:
        s.execute(update(LoginFailure).values(at=LoginFailure.at - dt.timedelta(minutes=6)))
    assert web.client.post("/api/v1/token", data={"username": "auditor", "password": PASSWORD}).status_code == 200


def test_login_page_sets_a_safe_cookie_and_checks_csrf(web: Web) -> None:
    page = web.browser()
    forged = page.client.post("/login", data={"username": "auditor", "password": PASSWORD, "csrf_token": "forged"})
    assert forged.status_code == 403
    r = page.login("auditor", PASSWORD, next_url="/review")
    assert r.status_code == 303 and r.headers["location"] == "/review"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("ma_session="))
    flags = {p.strip().lower() for p in cookie.split(";")}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= flags
    assert any(f.startswith("max-age=") for f in flags)
    assert page.get("/review").status_code == 200
    # an open redirect is refused
    other = web.browser()
    assert other.login("auditor", PASSWORD, next_url="//evil.example/x").headers["location"] == "/"
    bad = web.browser().login("auditor", "wrong")
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text


def test_expired_session_redirects_to_login(web: Web) -> None:
    page = web.browser("clerk_a")
    assert page.get("/batches").status_code == 200
    with web.db.transaction() as s:
        s.execute(update(AuthToken).values(expires_at=dt.datetime(2000, 1, 1)))
    r = page.get("/batches?page=1")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fbatches%3Fpage%3D1&expired=1"
    assert "登录已过期" in page.get(r.headers["location"]).text
    # htmx requests are told where to go instead of getting a login page swapped in
    hx = page.get("/batches", headers={"HX-Request": "true"})
    assert hx.status_code == 204 and hx.headers["hx-redirect"].startswith("/login?next=")
    assert web.browser().get("/").headers["location"] == "/login?next=%2F"


def test_forged_csrf_token_is_refused(web: Web) -> None:
    page = web.browser("admin")
    form = {"username": "newclerk", "password": "long-enough-1", "role": "clerk", "unit_codes": "TL0009"}
    assert page.client.post("/admin/users", data={**form, "csrf_token": "forged"}).status_code == 403
    assert page.client.post("/admin/users", data=form).status_code == 403
    assert page.client.post("/admin/users", data=form, headers={"X-CSRF-Token": "forged"}).status_code == 403
    ok = page.post("/admin/users", form)
    assert ok.status_code == 200 and "newclerk" in ok.text
    # the token of another session does not work either
    other = web.browser("admin")
    stolen = other.csrf()
    assert page.client.post("/logout", data={"csrf_token": stolen}).status_code == 403


def test_security_headers_everywhere(web: Web) -> None:
    for r in (web.client.get("/login"), web.client.get("/api/v1/me"), web.client.get("/static/app.css"),
              web.client.get("/api/v1/openapi.json")):
        h = r.headers
        assert "default-src 'self'" in h["content-security-policy"]
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert "'unsafe-inline'" not in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff"
        assert h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "same-origin"
    assert web.client.get("/login").headers["cache-control"] == "no-store"
    page = web.client.get("/login").text
    assert "<script src=\"/static/htmx.min.js\"" in page and "http" not in page.split("<body")[0].replace(
        'content="width=device-width', "")  # nothing loaded from another site


def test_nul_and_oversized_requests_are_refused(web: Web) -> None:
    assert web.client.get("/api/v1/claims?claim_no=a%00b", headers=web.auth("auditor")).status_code == 400
    r = web.client.post("/api/v1/batches", headers={**web.auth("clerk_a"), "Content-Length": str(10**12)},
                        content=b"x")
    assert r.status_code == 413


# --- uploads ---------------------------------------------------------------------------------------

def test_batch_upload_reports_row_errors_and_keeps_good_rows(web: Web) -> None:
    rows = [hosp_row(), hosp_row(claim_no="BAD-1", total_cost="1.00"),
            hosp_row(claim_no="BAD-2", member_id_number="150502198506150021", submitted_date="2026-13-01")]
    content = write(web.tmp / "x.csv", CLAIM_HEAD, rows).read_bytes()
    r = upload(web, "clerk_a", "/api/v1/batches", "三月批次.csv", content)
    assert r.status_code == 201
    body = r.json()
    assert (body["stored"], body["error_rows"], body["unit_code"], body["file_name"]) == (1, 2, "TL0001", "三月批次.csv")
    cells = {(e["row"], e["column"]) for e in body["errors"]}
    assert {(3, "total_cost"), (4, "member_id_number"), (4, "submitted_date")} <= cells
    assert all(e["message"] and " / " in e["message"] for e in body["errors"])
    id_error = next(e for e in body["errors"] if e["column"] == "member_id_number")
    assert id_error["value"] == "150502********0021", "ID numbers are masked in error reports too"
    report = web.client.get(f"/api/v1/batches/{body['import_id']}/errors.csv", headers=web.auth("clerk_a"))
    assert report.status_code == 200 and report.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines[0] == ["row", "column", "value", "message"] and len(lines) == 1 + len(body["errors"])
    again = upload(web, "clerk_a", "/api/v1/batches", "again.csv", content)
    assert again.json()["identical_to"] == body["import_id"]
    status = web.client.get(f"/api/v1/batches/{body['import_id']}", headers=web.auth("clerk_a")).json()
    assert (status["stored"], status["error_rows"], status["claims"], status["by_status"]) == (1, 2, 1, {"RECEIVED": 1})


@pytest.mark.parametrize("name,content,status,text", [
    ("claims.pdf", b"%PDF-1.4", 415, ".pdf"),
    ("claims", b"a,b\n1,2\n", 415, "csv"),
    ("claims.xls", b"\xd0\xcf\x11\xe0", 415, ".xlsx"),
    ("claims.xlsx", b"not a zip file", 400, "xlsx"),
    ("claims.csv", b"", 400, "空"),
    ("claims.csv", b"foo,bar\n1,2\n", 400, "claim_no"),
])
def test_wrong_files_get_a_clear_message(web: Web, name: str, content: bytes, status: int, text: str) -> None:
    r = upload(web, "clerk_a", "/api/v1/batches", name, content)
    assert r.status_code == status, r.text
    assert text in r.json()["detail"]
    assert list((web.tmp / "uploads").iterdir()) == [], "uploads are deleted after the import"


def test_upload_size_limit_and_generated_names(db, tmp_path, fast_hashes) -> None:  # noqa: ANN001, F811
    from fastapi.testclient import TestClient

    from api.app import create_app
    from mutualaid import users
    app = create_app(db, make_settings(tmp_path, max_upload_bytes=2000))
    with db.transaction() as s:
        users.create_user(s, username="clerk_a", password=PASSWORD, role="clerk", actor="t", unit_codes=["TL0001"])
    with TestClient(app, base_url="https://testserver") as client:
        token = client.post("/api/v1/token", data={"username": "clerk_a", "password": PASSWORD}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        big = b"claim_no\n" + b"x" * 3000
        r = client.post("/api/v1/batches", headers=auth, files={"file": ("big.csv", big, "text/csv")})
        assert r.status_code == 413 and "2 KB" in r.json()["detail"]
        small = write(tmp_path / "s.csv", CLAIM_HEAD, [hosp_row()]).read_bytes()
        r = client.post("/api/v1/batches", headers=auth,
                        files={"file": ("../../etc/passwd\\..\\evil.csv", small, "text/csv")})
        assert r.status_code == 201 and r.json()["file_name"] == "evil.csv"
    assert list((tmp_path / "uploads").iterdir()) == []
    assert not (tmp_path / "evil.csv").exists()


def test_clerk_files_only_for_own_units(web: Web) -> None:
    content = write(web.tmp / "x.csv", CLAIM_HEAD, [hosp_row()]).read_bytes()
    r = upload(web, "clerk_a", "/api/v1/batches", "x.csv", content, unit_code="TL0002")
    assert r.status_code == 403 and "TL0002" in r.json()["detail"]
    r = upload(web, "admin", "/api/v1/batches", "x.csv", content)
    assert r.status_code == 400, "an admin names the unit"
    assert upload(web, "admin", "/api/v1/batches", "x.csv", content, unit_code="TL0002").status_code == 201


def test_templates_have_chinese_headers(web: Web) -> None:
    r = web.client.get("/api/v1/templates/claims.csv", headers=web.auth("clerk_a"))
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    header = next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert header[:4] == ["申请编号", "保障项目", "身份证号", "姓名"] and len(header) == len(CLAIM_HEAD)
    x = web.client.get("/api/v1/templates/claims.xlsx", headers=web.auth("clerk_a"))
    ws = openpyxl.load_workbook(io.BytesIO(x.content)).active
    assert [c.value for c in ws[1]] == header
    assert ws.cell(row=2, column=3).number_format == "@", "ID numbers stay text"
    # the blank template, filled in, is accepted as it is
    rows = [{"申请编号": "T-1", **{h: v for h, v in zip(header[1:], list(hosp_row().values())[1:])}}]
    filled = io.StringIO()
    w = csv.DictWriter(filled, fieldnames=header)
    w.writeheader()
    w.writerows(rows)
    ok = upload(web, "clerk_a", "/api/v1/batches", "filled.csv", ("\ufeff" + filled.getvalue()).encode())
    assert ok.status_code == 201 and ok.json()["stored"] == 1, ok.text


# --- adjudication, decisions, reviews ----------------------------------------------------------------

def test_adjudication_runs_in_the_background(web: Web) -> None:
    from tests.web_support import claims_a, roster_file
    from mutualaid.enrollments import import_roster
    import_roster(web.db, roster_file(web.tmp))
    with open(claims_a(web.tmp), "rb") as fh:
        batch = web.client.post("/api/v1/batches", headers=web.auth("clerk_a"),
                                files={"file": ("a.csv", fh, "text/csv")}).json()["import_id"]
    r = web.client.post("/api/v1/adjudication/runs", headers=web.auth("auditor"), json={"as_of": "2026-07-01"})
    assert r.status_code == 202 and r.json()["status"] == "running"
    web.wait_jobs()
    job = web.client.get(f"/api/v1/jobs/{r.json()['id']}", headers=web.auth("auditor")).json()
    assert job["status"] == "done" and job["result"]["decided"] == 4 and job["percent"] == 100
    assert job["result"]["by_status"] == {"APPROVED": 2, "REJECTED": 1, "PENDING_REVIEW": 1}
    claims = web.client.get(f"/api/v1/batches/{batch}/claims", headers=web.auth("clerk_a")).json()
    by_no = {c["claim_no"]: c for c in claims["items"]}
    assert by_no["A-DUP"]["status"] == "REJECTED" and by_no["A-DUP"]["reasons"][0]["code"] == "R06"
    assert "重复申请" in by_no["A-DUP"]["reasons"][0]["meaning"]
    assert by_no["TL2026-0001"]["payout"] == "7020.00"
    with web.db.sessions() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "claims.adjudicate")).scalar()
    assert entry.actor == "auditor", "the run is recorded with the user who started it"


def test_claim_page_data_has_the_rule_trace(web: Web, seeded: Seeded) -> None:
    cid = seeded.claims["TL2026-0001"]
    detail = web.client.get(f"/api/v1/claims/{cid}", headers=web.auth("auditor")).json()
    d = detail["decisions"][0]
    assert d["kind"] == "AUTO" and d["policy_version"] == "HOSP-2026"
    rules = {r["code"]: r for r in d["rules"]}
    assert {"R01", "R03", "R06", "V01", "A01"} <= rules.keys()
    assert not any(r["fired"] for r in d["rules"])
    assert rules["R03"]["inputs"] == {"first_enrollment": True, "days_from_start": 92}
    assert "等待期" in rules["R03"]["meaning"]
    assert d["amount"]["payout"] == "7020.00" and d["amount"]["bands"][0]["rate"] in ("0.5", "0.50")
    assert detail["enrollment"]["participation_year" if False else "policy_version"] == 2026
    decisions = web.client.get(f"/api/v1/claims/{cid}/decisions", headers=web.auth("clerk_a")).json()
    assert [x["id"] for x in decisions] == [x["id"] for x in detail["decisions"]]


def test_ids_and_bank_accounts_masked_except_on_the_claim_for_auditors(web: Web, seeded: Seeded) -> None:
    cid = seeded.claims["TL2026-0001"]
    listed = web.client.get("/api/v1/claims", headers=web.auth("auditor")).json()["items"]
    assert all("*" in c["member_id_number"] for c in listed)
    full = web.client.get(f"/api/v1/claims/{cid}", headers=web.auth("auditor")).json()
    assert full["member_id_number"] == F1 and full["enrollment"]["bank_account"] == "6222021234567890123"
    for user in ("clerk_a", "finance"):
        masked = web.client.get(f"/api/v1/claims/{cid}", headers=web.auth(user)).json()
        assert masked["member_id_number"] == F1[:6] + "********" + F1[-4:]
        assert masked["enrollment"]["bank_account"] == "*" * 15 + "0123"
    audit = web.client.get("/api/v1/audit", headers=web.auth("auditor")).json()["items"]
    assert F1 not in json.dumps(audit, ensure_ascii=False), "ID numbers in the audit log are masked too"
    page = web.browser("clerk_a").get(f"/claims/{cid}").text
    assert F1 not in page and F1[:6] + "********" in page
    assert F1 in web.browser("auditor").get(f"/claims/{cid}").text


def test_review_queue_pending_first_and_filters(web: Web, seeded: Seeded) -> None:
    q = web.client.get("/api/v1/claims", headers=web.auth("auditor")).json()
    statuses = [c["status"] for c in q["items"]]
    assert statuses[:2] == ["PENDING_REVIEW", "PENDING_REVIEW"] and "PENDING_REVIEW" not in statuses[2:]
    assert q["total"] == 5
    get = lambda **p: web.client.get("/api/v1/claims", headers=web.auth("auditor"), params=p).json()  # noqa: E731
    assert [c["claim_no"] for c in get(rule="R06")["items"]] == ["A-DUP"]
    assert {c["claim_no"] for c in get(product="WOMEN")["items"]} == {"TL2026-W001"}
    assert {c["claim_no"] for c in get(unit="TL0002")["items"]} == {"B-1"}
    assert {c["claim_no"] for c in get(min_payout="10000", max_payout="20,000.00")["items"]} == {"TL2026-W001"}
    paged = get(page=2, page_size=2)
    assert (paged["total"], paged["pages"], len(paged["items"])) == (5, 3, 2)
    assert paged["items"][0]["status"] != "PENDING_REVIEW"
    assert web.client.get("/api/v1/claims", headers=web.auth("auditor"), params={"rule": "X1"}).status_code == 422


def test_review_approve_reject_override(web: Web, seeded: Seeded) -> None:
    auth = web.auth("auditor")
    cid = seeded.claims["A-PEND"]
    claim = web.client.get(f"/api/v1/claims/{cid}", headers=auth).json()
    assert claim["status"] == "PENDING_REVIEW" and claim["reason_codes"] == ["V02"]
    no_reason = web.client.post(f"/api/v1/claims/{cid}/review", headers=auth,
                                json={"action": "approve", "reason": "  ", "version": claim["version"]})
    assert no_reason.status_code in (400, 422) and "reason" in json.dumps(no_reason.json())
    no_amount = web.client.post(f"/api/v1/claims/{cid}/review", headers=auth,
                                json={"action": "override", "reason": "x", "version": claim["version"]})
    assert no_amount.status_code == 400 and "payout" in no_amount.json()["detail"]
    ok = web.client.post(f"/api/v1/claims/{cid}/review", headers=auth,
                         json={"action": "override", "reason": "身份已核实，按发票金额", "payout": "1,000.50",
                               "version": claim["version"], "as_of": "2026-07-02"})
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"claim_no": "A-PEND", "status": "APPROVED", "payout": "1000.50", "readjudicated": [],
                         "overrides": [], "limited_to": None, "replaces_review_by": None}
    after = web.client.get(f"/api/v1/claims/{cid}", headers=auth).json()
    assert (after["version"], after["decided_by"], after["decisions"][0]["kind"]) == (claim["version"] + 1, "auditor",
                                                                                     "REVIEW")
    assert after["decisions"][0]["reason"] == "身份已核实，按发票金额"
    rej = web.client.post(f"/api/v1/claims/{seeded.claims['TL2026-W001']}/review", headers=auth,
                          json={"action": "reject", "reason": "病理报告不实", "version": 1})
    assert rej.status_code == 200 and rej.json()["payout"] == "0.00"
    with web.db.sessions() as s:
        actions = s.execute(select(AuditEntry.actor, AuditEntry.action).where(AuditEntry.entity == "claim")).all()
    assert ("auditor", "claim.override") in actions and ("auditor", "claim.reject") in actions


def test_stale_version_gets_409_and_nothing_changes(web: Web, seeded: Seeded) -> None:
    cid = seeded.claims["A-PEND"]
    r = web.client.post(f"/api/v1/claims/{cid}/review", headers=web.auth("auditor"),
                        json={"action": "approve", "reason": "ok", "version": 0})
    assert r.status_code == 409
    assert "someone else decided this claim" in r.json()["detail"] and "他人" in r.json()["detail"]
    with web.db.sessions() as s:
        assert s.execute(select(Claim.status).where(Claim.id == cid)).scalar() == "PENDING_REVIEW"


def test_two_auditors_at_once_one_wins(web: Web, seeded: Seeded) -> None:
    cid = seeded.claims["A-PEND"]
    version = web.client.get(f"/api/v1/claims/{cid}", headers=web.auth("auditor")).json()["version"]
    headers = {name: web.auth(name) for name in ("auditor", "auditor2")}
    start = threading.Barrier(2)
    results: dict[str, int] = {}

    def decide(name: str, action: str) -> None:
        start.wait()
        r = web.client.post(f"/api/v1/claims/{cid}/review", headers=headers[name],
                            json={"action": action, "reason": f"by {name}", "version": version})
        results[name] = r.status_code

    threads = [threading.Thread(target=decide, args=("auditor", "approve")),
               threading.Thread(target=decide, args=("auditor2", "reject"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [200, 409], results
    with web.db.sessions() as s:
        reviews = s.execute(select(Decision.decided_by).join(Claim).where(Claim.id == cid, Decision.kind == "REVIEW")
                            ).scalars().all()
        entries = s.execute(select(func.count()).select_from(AuditEntry)
                            .where(AuditEntry.entity == "claim", AuditEntry.entity_key == "A-PEND")).scalar()
    winner = next(n for n, code in results.items() if code == 200)
    assert reviews == [winner] and entries == 1


def test_nobody_decides_claims_of_their_own_batch(web: Web, seeded: Seeded) -> None:
    submit_as(web.db, web.tmp, "auditor", "TL0001", [hosp_row(claim_no="OWN-1", admission_date="2026-06-01",
                                                               discharge_date="2026-06-03", submitted_date="2026-06-05")])
    adjudicate(web.db, dt.date(2026, 7, 2))
    with web.db.sessions() as s:
        cid, version = s.execute(select(Claim.id, Claim.version).where(Claim.claim_no == "OWN-1")).one()
    r = web.client.post(f"/api/v1/claims/{cid}/review", headers=web.auth("auditor"),
                        json={"action": "approve", "reason": "mine", "version": version})
    assert r.status_code == 403 and "yourself" in r.json()["detail"]
    assert web.client.post(f"/api/v1/claims/{cid}/review", headers=web.auth("auditor2"),
                           json={"action": "approve", "reason": "ok", "version": version}).status_code == 200
    page = web.browser("auditor").get(f"/claims/{cid}")
    assert "不能审核" in page.text and 'action="/claims/' not in page.text


def test_review_through_the_claim_page(web: Web, seeded: Seeded) -> None:
    cid = seeded.claims["A-PEND"]
    page = web.browser("auditor")
    html = page.get(f"/claims/{cid}").text
    assert "V02" in html and "姓名不符" in html and "张伟" in html  # name on record shown beside the claim's
    r = page.post(f"/claims/{cid}/review", {"action": "approve", "reason": "已电话核实", "version": "1"},
                  csrf_from=f"/claims/{cid}")
    assert r.status_code == 303 and r.headers["location"] == f"/claims/{cid}?decided=1"
    stale = page.post(f"/claims/{cid}/review", {"action": "reject", "reason": "x", "version": "1"},
                      csrf_from=f"/claims/{cid}")
    assert stale.status_code == 409 and "已被他人处理" in stale.text
    english = page.get(f"/claims/{cid}?lang=en")
    assert "How it was decided" in english.text and "lang=en" in english.headers["set-cookie"]
    assert "Audit trail" in page.get(f"/claims/{cid}").text, "the language choice is remembered"


def test_decision_export(web: Web, seeded: Seeded) -> None:
    r = web.client.get("/api/v1/decisions/export", headers=web.auth("clerk_a"), params={"batch_id": seeded.batch_a})
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbf"), "BOM: Excel on Chinese Windows reads UTF-8"
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {row["claim_no"] for row in rows} == {"TL2026-0001", "A-DUP", "A-PEND", "TL2026-W001"}
    assert all("*" in row["member_id_number"] for row in rows)
    assert web.client.get("/api/v1/decisions/export", headers=web.auth("clerk_a")).status_code == 404
    assert web.client.get("/api/v1/decisions/export", headers=web.auth("finance")).status_code == 200
    assert list((web.tmp / "uploads").iterdir()) == []


# --- finance -----------------------------------------------------------------------------------------

def ledger_rows(approved: dict[str, str]) -> list[dict[str, str]]:
    rows = [dict(entry_date="2026-01-01", voucher_no="V-OPEN", entry_type="OPENING_BALANCE", product="",
                 amount="1000000.00", reference="", memo="期初"),
            dict(entry_date="2026-07-05", voucher_no="V-1", entry_type="PAYOUT", product="HOSP",
                 amount=approved["TL2026-0001"], reference="TL2026-0001", memo=""),
            dict(entry_date="2026-07-06", voucher_no="V-2", entry_type="PAYOUT", product="WOMEN",
                 amount="100.00", reference="TL2026-W001", memo="少付"),
            dict(entry_date="2026-07-07", voucher_no="V-3", entry_type="PAYOUT", product="HOSP",
                 amount="50.00", reference="NO-SUCH-CLAIM", memo="")]
    return rows


def test_ledger_import_and_reconciliation(web: Web, seeded: Seeded) -> None:
    ledger = write(web.tmp / "ledger.csv", LEDGER_HEAD, ledger_rows({"TL2026-0001": "7020.00"})).read_bytes()
    r = upload(web, "finance", "/api/v1/ledger/imports", "台账.csv", ledger)
    assert r.status_code == 201 and r.json()["stored"] == 4, r.text
    job = web.client.post("/api/v1/reconciliations", headers=web.auth("finance"), json={"month": "2026-07"})
    assert job.status_code == 202, job.text
    web.wait_jobs()
    done = web.client.get(f"/api/v1/jobs/{job.json()['id']}", headers=web.auth("finance")).json()
    assert done["status"] == "done", done
    run_id = done["result"]["run_id"]
    run = web.client.get(f"/api/v1/reconciliations/{run_id}", headers=web.auth("finance")).json()
    assert run["month"] == "2026-07" and sorted(run["files"]) == ["items.csv", "report.xlsx", "summary.json"]
    assert run["summary"]["roll_forward"]["opening"] == "1000000.00"
    items = web.client.get(f"/api/v1/reconciliations/{run_id}/items", headers=web.auth("finance")).json()
    status = {i["item_key"]: i["status"] for i in items["items"]}
    assert status["TL2026-0001"] == "MATCHED" and status["TL2026-W001"] == "UNDERPAID"
    assert status["V-3"] == "UNKNOWN_CLAIM"
    unresolved = web.client.get(f"/api/v1/reconciliations/{run_id}/items", headers=web.auth("finance"),
                                params={"status": "UNDERPAID", "resolved": False}).json()
    assert [i["item_key"] for i in unresolved["items"]] == ["TL2026-W001"]
    res = web.client.post("/api/v1/reconciliations/2026-07/resolutions", headers=web.auth("finance"),
                          json={"item_key": "TL2026-W001", "note": "余款已于8月补付"})
    assert res.status_code == 200 and res.json()["note"] == "余款已于8月补付"
    assert res.json()["resolved_by"] == "finance"
    missing = web.client.post("/api/v1/reconciliations/2026-07/resolutions", headers=web.auth("finance"),
                              json={"item_key": "NOPE", "note": "x"})
    assert missing.status_code == 404
    f = web.client.get(f"/api/v1/reconciliations/{run_id}/files/summary.json", headers=web.auth("finance"))
    assert f.status_code == 200 and json.loads(f.content)["month"] == "2026-07"
    x = web.client.get(f"/api/v1/reconciliations/{run_id}/files/report.xlsx", headers=web.auth("finance"))
    assert x.status_code == 200 and x.content[:2] == b"PK"
    assert web.client.get(f"/api/v1/reconciliations/{run_id}/files/secret.txt",
                          headers=web.auth("finance")).status_code == 422
    dash = web.client.get("/api/v1/dashboard", headers=web.auth("finance"), params={"month": "2026-07"}).json()
    assert (dash["month"], dash["paid_in_month"], dash["fund_balance"]) == ("2026-07", "7170.00", "992830.00")
    assert dash["approved_in_month"] == "23020.00" and dash["by_status"]["PENDING_REVIEW"]["count"] == 2
    assert web.client.get("/api/v1/dashboard", headers=web.auth("clerk_a")).json()["fund_balance"] is None
    # the month page: roll-forward, chart, items, resolve with a note through htmx
    page = web.browser("finance")
    html = page.get("/recon/2026-07").text
    assert "<svg" in html and "期初余额" in html and "TL2026-W001" in html and "余款已于8月补付" in html
    row = page.post("/recon/2026-07/resolve", {"item_key": "V-3", "note": "退回银行"}, csrf_from="/recon/2026-07",
                    headers={"HX-Request": "true"})
    assert row.status_code == 200 and row.text.lstrip().startswith("<tr") and "退回银行" in row.text


def test_users_are_managed_by_admins(web: Web) -> None:
    auth = web.auth("admin")
    r = web.client.post("/api/v1/users", headers=auth, json={"username": "clerk_c", "password": "long-enough-1",
                                                             "role": "clerk", "unit_codes": ["TL0003"]})
    assert r.status_code == 201 and r.json()["unit_codes"] == ["TL0003"]
    assert web.client.post("/api/v1/users", headers=auth, json={"username": "clerk_c", "password": "long-enough-1",
                                                                "role": "clerk", "unit_codes": ["X"]}).status_code == 409
    no_units = web.client.post("/api/v1/users", headers=auth, json={"username": "clerk_d", "password": "long-enough-1",
                                                                    "role": "clerk"})
    assert no_units.status_code == 400 and "unit" in no_units.json()["detail"]
    token = web.auth("clerk_b")
    assert web.client.patch("/api/v1/users/clerk_b", headers=auth, json={"active": False}).status_code == 200
    assert web.client.get("/api/v1/me", headers=token).status_code == 401, "disabling signs the user out"
    assert web.client.patch("/api/v1/users/admin", headers=auth, json={"active": False}).status_code == 400
    names = [u["username"] for u in web.client.get("/api/v1/users", headers=auth).json()]
    assert "clerk_c" in names and all("password" not in json.dumps(u) for u in names)


def test_cli_creates_the_first_admin(db, tmp_path, fast_hashes) -> None:  # noqa: ANN001, F811
    from typer.testing import CliRunner

    from mutualaid.cli import app
    from mutualaid.users import authenticate
    r = CliRunner().invoke(app, ["users", "create-admin", "--username", "boss", "--password", "s3cret-pass-42",
                                 "--db", db.url])
    assert r.exit_code == 0, r.output
    assert authenticate(db, "boss", "s3cret-pass-42", ip="1.2.3.4").role == "admin"
    again = CliRunner().invoke(app, ["users", "create-admin", "--username", "boss", "--password", "s3cret-pass-42",
                                     "--db", db.url])
    assert again.exit_code == 2


# --- pages ---------------------------------------------------------------------------------------------

def test_clerk_pages_upload_errors_and_decisions(web: Web, seeded: Seeded) -> None:
    page = web.browser("clerk_a")
    html = page.get("/batches").text
    assert "上传申请批次" in html and 'href="/templates/claims.xlsx"' in html and "TL0002" not in html
    bad = write(web.tmp / "bad.csv", CLAIM_HEAD, [hosp_row(claim_no="P-1", total_cost="9.99")]).read_bytes()
    r = page.client.post("/batches", files={"file": ("bad.csv", bad, "text/csv")},
                         data={"csrf_token": page.csrf("/batches"), "unit_code": "TL0001"},
                         headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text
    assert "total_cost" in r.text and "9.99" in r.text and "医疗总费用应等于" in r.text
    wrong = page.client.post("/batches", files={"file": ("bad.txt", b"x", "text/plain")},
                             data={"csrf_token": page.csrf("/batches")}, headers={"HX-Request": "true"})
    assert wrong.status_code == 415 and ".txt" in wrong.text
    html = page.get(f"/batches/{seeded.batch_a}").text
    assert "重复申请" in html and "A-DUP" in html and "已拒付" in html
    assert page.get("/templates/claims.csv").content.startswith(b"\xef\xbb\xbf\xe7\x94\xb3")  # BOM + 申


def test_every_page_renders_for_its_role(web: Web, seeded: Seeded) -> None:
    pages = {
        "clerk_a": ["/", "/batches", f"/batches/{seeded.batch_a}", f"/claims/{seeded.claims['A-DUP']}"],
        "auditor": ["/", "/review", "/review?status=PENDING_REVIEW&rule=V02&product=HOSP&min_payout=1",
                    f"/claims/{seeded.claims['TL2026-W001']}", "/audit", "/audit?action=claim", "/adjudication",
                    "/rosters", "/batches"],
        "finance": ["/", "/ledger", "/recon", "/recon/2026-07", "/review"],
        "admin": ["/admin/users", "/review?lang=en", "/recon/2026-07?lang=en"],
    }
    for user, paths in pages.items():
        page = web.browser(user)
        for path in paths:
            r = page.get(path)
            assert r.status_code == 200, (user, path, r.text[:500])
            assert "<nav" in r.text
    junk = web.browser("auditor").get("/review?min_payout=abc&status=NOPE&page=2")
    assert junk.status_code == 200 and "金额无效" in junk.text


def test_adjudication_page_polls_progress(web: Web, seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    import batch.adjudicate as job
    release = threading.Event()
    real_run = job.run

    def slow_run(db, **kw):  # noqa: ANN001, ANN003, ANN202
        kw["progress"](1, 4)
        release.wait(10)
        return real_run(db, **kw)

    monkeypatch.setattr(job, "run", slow_run)
    page = web.browser("admin")
    r = page.post("/adjudication", {"as_of": "2026-07-03"}, csrf_from="/adjudication", headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'hx-trigger="every 1s"' in r.text
    job_id = r.text.split('id="job-')[1].split('"')[0]
    busy = web.client.post("/api/v1/adjudication/runs", headers=web.auth("auditor"), json={})
    assert busy.status_code == 409 and busy.json()["code"] == "err.job_busy"
    running = page.get(f"/jobs/{job_id}", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in running.text and '<progress value="25" max="100">' in running.text
    release.set()
    web.wait_jobs()
    done = page.get(f"/jobs/{job_id}", headers={"HX-Request": "true"})
    assert done.status_code == 200 and "every 1s" not in done.text and done.headers["hx-trigger"] == "job-finished"
    assert web.browser("clerk_a").get(f"/jobs/{job_id}").status_code == 404
    assert web.client.get(f"/api/v1/jobs/{job_id}", headers=web.auth("finance")).status_code == 404


def test_migration_0002_downgrades_and_upgrades(db) -> None:  # noqa: ANN001
    """The new revision runs both ways on both databases, and matches the models."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from mutualaid.store.db import MIGRATIONS
    from mutualaid.store.models import Base

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    names = set(inspect(db.engine).get_table_names())
    assert "users" not in names and "claims" in names
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    columns = {c["name"] for c in inspect(db.engine).get_columns("file_imports")}
    assert "unit_code" in columns


def test_reports_written_by_the_cli_are_downloadable(web: Web, seeded: Seeded) -> None:
    """`mutualaid reconcile --out <reports_dir>/<month>` (and the demo) lay files out by month."""
    from batch.reconcile import run as reconcile
    first = reconcile(web.db, "2026-06", web.settings.reports_dir / "2026-06", user="cli")
    second = reconcile(web.db, "2026-06", web.settings.reports_dir / "2026-06", user="cli")
    auth = web.auth("finance")
    latest = web.client.get(f"/api/v1/reconciliations/{second.run_id}", headers=auth).json()
    assert latest["files"] == ["items.csv", "report.xlsx", "summary.json"]
    older = web.client.get(f"/api/v1/reconciliations/{first.run_id}", headers=auth).json()
    assert older["files"] == [], "a month folder holds the latest run only"
    r = web.client.get(f"/api/v1/reconciliations/{second.run_id}/files/items.csv", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    missing = web.client.get(f"/api/v1/reconciliations/{first.run_id}/files/items.csv", headers=auth)
    assert missing.status_code == 404 and "not on this server" in missing.json()["detail"]


def test_long_lists_count_up_to_a_cap(web: Web, seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    from mutualaid.store import paging
    monkeypatch.setattr(paging, "COUNT_CAP", 2)
    get = lambda **p: web.client.get("/api/v1/claims", headers=web.auth("auditor"), params=p).json()  # noqa: E731
    first = get(page_size=2)
    assert (first["total"], first["more"]) == (4, True), "2 pending counted exactly, the rest up to the cap"
    assert [c["status"] for c in first["items"]] == ["PENDING_REVIEW", "PENDING_REVIEW"]
    last = get(page_size=2, page=3)
    assert len(last["items"]) == 1, "pages past the counted total still come"
    assert "第 1 页，超过 4 条" in web.browser("auditor").get("/review").text


def test_job_progress_is_visible_to_every_server_process(web: Web, seeded: Seeded) -> None:
    """uvicorn --workers N: a poll may reach another process than the one running the job."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from mutualaid.store.models import BackgroundJob
    r = web.client.post("/api/v1/reconciliations", headers=web.auth("finance"), json={"month": "2026-07"})
    web.wait_jobs()
    other = create_app(web.db, web.settings)  # a second worker: its own memory, the same database
    with TestClient(other, base_url="https://testserver") as client:
        seen = client.get(f"/api/v1/jobs/{r.json()['id']}", headers=web.auth("finance")).json()
        assert seen["status"] == "done" and seen["result"]["month"] == "2026-07"
        with web.db.transaction() as s:  # a job whose process died stops beating
            s.add(BackgroundJob(key="00000000deadbeef", kind="adjudicate", owner="x", status="running", done=1,
                                params={}, result={}, started_at=dt.datetime(2026, 1, 1),
                                updated_at=dt.datetime(2026, 1, 1)))
        stale = client.get("/api/v1/jobs/00000000deadbeef", headers=web.auth("auditor")).json()
        assert stale["status"] == "failed" and "interrupted" in stale["error"]
        assert client.post("/api/v1/adjudication/runs", headers=web.auth("auditor"), json={}).status_code == 202
        other.state.jobs.wait_all()
