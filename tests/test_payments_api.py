"""The payment loop through the JSON API and the pages (roles, four-eyes, same bytes, masking)."""
from __future__ import annotations

import csv
import io

import pytest

from mutualaid import users
from tests.payments_support import account_for, seed, write_returns
from tests.web_support import PASSWORD, Web, fast_hashes, web  # noqa: F401

pytestmark = pytest.mark.store


def _second_finance(web: Web) -> dict[str, str]:
    with web.db.transaction() as s:
        users.create_user(s, username="finance2", password=PASSWORD, role="finance", actor="test")
    return web.auth("finance2")


def test_api_loop(web: Web) -> None:
    seed(web.db, 3, unit="TL0001", accounts={2: None})
    fin, fin2 = web.auth("finance"), _second_finance(web)
    c = web.client
    r = c.post("/api/v1/payments/runs", headers=fin, json={"as_of": "2026-03-31"})
    assert r.status_code == 201, r.text
    body = r.json()
    run = body["run"]["id"]
    assert body["run"]["item_count"] == 2 and body["run"]["total"] == "2000.01"
    assert body["left_out"] == [{"claim_no": "C0003", "reason": "NO_ACCOUNT"}]
    assert c.post(f"/api/v1/payments/runs/{run}/export", headers=fin).status_code == 409
    r = c.post(f"/api/v1/payments/runs/{run}/approve", headers=fin)
    assert r.status_code == 409 and r.json()["code"] == "pay_four_eyes"
    assert c.post(f"/api/v1/payments/runs/{run}/approve", headers=fin2).json()["status"] == "APPROVED"
    first = c.post(f"/api/v1/payments/runs/{run}/export", headers=fin, params={"template": "generic"})
    assert first.status_code == 200 and first.content.startswith(b"\xef\xbb\xbf")
    assert first.headers["x-payment-total"] == "2000.01"
    again = c.post(f"/api/v1/payments/runs/{run}/export", headers=fin2)
    assert again.content == first.content
    rows = list(csv.reader(io.StringIO(first.content.decode("utf-8-sig"))))
    ret = write_returns(web.tmp / "ret.csv", [
        [rows[1][0], rows[1][1], rows[1][3], "成功", "", "2026-04-02", "T1"],
        [rows[2][0], rows[2][1], rows[2][3], "失败", "账户冻结", "2026-04-02", ""],
        ["NOPE", rows[2][1], "1.00", "成功", "", "2026-04-02", "T9"]])
    with open(ret, "rb") as fh:
        r = c.post("/api/v1/payments/returns", headers=fin, files={"file": ("ret.csv", fh, "text/csv")})
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["stored"], out["error_rows"], out["errors"][0]["row"], out["errors"][0]["column"]) == (2, 1, 4, "reference")
    v = c.get("/api/v1/payments/vouchers", headers=fin, params={"month": "2026-04"})
    assert v.status_code == 200
    assert list(csv.reader(io.StringIO(v.content.decode("utf-8-sig"))))[1][:5] == ["2026-04-02", "BKT1", "PAYOUT", "HOSP", "1000.00"]
    items = c.get(f"/api/v1/payments/runs/{run}/items", headers=fin).json()
    assert [i["account"] for i in items] == ["*" * 12 + account_for(0)[-4:], "*" * 12 + account_for(1)[-4:]]
    # the clerk of the unit sees the failed payment and the missing account, masked; another unit's clerk nothing
    failed = c.get("/api/v1/payments/failed", headers=web.auth("clerk_a")).json()
    assert [(f["claim_no"], f["state"], f["reason"]) for f in failed] == [("C0003", "NO_ACCOUNT", None),
                                                                           ("C0002", "FAILED", "账户冻结")]
    assert failed[1]["account"].endswith(account_for(1)[-4:]) and failed[1]["account"].startswith("****")
    assert "*" in failed[1]["member_id_number"]
    assert c.get("/api/v1/payments/failed", headers=web.auth("clerk_b")).json() == []
    assert c.get("/api/v1/payments/runs", headers=web.auth("clerk_a")).status_code == 403
    spec = c.get("/api/v1/openapi.json").json()
    assert "/api/v1/payments/runs/{run_id}/export" in spec["paths"]


def test_pages_loop(web: Web) -> None:
    seed(web.db, 2, unit="TL0001")
    _second_finance(web)
    f1, f2 = web.browser("finance"), web.browser("finance2")
    r = f1.post("/payments", {"as_of": "2026-03-31"})
    assert r.status_code == 303 and r.headers["location"].startswith("/payments/runs/1")
    page = f1.get("/payments/runs/1")
    assert "待审批" in page.text and account_for(0) not in page.text
    r = f1.post("/payments/runs/1/approve")
    assert r.status_code == 409 and "双人复核" in r.text
    assert f2.post("/payments/runs/1/approve").status_code == 303
    r = f1.post("/payments/runs/1/export", {"template": "bank_gb18030"})
    assert r.status_code == 200 and r.content.decode("gb18030").splitlines()[-1] == "合计,2,2000.01"
    head = ["业务参考号", "收款账号", "金额", "处理结果", "失败原因", "交易日期", "银行流水号"]
    ret = write_returns(web.tmp / "ret.csv", [["C0001", account_for(0), "1000.00", "成功", "", "20260402", "B1"],
                                              ["C0002", account_for(1), "1000.01", "失败", "卡已注销", "20260402", ""]],
                        head, "gb18030")
    with open(ret, "rb") as fh:
        r = f1.client.post("/payments/returns", data={"csrf_token": f1.csrf(), "run_id": "1"},
                           files={"file": ("ret.csv", fh, "text/csv")})
    assert r.status_code == 200 and "结果已回" in r.text
    # the month page of the reconciliation says where each claim's money stands, as items.csv does
    from mutualaid.ledger import service as reconciliation
    reconciliation.run(web.db, "2026-04", web.tmp / "recon", user="finance")
    month = f1.get("/recon/2026-04")
    assert month.status_code == 200 and "代发状态（当前）" in month.text
    rows = {no: month.text.split(f'>{no}</a>')[1].split("</tr>")[0] for no in ("C0001", "C0002")}
    assert "银行已确认" in rows["C0001"] and "银行代发失败" in rows["C0002"] and "卡已注销" in rows["C0002"]
    clerk = web.browser("clerk_a")
    failed = clerk.get("/payments/failed")
    assert failed.status_code == 200 and "C0002" in failed.text and "卡已注销" in failed.text
    assert account_for(1) not in failed.text
    r = f1.post("/payments/accounts", {"claim_no": "C0002", "account": account_for(9), "reason": "会员换卡"})
    assert r.status_code == 200 and "已改卡号" in r.text
