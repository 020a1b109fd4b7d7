"""Translations of the settlement extract (免申即享): merged into mutualaid.i18n by one line."""
from __future__ import annotations

from mutualaid.claims.status import WITHDRAWN

MESSAGES: dict[str, tuple[str, str]] = {
    "bad_visit_type": ("就诊类型应为 住院/inpatient、门诊/outpatient 或 门诊慢特病/chronic",
                       "visit_type must be inpatient (住院), outpatient (门诊) or chronic (门诊慢特病)"),
    "bad_diagnosis_code": ("主要诊断编码应为 ICD-10 或国家临床版格式，如 C50、C50.9、C50.900x001",
                           "diagnosis_code must be ICD-10 or the national clinical edition, like C50, C50.9, C50.900x001"),
    "settled_before_admission": ("结算日期早于入院日期", "settlement_date is before admission_date"),
    "settlement_costs_dont_add_up": ("医疗总费用应等于统筹基金支付+大病保险支付+医疗救助支付+政策范围内个人自付+全自费（{expected}）",
                                     "total_cost must equal fund_paid + serious_illness_paid + medical_aid_paid + in_policy_self_pay + out_of_policy_self_pay ({expected})"),
    "reverses_required": ("冲销行必须填写原结算流水号", "a reversal (is_reversal = Y) needs the original settlement_no in reverses"),
    "reverses_without_reversal": ("只有冲销行（是否冲销 = 是）才填写原结算流水号", "reverses is only filled on a reversal (is_reversal = Y)"),
    "reverses_itself": ("冲销行不能冲销自身", "a reversal cannot cancel itself"),
    "reversal_unknown": ("找不到被冲销的结算记录 {reference}（原结算须在本文件前面的行或更早的文件中）",
                         "no stored settlement {reference} to cancel (the original must come earlier in this file or in an earlier file)"),
    "claim_no_taken": ("申请编号 {claim_no} 已被另一笔申请使用，无法为该结算生成理赔",
                       "claim number {claim_no} is already used by another claim; no claim can be made for this settlement"),
    "already_reversed": ("结算记录 {reference} 已被 {by} 冲销", "settlement {reference} was already cancelled by {by}"),
}

UI: dict[str, tuple[str, str]] = {
    "fact.settlement_differs": ("与医保结算不一致", "differs from the medical-insurance settlement"),
    "rule.V05": ("与医保结算不符：政策范围内个人自付或住院日期与医保结算数据不一致",
                 "amounts differ from the medical-insurance settlement (in-policy self-pay or dates)"),
    "status.WITHDRAWN": ("已撤回", "withdrawn"),
    "source.clerk": ("工会申报", "filed by a clerk"),
    "source.settlement": ("医保结算（免申即享）", "medical-insurance settlement (no application)"),
    "nav.settlements": ("医保结算", "Settlements"),
    "settlements.title": ("医保结算数据（免申即享）", "Medical-insurance settlements (claims without applying)"),
    "settlements.upload": ("导入医保结算数据", "Import a settlement extract"),
    "settlements.help": ("医保部门每月提供的住院结算数据：已参加住院医疗互助的会员的住院结算自动生成理赔申请，由下一次批处理审核。未参保人员和门诊记录只计数、不保存。",
                         "The monthly inpatient settlement extract of the medical-insurance bureau: each stay of a member enrolled in HOSP becomes a claim, decided by the next batch run. Rows of people not enrolled and outpatient rows are counted, not kept."),
    "settlements.counts": ("本次导入结果", "What the import did"),
    "settlements.figures": ("累计", "So far"),
    "settlements.paid_without_application": ("无需申请即核准的理赔", "Claims paid with no application"),
    "settlements.claims_by_status": ("医保结算生成的理赔（按状态）", "Claims made from settlements, by status"),
    "settlements.kept_by_outcome": ("保存的结算记录（按去向）", "Settlement rows kept, by outcome"),
    "settlements.claims_n": ("件数", "Claims"),
    "settlements.reversed": ("已被冲销的结算记录", "Settlements cancelled"),
    "count.claimed": ("生成理赔", "claims made"),
    "count.attached": ("归入已申报的理赔", "attached to a claim already filed"),
    "count.reversed": ("冲销", "reversals applied"),
    "count.withdrawn": ("撤回未审核的理赔", "undecided claims withdrawn"),
    "count.to_review": ("已审核的理赔转复核", "decided claims put to review"),
    "count.outpatient": ("门诊记录（只计数）", "outpatient rows (counted only)"),
    "count.not_enrolled": ("入院日未参保（只计数）", "not enrolled on the admission date (counted only)"),
    "count.scheme_off": ("该年度政策不使用结算数据", "policy version uses no settlement data"),
    "claim.settlements": ("医保结算数据", "Medical-insurance settlements"),
    "claim.source": ("来源", "Source"),
    "claim.linked": ("关联的申请", "Linked claims"),
    "field.settlement_no": ("结算流水号", "Settlement no."),
    "field.settlement_date": ("结算日期", "Settlement date"),
    "field.reversed_by": ("被冲销（冲销流水号）", "Cancelled by"),
    "outcome.CLAIMED": ("生成理赔", "made a claim"),
    "outcome.ATTACHED": ("归入已申报的理赔", "attached to a filed claim"),
    "outcome.REVERSAL": ("冲销", "reversal"),
    "outcome.KEPT": ("仅供核对", "kept for the cross-check"),
}

LABELS_ZH: dict[str, str] = {WITHDRAWN: "已撤回"}


def merge(messages: dict, ui: dict, labels_zh: dict) -> None:
    messages.update(MESSAGES)
    ui.update(UI)
    labels_zh.update(LABELS_ZH)
