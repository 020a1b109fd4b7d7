"""Adjudication: from a claim and the member's records to a decision with its trace.

Pure code (no database): the batch job, the review re-adjudication and the Dask path
all call ``adjudicate_members``. Per member the processing order of policy.md holds:
claims decided earlier first (``History``), then these claims by event date, claim_no;
each non-rejected outcome counts against caps, allowance days and once-only benefits
of the claims after it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from mutualaid.claims.status import ClaimStatus
from mutualaid.gc_tuning import batch_gc
from mutualaid.idnumber import age_on
from mutualaid.money import ZERO, fen_ceiling, from_fen, to_fen
from mutualaid.policy import HospPolicy, Policy, WomenPolicy, policies
from mutualaid.rules.amounts import HospAmount, WomenAmount, hosp_amount, women_amount
from mutualaid.rules.definitions import on_demand, ruleset
from mutualaid.rules.facts import add_on_demand
from mutualaid.rules.engine import engine

# The outcomes as plain str values of ClaimStatus: they go to executemany/COPY by the million,
# and the sqlite3 driver binds a str subclass ~0.7 µs slower per value than a str.
APPROVED, REJECTED = ClaimStatus.APPROVED.value, ClaimStatus.REJECTED.value
PENDING = ClaimStatus.PENDING_REVIEW.value


def checked_by_name(result: Any, names: tuple[str, ...], lead: int = 0) -> Any:
    """The rows of a Core result whose columns after the first ``lead`` are exactly ``names``,
    in order: checked by name once per result, so the batch can then build its records by
    position (reading 15 attributes of each row by name cost ~8 µs per claim, ~10 % of a run)."""
    keys = tuple(result.keys())
    if keys[lead:] != names:
        raise ValueError(f"columns {keys[lead:]} are not the record's fields {names}")
    return result


@dataclass(frozen=True, slots=True)
class SettlementFigures:
    """The medical-insurance settlement of a clerk's HOSP claim, for the V05 cross-check."""

    settlement_no: str
    admission_date: dt.date
    discharge_date: dt.date
    in_policy_self_pay_fen: int


@dataclass(frozen=True, slots=True)
class ClaimIn:
    id: int
    claim_no: str
    product: str
    member_id_number: str
    member_name: str
    submitted_date: dt.date
    event_date: dt.date
    admission_date: dt.date | None = None
    discharge_date: dt.date | None = None
    cause: str | None = None
    in_policy_self_pay_fen: int | None = None
    diagnosis_code: str | None = None
    diagnosis_date: dt.date | None = None
    pathology_confirmed: bool | None = None
    surgery: str | None = None
    settlement: SettlementFigures | None = None  # mutualaid.settlements.checks fills it

    @classmethod
    def from_row(cls, row: Any) -> ClaimIn:
        """A stored claim: any row or object with these attributes (``decide.CLAIM_IN_COLUMNS``
        selects them); read by name, so extra columns in the row do not matter."""
        return cls(id=row.id, claim_no=row.claim_no, product=row.product, member_id_number=row.member_id_number,
                   member_name=row.member_name, submitted_date=row.submitted_date, event_date=row.event_date,
                   admission_date=row.admission_date, discharge_date=row.discharge_date, cause=row.cause,
                   in_policy_self_pay_fen=row.in_policy_self_pay_fen, diagnosis_code=row.diagnosis_code,
                   diagnosis_date=row.diagnosis_date, pathology_confirmed=row.pathology_confirmed,
                   surgery=row.surgery)


#: the stored columns a ClaimIn is built from, in field order (``decide.CLAIM_IN_COLUMNS``)
CLAIM_IN_FIELDS = tuple(f.name for f in fields(ClaimIn) if f.name != "settlement")


@dataclass(frozen=True, slots=True)
class MemberIn:
    id_number: str
    name: str
    birth_date: dt.date
    sex: str


@dataclass(frozen=True, slots=True)
class EnrollmentIn:
    id: int
    product: str
    units: int
    start_date: dt.date
    end_date: dt.date
    policy_version: int

    @classmethod
    def from_row(cls, row: Any, policy_version: int | None = None) -> EnrollmentIn:
        """A stored enrollment (row or ORM object, read by name); ``policy_version`` overrides
        the stored one (the what-if runs a past year under another version)."""
        return cls(id=row.id, product=row.product, units=row.units, start_date=row.start_date,
                   end_date=row.end_date,
                   policy_version=row.policy_version if policy_version is None else policy_version)


ENROLLMENT_IN_FIELDS = tuple(f.name for f in fields(EnrollmentIn))


@dataclass(frozen=True, slots=True)
class Prior:
    """An earlier non-rejected claim of the member, as later claims see it."""

    claim_no: str
    product: str
    enrollment_id: int | None
    payout_fen: int
    admission_date: dt.date | None = None
    discharge_date: dt.date | None = None
    allowance_days: int = 0
    category: str | None = None
    diagnosis_date: dt.date | None = None

    #: the columns a stored claim needs to become a Prior (select them, then ``from_row``)
    COLUMNS = ("claim_no", "product", "enrollment_id", "payout_fen", "admission_date", "discharge_date",
               "allowance_days", "category", "diagnosis_date")

    @classmethod
    def from_row(cls, row: Any) -> Prior:
        """A stored decided claim (any row or object with the attributes of ``COLUMNS``)."""
        return cls(claim_no=row.claim_no, product=row.product, enrollment_id=row.enrollment_id,
                   payout_fen=row.payout_fen, admission_date=row.admission_date,
                   discharge_date=row.discharge_date, allowance_days=row.allowance_days or 0,
                   category=row.category, diagnosis_date=row.diagnosis_date)


@dataclass
class History:
    """A member's earlier non-rejected claims, grown as claims are decided in order."""

    priors: list[Prior] = field(default_factory=list)

    def add(self, prior: Prior) -> None:
        self.priors.append(prior)

    def of(self, product: str) -> list[Prior]:
        if not self.priors:  # most members: their first claim
            return []
        return [p for p in self.priors if p.product == product]


@dataclass(slots=True)
class Outcome:
    claim_id: int
    claim_no: str
    status: str
    payout_fen: int
    computed_payout_fen: int
    reason_codes: list[str]
    policy_version: str
    enrollment_id: int | None
    allowance_days: int | None
    category: str | None
    trace: dict[str, Any]

    @property
    def reasons(self) -> str:
        return ";".join(self.reason_codes)

    def as_prior(self, claim: ClaimIn) -> Prior:
        return Prior(claim_no=claim.claim_no, product=claim.product, enrollment_id=self.enrollment_id,
                     payout_fen=self.payout_fen, admission_date=claim.admission_date,
                     discharge_date=claim.discharge_date, allowance_days=self.allowance_days or 0,
                     category=self.category, diagnosis_date=claim.diagnosis_date)


def status_of(codes: Iterable[str]) -> str:
    """policy.md §4: any R -> REJECTED; else any V -> PENDING_REVIEW; else APPROVED."""
    status = APPROVED
    for code in codes:
        if code[0] == "R":
            return REJECTED
        if code[0] == "V":
            status = PENDING
    return status


# --- enrollment facts -----------------------------------------------------------------

def covering(enrollments: Sequence[EnrollmentIn], product: str, day: dt.date) -> EnrollmentIn | None:
    for e in enrollments:
        if e.product == product and e.start_date <= day <= e.end_date:
            return e
    return None


def participation_year(enrollments: Sequence[EnrollmentIn], current: EnrollmentIn, gap_days: int) -> int:
    """1 + the enrollments in the unbroken chain of renewals before this one: each starts at
    most ``gap_days`` after the previous one ends (``renewal_gap_days`` of ``current``'s policy)."""
    chain = [e for e in enrollments if e.product == current.product and e.start_date < current.start_date]
    if len(chain) > 1:
        chain.sort(key=lambda e: e.start_date, reverse=True)
    year, start = 1, current.start_date
    for e in chain:
        if (start - e.end_date).days > gap_days:
            break
        year, start = year + 1, e.start_date
    return year


_ONE_DAY = dt.timedelta(days=1)


def stays_overlap(adm1: dt.date, dis1: dt.date, adm2: dt.date, dis2: dt.date) -> bool:
    """policy.md R06: a stay occupies [admission, max(discharge, admission + 1 day)).

    So two same-day stays on one day overlap, and a stay admitted on another's
    discharge day does not.
    """
    return adm1 < max(dis2, adm2 + _ONE_DAY) and adm2 < max(dis1, adm1 + _ONE_DAY)


def fallback_policy(day: dt.date) -> Policy:
    """Ruleset for a claim without an enrollment: the version of its event year (or nearest)."""
    known = policies()
    version = min(known, key=lambda v: (abs(v - day.year), -v))
    return known[version]


# --- one claim ------------------------------------------------------------------------

def _facts_and_amount(claim: ClaimIn, member: MemberIn | None, enrollments: Sequence[EnrollmentIn],
                      history: History) -> tuple[dict[str, Any], Policy, EnrollmentIn | None,
                                                 HospAmount | WomenAmount | None, dict[str, Any]]:
    facts: dict[str, Any] = {"member_found": member is not None}
    context: dict[str, Any] = {}
    enrollment = covering(enrollments, claim.product, claim.event_date) if member else None
    policy = policies().get(enrollment.policy_version) if enrollment else None
    if policy is None:
        policy = fallback_policy(claim.event_date)
    params = policy.product(claim.product)
    earlier = history.of(claim.product)
    if member is not None:
        facts["enrolled"] = enrollment is not None
        facts["name_matches"] = claim.member_name.strip(" \u3000\t") == member.name.strip(" \u3000\t")
    if enrollment is not None:
        year = participation_year(enrollments, enrollment, policy.renewal_gap_days)
        facts["first_enrollment"] = year == 1
        facts["days_from_start"] = (claim.event_date - enrollment.start_date).days
        context["enrollment"] = {"id": enrollment.id, "start_date": str(enrollment.start_date),
                                 "end_date": str(enrollment.end_date), "units": enrollment.units,
                                 "participation_year": year}
    amount: HospAmount | WomenAmount | None = None

    if isinstance(params, HospPolicy):
        adm, dis = claim.admission_date, claim.discharge_date
        assert adm is not None and dis is not None
        stay = max((dis - adm).days, 1)
        facts["stay_days"] = stay
        facts["cause"] = claim.cause
        facts["duplicates"] = sum(1 for p in earlier if p.admission_date and p.discharge_date
                                  and stays_overlap(p.admission_date, p.discharge_date, adm, dis))
        s = claim.settlement
        if s is not None and policy.settlements is not None and policy.settlements.cross_check:
            facts["settlement_differs"] = (s.in_policy_self_pay_fen != claim.in_policy_self_pay_fen
                                           or (s.admission_date, s.discharge_date) != (adm, dis))
            context["settlement"] = {"settlement_no": s.settlement_no, "admission_date": str(s.admission_date),
                                     "discharge_date": str(s.discharge_date),
                                     "in_policy_self_pay": _yuan(from_fen(s.in_policy_self_pay_fen))}
        if enrollment is not None:
            deadline = params.deadline.last_day(coverage_end=enrollment.end_date, event=claim.event_date)
            facts["days_past_deadline"] = (claim.submitted_date - deadline).days  # type: ignore[operator]
            context["deadline"] = str(deadline)
            same_period = [p for p in earlier if p.enrollment_id == enrollment.id]
            amount = hosp_amount(
                params, base=from_fen(claim.in_policy_self_pay_fen or 0), stay_days=stay,
                participation_year=context["enrollment"]["participation_year"],
                allowance_days_used=sum(p.allowance_days for p in same_period),
                paid_in_period=sum((from_fen(p.payout_fen) for p in same_period), ZERO))
            facts.update(cap_remaining_fen=to_fen(amount.cap_remaining), payout_fen=to_fen(amount.payout),
                         minimum_topup_fen=fen_ceiling(amount.minimum_topup), cap_cut_fen=to_fen(amount.cap_cut),
                         allowance_days_cut=amount.allowance_days_cut)
    else:
        assert isinstance(params, WomenPolicy)
        deadline = params.deadline.last_day(coverage_end=None, event=claim.event_date)
        facts["days_past_deadline"] = (claim.submitted_date - deadline).days  # type: ignore[operator]
        context["deadline"] = str(deadline)
        category = params.category_of(claim.diagnosis_code or "", claim.surgery or "none")
        facts.update(category=category or "NONE", diagnosis_code=claim.diagnosis_code,
                     surgery=claim.surgery or "none", pathology_confirmed=bool(claim.pathology_confirmed))
        if member is not None:
            facts["sex"] = member.sex
            facts["age"] = age_on(member.birth_date, claim.event_date)
        facts["duplicates"] = sum(1 for p in earlier if category and p.category == category
                                  and p.diagnosis_date == claim.diagnosis_date)
        facts["category_already_paid"] = bool(category) and any(p.category == category for p in earlier)
        facts["cover_ended"] = any(c.ends_cover for p in earlier if p.category
                                   and (c := params.categories.get(p.category)) is not None)
        if enrollment is not None and category is not None:
            paid: dict[str, Decimal] = {}
            for p in earlier:
                if p.category:
                    paid[p.category] = paid.get(p.category, ZERO) + from_fen(p.payout_fen)
            amount = women_amount(params, category=category, units=enrollment.units, paid_by_category=paid)
            facts.update(payout_fen=to_fen(amount.payout), deducted_fen=to_fen(amount.deducted))
    return facts, policy, enrollment, amount, context


_by_fired: dict[frozenset[str], tuple[list[str], str]] = {}


def _codes_and_status(fired: frozenset[str]) -> tuple[list[str], str]:
    """Sorted codes and status; few distinct sets of fired rules, so memoised."""
    known = _by_fired.get(fired)
    if known is None:
        codes = sorted(fired)
        known = (codes, status_of(codes))
        if len(_by_fired) < 4096:
            _by_fired[fired] = known
    return list(known[0]), known[1]


_yuan = "{:.2f}".format  # exact here: amounts in whole fen (policy Yuan values, sums, rounded totals)


def _amount_trace(amount: HospAmount | WomenAmount | None) -> dict[str, Any] | None:
    if amount is None:
        return None
    if isinstance(amount, HospAmount):
        return {
            "base": _yuan(amount.base),
            "bands": [[str(b.lower), None if b.upper is None else str(b.upper), str(b.rate), str(b.amount)]
                      for b in amount.bands],  # [from, to, rate, exact amount]
            "banded": str(amount.banded), "minimum": _yuan(amount.minimum), "subsidy": str(amount.subsidy),
            "stay_days": amount.stay_days, "allowance_days": amount.allowance_days,
            "daily_rate": _yuan(amount.daily_rate), "allowance": _yuan(amount.allowance),
            "total": _yuan(amount.total), "cap_remaining": _yuan(amount.cap_remaining),
            "payout": _yuan(amount.payout),
        }
    return {"category": amount.category, "units": amount.units, "per_unit": _yuan(amount.per_unit),
            "gross": _yuan(amount.gross), "deducted": _yuan(amount.deducted),
            "deducted_categories": amount.deducted_from, "payout": _yuan(amount.payout)}


def _outcome(claim: ClaimIn, facts: dict[str, Any], policy: Policy, enrollment: EnrollmentIn | None,
             amount: HospAmount | WomenAmount | None, context: dict[str, Any], fired: frozenset[str]) -> Outcome:
    name, _ = ruleset(claim.product, policy.version)
    codes, status = _codes_and_status(fired)
    computed = to_fen(amount.payout) if amount is not None else 0
    label = policy.label(claim.product) if enrollment else ""
    # Compact on purpose (1M claims a run): the facts and which rules fired; ``explain``
    # expands it into every rule with the inputs it read, from the versioned ruleset.
    trace = {"ruleset": name, "policy_version": label, "facts": facts, "fired": codes,
             "amount": _amount_trace(amount), **context}
    return Outcome(
        claim.id, claim.claim_no, status, 0 if status == REJECTED else computed, computed, codes, label,
        enrollment.id if enrollment else None,
        amount.allowance_days if isinstance(amount, HospAmount) else None,
        amount.category if isinstance(amount, WomenAmount) else None, trace)


def explain(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """Every rule of the trace's ruleset: fired or not, and the input values it read."""
    name = trace.get("ruleset", "")
    product, _, version = name.partition("_")
    if not version.isdigit():
        return []
    _, rules = ruleset(product.upper(), int(version))
    facts, fired = trace.get("facts", {}), set(trace.get("fired", []))
    return [{"code": r.code, "fired": r.code in fired, "inputs": {k: facts.get(k) for k in r.inputs}}
            for r in rules]


def _claim_order(claim: ClaimIn) -> tuple[dt.date, str]:
    return claim.event_date, claim.claim_no


@dataclass
class MemberCase:
    """Everything needed to decide one member's claims, in any order (sorted here)."""

    id_number: str
    member: MemberIn | None
    enrollments: list[EnrollmentIn]
    history: History
    claims: list[ClaimIn]


def adjudicate_members(cases: Sequence[MemberCase]) -> list[tuple[ClaimIn, Outcome]]:
    """Decide all claims of these members in processing order; returns in that order.

    Claims are evaluated in waves (the k-th claim of every member together) so the engine
    gets batches, while each member's k-th claim still sees the outcomes of its first k-1.
    """
    with batch_gc():
        return _adjudicate_in_waves(cases)


def _adjudicate_in_waves(cases: Sequence[MemberCase]) -> list[tuple[ClaimIn, Outcome]]:
    for case in cases:
        if len(case.claims) > 1:
            case.claims.sort(key=_claim_order)
    results: list[list[tuple[ClaimIn, Outcome]]] = [[] for _ in cases]
    wave = 0
    while True:
        active = [i for i, c in enumerate(cases) if wave < len(c.claims)]
        if not active:
            break
        prepared = []
        by_ruleset: dict[str, list[int]] = {}
        for i in active:
            case = cases[i]
            claim = case.claims[wave]
            facts, policy, enrollment, amount, context = _facts_and_amount(
                claim, case.member, case.enrollments, case.history)
            name, _ = ruleset(claim.product, policy.version)
            if wanted := on_demand(claim.product, policy.version):  # facts only some policies read
                add_on_demand(facts, claim, wanted)
            by_ruleset.setdefault(name, []).append(len(prepared))
            prepared.append((i, claim, facts, policy, enrollment, amount, context))
        fired: list[frozenset[str]] = [frozenset()] * len(prepared)
        for name, idxs in by_ruleset.items():
            for k, codes in zip(idxs, engine().evaluate(name, [prepared[k][2] for k in idxs])):
                fired[k] = codes
        for (i, claim, facts, policy, enrollment, amount, context), codes in zip(prepared, fired):
            outcome = _outcome(claim, facts, policy, enrollment, amount, context, codes)
            if outcome.status != REJECTED:
                cases[i].history.add(outcome.as_prior(claim))
            results[i].append((claim, outcome))
        wave += 1
    return [pair for per_member in results for pair in per_member]
