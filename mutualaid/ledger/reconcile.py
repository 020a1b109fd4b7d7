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
* *approved payout as of D*: ``status == APPROVED``, ``payout_fen > 0`` and
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
   ``PENDING_REVIEW``, ``RETURNED``, ``RECEIVED``, approved with payout 0, or approved after M). Its
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

Per product (summary ``by_product``): ``approved`` = approved payouts decided in M;
``paid`` = ``PAYOUT`` - ``REVERSAL`` lines dated in M; ``difference`` = paid - approved.
A line counts under its claim's product (so both sides use one classification and a
mislabelled ledger line cannot create a difference); a line of no known claim counts
under its own ``product``, or ``UNSPECIFIED`` when it has none. Listed: every product of
the given claims and of those lines, in code order (``UNSPECIFIED`` last, only if used).

Summary shape: ``month``, ``first_day``, ``last_day``; ``items`` (count, approved, paid,
difference over all items); ``by_status`` (every status, with count, approved, paid,
difference); ``by_product``; ``roll_forward`` (``opening``, ``inflows``/``outflows`` by
entry type, ``total_inflows``, ``total_outflows``, ``closing``). Amounts are two-decimal
strings, counts ints.

Item order (deterministic, independent of the input row order): by status in
``STATUS_ORDER`` (``UNPAID`` first, then the other exceptions, ``MATCHED`` last); within
``UNPAID`` the longest outstanding first; then by ``claim_no`` (for ``UNKNOWN_CLAIM``: the
reference, then the voucher), in codepoint order. The items put the oldest first and do
not flag lateness themselves; :func:`late_unpaid` lists those past the service promise
(``service_promise_working_days`` of the policy, given by the caller: this module reads no
files), counting Monday to Friday (public holidays are not in the policy data).

``items`` columns (:data:`ITEM_COLUMNS`): texts are pandas ``str`` (missing: NaN -- only
``claim_no``/``product`` of an ``UNKNOWN_CLAIM`` line without reference/product); amounts
int64 fen; ``days_outstanding`` nullable ``Int64`` (set for ``UNPAID`` only).

Performance: one hash lookup of the references in the claim numbers (as a merge does),
integer aggregation with numpy (``np.add.at``/``bincount``, exact int64), texts sorted as
packed fixed-width words, vouchers joined by position within the claim (a loop over the
largest number of lines of one claim, never over claims). 1M claims + 1M lines: about 2x
a bare ``merge`` of the two frames (``benchmarks/bench_reconcile.py``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from enum import StrEnum

import numpy as np
import pandas as pd

from mutualaid.claims.status import APPROVED  # the claim status an approved payout has
from mutualaid.dates import month_bounds
from mutualaid.ledger.entries import FUND_SIGN, EntryType
from mutualaid.money import fmt

# --- vocabulary -------------------------------------------------------------------------

# the entry types, named here as this module has always named them (spelled in ledger.entries)
OPENING_BALANCE, CONTRIBUTION, SUBSIDY, INTEREST, PAYOUT, REVERSAL, FEE, ADJUSTMENT = EntryType

ENTRY_TYPES: tuple[str, ...] = tuple(EntryType)
INFLOW_TYPES: tuple[str, ...] = (OPENING_BALANCE, CONTRIBUTION, SUBSIDY, INTEREST, REVERSAL, ADJUSTMENT)
OUTFLOW_TYPES: tuple[str, ...] = (PAYOUT, FEE, ADJUSTMENT)
# sign of a line's amount in the fund balance; ADJUSTMENT keeps the sign it was written with
_FUND_SIGN = np.array([FUND_SIGN[t] for t in ENTRY_TYPES], dtype=np.int64)



class ReconStatus(StrEnum):
    """The status of a reconciliation item (see above), in report order: what needs action
    first, ``MATCHED`` last."""

    def __repr__(self) -> str:  # prints as the text it was before the enum
        return repr(self.value)

    UNPAID = "UNPAID"
    DUPLICATE_PAYMENT = "DUPLICATE_PAYMENT"
    OVERPAID = "OVERPAID"
    UNDERPAID = "UNDERPAID"
    NOT_APPROVED = "NOT_APPROVED"
    UNKNOWN_CLAIM = "UNKNOWN_CLAIM"
    MATCHED = "MATCHED"


UNPAID, DUPLICATE_PAYMENT, OVERPAID, UNDERPAID, NOT_APPROVED, UNKNOWN_CLAIM, MATCHED = ReconStatus
#: report order
STATUS_ORDER: tuple[str, ...] = tuple(ReconStatus)
_ST = {s: i for i, s in enumerate(STATUS_ORDER)}

NO_PRODUCT = "UNSPECIFIED"  # by_product key for ledger lines without product or claim

ITEM_COLUMNS: tuple[str, ...] = (
    "item_key", "claim_no", "product", "status", "approved_fen", "paid_fen",
    "difference_fen", "vouchers", "days_outstanding",
)
CLAIM_COLUMNS = ("claim_no", "product", "status", "payout_fen", "decided_on")
LEDGER_COLUMNS = ("voucher_no", "entry_date", "entry_type", "product", "amount_fen", "reference")


@dataclass(frozen=True)
class Figures:
    """Count and integer-fen sums of a group of items (``difference`` = paid - approved)."""

    count: int = 0
    approved: int = 0
    paid: int = 0

    @property
    def difference(self) -> int:
        return self.paid - self.approved

    def __add__(self, other: "Figures") -> "Figures":
        return Figures(self.count + other.count, self.approved + other.approved, self.paid + other.paid)

    def as_summary(self, *, count: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"count": self.count} if count else {}
        out.update(approved=_money(self.approved), paid=_money(self.paid), difference=_money(self.difference))
        return out


def _add_maps(a: dict[str, Any], b: dict[str, Any], zero: Any) -> dict[str, Any]:
    return {k: a.get(k, zero) + b.get(k, zero) for k in (*a, *(k for k in b if k not in a))}


@dataclass(frozen=True)
class ReconTotals:
    """Every figure of a reconciliation's summary, in integer fen: a value that adds up.

    The totals of reconciliations over disjoint claims and ledger lines (each PAYOUT/REVERSAL
    line with the claim it names) add up, with ``+``, to the totals of the whole: the
    distributed job merges its partitions this way. :meth:`summary` renders the JSON shape.
    """

    by_status: dict[str, Figures]           # every status of STATUS_ORDER
    by_product: dict[str, Figures]          # count unused (0): approved decided in M, paid in M
    opening: int
    inflows: dict[str, int]                 # INFLOW_TYPES, in that order
    outflows: dict[str, int]                # OUTFLOW_TYPES, in that order

    @property
    def items(self) -> Figures:
        return sum(self.by_status.values(), Figures())

    @property
    def total_inflows(self) -> int:
        return sum(self.inflows.values())

    @property
    def total_outflows(self) -> int:
        return sum(self.outflows.values())

    @property
    def closing(self) -> int:
        return self.opening + self.total_inflows - self.total_outflows

    def __add__(self, other: "ReconTotals") -> "ReconTotals":
        return ReconTotals(by_status=_add_maps(self.by_status, other.by_status, Figures()),
                           by_product=_add_maps(self.by_product, other.by_product, Figures()),
                           opening=self.opening + other.opening,
                           inflows=_add_maps(self.inflows, other.inflows, 0),
                           outflows=_add_maps(self.outflows, other.outflows, 0))

    def summary(self, month: str, first_day: dt.date, last_day: dt.date) -> dict[str, Any]:
        """The JSON-ready summary (amounts as two-decimal strings, counts as int); shape in the module doc."""
        products = sorted(p for p in self.by_product if p != NO_PRODUCT)
        if NO_PRODUCT in self.by_product:
            products.append(NO_PRODUCT)
        return {
            "month": month,
            "first_day": first_day.isoformat(),
            "last_day": last_day.isoformat(),
            "items": self.items.as_summary(),
            "by_status": {st: self.by_status.get(st, Figures()).as_summary() for st in STATUS_ORDER},
            "by_product": {p: self.by_product[p].as_summary(count=False) for p in products},
            "roll_forward": {
                "opening": _money(self.opening),
                "inflows": {t: _money(self.inflows.get(t, 0)) for t in INFLOW_TYPES},
                "total_inflows": _money(self.total_inflows),
                "outflows": {t: _money(self.outflows.get(t, 0)) for t in OUTFLOW_TYPES},
                "total_outflows": _money(self.total_outflows),
                "closing": _money(self.closing),
            },
        }


@dataclass(frozen=True)
class Reconciliation:
    """Result of :func:`reconcile` for one month.

    ``items``: one row per item, columns :data:`ITEM_COLUMNS`, in report order.
    ``totals``: every summary figure in integer fen (:class:`ReconTotals`, adds up).
    ``summary``: JSON-ready dict rendered from ``totals`` (amounts as two-decimal strings, counts as int).
    """

    month: str
    first_day: dt.date
    last_day: dt.date
    items: pd.DataFrame
    totals: ReconTotals

    @cached_property
    def summary(self) -> dict[str, Any]:
        return self.totals.summary(self.month, self.first_day, self.last_day)


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


def _text(values: pd.Series) -> np.ndarray:
    """Text column as an object ndarray (no copy for pandas' string arrays).

    Missing values stay as they are (NaN, None or pd.NA): test with ``pd.isna``.
    """
    return values.to_numpy(dtype=object)


def _codes(vocabulary: tuple[str, ...] | list[str], values: pd.Series | np.ndarray) -> np.ndarray:
    """Position of each value in ``vocabulary`` (-1 when absent or missing): one hash pass."""
    return pd.Index(list(vocabulary), dtype=object).get_indexer(pd.Index(values, dtype=object))


def _at(values: np.ndarray, index: np.ndarray, default: Any) -> np.ndarray:
    """``values[index]`` where ``index >= 0``, ``default`` elsewhere (-1: no such row)."""
    out = np.full(len(index), default, dtype=values.dtype)
    hit = index >= 0
    out[hit] = values[index[hit]]
    return out


def _sum_by(keys: np.ndarray, amounts: np.ndarray, size: int) -> np.ndarray:
    """Exact int64 sum of ``amounts`` per integer key in ``range(size)``."""
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, keys, amounts)
    return out


def _text_order(values: np.ndarray) -> np.ndarray:
    """Indices that sort texts in codepoint order (missing as ''), stable for ties.

    The texts become fixed-width code units (bytes when all ASCII, else UCS-4), packed
    big-endian into 64-bit words, and are sorted by ``np.lexsort`` on those words: the
    same order as Python's ``str`` comparison, at integer-sort speed. (Trailing NUL
    characters are not significant, as in any numpy string; identifiers have none.)
    """
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    blank = pd.isna(values)
    if blank.any():
        values = np.where(blank, "", values)
    try:
        fixed = values.astype("S")
        units, per_word = np.uint8, 8
    except UnicodeEncodeError:
        fixed = values.astype("U")
        units, per_word = np.uint32, 2
    width = fixed.dtype.itemsize // np.dtype(units).itemsize
    padded = np.zeros((n, -(-width // per_word) * per_word), dtype=units)
    padded[:, :width] = fixed.view(units).reshape(n, width)  # shorter texts end in 0s
    if per_word == 8:
        words = padded.view(">u8")
    else:
        pairs = padded.astype(np.uint64).reshape(n, -1, 2)
        words = (pairs[:, :, 0] << np.uint64(32)) | pairs[:, :, 1]
    return np.lexsort([words[:, j] for j in range(words.shape[1] - 1, -1, -1)])


def _join_vouchers(groups: np.ndarray, vouchers: np.ndarray, size: int) -> np.ndarray:
    """For each group in ``range(size)``: its vouchers sorted and joined by ';' ('' if none).

    Vectorised: single-line groups are assigned directly; the lines of groups with several
    lines are sorted by (group, voucher) and appended position by position -- a loop over
    the largest number of lines of one group, not over groups.
    """
    out = np.full(size, "", dtype=object)
    if len(groups) == 0:
        return out
    counts = np.bincount(groups, minlength=size)
    single = counts[groups] == 1
    out[groups[single]] = vouchers[single]
    if single.all():
        return out
    g, v = groups[~single], vouchers[~single]
    by_voucher = _text_order(v)
    by_group = by_voucher[np.argsort(g[by_voucher], kind="stable")]
    g, v = g[by_group], v[by_group]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    pos = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    by_pos = np.argsort(pos, kind="stable")  # group order kept within each position
    bounds = np.searchsorted(pos[by_pos], np.arange(pos.max() + 2))
    for k in range(len(bounds) - 1):
        sl = by_pos[bounds[k]:bounds[k + 1]]
        out[g[sl]] = v[sl] if k == 0 else out[g[sl]] + ";" + v[sl]
    return out


def _money(fen: int) -> str:
    return fmt(int(fen), fen=True)


_STR = pd.StringDtype("python", na_value=np.nan)


def _str_column(values: np.ndarray) -> Any:
    """Object array of str (missing as NaN) -> pandas string array; validates, no copy."""
    return pd.arrays.StringArray(values, dtype=_STR)


def _nan_for_missing(values: np.ndarray) -> np.ndarray:
    return np.where(pd.isna(values), np.nan, values).astype(object)


# --- the use case -------------------------------------------------------------------------

def reconcile(month: str, claims: pd.DataFrame, ledger: pd.DataFrame) -> Reconciliation:
    """Reconcile month ``month`` ('YYYY-MM') as of its last day; rules in the module doc.

    ``claims`` should hold every claim (an unknown reference must be told from a known one);
    ``ledger`` may hold every line or only those up to the month's last day. Row order and
    text dtypes (``str``, ``string``, ``object``) do not matter.

    Raises ``ValueError`` for a malformed month, a missing column, a duplicate or missing
    ``claim_no``, an unknown ``entry_type``, a ledger line without ``entry_date``, or a
    missing / non-integer amount.
    """
    first_day, last_day = month_bounds(month)
    first = np.datetime64(first_day, "D")
    last = np.datetime64(last_day, "D")
    _require(claims, CLAIM_COLUMNS, "claims")
    _require(ledger, LEDGER_COLUMNS, "ledger")

    # ---- ledger: types, signs, roll-forward ------------------------------------------
    type_code = _codes(ENTRY_TYPES, ledger["entry_type"])
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
    inflows = {t: int(by_type[ENTRY_TYPES.index(t)]) for t in INFLOW_TYPES if t != ADJUSTMENT}
    inflows[ADJUSTMENT] = int(amount[adj & (amount > 0)].sum())
    outflows = {t: int(by_type[ENTRY_TYPES.index(t)]) for t in OUTFLOW_TYPES if t != ADJUSTMENT}
    outflows[ADJUSTMENT] = -int(amount[adj & (amount < 0)].sum())
    total_in, total_out = sum(inflows.values()), sum(outflows.values())
    closing = opening + total_in - total_out
    if closing != int(signed[upto].sum()):  # an identity; guards the sign table
        raise AssertionError("roll-forward does not close")

    # ---- payout / reversal lines up to the month's last day, matched to claims ----------
    pr_rows = np.flatnonzero(
        upto & ((type_code == ENTRY_TYPES.index(PAYOUT)) | (type_code == ENTRY_TYPES.index(REVERSAL)))
    )
    pr_is_payout = type_code[pr_rows] == ENTRY_TYPES.index(PAYOUT)
    pr_amount = amount[pr_rows]
    pr_paid = np.where(pr_is_payout, pr_amount, -pr_amount)  # contribution to "paid"
    pr_in_month = entry_date[pr_rows] >= first

    claim_index = pd.Index(claims["claim_no"])
    if claim_index.hasnans:
        raise ValueError("claims without claim_no")
    if not claim_index.is_unique:
        dup = claim_index[claim_index.duplicated()].unique()[:5]
        raise ValueError(f"claim_no is not unique: {', '.join(map(str, dup))}")
    n = len(claim_index)
    if n and len(pr_rows):
        pr_claim = claim_index.get_indexer(ledger["reference"].iloc[pr_rows])
    else:
        pr_claim = np.full(len(pr_rows), -1, dtype=np.intp)
    known = pr_claim >= 0

    # ---- claims: approval, paid amounts, inclusion, status ------------------------------
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
    k_full = pr_is_payout[known] & (pr_amount[known] == payout[kc])
    full_payouts = np.bincount(kc[k_full], minlength=n)

    matched_prev = approved_prev & (paid_prev == payout)
    include = active | (approved_now & ~matched_prev)
    claim_no = _text(claims["claim_no"])
    ci = np.flatnonzero(include)
    ci = ci[_text_order(claim_no[ci])]  # claim items in claim_no order

    c_paid = paid[ci]
    c_approved = np.where(approved_now[ci], payout[ci], 0)
    c_status = np.select(
        [~approved_now[ci], c_paid == c_approved, c_paid <= 0, c_paid < c_approved, full_payouts[ci] >= 2],
        [_ST[NOT_APPROVED], _ST[MATCHED], _ST[UNPAID], _ST[UNDERPAID], _ST[DUPLICATE_PAYMENT]],
        default=_ST[OVERPAID],
    )
    c_days = np.where(c_status == _ST[UNPAID], (last - decided[ci]).astype(np.int64), -1)

    # ---- unknown-claim lines of the month, in (reference, voucher) order -----------------
    voucher_no = _text(ledger["voucher_no"])
    reference = _text(ledger["reference"])
    ul = np.flatnonzero(~known & pr_in_month)
    ul = ul[_text_order(voucher_no[pr_rows[ul]])]
    ul = ul[_text_order(reference[pr_rows[ul]])]
    u_rows = pr_rows[ul]

    # ---- products as small integer codes (claims' products; lines' for unknown claims) ---
    claim_pcode, claim_products = pd.factorize(_text(claims["product"]), use_na_sentinel=True)
    line_product = _text(ledger["product"])
    u_product = line_product[u_rows]
    products = tuple(sorted({p for p in (*claim_products, *u_product) if isinstance(p, str) and p}))
    none = len(products)  # code of UNSPECIFIED
    claim_pcode = _at(_codes(products, claim_products), claim_pcode, -1)
    claim_pcode[claim_pcode < 0] = none
    u_pcode = _codes(products, u_product)
    u_pcode[u_pcode < 0] = none
    product_words = np.array([*products, np.nan], dtype=object)

    # ---- items in report order: status, longest outstanding first, then the text order ---
    status = np.concatenate([c_status, np.full(len(ul), _ST[UNKNOWN_CLAIM])])
    days = np.concatenate([c_days, np.full(len(ul), -1)])
    order = np.lexsort((-days, status))  # stable: keeps the text order within ties
    approved_fen = np.concatenate([c_approved, np.zeros(len(ul), dtype=np.int64)])[order]
    paid_fen = np.concatenate([c_paid, pr_paid[ul]])[order]
    status, days = status[order], days[order]
    # the UNKNOWN_CLAIM block is contiguous: claim items before it, unknown lines, the rest
    cut = int(np.searchsorted(status, _ST[UNKNOWN_CLAIM]))
    cut2 = cut + len(ul)
    ci_sorted = ci[order[order < len(ci)]]

    def column(from_claims: np.ndarray, from_lines: np.ndarray) -> np.ndarray:
        out = np.empty(len(order), dtype=object)
        out[:cut] = from_claims[ci_sorted[:cut]]
        out[cut:cut2] = from_lines
        out[cut2:] = from_claims[ci_sorted[cut:]]
        return out

    # vouchers: every payout/reversal line (<= last day) of an item's claim, joined in place
    item_of_claim = np.full(n, -1, dtype=np.int64)
    item_of_claim[ci_sorted] = np.r_[0:cut, cut2:len(order)]
    line_item = _at(item_of_claim, pr_claim, -1)
    line_sel = line_item >= 0
    vouchers_out = _join_vouchers(line_item[line_sel], voucher_no[pr_rows[line_sel]], len(order))
    vouchers_out[cut:cut2] = voucher_no[u_rows]
    claim_no_out = column(claim_no, _nan_for_missing(reference[u_rows]))
    item_key_out = claim_no_out.copy()
    item_key_out[cut:cut2] = voucher_no[u_rows]
    item_key_col = _str_column(item_key_out)
    claim_no_col = _str_column(claim_no_out)
    product_col = _str_column(product_words[column(claim_pcode, u_pcode).astype(np.int64)])
    status_col = _str_column(np.array([st.value for st in STATUS_ORDER], dtype=object)[status])
    vouchers_col = _str_column(vouchers_out)
    items = pd.DataFrame({
        "item_key": item_key_col,
        "claim_no": claim_no_col,
        "product": product_col,
        "status": status_col,
        "approved_fen": approved_fen,
        "paid_fen": paid_fen,
        "difference_fen": paid_fen - approved_fen,
        "vouchers": vouchers_col,
        "days_outstanding": pd.arrays.IntegerArray(np.maximum(days, 0), days < 0),
    }, copy=False)

    # ---- per status --------------------------------------------------------------------
    count_st = np.bincount(status, minlength=len(STATUS_ORDER))
    approved_st = _sum_by(status, approved_fen, len(STATUS_ORDER))
    paid_st = _sum_by(status, paid_fen, len(STATUS_ORDER))
    by_status = {st: Figures(int(count_st[i]), int(approved_st[i]), int(paid_st[i]))
                 for i, st in enumerate(STATUS_ORDER)}

    # ---- per product: approved decided in M, paid in M ---------------------------------
    decided_in_month = approved & (decided >= first) & (decided <= last)
    approved_p = _sum_by(claim_pcode[decided_in_month], payout[decided_in_month], none + 1)
    m_lines = np.flatnonzero(pr_in_month)
    m_pcode = _at(claim_pcode, pr_claim[m_lines], none)
    m_unknown = ~known[m_lines]
    if m_unknown.any():  # unknown lines of the month are exactly ul (same rows)
        m_pcode[np.searchsorted(m_lines, ul)] = u_pcode
    paid_p = _sum_by(m_pcode, pr_paid[m_lines], none + 1)
    used_none = bool((m_pcode == none).any() or (claim_pcode[decided_in_month] == none).any())
    by_product = {p: Figures(0, int(approved_p[i]), int(paid_p[i]))
                  for i, p in enumerate(products + ((NO_PRODUCT,) if used_none else ()))}

    totals = ReconTotals(by_status=by_status, by_product=by_product, opening=opening,
                         inflows=inflows, outflows=outflows)
    if totals.items != Figures(len(items), int(approved_fen.sum()), int(paid_fen.sum())):
        raise AssertionError("item totals do not add up")  # an identity; guards the per-status sums
    return Reconciliation(month=month, first_day=first_day, last_day=last_day, items=items, totals=totals)


def late_unpaid(rec: Reconciliation, promise: int) -> pd.DataFrame:
    """UNPAID items outstanding for more than ``promise`` working days (Mon–Fri) at month end;
    the promise is ``service_promise_working_days`` of the policy in force (the caller reads it)."""
    unpaid = rec.items[rec.items["status"] == UNPAID]
    if unpaid.empty:
        return unpaid
    last = np.datetime64(rec.last_day, "D")
    decided = last - unpaid["days_outstanding"].astype("int64").to_numpy().astype("timedelta64[D]")
    working = np.busday_count(decided, last)
    return unpaid[working > promise]
