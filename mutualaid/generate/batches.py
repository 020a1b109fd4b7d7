"""The year's claim rows as clerks file them: how many of each kind, the deliberate
messiness, claim numbers, and one ``claims_YYYY-MM.csv`` per month of submission.

Messiness on purpose, a small share each (``MESSY``), counted in ``figures["messy"]``:
late filings (R04), the same stay filed twice (R06), a changed character in the name
(V02), unknown ID numbers (R01), events inside the waiting period (R03); besides those the
claim maker's distributions give excluded causes (R05), uncovered WOMEN diagnoses (R08),
stays over 90 days (V04) and no pathology (V03). Every row is still valid for the claim
import: the rules, not the file checks, catch them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mutualaid.generate import pools
from mutualaid.generate.claims import Claim, ClaimMaker
from mutualaid.generate.days import date_of, day_number, month_label
from mutualaid.generate.people import World
from mutualaid.generate.scales import EARLY_NEXT_END, NEXT_START, SUBMIT_END, YEAR_END, YEAR_START
from mutualaid.generate.writing import CLAIM_COLUMNS, fen_text, write_csv
from mutualaid.policy import Policy

MESSY = {   # share of the claim rows of a kind
    "late_filing": 0.010, "duplicate": 0.008, "name_typo": 0.010,
    "unknown_member": 0.006, "waiting_period": 0.009,
}
CATASTROPHIC_PER_MEMBER = 1 / 60_000       # 2025 stays paid near the annual cap
CATASTROPHIC_NEXT_PER_MEMBER = 1 / 400_000  # early-2026 stays paying 250,000-345,000
EARLY_NEXT_FACTOR = ((EARLY_NEXT_END - NEXT_START).days + 1) / 365   # early-2026 claims per 2025 claim


def share_count(share: float, of: int) -> int:
    """At least one of a kind when there is anything to take it from."""
    return max(1, round(share * of)) if of > 0 else 0


def make_claims(rng: np.random.Generator, w: World, pols: dict[int, Policy],
                n_unknown: int) -> tuple[list[Claim], dict[str, int]]:
    """Every claim row of the year (not numbered yet) and the count of each kind of messiness."""
    sc = w.scale
    gen = ClaimMaker(rng, w, pols)
    messy = {k: 0 for k in ("late_filing", "duplicate", "name_typo", "unknown_member", "waiting_period",
                            "excluded_cause", "not_covered", "long_stay", "no_pathology")}
    n_dup = share_count(MESSY["duplicate"], sc.hosp_claims)
    n_wait_h = share_count(MESSY["waiting_period"], sc.hosp_claims)
    n_wait_w = share_count(MESSY["waiting_period"] * 2, sc.women_claims)
    n_unknown_w = min(n_unknown // 5, n_unknown)
    n_unknown_h = n_unknown - n_unknown_w
    n_cat = round(sc.hosp_members * CATASTROPHIC_PER_MEMBER)
    n_cat_next = round(sc.hosp_members * CATASTROPHIC_NEXT_PER_MEMBER)
    n_h = max(0, sc.hosp_claims - n_dup - n_wait_h - n_unknown_h - n_cat)
    n_w = max(0, sc.women_claims - n_wait_w - n_unknown_w)

    # regular HOSP stays of 2025, then early 2026
    gen.hosp(n_h, YEAR_START, YEAR_END)
    gen.hosp(n_cat, YEAR_START, YEAR_END, catastrophic=True)
    gen.hosp(round(n_h * EARLY_NEXT_FACTOR), NEXT_START, EARLY_NEXT_END)
    gen.hosp(n_cat_next, NEXT_START, EARLY_NEXT_END, catastrophic=True)
    gen.women(n_w, YEAR_START, YEAR_END)
    gen.women(round(n_w * EARLY_NEXT_FACTOR), NEXT_START, EARLY_NEXT_END)
    gen.hosp(n_wait_h, YEAR_START, YEAR_END, kind="waiting_period")
    gen.women(n_wait_w, YEAR_START, YEAR_END, kind="waiting_period")
    gen.unknown(n_unknown_h, n_unknown_w)
    claims = gen.claims

    regular = [c for c in claims if not c.kind]
    # late filings: regular 2025 HOSP stays, filed 1-6 weeks after the deadline
    hosp25 = [c for c in regular if c.product == "HOSP" and c.event <= day_number(YEAR_END)
              and gen.deadline(c) <= day_number(SUBMIT_END)]
    pick = rng.choice(len(hosp25), size=min(len(hosp25), share_count(MESSY["late_filing"], sc.hosp_claims)),
                      replace=False) if hosp25 else []
    for i in sorted(pick):
        c = hosp25[i]
        c.submitted = gen.deadline(c) + int(rng.integers(1, 43))
        c.kind = "late_filing"
    # duplicates: the same stay filed again under another claim number
    hosp_reg = [c for c in claims if c.product == "HOSP" and not c.kind and c.seq not in gen.natural
                and c.discharge > c.event]
    for i in sorted(rng.choice(len(hosp_reg), size=min(n_dup, len(hosp_reg)), replace=False)) if hosp_reg else []:
        c = hosp_reg[i]
        latest = min(gen.deadline(c), day_number(SUBMIT_END))
        sub = min(c.submitted + int(rng.integers(3, 45)), latest)
        gen.add(Claim(0, "HOSP", c.person, c.name, c.event, max(sub, c.submitted), "duplicate", c.enr, c.discharge,
                      c.hospital, c.diagnosis, c.cause, c.insurance, c.base, c.out_of_policy))
    # name typos: one character of the given name changed
    regular = [c for c in claims if not c.kind]
    for i in sorted(rng.choice(len(regular), size=min(len(regular), share_count(MESSY["name_typo"], len(claims))),
                               replace=False)):
        c = regular[i]
        c.name = typo(rng, c.name, bool(w.female[c.person]))
        c.kind = "name_typo"

    for c in claims:
        for tag in {c.kind, gen.natural.get(c.seq, "")} - {""}:
            messy[tag] += 1
    return claims, messy


def typo(rng: np.random.Generator, name: str, female: bool) -> str:
    pool = pools.HAN_FEMALE if female else pools.HAN_MALE
    pos = int(rng.integers(1, len(name)))
    while True:
        ch = pool[int(rng.integers(0, len(pool)))]
        if ch != name[pos]:
            return name[:pos] + ch + name[pos + 1:]


def number_claims(w: World, claims: list[Claim]) -> None:
    """Claim numbers in order of submission (the original of a duplicate first), per year."""
    claims.sort(key=lambda c: (c.submitted, c.seq))
    counters: dict[int, int] = {}
    for c in claims:
        y = date_of(c.submitted).year
        counters[y] = counters.get(y, 0) + 1
        c.claim_no = f"{w.scale.prefix}{y}-{counters[y]:06d}"


def write_claims(w: World, claims: list[Claim], out_dir: Path) -> list[Path]:
    """One batch file per month of submission, in claim-number order."""
    paths = []
    by_month: dict[str, list[Claim]] = {}
    for c in claims:  # claims are in claim-number order
        by_month.setdefault(month_label(c.submitted), []).append(c)
    for m, rows in sorted(by_month.items()):
        data: dict[str, list[str]] = {k: [] for k in CLAIM_COLUMNS}
        for c in rows:
            hosp = c.product == "HOSP"
            vals = {
                "claim_no": c.claim_no, "product": c.product, "member_id_number": w.id_number[c.person],
                "member_name": c.name, "submitted_date": date_of(c.submitted).isoformat(),
                "admission_date": date_of(c.event).isoformat() if hosp else "",
                "discharge_date": date_of(c.discharge).isoformat() if hosp else "",
                "hospital_name": c.hospital, "diagnosis_code": c.diagnosis, "cause": c.cause,
                "total_cost": fen_text(c.insurance + c.base + c.out_of_policy) if hosp else "",
                "insurance_paid": fen_text(c.insurance) if hosp else "",
                "in_policy_self_pay": fen_text(c.base) if hosp else "",
                "out_of_policy_self_pay": fen_text(c.out_of_policy) if hosp else "",
                "diagnosis_date": "" if hosp else date_of(c.event).isoformat(),
                "pathology_confirmed": "" if hosp else c.pathology,
                "surgery": "" if hosp else c.surgery,
            }
            for k in CLAIM_COLUMNS:
                data[k].append(vals[k])
        path = out_dir / f"claims_{m}.csv"
        write_csv(path, CLAIM_COLUMNS, data)
        paths.append(path)
    return paths
