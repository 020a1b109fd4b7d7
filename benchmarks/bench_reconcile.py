"""Benchmark: reconcile() on 1,000,000 approved claims and 1,000,000 ledger lines.

Targets (mutualaid.ledger.reconcile): under 30 s, and within 3x a bare
``claims.merge(ledger, left_on="claim_no", right_on="reference")`` of the same frames.

    .venv/bin/python benchmarks/bench_reconcile.py [--claims N] [--lines N] [--repeat R] [--write DIR]

The synthetic month is deliberately busy: claims are decided over February and March
2026 and paid 0-24 days after the decision, so most claims are items of March (paid in
March, or approved and not yet matched at the end of February). The ledger mixes payouts
(exact, short, duplicated), reversals and re-payments, payouts to unknown claim numbers,
contributions, subsidies, interest, fees and adjustments of both signs (plus one opening
balance line). Both frames are in random row order (the worst case for sorting items).
"""
from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mutualaid.ledger.reconcile import reconcile

MONTH = "2026-03"


def _text(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), width)).astype(object)


def make_data(n_claims: int, n_lines: int, seed: int = 20260331) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-02-01")
    # ---- claims: all approved with a positive payout, in shuffled order
    claim_no = _text("HZ2026", rng.permutation(n_claims), 8)
    product = np.where(rng.random(n_claims) < 0.7, "HOSP", "WOMEN").astype(object)
    payout = np.maximum(1, np.round(rng.lognormal(np.log(100_000), 1.0, n_claims))).astype(np.int64)
    decided = start + rng.integers(0, 59, n_claims).astype("timedelta64[D]")  # Feb 1 .. Mar 31
    claims = pd.DataFrame({
        "claim_no": claim_no, "product": product,
        "status": np.full(n_claims, "APPROVED", dtype=object),
        "payout_fen": payout, "decided_on": decided.astype("datetime64[s]"),
    })

    # ---- ledger: payout lines for most claims, then anomalies and fund lines
    n_other = max(n_lines // 50, 8)          # contributions, fees, ... (2 %)
    n_unknown = n_lines // 200               # payouts to unknown claim numbers (0.5 %)
    n_reversal = n_lines // 100              # reversals (1 %)
    n_repay = n_reversal // 2                # re-payments after a reversal
    n_dup = n_lines // 200                   # duplicate payouts
    n_pay = max(n_lines - n_other - n_unknown - n_reversal - n_repay - n_dup, 0)
    paid_claims = rng.choice(n_claims, size=min(n_pay, n_claims), replace=False)
    if n_pay > n_claims:  # more lines than claims: extra partial payouts
        paid_claims = np.concatenate([paid_claims, rng.integers(0, n_claims, n_pay - n_claims)])
    pay_amt = payout[paid_claims].copy()
    short = rng.random(len(paid_claims)) < 0.02
    pay_amt[short] = np.maximum(1, pay_amt[short] // 2)
    pay_date = decided[paid_claims] + rng.integers(0, 25, len(paid_claims)).astype("timedelta64[D]")

    rev_claims = rng.choice(paid_claims, n_reversal)
    rev_date = pay_date[:n_reversal] + 3  # any date near the payouts is fine
    repay_claims = rev_claims[:n_repay]
    dup_claims = rng.choice(paid_claims, n_dup)

    unk_ref = _text("XX2026", rng.integers(0, 10**8, n_unknown), 8)
    other_types = rng.choice(["CONTRIBUTION", "SUBSIDY", "INTEREST", "FEE", "ADJUSTMENT"], n_other)
    other_amt = rng.integers(1, 10**7, n_other)
    other_amt[other_types == "ADJUSTMENT"] *= rng.choice([-1, 1], (other_types == "ADJUSTMENT").sum())

    refs = np.concatenate([claim_no[paid_claims], claim_no[rev_claims], claim_no[repay_claims],
                           claim_no[dup_claims], unk_ref, np.full(n_other, None, dtype=object)])
    types = np.concatenate([
        np.full(len(paid_claims), "PAYOUT", dtype=object), np.full(n_reversal, "REVERSAL", dtype=object),
        np.full(n_repay + n_dup + n_unknown, "PAYOUT", dtype=object), other_types.astype(object)])
    amounts = np.concatenate([pay_amt, payout[rev_claims], payout[repay_claims], payout[dup_claims],
                              rng.integers(1, 10**6, n_unknown), other_amt]).astype(np.int64)
    dates = np.concatenate([
        pay_date, rev_date, rev_date[:n_repay] + 5,
        decided[dup_claims] + rng.integers(0, 25, n_dup).astype("timedelta64[D]"),
        start + rng.integers(0, 75, n_unknown).astype("timedelta64[D]"),
        start + rng.integers(-30, 75, n_other).astype("timedelta64[D]")])
    prod = np.concatenate([product[paid_claims], product[rev_claims], product[repay_claims],
                           product[dup_claims], np.full(n_unknown + n_other, None, dtype=object)])
    # one opening balance at the start of the year keeps the fund positive
    refs = np.concatenate([refs, [None]])
    types = np.concatenate([types, ["OPENING_BALANCE"]])
    amounts = np.concatenate([amounts, [int(payout.sum() * 2)]])
    dates = np.concatenate([dates, [np.datetime64("2026-01-01")]])
    prod = np.concatenate([prod, [None]])
    m = len(refs)
    order = rng.permutation(m)
    ledger = pd.DataFrame({
        "voucher_no": _text("JZ", np.arange(m), 9)[order],
        "entry_date": dates.astype("datetime64[s]")[order],
        "entry_type": types[order],
        "product": prod[order],
        "amount_fen": amounts[order],
        "reference": refs[order],
    })
    return claims, ledger


def _run(fn) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=1_000_000)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", type=Path, metavar="DIR", help="also time write_reports() into DIR")
    args = ap.parse_args()

    t0 = time.perf_counter()
    claims, ledger = make_data(args.claims, args.lines)
    print(f"data: {len(claims):,} approved claims, {len(ledger):,} ledger lines "
          f"(generated in {time.perf_counter() - t0:.1f} s; pandas {pd.__version__}, numpy {np.__version__})")

    # interleaved, best of --repeat: a busy machine slows both sides alike
    merge_wall, merge_cpu, rec_wall, rec_cpu = [], [], [], []
    for _ in range(args.repeat):
        w, c, merged = _run(lambda: claims.merge(ledger, left_on="claim_no", right_on="reference"))
        merge_wall.append(w)
        merge_cpu.append(c)
        del merged
        w, c, rec = _run(lambda: reconcile(MONTH, claims, ledger))
        rec_wall.append(w)
        rec_cpu.append(c)
    n_merged = len(claims.merge(ledger, left_on="claim_no", right_on="reference"))
    print(f"bare merge: {min(merge_wall):7.3f} s wall  {min(merge_cpu):7.3f} s cpu  ({n_merged:,} rows)")
    print(f"reconcile : {min(rec_wall):7.3f} s wall  {min(rec_cpu):7.3f} s cpu  ({len(rec.items):,} items of {MONTH})")
    print(f"ratio     : {min(rec_wall) / min(merge_wall):7.2f}x wall {min(rec_cpu) / min(merge_cpu):7.2f}x cpu"
          f"   (target: <= 3x and < 30 s)")
    print("items by status:", {s: v["count"] for s, v in rec.summary["by_status"].items()})
    rf = rec.summary["roll_forward"]
    print(f"roll-forward: opening {rf['opening']} + in {rf['total_inflows']} - out {rf['total_outflows']}"
          f" = closing {rf['closing']}")
    if args.write:
        from mutualaid.ledger.report import write_reports

        t0 = time.perf_counter()
        paths = write_reports(rec, args.write, generated_at=dt.datetime.now(dt.timezone.utc))
        print(f"write_reports: {time.perf_counter() - t0:.1f} s -> "
              + ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in paths))


if __name__ == "__main__":
    main()
