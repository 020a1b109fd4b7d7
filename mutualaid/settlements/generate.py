"""A realistic settlement extract for the generated year (``mutualaid generate --settlements``).

:func:`plan_extract` runs inside :func:`mutualaid.generate.generate` after the claims are
made and numbered, before they are estimated and the fund ledger is made: about 60 % of
the regular illness stays of enrolled members arrive through the medical-insurance
extract and are taken out of the clerks' batches; their claim number becomes
``YB-<settlement_no>``, so the estimate decides and the ledger pays the claim the system
will make (``ExtractPlan.made_from``). Of the stays clerks still file, a few also appear
in the extract with the same figures (the settlement is attached, or its claim withdrawn
in favour of the clerk's) and a few with another in-policy self-pay (the clerk's claim
goes to review, V05, and is not paid by the generated ledger): ``ExtractPlan.attached``
gives the estimate the settlement each clerk's claim is compared with. A few settlements
are cancelled by the hospital and settled again (a reversal and a new row, the same month).
Besides: outpatient and chronic-disease rows of members, and inpatient rows of people
who are not enrolled (both only counted by the import).

Settlement dates: the stay's discharge, but not before the first day of the month the
clerk would have filed in, so every claim is decided in the same month as in the set
without settlements (the ledger's payment dates still follow the approval).
:func:`write_extract` writes one ``settlements_YYYY-MM.csv`` per settlement month.
"""
from __future__ import annotations

import csv
import datetime as dt
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mutualaid.idnumber import make
from mutualaid.settlements.extract import COLUMNS
from mutualaid.settlements.terms import CLAIM_PREFIX

HEAD = tuple(c.name for c in COLUMNS)
SHARE = 0.60            # regular illness stays that arrive through the extract only
OVERLAP = 0.03          # stays filed by a clerk that are in the extract too, same figures
DIFFER = 0.01           # ... with another in-policy self-pay (V05)
RESETTLED = 0.005       # extract stays cancelled by the hospital and settled again
OUTPATIENT_PER_STAY = 0.5
NOT_ENROLLED_SHARE = 0.08
_EPOCH = dt.date(1970, 1, 1)


def _date(days: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(days))


def _days(d: dt.date) -> int:
    return (d - _EPOCH).days


def _fen(v: int) -> str:
    return f"{v // 100}.{v % 100:02d}"


@dataclass
class ExtractPlan:
    rows: list[dict[str, Any]] = field(default_factory=list)  # "person" (member index) or "id" (an outsider)
    moved: set[int] = field(default_factory=set)              # seq of claims no clerk files
    made_from: dict[int, dict[str, Any]] = field(default_factory=dict)  # seq of a moved claim -> its row
    attached: dict[int, dict[str, Any]] = field(default_factory=dict)   # seq of a clerk's claim -> its stay's row
    figures: dict[str, int] = field(default_factory=dict)

    def clerk_claims(self, claims: list) -> list:  # noqa: ANN001
        return [c for c in claims if c.seq not in self.moved]


def plan_extract(seed: int, world: Any, claims: list, prefix: str) -> ExtractPlan:  # noqa: ANN001
    """Choose the stays of the extract; renames the claims the extract makes (see module doc)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1717]))
    plan = ExtractPlan()
    refiled = {(c.person, c.event) for c in claims if c.kind}  # duplicates and other messy filings: clerks only
    eligible = [c for c in claims if c.product == "HOSP" and not c.kind and c.enr >= 0 and c.cause == "illness"
                and (c.person, c.event) not in refiled]
    order = rng.permutation(len(eligible))
    n = len(eligible)
    n_moved, n_overlap, n_differ = round(n * SHARE), round(n * OVERLAP), max(1, round(n * DIFFER)) if n else 0
    moved = [eligible[i] for i in order[:n_moved]]
    overlap = [eligible[i] for i in order[n_moved:n_moved + n_overlap]]
    differ = [eligible[i] for i in order[n_moved + n_overlap:n_moved + n_overlap + n_differ]]
    resettled = set(rng.choice(len(moved), size=min(len(moved), max(1, round(len(moved) * RESETTLED))),
                               replace=False).tolist()) if moved else set()
    stays: list[tuple[int, int, dict[str, Any], Any]] = []  # (date, order, row, claim renamed to it)
    k = 0
    for j, c in enumerate(moved):
        day = _settled(c)
        if j in resettled:
            stays.append((day, k, _stay_row(c, day), None))
            again = min(day + int(rng.integers(1, 4)), _month_end(day))
            stays.append((again, k + 1, {"reverses_order": k, **_stay_row(c, day), "is_reversal": "Y"}, None))
            stays.append((again, k + 2, _stay_row(c, again), c))
            k += 3
        else:
            stays.append((day, k, _stay_row(c, day), c))
            k += 1
        plan.moved.add(c.seq)
    for c in overlap:
        day = _settled(c)
        stays.append((day, k, _stay_row(c, day), None))
        plan.attached[c.seq] = stays[-1][2]
        k += 1
    for c in differ:
        day = _settled(c)
        row = _stay_row(c, day)
        cut = max(100, int(c.base * rng.uniform(0.05, 0.2)))
        row["in_policy_self_pay"] = _fen(c.base - cut)
        row["out_of_policy_self_pay"] = _fen(c.out_of_policy + cut)
        stays.append((day, k, row, None))
        plan.attached[c.seq] = row   # the estimate's V05: the clerk's claim goes to review
        k += 1
    # outpatient rows of members, inpatient rows of people not enrolled
    members = np.unique(world.e_person[world.e_product == 0])
    days_of = [d for d, *_ in stays] or [_days(dt.date(2025, 6, 1))]
    lo, hi = min(days_of), max(days_of)
    hospitals = sorted({c.hospital for c in eligible}) or ["通辽市医院"]
    for _ in range(round(len(stays) * OUTPATIENT_PER_STAY)):
        person = int(members[rng.integers(len(members))])
        day = int(rng.integers(lo, hi + 1))
        cost = int(rng.integers(3_000, 80_000))
        visit = "门诊慢特病" if rng.random() < 0.3 else "门诊"
        row = _amount_row(cost, rng, base_share=0.3)
        row.update(person=person, member_name=world.name[person], hospital_name=hospitals[rng.integers(len(hospitals))],
                   visit_type=visit, admission_date=_date(day).isoformat(), discharge_date=_date(day).isoformat(),
                   diagnosis_code="I10.x00" if visit == "门诊慢特病" else "J06.900", settlement_date=_date(day).isoformat())
        stays.append((day, k, row, None))
        k += 1
    n_out = round(len(stays) * NOT_ENROLLED_SHARE / (1 - NOT_ENROLLED_SHARE))
    for j in range(n_out):
        adm = int(rng.integers(lo, hi + 1))
        dis = adm + int(rng.integers(1, 15))
        row = _amount_row(int(rng.integers(200_000, 3_000_000)), rng, base_share=0.25)
        female = bool(rng.random() < 0.5)
        birth = dt.date(int(rng.integers(1965, 2000)), int(rng.integers(1, 13)), int(rng.integers(1, 29)))
        row.update(id=(birth, j, "F" if female else "M"), member_name=str(world.name[rng.integers(len(world.name))]),
                   visit_type="住院",
                   hospital_name=hospitals[rng.integers(len(hospitals))], admission_date=_date(adm).isoformat(),
                   discharge_date=_date(dis).isoformat(), diagnosis_code="K35.800",
                   settlement_date=_date(dis).isoformat())
        stays.append((dis, k, row, None))
        k += 1
    stays.sort(key=lambda s: (s[0], s[1]))
    number: dict[int, str] = {}
    for n_row, (day, order_k, row, claim) in enumerate(stays, 1):
        no = f"{prefix}JS{_date(day):%Y%m%d}{n_row:07d}"
        number[order_k] = no
        row["settlement_no"] = no
        if claim is not None:
            claim.claim_no = CLAIM_PREFIX + no
            plan.made_from[claim.seq] = row
        plan.rows.append(row)
    for row in plan.rows:
        if "reverses_order" in row:
            row["reverses"] = number[row.pop("reverses_order")]
    plan.rows.sort(key=lambda r: (r["settlement_date"], r["settlement_no"]))
    plan.figures = {"settlement_rows": len(plan.rows), "settlement_stays": len(moved),
                    "settlement_overlaps": len(overlap), "settlement_differs": len(differ),
                    "settlement_reversals": len(resettled), "settlement_not_enrolled": n_out}
    return plan


def _settled(c: Any) -> int:  # noqa: ANN401
    """Settlement day: discharge, not before the first of the month the clerk files in."""
    first = _days(_date(c.submitted).replace(day=1))
    return max(c.discharge, first)


def _month_end(day: int) -> int:
    d = _date(day)
    nxt = (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return _days(nxt) - 1


def _stay_row(c: Any, day: int) -> dict[str, Any]:  # noqa: ANN401
    insurance = c.insurance
    serious = insurance // 8 if c.base > 1_000_000 else 0
    aid = insurance // 20 if c.seq % 37 == 0 else 0
    diagnosis = c.diagnosis if "." not in c.diagnosis or len(c.diagnosis.split(".")[1]) > 1 \
        else c.diagnosis + "00"
    return {"person": c.person, "member_name": c.name, "hospital_name": c.hospital,
            "hospital_code": f"H1505{zlib.crc32(c.hospital.encode()) % 10_000_000:07d}", "visit_type": "住院",
            "admission_date": _date(c.event).isoformat(), "discharge_date": _date(c.discharge).isoformat(),
            "diagnosis_code": diagnosis, "total_cost": _fen(c.insurance + c.base + c.out_of_policy),
            "fund_paid": _fen(insurance - serious - aid), "serious_illness_paid": _fen(serious),
            "medical_aid_paid": _fen(aid), "in_policy_self_pay": _fen(c.base),
            "out_of_policy_self_pay": _fen(c.out_of_policy), "settlement_date": _date(day).isoformat(),
            "is_reversal": "N"}


def _amount_row(total: int, rng: np.random.Generator, *, base_share: float) -> dict[str, Any]:
    base = int(total * base_share)
    out = int(total * float(rng.uniform(0.02, 0.15)))
    fund = total - base - out
    return {"total_cost": _fen(total), "fund_paid": _fen(fund), "serious_illness_paid": "0.00",
            "medical_aid_paid": "0.00", "in_policy_self_pay": _fen(base), "out_of_policy_self_pay": _fen(out),
            "hospital_code": "", "is_reversal": "N"}


def write_extract(plan: ExtractPlan, world: Any, out_dir: Path) -> list[Path]:  # noqa: ANN401
    """One ``settlements_YYYY-MM.csv`` per settlement month (English headers, UTF-8)."""
    for stale in out_dir.glob("settlements_????-??.csv"):
        stale.unlink()
    members = set(world.id_number.tolist())
    by_month: dict[str, list[dict[str, Any]]] = {}
    for row in plan.rows:
        by_month.setdefault(row["settlement_date"][:7], []).append(row)
    paths = []
    for month, rows in sorted(by_month.items()):
        path = out_dir / f"settlements_{month}.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(HEAD)
            for row in rows:
                w.writerow([_id_of(row, world, members) if h == "member_id_number" else row.get(h, "") for h in HEAD])
        paths.append(path)
    return paths


def _id_of(row: dict[str, Any], world: Any, members: set[str]) -> str:  # noqa: ANN401
    if "person" in row:
        return str(world.id_number[row["person"]])
    birth, j, sex = row["id"]
    for region in ("152301", "152302", "152322", "152324"):  # 通辽 counties; never a member's number
        number = make(region, birth, 400 + j % 100, sex)
        if number not in members:
            return number
    return make("150105", birth, 499, sex)
