"""Generate the ``region`` scale and import it into a fresh SQLite database (issue 6).

Target: generation + import of 1,100,000 members and ~45,000 claims in under 3 minutes.
Prints each step's wall time, rows/s and the total.

Usage: .venv/bin/python benchmarks/bench_region.py [SCALE] [--seed N]
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mutualaid.claims.intake import submit_batch  # noqa: E402
from mutualaid.enrollments import import_roster  # noqa: E402
from mutualaid.generate import generate  # noqa: E402
from mutualaid.store.db import Database  # noqa: E402

BUDGET_SECONDS = 180


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scale", nargs="?", default="region")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    scale = int(args.scale) if args.scale.isdigit() else args.scale
    with tempfile.TemporaryDirectory(prefix="bench_region_") as tmp:
        start = time.perf_counter()
        t0 = start
        data = generate(scale, args.seed, Path(tmp) / "data")
        print(f"generate {args.scale}: {time.perf_counter() - t0:.1f} s "
              f"({data.figures['hosp_members']:,} HOSP members, {data.figures['claims']:,} claim rows)", flush=True)
        db = Database(f"sqlite:///{tmp}/region.db")
        for roster in data.rosters:
            t0 = time.perf_counter()
            rep = import_roster(db, roster, user="bench")
            dt_ = time.perf_counter() - t0
            print(f"import {roster.name}: {rep.rows_total:,} rows, {rep.stored:,} stored, {rep.error_rows:,} error rows "
                  f"in {dt_:.1f} s = {rep.rows_total / dt_:,.0f} rows/s", flush=True)
        t0, claims, errors = time.perf_counter(), 0, 0
        for batch in data.claim_batches:
            rep = submit_batch(db, batch, clerk="bench")
            claims, errors = claims + rep.stored, errors + rep.error_rows
        print(f"submit {len(data.claim_batches)} claim batches: {claims:,} claims stored, {errors:,} error rows "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
        total = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        verdict = "within" if total < BUDGET_SECONDS else "OVER"
        print(f"generation + import: {total:.0f} s ({verdict} the {BUDGET_SECONDS} s target); "
              f"peak memory of this process {peak:,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
