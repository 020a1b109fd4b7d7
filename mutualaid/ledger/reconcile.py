"""Monthly reconciliation of claim payouts with the fund ledger (spec: reconciliation.md).

Pure computation on two data frames; no database, no files (see ``report.py`` for
writing). Money is integer fen throughout; amounts become two-decimal text only in the
summary, through :func:`mutualaid.money.fmt`.

Inputs
------
``claims``: ``claim_no`` (unique, non-empty), ``product``, ``status``, ``payout_fen``
(int), ``decided_on`` (date or datetime64; missing when undecided).
``ledger``: ``voucher_no``, ``entry_date``, ``entry_type``, ``product`` (may be missing),
``amount_fen`` (int, as written in the file: positive, ``ADJUSTMENT`` signed),
``reference`` (may be missing). Lines dated after the month's last day are ignored.

Definitions (as of a day ``D``)
-------------------------------
* *approved payout as of D*: ``status == "APPROVED"``, ``payout_fen > 0`` and
  ``decided_on <= D``. Only the claim's current decision is known here, so "status as of
  D" is that decision if it was taken on or before D, and "not approved" otherwise. An
  ``APPROVED`` claim without ``decided_on`` is never an approved payout.
* *paid as of D*: sum of the claim's ``PAYOUT`` lines minus its ``REVERSAL`` lines with
  ``entry_date <= D``; a line belongs to the claim whose ``claim_no`` equals its
  ``reference`` exactly (no trimming or case folding: that is the import's job).

Items of month M (one row each)
-------------------------------
* every claim with a ``PAYOUT``/``REVERSAL`` line dated in M;
* every approved payout (as of M's last day) that was not ``MATCHED`` at the end of the
  previous month, i.e. that was not (approved as of that day and paid as of that day
  exactly its amount). This is computed from the data, so no previous run is needed;
* every ``PAYOUT``/``REVERSAL`` line dated in M whose reference is no claim (including a
  missing reference): ``item_key`` is its ``voucher_no``, ``claim_no`` its reference.

Status of a claim item, first rule that applies:

1. ``NOT_APPROVED`` -- not an approved payout as of M's last day (``REJECTED``,
   ``PENDING_REVIEW``, ``RECEIVED``, approved with payout 0, or approved after M). Its
   ``approved_fen`` is 0 (nothing was approved as of M), so ``difference_fen`` = paid.
2. ``MATCHED`` -- paid == approved.
3. ``UNPAID`` -- paid <= 0, with ``days_outstanding`` = M's last day - ``decided_on``.
4. ``UNDERPAID`` -- 0 < paid < approved.
5. ``DUPLICATE_PAYMENT`` -- paid > approved and two or more ``PAYOUT`` lines (dated
   <= M's last day) each equal to the approved amount.
6. ``OVERPAID`` -- paid > approved otherwise.

``UNKNOWN_CLAIM`` items have ``approved_fen`` 0 and ``paid_fen`` = the line's signed
amount (``PAYOUT`` +, ``REVERSAL`` -).

Edge cases, decided here
------------------------
* Fully reversed in M (or earlier) so paid = 0: ``UNPAID``; ``days_outstanding`` still
  counts from ``decided_on`` (the member has waited since the approval, not since the
  reversal).
* More reversed than paid (paid < 0, e.g. a reversal posted to the wrong claim):
  ``UNPAID`` as well, the negative ``paid_fen``/``difference_fen`` showing the anomaly.
* Paid before approval (paid while ``PENDING_REVIEW``, approved later): in the months
  before the approval the claim is ``NOT_APPROVED`` (it has a payout line but no
  approval); in the month of the approval it is an item again even without ledger
  activity (it was not ``MATCHED`` at the previous month's end) and gets its status by
  amounts -- typically ``MATCHED``, which closes it.
* Approved after M but paid in M: ``NOT_APPROVED`` in M, as the spec says.
* ``NOT_APPROVED`` claim whose payouts were fully reversed: still ``NOT_APPROVED`` in the
  month of the reversal (a payout line for an unapproved claim existed), now with
  ``paid_fen`` = ``difference_fen`` = 0 so finance sees it is settled; it is no item in
  later months (no line dated there, not an approved payout).
* Reversal and re-payment (PAYOUT a, REVERSAL a, PAYOUT a): paid = a, ``MATCHED``; not a
  duplicate because the paid amount is not above the approved one.
* ``vouchers`` lists every ``PAYOUT``/``REVERSAL`` line of the claim dated <= M's last
  day (the lines that make up ``paid_fen``), sorted and ``;``-joined; empty when none.
  Hence every such line dated in M is in exactly one item's ``vouchers``.

Fund roll-forward
-----------------
``opening`` = signed sum of all lines dated before M's first day; ``inflows`` and
``outflows`` of M by entry type; ``closing`` = opening + inflows - outflows, which is
also the signed sum of all lines dated <= M's last day (checked). Sign: ``OPENING_BALANCE``,
``CONTRIBUTION``, ``SUBSIDY``, ``INTEREST``, ``REVERSAL`` in; ``PAYOUT``, ``FEE`` out;
``ADJUSTMENT`` lines are split by their sign: positive ones are reported under
``inflows.ADJUSTMENT``, negative ones (as a positive figure) under ``outflows.ADJUSTMENT``.
Every entry type appears under its side(s) even when zero, so the summary has a fixed shape.

Per product (summary ``by_product``): ``approved`` = approved payouts decided in M (by
the claim's product); ``paid`` = ``PAYOUT`` - ``REVERSAL`` lines dated in M, by the line's
product, or the claim's product when the line has none (lines with neither are under
``UNSPECIFIED``); ``difference`` = paid - approved. Products listed: every product found in
the claims or the ledger, in code order.

Item order (deterministic, independent of the input row order): by status in
``STATUS_ORDER`` (``UNPAID`` first, then the other exceptions, ``MATCHED`` last); within
``UNPAID`` the longest outstanding first; then by ``claim_no``, then ``item_key``
(codepoint order). The "late" threshold (15 working days) needs a working-day calendar
that is not part of the policy data, so the report sorts the oldest first rather than
flagging a threshold.

Performance: one hash lookup of the ledger references in the claim numbers
(``Index.get_indexer``, the core of a merge), integer aggregation with numpy, one sort of
the item claim numbers as fixed-width unicode, and voucher joining by position within
the claim (a loop over the largest number of lines per claim, never per claim).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mutualaid.dates import month_bounds
from mutualaid.money import fmt

# --- vocabulary -------------------------------------------------------------------------

OPENING_BALANCE = "OPENING_BALANCE"
CONTRIBUTION = "CONTRIBUTION"
SUBSIDY = "SUBSIDY"
INTEREST = "INTEREST"
PAYOUT = "PAYOUT"
REVERSAL = "REVERSAL"
FEE = "FEE"
ADJUSTMENT = "ADJUSTMENT"

ENTRY_TYPES: tuple[str, ...] = (
    OPENING_BALANCE, CONTRIBUTION, SUBSIDY, INTEREST, PAYOUT, REVERSAL, FEE, ADJUSTMENT,
)
INFLOW_TYPES: tuple[str, ...] = (OPENING_BALANCE, CONTRIBUTION, SUBSIDY, INTEREST, REVERSAL, ADJUSTMENT)
OUTFLOW_TYPES: tuple[str, ...] = (PAYOUT, FEE, ADJUSTMENT)
# sign of a line's amount in the fund balance; ADJUSTMENT keeps the sign it was written with
_FUND_SIGN = np.array([1 if t in (OPENING_BALANCE, CONTRIBUTION, SUBSIDY, INTEREST, REVERSAL, ADJUSTMENT)
                       else -1 for t in ENTRY_TYPES], dtype=np.int64)

MATCHED = "MATCHED"
UNPAID = "UNPAID"
UNDERPAID = "UNDERPAID"
OVERPAID = "OVERPAID"
DUPLICATE_PAYMENT = "DUPLICATE_PAYMENT"
NOT_APPROVED = "NOT_APPROVED"
UNKNOWN_CLAIM = "UNKNOWN_CLAIM"

#: report order: what needs action first, MATCHED last
STATUS_ORDER: tuple[str, ...] = (
    UNPAID, DUPLICATE_PAYMENT, OVERPAID, UNDERPAID, NOT_APPROVED, UNKNOWN_CLAIM, MATCHED,
)
_ST = {s: i for i, s in enumerate(STATUS_ORDER)}

APPROVED = "APPROVED"  # claim status
NO_PRODUCT = "UNSPECIFIED"  # by_product key for ledger lines without product or claim

ITEM_COLUMNS: tuple[str, ...] = (
    "item_key", "claim_no", "product", "status", "approved_fen", "paid_fen",
    "difference_fen", "vouchers", "days_outstanding",
)
CLAIM_COLUMNS = ("claim_no", "product", "status", "payout_fen", "decided_on")
LEDGER_COLUMNS = ("voucher_no", "entry_date", "entry_type", "product", "amount_fen", "reference")


@dataclass(frozen=True)
class Reconciliation:
    """Result of :func:`reconcile` for one month.

    ``items``: one row per item, columns :data:`ITEM_COLUMNS`, in report order.
    ``summary``: JSON-ready dict (amounts as two-decimal strings, counts as int).
    """

    month: str
    first_day: dt.date
    last_day: dt.date
    items: pd.DataFrame
    summary: dict[str, Any]


# --- helpers ----------------------------------------------------------------------------

def _require(df: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks columns: {', '.join(missing)}")


def _days(values: pd.Series) -> np.ndarray:
    """Dates (date objects, text, datetime64 of any unit) -> datetime64[D]; missing -> NaT."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    elif not np.issubdtype(values.dtype, np.datetime64):
        values = pd.to_datetime(values)
    return values.to_numpy().astype("datetime64[D]")


def _int64(values: pd.Series, what: str) -> np.ndarray:
    try:
        return values.to_numpy(dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be whole fen without missing values") from exc


def _objects(values: pd.Series) -> np.ndarray:
    """Text column -> object ndarray with None for missing (NaN/NA/None)."""
    return values.to_numpy(dtype=object, na_value=None)


def _at(values: np.ndarray, index: np.ndarray, default: Any) -> np.ndarray:
    """``values[index]`` where ``index >= 0``, ``default`` elsewhere (-1: no such row)."""
    out = np.full(len(index), default, dtype=values.dtype)
    hit = index >= 0
    out[hit] = values[index[hit]]
    return out


def _blank(values: np.ndarray) -> np.ndarray:
    return pd.isna(values) | (values == "")


def _sum_by(keys: np.ndarray, amounts: np.ndarray, size: int) -> np.ndarray:
    """Exact int64 sum of ``amounts`` per integer key in ``range(size)``."""
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, keys, amounts)
    return out


def _text_rank(values: np.ndarray) -> np.ndarray:
    """Rank of each text in codepoint order (None first); stable for equal texts."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    missing = pd.isna(values)
    filled = np.where(missing, "", values)
    order = np.argsort(filled.astype(str), kind="stable")
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    return rank


def _join_vouchers(groups: np.ndarray, vouchers: np.ndarray, size: int) -> np.ndarray:
    """For each group in ``range(size)``: its vouchers sorted and joined by ';' ('' if none).

    Vectorised: single-line groups are assigned directly; for groups with several lines
    the lines are sorted by (group, voucher) and appended position by position.
    """
    out = np.full(size, "", dtype=object)
    if len(groups) == 0:
        return out
    counts = np.bincount(groups, minlength=size)
    single = counts[groups] == 1
    out[groups[single]] = vouchers[single]
    if single.all():
        return out
    multi = pd.DataFrame({"g": groups[~single], "v": pd.array(vouchers[~single], dtype=object)})
    multi = multi.sort_values(["g", "v"], kind="stable")
    g = multi["g"].to_numpy()
    v = multi["v"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    lengths = np.diff(np.r_[starts, len(g)])
    pos = np.arange(len(g)) - np.repeat(starts, lengths)
    by_pos = np.argsort(pos, kind="stable")  # group order kept within each position
    bounds = np.searchsorted(pos[by_pos], np.arange(pos.max() + 2))
    first = by_pos[bounds[0]:bounds[1]]
    out[g[first]] = v[first]
    for k in range(1, len(bounds) - 1):
        sl = by_pos[bounds[k]:bounds[k + 1]]
        out[g[sl]] = out[g[sl]] + ";" + v[sl]
    return out


# --- the use case -------------------------------------------------------------------------

def reconcile(month: str, claims: pd.DataFrame, ledger: pd.DataFrame) -> Reconciliation:
    """Reconcile month ``month`` ('YYYY-MM'), as of its last day. See the module doc."""
    first_day, last_day = month_bounds(month)
    first = np.datetime64(first_day, "D")
    last = np.datetime64(last_day, "D")
    _require(claims, CLAIM_COLUMNS, "claims")
    _require(ledger, LEDGER_COLUMNS, "ledger")

    # ---- ledger: types, signs, roll-forward ------------------------------------------
    type_code = pd.Categorical(ledger["entry_type"], categories=list(ENTRY_TYPES)).codes.astype(np.int64)
    if (type_code < 0).any():
        bad = sorted({str(x) for x in ledger["entry_type"][type_code < 0]})
        raise ValueError(f"unknown ledger entry types: {', '.join(bad)}")
    amount = _int64(ledger["amount_fen"], "ledger amount_fen")
    entry_date = _days(ledger["entry_date"])
    if np.isnat(entry_date).any():
        raise ValueError("ledger lines without entry_date")
    signed = amount * _FUND_SIGN[type_code]
    before = entry_date < first
    upto = entry_date <= last
    in_month = upto & ~before

    opening = int(signed[before].sum())
    by_type = _sum_by(type_code[in_month], amount[in_month], len(ENTRY_TYPES))
    adj = in_month & (type_code == ENTRY_TYPES.index(ADJUSTMENT))
    adj_in = int(amount[adj & (amount > 0)].sum())
    adj_out = -int(amount[adj & (amount < 0)].sum())
    inflows = {t: int(by_type[ENTRY_TYPES.index(t)]) for t in INFLOW_TYPES if t != ADJUSTMENT}
    inflows[ADJUSTMENT] = adj_in
    outflows = {t: int(by_type[ENTRY_TYPES.index(t)]) for t in OUTFLOW_TYPES if t != ADJUSTMENT}
    outflows[ADJUSTMENT] = adj_out
    total_in, total_out = sum(inflows.values()), sum(outflows.values())
    closing = opening + total_in - total_out
    if closing != int(signed[upto].sum()):  # an identity; guards the sign table
        raise AssertionError("roll-forward does not close")

    # ---- payout / reversal lines up to the month's last day ------------------------------
    pr_rows = np.flatnonzero(
        upto & ((type_code == ENTRY_TYPES.index(PAYOUT)) | (type_code == ENTRY_TYPES.index(REVERSAL)))
    )
    pr_is_payout = type_code[pr_rows] == ENTRY_TYPES.index(PAYOUT)
    pr_amount = amount[pr_rows]
    pr_paid = np.where(pr_is_payout, pr_amount, -pr_amount)  # contribution to "paid"
    pr_in_month = entry_date[pr_rows] >= first
    pr_voucher = _objects(ledger["voucher_no"])[pr_rows]
    pr_ref = _objects(ledger["reference"])[pr_rows]
    pr_product = _objects(ledger["product"])[pr_rows]

    claim_index = pd.Index(claims["claim_no"])
    if claim_index.hasnans:
        raise ValueError("claims without claim_no")
    if not claim_index.is_unique:
        dup = claim_index[claim_index.duplicated()].unique()[:5]
        raise ValueError(f"claim_no is not unique: {', '.join(map(str, dup))}")
    n = len(claim_index)
    if n and len(pr_rows):
        pr_claim = claim_index.get_indexer(pd.Index(pr_ref, dtype=claim_index.dtype))
    else:
        pr_claim = np.full(len(pr_rows), -1, dtype=np.intp)
    known = pr_claim >= 0

    # ---- claims ----------------------------------------------------------------------
    payout = _int64(claims["payout_fen"], "claims payout_fen")
    decided = _days(claims["decided_on"])
    approved = claims["status"].eq(APPROVED).to_numpy(dtype=bool, na_value=False) & (payout > 0)
    approved_now = approved & (decided <= last)
    approved_prev = approved & (decided < first)

    kc = pr_claim[known]
    k_paid = pr_paid[known]
    k_in_month = pr_in_month[known]
    paid = _sum_by(kc, k_paid, n)
    paid_prev = _sum_by(kc[~k_in_month], k_paid[~k_in_month], n)
    active = np.bincount(kc[k_in_month], minlength=n) > 0
    k_dup = pr_is_payout[known] & (pr_amount[known] == payout[kc])
    full_payouts = np.bincount(kc[k_dup], minlength=n)

    matched_prev = approved_prev & (paid_prev == payout)
    include = active | (approved_now & ~matched_prev)
    ci = np.flatnonzero(include)

    c_paid = paid[ci]
    c_approved = np.where(approved_now[ci], payout[ci], 0)
    status_code = np.select(
        [~approved_now[ci], c_paid == c_approved, c_paid <= 0, c_paid < c_approved, full_payouts[ci] >= 2],
        [_ST[NOT_APPROVED], _ST[MATCHED], _ST[UNPAID], _ST[UNDERPAID], _ST[DUPLICATE_PAYMENT]],
        default=_ST[OVERPAID],
    )
    days_out = np.where(status_code == _ST[UNPAID], (last - decided[ci]).astype(np.int64), -1)

    line_sel = _at(include, pr_claim, False)
    vouchers_by_claim = _join_vouchers(pr_claim[line_sel], pr_voucher[line_sel], n)
    claim_no = _objects(claims["claim_no"])
    claim_product = _objects(claims["product"])

    # ---- unknown-claim lines of the month ----------------------------------------------
    ul = np.flatnonzero(~known & pr_in_month)

    # ---- assemble in report order ------------------------------------------------------
    k_claim_no = np.concatenate([claim_no[ci], pr_ref[ul]])
    k_item = np.concatenate([claim_no[ci], pr_voucher[ul]])
    k_status = np.concatenate([status_code, np.full(len(ul), _ST[UNKNOWN_CLAIM])])
    k_days = np.concatenate([days_out, np.full(len(ul), -1)])
    # claim items have unique claim_no; unknown items need (reference, voucher): rank each
    # kind separately (they never share a status) to sort fewer texts.
    tie = np.concatenate([_text_rank(claim_no[ci]),
                          np.lexsort((_text_rank(pr_voucher[ul]), _text_rank(pr_ref[ul]))).argsort()])
    order = np.lexsort((tie, -k_days, k_status))

    approved_fen = np.concatenate([c_approved, np.zeros(len(ul), dtype=np.int64)])[order]
    paid_fen = np.concatenate([c_paid, pr_paid[ul]])[order]
    status_sorted = k_status[order]
    days = k_days[order]
    items = pd.DataFrame({
        "item_key": pd.array(k_item[order], dtype="str"),
        "claim_no": pd.array(k_claim_no[order], dtype="str"),
        "product": pd.array(np.concatenate([claim_product[ci], pr_product[ul]])[order], dtype="str"),
        "status": pd.array(np.array(STATUS_ORDER, dtype=object)[status_sorted], dtype="str"),
        "approved_fen": approved_fen,
        "paid_fen": paid_fen,
        "difference_fen": paid_fen - approved_fen,
        "vouchers": pd.array(np.concatenate([vouchers_by_claim[ci], pr_voucher[ul]])[order], dtype="str"),
        "days_outstanding": pd.arrays.IntegerArray(np.maximum(days, 0), days < 0),
    })

    # ---- per product -------------------------------------------------------------------
    decided_in_month = approved & (decided >= first) & (decided <= last)
    line_product = pr_product[pr_in_month]
    fallback = _at(claim_product, pr_claim[pr_in_month], None)
    line_product = np.where(_blank(line_product), fallback, line_product)
    line_product = np.where(_blank(line_product), NO_PRODUCT, line_product)
    approved_product = claim_product[decided_in_month]
    approved_product = np.where(_blank(approved_product), NO_PRODUCT, approved_product)
    approved_by_product = pd.Series(payout[decided_in_month]).groupby(approved_product, sort=False).sum()
    paid_by_product = pd.Series(pr_paid[pr_in_month]).groupby(line_product, sort=False).sum()
    products = set(pd.unique(claims["product"].dropna())) | set(pd.unique(ledger["product"].dropna()))
    products = {p for p in products if p != ""} | set(paid_by_product.index) | set(approved_by_product.index)
    by_product = {}
    for p in sorted(products):
        a = int(approved_by_product.get(p, 0))
        pd_ = int(paid_by_product.get(p, 0))
        by_product[p] = {"approved": fmt(a, fen=True), "paid": fmt(pd_, fen=True), "difference": fmt(pd_ - a, fen=True)}

    # ---- per status --------------------------------------------------------------------
    count_st = np.bincount(status_sorted, minlength=len(STATUS_ORDER))
    approved_st = _sum_by(status_sorted, approved_fen, len(STATUS_ORDER))
    paid_st = _sum_by(status_sorted, paid_fen, len(STATUS_ORDER))
    by_status = {
        st: {"count": int(count_st[i]), "approved": fmt(int(approved_st[i]), fen=True),
             "paid": fmt(int(paid_st[i]), fen=True), "difference": fmt(int(paid_st[i] - approved_st[i]), fen=True)}
        for i, st in enumerate(STATUS_ORDER)
    }

    total_approved = int(approved_fen.sum())
    total_paid = int(paid_fen.sum())
    summary: dict[str, Any] = {
        "month": month,
        "first_day": first_day.isoformat(),
        "last_day": last_day.isoformat(),
        "items": {"count": len(items), "approved": fmt(total_approved, fen=True),
                  "paid": fmt(total_paid, fen=True), "difference": fmt(total_paid - total_approved, fen=True)},
        "by_status": by_status,
        "by_product": by_product,
        "roll_forward": {
            "opening": fmt(opening, fen=True),
            "inflows": {t: fmt(v, fen=True) for t, v in inflows.items()},
            "total_inflows": fmt(total_in, fen=True),
            "outflows": {t: fmt(v, fen=True) for t, v in outflows.items()},
            "total_outflows": fmt(total_out, fen=True),
            "closing": fmt(closing, fen=True),
        },
    }
    return Reconciliation(month=month, first_day=first_day, last_day=last_day, items=items, summary=summary)
