"""How large a generated year is, and the calendar every part of it is placed in.

A scale fixes the numbers the rest is drawn to (members, claim rows, the code prefix);
``tongliao`` mirrors the reference year of the spec README so the demo's figures can be
read beside it. The calendar is shared: the rosters, the claims and the ledger must all
agree on when the main year starts, ends and when its claims stop being filed.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

# --- reference figures (spec README: Tongliao 2025) for printing beside ours -------------
REFERENCE = {
    "hosp_members": 135_500,
    "women_members": 54_000,
    "claims_paid": 7_748,
    "payout_yuan": Decimal("11430000.00"),
}


@dataclass(frozen=True)
class Scale:
    name: str
    hosp_members: int     # HOSP enrollments starting in 2025
    women_members: int    # WOMEN enrollments starting in 2025
    hosp_claims: int      # HOSP claim rows with a 2025 event (messy ones included)
    women_claims: int     # WOMEN claim rows with a 2025 event
    prefix: str           # unit codes and claim numbers: TL0001, TL2025-000123
    province: bool        # ID regions, unit places and hospitals of all Inner Mongolia


SCALES: dict[str, Scale] = {
    "tongliao": Scale("tongliao", 135_500, 54_000, 6_300, 850, "TL", False),
    "region": Scale("region", 1_100_000, 440_000, 38_500, 6_500, "NM", True),
}


def resolve_scale(scale: str | int) -> Scale:
    """A named scale, or an integer number of HOSP members scaled like ``tongliao``."""
    if isinstance(scale, str) and not scale.isdigit():
        try:
            return SCALES[scale]
        except KeyError:
            raise ValueError(f"unknown scale {scale!r}; use one of {sorted(SCALES)} or a number") from None
    size = int(scale)
    if size < 200:
        raise ValueError("an integer scale needs at least 200 HOSP members")
    ref = SCALES["tongliao"]
    ratio = size / ref.hosp_members
    return Scale(f"size-{size}", size, round(ref.women_members * ratio),
                 max(1, round(ref.hosp_claims * ratio)), max(1, round(ref.women_claims * ratio)),
                 ref.prefix, False)


# --- calendar of the generated world -------------------------------------------------------
MAIN_YEAR = 2025
YEAR_START = dt.date(2025, 1, 1)
YEAR_END = dt.date(2025, 12, 31)
NEXT_START = dt.date(2026, 1, 1)
EARLY_NEXT_END = dt.date(2026, 1, 31)   # last event date of the early-2026 claims
SUBMIT_END = dt.date(2026, 3, 31)       # last submission of the regular (in-time) claims
