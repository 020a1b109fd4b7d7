"""Soak test: concurrent clerks, auditors and finance staff against the real server on PostgreSQL.

The issue: "A soak script on loopback: 20 concurrent users for 10 minutes (submitting batches,
reviewing, reconciling) against PostgreSQL: zero errors, p95 latencies and memory growth printed."

    .venv/bin/python benchmarks/soak.py [--users 20] [--duration 600] [--database-url URL]
        [--mix CLERKS,AUDITORS,FINANCE] [--members 3000] [--workers 2] [--think 0.2,1.0]
        [--warmup 30] [--seed 7] [--keep]

What it does:

1. creates a private schema in the PostgreSQL database (``--database-url``, default
   $MUTUALAID_TEST_PG or postgresql://postgres@127.0.0.1:5432/test), migrates it and loads a
   generated year (``mutualaid.generate`` with ``--members`` HOSP members): the rosters, every
   monthly claim batch adjudicated at its month's end (as the demo does), the fund ledger;
   then creates the accounts: clerks of the units with the most members (every third clerk
   has two units), auditors and finance staff (``--mix``; default 50 % / 30 % / 20 %);
2. starts the server as ``mutualaid serve`` does (``python -m api.server``, uvicorn with
   ``--workers``) in its own process group on a free loopback port, output to ``server.log``,
   and samples the RSS of its processes every second;
3. signs every user in (login form for the session cookie, ``POST /api/v1/token`` for a bearer
   token) and runs them in threads for ``--duration`` seconds, a think time drawn from
   ``--think`` after every request. Each user works through the same endpoints as the pages
   (with htmx's headers) or the JSON API, chosen at random:

   * clerks upload small claim batches (1-8 rows, fresh claim numbers, members of their unit,
     a mix that the rules approve, send to review or reject), follow each batch until the
     adjudication has decided it, download its decisions, browse batches, claims, dashboard;
   * auditors open the review queue, a pending claim, and approve / reject / override it with a
     reason and the version they read; start the adjudication run when claims wait for it and
     follow the job; browse the audit log, filtered queues, decisions, dashboard;
   * finance pays approved claims (ledger uploads of PAYOUT lines, sometimes a bank fee),
     reconciles this month or the last one and follows the job, reads the run, its items and
     summary.json, resolves an item now and then, browses the ledger and reconciliation pages;

4. prints progress every 30 s, then, once the load has stopped and every background job has
   finished: requests, errors and conflicts per operation with p50 / p95 / p99 latencies,
   throughput, the work done, server memory (after the warm-up, peak, end, growth and trend),
   and the consistency of the database (below). The schema is dropped unless ``--keep``.

Counting: every HTTP request is counted (a user's sign-in, three requests, as one). An **error**
is a connection error or time-out, any 5xx, any status the operation does not expect (e.g. a
redirect to the login page), or a 2xx whose content is wrong (an upload with row errors: every
generated row is valid). A **conflict** is a 4xx the application is designed to answer in a
race between users, listed with its reason: 409 on a review whose claim changed since it was
read (someone else decided or re-adjudicated it), 409 on starting a job while one of its kind
runs, 404 on resolving an item a newer reconciliation run replaced. A background job that fails
is an error unless it lost the race for the job lock to a job started in the other server
process (counted as a conflict). Python tracebacks in the server log count as errors too.

Consistency, checked in the database: every decided claim has exactly one AUTO decision and an
undecided one none; each claim's version equals its number of decisions and its status and payout
are those of its newest decision; the auditors' decisions recorded (REVIEW rows and audit entries)
are exactly the reviews the users were told succeeded, and no two successes sent the same version
of a claim; every batch and ledger upload stored all its rows; no job is left running; the audit
log's hash chain verifies (``mutualaid.audit.verify``).

Dates: claims are filed on the current plan year's enrollments (in January, last year's) with
events before today and decided as of today (the adjudication form's default); payouts are dated
today and "this month" is today's. The generator's years are fixed (2025 and 2026), so the set-up
stops with a message when run in another year.

Exit status 0 when there were no errors and every check held, 1 otherwise.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_api import PASSWORD, pct, sign_in, start_server  # noqa: E402
from mutualaid.store.db import Database, resolve_url  # noqa: E402
from mutualaid.store.models import Enrollment, Member, Unit  # noqa: E402

MiB = 1024 * 1024
SIGN_IN = "sign in (form + token)"   # before the load's clock starts: left out of the load's figures
JOB_TIMEOUT = 180.0         # a job on this small data set takes seconds; longer is reported
POLL_EVERY = 1.0            # htmx polls a running job's fragment every second
PROGRESS_EVERY = 30.0
TODAY = dt.date.today()
HOSPITALS = ("通辽市医院", "通辽市中医医院", "内蒙古民族大学附属医院", "科尔沁区人民医院", "开鲁县医院")
DIAGNOSES = ("J18.9", "I10", "K35.8", "S72.0", "N20.0", "I63.9", "E11.9", "K80.2")
TYPO = "明华文丽军"
REVIEW_REASONS = {
    "approve": "材料齐全，核实无误 / documents complete and verified",
    "reject": "病历与申请不符 / the medical record does not support the claim",
    "override": "按复核结果调整金额 / amount adjusted after checking the invoices",
}

# ---------------------------------------------------------------------------------------------
# set-up: schema, generated year, accounts
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    username: str
    role: str                       # clerk | auditor | finance
    units: tuple[str, ...] = ()


@dataclass(frozen=True)
class Insured:
    """A 2026 enrollment a clerk can file a claim against."""
    unit: str
    id_number: str
    name: str
    sex: str
    product: str
    units: int
    start: dt.date
    end: dt.date


def create_schema(admin_url: str) -> tuple[str, str]:
    """A private schema (as bench_api.py and tests/conftest.py do): (name, URL that uses it)."""
    schema = f"soak_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin_url)
    with engine.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return schema, f"{admin_url}{'&' if '?' in admin_url else '?'}options=-csearch_path%3D{schema}"


def drop_schema(admin_url: str, schema: str) -> None:
    engine = create_engine(admin_url)
    with engine.begin() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def load_year(db: Database, members: int, seed: int, folder: Path) -> None:
    """A realistic history, so that queues, dashboards and reconciliations have data from the
    start: the generated rosters, each month's batch adjudicated at its month's end, the ledger."""
    from batch.adjudicate import run as adjudicate
    from mutualaid.claims.intake import submit_batch
    from mutualaid.dates import month_bounds
    from mutualaid.demo import month_of
    from mutualaid.enrollments import import_roster
    from mutualaid.generate import generate
    from mutualaid.ledger.importer import import_ledger

    data = generate(members, seed, folder)
    for roster in data.rosters:
        import_roster(db, roster, user="soak-setup")
    for batch in data.claim_batches:
        submit_batch(db, batch, clerk="soak-setup")
        adjudicate(db, as_of=month_bounds(month_of(batch))[1])
    import_ledger(db, data.ledger, user="soak-setup")


def role_mix(users: int, spec: str | None) -> tuple[int, int, int]:
    """(clerks, auditors, finance): ``--mix`` as given, else about 50 % / 30 % / 20 %."""
    if spec:
        clerks, auditors, finance = (int(x) for x in spec.split(","))
        return clerks, auditors, finance
    auditors = max(1, round(users * 0.3))
    finance = max(1, round(users * 0.2))
    return max(1, users - auditors - finance), auditors, finance


def busiest_units(db: Database, year_start: dt.date) -> list[str]:
    """Unit codes by their number of enrollments in the plan year, most first (at least 5)."""
    with db.sessions() as s:
        rows = s.execute(select(Unit.code, func.count()).join(Enrollment, Enrollment.unit_id == Unit.id)
                         .where(Enrollment.start_date >= year_start).group_by(Unit.code)
                         .having(func.count() >= 5).order_by(func.count().desc(), Unit.code)).all()
    return [code for code, _ in rows]


def plan_accounts(units: list[str], clerks: int, auditors: int, finance: int) -> list[Account]:
    """Clerks of several units (every third one serves a second unit), auditors, finance."""
    out = []
    for i in range(clerks):
        mine = [units[i % len(units)]]
        if i % 3 == 2 and len(units) > 1:
            mine.append(units[(i + clerks) % len(units)])
        out.append(Account(f"clerk{i + 1:02d}", "clerk", tuple(dict.fromkeys(mine))))
    out += [Account(f"auditor{i + 1:02d}", "auditor") for i in range(auditors)]
    out += [Account(f"finance{i + 1:02d}", "finance") for i in range(finance)]
    return out


def create_accounts(db: Database, accounts: list[Account]) -> None:
    from mutualaid import users

    with db.transaction() as s:
        for a in accounts:
            users.create_user(s, username=a.username, password=PASSWORD, role=a.role, actor="soak-setup",
                              unit_codes=list(a.units))


def insured_by_unit(db: Database, units: Iterable[str], year_start: dt.date) -> dict[str, list[Insured]]:
    """The plan year's enrollments of ``units`` that started before today (claims need an event)."""
    with db.sessions() as s:
        rows = s.execute(select(Unit.code, Member.id_number, Member.name, Member.sex, Enrollment.product,
                                Enrollment.units, Enrollment.start_date, Enrollment.end_date)
                         .join(Enrollment, Enrollment.unit_id == Unit.id)
                         .join(Member, Member.id == Enrollment.member_id)
                         .where(Unit.code.in_(sorted(set(units))), Enrollment.start_date >= year_start,
                                Enrollment.start_date < TODAY - dt.timedelta(days=30))
                         .order_by(Unit.code, Member.id_number, Enrollment.product)).all()
    out: dict[str, list[Insured]] = defaultdict(list)
    for r in rows:
        out[r[0]].append(Insured(*r))
    return out


# ---------------------------------------------------------------------------------------------
# the files users upload
# ---------------------------------------------------------------------------------------------

CLAIM_COLUMNS = ("claim_no", "product", "member_id_number", "member_name", "submitted_date", "admission_date",
                 "discharge_date", "hospital_name", "diagnosis_code", "cause", "total_cost", "insurance_paid",
                 "in_policy_self_pay", "out_of_policy_self_pay", "diagnosis_date", "pathology_confirmed", "surgery")
LEDGER_COLUMNS = ("entry_date", "voucher_no", "entry_type", "product", "amount", "reference", "memo")


def csv_bytes(columns: tuple[str, ...], rows: Iterable[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


class ClaimFactory:
    """Small claim batches for one clerk: fresh claim numbers, members of the clerk's units and a
    realistic mix -- mostly approvals; reviews from large amounts (V01), a changed character in
    the name (V02), long stays (V04), invasive cancers; rejections from excluded causes (R05),
    stays overlapping an earlier one (R06), waiting periods (R03), used-up cover (R09).
    Every row is valid, so an upload with row errors is an error of the application."""

    def __init__(self, clerk: str, insured: dict[str, list[Insured]], rng: random.Random) -> None:
        self.clerk = clerk
        self.insured = insured
        self.rng = rng
        self.seq = 0

    def batch(self, unit: str, rows: int) -> tuple[str, bytes]:
        """(file name, CSV bytes) of a batch of ``rows`` claims for ``unit``."""
        self.seq += 1
        people = self.insured[unit]
        out = []
        for k in range(rows):
            who = self.rng.choice(people)
            claim_no = f"SK-{self.clerk}-{self.seq:05d}-{k + 1}"
            out.append(self._women(claim_no, who) if who.product == "WOMEN" else self._hosp(claim_no, who))
        return f"{self.clerk}-{unit}-{self.seq:05d}.csv", csv_bytes(CLAIM_COLUMNS, out)

    def _event_day(self, who: Insured, length: int) -> dt.date:
        last = min(who.end, TODAY - dt.timedelta(days=length + 2))
        span = max(0, (last - who.start).days)
        return who.start + dt.timedelta(days=self.rng.randint(min(span, 3), span))

    def _name(self, who: Insured) -> str:
        if self.rng.random() < 0.04:  # V02: a changed character
            return who.name[:-1] + self.rng.choice([c for c in TYPO if c != who.name[-1]])
        return who.name

    def _submitted(self, event_end: dt.date) -> str:
        return min(TODAY, event_end + dt.timedelta(days=self.rng.randint(1, 25))).isoformat()

    def _hosp(self, claim_no: str, who: Insured) -> dict[str, str]:
        rng = self.rng
        stay = rng.randint(91, 100) if rng.random() < 0.015 else rng.randint(1, 20)
        admission = self._event_day(who, stay)
        discharge = admission + dt.timedelta(days=stay)
        in_policy = rng.randint(3_000_000, 6_000_000) if rng.random() < 0.04 else \
            int(min(2_500_000, max(20_000, rng.lognormvariate(12.3, 0.8))))
        out_of_policy = int(in_policy * rng.uniform(0.05, 0.3))
        insurance = int(in_policy * rng.uniform(0.8, 1.5))
        roll = rng.random()
        cause = "work_injury" if roll < 0.015 else "accident" if roll < 0.1 else "illness"
        return {"claim_no": claim_no, "product": "HOSP", "member_id_number": who.id_number,
                "member_name": self._name(who), "submitted_date": self._submitted(discharge),
                "admission_date": admission.isoformat(), "discharge_date": discharge.isoformat(),
                "hospital_name": rng.choice(HOSPITALS), "diagnosis_code": rng.choice(DIAGNOSES), "cause": cause,
                "total_cost": yuan(insurance + in_policy + out_of_policy), "insurance_paid": yuan(insurance),
                "in_policy_self_pay": yuan(in_policy), "out_of_policy_self_pay": yuan(out_of_policy)}

    def _women(self, claim_no: str, who: Insured) -> dict[str, str]:
        rng = self.rng
        diagnosed = self._event_day(who, 0)
        code, surgery = rng.choice((("C50.9", ""), ("D06.1", ""), ("D25.9", "hysterectomy"), ("D27", "excision")))
        pathology = "Y" if code[0] == "D" or rng.random() < 0.9 else "N"  # V03 without pathology
        return {"claim_no": claim_no, "product": "WOMEN", "member_id_number": who.id_number,
                "member_name": self._name(who), "submitted_date": self._submitted(diagnosed),
                "diagnosis_code": code, "diagnosis_date": diagnosed.isoformat(), "pathology_confirmed": pathology,
                "surgery": surgery}


# ---------------------------------------------------------------------------------------------
# counting
# ---------------------------------------------------------------------------------------------

@dataclass
class OpStats:
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    conflicts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return self.ok + sum(self.conflicts.values()) + sum(self.errors.values())


class Stats:
    """Every request's latency and outcome by operation, plus the work the users saw done."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops: dict[str, OpStats] = defaultdict(OpStats)
        self.samples: list[str] = []            # the first errors in full, for the report
        self.work: Counter[str] = Counter()
        self.other_errors: Counter[str] = Counter()      # errors that are not one request's (jobs, script)
        self.other_conflicts: Counter[str] = Counter()   # likewise, conflicts (a job that lost the lock race)
        self.reviews: dict[int, list[int]] = defaultdict(list)  # claim id -> versions sent, on success
        self.batches: dict[int, int] = {}        # batch id -> rows uploaded
        self.ledger_rows = 0

    def record(self, op: str, seconds: float | None, outcome: str, why: str = "", sample: str = "") -> None:
        with self.lock:
            s = self.ops[op]
            if seconds is not None:
                s.latencies.append(seconds)
            if outcome == "ok":
                s.ok += 1
            elif outcome == "conflict":
                s.conflicts[why] += 1
            else:
                s.errors[why] += 1
                if len(self.samples) < 20:
                    self.samples.append(f"{op}: {why}\n{sample}".rstrip())

    def error(self, what: str, sample: str = "") -> None:
        with self.lock:
            self.other_errors[what] += 1
            if len(self.samples) < 20:
                self.samples.append(f"{what}\n{sample}".rstrip())

    def conflict(self, what: str) -> None:
        with self.lock:
            self.other_conflicts[what] += 1

    def count(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.work[what] += n

    def totals(self) -> tuple[int, int, int]:
        """(requests, errors, conflicts) so far; errors include those not tied to one request."""
        with self.lock:
            ops = list(self.ops.values())
            other_errors = sum(self.other_errors.values())
            other_conflicts = sum(self.other_conflicts.values())
        return (sum(o.requests for o in ops), sum(sum(o.errors.values()) for o in ops) + other_errors,
                sum(sum(o.conflicts.values()) for o in ops) + other_conflicts)


class MemoryMonitor(threading.Thread):
    """Samples the RSS of the server's processes (the uvicorn supervisor and its workers) every
    second: the sum, and the largest single process (a leak shows in a worker)."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        super().__init__(daemon=True, name="rss-monitor")
        self.root = psutil.Process(pid)
        self.interval = interval
        self.samples: list[tuple[float, float, float]] = []   # (monotonic time, total MiB, largest MiB)
        self.halt = threading.Event()

    def sample(self) -> tuple[float, float, float]:
        sizes = []
        for p in [self.root, *self.root.children(recursive=True)]:
            try:
                sizes.append(p.memory_info().rss / MiB)
            except psutil.Error:
                pass
        point = (time.monotonic(), sum(sizes), max(sizes, default=0.0))
        self.samples.append(point)
        return point

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            try:
                self.sample()
            except psutil.Error:
                return

    def workers(self) -> int:
        try:
            return len(self.root.children(recursive=True))
        except psutil.Error:
            return 0


# ---------------------------------------------------------------------------------------------
# simulated users
# ---------------------------------------------------------------------------------------------

Check = Callable[[httpx.Response], str | None]


@dataclass
class Shared:
    """What the users share: the counters, the finance team's paid claims, the stop signal."""
    stats: Stats
    stop: threading.Event
    think: tuple[float, float]
    paid: set[str] = field(default_factory=set)
    paid_lock: threading.Lock = field(default_factory=threading.Lock)


def has_row_errors(r: httpx.Response) -> str | None:
    """An upload answered 2xx must have stored every row (they are all valid)."""
    if r.headers.get("content-type", "").startswith("application/json"):
        body = r.json()
        if body.get("error_rows") or body.get("stored") != body.get("rows_total") or body.get("import_id") is None:
            return f"{r.status_code} but stored {body.get('stored')} of {body.get('rows_total')} rows " \
                   f"({body.get('error_rows')} with errors: {body.get('errors', [])[:2]})"
        return None
    if 'class="striped errors"' in r.text or "error-box" in r.text:
        return f"{r.status_code} but the upload result shows row errors or an error"
    return None


class SimUser:
    """One person at the keyboard: a cookie session (pages, CSRF token) and a bearer token (API)."""

    role = ""

    def __init__(self, account: Account, base: str, shared: Shared, seed: int) -> None:
        self.account = account
        self.name = account.username
        self.base = base
        self.shared = shared
        self.stats = shared.stats
        self.rng = random.Random(seed)
        self.client: httpx.Client | None = None
        self.bearer: dict[str, str] = {}
        self.csrf = ""

    # --- plumbing ------------------------------------------------------------------------------

    def sign_in(self) -> bool:
        """bench_api's sign-in (login form, then a token), counted as one operation."""
        t = time.perf_counter()
        try:
            self.client, self.bearer = sign_in(self.base, self.name)
        except (httpx.HTTPError, AssertionError, AttributeError) as e:
            self.stats.record(SIGN_IN, time.perf_counter() - t, "error",
                              f"sign-in failed: {type(e).__name__}", str(e)[:500])
            return False
        self.stats.record(SIGN_IN, time.perf_counter() - t, "ok")
        r = self.call("page: dashboard", "GET", "/", think=False)
        m = re.search(r'name="csrf_token" value="([^"]+)"', r.text) if r is not None else None
        self.csrf = m.group(1) if m else ""
        return bool(self.csrf)

    def pause(self) -> None:
        self.shared.stop.wait(self.rng.uniform(*self.shared.think))

    def call(self, op: str, method: str, url: str, *, ok: Iterable[int] = (200,),
             conflicts: dict[int, str] | None = None, api: bool = False, htmx: bool = False,
             check: Check | None = None, think: bool = True, **kw: Any) -> httpx.Response | None:
        """One request, timed and classified; the think time follows. None on a connection error."""
        assert self.client is not None
        headers = dict(kw.pop("headers", {}))
        if api:
            headers.update(self.bearer)
        if htmx:
            headers.update({"HX-Request": "true", "X-CSRF-Token": self.csrf})
        t = time.perf_counter()
        r: httpx.Response | None = None
        try:
            r = self.client.request(method, url, headers=headers, **kw)
            seconds = time.perf_counter() - t
        except httpx.HTTPError as e:
            self.stats.record(op, None, "error", f"{type(e).__name__}", f"{method} {url}: {e}")
        else:
            self._classify(op, method, url, r, seconds, set(ok), conflicts or {}, check)
        if think:
            self.pause()
        return r

    def _classify(self, op: str, method: str, url: str, r: httpx.Response, seconds: float, ok: set[int],
                  conflicts: dict[int, str], check: Check | None) -> None:
        if r.status_code in ok:
            problem = check(r) if check else None
            if problem is None:
                self.stats.record(op, seconds, "ok")
            else:
                self.stats.record(op, seconds, "error", problem, f"{method} {url}")
        elif r.status_code in conflicts:
            self.stats.record(op, seconds, "conflict", f"{r.status_code}: {conflicts[r.status_code]}")
        else:
            where = r.headers.get("location", "")
            self.stats.record(op, seconds, "error", f"unexpected {r.status_code}" + (f" -> {where}" if where else ""),
                              f"{method} {url} -> {r.status_code}\n{r.text[:800]}")

    def json(self, r: httpx.Response | None) -> Any:
        if r is None or not r.headers.get("content-type", "").startswith("application/json") or r.status_code >= 300:
            return None
        return r.json()

    def run(self) -> None:
        """Work until told to stop; a bug of this script is counted as an error, not a crash."""
        while not self.shared.stop.is_set():
            try:
                self.step()
            except Exception as e:  # noqa: BLE001
                self.stats.error(f"soak script: {type(e).__name__} in a {self.role}'s step",
                                 traceback.format_exc(limit=6))
                self.pause()

    def step(self) -> None:
        action = self.rng.choices(*zip(*self.actions()))[0]
        action()

    def actions(self) -> list[tuple[Callable[[], None], float]]:
        raise NotImplementedError

    def follow_job(self, job_id: str, kind: str, via_page: bool) -> dict[str, Any] | None:
        """Poll the job as the page does (its fragment, every second) or as an API client would,
        until it has finished; then read its outcome from the API. None if the load stopped first."""
        op = f"{self.role}: poll {kind} job ({'page' if via_page else 'api'})"
        deadline = time.monotonic() + JOB_TIMEOUT
        finished = False
        while not finished and not self.shared.stop.is_set():
            if via_page:
                r = self.call(op, "GET", f"/jobs/{job_id}", htmx=True, think=False)
                finished = r is not None and "job-finished" in r.headers.get("hx-trigger", "")
            else:
                body = self.json(self.call(op, "GET", f"/api/v1/jobs/{job_id}", api=True, think=False))
                finished = body is not None and body.get("status") != "running"
            if not finished and time.monotonic() > deadline:
                self.stats.error(f"{kind} job still running after {JOB_TIMEOUT:.0f} s", f"job {job_id}")
                return None
            if not finished:
                self.shared.stop.wait(POLL_EVERY)
        if not finished:
            return None
        job = self.json(self.call(f"{self.role}: read {kind} job (api)", "GET", f"/api/v1/jobs/{job_id}", api=True))
        if job is None:
            return None
        if job["status"] == "done":
            self.stats.count(f"{kind} jobs done")
        elif "another" in (job.get("error") or "") and "running" in job["error"]:
            self.stats.conflict(f"{kind} job failed: it lost the job lock to a job started in another server "
                                "process at the same moment")
        else:
            self.stats.error(f"{kind} job failed: {(job.get('error') or '')[:200]}", f"job {job_id}")
        return job


class Clerk(SimUser):
    role = "clerk"

    def __init__(self, account: Account, base: str, shared: Shared, seed: int, factory: ClaimFactory) -> None:
        super().__init__(account, base, shared, seed)
        self.factory = factory
        self.waiting: dict[int, int] = {}   # batch id -> rows, not yet fully decided
        self.decided: list[int] = []

    def actions(self) -> list[tuple[Callable[[], None], float]]:
        return [(self.upload, 3.0), (self.follow_batch, 3.0 if self.waiting else 0.0),
                (self.download, 0.5 if self.decided else 0.0), (self.browse, 2.0)]

    def upload(self) -> None:
        unit = self.rng.choice(self.account.units)
        rows = self.rng.randint(1, 8)
        name, body = self.factory.batch(unit, rows)
        files = {"file": (name, body, "text/csv")}
        if self.rng.random() < 0.6:
            r = self.call("clerk: upload batch (page)", "POST", "/batches", htmx=True, files=files,
                          data={"unit_code": unit, "csrf_token": self.csrf}, check=has_row_errors)
            m = re.search(r'href="/batches/(\d+)"', r.text) if r is not None and r.status_code == 200 else None
            batch_id = int(m.group(1)) if m else None
        else:
            body_ = self.json(self.call("clerk: upload batch (api)", "POST", "/api/v1/batches", api=True, ok=(201,),
                                        files=files, data={"unit_code": unit}, check=has_row_errors))
            batch_id = body_.get("import_id") if body_ else None
        if batch_id:
            self.waiting[batch_id] = rows
            with self.stats.lock:
                self.stats.batches[batch_id] = rows
            self.stats.count("claims filed", rows)

    def follow_batch(self) -> None:
        """Look at the oldest batch still waiting for the adjudication, as the page and as JSON."""
        batch_id = min(self.waiting)
        if self.rng.random() < 0.3:
            self.call("clerk: batch page", "GET", f"/batches/{batch_id}")
        body = self.json(self.call("clerk: batch (api)", "GET", f"/api/v1/batches/{batch_id}", api=True))
        if body is not None and body["claims"] == self.waiting[batch_id] and not body["by_status"].get("RECEIVED"):
            del self.waiting[batch_id]
            self.decided.append(batch_id)
            self.stats.count("batches seen decided by their clerk")

    def download(self) -> None:
        batch_id = self.rng.choice(self.decided[-20:])
        if self.rng.random() < 0.5:
            self.call("clerk: decisions.csv (page)", "GET", f"/batches/{batch_id}/decisions.csv")
        else:
            self.call("clerk: decisions export (api)", "GET", f"/api/v1/decisions/export?batch_id={batch_id}", api=True)

    def browse(self) -> None:
        choice = self.rng.randrange(6)
        if choice == 0:
            self.call("page: dashboard", "GET", "/")
        elif choice == 1:
            self.call("api: dashboard", "GET", "/api/v1/dashboard", api=True)
        elif choice == 2:
            self.call("clerk: batches page", "GET", "/batches")
        elif choice == 3:
            self.call("clerk: batches (api)", "GET", "/api/v1/batches", api=True)
        elif choice == 4:
            self.call("page: claims queue", "GET", f"/review?page={self.rng.randint(1, 3)}")
        else:
            self.call("api: claims list", "GET", "/api/v1/claims?page_size=50", api=True)


REVIEW_CONFLICT = {409: "the claim changed since it was read (decided or re-adjudicated by someone else)"}
JOB_BUSY = {409: "a job of this kind is already running"}


class Auditor(SimUser):
    role = "auditor"

    def actions(self) -> list[tuple[Callable[[], None], float]]:
        return [(self.review_page, 3.0), (self.review_api, 2.0), (self.adjudicate, 1.0), (self.browse, 2.0)]

    def _action(self) -> str:
        return self.rng.choices(("approve", "reject", "override"), (0.7, 0.2, 0.1))[0]

    def _succeeded(self, claim_id: int, version: int, action: str) -> None:
        with self.stats.lock:
            self.stats.reviews[claim_id].append(version)
        self.stats.count(f"reviews: {action}")

    def review_page(self) -> None:
        """The review queue page, a pending claim's page, its review form."""
        r = self.call("auditor: review queue page", "GET", "/review?status=PENDING_REVIEW")
        ids = re.findall(r'href="/claims/(\d+)"', r.text) if r is not None else []
        if not ids:
            return
        claim_id = int(self.rng.choice(ids[:10]))
        r = self.call("auditor: claim page", "GET", f"/claims/{claim_id}")
        m = re.search(r'name="version" value="(\d+)"', r.text) if r is not None else None
        if m is None:
            return  # no review form (someone decided it meanwhile; the page shows why)
        version, action = int(m.group(1)), self._action()
        payout = re.search(r'name="payout"[^>]*placeholder="([\d.]+)"', r.text)
        data = {"csrf_token": self.csrf, "action": action, "reason": REVIEW_REASONS[action], "version": str(version),
                "payout": self._override(payout.group(1) if payout else "0") if action == "override" else ""}
        r = self.call("auditor: review (page form)", "POST", f"/claims/{claim_id}/review", data=data, ok=(303,),
                      conflicts=REVIEW_CONFLICT)
        if r is not None and r.status_code == 303:
            self._succeeded(claim_id, version, action)

    def review_api(self) -> None:
        body = self.json(self.call("auditor: review queue (api)", "GET",
                                   "/api/v1/claims?status=PENDING_REVIEW&page_size=20", api=True))
        items = body["items"] if body else []
        if not items:
            return
        claim_id = self.rng.choice(items)["id"]
        claim = self.json(self.call("auditor: claim (api)", "GET", f"/api/v1/claims/{claim_id}", api=True))
        if claim is None or claim["status"] != "PENDING_REVIEW":
            return
        action = self._action()
        payload: dict[str, Any] = {"action": action, "reason": REVIEW_REASONS[action], "version": claim["version"]}
        if action == "override":
            payload["payout"] = self._override(claim["payout"])
        r = self.call("auditor: review (api)", "POST", f"/api/v1/claims/{claim_id}/review", api=True, json=payload,
                      conflicts=REVIEW_CONFLICT)
        if r is not None and r.status_code == 200:
            self._succeeded(claim_id, claim["version"], action)

    def _override(self, payout: str) -> str:
        """An amount an auditor might set: 60-95 % of the computed one."""
        fen = int(round(float(payout) * 100 * self.rng.uniform(0.6, 0.95)))
        return yuan(fen)

    def adjudicate(self) -> None:
        """When claims wait for the engine: start the run (page or API) and follow it to the end."""
        if self.rng.random() < 0.5:
            r = self.call("auditor: adjudication page", "GET", "/adjudication")
            waiting = re.search(r'id="waiting"[^>]*><strong>[^<\d]*(\d[\d,]*)', r.text) if r is not None else None
            if waiting is None or waiting.group(1) == "0":
                return
            r = self.call("auditor: start adjudication (page)", "POST", "/adjudication", htmx=True,
                          data={"as_of": TODAY.isoformat(), "csrf_token": self.csrf}, conflicts=JOB_BUSY)
            m = re.search(r'id="job-([0-9a-f]{16})"', r.text) if r is not None and r.status_code == 200 else None
            if m:
                self.follow_job(m.group(1), "adjudicate", via_page=True)
        else:
            body = self.json(self.call("auditor: claims waiting (api)", "GET",
                                       "/api/v1/claims?status=RECEIVED&page_size=1", api=True))
            if not body or not body["total"]:
                return
            job = self.json(self.call("auditor: start adjudication (api)", "POST", "/api/v1/adjudication/runs",
                                      api=True, json={}, ok=(202,), conflicts=JOB_BUSY))
            if job:
                self.follow_job(job["id"], "adjudicate", via_page=False)

    def browse(self) -> None:
        choice = self.rng.randrange(7)
        if choice == 0:
            self.call("page: dashboard", "GET", "/")
        elif choice == 1:
            self.call("auditor: audit log page", "GET", f"/audit?page={self.rng.randint(1, 3)}")
        elif choice == 2:
            self.call("auditor: audit log (api)", "GET", "/api/v1/audit?page_size=50", api=True)
        elif choice == 3:
            flt = self.rng.choice(("status=APPROVED", "rule=R06", "status=REJECTED", "min_payout=1000",
                                   "product=WOMEN"))
            self.call("page: claims queue", "GET", f"/review?{flt}&page={self.rng.randint(1, 3)}")
        elif choice == 4:
            body = self.json(self.call("api: claims list", "GET", "/api/v1/claims?status=APPROVED&page_size=50",
                                       api=True))
            if body and body["items"]:
                claim_id = self.rng.choice(body["items"])["id"]
                self.call("auditor: decisions of a claim (api)", "GET", f"/api/v1/claims/{claim_id}/decisions",
                          api=True)
        elif choice == 5:
            self.call("auditor: batches page", "GET", "/batches")
        else:
            self.call("api: dashboard", "GET", "/api/v1/dashboard", api=True)


class Finance(SimUser):
    role = "finance"

    def __init__(self, account: Account, base: str, shared: Shared, seed: int) -> None:
        super().__init__(account, base, shared, seed)
        self.vouchers = 0
        self.pages = 1                                   # pages of approved claims, as last seen
        self.last_run: tuple[str, int] | None = None    # (month, run id) of the last reconciliation seen done

    def actions(self) -> list[tuple[Callable[[], None], float]]:
        return [(self.pay, 2.0), (self.reconcile, 1.0), (self.read_report, 1.5 if self.last_run else 0.0),
                (self.browse, 2.0)]

    def _claims_to_pay(self) -> list[dict[str, Any]]:
        """Approved claims with a payout that nobody of the team has paid yet, from a page of the
        list (oldest first): mostly one of the last pages, where the newly approved claims are."""
        page = self.rng.randint(max(1, self.pages - 2) if self.rng.random() < 0.7 else 1, self.pages)
        body = self.json(self.call("finance: approved claims (api)", "GET",
                                   f"/api/v1/claims?status=APPROVED&page_size=100&page={page}", api=True))
        if not body:
            return []
        # past 1,000 matches the list stops counting ("more"): a full last page means more pages
        self.pages = max(self.pages, body["pages"], page + 1 if body["more"] and page >= self.pages
                         and len(body["items"]) == 100 else 0)
        wanted = self.rng.randint(1, 10)
        chosen = []
        with self.shared.paid_lock:
            for c in body["items"]:
                if c["payout"] not in ("0.00", None) and c["claim_no"] not in self.shared.paid:
                    self.shared.paid.add(c["claim_no"])
                    chosen.append(c)
                    if len(chosen) == wanted:
                        break
        return chosen

    def pay(self) -> None:
        claims = self._claims_to_pay()
        lines = [self._line("PAYOUT", c["product"], c["payout"], c["claim_no"], "互助金支付") for c in claims]
        if self.rng.random() < 0.1:
            lines.append(self._line("FEE", "", "12.50", "", "银行手续费"))
        if not lines:
            return
        name = f"ledger-{self.name}-{self.vouchers:06d}.csv"
        files = {"file": (name, csv_bytes(LEDGER_COLUMNS, lines), "text/csv")}
        if self.rng.random() < 0.5:
            r = self.call("finance: ledger upload (page)", "POST", "/ledger", htmx=True, files=files,
                          data={"csrf_token": self.csrf}, check=has_row_errors)
        else:
            r = self.call("finance: ledger upload (api)", "POST", "/api/v1/ledger/imports", api=True, ok=(201,),
                          files=files, check=has_row_errors)
        if r is not None and r.status_code in (200, 201):
            with self.stats.lock:
                self.stats.ledger_rows += len(lines)
            self.stats.count("claims paid", len(claims))

    def _line(self, kind: str, product: str, amount: str, reference: str, memo: str) -> dict[str, str]:
        self.vouchers += 1
        return {"entry_date": TODAY.isoformat(), "voucher_no": f"SK-{self.name}-{self.vouchers:06d}",
                "entry_type": kind, "product": product, "amount": amount, "reference": reference, "memo": memo}

    def _month(self) -> str:
        if self.rng.random() < 0.8:
            return f"{TODAY:%Y-%m}"
        return f"{TODAY.replace(day=1) - dt.timedelta(days=1):%Y-%m}"

    def reconcile(self) -> None:
        month = self._month()
        if self.rng.random() < 0.5:
            self.call("finance: reconciliation page", "GET", "/recon")
            r = self.call("finance: start reconciliation (page)", "POST", "/recon", htmx=True,
                          data={"month": month, "csrf_token": self.csrf}, conflicts=JOB_BUSY)
            m = re.search(r'id="job-([0-9a-f]{16})"', r.text) if r is not None and r.status_code == 200 else None
            job = self.follow_job(m.group(1), "reconcile", via_page=True) if m else None
        else:
            started = self.json(self.call("finance: start reconciliation (api)", "POST", "/api/v1/reconciliations",
                                          api=True, json={"month": month}, ok=(202,), conflicts=JOB_BUSY))
            job = self.follow_job(started["id"], "reconcile", via_page=False) if started else None
        if job and job["status"] == "done":
            self.last_run = (month, int(job["result"]["run_id"]))

    def read_report(self) -> None:
        """The month's page, the run, a page of its items, summary.json; sometimes resolve an item."""
        assert self.last_run is not None
        month, run_id = self.last_run
        self.call("finance: reconciliation month page", "GET", f"/recon/{month}")
        run = self.json(self.call("finance: reconciliation run (api)", "GET", f"/api/v1/reconciliations/{run_id}",
                                  api=True))
        if run and "summary.json" in run["files"]:
            self.call("finance: summary.json (api)", "GET", f"/api/v1/reconciliations/{run_id}/files/summary.json",
                      api=True)
        items = self.json(self.call("finance: reconciliation items (api)", "GET",
                                    f"/api/v1/reconciliations/{run_id}/items?resolved=false&page_size=50", api=True))
        open_items = [i for i in (items or {}).get("items", []) if i["status"] != "MATCHED"]
        if open_items and self.rng.random() < 0.3:
            item = self.rng.choice(open_items)
            self.call("finance: resolve item (api)", "POST", f"/api/v1/reconciliations/{month}/resolutions", api=True,
                      json={"item_key": item["item_key"], "note": "已与银行核对 / checked with the bank"},
                      conflicts={404: "the item is not in the month's latest run (a newer run replaced it)"})

    def browse(self) -> None:
        choice = self.rng.randrange(6)
        if choice == 0:
            self.call("page: dashboard", "GET", "/")
        elif choice == 1:
            self.call("finance: ledger page", "GET", "/ledger")
        elif choice == 2:
            self.call("finance: reconciliation page", "GET", "/recon")
        elif choice == 3:
            self.call("finance: reconciliation runs (api)", "GET", f"/api/v1/reconciliations?month={self._month()}",
                      api=True)
        elif choice == 4:
            self.call("api: dashboard", "GET", "/api/v1/dashboard", api=True)
        else:
            self.call("api: claims list", "GET", f"/api/v1/claims?page={self.rng.randint(1, 5)}", api=True)


# ---------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------

def make_users(accounts: list[Account], base: str, shared: Shared, insured: dict[str, list[Insured]],
               seed: int) -> list[SimUser]:
    users: list[SimUser] = []
    for i, a in enumerate(accounts):
        if a.role == "clerk":
            factory = ClaimFactory(a.username, insured, random.Random(seed * 1000 + i))
            users.append(Clerk(a, base, shared, seed * 1000 + i, factory))
        elif a.role == "auditor":
            users.append(Auditor(a, base, shared, seed * 1000 + i))
        else:
            users.append(Finance(a, base, shared, seed * 1000 + i))
    return users


def progress_line(stats: Stats, started: float, memory: MemoryMonitor) -> str:
    requests, errors, conflicts = stats.totals()
    elapsed = time.monotonic() - started
    rss = memory.samples[-1][1] if memory.samples else float("nan")
    return (f"[{elapsed:5.0f} s] {requests:,} requests ({requests / max(elapsed, 1e-9):.0f}/s), "
            f"errors {errors}, conflicts {conflicts}, server RSS {rss:.1f} MiB")


@dataclass
class LoadResult:
    started: float                                  # monotonic time the users started
    seconds: float
    baseline: tuple[float, float, float] | None     # memory sample at the end of the warm-up


def run_load(users: list[SimUser], shared: Shared, memory: MemoryMonitor, duration: float,
             warmup: float) -> LoadResult:
    """Sign everyone in, run them for ``duration`` seconds (warm-up included), print progress."""
    with ThreadPoolExecutor(4) as pool:  # argon2 makes each sign-in take a while
        signed = list(pool.map(lambda u: u.sign_in(), users))
    active = [u for u, ok in zip(users, signed) if ok]
    print(f"signed in: {len(active)} of {len(users)} users")
    threads = [threading.Thread(target=u.run, name=u.name, daemon=True) for u in active]
    started = time.monotonic()
    for t in threads:
        t.start()
    baseline = None
    next_progress = started + PROGRESS_EVERY
    while (now := time.monotonic()) < started + duration:
        if baseline is None and now >= started + warmup:
            baseline = memory.sample()
            print(f"warm-up done after {warmup:.0f} s: server RSS {baseline[1]:.1f} MiB (the baseline)")
        if now >= next_progress:
            print(progress_line(shared.stats, started, memory), flush=True)
            next_progress += PROGRESS_EVERY
        time.sleep(min(0.5, max(0.0, started + duration - now)))
    shared.stop.set()
    elapsed = time.monotonic() - started
    for t in threads:
        t.join(60)
    for u in users:
        if u.client is not None:
            u.client.close()
    return LoadResult(started, elapsed, baseline)


def wait_for_jobs(db: Database, timeout: float = 180.0) -> int:
    """Background jobs still running once the users stopped: wait for them (the checks need a
    quiet database). Returns how many were still running at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        with db.sessions() as s:
            running = s.execute(text("SELECT count(*) FROM background_jobs WHERE status = 'running'")).scalar()
        if not running or time.monotonic() > deadline:
            return int(running or 0)
        time.sleep(1.0)


# ---------------------------------------------------------------------------------------------
# the end state
# ---------------------------------------------------------------------------------------------

@dataclass
class Finding:
    ok: bool
    text: str


def sql_count(db: Database, sql: str, **params: Any) -> int:
    with db.sessions() as s:
        return int(s.execute(text(sql), params).scalar() or 0)


def check_claims(db: Database) -> list[Finding]:
    """No claim decided twice by the engine, and each claim row agrees with its decisions."""
    claims = sql_count(db, "SELECT count(*) FROM claims")
    twice = sql_count(db, """SELECT count(*) FROM claims c WHERE c.status <> 'RECEIVED' AND
                               (SELECT count(*) FROM decisions d WHERE d.claim_id = c.id AND d.kind = 'AUTO') <> 1""")
    undecided = sql_count(db, """SELECT count(*) FROM claims c WHERE c.status = 'RECEIVED' AND
                                   EXISTS (SELECT 1 FROM decisions d WHERE d.claim_id = c.id)""")
    version = sql_count(db, """SELECT count(*) FROM claims c WHERE c.version <>
                                 (SELECT count(*) FROM decisions d WHERE d.claim_id = c.id)""")
    latest = sql_count(db, """SELECT count(*) FROM claims c JOIN LATERAL
                                (SELECT d.status, d.payout_fen FROM decisions d WHERE d.claim_id = c.id
                                 ORDER BY d.id DESC LIMIT 1) l ON true
                               WHERE c.status <> l.status OR c.payout_fen <> l.payout_fen""")
    received = sql_count(db, "SELECT count(*) FROM claims WHERE status = 'RECEIVED'")
    return [
        Finding(twice == 0, f"decided claims with other than exactly one AUTO decision: {twice} (of {claims:,} claims;"
                            f" {received} still undecided)"),
        Finding(undecided == 0, f"undecided claims with a decision: {undecided}"),
        Finding(version == 0, f"claims whose version is not their number of decisions: {version}"),
        Finding(latest == 0, f"claims whose status/payout differ from their newest decision: {latest}"),
    ]


def check_reviews(db: Database, stats: Stats, auditors: list[str]) -> list[Finding]:
    """The reviews recorded are exactly those the auditors were told succeeded."""
    with db.sessions() as s:
        recorded = dict(s.execute(text("SELECT claim_id, count(*) FROM decisions WHERE kind = 'REVIEW' "
                                       "AND decided_by = ANY(:who) GROUP BY claim_id"), {"who": auditors}).all())
        audited = s.execute(text("SELECT count(*) FROM audit_log WHERE action IN ('claim.approve', 'claim.reject') "
                                 "AND actor = ANY(:who)"), {"who": auditors}).scalar()
    told = {cid: len(vs) for cid, vs in stats.reviews.items()}
    mismatched = sorted(cid for cid in set(told) | set(recorded) if told.get(cid, 0) != recorded.get(cid, 0))
    same_version = sorted(cid for cid, vs in stats.reviews.items() if len(vs) != len(set(vs)))
    total = sum(recorded.values())
    return [
        Finding(not mismatched, f"REVIEW decisions recorded {total}, successes seen by the auditors "
                                f"{sum(told.values())}; claims where they differ: {mismatched[:10] or 0}"),
        Finding(not same_version, "claims reviewed successfully twice with the same version: "
                                  f"{same_version[:10] or 0}"),
        Finding(audited == total, f"audit entries claim.approve/reject by the auditors: {audited} "
                                  f"(REVIEW decisions: {total})"),
    ]


def check_uploads(db: Database, stats: Stats) -> list[Finding]:
    """Every batch stored all its rows as claims; every ledger line uploaded is stored once."""
    with db.sessions() as s:
        per_batch = dict(s.execute(text("SELECT batch_id, count(*) FROM claims WHERE batch_id = ANY(:ids) "
                                        "GROUP BY batch_id"), {"ids": list(stats.batches)}).all())
        lines = s.execute(text("SELECT count(*) FROM ledger_lines WHERE voucher_no LIKE 'SK-%'")).scalar()
    short = sorted(b for b, rows in stats.batches.items() if per_batch.get(b, 0) != rows)
    return [
        Finding(not short, f"batches uploaded {len(stats.batches)}, claims in them {sum(per_batch.values()):,} "
                           f"(rows sent {sum(stats.batches.values()):,}); batches short: {short[:10] or 0}"),
        Finding(lines == stats.ledger_rows, f"ledger lines stored {lines}, uploaded {stats.ledger_rows}"),
    ]


def check_jobs_and_audit(db: Database, still_running: int) -> list[Finding]:
    from mutualaid import audit

    with db.sessions() as s:
        jobs = Counter(dict(s.execute(text("SELECT kind || ' ' || status, count(*) FROM background_jobs "
                                           "GROUP BY 1")).all()))
        result = audit.verify(s)
    return [
        Finding(still_running == 0, f"background jobs: {dict(sorted(jobs.items())) or 'none'}; "
                                    f"still running after the wait: {still_running}"),
        Finding(result.ok, f"audit log hash chain: {result.entries:,} entries, "
                           + ("verifies" if result.ok else f"BROKEN at entry {result.broken_at}")),
    ]


def server_tracebacks(log: Path) -> tuple[int, str]:
    """(number of tracebacks in the server log, the first one)."""
    content = log.read_text(errors="replace") if log.is_file() else ""
    count = content.count("Traceback (most recent call last)")
    first = ""
    if count:
        start = content.index("Traceback (most recent call last)")
        first = content[start:start + 4000]
    return count, first


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------

def print_operations(stats: Stats, seconds: float) -> None:
    """The table by operation; the "load" line and the throughput leave the sign-ins out (they
    happen before the clock starts and cost an argon2 hash each)."""
    load = [o for op, o in stats.ops.items() if op != SIGN_IN]
    every = [v for o in load for v in o.latencies]
    print(f"\n{'operation':<44} {'requests':>8} {'ok':>7} {'confl':>5} {'err':>4} "
          f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    for op in sorted(stats.ops):
        o = stats.ops[op]
        lat = o.latencies
        top = max(lat) * 1000 if lat else float("nan")
        print(f"{op[:44]:<44} {o.requests:>8,} {o.ok:>7,} {sum(o.conflicts.values()):>5} {sum(o.errors.values()):>4} "
              f"{pct(lat, 50):>7.1f} {pct(lat, 95):>7.1f} {pct(lat, 99):>7.1f} {top:>7.1f}")
    requests = sum(o.requests for o in load)
    top = max(every) * 1000 if every else float("nan")
    print(f"{'load (all but the sign-ins)':<44} {requests:>8,} {sum(o.ok for o in load):>7,} "
          f"{sum(sum(o.conflicts.values()) for o in load):>5} {sum(sum(o.errors.values()) for o in load):>4} "
          f"{pct(every, 50):>7.1f} {pct(every, 95):>7.1f} {pct(every, 99):>7.1f} {top:>7.1f}")
    print(f"throughput: {requests / seconds:.1f} requests/s over {seconds:.0f} s "
          f"(mean latency {statistics.fmean(every) * 1000 if every else float('nan'):.1f} ms; "
          "latencies of every answered request, conflicts and errors included)")


def print_conflicts_and_errors(stats: Stats) -> None:
    conflicts = [(op, why, n) for op, o in sorted(stats.ops.items()) for why, n in o.conflicts.items()]
    conflicts += [("", why, n) for why, n in stats.other_conflicts.items()]
    print("\nconflicts (expected answers to races between users; not errors):" + ("" if conflicts else " none"))
    for op, why, n in conflicts:
        print(f"  {n:>5} x {op + ': ' if op else ''}{why}")
    errors = [(op, why, n) for op, o in sorted(stats.ops.items()) for why, n in o.errors.items()]
    errors += [("", why, n) for why, n in stats.other_errors.items()]
    print("errors:" + ("" if errors else " none"))
    for op, why, n in errors:
        print(f"  {n:>5} x {op + ': ' if op else ''}{why}")
    if stats.samples:
        print("\nfirst errors in full:")
        for s in stats.samples[:5]:
            print("  " + s.replace("\n", "\n    "))


def print_memory(memory: MemoryMonitor, baseline: tuple[float, float, float] | None, end: tuple[float, float, float],
                 workers: int) -> None:
    if baseline is None:
        print("\nserver memory: no baseline (the run was shorter than the warm-up)")
        return
    after = [s for s in memory.samples if s[0] >= baseline[0]]
    peak = max(s[1] for s in after)
    peak_one = max(s[2] for s in after)
    minutes = [(s[0] - baseline[0]) / 60 for s in after]
    trend = statistics.linear_regression(minutes, [s[1] for s in after]).slope if len(after) > 2 else float("nan")
    print(f"\nserver memory (RSS of the uvicorn supervisor and its {workers} child process(es), sampled every second):")
    print(f"  total:          start {baseline[1]:.1f} MiB (after the warm-up), peak {peak:.1f} MiB, "
          f"end {end[1]:.1f} MiB, growth {end[1] - baseline[1]:+.1f} MiB ({(end[1] / baseline[1] - 1) * 100:+.1f} %), "
          f"trend {trend:+.2f} MiB/min")
    print(f"  largest process: start {baseline[2]:.1f} MiB, peak {peak_one:.1f} MiB, end {end[2]:.1f} MiB, "
          f"growth {end[2] - baseline[2]:+.1f} MiB")


def print_work(stats: Stats) -> None:
    print("\nwork done: " + ", ".join(f"{k} {v:,}" for k, v in sorted(stats.work.items())))


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=20, help="concurrent users (default 20)")
    ap.add_argument("--duration", type=float, default=600, help="seconds of load, warm-up included (default 600)")
    ap.add_argument("--database-url", default=os.environ.get("MUTUALAID_TEST_PG",
                                                             "postgresql://postgres@127.0.0.1:5432/test"),
                    help="PostgreSQL database for the private schema (default $MUTUALAID_TEST_PG or the local test db)")
    ap.add_argument("--mix", help="CLERKS,AUDITORS,FINANCE (default: 50 %% / 30 %% / 20 %% of --users)")
    ap.add_argument("--members", type=int, default=3000, help="HOSP members of the generated year (default 3000)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                    help="uvicorn worker processes (default: the number of CPUs)")
    ap.add_argument("--think", default="0.2,1.0", help="pause after each request, MIN,MAX seconds")
    ap.add_argument("--warmup", type=float, default=30, help="seconds before the memory baseline (default 30)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the schema and the work folder (names printed)")
    args = ap.parse_args(argv)
    args.think = tuple(float(x) for x in args.think.split(","))
    args.warmup = min(args.warmup, args.duration / 4)
    return args


@dataclass
class World:
    accounts: list[Account]
    insured: dict[str, list[Insured]]
    paid: set[str]          # claim numbers the loaded ledger has paid already


def paid_claims(db: Database) -> set[str]:
    """Claims the generated ledger paid: the finance team does not pay them again."""
    with db.sessions() as s:
        return set(s.execute(text("SELECT DISTINCT reference FROM ledger_lines WHERE entry_type = 'PAYOUT'")).scalars())


def set_up(db: Database, args: argparse.Namespace) -> World:
    t = time.perf_counter()
    load_year(db, args.members, args.seed, args.work / "generated")
    year_start = dt.date(TODAY.year if TODAY.month > 1 else TODAY.year - 1, 1, 1)
    clerks, auditors, finance = role_mix(args.users, args.mix)
    accounts = plan_accounts(busiest_units(db, year_start), clerks, auditors, finance)
    create_accounts(db, accounts)
    insured = insured_by_unit(db, {u for a in accounts for u in a.units}, year_start)
    empty = [u for a in accounts for u in a.units if not insured.get(u)]
    if empty:
        raise SystemExit(f"no {year_start.year} enrollments to claim on in units {empty}: the generated year "
                         "(mutualaid.generate: 2025 and 2026 enrollments) does not cover today's date")
    with db.sessions() as s:
        figures = dict(s.execute(text("SELECT status, count(*) FROM claims GROUP BY status")).all())
    units = ", ".join(f"{a.username}: {'+'.join(a.units)}" for a in accounts if a.role == "clerk")
    print(f"set-up in {time.perf_counter() - t:.0f} s: {args.members:,} HOSP members, claims by status {figures}; "
          f"{clerks} clerks ({units}), {auditors} auditors, {finance} finance")
    return World(accounts, insured, paid_claims(db))


def stop_server(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def soak(args: argparse.Namespace, db: Database, url: str, schema: str) -> int:
    world = set_up(db, args)
    os.environ["MUTUALAID_UPLOAD_DIR"] = str(args.work / "uploads")
    os.environ["MUTUALAID_REPORTS_DIR"] = str(args.work / "reports")
    log_path = args.work / "server.log"
    with open(log_path, "wb") as log:
        proc, base = start_server(url, args.workers, log=log)
    memory = MemoryMonitor(proc.pid)
    try:
        memory.sample()
        memory.start()
        print(f"server {base}: {args.workers} worker(s), log {log_path}; schema {schema}; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"load: {args.users} users for {args.duration:.0f} s, think time {args.think[0]}-{args.think[1]} s, "
              f"memory baseline after {args.warmup:.0f} s")
        shared = Shared(Stats(), threading.Event(), args.think, paid=world.paid)
        users = make_users(world.accounts, base, shared, world.insured, args.seed)
        load = run_load(users, shared, memory, args.duration, args.warmup)
        print(progress_line(shared.stats, load.started, memory) + " (load stopped)")
        still_running = wait_for_jobs(db)
        end = memory.sample()
        workers = memory.workers()
    finally:
        memory.halt.set()
        stop_server(proc)
    return report(args, db, shared.stats, load, memory, end, workers, still_running, world.accounts, log_path)


def report(args: argparse.Namespace, db: Database, stats: Stats, load: LoadResult, memory: MemoryMonitor,
           end: tuple[float, float, float], workers: int, still_running: int, accounts: list[Account],
           log_path: Path) -> int:
    print("\n" + "=" * 30 + " soak summary " + "=" * 30)
    clerks, auditors, finance = (sum(a.role == r for a in accounts) for r in ("clerk", "auditor", "finance"))
    print(f"{args.users} users ({clerks} clerks, {auditors} auditors, {finance} finance) for {load.seconds:.0f} s "
          f"against {args.workers} server worker(s) on PostgreSQL; load average now {os.getloadavg()[0]:.1f}")
    print_operations(stats, load.seconds)
    print_conflicts_and_errors(stats)
    print_work(stats)
    print_memory(memory, load.baseline, end, workers)
    tracebacks, first = server_tracebacks(log_path)
    if tracebacks:
        stats.error(f"server log: {tracebacks} traceback(s)", first)
    print(f"\nserver log: {tracebacks} traceback(s)" + (f"; the first:\n{first}" if first else ""))
    findings = (check_claims(db) + check_reviews(db, stats, [a.username for a in accounts if a.role == "auditor"])
                + check_uploads(db, stats)
                + check_jobs_and_audit(db, still_running))
    print("\nconsistency of the database after the load:")
    for f in findings:
        print(f"  {'ok  ' if f.ok else 'FAIL'} {f.text}")
    requests, errors, conflicts = stats.totals()
    passed = errors == 0 and all(f.ok for f in findings)
    print(f"\nRESULT: {'PASS' if passed else 'FAIL'} -- {requests:,} requests, {errors} errors, {conflicts} conflicts, "
          f"{sum(not f.ok for f in findings)} failed checks")
    return 0 if passed else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    admin_url = resolve_url(args.database_url)
    if not admin_url.startswith("postgresql"):
        raise SystemExit("the soak runs against PostgreSQL (--database-url postgresql://...)")
    args.work = Path(tempfile.mkdtemp(prefix="mutualaid-soak-"))
    schema, url = create_schema(admin_url)
    db = None
    try:
        db = Database(url)
        return soak(args, db, url, schema)
    finally:
        if db is not None:
            db.dispose()
        if args.keep:
            print(f"kept: schema {schema}, folder {args.work}")
        else:
            drop_schema(admin_url, schema)
            shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
