"""Import a 1,000,000-row claim CSV into a fresh SQLite database; print rows/s and peak memory.

Target (issue 2): under 60 s and under 2 GiB on this 2-core machine.
Usage: .venv/bin/python benchmarks/bench_import.py [ROWS]
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mutualaid import idnumber  # noqa: E402
from mutualaid.claims.intake import COLUMNS, submit_batch  # noqa: E402
from mutualaid.store.db import Database  # noqa: E402


def write_claims(path: Path, n: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    ids = [idnumber.make("150502", dt.date(1960, 1, 1) + dt.timedelta(days=rnd.randrange(15000)), i % 500,
                         rnd.choice("MF")) for i in range(min(n, 200_000))]
    head = [c.name for c in COLUMNS]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(head)
        for i in range(n):
            adm = dt.date(2026, 1, 1) + dt.timedelta(days=rnd.randrange(300))
            dis = adm + dt.timedelta(days=rnd.randrange(1, 20))
            ins, inp, out = rnd.randrange(100_000, 2_000_000), rnd.randrange(10_000, 1_500_000), rnd.randrange(0, 200_000)
            f = lambda fen: f"{fen // 100}.{fen % 100:02d}"  # noqa: E731
            w.writerow([f"B{i:08d}", "HOSP", ids[i % len(ids)], "王丽", (dis + dt.timedelta(days=7)).isoformat(),
                        adm.isoformat(), dis.isoformat(), "通辽市医院", "J18.9", "illness",
                        f(ins + inp + out), f(ins), f(inp), f(out), "", "", ""])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rows", nargs="?", type=int, default=1_000_000, help="rows of the claim CSV (default 1,000,000)")
    n = p.parse_args().rows
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "claims.csv"
        t0 = time.perf_counter()
        write_claims(src, n)
        print(f"wrote {n:,} rows ({src.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        db = Database(f"sqlite:///{tmp}/bench.db")
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0, c0 = time.perf_counter(), time.process_time()
        report = submit_batch(db, src)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"imported {report.stored:,} rows, {report.error_rows} error rows in {elapsed:.1f} s "
              f"= {n / elapsed:,.0f} rows/s (target: < 60 s); CPU {cpu:.1f} s = {n / cpu:,.0f} rows/s")
        print(f"peak memory {peak / 1024:.0f} MiB (before import {rss0 / 1024:.0f} MiB; target < 2048 MiB)")


if __name__ == "__main__":
    main()
