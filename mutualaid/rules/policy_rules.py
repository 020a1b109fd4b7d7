"""Rules as data: a policy file's rule declarations, checked and turned into RuleSpecs.

A declaration (one item of ``rules:`` in a policy YAML file)::

    - code: V06
      products: [HOSP]
      when: {$gt: {daily_self_pay_fen: "3000.00"}}
      reads: [daily_self_pay_fen, stay_days]      # optional; default: the facts `when` reads
      only_if: settlements.cross_check            # optional: declared, but used only if this setting is true
      message: {zh: 日均自付高, en: high daily self-pay}

The condition language (``when``) over the named facts of :mod:`mutualaid.rules.facts`:

* ``{fact: value}`` or ``{$eq: {fact: value}}``; ``$neq``, ``$lt``, ``$lte``, ``$gt``, ``$gte``;
* ``{$in: {fact: [value, ...]}}`` — equal to one of the values (an empty list never matches);
* ``{$and: [cond, ...]}``, ``{$or: [cond, ...]}``.

A value is a literal of the fact's kind (``true``/``false``; a whole number; a money
amount in yuan as a string with at most two decimals, compared in fen; a string), or
``{param: NAME}``: a parameter of the product (``waiting_days``, ``excluded_causes``...),
else of the policy (``review_payout_threshold``), else a derived one
(:data:`DERIVED_PARAMS`). Errors name the rule; the loader adds the file.

The RuleSpecs produced are the engine wrapper's condition language
(:mod:`mutualaid.rules.engine`), which checks them again at registration.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from mutualaid.money import MoneyError, parse_amount, to_fen
from mutualaid.rules.engine import EngineError, RuleSpec, check_ruleset
from mutualaid.rules.facts import FACTS

COMPARISONS = ("$eq", "$neq", "$lt", "$lte", "$gt", "$gte")
ORDERING = ("$lt", "$lte", "$gt", "$gte")
_CODE_RE = re.compile(r"[RVA][0-9]{2}\Z")


class RuleError(ValueError):
    """A rule declaration that cannot be used; the message names the rule."""


def _pathology_categories(params: Any, policy: Any) -> tuple[str, ...]:
    return tuple(name for name, c in params.categories.items() if c.needs_pathology)


#: Parameters computed from the policy's parameters, by product.
DERIVED_PARAMS = {
    ("WOMEN", "pathology_categories"): _pathology_categories,
}


def _param(name: Any, product: str, params: Any, policy: Any, where: str) -> Any:
    if not isinstance(name, str):
        raise RuleError(f"{where}: param takes a parameter name, got {name!r}")
    if name in type(params).model_fields:
        return getattr(params, name)
    if name in type(policy).model_fields and name not in ("version", "products", "rules"):
        return getattr(policy, name)
    derived = DERIVED_PARAMS.get((product, name))
    if derived is not None:
        return derived(params, policy)
    raise RuleError(f"{where}: unknown parameter {name!r} for {product}")


def _literal(fact: str, value: Any, product: str, params: Any, policy: Any, where: str, *,
             many: bool = False) -> Any:
    """The engine literal (or tuple of literals if ``many``) for ``value`` compared with ``fact``."""
    kind = FACTS[fact].kind
    from_param = isinstance(value, dict)
    if from_param:
        if set(value) != {"param"}:
            raise RuleError(f"{where}: a value is a literal or {{param: NAME}}, got {value!r}")
        value = _param(value["param"], product, params, policy, where)
    if many:
        if not isinstance(value, (list, tuple)):
            raise RuleError(f"{where}: $in takes a list of values for {fact!r}, got {value!r}")
        return tuple(_one(fact, kind, v, from_param, where) for v in value)
    if isinstance(value, (list, tuple)):
        raise RuleError(f"{where}: {fact!r} is compared with a list; use $in")
    return _one(fact, kind, value, from_param, where)


def _one(fact: str, kind: str, value: Any, from_param: bool, where: str) -> Any:
    wrong = RuleError(f"{where}: fact {fact!r} is a {kind}, compared with {value!r} "
                      f"({type(value).__name__})")
    if kind == "bool":
        if not isinstance(value, bool):
            raise wrong
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise wrong
        return value
    # money: yuan, compared in fen
    if from_param and isinstance(value, Decimal):
        try:
            return to_fen(value)
        except MoneyError:
            raise wrong from None
    if isinstance(value, str):
        try:
            return to_fen(parse_amount(value))
        except MoneyError:
            pass
    raise RuleError(f"{where}: fact {fact!r} is money: write the amount in yuan as a string "
                    f"with at most two decimals (e.g. \"3000.00\") or {{param: NAME}}; got {value!r}")


def _fact(name: Any, product: str, where: str) -> str:
    fact = FACTS.get(name) if isinstance(name, str) else None
    if fact is None:
        raise RuleError(f"{where}: unknown fact {name!r} (see docs/rules.md for the facts)")
    if product not in fact.products:
        raise RuleError(f"{where}: fact {name!r} is not computed for {product} claims")
    return name


def condition(cond: Any, product: str, params: Any, policy: Any, where: str) -> dict:
    """The engine condition of a declared ``when`` (checked)."""
    if not isinstance(cond, dict) or len(cond) != 1:
        raise RuleError(f"{where}: a condition is a mapping with exactly one key, got {cond!r}")
    (key, value), = cond.items()
    if key in ("$and", "$or"):
        if not isinstance(value, list):
            raise RuleError(f"{where}: {key} takes a list of conditions, got {value!r}")
        return {key: [condition(c, product, params, policy, where) for c in value]}
    if isinstance(key, str) and key.startswith("$"):
        if key not in COMPARISONS and key != "$in":
            raise RuleError(f"{where}: unknown operator {key!r} (use {', '.join(COMPARISONS)}, $in, $and, $or)")
        if not isinstance(value, dict) or len(value) != 1:
            raise RuleError(f"{where}: {key} takes one {{fact: value}}, got {value!r}")
        (name, literal), = value.items()
        fact = _fact(name, product, where)
        if key == "$in":
            return {"$or": [{fact: v} for v in _literal(fact, literal, product, params, policy, where, many=True)]}
        if key in ORDERING and FACTS[fact].kind in ("bool",):
            raise RuleError(f"{where}: {key} cannot compare the bool fact {fact!r}")
        v = _literal(fact, literal, product, params, policy, where)
        return {fact: v} if key == "$eq" else {key: {fact: v}}
    fact = _fact(key, product, where)
    return {fact: _literal(fact, value, product, params, policy, where)}


def _fields(cond: dict) -> list[str]:
    (key, value), = cond.items()
    if key in ("$and", "$or"):
        out: list[str] = []
        for c in value:
            out += [f for f in _fields(c) if f not in out]
        return out
    return list(value) if key.startswith("$") else [key]


def policy_flag(policy: Any, path: str, where: str) -> bool:
    """The true/false setting ``path`` (``settlements.cross_check``) of the policy; a section
    the policy leaves out counts as false."""
    value: Any = policy
    for part in path.split("."):
        if value is None:
            return False
        if not hasattr(type(value), "model_fields") or part not in type(value).model_fields:
            raise RuleError(f"{where}: only_if names {path!r}, which is no setting of the policy")
        value = getattr(value, part)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise RuleError(f"{where}: only_if names {path!r}, which is not a true/false setting")
    return value


def rule_specs(policy: Any, product: str) -> list[RuleSpec]:
    """The RuleSpecs of ``product`` under ``policy`` (whose ``rules`` are declarations)."""
    params = policy.product(product)
    specs: list[RuleSpec] = []
    for decl in policy.rules:
        if product not in decl.products:
            continue
        where = f"rule {decl.code} ({product})"
        if decl.only_if is not None and not policy_flag(policy, decl.only_if, where):
            continue
        cond = condition(decl.when, product, params, policy, where)
        read = _fields(cond)
        if decl.reads is None:
            inputs = tuple(read)
        else:
            for name in decl.reads:
                _fact(name, product, where)
            missing = [f for f in read if f not in decl.reads]
            if missing:
                raise RuleError(f"{where}: reads {list(decl.reads)} omits {missing}, which the condition reads")
            inputs = tuple(decl.reads)
        specs.append(RuleSpec(decl.code, cond, inputs))
    return specs


def check_policy_rules(policy: Any, products: Iterable[str]) -> None:
    """Every rule declaration of ``policy`` usable for every product: else RuleError."""
    seen: dict[tuple[str, str], None] = {}
    for decl in policy.rules:
        if not _CODE_RE.match(decl.code):
            raise RuleError(f"rule {decl.code}: a code is R, V or A and two digits (R = reject, "
                            f"V = review, A = amount note)")
        for product in decl.products:
            if (decl.code, product) in seen:
                raise RuleError(f"rule {decl.code}: declared twice for {product}")
            seen[(decl.code, product)] = None
    for product in products:
        specs = rule_specs(policy, product)
        try:
            check_ruleset(f"{product.lower()}_{policy.version}", specs)
        except EngineError as exc:
            raise RuleError(str(exc)) from None


def on_demand_facts(specs: Iterable[RuleSpec]) -> tuple[str, ...]:
    """The on-demand facts (computed only when read) that these rules read."""
    out: list[str] = []
    for spec in specs:
        for name in spec.inputs:
            if FACTS[name].compute is not None and name not in out:
                out.append(name)
    return tuple(out)
