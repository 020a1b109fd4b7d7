"""Time the data-set generator (default: the ``region`` scale, budget 60 s).

    .venv/bin/python benchmarks/bench_generate.py [SCALE] [--seed N] [--keep DIR]

Prints the wall time, the CPU time of this process and of its worker processes (the ID
numbers and the two rosters are made in forked children), the size of the files written,
and the generated figures beside the reference year (spec README: Tongliao 2025).
On a shared machine, compare wall with CPU: wall far above CPU means we waited for a core.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mutualaid.generate import REFERENCE, generate  # noqa: E402

BUDGET_SECONDS = 60


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scale", nargs="?", default="region", help="tongliao, region or a number of HOSP members")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write into this folder and keep the files")
    args = parser.parse_args()
    scale = int(args.scale) if args.scale.isdigit() else args.scale

    with tempfile.TemporaryDirectory(prefix="bench_generate_") as tmp:
        out = args.keep or Path(tmp)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
        result = generate(scale, args.seed, out)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        children = _children_cpu() - children
        files = [*result.rosters, *result.claim_batches, result.ledger]
        size_mb = sum(p.stat().st_size for p in files) / 1e6

    f = result.figures
    print(f"generate({args.scale!r}, seed={args.seed}): {wall:.1f} s wall; CPU {cpu:.1f} s here + "
          f"{children:.1f} s in worker processes; {len(files)} files, {size_mb:.0f} MB; "
          f"{os.cpu_count()} CPUs, load average {load:.1f} at the start")
    print(f"  units {f['units']:,} (largest {f['largest_unit']:,})")
    print(f"  HOSP members 2025  {f['hosp_members']:>12,}   reference {REFERENCE['hosp_members']:>12,}")
    print(f"  WOMEN members 2025 {f['women_members']:>12,}   reference {REFERENCE['women_members']:>12,}")
    print(f"  claim rows         {f['claims']:>12,}   ({f['claims_2025']:,} with a 2025 event, "
          f"{f['claim_batches']} monthly batches)")
    print(f"  approved, payout>0 {f['claims_paid']:>12,}   reference {REFERENCE['claims_paid']:>12,}")
    print(f"  approved payout    {f['payout_yuan']:>15,}   reference {REFERENCE['payout_yuan']:>15,}")
    print(f"  pending review     {f['estimated_status']['PENDING_REVIEW']:>12,}   claims, "
          f"{f['estimated_pending']:,} yuan; rejected {f['estimated_status']['REJECTED']:,}")
    print(f"  HOSP average payout (2025 events, approved + pending) {f['estimated_hosp_average_2025']:,}; "
          f"largest payout {f['largest_payout']:,}")
    print(f"  ledger lines {f['ledger_lines']:,}, paid (payouts - reversals) {f['ledger_paid']:,}")
    print(f"  messiness {f['messy']}")
    verdict = "within" if wall < BUDGET_SECONDS else "OVER"
    print(f"{verdict} the {BUDGET_SECONDS} s budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
