"""Adjudication throughput (issue 3), printed figures only.

1. Engine path: claims/s through facts + rules + amounts (no database), beside the bare
   durable_rules post rate measured in the same run with a ruleset of the same size.
   Targets: >= 10,000 claims/s on one core and >= half the bare-engine rate.
2. End to end: N stored claims (default 1,000,000) adjudicated and their decisions stored
   on SQLite; target < 5 minutes, peak memory printed (target < 4 GiB).

Usage: .venv/bin/python benchmarks/bench_adjudicate.py [--claims N] [--engine-only]
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_engine_bare import bare_post_rate  # noqa: E402
from mutualaid import idnumber  # noqa: E402
from mutualaid.claims.adjudication import (  # noqa: E402
    ClaimIn,
    EnrollmentIn,
    History,
    MemberCase,
    MemberIn,
    adjudicate_members,
)
from mutualaid.rules.definitions import ruleset  # noqa: E402

START = dt.date(2026, 1, 1)


def synthetic_cases(n_claims: int, seed: int = 7) -> list[MemberCase]:
    """Realistic mix: mostly one claim per member, some several; HOSP 85 %, WOMEN 15 %."""
    rnd = random.Random(seed)
    cases, made, k, seen = [], 0, 0, set()
    while made < n_claims:
        k += 1
        sex = "F" if rnd.random() < 0.5 else "M"
        birth = dt.date(1965, 1, 1) + dt.timedelta(days=rnd.randrange(12000))
        number = idnumber.make(rnd.choice(("150502", "150521", "150522", "150523")), birth, k % 500, sex)
        if number in seen:
            continue
        seen.add(number)
        member = MemberIn(number, "王丽", birth, sex)
        enr = [EnrollmentIn(k * 4, "HOSP", 1, dt.date(2025, 1, 1), dt.date(2025, 12, 31), 2025),
               EnrollmentIn(k * 4 + 1, "HOSP", 1, START, dt.date(2026, 12, 31), 2026)]
        if sex == "F":
            enr.append(EnrollmentIn(k * 4 + 2, "WOMEN", 2, START, dt.date(2026, 12, 31), 2026))
        claims = []
        for j in range(min(rnd.choice((1, 1, 1, 1, 2, 2, 3)), n_claims - made)):
            made += 1
            adm = START + dt.timedelta(days=rnd.randrange(330))
            if sex == "F" and rnd.random() < 0.15:
                claims.append(ClaimIn(made, f"W{made:08d}", "WOMEN", number, "王丽", adm + dt.timedelta(days=20), adm,
                                      diagnosis_code=rnd.choice(("C50.9", "D05.1", "D25.0", "C53")),
                                      diagnosis_date=adm, pathology_confirmed=rnd.random() < 0.9,
                                      surgery=rnd.choice(("none", "excision"))))
            else:
                dis = adm + dt.timedelta(days=rnd.randrange(1, 25))
                claims.append(ClaimIn(made, f"H{made:08d}", "HOSP", number, "王丽", dis + dt.timedelta(days=10), adm,
                                      admission_date=adm, discharge_date=dis,
                                      cause=rnd.choice(("illness",) * 9 + ("work_injury",)),
                                      in_policy_self_pay_fen=int(rnd.lognormvariate(12.2, 1.0))))
        cases.append(MemberCase(number, member, enr, History(), claims))
    return cases


def engine_path(n: int) -> None:
    cases = synthetic_cases(n)
    ruleset("HOSP", 2026)
    _, rules = ruleset("HOSP", 2026)
    t0 = time.process_time()
    out = adjudicate_members(cases)
    cpu = time.process_time() - t0
    rate = len(out) / cpu
    bare = bare_post_rate(len(rules), n, cpu=True)
    print(f"engine path: {len(out):,} claims in {cpu:.2f} s CPU = {rate:,.0f} claims/s (target >= 10,000)")
    print(f"bare durable_rules post, {len(rules)}-rule ruleset: {bare:,.0f} posts/s; "
          f"ratio {rate / bare:.2f} (target >= 0.50)")


def store_cases(db, cases: list[MemberCase], *, rows_per_insert: int = 50_000) -> None:  # noqa: ANN001
    """Store synthetic cases as RECEIVED claims, with their members, enrollments, one unit and
    one claim batch, in one transaction (explicit ids: use an empty database)."""
    from mutualaid.store.bulk import insert_rows
    from mutualaid.store.models import Claim, Enrollment, FileImport, Member, Unit

    claim_columns = ("id", "claim_no", "batch_id", "product", "member_id_number", "member_name", "submitted_date",
                     "event_date", "admission_date", "discharge_date", "cause", "in_policy_self_pay_fen",
                     "diagnosis_code", "diagnosis_date", "pathology_confirmed", "surgery", "row_hash", "status",
                     "payout_fen", "reason_codes", "policy_version", "version")
    with db.transaction() as s:
        conn = s.connection()
        insert_rows(conn, FileImport.__table__, ("id", "kind", "file_name", "fingerprint", "imported_by",
                                                 "imported_at", "rows_total", "stored", "unchanged", "errors"),
                    [(1, "CLAIMS", "b.csv", "x", "bench", dt.datetime(2026, 1, 1), 0, 0, 0, 0)])
        insert_rows(conn, Unit.__table__, ("id", "code", "name"), [(1, "TL0001", "单位")])
        insert_rows(conn, Member.__table__, ("id", "id_number", "name", "birth_date", "sex"), [
            (i + 1, c.id_number, c.member.name, c.member.birth_date, c.member.sex) for i, c in enumerate(cases)])
        insert_rows(conn, Enrollment.__table__, (
            "id", "member_id", "unit_id", "product", "units", "start_date", "end_date", "premium_fen",
            "bank_account", "policy_version", "import_id", "row_hash"), [
            (e.id, i + 1, 1, e.product, e.units, e.start_date, e.end_date, 10000 * e.units, None,
             e.policy_version, 1, "x") for i, c in enumerate(cases) for e in c.enrollments])
        rows: list[tuple] = []
        for c in cases:
            for cl in c.claims:
                rows.append((cl.id, cl.claim_no, 1, cl.product, cl.member_id_number, cl.member_name,
                             cl.submitted_date, cl.event_date, cl.admission_date, cl.discharge_date, cl.cause,
                             cl.in_policy_self_pay_fen, cl.diagnosis_code, cl.diagnosis_date,
                             cl.pathology_confirmed, cl.surgery, "x", "RECEIVED", 0, "", "", 0))
                if len(rows) >= rows_per_insert:
                    insert_rows(conn, Claim.__table__, claim_columns, rows)
                    rows = []
        insert_rows(conn, Claim.__table__, claim_columns, rows)


def _prepare(url: str, n: int) -> None:
    from mutualaid.store.db import Database

    store_cases(Database(url), synthetic_cases(n))


def end_to_end(n: int) -> None:
    import batch.adjudicate as job
    from mutualaid.store.db import Database

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        t0 = time.perf_counter()
        # set-up in another process, so that the peak memory printed is the run's own
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pool.submit(_prepare, url, n).result()
        print(f"stored {n:,} claims for the run in {time.perf_counter() - t0:.0f} s")
        db = Database(url)
        t0 = time.perf_counter()
        tally = job.run(db, as_of=dt.date(2026, 12, 31))
        elapsed = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"end to end: {tally.decided:,} claims adjudicated and stored in {elapsed:.0f} s "
              f"= {tally.decided / elapsed:,.0f} claims/s (target < 300 s); peak memory {peak:,.0f} MiB (target < 4096)")
        print(f"  by status: {dict(tally.by_status)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=1_000_000)
    ap.add_argument("--engine-claims", type=int, default=100_000)
    ap.add_argument("--engine-only", action="store_true")
    args = ap.parse_args()
    engine_path(args.engine_claims)
    if not args.engine_only:
        end_to_end(args.claims)


if __name__ == "__main__":
    main()
