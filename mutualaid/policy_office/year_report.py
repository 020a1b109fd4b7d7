"""The year report (年度报告): the figures the federation publishes for a year.

"The year's claims" are the claims whose event date (admission / diagnosis) is in the
year; "the year's members" the enrollments starting in it (an enrollment's policy
version is its start year). Amounts are integer fen here and two-decimal strings in
``summary.json``; largest payouts show masked ID numbers only.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import case, func, select

from mutualaid.claims.status import APPROVED, DECIDED, PENDING_REVIEW, REJECTED, RETURNED, WITHDRAWN
from mutualaid.i18n import ui
from mutualaid.idnumber import mask
from mutualaid.ledger.entries import EntryType
from mutualaid.ledger.importer import OUTFLOW
from mutualaid.money import fmt
from mutualaid.policy import policy_in_force
from mutualaid.policy_office.excel import Chart, Fen, Sheet, write_json, write_workbook
from mutualaid.policy_office.figures import PAYOUT_BANDS, PRODUCTS, average_fen, band_of
from mutualaid.policy_office.simulate import year_bounds
from mutualaid.store.db import Database
from mutualaid.store.models import Claim, Enrollment, LedgerLine

LARGEST = 10
TOP_DIAGNOSES = 10


def _pct(values: np.ndarray, q: float) -> str | None:
    """A percentile of whole days (linear interpolation), one decimal; None if empty."""
    if len(values) == 0:
        return None
    return f"{Decimal(str(float(np.percentile(values, q)))).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}"


def _ratio(num: int, den: int, scale: int = 1, places: str = "0.01") -> str | None:
    if not den:
        return None
    return f"{(Decimal(num * scale) / den).quantize(Decimal(places), rounding=ROUND_HALF_UP)}"


def _signed():
    return case((LedgerLine.entry_type.in_(OUTFLOW), -LedgerLine.amount_fen), else_=LedgerLine.amount_fen)


def build_year_report(db: Database, year: int, *, now: dt.datetime | None = None) -> dict:
    """Every figure of the year report, as summary.json holds them."""
    start, end = year_bounds(year)
    with db.sessions() as s:
        conn = s.connection()
        enr = pd.DataFrame(conn.execute(
            select(Enrollment.product, Enrollment.member_id, Enrollment.units, Enrollment.unit_id)
            .where(Enrollment.start_date.between(start, end))).all(),
            columns=["product", "member_id", "units", "unit_id"])
        claims = pd.DataFrame(conn.execute(
            select(Claim.claim_no, Claim.product, Claim.member_id_number, Claim.status, Claim.payout_fen,
                   Claim.submitted_date, Claim.decided_on, Claim.event_date, Claim.diagnosis_code)
            .where(Claim.event_date.between(start, end))).all(),
            columns=["claim_no", "product", "member", "status", "payout_fen", "submitted", "decided", "event",
                     "diagnosis"])
        paid_on = dict(conn.execute(
            select(LedgerLine.reference, func.min(LedgerLine.entry_date))
            .where(LedgerLine.entry_type == EntryType.PAYOUT, LedgerLine.reference.is_not(None))
            .group_by(LedgerLine.reference)).all())
        opening = int(s.execute(select(func.coalesce(func.sum(_signed()), 0))
                                .where(LedgerLine.entry_date < start)).scalar())
        flows = dict(s.execute(select(LedgerLine.entry_type, func.sum(LedgerLine.amount_fen))
                               .where(LedgerLine.entry_date.between(start, end))
                               .group_by(LedgerLine.entry_type)).all())
        paid_ledger = {p: int(v or 0) for p, v in s.execute(
            select(LedgerLine.product, func.sum(case((LedgerLine.entry_type == EntryType.REVERSAL, -LedgerLine.amount_fen),
                                                     else_=LedgerLine.amount_fen)))
            .where(LedgerLine.entry_date.between(start, end), LedgerLine.entry_type.in_((EntryType.PAYOUT, EntryType.REVERSAL)))
            .group_by(LedgerLine.product)).all()}

    members = {p: int(enr.loc[enr["product"] == p, "member_id"].nunique()) for p in PRODUCTS}
    units = {p: int(enr.loc[enr["product"] == p, "units"].sum()) for p in PRODUCTS}
    employers = int(enr["unit_id"].nunique())
    all_members = int(enr["member_id"].nunique())

    def status_counts(frame: pd.DataFrame) -> dict:
        c = frame["status"].value_counts()
        decided = int(c.reindex(list(DECIDED)).fillna(0).sum())
        returned, withdrawn = int(c.get(RETURNED, 0)), int(c.get(WITHDRAWN, 0))
        return {"received": int(len(frame)), "approved": int(c.get(APPROVED, 0)),
                "pending_review": int(c.get(PENDING_REVIEW, 0)), "rejected": int(c.get(REJECTED, 0)),
                "returned": returned, "withdrawn": withdrawn,
                "not_decided": int(len(frame)) - decided - returned - withdrawn}

    approved = claims[claims["status"] == APPROVED]
    paid = approved[approved["payout_fen"] > 0]
    per_product = {}
    for p in PRODUCTS:
        cp = claims[claims["product"] == p]
        ap = paid[paid["product"] == p]
        amount = int(ap["payout_fen"].sum())
        per_product[p] = {
            "members": members[p], "units": units[p], **status_counts(cp),
            "claims_paid": int(len(ap)), "amount_approved": fmt(amount, fen=True),
            "average_payout": fmt(average_fen(amount, len(ap)), fen=True),
            "claims_per_1000_members": _ratio(len(cp), members[p], 1000, "0.1"),
            "paid_in_ledger": fmt(paid_ledger.get(p, 0), fen=True),
        }
    total_amount = int(paid["payout_fen"].sum())
    overview = {
        "members_enrolled": all_members, "hosp_members": members["HOSP"], "women_members": members["WOMEN"],
        "units_enrolled": units["HOSP"] + units["WOMEN"], "employers": employers,
        **status_counts(claims), "claims_paid": int(len(paid)),
        "amount_approved": fmt(total_amount, fen=True),
        "average_payout": fmt(average_fen(total_amount, len(paid)), fen=True),
        "claims_per_1000_members": _ratio(len(claims), members["HOSP"] + members["WOMEN"], 1000, "0.1"),
        "paid_in_ledger": fmt(sum(paid_ledger.values()), fen=True),
    }

    largest = paid.sort_values(["payout_fen", "claim_no"], ascending=[False, True]).head(LARGEST)
    largest_rows = [{"claim_no": r.claim_no, "product": r.product, "member": mask(r.member),
                     "payout": fmt(int(r.payout_fen), fen=True)} for r in largest.itertuples()]

    by_month = []
    months = pd.to_datetime(paid["event"]).dt.month if len(paid) else pd.Series(dtype=int)
    for m in range(1, 13):
        sel = paid[months.to_numpy() == m] if len(paid) else paid
        by_month.append({"month": f"{year}-{m:02d}", "claims": int(len(sel)), "amount": fmt(int(sel["payout_fen"].sum()), fen=True)})

    bands = {label: [0, 0] for label, _ in PAYOUT_BANDS}
    for v in paid["payout_fen"].astype("int64"):
        b = bands[band_of(int(v))]
        b[0] += 1
        b[1] += int(v)
    by_band = [{"band": label, "claims": c, "amount": fmt(a, fen=True)} for label, (c, a) in bands.items()]

    groups = claims["diagnosis"].fillna("").str.upper().str.slice(0, 3)
    diag = claims.assign(group=groups)[groups != ""]
    top = (diag.groupby("group").agg(claims=("claim_no", "size"),
                                     amount=("payout_fen", lambda x: int(x[diag.loc[x.index, "status"] == APPROVED].sum())))
           .reset_index().sort_values(["claims", "group"], ascending=[False, True]).head(TOP_DIAGNOSES))
    diagnoses = [{"group": r.group, "claims": int(r.claims), "amount": fmt(int(r.amount), fen=True)} for r in top.itertuples()]

    inflows = {k: int(v) for k, v in flows.items() if k not in OUTFLOW and k != EntryType.ADJUSTMENT}
    outflows = {k: int(v) for k, v in flows.items() if k in OUTFLOW}
    adjustments = int(flows.get(EntryType.ADJUSTMENT, 0))
    closing = opening + sum(inflows.values()) - sum(outflows.values()) + adjustments
    fund = {"opening": fmt(opening, fen=True),
            "inflows": {k: fmt(v, fen=True) for k, v in sorted(inflows.items())},
            "outflows": {k: fmt(v, fen=True) for k, v in sorted(outflows.items())},
            "adjustments": fmt(adjustments, fen=True),
            "total_inflows": fmt(sum(inflows.values()), fen=True),
            "total_outflows": fmt(sum(outflows.values()), fen=True),
            "closing": fmt(closing, fen=True)}

    decided = claims[claims["decided"].notna()]
    to_decision = np.array([(d - s).days for s, d in zip(decided["submitted"], decided["decided"])], dtype=float)
    pay = [(r.submitted, r.decided, paid_on.get(r.claim_no)) for r in paid.itertuples()]
    pay_known = [(s_, d, p) for s_, d, p in pay if p is not None]
    to_payment = np.array([(p - s_).days for s_, _, p in pay_known], dtype=float)
    promise = policy_in_force(end).service_promise_working_days
    within = sum(1 for _, d, p in pay_known
                 if d is not None and np.busday_count(np.datetime64(d, "D"), np.datetime64(p, "D")) <= promise)
    timing = {
        "to_decision_median_days": _pct(to_decision, 50), "to_decision_p90_days": _pct(to_decision, 90),
        "to_payment_median_days": _pct(to_payment, 50), "to_payment_p90_days": _pct(to_payment, 90),
        "paid_claims": len(pay), "paid_claims_with_payment": len(pay_known),
        "paid_within_promise": within,
        "share_paid_within_promise": _ratio(within, len(pay), 100, "0.1"),
        "promise_working_days": promise,
    }
    return {"year": year, "overview": overview, "products": per_product, "largest_payouts": largest_rows,
            "by_month": by_month, "by_band": by_band, "top_diagnoses": diagnoses, "fund": fund, "timing": timing,
            "generated_at": (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")}


def _fen(text: str) -> Fen:
    whole, _, frac = text.lstrip("-").partition(".")
    v = int(whole) * 100 + int(frac or 0)
    return Fen(-v if text.startswith("-") else v)


def year_sheets(r: dict) -> list[Sheet]:
    z = lambda k: ui(k, "zh")  # noqa: E731
    o = r["overview"]
    overview_rows = [[_label(k), _fen(v) if _is_money(k) else v] for k, v in o.items()]
    for p, f in r["products"].items():
        for k, v in f.items():
            overview_rows.append([f"{ui('product.' + p, 'zh')} {_label(k)}", _fen(v) if _is_money(k) else v])
    for k, v in r["timing"].items():
        overview_rows.append([_label(k), v])
    return [
        Sheet(z("year.sheet_overview"), [z("office.figure"), z("office.value")], overview_rows, widths={1: 34}),
        Sheet(z("year.sheet_months"), [z("year.month"), z("year.claims"), z("year.amount")],
              [[m["month"], m["claims"], _fen(m["amount"])] for m in r["by_month"]],
              charts=[Chart(z("year.by_month"), 1, (3,))]),
        Sheet(z("year.sheet_bands"), [z("office.band"), z("year.claims"), z("year.amount")],
              [[b["band"], b["claims"], _fen(b["amount"])] for b in r["by_band"]],
              charts=[Chart(z("year.by_band"), 1, (2,))], widths={1: 24}),
        Sheet(z("year.sheet_diagnoses"), [z("year.group"), z("year.claims"), z("year.amount")],
              [[d["group"], d["claims"], _fen(d["amount"])] for d in r["top_diagnoses"]],
              charts=[Chart(z("year.diagnoses"), 1, (2,))]),
        Sheet(z("year.sheet_largest"), [z("year.claim_no"), z("office.product"), z("office.member"), z("year.amount")],
              [[x["claim_no"], x["product"], x["member"], _fen(x["payout"])] for x in r["largest_payouts"]],
              widths={1: 22, 3: 24}),
        Sheet(z("year.sheet_fund"), [z("year.fund"), z("year.amount")], _fund_rows(r["fund"]),
              charts=[Chart(z("year.fund"), 1, (2,))], widths={1: 26}),
    ]


_MONEY_KEYS = ("amount", "payout", "paid_in_ledger")


def _is_money(key: str) -> bool:
    return any(m in key for m in _MONEY_KEYS)


def _label(key: str) -> str:
    """Chinese label of a figure (year.k.<key> in the translation table), else the key."""
    text = ui(f"year.k.{key}", "zh")
    return key if text == f"year.k.{key}" else text


def _fund_rows(f: dict) -> list[list]:
    rows = [[ui("year.opening", "zh"), _fen(f["opening"])]]
    rows += [[f"{ui('year.inflows', 'zh')} {k}", _fen(v)] for k, v in f["inflows"].items()]
    rows += [[f"{ui('year.outflows', 'zh')} {k}", _fen(v)] for k, v in f["outflows"].items()]
    rows.append([ui("year.closing", "zh"), _fen(f["closing"])])
    return rows


def write_year_report(report: dict, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, xlsx_path = out_dir / "summary.json", out_dir / "report.xlsx"
    write_json(json_path, report)
    write_workbook(xlsx_path, year_sheets(report))
    return [json_path, xlsx_path]
