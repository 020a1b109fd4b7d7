"""(old estimator, being replaced)"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from mutualaid.claims.adjudication import RENEWAL_GAP_DAYS
from mutualaid.claims.status import APPROVED, PENDING_REVIEW, REJECTED
from mutualaid.generate.claims import Claim
from mutualaid.generate.days import date_of, day_number, month_label
from mutualaid.generate.people import PRODUCTS, World
from mutualaid.idnumber import age_on
from mutualaid.money import from_fen, round_fen, to_fen
from mutualaid.policy import HospPolicy, Policy, WomenPolicy


class Estimator:
    """policy.md §2–4 applied to the generated claims, in batch processing order."""

    def __init__(self, w: World, pols: dict[int, Policy]):
        self.w, self.pols = w, pols

    def run(self, claims: list[Claim]) -> None:
        w = self.w
        claimant = np.zeros(len(w.name), dtype=bool)
        claimant[[c.person for c in claims]] = True
        sel = np.flatnonzero(claimant[w.e_person])
        enr: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
        for e in sel[np.lexsort((w.e_start[sel], w.e_product[sel], w.e_person[sel]))].tolist():
            key = (int(w.e_person[e]), int(w.e_product[e]))
            chain = enr.setdefault(key, [])
            prev = chain[-1] if chain else None
            year = prev[3] + 1 if prev and w.e_start[e] - prev[1] <= RENEWAL_GAP_DAYS else 1
            chain.append((int(w.e_start[e]), int(w.e_end[e]), e, year))
        self.enr = enr
        self.stays: dict[int, list[tuple[int, int]]] = {}
        self.period_paid: dict[int, int] = {}     # enrollment -> fen paid (non-rejected)
        self.period_days: dict[int, int] = {}     # enrollment -> allowance days used
        self.women_paid: dict[int, dict[str, int]] = {}
        self.women_seen: set[tuple[int, str, int]] = set()
        self.cover_ended: set[int] = set()
        ordered = sorted(claims, key=lambda c: (month_label(c.submitted), c.event, c.claim_no))
        for c in ordered:
            self._decide(c)

    def _decide(self, c: Claim) -> None:
        w = self.w
        codes: list[str] = []
        payout = Decimal(0)
        chain = self.enr.get((c.person, PRODUCTS.index(c.product)), [])
        cover = next((x for x in chain if x[0] <= c.event <= x[1]), None)
        if not any(self.enr.get((c.person, k)) for k in (0, 1)):
            codes.append("R01")
        elif cover is None:
            codes.append("R02")
        if codes:
            self._finish(c, codes, payout)
            return
        start, end, e, year = cover
        pol = self.pols[date_of(start).year]
        prod = pol.product(c.product)
        if year == 1 and c.event < start + prod.waiting_days:
            codes.append("R03")
        if c.submitted > day_number(prod.deadline.last_day(coverage_end=date_of(end), event=date_of(c.event))):
            codes.append("R04")
        if c.name.strip() != w.name[c.person].strip():
            codes.append("V02")
        if c.product == "HOSP":
            payout = self._hosp(c, pol, prod, e, year, codes)
        else:
            payout = self._women(c, pol, prod, e, codes)
        self._finish(c, codes, payout)

    def _hosp(self, c: Claim, pol: Policy, hp: HospPolicy, e: int, year: int, codes: list[str]) -> Decimal:
        if c.cause in hp.excluded_causes:
            codes.append("R05")
        # R06 as policy.md: a stay occupies [admission, max(discharge, admission + 1)) (day numbers)
        if any(c.event < max(d, a + 1) and a < max(c.discharge, c.event + 1) for a, d in self.stays.get(c.person, ())):
            codes.append("R06")
        cap_left = hp.annual_cap - from_fen(self.period_paid.get(e, 0))
        if cap_left <= 0:
            codes.append("R09")
        if any(x.startswith("R") for x in codes):
            return Decimal(0)
        base = from_fen(c.base)
        subsidy, lower = Decimal(0), Decimal(0)
        for band in hp.bands:
            top = base if band.upto is None else min(base, band.upto)
            if top > lower:
                subsidy += (top - lower) * band.rate
            if band.upto is not None:
                lower = band.upto
        floor = min(hp.minimum_subsidy, base)
        if subsidy < floor:
            subsidy = floor
            codes.append("A01")
        stay = max(c.discharge - c.event, 1)
        used = self.period_days.get(e, 0)
        days = min(stay, hp.allowance_days_per_stay, max(hp.allowance_days_per_period - used, 0))
        if days < stay:
            codes.append("A03")
        total = subsidy + days * hp.daily_allowance(year)
        payout = round_fen(min(total, cap_left))
        if total > cap_left:
            codes.append("A02")
        if payout >= pol.review_payout_threshold:
            codes.append("V01")
        if stay > hp.long_stay_days:
            codes.append("V04")
        self.stays.setdefault(c.person, []).append((c.event, c.discharge))
        self.period_paid[e] = self.period_paid.get(e, 0) + to_fen(payout)
        self.period_days[e] = used + days
        return payout

    def _women(self, c: Claim, pol: Policy, wp: WomenPolicy, e: int, codes: list[str]) -> Decimal:
        w = self.w
        age = age_on(date_of(w.birth[c.person]), date_of(c.event))
        if not w.female[c.person] or not wp.min_age <= age <= wp.max_age:
            codes.append("R07")
        surgery = c.surgery or "none"
        cat = wp.category_of(c.diagnosis, surgery)
        if cat is None:
            codes.append("R08")
            return Decimal(0)
        if (c.person, cat, c.event) in self.women_seen:
            codes.append("R06")
        paid = self.women_paid.get(c.person, {})
        if cat in paid or c.person in self.cover_ended:
            codes.append("R09")
        if any(x.startswith("R") for x in codes):
            return Decimal(0)
        category = wp.categories[cat]
        amount = category.amount_per_unit * int(w.e_units[e])
        deducted = sum((from_fen(paid[d]) for d in category.deduct_paid if d in paid), Decimal(0))
        if deducted:
            codes.append("A04")
        payout = round_fen(max(amount - deducted, Decimal(0)))
        if category.needs_pathology and c.pathology != "Y":
            codes.append("V03")
        if payout >= pol.review_payout_threshold:
            codes.append("V01")
        self.women_seen.add((c.person, cat, c.event))
        self.women_paid.setdefault(c.person, {})[cat] = to_fen(payout)
        if category.ends_cover:
            self.cover_ended.add(c.person)
        return payout

    @staticmethod
    def _finish(c: Claim, codes: list[str], payout: Decimal) -> None:
        c.codes = tuple(sorted(set(codes)))
        if any(x.startswith("R") for x in codes):
            c.status, c.payout = REJECTED, 0
        elif any(x.startswith("V") for x in codes):
            c.status, c.payout = PENDING_REVIEW, to_fen(payout)
        else:
            c.status, c.payout = APPROVED, to_fen(payout)

