"""The named facts a policy's rules may read: name, kind, products, meaning.

The facts themselves are computed by the adjudication code (``mutualaid.claims.adjudication``)
from the claim, the member's records and the earlier claims. This catalogue is what a
policy file is checked against when it loads (``mutualaid.rules.policy_rules``) and what
``docs/rules.md`` lists for policy writers.

Kinds:

* ``bool`` — true / false;
* ``int`` — a whole number (days, counts, age);
* ``money`` — an amount in whole fen; a rule writes it in yuan (``"3000.00"``) or names a
  money parameter of the policy, and the comparison is made in fen, exactly;
* ``str`` — a code (cause, category, sex, ICD-10 code, surgery).

Most facts are computed for every claim. A few (``on_demand``) are computed only when a
rule of the claim's ruleset reads them, so adding one changes nothing (not even the
stored traces) for policies that do not use it. Each is a small named function below.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mutualaid.claims.status import PRODUCTS

KINDS = ("bool", "int", "money", "str")
BOTH = PRODUCTS


@dataclass(frozen=True)
class Fact:
    name: str
    kind: str
    products: tuple[str, ...]
    zh: str
    en: str
    compute: Callable[[Any, dict[str, Any]], Any] | None = None  # on-demand facts only


def daily_self_pay_fen(claim: Any, facts: dict[str, Any]) -> int | None:
    """In-policy self-pay per day of stay, half-up to the fen (HOSP)."""
    base, stay = claim.in_policy_self_pay_fen, facts.get("stay_days")
    if base is None or not stay:
        return None
    return (2 * base + stay) // (2 * stay)  # half-up, exact in integers (base >= 0)


def in_policy_self_pay_fen(claim: Any, facts: dict[str, Any]) -> int | None:
    """The claim's in-policy self-pay (HOSP), as submitted."""
    return claim.in_policy_self_pay_fen


_FACTS = (
    Fact("member_found", "bool", BOTH, "系统中有此身份证号的会员", "a member with the claim's ID number exists"),
    Fact("enrolled", "bool", BOTH, "事故日在该项目的保障期内（仅会员存在时）",
         "enrolled in the claim's product on the event date (only when the member exists)"),
    Fact("name_matches", "bool", BOTH, "申请姓名与登记姓名一致（忽略首尾空格）",
         "name on the claim equals the enrollment record (spaces at the ends ignored)"),
    Fact("first_enrollment", "bool", BOTH, "首次参保（参保年度为 1）", "participation year 1 (not a renewal)"),
    Fact("days_from_start", "int", BOTH, "事故日 − 保障起始日（天）", "event date − enrollment start date, in days"),
    Fact("days_past_deadline", "int", BOTH, "申请日 − 申请截止日（天，> 0 为逾期）",
         "submission date − last submission day, in days (> 0: late)"),
    Fact("duplicates", "int", BOTH, "在先重复申请数（住院时间重叠 / 同病种同确诊日）",
         "earlier duplicate claims (overlapping stays / same category and diagnosis date)"),
    Fact("payout_fen", "money", BOTH, "计算出的补助金额", "the computed payout"),
    Fact("stay_days", "int", ("HOSP",), "住院天数（出院日 − 入院日，至少 1）", "days of stay (discharge − admission, at least 1)"),
    Fact("cause", "str", ("HOSP",), "住院原因代码", "cause code of the hospitalisation"),
    Fact("cap_remaining_fen", "money", ("HOSP",), "本保障期年度封顶剩余额度", "annual cap left in this coverage period"),
    Fact("minimum_topup_fen", "money", ("HOSP",), "最低补助补足的金额（向上取整到分）",
         "amount added by the minimum subsidy (rounded up to the fen)"),
    Fact("cap_cut_fen", "money", ("HOSP",), "封顶扣减的金额", "amount cut by the annual cap"),
    Fact("allowance_days_cut", "int", ("HOSP",), "未获津贴的住院天数", "days of stay without allowance"),
    Fact("category", "str", ("WOMEN",), "保障病种（NONE = 不在保障范围）", "benefit category (NONE: not covered)"),
    Fact("diagnosis_code", "str", ("WOMEN",), "ICD-10 诊断代码", "ICD-10 diagnosis code"),
    Fact("surgery", "str", ("WOMEN",), "手术类型（none = 无）", "surgery (none: no surgery)"),
    Fact("pathology_confirmed", "bool", ("WOMEN",), "已病理确诊", "confirmed by pathology"),
    Fact("sex", "str", ("WOMEN",), "会员性别（F / M）", "member's sex (F / M)"),
    Fact("age", "int", ("WOMEN",), "确诊日年龄（周岁）", "age on the diagnosis date, in whole years"),
    Fact("category_already_paid", "bool", ("WOMEN",), "该病种已赔付过", "this category was paid before"),
    Fact("cover_ended", "bool", ("WOMEN",), "保障已因恶性肿瘤赔付而终止", "cover ended by an earlier invasive-cancer payout"),
    Fact("settlement_differs", "bool", ("HOSP",), "医保结算数据中同一住院的政策内自付或日期与申请不同（仅有结算数据且版本启用核对时）",
         "the medical-insurance settlement of the same stay shows another in-policy self-pay or other dates "
         "(only with settlement data, in a version that cross-checks)"),
    Fact("days_past_correction_limit", "int", BOTH, "退回补正后超过补正期限的天数（仅批处理检查退回申请时）",
         "days past the correction limit of a claim returned for correction (only when the batch run checks it)"),
    Fact("deducted_fen", "money", ("WOMEN",), "从恶性肿瘤金额中扣减的已付原位癌金额",
         "amount already paid for in-situ deducted from the invasive amount"),
    Fact("in_policy_self_pay_fen", "money", ("HOSP",), "政策内自付金额", "in-policy self-pay of the claim",
         in_policy_self_pay_fen),
    Fact("daily_self_pay_fen", "money", ("HOSP",), "日均政策内自付（政策内自付 ÷ 住院天数，四舍五入到分）",
         "in-policy self-pay per day of stay (self-pay ÷ stay days, half-up to the fen)", daily_self_pay_fen),
)

FACTS: dict[str, Fact] = {f.name: f for f in _FACTS}
assert all(f.kind in KINDS for f in _FACTS)


def add_on_demand(facts: dict[str, Any], claim: Any, wanted: tuple[str, ...]) -> None:
    """Compute the on-demand facts ``wanted`` (those a ruleset reads) into ``facts``."""
    for name in wanted:
        value = FACTS[name].compute(claim, facts)  # type: ignore[misc]
        if value is not None:
            facts[name] = value
