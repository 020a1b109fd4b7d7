"""The pages as an office worker reads them: the headers of their own file, one language,
the audit log in words, amounts at two decimals, no negative day counts, links that lead
somewhere, and forms that do not ship every unit of the city."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from batch.reconcile import resolve
from batch.reconcile import run as reconcile
from mutualaid.store.models import Claim, Unit
from tests.test_import import CLAIM_HEAD, F2, hosp_row, write
from tests.web_support import (  # noqa: F401  (fixtures)
    AS_OF,
    Seeded,
    Web,
    adjudicate,
    fast_hashes,
    seeded,
    submit_as,
    web,
)

pytestmark = pytest.mark.store

ZH_HEAD = {"claim_no": "申请编号", "product": "保障项目", "member_id_number": "身份证号", "member_name": "姓名",
           "submitted_date": "申请日期", "admission_date": "入院日期", "discharge_date": "出院日期",
           "hospital_name": "医院名称", "diagnosis_code": "诊断编码", "cause": "住院原因", "total_cost": "医疗总费用",
           "insurance_paid": "医保统筹支付", "in_policy_self_pay": "政策内自付", "out_of_policy_self_pay": "自费",
           "diagnosis_date": "确诊日期", "pathology_confirmed": "病理确诊", "surgery": "手术类型"}


def visible(html: str) -> str:
    """The page's text without tags and attributes (what a reader sees)."""
    return re.sub(r"<[^>]+>", " ", html)


def test_upload_errors_show_the_files_own_headers_in_the_readers_language(web: Web, seeded: Seeded) -> None:
    rows = [{ZH_HEAD[k]: v for k, v in hosp_row(claim_no="P-1", total_cost="9.99").items()}]
    bad = write(web.tmp / "中文表头.csv", [ZH_HEAD[c] for c in CLAIM_HEAD], rows).read_bytes()
    page = web.browser("clerk_a")

    def upload() -> str:
        r = page.client.post("/batches", files={"file": ("中文表头.csv", bad, "text/csv")},
                             data={"csrf_token": page.csrf("/batches"), "unit_code": "TL0001"},
                             headers={"HX-Request": "true"})
        assert r.status_code == 200, r.text
        return r.text

    html = upload()
    table = html[html.index("table class=\"striped errors\""):]
    assert "<code>医疗总费用</code>" in table and "total_cost" not in visible(table)
    assert "医疗总费用应等于" in table and "must equal" not in table, "Chinese page: the Chinese message only"
    page.get("/batches?lang=en")
    html = upload()
    table = html[html.index("table class=\"striped errors\""):]
    assert "<code>医疗总费用</code>" in table, "the header as the file spells it, in either language"
    assert "must equal" in table and "医疗总费用应等于" not in table


def test_the_audit_log_reads_as_words(web: Web, seeded: Seeded) -> None:
    r = web.client.post(f"/api/v1/claims/{seeded.claims['A-PEND']}/review", headers=web.auth("auditor"),
                        json={"action": "reject", "reason": "病理报告不符", "version": 1})
    assert r.status_code == 200, r.text
    reconcile(web.db, "2026-07", web.settings.reports_dir / "2026-07", user="finance")
    resolve(web.db, "2026-07", "TL2026-0001", "已电话联系", user="finance")
    text = visible(web.browser("auditor").get("/audit").text)
    for words in ("拒付理赔", "月度对账", "对账项目处理说明", "批量自动审核", "理由：病理报告不符", "处理说明：已电话联系"):
        assert words in text, words
    for raw in ("claim.reject", "reconcile.resolve", "previous_note", "None", "{\"", "recon_item"):
        assert raw not in text, raw


def test_claim_page_amounts_have_two_decimals_and_days_are_not_negative(web: Web, seeded: Seeded) -> None:
    html = web.browser("auditor").get(f"/claims/{seeded.claims['TL2026-0001']}").text
    text = visible(html)
    assert re.findall(r"\d\.\d{3,}\b", text) == [], "amounts at two decimals"
    assert not re.search(r"=\s*-\d", text), "no negative day counts"
    assert "离申请期限还有" in text
    assert "规则引擎（自动）" in text and "住院医疗互助 2026 年规则" in text
    assert " engine" not in text and "hosp_2026" not in text


def test_reconciliation_items_link_to_their_claims(web: Web, seeded: Seeded) -> None:
    reconcile(web.db, "2026-07", web.settings.reports_dir / "2026-07", user="finance")
    page = web.browser("finance")
    html = page.get("/recon/2026-07").text
    assert 'href="/review?claim_no=TL2026-0001"' in html
    found = page.get("/review?claim_no=TL2026-0001").text
    assert f'href="/claims/{seeded.claims["TL2026-0001"]}"' in found


def test_reconciliation_form_proposes_the_latest_month_with_data(web: Web, seeded: Seeded) -> None:
    today = dt.date.today()
    decided_month = f"{AS_OF:%Y-%m}"
    if (today.year, today.month) == (AS_OF.year, AS_OF.month):
        first = today.replace(day=1)
        decided_month = f"{first - dt.timedelta(days=1):%Y-%m}"
    html = web.browser("finance").get("/recon").text
    assert f'name="month" value="{decided_month}"' in html


def test_review_page_has_a_search_field_not_every_unit(web: Web, seeded: Seeded) -> None:
    with web.db.transaction() as s:
        s.add_all([Unit(code=f"TL9{k:03d}", name=f"第{k}单位工会") for k in range(40)])
    html = web.browser("auditor").get("/review").text
    assert "<datalist" not in html and "TL9039" not in html
    assert 'name="unit"' in html
    clerk = web.browser("clerk_a").get("/review").text
    assert "<datalist" in clerk, "a clerk's few units are still offered"


def test_a_clerk_sees_no_link_to_another_units_batch(web: Web, seeded: Seeded) -> None:
    """clerk_a files a claim for a TL0002 member: clerk_b sees the claim, not clerk_a's batch."""
    batch = submit_as(web.db, web.tmp, "clerk_a", "TL0001", [
        hosp_row(claim_no="X-F2", member_id_number=F2, member_name="刘芳", admission_date="2026-05-20",
                 discharge_date="2026-05-22", submitted_date="2026-05-25")])
    adjudicate(web.db, AS_OF)
    with web.db.sessions() as s:
        cid = s.execute(select(Claim.id).where(Claim.claim_no == "X-F2")).scalar()
    page = web.browser("clerk_b")
    html = page.get(f"/claims/{cid}").text
    assert "X-F2" in html
    assert f'href="/batches/{batch}"' not in html
    assert page.get(f"/batches/{batch}").status_code == 404
    own = web.browser("clerk_a").get(f"/claims/{cid}").text
    assert f'href="/batches/{batch}"' in own


def test_the_decision_form_folds_away_after_a_decision(web: Web, seeded: Seeded) -> None:
    cid = seeded.claims["A-PEND"]
    page = web.browser("auditor")
    assert "<details><summary>" not in page.get(f"/claims/{cid}").text
    r = page.post(f"/claims/{cid}/review", {"action": "override", "reason": "已核实", "version": "1",
                                            "payout": "100.00"}, csrf_from=f"/claims/{cid}")
    assert r.status_code == 303, r.text
    html = page.get(r.headers["location"]).text
    assert "<details><summary>已记录。如需改判" in html
    assert "审核员核定的补助金额" in html and "100.00" in html


def test_stored_bilingual_texts_are_shown_in_one_language() -> None:
    from api.web import audit_details, one_language
    from mutualaid.i18n import ui

    warning = "名册.csv: 以下列无法识别，已忽略：备注 / these columns are not recognised and were ignored: 备注"
    assert one_language(warning, "zh") == "名册.csv: 以下列无法识别，已忽略：备注"
    assert one_language(warning, "en") == "名册.csv: these columns are not recognised and were ignored: 备注"

    def t(key: str, **kw: object) -> str:
        return ui(key, "zh", **kw)

    def tr(prefix: str, code: object) -> str:
        key = f"{prefix}.{code}"
        text = ui(key, "zh")
        return str(code) if text == key else text

    shown = audit_details({"reason": "核实", "before": {"status": "APPROVED", "payout": "7140.0000"},
                           "after": {"status": "REJECTED", "payout": "0.00"}, "previous_note": None,
                           "by_status": {"APPROVED": 1200, "PENDING_REVIEW": 3}, "approved_fen": 123456}, t, tr)
    assert shown == [("理由", "核实"), ("原决定", "已核准，7,140.00"), ("新决定", "已拒付，0.00"),
                     ("按状态", "已核准 1,200，待复核 3"), ("核准金额", "1,234.56")]
