"""Authorisation matrix: every endpoint (API and pages) x every role -> allowed or refused.

A role is *allowed* when the answer is neither 401 nor 403 (it may still be 404 or 400 for
the made-up ids and bodies used here); *refused* is 403; without credentials it is 401 for
the API and a redirect to the login page for pages. The table must name every route of the
app, so a new endpoint cannot go untested. Object-level rules follow: a clerk of unit A
guessing ids of unit B's claims and batches gets 404 everywhere.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from api.app import route_table
from api.authz import PERMISSIONS
from tests.test_import import CLAIM_HEAD, hosp_row, write
from tests.web_support import ROLE_USER, ROLES, Seeded, Web, fast_hashes, seeded, web  # noqa: F401

pytestmark = pytest.mark.store
ANY = None  # every signed-in role


@dataclass(frozen=True)
class Call:
    method: str
    path: str          # as routed, with {params}
    allowed: frozenset[str] | None   # roles allowed; None = every signed-in role
    request: Callable[[Web, Seeded], dict[str, Any]] = lambda w, s: {}
    url: Callable[[Web, Seeded], str] | None = None


def roles(permission: str) -> frozenset[str]:
    return frozenset(PERMISSIONS[permission]) | {"admin"}


def csv_file(w: Web, s: Seeded) -> dict[str, Any]:
    rows = [hosp_row(claim_no=f"AZ-{id(w) % 10**8}-{len(list(w.tmp.iterdir()))}")]
    path = write(w.tmp / f"az{len(list(w.tmp.iterdir()))}.csv", CLAIM_HEAD, rows)
    return {"files": {"file": (path.name, path.read_bytes(), "text/csv")}, "data": {"unit_code": "TL0001"}}


def claim_id(name: str) -> Callable[[Web, Seeded], int]:
    return lambda w, s: s.claims[name]


API: list[Call] = [
    Call("GET", "/api/v1/me", ANY),
    Call("DELETE", "/api/v1/token", ANY),
    Call("GET", "/api/v1/users", roles("users.manage")),
    Call("POST", "/api/v1/users", roles("users.manage"),
         lambda w, s: {"json": {"username": "u_new", "password": "long-enough-1", "role": "finance"}}),
    Call("PATCH", "/api/v1/users/{username}", roles("users.manage"), lambda w, s: {"json": {"active": True}},
         url=lambda w, s: "/api/v1/users/finance"),
    Call("POST", "/api/v1/batches", roles("batches.submit"), csv_file),
    Call("GET", "/api/v1/batches", roles("batches.read")),
    Call("GET", "/api/v1/batches/{batch_id}", roles("batches.read"), url=lambda w, s: f"/api/v1/batches/{s.batch_a}"),
    Call("GET", "/api/v1/batches/{batch_id}/claims", roles("batches.read"),
         url=lambda w, s: f"/api/v1/batches/{s.batch_a}/claims"),
    Call("GET", "/api/v1/batches/{batch_id}/errors.csv", roles("batches.read"),
         url=lambda w, s: f"/api/v1/batches/{s.batch_a}/errors.csv"),
    Call("GET", "/api/v1/templates/claims.csv", ANY),
    Call("GET", "/api/v1/templates/claims.xlsx", ANY),
    Call("POST", "/api/v1/adjudication/runs", roles("adjudication.run"), lambda w, s: {"json": {}}),
    Call("GET", "/api/v1/jobs/{job_id}", roles("jobs.read"), url=lambda w, s: "/api/v1/jobs/0123456789abcdef"),
    Call("GET", "/api/v1/claims", roles("claims.read")),
    Call("GET", "/api/v1/claims/{claim_id}", roles("claims.read"),
         url=lambda w, s: f"/api/v1/claims/{s.claims['A-DUP']}"),
    Call("GET", "/api/v1/claims/{claim_id}/decisions", roles("claims.read"),
         url=lambda w, s: f"/api/v1/claims/{s.claims['A-DUP']}/decisions"),
    Call("POST", "/api/v1/claims/{claim_id}/review", roles("claims.review"),
         lambda w, s: {"json": {"action": "approve", "reason": "matrix", "version": 999}},
         url=lambda w, s: f"/api/v1/claims/{s.claims['A-PEND']}/review"),
    Call("GET", "/api/v1/decisions/export", roles("decisions.export"),
         lambda w, s: {"params": {"batch_id": s.batch_a}}),
    Call("POST", "/api/v1/rosters", roles("rosters.import"),
         lambda w, s: {"files": {"file": ("r.csv", b"unit_code\nX\n", "text/csv")}}),
    Call("POST", "/api/v1/ledger/imports", roles("ledger.import"),
         lambda w, s: {"files": {"file": ("l.csv", b"voucher_no\nX\n", "text/csv")}}),
    Call("POST", "/api/v1/reconciliations", roles("recon.run"), lambda w, s: {"json": {"month": "2026-06"}}),
    Call("GET", "/api/v1/reconciliations", roles("recon.read")),
    Call("GET", "/api/v1/reconciliations/{run_id}", roles("recon.read"), url=lambda w, s: "/api/v1/reconciliations/1"),
    Call("GET", "/api/v1/reconciliations/{run_id}/items", roles("recon.read"),
         url=lambda w, s: "/api/v1/reconciliations/1/items"),
    Call("POST", "/api/v1/reconciliations/{month}/resolutions", roles("recon.resolve"),
         lambda w, s: {"json": {"item_key": "X", "note": "n"}},
         url=lambda w, s: "/api/v1/reconciliations/2026-06/resolutions"),
    Call("GET", "/api/v1/reconciliations/{run_id}/files/{name}", roles("recon.read"),
         url=lambda w, s: "/api/v1/reconciliations/1/files/items.csv"),
    Call("GET", "/api/v1/audit", roles("audit.read")),
    Call("GET", "/api/v1/dashboard", roles("dashboard.read")),
    Call("POST", "/api/v1/settlements", roles("settlements.import"),
         lambda w, s: {"files": {"file": ("s.csv", b"settlement_no\nX\n", "text/csv")}}),
    Call("GET", "/api/v1/settlements/figures", roles("settlements.read")),
]

PAGES: list[Call] = [
    Call("GET", "/", ANY),
    Call("POST", "/logout", ANY),
    Call("GET", "/batches", roles("batches.read")),
    Call("POST", "/batches", roles("batches.submit"), csv_file),
    Call("GET", "/batches/{batch_id}", roles("batches.read"), url=lambda w, s: f"/batches/{s.batch_a}"),
    Call("GET", "/batches/{batch_id}/errors.csv", roles("batches.read"), url=lambda w, s: f"/batches/{s.batch_a}/errors.csv"),
    Call("GET", "/batches/{batch_id}/decisions.csv", roles("decisions.export"),
         url=lambda w, s: f"/batches/{s.batch_a}/decisions.csv"),
    Call("GET", "/templates/claims.csv", ANY),
    Call("GET", "/templates/claims.xlsx", ANY),
    Call("GET", "/review", roles("claims.read")),
    Call("GET", "/claims/{claim_id}", roles("claims.read"), url=lambda w, s: f"/claims/{s.claims['A-DUP']}"),
    Call("POST", "/claims/{claim_id}/review", roles("claims.review"),
         lambda w, s: {"data": {"action": "approve", "reason": "matrix", "version": "999"}},
         url=lambda w, s: f"/claims/{s.claims['A-PEND']}/review"),
    Call("GET", "/audit", roles("audit.read")),
    Call("GET", "/adjudication", roles("adjudication.run")),
    Call("POST", "/adjudication", roles("adjudication.run"), lambda w, s: {"data": {"as_of": "2026-07-01"}}),
    Call("GET", "/jobs/{job_id}", ANY, url=lambda w, s: "/jobs/0123456789abcdef"),
    Call("GET", "/rosters", roles("rosters.import")),
    Call("POST", "/rosters", roles("rosters.import"), lambda w, s: {"files": {"file": ("r.csv", b"a\n1\n", "text/csv")}}),
    Call("GET", "/ledger", roles("ledger.import")),
    Call("POST", "/ledger", roles("ledger.import"), lambda w, s: {"files": {"file": ("l.csv", b"a\n1\n", "text/csv")}}),
    Call("GET", "/recon", roles("recon.read")),
    Call("POST", "/recon", roles("recon.run"), lambda w, s: {"data": {"month": "2026-06"}}),
    Call("GET", "/recon/{month}", roles("recon.read"), url=lambda w, s: "/recon/2026-06"),
    Call("POST", "/recon/{month}/resolve", roles("recon.resolve"), lambda w, s: {"data": {"item_key": "X", "note": "n"}},
         url=lambda w, s: "/recon/2026-06/resolve"),
    Call("GET", "/recon/runs/{run_id}/files/{name}", roles("recon.read"), url=lambda w, s: "/recon/runs/1/files/items.csv"),
    Call("GET", "/office/whatif", roles("office.simulate")),
    Call("POST", "/office/whatif", roles("office.simulate"), lambda w, s: {"data": {"year": "2026", "example": "none.yaml"}}),
    Call("GET", "/office/whatif/{run_id}", roles("office.simulate"), url=lambda w, s: "/office/whatif/0123456789abcdef"),
    Call("GET", "/office/whatif/{run_id}/files/{name}", roles("office.simulate"),
         url=lambda w, s: "/office/whatif/0123456789abcdef/files/summary.json"),
    Call("GET", "/office/year", roles("office.year"), lambda w, s: {"params": {"year": "2026"}}),
    Call("GET", "/office/year/{year}/files/{name}", roles("office.year"), url=lambda w, s: "/office/year/2026/files/summary.json"),
    Call("GET", "/admin/users", roles("users.manage")),
    Call("POST", "/admin/users", roles("users.manage"),
         lambda w, s: {"data": {"username": "p_new", "password": "long-enough-1", "role": "finance"}}),
    Call("POST", "/admin/users/{username}/active", roles("users.manage"), lambda w, s: {"data": {"active": "1"}},
         url=lambda w, s: "/admin/users/finance/active"),
    Call("GET", "/settlements", roles("settlements.read")),
    Call("POST", "/settlements", roles("settlements.import"),
         lambda w, s: {"files": {"file": ("s.csv", b"a\n1\n", "text/csv")}}),
]
from tests import authz_casework  # noqa: E402  (the casework routes)
API += authz_casework.API
PAGES += authz_casework.PAGES
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/api/v1/openapi.json"), ("POST", "/api/v1/token")}


def test_the_matrix_names_every_route(web: Web) -> None:
    routed = route_table()
    api_paths = {(m.upper(), p) for p, ops in web.client.get("/api/v1/openapi.json").json()["paths"].items()
                 for m in ops}
    assert api_paths <= routed and len(routed) > 50
    listed = {(c.method, c.path) for c in API + PAGES} | PUBLIC
    assert routed - listed == set(), "add new routes to the authorisation matrix"
    assert listed - routed - {("GET", "/api/v1/openapi.json")} == set()


def _send(web: Web, seeded: Seeded, call: Call, auth: dict[str, str] | None, client: Any = None,
          csrf: str | None = None) -> int:
    kwargs = call.request(web, seeded)
    url = call.url(web, seeded) if call.url else call.path
    if csrf is not None and call.method != "GET":
        kwargs.setdefault("data", {})
        kwargs["data"] = {**kwargs["data"], "csrf_token": csrf}
    client = client or web.client
    response = client.request(call.method, url, headers=auth or {}, follow_redirects=False, **kwargs)
    assert response.status_code < 500, (call.method, url, response.text[:300])
    return response.status_code


def test_api_matrix(web: Web, seeded: Seeded) -> None:
    problems = []
    for call in API:
        status = _send(web, seeded, call, None)
        if status != 401:
            problems.append(("anonymous", call.method, call.path, status))
        for role in ROLES:
            user = ROLE_USER[role]
            auth = web.auth(user)
            status = _send(web, seeded, call, auth)
            allowed = call.allowed is None or role in call.allowed
            if allowed and status in (401, 403):
                problems.append((role, call.method, call.path, status, "should be allowed"))
            if not allowed and status != 403:
                problems.append((role, call.method, call.path, status, "should be refused"))
            if call.method == "DELETE":
                web._tokens.pop(user, None)  # signed out: the next call signs in again
    assert problems == []


def test_page_matrix(web: Web, seeded: Seeded) -> None:
    problems = []
    anonymous = web.browser()
    for call in PAGES:
        status = _send(web, seeded, call, None, anonymous.client)
        if call.method == "GET" and status != 303:
            problems.append(("anonymous", call.method, call.path, status))
        if call.method == "POST" and status not in (303, 403):
            problems.append(("anonymous", call.method, call.path, status))
    for role in ROLES:
        page = web.browser(ROLE_USER[role])
        for call in PAGES:
            if call.method == "POST" and call.path == "/logout":
                continue
            status = _send(web, seeded, call, None, page.client, csrf=page.csrf())
            allowed = call.allowed is None or role in call.allowed
            if allowed and status in (401, 403) and not (call.path == "/jobs/{job_id}"):
                problems.append((role, call.method, call.path, status, "should be allowed"))
            if not allowed and status != 403:
                problems.append((role, call.method, call.path, status, "should be refused"))
            assert status != 303 or call.method == "POST", (role, call.path, "still signed in")
        assert _send(web, seeded, PAGES[1], None, page.client, csrf=page.csrf()) == 303  # sign out
    assert problems == []


def test_clerk_cannot_see_another_units_claims_or_batches(web: Web, seeded: Seeded) -> None:
    """clerk_a (TL0001) guessing ids of clerk_b's (TL0002) batch and claim: 404, never 403 or data."""
    a = web.auth("clerk_a")
    other_claim, other_batch = seeded.claims["B-1"], seeded.batch_b
    for url in (f"/api/v1/claims/{other_claim}", f"/api/v1/claims/{other_claim}/decisions",
                f"/api/v1/batches/{other_batch}", f"/api/v1/batches/{other_batch}/claims",
                f"/api/v1/batches/{other_batch}/errors.csv"):
        r = web.client.get(url, headers=a)
        assert r.status_code == 404, url
        assert "B-1" not in r.text
    assert web.client.get("/api/v1/decisions/export", headers=a, params={"batch_id": other_batch}).status_code == 404
    for since in range(1, 12):  # every id, as a guesser would
        r = web.client.get(f"/api/v1/claims/{since}", headers=a)
        assert r.status_code in (200, 404)
        if r.status_code == 200:
            assert r.json()["unit_code"] == "TL0001"
    listed = web.client.get("/api/v1/claims", headers=a).json()
    assert {c["unit_code"] for c in listed["items"]} == {"TL0001"} and listed["total"] == 4
    assert {c["claim_no"] for c in web.client.get("/api/v1/claims", headers=a,
                                                 params={"claim_no": "B-1"}).json()["items"]} == set()
    batches = web.client.get("/api/v1/batches", headers=a).json()
    assert [b["id"] for b in batches["items"]] == [seeded.batch_a]
    dash = web.client.get("/api/v1/dashboard", headers=a).json()
    assert sum(f["count"] for f in dash["by_status"].values()) == 4
    page = web.browser("clerk_a")
    for url in (f"/claims/{other_claim}", f"/batches/{other_batch}", f"/batches/{other_batch}/errors.csv",
                f"/batches/{other_batch}/decisions.csv"):
        r = page.get(url)
        assert r.status_code == 404, url
        assert "B-1" not in r.text
    assert f'href="/claims/{other_claim}"' not in page.get("/review?claim_no=B-1").text
    # and the other way round works for the unit's own clerk
    assert web.client.get(f"/api/v1/claims/{other_claim}", headers=web.auth("clerk_b")).status_code == 200


def test_a_claims_unit_is_its_members_once_decided(web: Web, seeded: Seeded) -> None:
    """A federation batch (no unit) and a batch of TL0002 for a TL0001 member: each unit's clerk
    sees their members' claims once decided; the unit shown is the covering enrollment's."""
    from mutualaid.claims.intake import submit_batch
    from tests.test_import import F1, F2, M1
    from tests.web_support import AS_OF, adjudicate, submit_as

    federation = submit_batch(web.db, write(web.tmp / "federation.csv", CLAIM_HEAD, [
        hosp_row(claim_no="FED-A", member_id_number=F1, admission_date="2026-05-20", discharge_date="2026-05-22",
                 submitted_date="2026-05-25"),
        hosp_row(claim_no="FED-B", member_id_number=F2, member_name="刘芳", admission_date="2026-05-20",
                 discharge_date="2026-05-22", submitted_date="2026-05-25"),
    ]), clerk="federation")
    assert federation.stored == 2
    submit_as(web.db, web.tmp, "clerk_b", "TL0002", [
        hosp_row(claim_no="B-FOR-A", member_id_number=M1, member_name="张伟", admission_date="2026-06-01",
                 discharge_date="2026-06-03", submitted_date="2026-06-05")], name="b_for_a.csv")

    def visible(clerk: str, **params: str) -> dict[str, str | None]:
        items = web.client.get("/api/v1/claims", headers=web.auth(clerk),
                               params={"page_size": 100, **params}).json()["items"]
        return {c["claim_no"]: c["unit_code"] for c in items if c["claim_no"] in ("FED-A", "FED-B", "B-FOR-A")}

    # undecided: the unit the batch was submitted for
    assert visible("clerk_a", status="RECEIVED") == {}
    assert visible("clerk_b", status="RECEIVED") == {"B-FOR-A": "TL0002"}
    adjudicate(web.db, AS_OF)
    assert visible("clerk_a") == {"FED-A": "TL0001", "B-FOR-A": "TL0001"}
    assert visible("clerk_b") == {"FED-B": "TL0002", "B-FOR-A": "TL0001"}
    assert visible("auditor")["FED-A"] == "TL0001"
    units = web.client.get("/api/v1/claims", headers=web.auth("auditor"), params={"unit": "TL0002"}).json()["items"]
    assert "FED-B" in {c["claim_no"] for c in units} and "B-FOR-A" not in {c["claim_no"] for c in units}
    from sqlalchemy import select

    from mutualaid.store.models import Claim
    with web.db.sessions() as s:
        fed_a = s.execute(select(Claim.id).where(Claim.claim_no == "FED-A")).scalar_one()
    assert web.client.get(f"/api/v1/claims/{fed_a}", headers=web.auth("clerk_a")).status_code == 200
    assert web.client.get(f"/api/v1/claims/{fed_a}", headers=web.auth("clerk_b")).status_code == 404


from tests import payments_authz  # noqa: E402  (the payment routes, issue 15)
API += payments_authz.API; PAGES += payments_authz.PAGES  # noqa: E702
