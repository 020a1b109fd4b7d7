"""Rules as data: the policy files' rule declarations, their checks, on-demand facts, V06."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mutualaid import i18n
from mutualaid.money import to_fen
from mutualaid.policy import PolicyError, load_policies, load_policy_file, policies
from mutualaid.policy.loader import DATA_DIR, DRAFTS_DIR
from mutualaid.rules.engine import RuleSpec
from mutualaid.rules.facts import FACTS, daily_self_pay_fen
from mutualaid.rules.policy_rules import rule_specs
from tests.factories import decide, enrollment, hosp, member


def reference_rules(policy, product):
    """The rules as they were written in code before they moved into the policy files."""
    p = policy.product(product)
    common = [
        RuleSpec("R01", {"member_found": False}, ("member_found",)),
        RuleSpec("R02", {"$and": [{"member_found": True}, {"enrolled": False}]}, ("member_found", "enrolled")),
        RuleSpec("R03", {"$and": [{"first_enrollment": True}, {"$lt": {"days_from_start": p.waiting_days}}]},
                 ("first_enrollment", "days_from_start")),
        RuleSpec("R04", {"$gt": {"days_past_deadline": 0}}, ("days_past_deadline",)),
        RuleSpec("R06", {"$gt": {"duplicates": 0}}, ("duplicates",)),
        RuleSpec("V01", {"$gte": {"payout_fen": to_fen(policy.review_payout_threshold)}}, ("payout_fen",)),
        RuleSpec("V02", {"name_matches": False}, ("name_matches",)),
        # added in code by the casework and settlement work, then moved into the files at merge
        RuleSpec("R10", {"$gt": {"days_past_correction_limit": 0}}, ("days_past_correction_limit",)),
    ]
    if product == "HOSP":
        return common + [
            RuleSpec("R05", {"$or": [{"cause": c} for c in p.excluded_causes]}, ("cause",)),
            RuleSpec("R09", {"$lte": {"cap_remaining_fen": 0}}, ("cap_remaining_fen",)),
            RuleSpec("V04", {"$gt": {"stay_days": p.long_stay_days}}, ("stay_days",)),
            RuleSpec("A01", {"$gt": {"minimum_topup_fen": 0}}, ("minimum_topup_fen",)),
            RuleSpec("A02", {"$gt": {"cap_cut_fen": 0}}, ("cap_cut_fen",)),
            RuleSpec("A03", {"$gt": {"allowance_days_cut": 0}}, ("allowance_days_cut",)),
        ] + ([RuleSpec("V05", {"settlement_differs": True}, ("settlement_differs",))]
             if policy.settlements is not None and policy.settlements.cross_check else [])
    needs = [n for n, c in p.categories.items() if c.needs_pathology]
    return common + [
        RuleSpec("R07", {"$or": [{"$neq": {"sex": p.sex}}, {"$lt": {"age": p.min_age}}, {"$gt": {"age": p.max_age}}]},
                 ("sex", "age")),
        RuleSpec("R08", {"category": "NONE"}, ("category", "diagnosis_code", "surgery")),
        RuleSpec("R09", {"$or": [{"category_already_paid": True}, {"cover_ended": True}]},
                 ("category_already_paid", "cover_ended")),
        RuleSpec("V03", {"$and": [{"pathology_confirmed": False}, {"$or": [{"category": c} for c in needs]}]},
                 ("pathology_confirmed", "category")),
        RuleSpec("A04", {"$gt": {"deducted_fen": 0}}, ("deducted_fen",)),
    ]


@pytest.mark.parametrize("version", [2025, 2026])
@pytest.mark.parametrize("product", ["HOSP", "WOMEN"])
def test_rules_in_data_equal_the_rules_that_were_code(version, product):
    policy = policies()[version]
    got = {r.code: r for r in rule_specs(policy, product)}
    want = {r.code: r for r in reference_rules(policy, product)}
    assert got == want


def test_rule_messages_equal_the_translation_table():
    for policy in policies().values():
        for decl in policy.rules:
            assert i18n.MESSAGES.get(f"rule.{decl.code}", i18n.UI.get(f"rule.{decl.code}")) == (
                decl.message.zh, decl.message.en), decl.code


def _write(tmp_path: Path, mutate, name="2027.yaml", base=DATA_DIR / "2026.yaml") -> Path:
    data = yaml.safe_load(base.read_text(encoding="utf-8"))
    data["version"] = int(Path(name).stem)
    mutate(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _add_rule(**rule):
    def mutate(data):
        data["rules"].append({"products": ["HOSP"], "message": {"zh": "测试", "en": "test"}, **rule})
    return mutate


@pytest.mark.parametrize("rule,expected", [
    ({"code": "V07", "when": {"$gt": {"daily_pay": 1}}}, "2027.yaml: rule V07 (HOSP): unknown fact 'daily_pay'"),
    ({"code": "V07", "when": {"$gt": {"stay_days": "long"}}},
     "2027.yaml: rule V07 (HOSP): fact 'stay_days' is a int, compared with 'long'"),
    ({"code": "V07", "when": {"cause": True}}, "2027.yaml: rule V07 (HOSP): fact 'cause' is a str, compared with True"),
    ({"code": "V07", "when": {"$gt": {"payout_fen": 300000}}},
     "2027.yaml: rule V07 (HOSP): fact 'payout_fen' is money: write the amount in yuan"),
    ({"code": "V07", "when": {"$between": {"stay_days": 3}}}, "2027.yaml: rule V07 (HOSP): unknown operator '$between'"),
    ({"code": "V07", "when": {"$gt": {"name_matches": False}}},
     "2027.yaml: rule V07 (HOSP): $gt cannot compare the bool fact 'name_matches'"),
    ({"code": "V07", "when": {"age": 30}}, "2027.yaml: rule V07 (HOSP): fact 'age' is not computed for HOSP claims"),
    ({"code": "V07", "when": {"$gt": {"stay_days": {"param": "stay_limit"}}}},
     "2027.yaml: rule V07 (HOSP): unknown parameter 'stay_limit' for HOSP"),
    ({"code": "V07", "when": {"$gt": {"stay_days": 3}}, "reads": ["cause"]},
     "2027.yaml: rule V07 (HOSP): reads ['cause'] omits ['stay_days']"),
    ({"code": "X07", "when": {"$gt": {"stay_days": 3}}}, "2027.yaml: rule X07: a code is R, V or A"),
    ({"code": "V04", "when": {"$gt": {"stay_days": 3}}}, "2027.yaml: rule V04: declared twice for HOSP"),
    ({"code": "V07", "when": {"$gt": {"stay_days": 3}}, "only_if": "settlement.cross_check"},
     "2027.yaml: rule V07 (HOSP): only_if names 'settlement.cross_check', which is no setting of the policy"),
    ({"code": "V07", "when": {"$gt": {"stay_days": 3}}, "only_if": "review_payout_threshold"},
     "2027.yaml: rule V07 (HOSP): only_if names 'review_payout_threshold', which is not a true/false setting"),
])
def test_a_bad_rule_is_a_clear_error_naming_file_and_rule(tmp_path, rule, expected):
    path = _write(tmp_path, _add_rule(**rule))
    with pytest.raises(PolicyError) as err:
        load_policy_file(path)
    assert str(err.value).startswith(expected), str(err.value)
    with pytest.raises(PolicyError):  # the same check when the file is in the policy folder
        load_policies(tmp_path)


def test_a_policy_without_rules_is_refused(tmp_path):
    path = _write(tmp_path, lambda d: d.pop("rules"))
    with pytest.raises(PolicyError, match=r"(?s)2027.yaml: .*rules"):
        load_policy_file(path)


def test_a_dropped_rule_and_a_changed_threshold_need_no_code(tmp_path):
    def mutate(data):
        data["rules"] = [r for r in data["rules"] if r["code"] != "V02"]
        data["products"]["HOSP"]["long_stay_days"] = 60
    policy = load_policy_file(_write(tmp_path, mutate))
    specs = {r.code: r for r in rule_specs(policy, "HOSP")}
    assert "V02" not in specs
    assert specs["V04"].condition == {"$gt": {"stay_days": 60}}


def test_2027_example_draft_adds_v06_and_is_not_active():
    draft = load_policy_file(DRAFTS_DIR / "2027.yaml")
    assert 2027 not in policies() or policies()[2027] is not draft
    [v06] = [r for r in rule_specs(draft, "HOSP") if r.code == "V06"]
    assert v06.condition == {"$gt": {"daily_self_pay_fen": 300000}}
    assert "V06" not in {r.code for r in rule_specs(draft, "WOMEN")}
    assert FACTS["daily_self_pay_fen"].compute is daily_self_pay_fen


class _Claim:
    def __init__(self, fen):
        self.in_policy_self_pay_fen = fen


@pytest.mark.parametrize("fen,stay,daily", [
    (900_000, 3, 300_000), (900_001, 3, 300_000), (900_002, 3, 300_001), (1, 2, 1), (3, 2, 2), (0, 1, 0),
    (None, 3, None), (500, 0, None)])
def test_daily_self_pay_is_half_up_to_the_fen(fen, stay, daily):
    assert daily_self_pay_fen(_Claim(fen), {"stay_days": stay}) == daily


def test_on_demand_fact_is_only_in_traces_of_rulesets_that_read_it():
    m = member(sex="M")
    [o] = decide(m, [enrollment("HOSP", "2026-01-01")], [hosp(m, "2026-04-03", "2026-04-05", "9000.00")])
    assert "daily_self_pay_fen" not in o.trace["facts"]


def test_docs_list_every_fact_for_policy_writers():
    text = (Path(__file__).resolve().parents[1] / "docs" / "rules.md").read_text(encoding="utf-8")
    missing = [name for name in FACTS if f"| `{name}` |" not in text]
    assert missing == []


def test_every_fact_the_adjudication_computes_is_in_the_catalogue():
    from tests.factories import women
    m, f = member(sex="M", seq=5), member(seq=6)
    outcomes = decide(m, [enrollment("HOSP", "2026-01-01")], [hosp(m, "2026-04-03", "2026-04-05", "9000.00")])
    outcomes += decide(f, [enrollment("WOMEN", "2026-01-01")], [women(f, "D06.1", "2026-05-20")])
    outcomes += decide(None, [], [hosp(member(seq=7), "2026-04-03", "2026-04-05", "100.00")])
    seen = set().union(*(o.trace["facts"] for o in outcomes))
    assert seen - set(FACTS) == set()
    for o in outcomes:
        product = "WOMEN" if "category" in o.trace["facts"] else "HOSP"
        assert all(product in FACTS[name].products for name in o.trace["facts"])


@pytest.mark.parametrize("base,fires", [("9000.00", False), ("9000.02", True)])
def test_v06_of_the_2027_draft_fires_above_3000_a_day(base, fires):
    """Three days: 9,000.00 is 3,000.00 a day (not above); 9,000.02 is 3,000.01 (half-up)."""
    from mutualaid.policy import install_draft, remove_draft
    draft = load_policy_file(DRAFTS_DIR / "2027.yaml")
    m = member(sex="M", seq=8)
    install_draft(draft)
    try:
        [o] = decide(m, [enrollment("HOSP", "2027-01-01")], [hosp(m, "2027-04-03", "2027-04-06", base)])
    finally:
        remove_draft(2027)
    assert ("V06" in o.reason_codes) is fires
    assert o.status == ("PENDING_REVIEW" if fires else "APPROVED")
    assert o.trace["facts"]["daily_self_pay_fen"] == (300_000 if not fires else 300_001)
    assert o.trace["ruleset"].startswith("hosp_2027_draft_")
    # the 2027 bands: 5,000 x 0.45 + 4,000 x 0.65 = 4,850.00, + 3 days x 10.00 allowance
    assert o.payout_fen == (488_000 if not fires else 488_001)
    assert 2027 not in policies() or policies()[2027] is not draft


def test_a_new_rules_message_joins_the_translation_table():
    from mutualaid.policy.loader import register_rule_messages
    draft = load_policy_file(DRAFTS_DIR / "2027.yaml")
    i18n.MESSAGES.pop("rule.V06", None)
    try:
        register_rule_messages([draft])
        assert i18n.ui("rule.V06", "zh") == "日均自付过高：政策内自付按住院天数平均超过 3000.00 元"
        assert i18n.ui("rule.V06", "en") == "daily in-policy self-pay above 3,000.00"
        assert i18n.ui("rule.R01", "zh") == i18n.MESSAGES.get("rule.R01", i18n.UI.get("rule.R01"))[0]
    finally:
        i18n.MESSAGES.pop("rule.V06", None)


def test_only_if_leaves_a_rule_out_when_the_setting_is_off(tmp_path):
    """The shipped files declare V05 plainly (its fact is computed only with settlement data);
    a writer may also tie a rule to a true/false setting."""
    def with_only_if(settings):
        def mutate(data):
            for rule in data["rules"]:
                if rule["code"] == "V05":
                    rule["only_if"] = "settlements.cross_check"
            if settings is None:
                data.pop("settlements", None)
            else:
                data["settlements"] = settings
        return mutate
    on = load_policy_file(_write(tmp_path, with_only_if({"claims": True, "cross_check": True})))
    off = load_policy_file(_write(tmp_path, with_only_if({"claims": True, "cross_check": False}), name="2028.yaml"))
    without = load_policy_file(_write(tmp_path, with_only_if(None), name="2029.yaml"))
    assert "V05" in {r.code for r in rule_specs(on, "HOSP")}
    assert "V05" not in {r.code for r in rule_specs(off, "HOSP")}
    assert "V05" not in {r.code for r in rule_specs(without, "HOSP")}
