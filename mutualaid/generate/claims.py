"""The claims themselves: HOSP stays, WOMEN diagnoses and claims of unknown ID numbers.

Amounts are integer fen drawn from lognormal shapes tuned so that the tongliao scale lands
near the reference payouts; the catastrophic stays are built backwards from the subsidy
they should reach (:func:`base_for_subsidy`). A few come out messy by their distribution
(excluded causes, uncovered diagnoses, long stays, no pathology): ``ClaimMaker.natural``
tags them for the figures. How many of each kind, and the deliberate messiness, are
chosen in :mod:`mutualaid.generate.batches`.
"""
from __future__ import annotations

import bisect
import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from mutualaid.generate import pools
from mutualaid.generate.days import date_of, day_number, years_of
from mutualaid.generate.draws import Draw, Stream, clip
from mutualaid.generate.people import World
from mutualaid.generate.scales import MAIN_YEAR, SUBMIT_END, YEAR_END, YEAR_START
from mutualaid.money import from_fen, round_fen, to_fen
from mutualaid.policy import HospPolicy, Policy, WomenPolicy

CAUSES = (("illness", 0.885), ("accident", 0.09), ("work_injury", 0.008), ("third_party", 0.006),
          ("maternity", 0.007), ("cosmetic", 0.001), ("self_harm", 0.003))
BASE_MEDIAN_YUAN = 2000          # in-policy self-pay: lognormal body
BASE_SIGMA = 0.55
TAIL_SHARE = 0.022               # serious cases: second lognormal
TAIL_MEDIAN_YUAN = 12000
TAIL_SIGMA = 0.80
LONG_STAY_SHARE = 0.002


@dataclass
class Claim:
    """One generated claim row, and what the estimate decides for it."""

    seq: int
    product: str
    person: int
    name: str
    event: int                  # admission (HOSP) or diagnosis (WOMEN) date, int days
    submitted: int
    kind: str = ""              # messiness tag, "" for a regular claim
    enr: int = -1               # the enrollment the claim was made for (-1: unknown member)
    discharge: int = 0
    hospital: str = ""
    diagnosis: str = ""
    cause: str = ""
    insurance: int = 0          # fen
    base: int = 0
    out_of_policy: int = 0
    pathology: str = ""
    surgery: str = ""
    claim_no: str = ""
    # estimate (mutualaid.generate.estimate): the real adjudication's outcome
    status: str = ""
    payout: int = 0             # fen
    codes: tuple[str, ...] = ()


class ClaimMaker:
    """Draws claims of each kind for enrollments of the world; ``claims`` in order of making.

    A stay is placed inside its enrollment's cover (after the waiting period for a first
    enrollment, except the deliberate waiting-period claims), never overlapping another
    stay of the person, and filed before the policy deadline and ``SUBMIT_END``.
    """

    def __init__(self, rng: np.random.Generator, w: World, pols: dict[int, Policy]):
        rng = Stream(rng)
        self.rng, self.w, self.pols = rng, w, pols
        self.claims: list[Claim] = []
        self.stays: dict[int, list[tuple[int, int]]] = {}
        self.women_claimed: set[int] = set()
        self.natural: dict[int, str] = {}        # seq -> messiness that came from a distribution
        sc = w.scale
        self.hospitals = Draw(rng, pools.PROVINCE_HOSPITALS if sc.province else pools.TONGLIAO_HOSPITALS)
        tert = [h for h in self.hospitals.items if h in pools.TERTIARY]
        self.tertiary = Draw(rng, " ".join(f"{h}:1" for h in tert))
        self.illness = Draw(rng, pools.ILLNESS_CODES)
        self.serious = Draw(rng, pools.SERIOUS_CODES)
        self.injury = Draw(rng, pools.INJURY_CODES)
        self.cause_codes = {k: Draw(rng, v) for k, v in pools.CAUSE_CODES.items()}
        self.causes = Draw(rng, " ".join(f"{c}:{p}" for c, p in CAUSES))
        shares = np.asarray([d[0] for d in pools.WOMEN_DIAGNOSES])
        self.women_cum = np.cumsum(shares / shares.sum()).tolist()
        self.women_codes = [Draw(rng, d[1]) for d in pools.WOMEN_DIAGNOSES]
        self.women_surg = [Draw(rng, d[2]) for d in pools.WOMEN_DIAGNOSES]
        # enrollment index by product, and first-enrollment flags (2025 starters, 2026 new)
        self.by_product = [np.flatnonzero(w.e_product == k) for k in (0, 1)]
        first = np.ones(len(w.e_person), dtype=bool)
        for k in (0, 1):
            idx = self.by_product[k]
            order = idx[np.lexsort((w.e_start[idx], w.e_person[idx]))]
            same = w.e_person[order][1:] == w.e_person[order][:-1]
            # continuous renewal (policy.md §1): the gap the policy of the renewal's year allows
            years, at = np.unique(years_of(w.e_start[order][1:]), return_inverse=True)
            gap = np.asarray([pols[y if y in pols else max(pols)].renewal_gap_days for y in years.tolist()])[at]
            chained = same & (w.e_start[order][1:] - w.e_end[order][:-1] <= gap)
            first[order[1:][chained]] = False
        self.first = first
        self.age_start = (w.e_start - w.birth[w.e_person]) / 365.25   # for weights only

    def add(self, c: Claim) -> Claim:
        c.seq = len(self.claims)
        self.claims.append(c)
        return c

    def deadline(self, c: Claim) -> int:
        e = c.enr
        pol = self.pols[date_of(self.w.e_start[e]).year].product(c.product)
        return day_number(pol.deadline.last_day(coverage_end=date_of(self.w.e_end[e]), event=date_of(c.event)))

    def _pick(self, product: int, n: int, lo: dt.date, hi: dt.date, weights_fn, first_only=False,
              replace=True, new_only=False) -> np.ndarray:
        w = self.w
        idx = self.by_product[product]
        ok = (w.e_start[idx] <= day_number(hi)) & (w.e_end[idx] >= day_number(lo))
        if first_only:
            ok &= self.first[idx] & (w.e_start[idx] >= day_number(lo))
        if new_only:   # periods that start inside the window (the window's policy version)
            ok &= w.e_start[idx] >= day_number(lo)
        idx = idx[ok]
        if not len(idx) or n <= 0:
            return np.empty(0, dtype=np.int64)
        p = weights_fn(self.age_start[idx])
        p = p / p.sum()
        if not replace:
            n = min(n, len(idx))
        return self.rng.choice(idx, size=n, replace=replace, p=p)

    def _window(self, e: int, product: str, lo: dt.date, hi: dt.date, waiting: bool) -> tuple[int, int]:
        w = self.w
        pol = self.pols[date_of(w.e_start[e]).year].product(product)
        start, end = int(w.e_start[e]), int(w.e_end[e])
        if waiting:
            return start, min(start + pol.waiting_days - 1, day_number(hi))
        first_day = start + pol.waiting_days if self.first[e] else start
        return max(first_day, day_number(lo)), min(end, day_number(hi))

    def _free(self, person: int, adm: int, dis: int) -> bool:
        return all(dis < a - 1 or adm > d + 1 for a, d in self.stays.get(person, ()))

    def _submit(self, c: Claim, after: int, median_days: float) -> bool:
        rng = self.rng
        lag = clip(round(rng.lognormal(math.log(median_days), 0.6)), 2, 120)
        latest = min(self.deadline(c), day_number(SUBMIT_END))
        if after > latest:
            return False
        sub = after + lag
        if sub > latest:
            sub = after + int(rng.integers(0, latest - after + 1))
        c.submitted = sub
        return True

    # HOSP ---------------------------------------------------------------------------------------
    def hosp(self, n: int, lo: dt.date, hi: dt.date, *, catastrophic: bool = False, kind: str = "") -> None:
        rng, w = self.rng, self.w
        waiting = kind == "waiting_period"
        picks = self._pick(0, n, lo, hi, lambda a: 0.6 + 0.04 * (a - 18), first_only=waiting,
                           new_only=catastrophic)
        for e in picks.tolist():
            person = int(w.e_person[e])
            first_day, last_day = self._window(e, "HOSP", lo, hi, waiting)
            if first_day > last_day:
                continue
            long_stay = not catastrophic and not waiting and rng.random() < LONG_STAY_SHARE
            for _ in range(8):
                adm = int(rng.integers(first_day, last_day + 1))
                if rng.random() > (1 + 0.25 * math.cos(2 * math.pi * (adm % 365.25 - 20) / 365.25)) / 1.25:
                    adm = int(rng.integers(first_day, last_day + 1))  # a little more in winter
                if long_stay:
                    days = int(rng.integers(91, 150))
                elif catastrophic:
                    days = int(rng.integers(25, 85))
                elif rng.random() < 0.02:
                    days = 0   # same-day stay, counted as 1
                else:
                    days = clip(round(rng.lognormal(math.log(7), 0.55)), 1, 60)
                if waiting:
                    days = min(days, max(0, last_day - adm))
                dis = adm + days
                if self._free(person, adm, dis):
                    break
            else:
                continue
            c = Claim(0, "HOSP", person, w.name[person], adm, 0, kind, e, dis)
            if not self._submit(c, dis, 18):
                continue
            self.stays.setdefault(person, []).append((adm, dis))
            cause = "illness" if catastrophic else self.causes.one()
            if cause == "maternity" and not (w.female[person] and self.age_start[e] <= 45):
                cause = "work_injury"
            c.cause = cause
            if catastrophic:
                c.diagnosis = self.serious.one()
            elif cause == "illness":
                c.diagnosis = self.illness.one()
            elif cause in self.cause_codes:
                c.diagnosis = self.cause_codes[cause].one()
            else:
                c.diagnosis = self.injury.one()
            pol = self.pols[date_of(w.e_start[e]).year]
            hp = pol.products.HOSP
            if catastrophic:
                cap = to_fen(hp.annual_cap)
                share = rng.uniform(0.90, 1.15) if pol.version == MAIN_YEAR else rng.uniform(0.50, 0.69)
                base = base_for_subsidy(hp, int(cap * share))
            elif rng.random() < TAIL_SHARE:
                base = round(rng.lognormal(math.log(TAIL_MEDIAN_YUAN * 100), TAIL_SIGMA))
            else:
                base = round(rng.lognormal(math.log(BASE_MEDIAN_YUAN * 100), BASE_SIGMA))
            base = max(base, 500)
            big = catastrophic or base > 3_000_000   # over 30,000 yuan: mostly a tertiary hospital
            c.hospital = self.tertiary.one() if big and rng.random() < 0.8 else self.hospitals.one()
            insured_share = rng.uniform(0.50, 0.78)
            c.base = base
            c.insurance = int(round(base * insured_share / (1 - insured_share)))
            c.out_of_policy = int(round((c.base + c.insurance) * rng.uniform(0.02, 0.22)))
            self.add(c)
            if cause in hp.excluded_causes:
                self.natural[c.seq] = "excluded_cause"
            if long_stay:
                self.natural[c.seq] = "long_stay"

    # WOMEN --------------------------------------------------------------------------------------
    def women(self, n: int, lo: dt.date, hi: dt.date, *, kind: str = "") -> None:
        rng, w = self.rng, self.w
        waiting = kind == "waiting_period"
        picks = self._pick(1, n, lo, hi, lambda a: np.maximum(a - 20, 1.0) ** 1.6, first_only=waiting,
                           replace=False)
        for e in picks.tolist():
            person = int(w.e_person[e])
            if person in self.women_claimed:
                continue
            first_day, last_day = self._window(e, "WOMEN", lo, hi, waiting)
            if first_day > last_day:
                continue
            diag_date = int(rng.integers(first_day, last_day + 1))
            k = min(bisect.bisect_right(self.women_cum, rng.random()), len(pools.WOMEN_DIAGNOSES) - 1)
            code = self.women_codes[k].one()
            surgery = self.women_surg[k].one()
            path = "Y" if rng.random() < pools.WOMEN_DIAGNOSES[k][3] else "N"
            c = Claim(0, "WOMEN", person, w.name[person], diag_date, 0, kind, e, diagnosis=code,
                       pathology=path, surgery="" if surgery == "none" and rng.random() < 0.5 else surgery)
            if not self._submit(c, diag_date, 30):
                continue
            self.women_claimed.add(person)
            self.add(c)
            wp: WomenPolicy = self.pols[date_of(w.e_start[e]).year].products.WOMEN
            cat = wp.category_of(code, surgery)
            if cat is None:
                self.natural[c.seq] = "not_covered"
            elif wp.categories[cat].needs_pathology and path != "Y":
                self.natural[c.seq] = "no_pathology"

    # unknown members ----------------------------------------------------------------------------
    def unknown(self, n_h: int, n_w: int) -> None:
        rng, w = self.rng, self.w
        extra = np.arange(w.n_enrollable, len(w.name))
        women = [int(p) for p in extra if w.female[p]]
        men = [int(p) for p in extra if not w.female[p]]
        hp = self.pols[MAIN_YEAR].products.HOSP
        wp = self.pols[MAIN_YEAR].products.WOMEN
        for i in range(n_h + n_w):
            is_w = i >= n_h and women
            pool = women if is_w else (men + women)
            person = pool[int(rng.integers(0, len(pool)))]
            event = int(rng.integers(day_number(YEAR_START) + 20, day_number(YEAR_END) - 40))
            if is_w:
                k = int(rng.integers(0, 12))
                c = Claim(0, "WOMEN", person, w.name[person], event, 0, "unknown_member",
                           diagnosis=self.women_codes[k].one(), pathology="Y",
                           surgery=self.women_surg[k].one())
                after, policy = event, wp
            else:
                days = clip(round(rng.lognormal(math.log(7), 0.55)), 1, 60)
                base = round(rng.lognormal(math.log(BASE_MEDIAN_YUAN * 100), BASE_SIGMA))
                ins = int(round(base * 1.8))
                c = Claim(0, "HOSP", person, w.name[person], event, 0, "unknown_member", -1, event + days,
                           self.hospitals.one(), self.illness.one(), "illness", ins, base, base // 7)
                after, policy = event + days, hp
            deadline = day_number(policy.deadline.last_day(coverage_end=YEAR_END, event=date_of(event)))
            c.submitted = min(after + int(rng.integers(5, 40)), deadline, day_number(SUBMIT_END))
            self.add(c)


def base_for_subsidy(hp: HospPolicy, target_fen: int) -> int:
    """The in-policy self-pay (fen) whose banded subsidy is ``target_fen``."""
    target = from_fen(target_fen)
    lower, cum = Decimal(0), Decimal(0)
    for band in hp.bands:
        if band.upto is not None:
            full = (band.upto - lower) * band.rate
            if cum + full < target:
                cum += full
                lower = band.upto
                continue
        return to_fen(round_fen(lower + (target - cum) / band.rate))
    raise AssertionError("unreachable: bands end with an open band")
