"""The generated set's figures, for printing beside ``REFERENCE`` (and for the demo's checks).

``units``, ``hosp_members`` and ``women_members`` (enrollments starting in 2025),
``claims`` (all rows), ``claims_2025`` (rows with a 2025 event), ``claims_paid`` /
``payout_yuan`` (claims the estimate approves with a payout, and their total — what the
demo counts after adjudicating every batch), ``estimated_pending``, the other
``estimated_*`` totals and the ``messy`` counts. The ``estimated_*`` figures are the real
adjudication's outcomes (:mod:`mutualaid.generate.estimate`), so a test can hold them to
what the store shows after importing the files and running the batch month by month.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from mutualaid.claims.status import APPROVED, PENDING_REVIEW, REJECTED
from mutualaid.generate.claims import Claim
from mutualaid.generate.days import date_of, years_of
from mutualaid.generate.people import World
from mutualaid.generate.scales import MAIN_YEAR, Scale
from mutualaid.ledger.entries import EntryType
from mutualaid.money import from_fen


def figures(sc: Scale, seed: int, w: World, claims: list[Claim], messy: dict, batches: list[Path],
            ledger_lines: int, flows: dict[str, int]) -> dict:
    """The set's figures (see the module docstring); counts are ints, money is Decimal."""
    year = years_of(w.e_start)

    def enrolled(product: int, y: int) -> int:
        return int(((w.e_product == product) & (year == y)).sum())

    payable = [c for c in claims if c.status in (APPROVED, PENDING_REVIEW)]
    in_main = [c for c in payable if date_of(c.event).year == MAIN_YEAR]
    hosp = [c for c in in_main if c.product == "HOSP"]
    status = {s: sum(1 for c in claims if c.status == s) for s in (APPROVED, PENDING_REVIEW, REJECTED)}
    money = lambda fen: from_fen(fen)  # noqa: E731
    return {
        "scale": sc.name, "seed": seed,
        "units": int(len(w.unit_code)),
        "largest_unit": int(w.unit_size.max()),
        "hosp_members": enrolled(0, MAIN_YEAR),
        "women_members": enrolled(1, MAIN_YEAR),
        "hosp_members_2026": enrolled(0, MAIN_YEAR + 1),
        "women_members_2026": enrolled(1, MAIN_YEAR + 1),
        "premiums": money(int(w.e_premium.sum())),
        "claims": len(claims),
        "claims_hosp": sum(1 for c in claims if c.product == "HOSP"),
        "claims_women": sum(1 for c in claims if c.product == "WOMEN"),
        "claims_2025": sum(1 for c in claims if date_of(c.event).year == MAIN_YEAR),
        "claim_batches": len(batches),
        "messy": messy,
        "estimated_status": status,
        # approved + pending review (what is paid once the auditors have passed the pending ones)
        "estimated_payout": money(sum(c.payout for c in payable)),
        "estimated_payout_2025": money(sum(c.payout for c in in_main)),
        "estimated_claims_paid_2025": len(in_main),
        # under the names of REFERENCE, as the demo counts them after adjudicating every batch:
        # the claims approved with a payout, and their total (without the pending ones)
        "claims_paid": sum(1 for c in claims if c.status == APPROVED and c.payout > 0),
        "payout_yuan": money(sum(c.payout for c in claims if c.status == APPROVED)),
        "estimated_approved": money(sum(c.payout for c in claims if c.status == APPROVED)),
        "estimated_pending": money(sum(c.payout for c in claims if c.status == PENDING_REVIEW)),
        "estimated_hosp_average_2025": money(sum(c.payout for c in hosp) // len(hosp)) if hosp else Decimal("0.00"),
        "largest_payout": money(max((c.payout for c in payable), default=0)),
        "ledger_lines": ledger_lines,
        "ledger_paid": money(flows.get(EntryType.PAYOUT, 0) - flows.get(EntryType.REVERSAL, 0)),
    }
