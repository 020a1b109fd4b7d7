"""Figures of a what-if run: actual beside draft, per product, and the fund projection.

Pure functions over the rows of :mod:`mutualaid.policy_office.simulate` (integer fen).
:func:`summary_json` turns them into ``summary.json`` (amounts as two-decimal strings).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from mutualaid.claims.status import APPROVED, DECIDED, PENDING_REVIEW, PRODUCTS, REJECTED, RuleCode  # noqa: F401  (PRODUCTS: re-exported)
from mutualaid.idnumber import mask
from mutualaid.money import fmt

STATUSES = DECIDED
#: Payout bands (yuan, upper bound included); the last is open.
PAYOUT_BANDS: tuple[tuple[str, int | None], ...] = (
    ("0.01–1,000", 100_000), ("1,000.01–5,000", 500_000), ("5,000.01–20,000", 2_000_000),
    ("20,000.01–50,000", 5_000_000), ("50,000.01–100,000", 10_000_000), ("> 100,000", None))
CAP_CODES = (RuleCode.A02, RuleCode.R09)
TOP_CHANGES = 20


def band_of(payout_fen: int) -> str:
    for label, upper in PAYOUT_BANDS:
        if upper is None or payout_fen <= upper:
            return label
    raise AssertionError("unreachable")


def median_fen(values: Sequence[int]) -> int:
    """Median of whole fen; the mean of the two middle values is rounded half-up."""
    if not values:
        return 0
    v = sorted(values)
    n = len(v)
    if n % 2:
        return v[n // 2]
    return int((Decimal(v[n // 2 - 1] + v[n // 2]) / 2).to_integral_value(rounding=ROUND_HALF_UP))


def average_fen(total: int, n: int) -> int:
    return int((Decimal(total) / n).to_integral_value(rounding=ROUND_HALF_UP)) if n else 0


@dataclass
class Side:
    """One side (actual or draft) of one product."""

    claims: int = 0
    by_status: Counter = field(default_factory=Counter)
    total_fen: int = 0
    paid: list[int] = field(default_factory=list)        # payouts > 0
    by_band: dict[str, list[int]] = field(default_factory=lambda: {b: [0, 0] for b, _ in PAYOUT_BANDS})
    cap_hits: int = 0
    allowance_days: int = 0
    codes: Counter = field(default_factory=Counter)

    def add(self, status: str, payout_fen: int, codes: str, allowance_days: int | None) -> None:
        self.claims += 1
        self.by_status[status] += 1
        self.total_fen += payout_fen
        if payout_fen > 0:
            self.paid.append(payout_fen)
            band = self.by_band[band_of(payout_fen)]
            band[0] += 1
            band[1] += payout_fen
        split = codes.split(";") if codes else []
        self.codes.update(split)
        if any(c in CAP_CODES for c in split):
            self.cap_hits += 1
        if status != REJECTED and allowance_days:
            self.allowance_days += allowance_days

    def as_json(self) -> dict:
        return {
            "claims": self.claims,
            "approved": self.by_status[APPROVED], "pending_review": self.by_status[PENDING_REVIEW],
            "rejected": self.by_status[REJECTED],
            "total_payout": fmt(self.total_fen, fen=True),
            "paid_claims": len(self.paid),
            "average_payout": fmt(average_fen(sum(self.paid), len(self.paid)), fen=True),
            "median_payout": fmt(median_fen(self.paid), fen=True),
            "payout_by_band": [{"band": b, "claims": c, "amount": fmt(a, fen=True)}
                               for b, (c, a) in self.by_band.items()],
            "cap_hits": self.cap_hits,
            "allowance_days": self.allowance_days,
            "codes": dict(sorted(self.codes.items())),
        }


@dataclass
class ProductComparison:
    product: str
    actual: Side = field(default_factory=Side)
    draft: Side = field(default_factory=Side)
    member_change: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    member_actual: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def better(self) -> int:
        return sum(1 for d in self.member_change.values() if d > 0)

    @property
    def worse(self) -> int:
        return sum(1 for d in self.member_change.values() if d < 0)

    def largest_changes(self, n: int = TOP_CHANGES) -> list[tuple[str, int, int, int]]:
        """(masked ID number, actual, draft, change) of the n largest changes by size."""
        top = sorted(((i, d) for i, d in self.member_change.items() if d), key=lambda x: (-abs(x[1]), x[0]))[:n]
        return [(mask(i), self.member_actual[i], self.member_actual[i] + d, d) for i, d in top]

    def code_changes(self) -> list[tuple[str, int, int, int]]:
        """(code, actual, draft, change) for codes firing more or less, largest change first."""
        codes = set(self.actual.codes) | set(self.draft.codes)
        out = [(c, self.actual.codes[c], self.draft.codes[c], self.draft.codes[c] - self.actual.codes[c]) for c in codes]
        return sorted((x for x in out if x[3]), key=lambda x: (-abs(x[3]), x[0]))


def compare(rows: Iterable[tuple], into: dict[str, ProductComparison] | None = None) -> dict[str, ProductComparison]:
    """Aggregate rows (:data:`mutualaid.policy_office.simulate.ROW`); ``into`` to add to earlier ones."""
    out = into if into is not None else {p: ProductComparison(p) for p in PRODUCTS}
    for (id_number, product, _no, status, payout, codes, days, d_status, d_payout, d_codes, d_days) in rows:
        pc = out.setdefault(product, ProductComparison(product))
        pc.actual.add(status, payout, codes, days)
        pc.draft.add(d_status, d_payout, d_codes, d_days)
        pc.member_actual[id_number] += payout
        pc.member_change[id_number] += d_payout - payout
    return out


@dataclass
class FundProjection:
    closing_fen: int                  # ledger balance at the end of the year
    contributions_fen: int            # the year's enrolled members at the draft's premiums
    actual_contributions_fen: int     # the same members at the premiums they paid
    projected_payouts_fen: int        # the draft's payouts on the year's claims
    actual_payouts_fen: int

    @property
    def resulting_closing_fen(self) -> int:
        return self.closing_fen + self.contributions_fen - self.projected_payouts_fen

    @property
    def years_covered(self) -> Decimal | None:
        if self.projected_payouts_fen <= 0:
            return None
        if self.resulting_closing_fen <= 0:  # the fund would not cover the year
            return Decimal("0.00")
        return (Decimal(self.resulting_closing_fen) / self.projected_payouts_fen).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP)

    def as_json(self) -> dict:
        years = self.years_covered
        return {
            "closing_balance": fmt(self.closing_fen, fen=True),
            "contributions_at_draft_premiums": fmt(self.contributions_fen, fen=True),
            "contributions_at_actual_premiums": fmt(self.actual_contributions_fen, fen=True),
            "projected_payouts": fmt(self.projected_payouts_fen, fen=True),
            "actual_payouts": fmt(self.actual_payouts_fen, fen=True),
            "resulting_closing_balance": fmt(self.resulting_closing_fen, fen=True),
            "years_of_payouts_covered": None if years is None else f"{years:.2f}",
        }


def summary_json(year: int, draft_label: dict, comparison: dict[str, ProductComparison],
                 fund: FundProjection | None) -> dict:
    products = {}
    for p, pc in comparison.items():
        products[p] = {
            "actual": pc.actual.as_json(),
            "draft": pc.draft.as_json(),
            "payout_change": fmt(pc.draft.total_fen - pc.actual.total_fen, fen=True),
            "members_better_off": pc.better,
            "members_worse_off": pc.worse,
            "largest_changes": [{"member": m, "actual": fmt(a, fen=True), "draft": fmt(d, fen=True),
                                 "change": fmt(c, fen=True)} for m, a, d, c in pc.largest_changes()],
            "codes_changed": [{"code": c, "actual": a, "draft": d, "change": ch} for c, a, d, ch in pc.code_changes()],
        }
    return {"year": year, "draft": draft_label, "products": products,
            "fund": fund.as_json() if fund is not None else None}
