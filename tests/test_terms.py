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
#: files being restructured on other branches (issue 13): their literals are replaced after the merge
PENDING_OTHER_BRANCHES: frozenset[str] = frozenset()
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


# --- named records at the boundaries ---------------------------------------------------------------

def test_parsed_claim_is_named_and_crosses_processes_as_itself() -> None:
    import datetime as dt
    import pickle

    from mutualaid import idnumber
    from mutualaid.claims.intake import STORED, ParsedClaim, parse_row
    from mutualaid.tabular import Cell

    number = idnumber.make("150502", dt.date(1990, 1, 1), 1, "F")
    cells = {k: Cell(v, "text") for k, v in {
        "claim_no": "C1", "product": "WOMEN", "member_id_number": number, "member_name": "王丽",
        "submitted_date": "2026-03-01", "diagnosis_code": "C50.9", "diagnosis_date": "2026-02-01",
        "pathology_confirmed": "Y"}.items()}
    errors: list = []
    p = parse_row(7, cells, errors)
    assert errors == [] and isinstance(p, ParsedClaim)
    assert ParsedClaim._fields[3:] == STORED and p.stored == tuple(getattr(p, c) for c in STORED)
    assert (p.row, p.claim_no, p.event_date, p.product) == (7, "C1", dt.date(2026, 2, 1), "WOMEN")
    assert p.content()["event_date"] == dt.date(2026, 2, 1) and p.content()["surgery"] == "none"
    back = pickle.loads(pickle.dumps([p], protocol=pickle.HIGHEST_PROTOCOL))[0]
    assert type(back) is ParsedClaim and back == p


def test_records_from_rows_read_by_name_not_position() -> None:
    import datetime as dt
    from types import SimpleNamespace

    from mutualaid.claims.adjudication import ClaimIn, EnrollmentIn, Prior

    d = dt.date(2026, 1, 5)
    # attribute order deliberately unlike the dataclass order, plus columns the record does not have
    row = SimpleNamespace(surgery="none", status="APPROVED", pathology_confirmed=True, diagnosis_date=d,
                          diagnosis_code="C50.9", in_policy_self_pay_fen=None, cause=None, discharge_date=None,
                          admission_date=None, event_date=d, submitted_date=d, member_name="王丽",
                          member_id_number="150502199001011238", product="WOMEN", claim_no="W1", id=3,
                          enrollment_id=9, payout_fen=500, allowance_days=None, category="invasive")
    claim = ClaimIn.from_row(row)
    assert (claim.id, claim.claim_no, claim.member_name, claim.diagnosis_code, claim.surgery) == \
        (3, "W1", "王丽", "C50.9", "none")
    assert Prior.from_row(row) == Prior("W1", "WOMEN", 9, 500, None, None, 0, "invasive", d)
    e = SimpleNamespace(policy_version=2026, end_date=d, start_date=d, units=2, product="WOMEN", id=4, id_number="x")
    assert EnrollmentIn.from_row(e) == EnrollmentIn(4, "WOMEN", 2, d, d, 2026)
    assert EnrollmentIn.from_row(e, policy_version=2027).policy_version == 2027


# --- rule codes ---------------------------------------------------------------------------------

RULE_QUOTED = re.compile(r"""(["'])([RVA]\d\d)\1""")


def test_every_named_rule_code_has_words_and_a_policy_rule() -> None:
    from mutualaid.claims.status import RuleCode
    from mutualaid.i18n import MESSAGES, UI
    for code in RuleCode:
        assert f"rule.{code}" in UI or f"rule.{code}" in MESSAGES, code
    assert set(RuleCode) <= set(rule_codes())


def test_the_loader_refuses_policies_without_a_named_rule() -> None:
    from mutualaid.policy import policies
    from mutualaid.policy.loader import PolicyError, check_named_rule_codes
    versions = list(policies().values())
    check_named_rule_codes(versions)
    stripped = [v.model_copy(update={"rules": tuple(d for d in v.rules if d.code != "V05")}) for v in versions]
    with pytest.raises(PolicyError, match="V05"):
        check_named_rule_codes(stripped)


def test_no_rule_code_literal_outside_the_enum_module() -> None:
    found = []
    for folder in ("mutualaid", "batch", "api"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ENUM_MODULE or path.relative_to(ROOT).as_posix() in PENDING_OTHER_BRANCHES:
                continue
            allowed = _other_enum_member_lines(ast.parse(path.read_text("utf-8")))
            for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if n not in allowed and RULE_QUOTED.search(code):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == [], "use mutualaid.claims.status.RuleCode instead of:\n" + "\n".join(found)


# --- the other areas' words ----------------------------------------------------------------------

def _area_terms():  # noqa: ANN202
    """(enum, folders where its words are searched)."""
    from api.jobs import JobStatus
    from mutualaid.casework.terms import AppealState, ReturnState, Verdict
    from mutualaid.ledger.entries import EntryType
    from mutualaid.ledger.reconcile import ReconStatus
    from mutualaid.payments.service import ItemStatus, PaymentState, RunStatus
    from mutualaid.settlements.terms import Outcome
    everywhere = ("mutualaid", "batch", "api")
    return [*((e, everywhere) for e in (EntryType, ReconStatus, RunStatus, ItemStatus, PaymentState, ReturnState,
                                        AppealState, Verdict, Outcome)),
            (JobStatus, ("api",))]  # lower-case words ("failed") are English text elsewhere


def _literal_annotation_lines(tree: ast.AST) -> set[int]:
    """Lines of ``Literal[...]`` subscripts: the API's schema spells its contract (checked below)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Literal":
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


#: the bank's result file has words of its own (SUCCESS / FAILED), read into the item's status
OWN_VOCABULARY = frozenset({"mutualaid/payments/bankfile.py"})


def area_literals(source: str, words: set[str]) -> list[tuple[int, str]]:
    quoted = re.compile(r"""(["'])(%s)\1""" % "|".join(sorted(map(re.escape, words), key=len, reverse=True)))
    tree = ast.parse(source)
    allowed = _other_enum_member_lines(tree) | _literal_annotation_lines(tree)
    hits = []
    for n, line in enumerate(source.splitlines(), 1):
        if n not in allowed:
            hits.extend((n, m.group(0)) for m in quoted.finditer(line.split("#", 1)[0]))
    return hits


def test_the_area_scanner() -> None:
    sample = ('a = "PAYOUT"\n'
              'def f(state: Literal["OPEN", "ALL"] = "OPEN"): ...\n'
              "class E(StrEnum):\n"
              '    PAYOUT = "PAYOUT"\n'
              'b = "payout"  # "PAYOUT" in a comment\n')
    assert area_literals(sample, {"PAYOUT", "OPEN"}) == [(1, '"PAYOUT"')]


def test_no_area_term_literal_outside_its_enum() -> None:
    """An entry type, a reconciliation / payment / casework / job state is named through its
    StrEnum; the enums' own members, ``Literal`` schemas and the bank's own words aside."""
    found = []
    for enum, folders in _area_terms():
        words = {m.value for m in enum} - {s.value for s in ClaimStatus}  # those: the test above
        for folder in folders:
            for path in sorted((ROOT / folder).rglob("*.py")):
                rel = path.relative_to(ROOT).as_posix()
                if "/migrations/" in rel or rel in PENDING_OTHER_BRANCHES or rel in OWN_VOCABULARY:
                    continue
                found += [f"{rel}:{n}: {lit} ({enum.__name__})"
                          for n, lit in area_literals(path.read_text("utf-8"), words)]
    assert found == [], "use the area's StrEnum instead of:\n" + "\n".join(found)


def test_the_api_contract_spells_the_enums() -> None:
    import typing

    from api import schemas
    from api.jobs import JobStatus
    from api.routers import payments as pay_router
    from mutualaid.ledger.reconcile import STATUS_ORDER
    from mutualaid.payments.service import ItemStatus
    assert set(typing.get_args(schemas.ReconStatus)) == set(STATUS_ORDER)
    literals = [typing.get_args(f.annotation) for model in vars(pay_router).values()
                if isinstance(model, type) and hasattr(model, "model_fields") for f in model.model_fields.values()]
    assert set(ItemStatus) in [set(a) for a in literals]
    jobs = [typing.get_args(f.annotation) for model in vars(schemas).values()
            if isinstance(model, type) and hasattr(model, "model_fields") for f in model.model_fields.values()]
    assert set(JobStatus) in [set(a) for a in jobs]


def test_policy_numbers_are_policy_data() -> None:
    """Renewal gap and payment promise come from the policy files, validated at load."""
    import yaml

    from mutualaid.claims import adjudication
    from mutualaid.policy import policies
    from mutualaid.policy.loader import DATA_DIR, PolicyError, load_policy_file
    for p in policies().values():
        assert (p.renewal_gap_days, p.service_promise_working_days) == (31, 15)
    assert not hasattr(adjudication, "RENEWAL_GAP_DAYS")  # read from the claim's policy, nowhere else
    for key, bad in (("renewal_gap_days", -1), ("service_promise_working_days", 0)):
        data = yaml.safe_load((DATA_DIR / "2026.yaml").read_text("utf-8"))
        data[key] = bad
        path = ROOT / "tests" / f".bad_{key}.yaml"
        try:
            path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
            with pytest.raises(PolicyError, match=key):
                load_policy_file(path)
        finally:
            path.unlink(missing_ok=True)
