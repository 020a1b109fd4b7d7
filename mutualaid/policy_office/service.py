"""The policy office's use cases: what-if simulation of a draft, and the year report.

Both only read the store. The CLI (mutualaid/cli_policy_office.py) and the pages
(api/pages/policy_office.py, admin and finance) translate arguments and call these.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import case, func, select

from mutualaid.claims.status import APPROVED, PENDING_REVIEW, REJECTED
from mutualaid.gc_tuning import batch_gc
from mutualaid.i18n import ui
from mutualaid.ledger.importer import OUTFLOW
from mutualaid.money import to_fen
from mutualaid.policy import Policy, PolicyError
from mutualaid.policy_office.excel import Chart, Fen, Sheet, write_json, write_workbook
from mutualaid.policy_office.figures import (
    PAYOUT_BANDS,
    FundProjection,
    ProductComparison,
    compare,
    summary_json,
)
from mutualaid.policy_office.simulate import parse_draft, simulate_rows, year_bounds
from mutualaid.store.db import Database
from mutualaid.store.models import Enrollment, LedgerLine

SUMMARY_JSON = "summary.json"
REPORT_XLSX = "report.xlsx"
ROLES = ("admin", "finance")  # who may run what-if simulations and read the year report


class SimulationError(ValueError):
    """A what-if run that cannot start (bad draft, bad year); the message says why."""


@dataclass
class SimulationResult:
    year: int
    draft: Policy
    draft_name: str
    comparison: dict[str, ProductComparison]
    fund: FundProjection
    summary: dict
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def check_draft(text: str, name: str) -> Policy:
    """The draft checked exactly as a policy file: SimulationError with the same message."""
    try:
        return parse_draft(text, name)
    except PolicyError as exc:
        raise SimulationError(str(exc)) from None


def _check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise SimulationError(f"year {year} is out of range")


def ledger_closing_fen(session, day: dt.date) -> int:  # noqa: ANN001
    """Fund balance at the end of ``day``: every ledger line up to it, outflows negative."""
    signed = case((LedgerLine.entry_type.in_(OUTFLOW), -LedgerLine.amount_fen), else_=LedgerLine.amount_fen)
    return int(session.execute(select(func.coalesce(func.sum(signed), 0)).where(LedgerLine.entry_date <= day)).scalar())


def enrolled_units(session, year: int) -> dict[str, tuple[int, int, int]]:  # noqa: ANN001
    """Per product: (enrollments, units, premiums fen) of enrollments starting in the year."""
    lo, hi = year_bounds(year)
    rows = session.execute(select(Enrollment.product, func.count(), func.sum(Enrollment.units),
                                  func.sum(Enrollment.premium_fen))
                           .where(Enrollment.start_date.between(lo, hi)).group_by(Enrollment.product)).all()
    return {p: (int(n), int(u or 0), int(f or 0)) for p, n, u, f in rows}


def fund_projection(session, year: int, draft: Policy, comparison: dict[str, ProductComparison]) -> FundProjection:  # noqa: ANN001
    units = enrolled_units(session, year)
    draft_contrib = sum(u * to_fen(draft.product(p).premium_per_unit) for p, (_, u, _) in units.items())
    actual_contrib = sum(f for _, _, f in units.values())
    return FundProjection(
        closing_fen=ledger_closing_fen(session, year_bounds(year)[1]),
        contributions_fen=draft_contrib, actual_contributions_fen=actual_contrib,
        projected_payouts_fen=sum(pc.draft.total_fen for pc in comparison.values()),
        actual_payouts_fen=sum(pc.actual.total_fen for pc in comparison.values()))


def simulate(db: Database, *, year: int, draft_text: str, draft_name: str, out_dir: Path | None = None,
             workers: int | None = None, progress: Callable[[int, int], None] | None = None,
             now: dt.datetime | None = None) -> SimulationResult:
    """Judge the year's decided claims again under the draft; store nothing; write the files."""
    import time

    started = time.perf_counter()
    _check_year(year)
    draft = check_draft(draft_text, draft_name)
    comparison = compare(())
    with batch_gc():
        simulate_rows(db.url, year, draft_text, draft_name, workers=workers, progress=progress,
                      sink=lambda rows: compare(rows, comparison))  # aggregated while the workers run
    with db.sessions() as s:
        fund = fund_projection(s, year, draft, comparison)
    label = {"file": draft_name, "version": draft.version}
    summary = summary_json(year, label, comparison, fund)
    summary["rule_messages"] = {d.code: {"zh": d.message.zh, "en": d.message.en} for d in draft.rules}
    summary["generated_at"] = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    result = SimulationResult(year, draft, draft_name, comparison, fund, summary)
    if out_dir is not None:
        result.files = write_simulation(result, Path(out_dir))
    result.seconds = time.perf_counter() - started
    return result


# ------------------------------------------------------------------ report.xlsx
def _zh(key: str) -> str:
    return ui(key, "zh")


SIDE_ROWS = (  # (label key, attribute getter on Side, money?)
    ("office.claims", lambda s: s.claims, False),
    ("office.approved", lambda s: s.by_status[APPROVED], False),
    ("office.pending", lambda s: s.by_status[PENDING_REVIEW], False),
    ("office.rejected", lambda s: s.by_status[REJECTED], False),
    ("office.total_payout", lambda s: s.total_fen, True),
    ("office.paid_claims", lambda s: len(s.paid), False),
    ("office.average_payout", lambda s: _avg(s), True),
    ("office.median_payout", lambda s: _median(s), True),
    ("office.cap_hits", lambda s: s.cap_hits, False),
    ("office.allowance_days", lambda s: s.allowance_days, False),
)


def _avg(s) -> int:  # noqa: ANN001
    from mutualaid.policy_office.figures import average_fen
    return average_fen(sum(s.paid), len(s.paid))


def _median(s) -> int:  # noqa: ANN001
    from mutualaid.policy_office.figures import median_fen
    return median_fen(s.paid)


def comparison_rows(pc: ProductComparison) -> list[tuple[str, int, int, int, bool]]:
    """(label key, actual, draft, change, money?) for the side-by-side table."""
    out = []
    for key, get, money in SIDE_ROWS:
        a, d = get(pc.actual), get(pc.draft)
        out.append((key, a, d, d - a, money))
    return out


def simulation_sheets(r: SimulationResult) -> list[Sheet]:
    product_zh = {p: ui(f"product.{p}", "zh") for p in r.comparison}
    summary_rows: list[list] = []
    band_rows: list[list] = []
    code_rows: list[list] = []
    member_rows: list[list] = []
    for p, pc in r.comparison.items():
        for key, a, d, ch, money in comparison_rows(pc):
            wrap = Fen if money else int
            summary_rows.append([product_zh[p], _zh(key), wrap(a), wrap(d), wrap(ch)])
        summary_rows.append([product_zh[p], _zh("office.members_better"), None, pc.better, None])
        summary_rows.append([product_zh[p], _zh("office.members_worse"), None, pc.worse, None])
        for label, _ in PAYOUT_BANDS:
            (ca, aa), (cd, ad) = pc.actual.by_band[label], pc.draft.by_band[label]
            band_rows.append([f"{p} {label}", ca, cd, Fen(aa), Fen(ad)])
        for code, a, d, ch in pc.code_changes():
            message = next((x.message.zh for x in r.draft.rules if x.code == code), "")
            code_rows.append([product_zh[p], f"{code} {message}".strip(), a, d, ch])
        for m, a, d, ch in pc.largest_changes():
            member_rows.append([product_zh[p], m, Fen(a), Fen(d), Fen(ch)])
    f = r.fund
    fund_rows = [
        [_zh("office.closing_balance"), Fen(f.closing_fen)],
        [_zh("office.contributions_actual"), Fen(f.actual_contributions_fen)],
        [_zh("office.contributions_draft"), Fen(f.contributions_fen)],
        [_zh("office.actual_payouts"), Fen(f.actual_payouts_fen)],
        [_zh("office.projected_payouts"), Fen(f.projected_payouts_fen)],
        [_zh("office.resulting_closing"), Fen(f.resulting_closing_fen)],
        [_zh("office.years_covered"), f.years_covered],
    ]
    return [
        Sheet(_zh("office.sheet_summary"),
              [_zh("office.product"), _zh("office.figure"), _zh("office.actual"), _zh("office.draft"), _zh("office.change")],
              summary_rows, widths={2: 28}),
        Sheet(_zh("office.sheet_bands"),
              [_zh("office.band"), _zh("office.band_claims_actual"), _zh("office.band_claims_draft"),
               _zh("office.band_amount_actual"), _zh("office.band_amount_draft")],
              band_rows, charts=[Chart(_zh("office.band_claims_chart"), 1, (2, 3)),
                                 Chart(_zh("office.band_amount_chart"), 1, (4, 5))], widths={1: 26}),
        Sheet(_zh("office.sheet_codes"),
              [_zh("office.product"), _zh("office.code"), _zh("office.actual"), _zh("office.draft"), _zh("office.change")],
              code_rows, charts=[Chart(_zh("office.codes_changed"), 2, (3, 4))]),
        Sheet(_zh("office.sheet_members"),
              [_zh("office.product"), _zh("office.member"), _zh("office.actual"), _zh("office.draft"), _zh("office.change")],
              member_rows, widths={2: 24}),
        Sheet(_zh("office.sheet_fund"), [_zh("office.fund"), _zh("office.amount")], fund_rows,
              charts=[Chart(_zh("office.fund"), 1, (2,))], widths={1: 30}),
    ]


def write_simulation(r: SimulationResult, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, xlsx_path = out_dir / SUMMARY_JSON, out_dir / REPORT_XLSX
    write_json(json_path, r.summary)
    write_workbook(xlsx_path, simulation_sheets(r))
    return [json_path, xlsx_path]
