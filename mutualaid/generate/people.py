"""The generated world's employer units, persons and enrollments (both products, 2025 and 2026).

Everything else is drawn from it: the rosters write it out, the claims pick enrollments,
the estimate reads it as the roster import would store it. Shares are tuned so that the
tongliao scale lands near the reference figures. The ID numbers (``idnumber.make``, ~10 µs
a call, the largest single cost) are made by :class:`IdJob`, in forked workers above
``POOL_MIN`` persons, while the claims, the estimate and the ledger are computed.
"""
from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np

from mutualaid.claims.status import Product
from mutualaid.generate import pools
from mutualaid.generate.days import ages_on, date_of, day_number, one_year_end, years_of
from mutualaid.generate.pools import weighted
from mutualaid.generate.processes import can_fork, forking
from mutualaid.generate.scales import MAIN_YEAR, NEXT_START, YEAR_START, Scale
from mutualaid.idnumber import make
from mutualaid.money import to_fen
from mutualaid.policy import Policy

PRODUCTS = tuple(p.value for p in Product)  # plain str: they go into numpy object arrays; index = product code

# --- shares (tuned so that tongliao lands near the reference figures) ----------------------
FEMALE_SHARE = 0.47
MIDYEAR_2025_SHARE = 0.10       # 2025 starters on the 1st of Feb..May
RENEW_SHARE = 0.93              # HOSP members renewing into 2026 (older ones less)
NEW_2026_SHARE = 0.07           # new members in 2026, as a share of 2025 members
WOMEN_RENEW_SHARE = 0.95
NEW_WOMEN_SHARE = 0.80          # eligible new women joining WOMEN in 2026
WOMEN_TWO_UNITS = 0.35          # WOMEN members with the maximum units (2), the rest 1
BANK_SHARE = 0.94


@dataclass
class World:
    """Everything the files are made from, as numpy columns indexed by unit, person and
    enrollment (an enrollment's index is its identity in the claims and the estimate)."""

    scale: Scale
    # units
    unit_code: np.ndarray
    unit_name: np.ndarray
    unit_size: np.ndarray
    # persons (members, then never-enrolled persons used for unknown-ID claims)
    name: np.ndarray
    female: np.ndarray
    birth: np.ndarray           # int days
    bank: np.ndarray
    unit: np.ndarray
    n_enrollable: int
    # enrollments
    e_person: np.ndarray
    e_product: np.ndarray       # 0 HOSP, 1 WOMEN
    e_units: np.ndarray
    e_start: np.ndarray         # int days
    e_end: np.ndarray
    e_premium: np.ndarray       # fen
    id_number: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))  # once made


def unit_sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pareto-like: most units 5-50 members, a few employers with thousands."""
    chunks, total = [], 0
    while total < n:
        u = rng.random(max(64, n // 20))
        size = np.floor(5 * (1 - u) ** (-1 / 1.02)).astype(np.int64)
        big = size > 9000
        size[big] = rng.integers(2500, 9000, int(big.sum()))
        chunks.append(size)
        total += int(size.sum())
    sizes = np.concatenate(chunks)
    cum = np.cumsum(sizes)
    k = int(np.searchsorted(cum, n))          # the unit where n is reached
    sizes = sizes[: k + 1].copy()
    sizes[k] -= int(cum[k] - n)
    if sizes[k] < 5 and k > 0:                # too small a remainder: merge into the previous
        sizes[k - 1] += sizes[k]
        sizes = sizes[:k]
    return sizes


def unit_names(rng: np.random.Generator, sizes: np.ndarray, province: bool) -> np.ndarray:
    places = pools.TONGLIAO_PLACES + (pools.PROVINCE_PLACES if province else [])
    cities = [p for p in places if p.endswith(("市", "盟", "区", "旗", "县"))]
    big = [f"{p}{o}" for p in cities for o in pools.BIG_ORGS]
    general = ([f"{p}{o}" for p in places for o in pools.PUBLIC_ORGS]
               + [f"{t}{o}" for t in pools.TONGLIAO_TOWNS for o in pools.TOWN_ORGS]
               + [f"{p}{b}{i}有限公司" for p in ["内蒙古", *cities] for b in pools.BRANDS for i in pools.INDUSTRIES])
    big_set = set(big)
    general = [g for g in general if g not in big_set]
    big = [big[i] for i in rng.permutation(len(big))]
    general = [general[i] for i in rng.permutation(len(general))]
    names = np.empty(len(sizes), dtype=object)
    order = np.argsort(-sizes, kind="stable")
    n_big = min(int((sizes >= 1000).sum()), len(big))
    pool = big[:n_big] + general + big[n_big:]
    k = 2
    while len(pool) < len(sizes):  # more units than names: branch unions of the same employers
        pool += [f"{g}第{k}分会" for g in general][: len(sizes) - len(pool)]
        k += 1
    names[order] = np.asarray(pool[: len(sizes)], dtype=object) + "工会"
    return names


def make_world(rng: np.random.Generator, sc: Scale, pols: dict[int, Policy], n_extra: int,
               id_job: IdJob) -> World:
    """Units, persons (``n_extra`` never enrolled, for unknown-ID claims) and their enrollments;
    the persons' ID numbers are handed to ``id_job`` to be made meanwhile."""
    n25 = sc.hosp_members
    sizes = unit_sizes(rng, n25)
    n_units = len(sizes)
    width = max(4, len(str(n_units)))
    unit_code = np.asarray([f"{sc.prefix}{i:0{width}d}" for i in range(1, n_units + 1)], dtype=object)
    unit_name = unit_names(rng, sizes, sc.province)

    n_new = round(n25 * NEW_2026_SHARE)
    n = n25 + n_new + n_extra
    female = rng.random(n) < FEMALE_SHARE
    # birth dates: working ages 18..59 on the first day of their first year
    ref = np.where(np.arange(n) < n25, day_number(YEAR_START), day_number(NEXT_START))
    age = np.where(np.arange(n) < n25, 18 + 42 * rng.beta(2.0, 1.8, n), 18 + 42 * rng.beta(1.3, 3.0, n))
    birth = ref - np.floor(age * 365.2425).astype(np.int64)
    old = np.arange(n) < n25                 # age 18..59 on 2025-01-01, new ones on 2026-01-01
    lo = np.where(old, day_number(dt.date(1965, 1, 2)), day_number(dt.date(1966, 1, 2)))
    hi = np.where(old, day_number(dt.date(2006, 12, 31)), day_number(dt.date(2007, 12, 31)))
    birth = np.clip(birth, lo, hi)

    regions, rw = weighted(pools.PROVINCE_REGIONS if sc.province else pools.TONGLIAO_REGIONS)
    region = rng.choice(len(regions), size=n, p=rw)
    # a sequence number unique within (region, birth date, sex): make() spreads it over 0..499
    key = (region.astype(np.int64) * 100_000 + (birth - birth.min())) * 2 + female
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.r_[True, ks[1:] != ks[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    rank = np.arange(n) - first
    if n and rank.max() >= 500:
        raise AssertionError("more than 500 persons share a region, birth date and sex")
    offset = rng.integers(0, 500, n)
    seq = np.empty(n, dtype=np.int64)
    seq[order] = (offset[order][first] + rank) % 500
    id_job.submit(np.asarray(regions, dtype=object)[region], birth, seq, female)

    name = person_names(rng, n, female, 0.18 if sc.province else 0.30)

    bins, bw = zip(*pools.BANK_BINS)
    bw = np.asarray(bw) / sum(bw)
    b = rng.choice(len(bins), size=n, p=bw)
    digits = (rng.integers(0, 10, (n, 13), dtype=np.uint8) + ord("0")).view("S13").ravel()
    bank = np.empty(n, dtype=object)
    for i, (prefix, length) in enumerate(bins):   # BIN + random digits, 16..19 long
        sel = np.flatnonzero(b == i)
        tail = digits[sel].astype(f"S{length - 6}").astype(f"U{length - 6}")
        bank[sel] = np.char.add(prefix, tail).astype(object)
    bank[rng.random(n) >= BANK_SHARE] = ""

    unit = np.empty(n, dtype=np.int64)
    unit[:n25] = np.repeat(np.arange(n_units), sizes)
    unit[n25:] = rng.choice(n_units, size=n - n25, p=sizes / sizes.sum())

    w = make_enrollments(rng, sc, pols, n25, n_new, female, birth)
    return World(sc, unit_code, unit_name, sizes, name, female, birth, bank, unit,
                 n25 + n_new, *w)


POOL_MIN = 200_000   # below this, one process makes the ID numbers faster than a pool


def make_id_numbers(regions: list[str], births: list[int], seqs: list[int], sexes: list[str]) -> list[str]:
    return list(map(make, regions, map(date_of, births), seqs, sexes))


class IdJob:
    """``idnumber.make`` for every person. make is ~10 µs a call, the biggest single cost of
    the region scale, so a large population is split over worker processes that run while
    the claims, the estimate and the ledger are computed; ``result()`` collects them.
    The workers are forked at the start, while this process is still small."""

    def __init__(self, n: int):
        self.pool: ProcessPoolExecutor | None = None
        self.futures: list = []
        self.args: tuple[list, ...] = ([], [], [], [])
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self.workers = min(cpus, 8)
        # fork only: no re-import of the caller's main module, and only while no other Python
        # thread runs (forking a threaded process can deadlock the child)
        if n >= POOL_MIN and self.workers > 1 and can_fork():
            try:
                self.pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("fork"))
                with forking():   # the fork context starts all workers at the first submit
                    self.pool.submit(int).result()
            except (OSError, BrokenProcessPool):  # no processes here: make them in this one
                self.cancel()

    def submit(self, regions: np.ndarray, birth: np.ndarray, seq: np.ndarray, female: np.ndarray) -> None:
        self.args = (regions.tolist(), birth.tolist(), seq.tolist(), np.where(female, "F", "M").tolist())
        if self.pool is not None:
            n = len(self.args[0])
            step = -(-n // (self.workers * 2))
            self.futures = [self.pool.submit(make_id_numbers, *(a[i:i + step] for a in self.args))
                            for i in range(0, n, step)]

    def result(self) -> np.ndarray:
        if self.pool is not None:
            try:
                parts = [f.result() for f in self.futures]
                return np.asarray([x for part in parts for x in part], dtype=object)
            except (OSError, BrokenProcessPool):
                pass
            finally:
                self.cancel()
        return np.asarray(make_id_numbers(*self.args), dtype=object)

    def cancel(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool, self.futures = None, []


def person_names(rng: np.random.Generator, n: int, female: np.ndarray, mongol_share: float) -> np.ndarray:
    han_s, han_w = weighted(pools.HAN_SURNAMES, "")
    mon_s, mon_w = weighted(pools.MONGOL_SURNAMES, "")
    mongol = rng.random(n) < mongol_share
    sur = np.where(mongol, np.asarray(mon_s, dtype=object)[rng.choice(len(mon_s), n, p=mon_w)],
                   np.asarray(han_s, dtype=object)[rng.choice(len(han_s), n, p=han_w)])
    male_c, fem_c = np.asarray(list(pools.HAN_MALE), dtype=object), np.asarray(list(pools.HAN_FEMALE), dtype=object)
    g1 = np.where(female, fem_c[rng.integers(0, len(fem_c), n)], male_c[rng.integers(0, len(male_c), n)])
    g2 = np.where(female, fem_c[rng.integers(0, len(fem_c), n)], male_c[rng.integers(0, len(male_c), n)])
    given = np.where(rng.random(n) < 0.65, g1 + g2, g1)
    mm, mf = np.asarray(pools.MONGOL_MALE, dtype=object), np.asarray(pools.MONGOL_FEMALE, dtype=object)
    mgiven = np.where(female, mf[rng.integers(0, len(mf), n)], mm[rng.integers(0, len(mm), n)])
    return sur + np.where(mongol, mgiven, given)



def make_enrollments(rng, sc: Scale, pols, n25, n_new, female, birth):  # noqa: ANN001
    """HOSP 2025 (a few mid-year starters), renewals and new members in 2026; WOMEN for a
    choice of the eligible women, renewed with their HOSP, all within the policy's ages."""
    month1 = np.array([np.datetime64(f"2025-{m:02d}-01") for m in range(1, 13)]).astype(np.int64)
    month1_26 = np.array([np.datetime64(f"2026-{m:02d}-01") for m in range(1, 13)]).astype(np.int64)
    # HOSP 2025
    p25 = np.arange(n25)
    mid = rng.random(n25) < MIDYEAR_2025_SHARE
    s25 = np.where(mid, month1[rng.integers(1, 5, n25)], month1[0])
    e25 = one_year_end(s25)
    # HOSP 2026: renewals (older members retire more often) and new members
    age26 = ages_on(birth[:n25], e25 + 1)
    renew = rng.random(n25) < np.where(age26 >= 59, 0.55, RENEW_SHARE)
    pr = p25[renew]
    sr = e25[renew] + 1
    pn = np.arange(n25, n25 + n_new)
    sn = np.where(rng.random(n_new) < 0.85, month1_26[0], month1_26[rng.integers(1, 4, n_new)])

    # WOMEN 2025: a choice of the eligible women, with the start of their HOSP enrollment
    wp = pols[MAIN_YEAR].products.WOMEN
    ages25 = ages_on(birth[:n25], s25)
    eligible = np.flatnonzero(female[:n25] & (ages25 >= wp.min_age) & (ages25 <= wp.max_age))
    k = min(sc.women_members, len(eligible))
    w25 = np.sort(rng.choice(eligible, size=k, replace=False))
    wu25 = np.where(rng.random(k) < WOMEN_TWO_UNITS, wp.max_units, 1)
    # WOMEN 2026: renewals of HOSP renewers, and new women
    renewed = np.zeros(n25 + n_new, dtype=bool)
    renewed[pr] = True
    start_of = np.zeros(n25 + n_new, dtype=np.int64)
    start_of[pr] = sr
    start_of[pn] = sn
    keep = renewed[w25] & (rng.random(k) < WOMEN_RENEW_SHARE)
    w26r, wu26r = w25[keep], wu25[keep]
    wp26 = pols[MAIN_YEAR + 1].products.WOMEN
    change = rng.random(len(w26r)) < 0.08      # a few change their units on renewal
    wu26r = np.minimum(np.where(change, 1 + wp26.max_units - wu26r, wu26r), wp26.max_units)
    w26n = pn[female[pn] & (rng.random(n_new) < NEW_WOMEN_SHARE)]
    wu26n = np.where(rng.random(len(w26n)) < WOMEN_TWO_UNITS, wp26.max_units, 1)
    w26 = np.concatenate([w26r, w26n])
    wu26 = np.concatenate([wu26r, wu26n])
    s_w26 = start_of[w26]
    a26 = ages_on(birth[w26], s_w26)
    ok = (a26 >= wp26.min_age) & (a26 <= wp26.max_age)
    w26, wu26, s_w26 = w26[ok], wu26[ok], s_w26[ok]

    person = np.concatenate([p25, pr, pn, w25, w26])
    product = np.concatenate([np.zeros(n25 + len(pr) + n_new, dtype=np.int8), np.ones(k + len(w26), dtype=np.int8)])
    units = np.concatenate([np.ones(n25 + len(pr) + n_new, dtype=np.int64), wu25, wu26])
    start = np.concatenate([s25, sr, sn, s25[w25], s_w26])
    end = one_year_end(start)
    year = years_of(start)
    premium = np.zeros(len(person), dtype=np.int64)
    for y, pol in pols.items():
        for code, prod in enumerate(PRODUCTS):
            sel = (year == y) & (product == code)
            premium[sel] = units[sel] * to_fen(pol.product(prod).premium_per_unit)
    if np.any(~np.isin(year, list(pols))):
        raise AssertionError("an enrollment starts in a year without a policy version")
    return person, product, units, start, end, premium
