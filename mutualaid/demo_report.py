"""What `mutualaid demo` prints: the year in words a union office worker reads.

Chinese names for products, statuses and figures, thousands separators on every number,
a one-line legend under each table, the comparison with the reference year and why the
figures differ, where the files and the logins are and how to stop the web pages.
Only presentation: the figures come from :func:`mutualaid.demo.year_summary`, the
generator's ``figures`` and the stored reconciliation summaries.
"""
from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.table import Table

from mutualaid.claims.status import APPROVED, PENDING_REVIEW, RECEIVED, REJECTED
from mutualaid.dates import month_bounds
from mutualaid.i18n import ui
from mutualaid.ledger.entries import EntryType
from mutualaid.ledger.reconcile import ReconStatus as R
from mutualaid.money import from_fen
from mutualaid.payments.service import PaymentState as P
from mutualaid.policy import policy_in_force

STATUS_ORDER = (APPROVED, PENDING_REVIEW, REJECTED, RECEIVED)
ROLE_ZH = {"admin": "管理员", "clerk": "经办员（基层工会）", "auditor": "审核员", "finance": "财务"}
ROLE_DOES = {
    "admin": "管理用户账号；可以打开所有页面",
    "clerk": "上传本单位的理赔申请和材料，补正被退回的申请，查看本单位的审核结果和代发失败",
    "auditor": "导入参保名册和医保结算数据，批量审核，复核、退回补正、处理申诉和质量抽查，查看审计日志",
    "finance": "导入基金台账，批量代发（建批、审批、导出银行文件、导入回盘），按月对账，方案测算和年度报告",
}


def yuan(value: Decimal | int | str | None, *, fen: bool = False) -> str:
    """12345678 fen -> '123,456.78'; '1234.5' -> '1,234.50'; None -> ''."""
    if value is None or value == "":
        return ""
    amount = from_fen(int(value)) if fen else Decimal(str(value))
    return f"{amount:,.2f}"


def count(value: int | None) -> str:
    return "" if value is None else f"{int(value):,}"


def wan_yuan(amount: Decimal) -> str:
    """11430000 -> '1,143.00 万元' (how the federation states yearly totals)."""
    return f"{amount / 10_000:,.2f} 万元"


def _zh(key: str, fallback: str) -> str:
    text = ui(key, "zh")
    return fallback if text == key else text


def _table(title: str, columns: list[tuple[str, str]]) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold")
    for k, (name, justify) in enumerate(columns):
        t.add_column(name, justify=justify, overflow="fold", no_wrap=k == 0)  # type: ignore[arg-type]  (narrow terminal: fold, never cut)
    return t


def _legend(console: Console, lines: list[str]) -> None:
    for line in lines:
        console.print(f"  [dim]{line}[/dim]", highlight=False)
    console.print()


def print_year(console: Console, *, figures: dict, year: dict, recon: dict[str, dict],
               reviews: list[tuple[str, str]], reference: dict, months: list[str], seconds: float,
               db_path: str, out_dir: str, payments: dict | None = None) -> None:
    """The demo's closing printout, before the web pages start."""
    first, last = (months[0], months[-1]) if months else ("", "")
    at_reference = figures.get("hosp_members") == reference.get("hosp_members")
    size = "按通辽市 2025 年的规模" if at_reference else f"按 {count(figures.get('hosp_members'))} 名参保职工的规模"
    console.print()
    console.print("[bold]演示：一个城市工会一年的职工医疗互助理赔（模拟数据）[/bold]", highlight=False)
    console.print(
        f"{size}生成了一年的数据（参保名册、每月的理赔申请、基金台账），并像市总工会那样逐月处理："
        f"导入名册 → 每月导入理赔申请并在月底自动审核 → 审核员复核 → 导入基金台账 → 每月对账。\n"
        f"处理月份为 {first} 至 {last}：保障年度是 2025 年，但出院或确诊后还可在规定期限内申请，"
        f"所以 2025 年的申请一直提交到 2026 年 3 月；之后各月只剩逾期申请（按规定拒付）。",
        highlight=False)
    console.print()

    # --- against the reference year ---------------------------------------------------------
    paid_fen = sum(year["payout_fen_by_product"].values())
    t = _table("与参考年度（通辽市 2025 年实际数）对比", [("指标", "left"), ("演示结果", "right"), ("参考年度", "right")])
    t.add_row("参加住院医疗互助的职工（人）", count(figures.get("hosp_members")), count(reference.get("hosp_members")))
    t.add_row("参加女性安康互助的女职工（人）", count(figures.get("women_members")), count(reference.get("women_members")))
    t.add_row("获得补助的理赔（件）", count(year["approved_with_payout"]), count(reference.get("claims_paid")))
    t.add_row("补助金额合计（元）", yuan(paid_fen, fen=True), yuan(reference.get("payout_yuan")))
    console.print(t)
    pending_n = year["by_status"].get(PENDING_REVIEW, 0)
    pending_fen = year.get("payout_fen_by_status", {}).get(PENDING_REVIEW, 0)
    messy = sum((figures.get("messy") or {}).values()) if isinstance(figures.get("messy"), dict) else None
    why = ["参加人数与参考年度相同：名册就是按这个规模生成的。" if at_reference
           else "参加人数按所选规模生成（./run demo 默认按通辽市的规模），理赔件数和金额随之按比例变化。"]
    if pending_n:
        why.append(f"理赔件数和金额低于参考年度，主要因为还有 {count(pending_n)} 件理赔（按规则计算共 "
                   f"{yuan(pending_fen, fen=True)} 元）待审核员复核，复核前不计入补助：")
        why.append("  补助 2 万元及以上、姓名与名册不一致、缺少病理报告等情况都要人工复核。")
    if messy:
        why.append(f"另有 {count(messy)} 件申请故意做成有问题的（逾期、重复申请、不在保障范围等），用来展示审核规则。")
    why.append("数据是随机生成的，只在规模和结构上接近参考年度，不是真实的会员或理赔。")
    _legend(console, why)

    # --- claims by status ---------------------------------------------------------------------
    t = _table("理赔处理结果（全部月份）", [("状态", "left"), ("件数", "right"), ("金额（元）", "right")])
    by_status = year["by_status"]
    fen_by_status = year.get("payout_fen_by_status", {})
    for status in [s for s in STATUS_ORDER if s in by_status] + sorted(set(by_status) - set(STATUS_ORDER)):
        shown = "" if status in (REJECTED, RECEIVED) else yuan(fen_by_status.get(status, 0), fen=True)
        t.add_row(_zh(f"status.{status}", status), count(by_status[status]), shown)
    t.add_row("合计", count(sum(by_status.values())), "")
    console.print(t)
    _legend(console, [
        "已核准：按规则自动核准或经审核员核准，金额是应付的补助。",
        "待复核：规则要求人工确认（如金额 2 万元及以上），金额是按规则算出、尚未确认的补助；在网页“复核队列”中处理。",
        "已拒付：不符合保障规定（如逾期申请、等待期内发病、重复申请），理由见每件理赔的页面。",
    ])

    # --- payouts by product -------------------------------------------------------------------
    t = _table("各项目已核准的补助", [("项目", "left"), ("金额（元）", "right")])
    for product, fen in sorted(year["payout_fen_by_product"].items()):
        t.add_row(_zh(f"product.{product}", product), yuan(fen or 0, fen=True))
    t.add_row("合计", yuan(paid_fen, fen=True))
    console.print(t)
    _legend(console, ["住院医疗互助：住院自付费用的补助；女性安康互助：女职工确诊特定疾病的一次性补助。"])

    # --- the fund month by month --------------------------------------------------------------
    # the payment promise is policy data (service_promise_working_days of the policy in force)
    promise = policy_in_force(month_bounds(max(recon))[1]).service_promise_working_days if recon else 0
    t = _table("基金收支与对账（逐月）", [
        ("月份", "left"), ("期初", "right"), ("流入", "right"), ("流出", "right"), ("期末", "right"),
        ("未支付", "right"), ("其中已送银行", "right"), ("其中代发失败", "right"), (f"超{promise}个工作日", "right"),
        ("多付/重复", "right"), ("台账有、理赔无", "right")])
    for month, s in recon.items():
        rf, st, ps = s["roll_forward"], s["by_status"], s.get("payment_states") or {}
        carried = Decimal(str((rf.get("inflows") or {}).get(EntryType.OPENING_BALANCE, "0")))
        opening = Decimal(str(rf["opening"])) + carried
        inflow = Decimal(str(rf["total_inflows"])) - carried

        def n(status: str) -> int:
            return int((st.get(status) or {}).get("count", 0))

        t.add_row(month, yuan(opening), yuan(inflow), yuan(rf["total_outflows"]), yuan(rf["closing"]),
                  count(n(R.UNPAID)), count(ps.get(P.EXPORTED, 0)), count(ps.get(P.FAILED, 0)),
                  count(s.get("late_unpaid")), count(n(R.OVERPAID) + n(R.DUPLICATE_PAYMENT)),
                  count(n(R.UNKNOWN_CLAIM)))
    console.print(t)
    _legend(console, [
        "期初：月初基金余额（第一个月是上年结转的余额）；期末 = 期初 + 流入 − 流出。金额单位：元。",
        "流入：会费、财政补贴、利息、退回的补助；流出：支付的补助和银行费用。",
        f"未支付：已核准、到月底仍未支付的理赔件数；超{promise}个工作日：其中核准后超过 {promise} 个工作日仍未支付的（支付承诺，见政策文件）。",
        "补助经每月的批量代发打到会员银行卡：已送银行 = 在已导出、银行尚未回盘的代发批次中；"
        "代发失败 = 银行退回（如银行卡已注销），财务更正卡号后在下一批代发。",
        "多付/重复：支付金额高于核准金额或同一理赔支付了两次；台账有、理赔无：台账上的支付找不到对应的已核准理赔。",
        "这些件数在网页“月度对账”中逐件列出，财务可以填写处理说明。",
    ])

    if payments:
        console.print(f"批量代发：共 {count(payments.get('runs'))} 个代发批次（每批由一名财务创建、另一名财务审批），"
                      f"银行代发失败 {count(payments.get('bank_failures'))} 笔，已更正卡号后重新代发；"
                      f"名册中没有银行卡号的 {count(payments.get('accounts_supplied'))} 名会员由单位补报卡号后代发；"
                      f"银行文件和回盘文件在 {out_dir}/payments 文件夹中。", highlight=False)

    # --- what the demo auditor did --------------------------------------------------------------
    if reviews:
        approved = [c for c, a in reviews if a == "approve"]
        rejected = [c for c, a in reviews if a != "approve"]
        line = f"演示审核员核准了 {len(approved)} 件待复核理赔"
        if rejected:
            line += f"，拒付了 {len(rejected)} 件（{'、'.join(rejected)}）"
        rest = year["by_status"].get(PENDING_REVIEW, 0)
        tail = f"；其余 {count(rest)} 件留在网页“复核队列”中，可以登录审核员账号试着处理。" if rest else "。"
        console.print(line + tail, highlight=False)
    console.print(f"数据处理用时 {seconds:,.0f} 秒。数据库：{db_path}；生成的文件和每月的对账报告"
                  f"（items.csv、summary.json、report.xlsx）在 {out_dir} 文件夹中，每次运行演示都会删除并重新生成。",
                  highlight=False)
    console.print()


def print_logins(console: Console, *, host: str, port: int, users: list[tuple[str, str, str]],
                 logins_file: str | None) -> None:
    """The address, the four demo logins and how to stop."""
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    console.print(f"[bold]网页地址：http://{shown_host}:{port}/[/bold]  （在浏览器中打开；换端口：./run demo --port 8001）",
                  highlight=False)
    t = _table("演示账号（密码每次运行演示都会重新生成）", [("角色", "left"), ("能做什么", "left"),
                                                  ("用户名", "left"), ("密码", "left")])
    for role, username, password in users:
        t.add_row(ROLE_ZH.get(role, role), ROLE_DOES.get(role, ""), username, password)
    console.print(t)
    where = f"账号和密码也保存在 {logins_file}（只有你能读取）。" if logins_file else ""
    console.print(f"{where}按 Ctrl+C 停止网页服务；演示数据保留到下次运行演示。", highlight=False)
    console.print()


def print_settlements(console: Console, figures) -> None:  # noqa: ANN001  (mutualaid.settlements.service.Figures)
    """The claims made from the medical-insurance settlement data (免申即享), in words."""
    by_status = getattr(figures, "claims_by_status", None) or {}
    if not by_status:
        return
    t = _table("由医保结算数据自动生成的理赔（免申即享）", [("状态", "left"), ("件数", "right"), ("金额（元）", "right")])
    for status, (n, fen) in sorted(by_status.items(), key=lambda kv: (STATUS_ORDER + (kv[0],)).index(kv[0])):
        t.add_row(_zh(f"status.{status}", status), count(n), yuan(fen or 0, fen=True))
    console.print(t)
    n, fen = figures.paid_without_application
    _legend(console, [
        f"其中 {count(n)} 件没有人提交申请，由医保结算数据直接生成并核准，补助共 {yuan(fen, fen=True)} 元；",
        "已撤回：经办员又为同一次住院提交了申请（以该申请为准），或医保结算被冲销；不计入补助。",
    ])
