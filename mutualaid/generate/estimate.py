"""The estimate behind the ledger and the figures: the real adjudication of the generated claims.

The generated world is handed to :func:`mutualaid.claims.adjudication.adjudicate_members`
in the shape the store would give it after the demo's steps, so the ledger pays and the
figures count exactly what the system will decide (``tests/test_generate_estimate.py``
imports the files, runs the batch and compares):

- members are the persons of the rosters (:class:`MemberIn`: name, birth date and sex, as
  the roster import reads them from the ID number); a claimant with no enrollment at all
  is unknown (R01). The person's index stands in for the ID number, which is being made in
  worker processes meanwhile and which no rule reads;
- enrollments are the world's, each with the policy version of its start year (the
  roster import's ``policy_for_start``) and its index as its id;
- every claim row is valid for the claim import (the messiness is for the rules, not the
  file checks), so every claim is decided; the fields are those the intake stores
  (a missing surgery is ``none``, pathology ``Y``/``N`` a bool);
- each month's batch is decided at the month's end, as the demo's batch run: a member's
  claims of earlier months are the history (non-rejected outcomes count against caps,
  allowance days and once-only benefits), this month's are ordered by event date and
  claim number by the engine itself;
- with the settlement extract (``mutualaid.settlements.generate``): a stay that arrives
  only through the extract is the settlement's claim ``YB-<settlement_no>``, submitted on
  its settlement date with the extract's diagnosis code (that row's own claim; one settled
  again after a cancellation is the claim of the new row). A stay in both the extract and
  a clerk's batch is the clerk's claim with the settlement attached (the settlement's own
  claim, made first, is withdrawn when the clerk's arrives in the same month), so V05
  compares the figures. The withdrawn claims are not generator claims and not estimated.

Cost: ~60 µs a claim here (the engine decides a wave of claims at once): ~0.45 s for
tongliao's ~7,700 claims, ~2 s of the region scale's generation.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from mutualaid.claims.adjudication import (
    ClaimIn,
    EnrollmentIn,
    History,
    MemberCase,
    MemberIn,
    SettlementFigures,
    adjudicate_members,
)
from mutualaid.claims.status import Product
from mutualaid.generate.claims import Claim
from mutualaid.generate.days import date_of, day_number, month_label
from mutualaid.generate.people import PRODUCTS, World
from mutualaid.money import parse_fen

if TYPE_CHECKING:
    from mutualaid.settlements.generate import ExtractPlan

_NO_SURGERY = "none"   # what the claim intake stores for an empty surgery cell


def estimate(world: World, claims: list[Claim], extract: ExtractPlan | None = None) -> None:
    """Decide every claim as the monthly batch runs will; sets ``status``, ``payout`` and ``codes``.

    ``extract``: the settlement extract's plan, or None (or an empty plan) without one.
    """
    members, enrollments = _records(world, {c.person for c in claims})
    made_from = extract.made_from if extract is not None else {}
    attached = extract.attached if extract is not None else {}
    by_month: dict[str, list[ClaimIn]] = defaultdict(list)
    for k, c in enumerate(claims):
        claim = _claim_in(k, c, made_from.get(c.seq), attached.get(c.seq))
        by_month[month_label(day_number(claim.submitted_date))].append(claim)
    histories: dict[str, History] = {}
    for month in sorted(by_month):
        per_member: dict[str, list[ClaimIn]] = defaultdict(list)
        for claim in by_month[month]:
            per_member[claim.member_id_number].append(claim)
        cases = [MemberCase(key, members.get(key), enrollments.get(key, []),
                            histories.setdefault(key, History()), mine)
                 for key, mine in per_member.items()]
        for claim, outcome in adjudicate_members(cases):
            c = claims[claim.id]
            c.status, c.payout, c.codes = outcome.status, outcome.payout_fen, tuple(outcome.reason_codes)


def _records(w: World, claimants: set[int]) -> tuple[dict[str, MemberIn], dict[str, list[EnrollmentIn]]]:
    """The claimants' member records and enrollments, as the roster import stores them."""
    enrollments: dict[str, list[EnrollmentIn]] = defaultdict(list)
    wanted = np.zeros(len(w.name), dtype=bool)
    wanted[list(claimants)] = True
    for e in np.flatnonzero(wanted[w.e_person]).tolist():
        start = date_of(w.e_start[e])
        enrollments[str(int(w.e_person[e]))].append(EnrollmentIn(
            id=e, product=PRODUCTS[w.e_product[e]], units=int(w.e_units[e]), start_date=start,
            end_date=date_of(w.e_end[e]), policy_version=start.year))
    members = {key: MemberIn(key, str(w.name[int(key)]), date_of(w.birth[int(key)]),
                             "F" if w.female[int(key)] else "M")
               for key in enrollments}   # a person is a member through a roster row
    return members, enrollments


def _claim_in(k: int, c: Claim, made_from: dict | None, attached: dict | None) -> ClaimIn:
    """The claim as the store holds it: a clerk's row, or the claim a settlement row makes."""
    event = date_of(c.event)
    key = str(c.person)
    if c.product != Product.HOSP:
        return ClaimIn(id=k, claim_no=c.claim_no, product=c.product, member_id_number=key, member_name=c.name,
                       submitted_date=date_of(c.submitted), event_date=event, diagnosis_code=c.diagnosis,
                       diagnosis_date=event, pathology_confirmed=c.pathology == "Y",
                       surgery=c.surgery or _NO_SURGERY)
    discharge = date_of(c.discharge)
    if made_from is not None:   # mutualaid.settlements.service: the settlement's own claim
        return ClaimIn(id=k, claim_no=c.claim_no, product=c.product, member_id_number=key,
                       member_name=made_from["member_name"],
                       submitted_date=dt.date.fromisoformat(made_from["settlement_date"]), event_date=event,
                       admission_date=event, discharge_date=discharge, cause="illness",
                       in_policy_self_pay_fen=parse_fen(made_from["in_policy_self_pay"]),
                       diagnosis_code=made_from["diagnosis_code"])
    settlement = None
    if attached is not None:    # the clerk's claim with the settlement of its stay (V05)
        settlement = SettlementFigures(attached["settlement_no"], dt.date.fromisoformat(attached["admission_date"]),
                                       dt.date.fromisoformat(attached["discharge_date"]),
                                       parse_fen(attached["in_policy_self_pay"]))
    return ClaimIn(id=k, claim_no=c.claim_no, product=c.product, member_id_number=key, member_name=c.name,
                   submitted_date=date_of(c.submitted), event_date=event, admission_date=event,
                   discharge_date=discharge, cause=c.cause, in_policy_self_pay_fen=c.base,
                   diagnosis_code=c.diagnosis, settlement=settlement)
