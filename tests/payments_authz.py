"""The payment routes in the authorisation matrix of tests/test_authz.py."""
from __future__ import annotations

from tests.test_authz import Call, roles

API = [
    Call("GET", "/api/v1/payments/runs", roles("payments.manage")),
    Call("POST", "/api/v1/payments/runs", roles("payments.manage"), lambda w, s: {"json": {"as_of": "2026-07-01"}}),
    Call("GET", "/api/v1/payments/runs/{run_id}", roles("payments.manage"), url=lambda w, s: "/api/v1/payments/runs/999"),
    Call("GET", "/api/v1/payments/runs/{run_id}/items", roles("payments.manage"),
         url=lambda w, s: "/api/v1/payments/runs/999/items"),
    Call("POST", "/api/v1/payments/runs/{run_id}/approve", roles("payments.manage"),
         url=lambda w, s: "/api/v1/payments/runs/999/approve"),
    Call("POST", "/api/v1/payments/runs/{run_id}/cancel", roles("payments.manage"),
         url=lambda w, s: "/api/v1/payments/runs/999/cancel"),
    Call("POST", "/api/v1/payments/runs/{run_id}/export", roles("payments.manage"),
         url=lambda w, s: "/api/v1/payments/runs/999/export"),
    Call("POST", "/api/v1/payments/returns", roles("payments.manage"),
         lambda w, s: {"files": {"file": ("r.csv", b"reference,account\n", "text/csv")}}),
    Call("GET", "/api/v1/payments/vouchers", roles("payments.manage"), url=lambda w, s: "/api/v1/payments/vouchers?month=2026-07"),
    Call("POST", "/api/v1/payments/accounts", roles("payments.manage"),
         lambda w, s: {"json": {"member_id_number": "150502198001010000", "account": "6222020000000000", "reason": "x"}}),
    Call("GET", "/api/v1/payments/failed", roles("payments.failed")),
]
PAGES = [
    Call("GET", "/payments", roles("payments.manage")),
    Call("POST", "/payments", roles("payments.manage"), lambda w, s: {"data": {"as_of": "2026-07-01"}}),
    Call("GET", "/payments/runs/{run_id}", roles("payments.manage"), url=lambda w, s: "/payments/runs/999"),
    Call("POST", "/payments/runs/{run_id}/approve", roles("payments.manage"), url=lambda w, s: "/payments/runs/999/approve"),
    Call("POST", "/payments/runs/{run_id}/cancel", roles("payments.manage"), url=lambda w, s: "/payments/runs/999/cancel"),
    Call("POST", "/payments/runs/{run_id}/export", roles("payments.manage"), url=lambda w, s: "/payments/runs/999/export"),
    Call("POST", "/payments/returns", roles("payments.manage"),
         lambda w, s: {"files": {"file": ("r.csv", b"reference,account\n", "text/csv")}, "data": {"run_id": "999"}}),
    Call("GET", "/payments/vouchers", roles("payments.manage"), url=lambda w, s: "/payments/vouchers?month=2026-07"),
    Call("GET", "/payments/failed", roles("payments.failed")),
    Call("POST", "/payments/accounts", roles("payments.manage"), lambda w, s: {"data": {"claim_no": "NOPE"}}),
]
