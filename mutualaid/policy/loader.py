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
from mutualaid.dates import add_months

DATA_DIR = Path(__file__).parent / "data"

Product = Literal["HOSP", "WOMEN"]
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


class Policy(_Model):
    version: int
    review_payout_threshold: Yuan
    products: Products

    def product(self, product: str) -> HospPolicy | WomenPolicy:
        return getattr(self.products, product)

    def label(self, product: str) -> str:
        """'HOSP-2026': the policy_version written on decisions."""
        return f"{product}-{self.version}"


def load_policies(directory: Path = DATA_DIR) -> dict[int, Policy]:
    found: dict[int, Policy] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            policy = Policy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except Exception as exc:  # a broken policy file must stop everything, loudly
            raise PolicyError(f"{path.name}: {exc}") from exc
        if str(policy.version) != path.stem:
            raise PolicyError(f"{path.name} declares version {policy.version}")
        found[policy.version] = policy
    if not found:
        raise PolicyError(f"no policy files in {directory}")
    return found


@lru_cache(maxsize=1)
def policies() -> dict[int, Policy]:
    return load_policies()


def policy_for_start(start_date: dt.date) -> Policy | None:
    """The version covering enrollments that start on this date (None: no such version)."""
    return policies().get(start_date.year)
