"""What-if speed (issue 18): a year of N decided claims judged again under a draft.

Set-up (not timed): the synthetic claims of bench_adjudicate (2026 events, HOSP 85 %,
WOMEN 15 %) stored in SQLite and marked decided (status APPROVED by the engine, in claim
order: the actual side's figures are not the point here). Timed: the whole what-if of
``mutualaid.policy_office.service.simulate`` with the example draft 2027 (worker start-up,
loading from the database, judging again, the figures, summary.json and report.xlsx).
Target: 1,000,000 claims in under 2 minutes on this machine, using both cores.

Usage: .venv/bin/python benchmarks/bench_simulate.py [--claims N] [--workers W] [--db URL]
Try a small N first (--claims 20000); --db keeps the prepared database for another run.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mutualaid.policy.loader import DRAFTS_DIR  # noqa: E402


def _prepare(url: str, n: int) -> None:
    from sqlalchemy import text

    from benchmarks.bench_adjudicate import store_cases, synthetic_cases
    from mutualaid.store.db import Database

    db = Database(url)
    store_cases(db, synthetic_cases(n))
    with db.transaction() as s:
        s.execute(text("UPDATE claims SET status = 'APPROVED', decided_by = 'engine', decision_seq = id, "
                       "decided_on = submitted_date, policy_version = product || '-2026'"))
    db.dispose()


def _cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--db", default=None, help="reuse (or keep) this SQLite database")
    args = ap.parse_args()
    from mutualaid.money import fmt
    from mutualaid.policy_office.service import simulate
    from mutualaid.store.db import Database

    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{tmp}/bench.db"
        fresh = args.db is None or not Path(url.removeprefix("sqlite:///")).exists()
        if fresh:
            t0 = time.perf_counter()
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                pool.submit(_prepare, url, args.claims).result()
            print(f"stored {args.claims:,} decided claims in {time.perf_counter() - t0:.0f} s")
        db = Database(url)
        draft = DRAFTS_DIR / "2027.yaml"
        t0 = time.perf_counter()
        cpu0 = _cpu()
        result = simulate(db, year=2026, draft_text=draft.read_text(encoding="utf-8"), draft_name=draft.name,
                          out_dir=Path(tmp) / "out", workers=args.workers)
        elapsed = time.perf_counter() - t0
        driver_cpu, workers_cpu = (a - b for a, b in zip(_cpu(), cpu0))
        workers = args.workers or os.cpu_count() or 1
        n = sum(pc.actual.claims for pc in result.comparison.values())
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"what-if: {n:,} claims judged again in {elapsed:.1f} s = {n / elapsed:,.0f} claims/s "
              f"(target 1,000,000 in < 120 s) with {args.workers or os.cpu_count()} workers; "
              f"peak memory {peak:,.0f} MiB (driver), {children:,.0f} MiB (largest worker)")
        # On a shared machine the wall time says little: the CPU seconds do. On idle cores the
        # run takes about max(driver CPU, worker CPU / workers) plus the worker start-up.
        print(f"  CPU: driver {driver_cpu:.1f} s, workers {workers_cpu:.1f} s in all -> about "
              f"{max(driver_cpu, workers_cpu / workers):.0f} s on {workers} idle cores; "
              f"{workers_cpu / max(n, 1) * 1e6:.0f} us of worker CPU per claim; load average {os.getloadavg()[0]:.1f}")
        for product, pc in result.comparison.items():
            print(f"  {product}: {pc.draft.by_status and dict(pc.draft.by_status)}; payout "
                  f"{fmt(pc.actual.total_fen, fen=True)} -> {fmt(pc.draft.total_fen, fen=True)}")


if __name__ == "__main__":
    main()
