"""Benchmark: the review queue and claim pages with 100,000 decided claims in PostgreSQL.

Target: p95 latency under 100 ms with 20 concurrent users.

    .venv/bin/python benchmarks/bench_api.py [--claims N] [--users U] [--seconds S]
        [--think MIN,MAX] [--workers W] [--pg URL] [--keep]

What it does:

1. creates a private schema in the PostgreSQL database (``--pg``, default
   $MUTUALAID_TEST_PG or postgresql://postgres@127.0.0.1:5432/test), migrates it and fills
   it with COPY: 40 units, 200 claim batches, N/2 members with an enrollment each, N
   decided claims (about 5 % pending review, 10 % rejected, the rest approved), one
   decision per claim with a realistic compact rule trace, and U auditors;
2. starts the server (``python -m api.server``, as ``mutualaid serve`` does: uvicorn with
   ``--workers``, default the number of CPUs) in a separate process on a free loopback
   port, so server and clients do not share a GIL;
3. signs each user in through the login form (session cookie) and an API token, then
   runs U client threads (httpx) for ``--seconds`` after a short warm-up. Each user
   repeats: the review queue page (a random one of the first 20 pages, sometimes with a
   filter), one claim page from it, the JSON queue and the JSON claim; with a think time
   drawn from ``--think`` between requests (default 0,0: no pause, a stress test);
4. prints p50 / p95 / p99 per kind of request and overall, throughput and errors.

The schema is dropped at the end unless ``--keep``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mutualaid import idnumber  # noqa: E402
from mutualaid.store.db import Database, resolve_url  # noqa: E402

PASSWORD = "bench-password-1"
RULES_HOSP = ["R01", "R02", "R03", "R04", "R06", "V01", "V02", "R05", "R09", "V04", "A01", "A02", "A03"]


def _copy(conn, table: str, columns: list[str], rows) -> None:  # noqa: ANN001
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def fill(url: str, n_claims: int, n_users: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    t0 = time.perf_counter()
    db = Database(url)  # migrate
    engine = db.engine
    now = dt.datetime(2026, 7, 1, 9, 0)
    n_members = max(1, n_claims // 2)
    with engine.begin() as conn:
        units = [(i + 1, f"TL{i + 1:04d}", f"通辽市第{i + 1}基层工会") for i in range(40)]
        _copy(conn, "units", ["id", "code", "name"], units)
        batches = [(i + 1, "CLAIMS", f"claims_{i + 1:03d}.csv", uuid.uuid4().hex + uuid.uuid4().hex,
                    f"clerk{i % 40}", now, 500, 500, 0, 0, units[i % 40][1]) for i in range(200)]
        batches.append((201, "ROSTER", "roster.csv", uuid.uuid4().hex * 2, "seed", now, n_members, n_members, 0, 0, None))
        _copy(conn, "file_imports", ["id", "kind", "file_name", "fingerprint", "imported_by", "imported_at",
                                     "rows_total", "stored", "unchanged", "errors", "unit_code"], batches)
        births = [dt.date(1965, 1, 1) + dt.timedelta(days=rng.randrange(0, 13000)) for _ in range(n_members)]
        # make() repeats after 500 per region/birth/sex; vary the region to keep them unique
        ids = [idnumber.make(f"15{(i // 500) % 100:02d}{(i // 50000) % 100:02d}", births[i], i % 500,
                             "F" if i % 2 else "M") for i in range(n_members)]
        _copy(conn, "members", ["id", "id_number", "name", "birth_date", "sex"],
              ((i + 1, ids[i], f"会员{i + 1}", births[i], "F" if i % 2 else "M") for i in range(n_members)))
        _copy(conn, "enrollments", ["id", "member_id", "unit_id", "product", "units", "start_date", "end_date",
                                    "premium_fen", "bank_account", "policy_version", "import_id", "row_hash"],
              ((i + 1, i + 1, i % 40 + 1, "HOSP", 1, dt.date(2026, 1, 1), dt.date(2026, 12, 31), 10000,
                f"62220212{i:011d}", 2026, 201, "0" * 32) for i in range(n_members)))

        def claims():
            for k in range(n_claims):
                m = k % n_members
                r = rng.random()
                status, codes = ("PENDING_REVIEW", "V02") if r < 0.05 else (("REJECTED", "R06") if r < 0.15
                                                                          else ("APPROVED", "A01" if r < 0.2 else ""))
                adm = dt.date(2026, 2, 1) + dt.timedelta(days=rng.randrange(0, 120))
                dis = adm + dt.timedelta(days=rng.randrange(1, 20))
                base = rng.randrange(20_000, 5_000_000)
                payout = 0 if status == "REJECTED" else base // 2 + 2_000
                yield (k + 1, f"BZ2026-{k + 1:07d}", k // 500 + 1 if k // 500 < 200 else 200, "HOSP", ids[m],
                       f"会员{m + 1}", dis + dt.timedelta(days=5), adm, adm, dis, "通辽市医院", "J18.9", "illness",
                       base * 2, base // 2, base, base // 2, None, None, None, "0" * 32, status, payout, codes,
                       "HOSP-2026", m + 1, dt.date(2026, 6, 30), "engine", (dis - adm).days, None, k + 1, 0)

        _copy(conn, "claims", ["id", "claim_no", "batch_id", "product", "member_id_number", "member_name",
                               "submitted_date", "event_date", "admission_date", "discharge_date", "hospital_name",
                               "diagnosis_code", "cause", "total_cost_fen", "insurance_paid_fen",
                               "in_policy_self_pay_fen", "out_of_policy_self_pay_fen", "diagnosis_date",
                               "pathology_confirmed", "surgery", "row_hash", "status", "payout_fen", "reason_codes",
                               "policy_version", "enrollment_id", "decided_on", "decided_by", "allowance_days",
                               "category", "decision_seq", "version"], claims())

        def decisions():
            for k in range(n_claims):
                facts = {"member_found": True, "enrolled": True, "name_matches": True, "first_enrollment": True,
                         "days_from_start": 60 + k % 100, "stay_days": 5, "cause": "illness", "duplicates": 0,
                         "days_past_deadline": -200, "cap_remaining_fen": 50_000_000, "payout_fen": 350_000,
                         "minimum_topup_fen": 0, "cap_cut_fen": 0, "allowance_days_cut": 0}
                trace = {"ruleset": "hosp_2026", "policy_version": "HOSP-2026", "facts": facts, "fired": [],
                         "amount": {"base": "7000.00", "bands": [["0", "5000", "0.5", "2500.0"],
                                                                 ["5000", "10000", "0.6", "1200.0"]],
                                    "banded": "3700.0", "minimum": "200.00", "subsidy": "3700.0", "stay_days": 5,
                                    "allowance_days": 5, "daily_rate": "10.00", "allowance": "50.00",
                                    "total": "3750.00", "cap_remaining": "500000.00", "payout": "3750.00"},
                         "enrollment": {"id": k % n_members + 1, "start_date": "2026-01-01", "end_date": "2026-12-31",
                                        "units": 1, "participation_year": 1},
                         "deadline": "2027-06-30"}
                yield (k + 1, k + 1, "AUTO", "APPROVED", 375_000, 375_000, "", "HOSP-2026", dt.date(2026, 6, 30),
                       "engine", None, json.dumps(trace), now)

        _copy(conn, "decisions", ["id", "claim_id", "kind", "status", "payout_fen", "computed_payout_fen",
                                  "reason_codes", "policy_version", "decided_on", "decided_by", "reason", "trace",
                                  "created_at"], decisions())
        for table in ("units", "file_imports", "members", "enrollments", "claims", "decisions"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    from mutualaid import users
    with db.transaction() as s:
        for i in range(n_users):
            users.create_user(s, username=f"auditor{i}", password=PASSWORD, role="auditor", actor="bench")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    db.dispose()
    print(f"filled {n_claims:,} claims, {n_claims:,} decisions, {n_members:,} members in "
          f"{time.perf_counter() - t0:.1f} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, workers: int, log: IO[bytes] | None = None) -> tuple[subprocess.Popen, str]:
    """``log``: where the server's stdout and stderr go (default: this terminal)."""
    port = free_port()
    env = {**os.environ, "MUTUALAID_DB": url, "MUTUALAID_SECURE_COOKIES": "0", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "api.server", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
                            env=env, cwd=ROOT, start_new_session=True, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/login", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("the server did not start")
        time.sleep(0.2)
    raise SystemExit("the server did not answer within 60 s")


def sign_in(base: str, username: str) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(base_url=base, timeout=30)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"})
    assert r.status_code == 303, r.text
    api = client.post("/api/v1/token", data={"username": username, "password": PASSWORD}).json()["access_token"]
    return client, {"Authorization": f"Bearer {api}"}


FILTERS = ["", "&status=PENDING_REVIEW", "&rule=R06", "&min_payout=10000&max_payout=20000", "&unit=TL0007"]


def user_loop(client: httpx.Client, bearer: dict[str, str], stop: threading.Event, record, think: tuple[float, float],
              rng: random.Random) -> None:  # noqa: ANN001
    def timed(kind: str, fn):  # noqa: ANN001, ANN202
        t = time.perf_counter()
        try:
            r = fn()
            ok = r.status_code == 200
        except httpx.HTTPError:
            r, ok = None, False
        record(kind, time.perf_counter() - t, ok)
        if think[1] > 0:
            time.sleep(rng.uniform(*think))
        return r

    while not stop.is_set():
        page = rng.randint(1, 20)
        flt = rng.choice(FILTERS) if rng.random() < 0.3 else ""
        r = timed("queue page", lambda: client.get(f"/review?page={page}{flt}"))
        ids = re.findall(r'href="/claims/(\d+)"', r.text) if r is not None else []
        if ids:
            timed("claim page", lambda: client.get(f"/claims/{rng.choice(ids)}"))
        r = timed("queue api", lambda: client.get(f"/api/v1/claims?page={page}{flt}", headers=bearer))
        items = r.json().get("items", []) if r is not None and r.status_code == 200 else []
        if items:
            cid = rng.choice(items)["id"]
            timed("claim api", lambda: client.get(f"/api/v1/claims/{cid}", headers=bearer))


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


def run(base: str, n_users: int, seconds: float, think: tuple[float, float], warmup: float = 3.0) -> dict:
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(4) as pool:  # argon2 makes each sign-in take a while
        sessions = list(pool.map(lambda i: sign_in(base, f"auditor{i}"), range(n_users)))
    lat: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    measuring = threading.Event()

    def record(kind: str, seconds_: float, ok: bool) -> None:
        if not measuring.is_set():
            return
        with lock:
            if ok:
                lat[kind].append(seconds_)
            else:
                errors[kind] += 1

    stop = threading.Event()
    threads = [threading.Thread(target=user_loop, args=(c, b, stop, record, think, random.Random(i)), daemon=True)
               for i, (c, b) in enumerate(sessions)]
    for t in threads:
        t.start()
    time.sleep(warmup)
    measuring.set()
    started = time.perf_counter()
    time.sleep(seconds)
    measuring.clear()
    elapsed = time.perf_counter() - started
    stop.set()
    for t in threads:
        t.join(30)
    every = [v for vs in lat.values() for v in vs]
    out = {"requests": len(every), "seconds": round(elapsed, 1), "rps": round(len(every) / elapsed, 1),
           "errors": dict(errors), "kinds": {}}
    print(f"\n{n_users} users, {elapsed:.0f} s, think time {think[0]}-{think[1]} s: "
          f"{len(every):,} requests, {len(every) / elapsed:.0f} req/s, errors {dict(errors) or 0}")
    print(f"{'request':<12} {'n':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for kind in ("queue page", "claim page", "queue api", "claim api"):
        vs = lat.get(kind, [])
        print(f"{kind:<12} {len(vs):>7} {pct(vs, 50):>8.1f} {pct(vs, 95):>8.1f} {pct(vs, 99):>8.1f} "
              f"{(statistics.fmean(vs) * 1000 if vs else float('nan')):>8.1f}")
        out["kinds"][kind] = {"n": len(vs), "p50": pct(vs, 50), "p95": pct(vs, 95)}
    print(f"{'all':<12} {len(every):>7} {pct(every, 50):>8.1f} {pct(every, 95):>8.1f} {pct(every, 99):>8.1f} "
          f"{(statistics.fmean(every) * 1000 if every else float('nan')):>8.1f}")
    out.update(p50=pct(every, 50), p95=pct(every, 95))
    verdict = "OK" if out["p95"] < 100 else "ABOVE TARGET"
    print(f"p95 {out['p95']:.1f} ms (target < 100 ms): {verdict}")
    for c, _ in sessions:
        c.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--think", default="0,0", help="pause between a user's requests, MIN,MAX seconds")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--pg", default=os.environ.get("MUTUALAID_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--keep", action="store_true", help="keep the schema (its name is printed)")
    ap.add_argument("--no-baseline", dest="baseline", action="store_false",
                    help="skip the one-user run before the concurrent one")
    args = ap.parse_args()
    think = tuple(float(x) for x in args.think.split(","))
    admin_url = resolve_url(args.pg)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{admin_url}{'&' if '?' in admin_url else '?'}options=-csearch_path%3D{schema}"
    proc = None
    try:
        fill(url, args.claims, args.users)
        proc, base = start_server(url, args.workers)
        print(f"server: {base} ({args.workers} worker(s)), schema {schema}; "
              f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        if args.baseline:
            print("\nbaseline: one user, no pause (the cost of a request without contention)")
            run(base, 1, min(args.seconds, 8), (0.0, 0.0))
        run(base, args.users, args.seconds, think)  # type: ignore[arg-type]
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if not args.keep:
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
