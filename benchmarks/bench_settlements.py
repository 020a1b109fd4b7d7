"""Import a settlement extract (a region's year: mostly people not enrolled); print time and peak
memory beside a bare pandas read of the same file.

Target (issue 17): 1,000,000 rows in under 60 s and under 2 GiB on this 2-core machine.
Usage: .venv/bin/python benchmarks/bench_settlements.py [ROWS] [--members N]

A fresh SQLite database gets a roster of N HOSP members (default 20,000, enrolled for
2026); the extract holds inpatient stays of those members (3 % of rows), outpatient rows
(20 %) and, for the rest, inpatient stays of people who are not enrolled. The import and
the pandas read each run in their own child process, so each peak is its own
(``ru_maxrss``). The extract is written by this process first (not timed).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.settlements_data import write_files  # noqa: E402


def child(kind: str, tmp: str) -> None:
    """One measured step in this (child) process; prints a JSON line."""
    t0 = time.perf_counter()
    out: dict = {}
    if kind == "pandas":
        import pandas as pd

        frame = pd.read_csv(Path(tmp) / "settlements.csv", dtype=str, keep_default_na=False)
        out["rows"] = len(frame)
    else:
        from mutualaid.settlements.service import import_settlements
        from mutualaid.store.db import Database

        result = import_settlements(Database(f"sqlite:///{tmp}/bench.db"), Path(tmp) / "settlements.csv",
                                    as_of=dt.date(2026, 12, 31))
        out.update(rows=result.report.rows_total, stored=result.report.stored, errors=result.report.error_rows,
                   counts={str(k): v for k, v in result.counts.items()})
    out["seconds"] = time.perf_counter() - t0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    out["peak_mib"] = me.ru_maxrss / 1024
    out["parser_peak_mib"] = kids.ru_maxrss / 1024  # the parser process of big files
    out["cpu"] = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    out["parser_cpu"] = kids.ru_utime + kids.ru_stime  # on an idle 2-core machine: the wall time's floor
    print(json.dumps(out))


def run_child(kind: str, tmp: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(tmp)], check=True, capture_output=True,
                          text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rows", nargs="?", type=int, default=1_000_000)
    ap.add_argument("--members", type=int, default=20_000)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        roster, extract = write_files(tmp, args.rows, args.members)
        print(f"wrote {args.rows:,} rows ({extract.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        from mutualaid.enrollments import import_roster
        from mutualaid.store.db import Database

        import_roster(Database(f"sqlite:///{tmp}/bench.db"), roster)
        bare = run_child("pandas", tmp)
        print(f"bare pandas read_csv: {bare['seconds']:.1f} s (CPU {bare['cpu']:.1f} s), peak {bare['peak_mib']:.0f} MiB")
        got = run_child("import", tmp)
        print(f"settlements import: {got['seconds']:.1f} s = {got['rows'] / got['seconds']:,.0f} rows/s "
              f"(CPU {got['cpu']:.1f} s in both processes, {got['parser_cpu']:.1f} s of it parsing), "
              f"peak {got['peak_mib']:.0f} MiB + parser process "
              f"{got['parser_peak_mib']:.0f} MiB (target < 60 s, < 2048 MiB); "
              f"stored {got['stored']:,}, error rows {got['errors']}, {got['counts']}")


if __name__ == "__main__":
    main()
