"""Benefit amounts of policy.md, exact in Decimal, rounded once at the end (half-up).

Pure functions: each returns the amount and the breakdown an auditor reads in the trace.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from mutualaid.money import ZERO, round_fen
from mutualaid.policy import HospPolicy, WomenPolicy


@dataclass(frozen=True, slots=True)
class BandPart:
    lower: Decimal
    upper: Decimal | None
    rate: Decimal
    amount: Decimal  # exact, unrounded


def banded_subsidy(base: Decimal, p: HospPolicy) -> tuple[Decimal, list[BandPart]]:
    """Marginal bands, like income tax: each slice of the base at its own rate."""
    total, lower, parts = ZERO, ZERO, []
    for band in p.bands:
        upper = band.upto
        top = base if upper is None else min(base, upper)
        if top > lower:
            part = (top - lower) * band.rate
            parts.append(BandPart(lower, upper, band.rate, part))
            total += part
        if upper is None or base <= upper:
            break
        lower = upper
    return total, parts


@dataclass(frozen=True, slots=True)
class HospAmount:
    base: Decimal
    bands: list[BandPart]
    banded: Decimal
    minimum: Decimal
    subsidy: Decimal
    stay_days: int
    allowance_days: int
    daily_rate: Decimal
    allowance: Decimal
    total: Decimal          # rounded once, half-up
    cap_remaining: Decimal
    payout: Decimal

    @property
    def minimum_topup(self) -> Decimal:  # > 0: A01
        return max(self.minimum - self.banded, ZERO)

    @property
    def cap_cut(self) -> Decimal:  # > 0: A02
        return self.total - self.payout

    @property
    def allowance_days_cut(self) -> int:  # > 0: A03
        return self.stay_days - self.allowance_days


def hosp_amount(p: HospPolicy, *, base: Decimal, stay_days: int, participation_year: int,
                allowance_days_used: int, paid_in_period: Decimal) -> HospAmount:
    banded, parts = banded_subsidy(base, p)
    minimum = min(p.minimum_subsidy, base)
    subsidy = max(banded, minimum)
    days = max(0, min(stay_days, p.allowance_days_per_stay, p.allowance_days_per_period - allowance_days_used))
    rate = p.daily_allowance(participation_year)
    allowance = rate * days
    total = round_fen(subsidy + allowance)
    cap_remaining = max(p.annual_cap - paid_in_period, ZERO)
    return HospAmount(base, parts, banded, minimum, subsidy, stay_days, days, rate, allowance,
                      total, cap_remaining, min(total, cap_remaining))


@dataclass(frozen=True, slots=True)
class WomenAmount:
    category: str | None
    units: int
    per_unit: Decimal
    gross: Decimal
    deducted: Decimal = ZERO   # > 0: A04
    payout: Decimal = ZERO
    deducted_from: list[str] = field(default_factory=list)


def women_amount(p: WomenPolicy, *, category: str | None, units: int,
                 paid_by_category: dict[str, Decimal]) -> WomenAmount:
    if category is None:
        return WomenAmount(None, units, ZERO, ZERO)
    cat = p.categories[category]
    gross = cat.amount_per_unit * units
    deducted = sum((paid_by_category.get(c, ZERO) for c in cat.deduct_paid), ZERO)
    payout = round_fen(max(gross - deducted, ZERO))
    return WomenAmount(category, units, cat.amount_per_unit, gross, deducted, payout,
                       [c for c in cat.deduct_paid if paid_by_category.get(c)])
