"""The fund ledger from the opening balance to the last batch month's end.

It pays the claims the estimate (:mod:`mutualaid.generate.estimate`, the real
adjudication) finds ``APPROVED`` with a payout, decided on the last day of their batch's
month; payment follows 3–20 days later (a few 5–11 weeks later). Claims that go to review
are not paid. A few payouts are returned (``REVERSAL``) and paid again; exactly one claim
is paid twice (what the reconciliation must find). Besides: the opening balance, one
``CONTRIBUTION`` per unit, product and start date (reference = unit code, amounts = the
roster's premiums), four subsidies, a monthly bank ``FEE`` and monthly ``INTEREST``.
Vouchers ``V2025-000001``…, numbered per year.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from mutualaid.claims.status import APPROVED
from mutualaid.generate.claims import Claim
from mutualaid.generate.days import date_of, day_number, month_end, years_of
from mutualaid.generate.draws import Stream
from mutualaid.generate.people import PRODUCTS, World
from mutualaid.generate.scales import MAIN_YEAR, YEAR_END, YEAR_START
from mutualaid.generate.writing import date_texts, fen_texts
from mutualaid.ledger.entries import INFLOW
from mutualaid.ledger.entries import EntryType as E
from mutualaid.policy import Policy

INTEREST_PER_MONTH = (35, 120_000)          # 0.35 % a year on the month-end balance
TRANSFER_FEE_FEN = 100                      # bank fee per payout transfer
# entries of one day in this order (the opening balance first, the month's interest last)
ENTRY_ORDER = {t: k for k, t in enumerate((E.OPENING_BALANCE, E.CONTRIBUTION, E.SUBSIDY, E.PAYOUT, E.REVERSAL,
                                           E.FEE, E.INTEREST))}
INFLOW_TYPES = [str(t) for t in INFLOW]   # the one sign table's inflows (mutualaid.ledger.entries)


def make_ledger(rng: np.random.Generator, w: World, claims: list[Claim],
                pols: dict[int, Policy]) -> tuple[dict[str, list], dict[str, int]]:
    """The ledger's columns (in date order, vouchers numbered per year) and fen per entry type."""
    last_month = max(date_of(c.submitted) for c in claims) if claims else YEAR_END
    end = day_number(month_end(last_month))
    first = day_number(YEAR_START)
    stream = Stream(rng)
    # columns of the entries: date, type, product, fen, reference, memo
    dates: list[np.ndarray] = []
    types: list[np.ndarray] = []
    prods: list[np.ndarray] = []
    fens: list[np.ndarray] = []
    refs: list[np.ndarray] = []
    memos: list[np.ndarray] = []

    def add(d, t, p, f, r, m) -> None:  # noqa: ANN001 — scalars or equally long arrays
        n = len(d) if isinstance(d, np.ndarray) else 1
        for store, v, kind in ((dates, d, np.int64), (types, t, object), (prods, p, object), (fens, f, np.int64),
                               (refs, r, object), (memos, m, object)):
            store.append(v.astype(kind) if isinstance(v, np.ndarray) else np.full(n, v, dtype=kind))

    def add_rows(rows: list[tuple]) -> None:
        """Entries given as (date, type, product, fen, reference, memo) tuples."""
        if rows:
            d, t, p, f, r, m = zip(*rows)
            add(np.asarray(d), np.asarray(t, dtype=object), np.asarray(p, dtype=object), np.asarray(f),
                np.asarray(r, dtype=object), np.asarray(m, dtype=object))

    opening = int(w.scale.hosp_members * 4500 + rng.integers(0, 100_000))
    add(first, str(E.OPENING_BALANCE), "", opening, "", "上年结转")

    # contributions: one line per unit, product and start date, paid around the start
    frame = pd.DataFrame({"unit": w.unit[w.e_person], "product": w.e_product, "start": w.e_start,
                          "fen": w.e_premium})
    g = frame.groupby(["start", "unit", "product"], sort=True)["fen"].sum().reset_index()
    start = g["start"].to_numpy()
    product = g["product"].to_numpy()
    paid_on = np.clip(start + rng.integers(-20, 26, len(g)), first + 1, end)
    year = years_of(start)
    memo = np.empty(len(g), dtype=object)
    for y in np.unique(year).tolist():
        for k, prod in enumerate(PRODUCTS):
            memo[(year == y) & (product == k)] = f"{y}年度{pols[y].product(prod).name_zh}会费"
    add(paid_on, str(E.CONTRIBUTION), np.asarray(PRODUCTS, dtype=object)[product], g["fen"].to_numpy(),
        w.unit_code[g["unit"].to_numpy()], memo)

    # subsidies from the federation and the regional union, now and then
    for day, text in ((dt.date(2025, 3, 18), "市总工会互助保障专项补助"), (dt.date(2025, 9, 22), "自治区总工会补助资金"),
                      (dt.date(2025, 12, 16), "市总工会互助保障专项补助"), (dt.date(2026, 3, 17), "市总工会互助保障专项补助")):
        if day_number(day) <= end:
            add(day_number(day), str(E.SUBSIDY), "HOSP", int(w.scale.hosp_members * int(rng.integers(300, 800))), "", text)

    # payouts of the claims the estimate approves, after their batch's month end
    paid = sorted((c for c in claims if c.status == APPROVED and c.payout > 0), key=lambda c: c.claim_no)
    pay_lines: list[tuple[Claim, int]] = []
    for c in paid:
        decided = day_number(month_end(date_of(c.submitted)))
        late = stream.random() < 0.03
        delay = stream.integers(35, 80) if late else stream.integers(3, 21)
        if decided + delay <= end:
            pay_lines.append((c, decided + delay))
    memo_of = {p: f"{pols[MAIN_YEAR].product(p).name_zh}金" for p in PRODUCTS}
    rows: list[tuple] = [(d, str(E.PAYOUT), c.product, c.payout, c.claim_no, memo_of[c.product]) for c, d in pay_lines]
    # returned payouts (closed bank card) paid again, and exactly one duplicate payment
    early = [i for i, (_, d) in enumerate(pay_lines) if d <= end - 45]
    n_rev = min(len(early) - 1, max(1, round(len(pay_lines) * 0.003))) if len(early) > 1 else 0
    chosen = rng.choice(len(early), size=n_rev + 1, replace=False).tolist() if len(early) > 1 else []
    for j in chosen[:n_rev]:
        c, d = pay_lines[early[j]]
        back = d + stream.integers(4, 15)
        rows.append((back, str(E.REVERSAL), c.product, c.payout, c.claim_no, "银行卡已注销 款项退回"))
        rows.append((back + stream.integers(6, 25), str(E.PAYOUT), c.product, c.payout, c.claim_no, "更换银行卡后重新支付"))
    if chosen:
        c, d = pay_lines[early[chosen[-1]]]
        rows.append((d + stream.integers(1, 7), str(E.PAYOUT), c.product, c.payout, c.claim_no, memo_of[c.product]))
    add_rows(rows)

    # monthly transfer fees and interest on the month-end balance (computed in date order)
    d_all = np.concatenate(dates)
    t_all = np.concatenate(types)
    f_all = np.concatenate(fens)
    signed = np.where(np.isin(t_all, INFLOW_TYPES), f_all, -f_all)
    rank = np.asarray([ENTRY_ORDER[t] for t in t_all.tolist()])
    order = np.lexsort((rank, d_all))
    cum = np.cumsum(signed[order])
    sorted_dates = d_all[order]
    closing = month_end(YEAR_START)
    carried = 0   # fees and interest booked so far
    extra: list[tuple] = []
    while day_number(closing) <= end:
        me = day_number(closing)
        upto = int(np.searchsorted(sorted_dates, me, side="right"))
        ms = day_number(closing.replace(day=1))
        in_month = (sorted_dates[:upto] >= ms) & (t_all[order][:upto] == str(E.PAYOUT))
        balance = (int(cum[upto - 1]) if upto else 0) + carried
        transfers = int(in_month.sum())
        if transfers:
            fee = transfers * TRANSFER_FEE_FEN
            extra.append((me, str(E.FEE), "", fee, "", f"银行代发手续费 {transfers}笔"))
            balance -= fee
            carried -= fee
        num, den = INTEREST_PER_MONTH
        interest = balance * num // den if balance > 0 else 0
        if interest > 0:
            extra.append((me, str(E.INTEREST), "", interest, "", "活期存款利息"))
            carried += interest
        closing = month_end(closing + dt.timedelta(days=1))
    add_rows(extra)

    d_all = np.concatenate(dates)
    t_all = np.concatenate(types)
    rank = np.asarray([ENTRY_ORDER[t] for t in t_all.tolist()])
    order = np.lexsort((rank, d_all))   # stable: same day and type keep their order of creation
    d_sorted = d_all[order]
    year = years_of(d_sorted)
    starts = np.r_[0, np.flatnonzero(year[1:] != year[:-1]) + 1]
    serial = np.arange(len(year)) - np.repeat(starts, np.diff(np.r_[starts, len(year)])) + 1
    f_all = np.concatenate(fens)
    flows = {t: int(f_all[t_all == t].sum()) for t in ENTRY_ORDER}
    columns = {
        "entry_date": date_texts(d_sorted),
        "voucher_no": [f"V{y}-{k:06d}" for y, k in zip(year.tolist(), serial.tolist())],
        "entry_type": t_all[order], "product": np.concatenate(prods)[order], "amount": fen_texts(f_all[order]),
        "reference": np.concatenate(refs)[order], "memo": np.concatenate(memos)[order],
    }
    return columns, flows
