"""The rulesets of the policy versions, built from the rules declared in the policy files.

The rule declarations (code, condition over named facts, facts read, message) live in
each policy file beside its parameters (``mutualaid/policy/data/*.yaml``) and are turned
into engine RuleSpecs by :mod:`mutualaid.rules.policy_rules`; nothing here holds a rule.
A ruleset is named by product and version (``hosp_2026``); a draft installed for a
what-if run gets a name of its own (``hosp_2027_draft_<digest>``), since durable_rules
cannot change a registered ruleset.
"""
from __future__ import annotations

import hashlib
import json

from mutualaid.policy import Policy, is_draft, policies
from mutualaid.rules.engine import RuleSpec, engine
from mutualaid.rules.policy_rules import on_demand_facts, rule_specs


def hosp_rules(policy: Policy) -> list[RuleSpec]:
    return rule_specs(policy, "HOSP")


def women_rules(policy: Policy) -> list[RuleSpec]:
    return rule_specs(policy, "WOMEN")


BUILDERS = {"HOSP": hosp_rules, "WOMEN": women_rules}


def ruleset_name(product: str, version: int) -> str:
    return f"{product.lower()}_{version}"


def _draft_name(product: str, version: int, rules: tuple[RuleSpec, ...]) -> str:
    text = json.dumps([[r.code, r.condition, list(r.inputs)] for r in rules], sort_keys=True, ensure_ascii=False)
    return f"{ruleset_name(product, version)}_draft_{hashlib.sha256(text.encode()).hexdigest()[:12]}"


# (product, version) -> (the policy object it was built from, name, rules, on-demand facts)
_built: dict[tuple[str, int], tuple[Policy, str, tuple[RuleSpec, ...], tuple[str, ...]]] = {}


def _build(product: str, version: int) -> tuple[Policy, str, tuple[RuleSpec, ...], tuple[str, ...]]:
    policy = policies()[version]
    known = _built.get((product, version))
    if known is not None and known[0] is policy:
        return known
    rules = tuple(BUILDERS[product](policy))
    name = _draft_name(product, version, rules) if is_draft(policy) else ruleset_name(product, version)
    engine().register(name, rules)
    built = (policy, name, rules, on_demand_facts(rules))
    _built[(product, version)] = built
    return built


def ruleset(product: str, version: int) -> tuple[str, tuple[RuleSpec, ...]]:
    """The versioned ruleset, registered with this process's engine on first use."""
    _, name, rules, _ = _build(product, version)
    return name, rules


def on_demand(product: str, version: int) -> tuple[str, ...]:
    """The on-demand facts (mutualaid.rules.facts) the ruleset reads: usually none."""
    return _build(product, version)[3]
