"""The casework routes in the authorisation matrix (tests/test_authz.py appends these)."""
from __future__ import annotations

from tests.test_authz import Call, roles

PDF = b"%PDF-1.4\n%%EOF\n"


def _claim(name: str):  # noqa: ANN202
    return lambda w, s: s.claims[name]


API = [
    Call("POST", "/api/v1/claims/{claim_id}/return", roles("claims.review"),
         lambda w, s: {"json": {"reason_code": "other", "note": "matrix", "version": 999}},
         url=lambda w, s: f"/api/v1/claims/{s.claims['A-PEND']}/return"),
    Call("POST", "/api/v1/claims/{claim_id}/appeal", roles("claims.appeal"), lambda w, s: {"json": {"note": "matrix"}},
         url=lambda w, s: f"/api/v1/claims/{s.claims['A-DUP']}/appeal"),
    Call("GET", "/api/v1/returns", roles("batches.read")),
    Call("GET", "/api/v1/appeals", roles("claims.read")),
    Call("GET", "/api/v1/claims/{claim_id}/documents", roles("claims.read"),
         url=lambda w, s: f"/api/v1/claims/{s.claims['A-DUP']}/documents"),
    Call("POST", "/api/v1/claims/{claim_id}/documents", roles("documents.upload"),
         lambda w, s: {"data": {"kind": "other"}, "files": {"file": ("a.pdf", PDF, "application/pdf")}},
         url=lambda w, s: f"/api/v1/claims/{s.claims['A-DUP']}/documents"),
    Call("GET", "/api/v1/documents/{doc_id}/content", roles("claims.read"), url=lambda w, s: "/api/v1/documents/999/content"),
    Call("POST", "/api/v1/documents/imports", roles("documents.upload"),
         lambda w, s: {"files": {"file": ("d.zip", b"not a zip", "application/zip")}}),
    Call("POST", "/api/v1/quality/draws", roles("claims.review"), lambda w, s: {"json": {"month": "2026-06"}}),
    Call("GET", "/api/v1/quality/samples", roles("claims.review")),
    Call("POST", "/api/v1/quality/samples/{claim_id}/verdict", roles("claims.review"),
         lambda w, s: {"json": {"verdict": "agree"}}, url=lambda w, s: f"/api/v1/quality/samples/{s.claims['A-DUP']}/verdict"),
    Call("GET", "/api/v1/quality/figures", roles("claims.review")),
]

PAGES = [
    Call("POST", "/claims/{claim_id}/return", roles("claims.review"),
         lambda w, s: {"data": {"reason_code": "other", "note": "matrix", "version": "999"}},
         url=lambda w, s: f"/claims/{s.claims['A-PEND']}/return"),
    Call("POST", "/claims/{claim_id}/appeal", roles("claims.appeal"), lambda w, s: {"data": {"note": "matrix"}},
         url=lambda w, s: f"/claims/{s.claims['A-DUP']}/appeal"),
    Call("POST", "/claims/{claim_id}/documents", roles("documents.upload"),
         lambda w, s: {"data": {"kind": "other"}, "files": {"file": ("a.pdf", PDF, "application/pdf")}},
         url=lambda w, s: f"/claims/{s.claims['A-DUP']}/documents"),
    Call("GET", "/claims/{claim_id}/documents/{doc_id}", roles("claims.read"),
         url=lambda w, s: f"/claims/{s.claims['A-DUP']}/documents/999"),
    Call("GET", "/returned", roles("batches.read")),
    Call("GET", "/appeals", roles("claims.read")),
    Call("GET", "/documents", roles("documents.upload")),
    Call("POST", "/documents", roles("documents.upload"),
         lambda w, s: {"files": {"file": ("d.zip", b"not a zip", "application/zip")}}),
    Call("GET", "/quality", roles("claims.review")),
    Call("POST", "/quality", roles("claims.review"), lambda w, s: {"data": {"month": "2026-06"}}),
    Call("POST", "/quality/{claim_id}/verdict", roles("claims.review"), lambda w, s: {"data": {"verdict": "agree"}},
         url=lambda w, s: f"/quality/{s.claims['A-DUP']}/verdict"),
]

API.append(Call("POST", "/api/v1/claims/{claim_id}/correction", roles("batches.submit"),
                lambda w, s: {"json": {"values": {"member_name": "x"}}},
                url=lambda w, s: f"/api/v1/claims/{s.claims['A-DUP']}/correction"))
PAGES.append(Call("POST", "/claims/{claim_id}/correct", roles("batches.submit"), lambda w, s: {"data": {"member_name": "x"}},
                  url=lambda w, s: f"/claims/{s.claims['A-DUP']}/correct"))
