"""Adjudication on PostgreSQL: one process (batch.adjudicate.run) vs. a Dask LocalCluster
(batch.distributed.run_distributed), printed side by side with the speed-up.

The same N synthetic claims (benchmarks/bench_adjudicate.synthetic_cases, default
1,000,000) are stored in two private schemas of the server, one per run, dropped afterwards.
The distributed time is the job itself on a started cluster; the cluster's start-up is
printed apart (the CLI's ``--workers`` pays it once per run).

Usage: .venv/bin/python benchmarks/bench_distributed.py [--claims N] [--workers 2]
       [--members-per-chunk 5000] [--db postgresql://postgres@127.0.0.1:5432/test]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from benchmarks.bench_adjudicate import store_cases, synthetic_cases  # noqa: E402

AS_OF = dt.date(2026, 12, 31)


def schema_url(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--members-per-chunk", type=int, default=None)
    ap.add_argument("--db", default=os.environ.get("MUTUALAID_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    args = ap.parse_args()

    import batch.adjudicate as job
    from batch.distributed import run_distributed
    from distributed import LocalCluster
    from mutualaid.store.db import Database, resolve_url

    chunk = args.members_per_chunk or job.MEMBERS_PER_CHUNK
    base = resolve_url(args.db)
    tag = uuid.uuid4().hex[:8]
    schemas = {"single": f"bench_{tag}_single", "dask": f"bench_{tag}_dask"}
    admin = create_engine(base)
    with admin.begin() as c:
        for s in schemas.values():
            c.execute(text(f'CREATE SCHEMA "{s}"'))
    try:
        cases = synthetic_cases(args.claims)
        urls = {}
        for kind, s in schemas.items():
            urls[kind] = schema_url(base, s)
            t0 = time.perf_counter()
            db = Database(urls[kind])
            store_cases(db, cases)
            with db.engine.begin() as c:
                c.execute(text("ANALYZE"))
            db.dispose()
            print(f"stored {args.claims:,} claims ({len(cases):,} members) in schema {s} "
                  f"in {time.perf_counter() - t0:.0f} s", flush=True)
        del cases

        db = Database(urls["single"])
        t0 = time.perf_counter()
        single = job.run(db, as_of=AS_OF, members_per_chunk=chunk)
        t_single = time.perf_counter() - t0
        db.dispose()
        print(f"single process: {t_single:.1f} s", flush=True)

        t0 = time.perf_counter()
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster:
            t_start = time.perf_counter() - t0
            t0 = time.perf_counter()
            dask = run_distributed(urls["dask"], as_of=AS_OF, scheduler=cluster.scheduler_address,
                                   members_per_chunk=chunk)
            t_dask = time.perf_counter() - t0
        if dask != single:
            raise SystemExit(f"different results: {single} vs {dask}")

        print()
        print(f"adjudication of {single.decided:,} claims on PostgreSQL, {chunk:,} members per chunk, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        print(f"{'':28}{'single process':>18}{f'{args.workers}-worker LocalCluster':>26}")
        print(f"{'wall time':28}{t_single:>16.1f} s{t_dask:>24.1f} s")
        print(f"{'claims/s':28}{single.decided / t_single:>18,.0f}{dask.decided / t_dask:>26,.0f}")
        print(f"{'speed-up':28}{'1.00':>18}{t_single / t_dask:>26.2f}")
        print(f"cluster start-up (not included above): {t_start:.1f} s; results identical: {dict(single.by_status)}")
    finally:
        with admin.begin() as c:
            for s in schemas.values():
                c.execute(text(f'DROP SCHEMA IF EXISTS "{s}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
