"""The one policy loader. Adding 2027 means adding ``data/2027.yaml``, not code.

A claim is judged under the policy version of the enrollment covering its event date,
and an enrollment's version is the calendar year of its ``start_date``.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mutualaid import icd
from mutualaid.claims.status import PRODUCTS
from mutualaid.dates import add_months

DATA_DIR = Path(__file__).parent / "data"
DRAFTS_DIR = Path(__file__).parent / "drafts"  # example drafts: never loaded as active policies

Product = Literal[tuple(p.value for p in PRODUCTS)]  # type: ignore[valid-type]
# Amounts of yuan in whole fen: every sum and whole-number multiple of them stays exact
# to the fen, so traces can print them with two decimals and no rounding.
Yuan = Annotated[Decimal, Field(ge=0, decimal_places=2)]


class PolicyError(ValueError):
    pass


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Band(_Model):
    upto: Yuan | None  # None = no upper limit
    rate: Decimal


class Deadline(_Model):
    """Last submission day: ``anchor`` date plus days or calendar months (clamped)."""

    anchor: Literal["coverage_end", "event"]
    days: int | None = None
    months: int | None = None

    @model_validator(mode="after")
    def _one_unit(self) -> "Deadline":
        if (self.days is None) == (self.months is None):
            raise ValueError("deadline needs exactly one of days or months")
        return self

    def last_day(self, *, coverage_end: dt.date | None, event: dt.date) -> dt.date | None:
        base = coverage_end if self.anchor == "coverage_end" else event
        if base is None:
            return None
        if self.days is not None:
            return base + dt.timedelta(days=self.days)
        return add_months(base, self.months or 0)


class Category(_Model):
    """A WOMEN benefit category: ICD-10 code ranges (+ required surgeries) and amount."""

    codes: tuple[str, ...]
    amount_per_unit: Yuan
    surgeries: tuple[str, ...] | None = None  # None: any surgery (or none)
    needs_pathology: bool = False
    ends_cover: bool = False
    deduct_paid: tuple[str, ...] = ()

    @field_validator("codes")
    @classmethod
    def _ranges(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for item in v:
            for part in item.split("-"):
                icd.key(part)
        return v

    def matches(self, diagnosis_code: str, surgery: str) -> bool:
        if self.surgeries is not None and surgery not in self.surgeries:
            return False
        try:
            letter, num, sub = icd.key(diagnosis_code)
        except ValueError:
            return False
        for item in self.codes:
            lo, _, hi = item.partition("-")
            lo_l, lo_n, lo_s = icd.key(lo)
            hi_l, hi_n, hi_s = icd.key(hi or lo)
            if letter != lo_l:
                continue
            if lo_s < 0 and hi_s < 0:  # whole 3-character blocks, any sub-code
                if lo_n <= num <= hi_n:
                    return True
            elif sub >= 0 and (lo_n, lo_s) <= (num, sub) <= (hi_n, hi_s):
                return True
        return False


class HospPolicy(_Model):
    name_zh: str
    premium_per_unit: Yuan
    max_units: int = Field(ge=1)
    waiting_days: int = Field(ge=0)
    bands: tuple[Band, ...]
    minimum_subsidy: Yuan
    daily_allowance_by_year: tuple[Yuan, ...]
    allowance_days_per_stay: int
    allowance_days_per_period: int
    annual_cap: Yuan
    long_stay_days: int
    deadline: Deadline
    excluded_causes: tuple[str, ...]

    @field_validator("bands")
    @classmethod
    def _ascending(cls, v: tuple[Band, ...]) -> tuple[Band, ...]:
        limits = [b.upto for b in v]
        if not v or limits[-1] is not None or None in limits[:-1]:
            raise ValueError("bands must ascend and end with an open band (upto: null)")
        if limits[:-1] != sorted(limits[:-1]):  # type: ignore[type-var]
            raise ValueError("band limits must ascend")
        return v

    def daily_allowance(self, participation_year: int) -> Decimal:
        rates = self.daily_allowance_by_year
        return rates[min(max(participation_year, 1), len(rates)) - 1]


class WomenPolicy(_Model):
    name_zh: str
    premium_per_unit: Yuan
    max_units: int = Field(ge=1)
    waiting_days: int = Field(ge=0)
    sex: Literal["F", "M"]
    min_age: int
    max_age: int
    deadline: Deadline
    categories: dict[str, Category]

    def category_of(self, diagnosis_code: str, surgery: str) -> str | None:
        for name, cat in self.categories.items():
            if cat.matches(diagnosis_code, surgery):
                return name
        return None


class Products(_Model):
    HOSP: HospPolicy
    WOMEN: WomenPolicy


class Casework(_Model):
    """Returns for correction, appeals and the quality sample (mutualaid.casework)."""

    correction_days: int = Field(ge=1)  # R10: a returned claim not corrected within these days is closed
    appeal_days: int = Field(ge=1)  # a rejection may be appealed within these days of the decision
    quality_sample_rate: Decimal = Field(ge=0, le=1)  # share of a month's automatic approvals drawn
    quality_sample_above: Yuan  # every approval paying more than this is drawn too
    quality_sample_seed: int  # the draw is reproducible: same seed, same month, same sample


class Settlements(_Model):
    """Use of the medical-insurance settlement extract (医保结算数据) for HOSP stays.

    ``claims``: an inpatient settlement of a member enrolled under this version becomes a
    claim without an application (免申即享); ``cross_check``: a clerk's claim whose
    settlement shows other figures goes to review (V05). A version without this section
    ignores settlement data entirely.
    """

    claims: bool = True
    cross_check: bool = True


class RuleMessage(_Model):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class RuleDecl(_Model):
    """A rule as data (mutualaid.rules.policy_rules): code, condition, facts read, message."""

    code: str
    products: tuple[Product, ...] = Field(min_length=1)
    when: dict
    reads: tuple[str, ...] | None = None
    only_if: str | None = None  # a true/false setting of the policy, e.g. settlements.cross_check
    message: RuleMessage


class Policy(_Model):
    version: int
    review_payout_threshold: Yuan
    #: policy.md §1: an enrollment renews the previous one of its product when it starts at most
    #: this many days after that one's end_date (participation years count the chain)
    renewal_gap_days: int = Field(ge=0, le=366)
    #: reconciliation.md: an approved payout is paid within this many working days (Mon–Fri)
    service_promise_working_days: int = Field(ge=1, le=250)
    casework: Casework
    products: Products
    settlements: Settlements | None = None
    rules: tuple[RuleDecl, ...]

    def product(self, product: str) -> HospPolicy | WomenPolicy:
        return getattr(self.products, product)

    def label(self, product: str) -> str:
        """'HOSP-2026': the policy_version written on decisions."""
        return f"{product}-{self.version}"


def load_policy_file(path: Path) -> Policy:
    """One policy (or draft) file, parameters and rules checked: else PolicyError naming it."""
    from mutualaid.rules.policy_rules import RuleError, check_policy_rules
    try:
        policy = Policy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except Exception as exc:  # a broken policy file must stop everything, loudly
        raise PolicyError(f"{path.name}: {exc}") from exc
    try:
        check_policy_rules(policy, Products.model_fields)
    except RuleError as exc:
        raise PolicyError(f"{path.name}: {exc}") from None
    return policy


def load_policies(directory: Path = DATA_DIR) -> dict[int, Policy]:
    found: dict[int, Policy] = {}
    for path in sorted(directory.glob("*.yaml")):
        policy = load_policy_file(path)
        if str(policy.version) != path.stem:
            raise PolicyError(f"{path.name} declares version {policy.version}")
        found[policy.version] = policy
    if not found:
        raise PolicyError(f"no policy files in {directory}")
    return found


@lru_cache(maxsize=1)
def policies() -> dict[int, Policy]:
    found = load_policies()
    check_named_rule_codes(found.values())
    register_rule_messages(found.values())
    return found


def check_named_rule_codes(versions) -> None:  # noqa: ANN001
    """Every code the code names (:class:`~mutualaid.claims.status.RuleCode`) is declared by
    some policy in force: else code would test for a rule no file can fire. Codes beyond the
    enum stay allowed (a rule added as data needs no code)."""
    from mutualaid.claims.status import RuleCode
    declared = {decl.code for policy in versions for decl in policy.rules}
    missing = [c.value for c in RuleCode if c not in declared]
    if missing:
        raise PolicyError(f"no policy file declares rule {', '.join(missing)}")


def register_rule_messages(versions) -> None:  # noqa: ANN001
    """A rule added in a policy file needs no code: its message joins the translation table
    (``rule.<code>``) unless the table already has one (the table wins; a test keeps them equal)."""
    from mutualaid import i18n
    for policy in versions:
        for decl in policy.rules:
            key = f"rule.{decl.code}"
            if key not in i18n.UI and key not in i18n.MESSAGES:
                i18n.MESSAGES[key] = (decl.message.zh, decl.message.en)


_drafts: dict[int, Policy] = {}


def is_draft(policy: Policy) -> bool:
    """True for a draft put in place by :func:`install_draft` (never stored, never paid)."""
    return _drafts.get(policy.version) is policy


def install_draft(draft: Policy) -> None:
    """Judge enrollments of version ``draft.version`` by the draft, in THIS process.

    For what-if workers only (mutualaid.policy_office): a process that stores decisions
    must never call it. Undone by :func:`remove_draft`.
    """
    known = policies()
    _drafts[draft.version] = draft
    _replaced.setdefault(draft.version, known.get(draft.version))
    known[draft.version] = draft


_replaced: dict[int, Policy | None] = {}


def remove_draft(version: int) -> None:
    known = policies()
    _drafts.pop(version, None)
    if version in _replaced:
        previous = _replaced.pop(version)
        if previous is None:
            known.pop(version, None)
        else:
            known[version] = previous


def policy_for_start(start_date: dt.date) -> Policy | None:
    """The version covering enrollments that start on this date (None: no such version)."""
    return policies().get(start_date.year)


def policy_in_force(day: dt.date) -> Policy:
    """The version of ``day``'s year, else the nearest one (the later on a tie): for figures
    that belong to a day rather than to an enrollment (the payment promise of a month)."""
    known = policies()
    return known[min(known, key=lambda v: (abs(v - day.year), -v))]
