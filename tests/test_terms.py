"""Shared terms are spelled in one place (issue 13): claim statuses only in mutualaid/claims/status.py.

The check is the grep of the issue, as a test: a quoted claim status ("APPROVED", 'RECEIVED', ...)
in a Python file of mutualaid/, batch/ or api/ outside the enum module fails it. Templates and the
translation keys (``status.APPROVED``) are not Python literals of a status and are not matched.
One exception, found by the code's shape rather than by a list of files: a member of another
``StrEnum`` that happens to share the word (a payment run is APPROVED too) spells its own term.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from mutualaid.claims import status as terms
from mutualaid.claims.status import ClaimStatus, Product, rule_codes

ROOT = Path(__file__).resolve().parents[1]
ENUM_MODULE = ROOT / "mutualaid" / "claims" / "status.py"
QUOTED = re.compile(r"""(["'])(%s)\1""" % "|".join(s.value for s in ClaimStatus))


def _other_enum_member_lines(tree: ast.AST) -> set[int]:
    """Lines of ``NAME = "VALUE"`` directly in the body of a StrEnum subclass."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
                (isinstance(b, ast.Name) and b.id == "StrEnum") or (isinstance(b, ast.Attribute) and b.attr == "StrEnum")
                for b in node.bases):
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant):
                    lines.add(stmt.lineno)
    return lines


def status_literals(source: str) -> list[tuple[int, str]]:
    """(line, literal) of each quoted claim status in a Python source, other StrEnums' members aside."""
    allowed = _other_enum_member_lines(ast.parse(source))
    hits = []
    for n, line in enumerate(source.splitlines(), 1):
        if n in allowed:
            continue
        hits.extend((n, m.group(0)) for m in QUOTED.finditer(line))
    return hits


def test_the_scanner_finds_what_the_grep_finds() -> None:
    sample = ('x = "APPROVED"\n'
              "q = \"id = {} AND status = 'RECEIVED'\"\n"
              'ok = "status.APPROVED"  # an i18n key\n'
              "class RunState(StrEnum):\n"
              '    APPROVED = "APPROVED"\n'
              "class Bad:\n"
              '    REJECTED = "REJECTED"\n')
    assert status_literals(sample) == [(1, '"APPROVED"'), (2, "'RECEIVED'"), (7, '"REJECTED"')]


def test_no_claim_status_literal_outside_the_enum_module() -> None:
    found = []
    for folder in ("mutualaid", "batch", "api"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ENUM_MODULE:
                continue
            found += [f"{path.relative_to(ROOT)}:{n}: {lit}" for n, lit in status_literals(path.read_text("utf-8"))]
    assert found == [], "use mutualaid.claims.status instead of:\n" + "\n".join(found)


def test_the_enum_module_spells_every_status() -> None:
    source = ENUM_MODULE.read_text("utf-8")
    assert {m.group(2) for m in QUOTED.finditer(source)} == {s.value for s in ClaimStatus}
    assert [s.value for s in ClaimStatus] == ["RECEIVED", "APPROVED", "PENDING_REVIEW", "REJECTED", "RETURNED",
                                              "WITHDRAWN"]


def test_members_are_the_stored_strings() -> None:
    assert ClaimStatus.APPROVED == "APPROVED" and f"{ClaimStatus.PENDING_REVIEW}" == "PENDING_REVIEW"
    assert {"APPROVED": 1}[ClaimStatus.APPROVED] == 1 and str(Product.WOMEN) == "WOMEN"
    assert set(terms.LISTED) == set(ClaimStatus) and len(terms.LISTED) == len(ClaimStatus)
    assert terms.DECIDED == ("APPROVED", "PENDING_REVIEW", "REJECTED")
    assert terms.COUNTING == ("APPROVED", "PENDING_REVIEW")


def test_rule_codes_come_from_the_policy_files_and_have_words() -> None:
    from mutualaid.i18n import ui
    codes = rule_codes()
    assert codes == ("R01", "R02", "R03", "R04", "R05", "R06", "R07", "R08", "R09", "R10",
                     "V01", "V02", "V03", "V04", "V05", "A01", "A02", "A03", "A04")
    for code in codes:
        assert ui(f"rule.{code}", "zh") != f"rule.{code}", code


@pytest.mark.parametrize("name", ["api.pages.claims"])
def test_pages_list_the_rule_codes_of_the_policy(name: str) -> None:
    import importlib
    assert importlib.import_module(name).RULE_CODES == rule_codes()
