"""The policy rules (R01–R10, V01–V05, A01–A04) as durable_rules conditions on one fact.

Each condition is built from a policy version's parameters, so a ruleset is named by
product and version (``hosp_2026``) and nothing here holds a policy number.
The facts the conditions read are built in ``mutualaid.claims.facts``.
"""
from __future__ import annotations

from functools import lru_cache

from mutualaid.money import to_fen
from mutualaid.policy import HospPolicy, Policy, WomenPolicy, policies
from mutualaid.rules.engine import RuleSpec, engine


def _common(policy: Policy, params: HospPolicy | WomenPolicy) -> list[RuleSpec]:
    return [
        RuleSpec("R01", {"member_found": False}, ("member_found",)),
        RuleSpec("R02", {"$and": [{"member_found": True}, {"enrolled": False}]}, ("member_found", "enrolled")),
        RuleSpec("R03", {"$and": [{"first_enrollment": True}, {"$lt": {"days_from_start": params.waiting_days}}]},
                 ("first_enrollment", "days_from_start")),
        RuleSpec("R04", {"$gt": {"days_past_deadline": 0}}, ("days_past_deadline",)),
        RuleSpec("R06", {"$gt": {"duplicates": 0}}, ("duplicates",)),
        RuleSpec("V01", {"$gte": {"payout_fen": to_fen(policy.review_payout_threshold)}}, ("payout_fen",)),
        RuleSpec("V02", {"name_matches": False}, ("name_matches",)),
        # a claim returned for correction (退回补正) and not corrected within the policy's
        # correction_days; the fact exists only when the batch run checks a returned claim
        RuleSpec("R10", {"$gt": {"days_past_correction_limit": 0}}, ("days_past_correction_limit",)),
    ]


def hosp_rules(policy: Policy) -> list[RuleSpec]:
    p = policy.products.HOSP
    return _common(policy, p) + [
        RuleSpec("R05", {"$or": [{"cause": c} for c in p.excluded_causes]}, ("cause",)),
        RuleSpec("R09", {"$lte": {"cap_remaining_fen": 0}}, ("cap_remaining_fen",)),
        RuleSpec("V04", {"$gt": {"stay_days": p.long_stay_days}}, ("stay_days",)),
        RuleSpec("A01", {"$gt": {"minimum_topup_fen": 0}}, ("minimum_topup_fen",)),
        RuleSpec("A02", {"$gt": {"cap_cut_fen": 0}}, ("cap_cut_fen",)),
        RuleSpec("A03", {"$gt": {"allowance_days_cut": 0}}, ("allowance_days_cut",)),
    ] + ([RuleSpec("V05", {"settlement_differs": True}, ("settlement_differs",))]
         if policy.settlements is not None and policy.settlements.cross_check else [])


def women_rules(policy: Policy) -> list[RuleSpec]:
    p = policy.products.WOMEN
    needs_pathology = [name for name, c in p.categories.items() if c.needs_pathology]
    return _common(policy, p) + [
        RuleSpec("R07", {"$or": [{"$neq": {"sex": p.sex}}, {"$lt": {"age": p.min_age}}, {"$gt": {"age": p.max_age}}]},
                 ("sex", "age")),
        RuleSpec("R08", {"category": "NONE"}, ("category", "diagnosis_code", "surgery")),
        RuleSpec("R09", {"$or": [{"category_already_paid": True}, {"cover_ended": True}]},
                 ("category_already_paid", "cover_ended")),
        RuleSpec("V03", {"$and": [{"pathology_confirmed": False},
                                  {"$or": [{"category": c} for c in needs_pathology]}]},
                 ("pathology_confirmed", "category")),
        RuleSpec("A04", {"$gt": {"deducted_fen": 0}}, ("deducted_fen",)),
    ]


BUILDERS = {"HOSP": hosp_rules, "WOMEN": women_rules}


def ruleset_name(product: str, version: int) -> str:
    return f"{product.lower()}_{version}"


@lru_cache(maxsize=None)
def ruleset(product: str, version: int) -> tuple[str, tuple[RuleSpec, ...]]:
    """The versioned ruleset, registered with this process's engine on first use."""
    name = ruleset_name(product, version)
    rules = tuple(BUILDERS[product](policies()[version]))
    engine().register(name, rules)
    return name, rules
