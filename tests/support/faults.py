"""Fault injection harness: SIGKILL the CLI jobs at random points, re-run them, compare with an uninterrupted run.

The tests (tests/test_faults.py) run a few trials; benchmarks/faults.py runs the long campaign.

For each job and each database (SQLite, PostgreSQL) the script

1. generates a small realistic data set (``mutualaid.generate``) and builds, in process, the
   database state the job starts from (a *base*: SQLite file / PostgreSQL template database);
2. runs the job once uninterrupted on a copy of the base (the *reference*, also timing it);
3. ``--runs`` times: copies the base (a private SQLite file / a private PostgreSQL database
   ``CREATE DATABASE … TEMPLATE base``), starts the job as a subprocess, sends SIGKILL after a
   random delay, checks what the killed job left behind, runs the job again to completion and
   compares the final state with the reference.

Jobs (all through the real command line, ``mutualaid …``):

``batch``          ``mutualaid batch run --as-of …`` on the claims of the last six months (one chunk)
``batch-chunked``  the same command with 10 members per chunk (many commits, so kills land between
                   them; launched through ``faults.py child-batch`` which only lowers the chunk size)
``ledger``         ``mutualaid ledger import ledger.csv``
``reconcile``      ``mutualaid reconcile --month 2025-12 --out DIR``

What must hold after every kill (before the re-run): every claim has exactly one ``AUTO``
decision if decided and none if ``RECEIVED``; ledger lines are all or nothing; a stored
reconciliation run has all its items; the audit hash chain verifies. After the re-run: the
claims, decisions (with traces), per-member processing order, ledger lines and report files
(``items.csv`` byte for byte, ``summary.json`` and ``report.xlsx`` apart from the generated-at
time) equal the reference; no ``*.tmp`` file is left; the audit chain verifies.

Usage::

    .venv/bin/python benchmarks/faults.py [--runs 50] [--size 2000] [--seed 7]
        [--jobs batch,batch-chunked,ledger,reconcile] [--dbs sqlite,postgresql] [--json OUT.json]

PostgreSQL: ``MUTUALAID_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/test``); the
user must be allowed to create databases. Every database the script creates is named
``mafault_<pid>_…`` and dropped at the end.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from mutualaid.store.db import Database, resolve_url  # noqa: E402

PG_URL = resolve_url(os.environ.get("MUTUALAID_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
MUTUALAID = str(Path(sys.executable).with_name("mutualaid"))
JOBS = ("batch", "batch-chunked", "ledger", "reconcile")
DBS = ("sqlite", "postgresql")
SPLIT_MONTH = "2025-10"        # batches up to this month are decided month by month in the base
RECON_MONTH = "2025-12"
CHUNKED_MEMBERS = 5
BUSY_RETRIES = 20


# --- the data and the base states -----------------------------------------------------------

@dataclasses.dataclass
class Data:
    rosters: list[Path]
    batches: list[Path]
    ledger: Path

    @property
    def last_month_end(self) -> dt.date:
        from mutualaid.demo import month_of
        from mutualaid.dates import month_bounds

        return month_bounds(month_of(self.batches[-1]))[1]


def generate_data(out: Path, size: int, seed: int) -> Data:
    from mutualaid.generate import generate

    g = generate(size, seed, out)
    return Data(g.rosters, g.claim_batches, g.ledger)


def build_batch_base(db: Database, data: Data) -> None:
    """Rosters; months up to SPLIT_MONTH submitted and decided at month end; the rest only submitted."""
    from batch.adjudicate import run as adjudicate
    from mutualaid.claims.intake import submit_batch
    from mutualaid.dates import month_bounds
    from mutualaid.demo import month_of
    from mutualaid.enrollments import import_roster

    for r in data.rosters:
        import_roster(db, r, user="fault-setup")
    for b in data.batches:
        submit_batch(db, b, clerk="fault-setup")
        if month_of(b) <= SPLIT_MONTH:
            adjudicate(db, as_of=month_bounds(month_of(b))[1])


def build_ledger_base(db: Database, data: Data) -> None:
    """Rosters; every month submitted and decided at its end (as the demo does); no ledger yet."""
    from batch.adjudicate import run as adjudicate
    from mutualaid.claims.intake import submit_batch
    from mutualaid.dates import month_bounds
    from mutualaid.demo import month_of
    from mutualaid.enrollments import import_roster

    for r in data.rosters:
        import_roster(db, r, user="fault-setup")
    for b in data.batches:
        submit_batch(db, b, clerk="fault-setup")
        adjudicate(db, as_of=month_bounds(month_of(b))[1])


def build_reconcile_base(db: Database, data: Data) -> None:
    """The ledger base (its copy: see BASE_PARENTS) plus the fund ledger."""
    from mutualaid.ledger.importer import import_ledger

    import_ledger(db, data.ledger, user="fault-setup")


def _copy_sqlite(src: Path, dst: Path) -> None:
    """A SQLite database with its audit key file (``<db>.audit-key``): a copy without the key
    no longer verifies, like a backup restored without it."""
    shutil.copyfile(src, dst)
    key = src.with_name(src.name + ".audit-key")
    if key.exists():
        shutil.copyfile(key, dst.with_name(dst.name + ".audit-key"))


# --- databases: a base per job, a private copy per run ----------------------------------------

class Backend:
    kind = ""

    def create_base(self, name: str, build: Callable[[Database], None], parent: str | None = None) -> None: ...
    def clone(self, base: str) -> str: ...
    def drop(self, url: str) -> None: ...
    def close(self) -> None: ...

    def connected(self, url: str) -> bool:
        """Has some process opened this (freshly cloned) database?"""
        raise NotImplementedError


class SqliteBackend(Backend):
    kind = "sqlite"

    def __init__(self, work: Path) -> None:  # noqa: D107
        self.dir = work / "sqlite"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.n = 0

    def create_base(self, name: str, build: Callable[[Database], None], parent: str | None = None) -> None:
        path = self.dir / f"base_{name}.db"
        if parent is not None:
            _copy_sqlite(self.dir / f"base_{parent}.db", path)
        db = Database(f"sqlite:///{path}")
        try:
            build(db)
            with db.engine.connect() as c:
                c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.dispose()

    def clone(self, base: str) -> str:
        self.n += 1
        path = self.dir / f"run_{self.n:04d}.db"
        _copy_sqlite(self.dir / f"base_{base}.db", path)
        return f"sqlite:///{path}"

    def connected(self, url: str) -> bool:
        # a clone is a bare file: the first connection (WAL mode) creates the -shm/-wal files
        path = make_url(url).database
        return os.path.exists(path + "-shm") or os.path.exists(path + "-wal")

    def drop(self, url: str) -> None:
        path = make_url(url).database
        for suffix in ("", "-wal", "-shm", "-journal", ".adjudicate.lock"):
            Path(path + suffix).unlink(missing_ok=True)
        for p in Path(path).parent.glob(Path(path).name + ".*.lock"):
            p.unlink(missing_ok=True)


class PgBackend(Backend):
    """A template database per base; each run gets ``CREATE DATABASE … TEMPLATE base``."""

    kind = "postgresql"

    def __init__(self, url: str = PG_URL) -> None:
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.prefix = f"mafault_{os.getpid()}"
        self.created: set[str] = set()
        self.n = 0
        self._watch: Any = None

    def connected(self, url: str) -> bool:
        if self._watch is None:
            self._watch = self.admin.connect()
        n = self._watch.execute(text("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = :d"),
                                {"d": make_url(url).database}).scalar()
        return bool(n)

    def _url(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def _exec(self, sql: str) -> None:
        with self.admin.connect() as c:
            c.execute(text(sql))

    def create_base(self, name: str, build: Callable[[Database], None], parent: str | None = None) -> None:
        db_name = f"{self.prefix}_base_{name}"
        self._exec(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        template = f' TEMPLATE "{self.prefix}_base_{parent}"' if parent else ""
        self._exec(f'CREATE DATABASE "{db_name}"{template}')
        self.created.add(db_name)
        db = Database(self._url(db_name))
        try:
            build(db)
        finally:
            db.dispose()

    def clone(self, base: str) -> str:
        self.n += 1
        db_name = f"{self.prefix}_run_{self.n:04d}"
        self._exec(f'CREATE DATABASE "{db_name}" TEMPLATE "{self.prefix}_base_{base}"')
        self.created.add(db_name)
        return self._url(db_name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        self._exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.discard(name)

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        for name in sorted(self.created):
            self._exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()
        self.admin.dispose()


def pg_problem() -> str | None:
    """None if PostgreSQL is reachable and lets us create databases, else why not."""
    try:
        eng = create_engine(PG_URL, poolclass=NullPool, connect_args={"connect_timeout": 3})
        with eng.connect() as c:
            ok = c.execute(text("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
        eng.dispose()
        return None if ok else "the PostgreSQL user may not create databases"
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


# --- reading a database's state -------------------------------------------------------------

@contextmanager
def connect(url: str) -> Iterator[Any]:
    eng = create_engine(resolve_url(url), poolclass=NullPool)
    try:
        with eng.connect() as c:
            yield c
    finally:
        eng.dispose()


def _trace_digest(trace: Any) -> str:
    if isinstance(trace, str):
        trace = json.loads(trace)
    return hashlib.sha256(json.dumps(trace, sort_keys=True, default=str).encode()).hexdigest()[:16]


def invariants(url: str) -> list[str]:
    """What must hold at any moment, even right after a SIGKILL. Returns the violations."""
    from mutualaid import audit
    from mutualaid.store.models import Claim, Decision, FileImport, LedgerLine, ReconItem, ReconRun

    problems: list[str] = []
    with connect(url) as c:
        claims = c.execute(select(Claim.id, Claim.claim_no, Claim.status)).all()
        per_claim = collections.Counter()
        auto = collections.Counter()
        for claim_id, kind in c.execute(select(Decision.claim_id, Decision.kind)):
            per_claim[claim_id] += 1
            if kind == "AUTO":
                auto[claim_id] += 1
        for claim_id, claim_no, status in claims:
            if status == "RECEIVED" and per_claim[claim_id]:
                problems.append(f"{claim_no}: RECEIVED but has {per_claim[claim_id]} decisions")
            if status != "RECEIVED" and auto[claim_id] != 1:
                problems.append(f"{claim_no}: {status} with {auto[claim_id]} AUTO decisions")
        dup = c.execute(text("SELECT voucher_no, COUNT(*) FROM ledger_lines GROUP BY voucher_no HAVING COUNT(*) > 1")).all()
        problems += [f"ledger line {v} stored {n} times" for v, n in dup]
        for fi_id, stored in c.execute(select(FileImport.id, FileImport.stored).where(FileImport.kind == "LEDGER")):
            n = c.execute(select(func.count()).select_from(LedgerLine).where(LedgerLine.import_id == fi_id)).scalar()
            if n != stored:
                problems.append(f"ledger import #{fi_id}: {n} lines stored, its record says {stored}")
        for run_id, summary in c.execute(select(ReconRun.id, ReconRun.summary)):
            summary = json.loads(summary) if isinstance(summary, str) else summary
            n = c.execute(select(func.count()).select_from(ReconItem).where(ReconItem.run_id == run_id)).scalar()
            if n != summary["items"]["count"]:
                problems.append(f"reconciliation run #{run_id}: {n} items stored, summary says {summary['items']['count']}")
    db = Database(url, migrate_schema=False)
    try:
        with db.sessions() as s:
            v = audit.verify(s)
        if not v.ok:
            problems.append(f"audit chain broken at entry #{v.broken_at}")
    finally:
        db.dispose()
    return problems


def db_state(url: str) -> dict[str, Any]:
    """The final state a job is judged by (ids of claims and enrollments are equal across copies)."""
    from mutualaid.store.models import Claim, Decision, FileImport, LedgerLine, ReconItem, ReconRun

    with connect(url) as c:
        claims = sorted(tuple(r) for r in c.execute(select(
            Claim.claim_no, Claim.status, Claim.payout_fen, Claim.reason_codes, Claim.policy_version,
            Claim.enrollment_id, Claim.decided_on, Claim.decided_by, Claim.allowance_days, Claim.category,
            Claim.version)))
        decisions = sorted((r.claim_no, r.kind, r.status, r.payout_fen, r.computed_payout_fen, r.reason_codes,
                            r.policy_version, r.decided_on, r.decided_by, r.reason, _trace_digest(r.trace))
                           for r in c.execute(select(Claim.claim_no, Decision.kind, Decision.status,
                                                     Decision.payout_fen, Decision.computed_payout_fen,
                                                     Decision.reason_codes, Decision.policy_version,
                                                     Decision.decided_on, Decision.decided_by, Decision.reason,
                                                     Decision.trace).join(Claim, Claim.id == Decision.claim_id)))
        order: dict[str, list[str]] = {}
        for member, claim_no in c.execute(select(Claim.member_id_number, Claim.claim_no)
                                          .where(Claim.decision_seq.is_not(None))
                                          .order_by(Claim.decision_seq)):
            order.setdefault(member, []).append(claim_no)
        ledger = sorted(tuple(r) for r in c.execute(select(
            LedgerLine.voucher_no, LedgerLine.entry_date, LedgerLine.entry_type, LedgerLine.product,
            LedgerLine.amount_fen, LedgerLine.reference, LedgerLine.memo, LedgerLine.row_hash)))
        ledger_imports = c.execute(select(func.count()).select_from(FileImport)
                                   .where(FileImport.kind == "LEDGER")).scalar()
        last_run = c.execute(select(ReconRun.id, ReconRun.month, ReconRun.inputs_fingerprint, ReconRun.summary)
                             .order_by(ReconRun.id.desc()).limit(1)).first()
        recon = None
        if last_run is not None:
            summary = json.loads(last_run.summary) if isinstance(last_run.summary, str) else last_run.summary
            items = sorted(tuple(r) for r in c.execute(select(
                ReconItem.item_key, ReconItem.claim_no, ReconItem.product, ReconItem.status, ReconItem.approved_fen,
                ReconItem.paid_fen, ReconItem.difference_fen, ReconItem.vouchers, ReconItem.days_outstanding)
                .where(ReconItem.run_id == last_run.id)))
            recon = {"month": last_run.month, "fingerprint": last_run.inputs_fingerprint, "summary": summary,
                     "items": items}
    return {"claims": claims, "decisions": decisions, "order": order, "ledger": ledger,
            "ledger_imports": ledger_imports, "recon": recon}


def files_state(out: Path | None) -> dict[str, Any] | None:
    """items.csv bytes, summary.json without generated_at, report.xlsx cell values without the generated-at row."""
    if out is None:
        return None
    import openpyxl

    from mutualaid.ledger.report import _zh

    state: dict[str, Any] = {"names": sorted(p.name for p in out.iterdir()) if out.exists() else []}
    if not out.exists():
        return state
    items = out / "items.csv"
    state["items.csv"] = items.read_bytes() if items.exists() else None
    summary = out / "summary.json"
    if summary.exists():
        doc = json.loads(summary.read_text(encoding="utf-8"))
        doc.pop("generated_at", None)
        doc.pop("audit_chain", None)   # the chain's head when written: differs from run to run
        state["summary.json"] = doc
    report = out / "report.xlsx"
    if report.exists():
        wb = openpyxl.load_workbook(report, read_only=True)
        labels = {_zh("recon.generated_at"), _zh("recon.audit_entries"), _zh("recon.audit_head")}
        state["report.xlsx"] = {ws.title: [row for row in ws.iter_rows(values_only=True) if not row or row[0] not in labels]
                                for ws in wb.worksheets}
        wb.close()
    return state


def differences(ref: dict[str, Any], got: dict[str, Any]) -> list[str]:
    out = []
    for key in ref:
        if ref[key] != got.get(key):
            a, b = ref[key], got.get(key)
            detail = ""
            if isinstance(a, list) and isinstance(b, list):
                detail = f" (reference {len(a)} rows, got {len(b)}; first difference: " \
                         f"{next((x for x in a if x not in b), None)!r} vs {next((y for y in b if y not in a), None)!r})"
            out.append(f"{key} differs{detail}")
    return out


# --- running the command line ----------------------------------------------------------------

@dataclasses.dataclass
class Job:
    name: str
    base: str
    argv: Callable[[str, Path, Data], list[str]]
    progress: Callable[[str, Path | None, int], str]   # what the job had committed when it was killed
    writes_files: bool = False


def _count(url: str, sql: str) -> int:
    with connect(url) as c:
        return c.execute(text(sql)).scalar() or 0


def _received(url: str) -> int:
    return _count(url, "SELECT COUNT(*) FROM claims WHERE status = 'RECEIVED'")


def _batch_progress(url: str, _out: Path | None, received_before: int) -> str:
    left = _received(url)
    if left == received_before:
        return "nothing committed"
    return "all committed" if left == 0 else "part committed"


def _ledger_progress(url: str, _out: Path | None, _before: int) -> str:
    return "all committed" if _count(url, "SELECT COUNT(*) FROM ledger_lines") else "nothing committed"


def _reconcile_progress(url: str, out: Path | None, _before: int) -> str:
    stored = _count(url, "SELECT COUNT(*) FROM recon_runs")
    files = sorted(p.name for p in out.iterdir()) if out is not None and out.exists() else []
    final = [f for f in files if f in ("items.csv", "summary.json", "report.xlsx")]
    tmp = [f for f in files if f.endswith(".tmp")]
    if not stored:
        return "nothing committed"
    if len(final) == 3 and not tmp:
        return "all committed, files written"
    return f"run stored, {len(final)} of 3 files written" + (" (a .tmp left)" if tmp else "")


def _cli(*args: str) -> list[str]:
    return [MUTUALAID, *args]


JOB_SPECS: dict[str, Job] = {
    "batch": Job("batch", "batch", lambda url, out, d: _cli(
        "batch", "run", "--as-of", d.last_month_end.isoformat(), "--db", url), _batch_progress),
    "batch-chunked": Job("batch-chunked", "batch", lambda url, out, d: [
        sys.executable, str(Path(__file__).resolve()), "child-batch", "--members-per-chunk", str(CHUNKED_MEMBERS),
        "--as-of", d.last_month_end.isoformat(), "--db", url], _batch_progress),
    "ledger": Job("ledger", "ledger", lambda url, out, d: _cli("ledger", "import", str(d.ledger), "--db", url),
                  _ledger_progress),
    "reconcile": Job("reconcile", "reconcile", lambda url, out, d: _cli(
        "reconcile", "--month", RECON_MONTH, "--out", str(out), "--db", url), _reconcile_progress, True),
}
BASE_BUILDERS = {"batch": build_batch_base, "ledger": build_ledger_base, "reconcile": build_reconcile_base,
                 "empty": lambda db, data: None}
BASE_PARENTS = {"reconcile": "ledger"}      # built from a copy of its parent


def create_base(backend: Backend, base: str, data: Data, built: set[str]) -> None:
    """Build ``base`` (and first its parent) on ``backend`` unless ``built`` has it."""
    if base in built:
        return
    parent = BASE_PARENTS.get(base)
    if parent is not None:
        create_base(backend, parent, data, built)
    backend.create_base(base, lambda db: BASE_BUILDERS[base](db, data), parent)
    built.add(base)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MUTUALAID_DB"}
    env.update(COLUMNS="120", PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    return env


@dataclasses.dataclass
class Launched:
    proc: subprocess.Popen
    started: float
    opened: float | None = None     # seconds from start to the job's first database connection


def launch(argv: list[str], log: Path, backend: Backend, url: str, *, watch_until: float | None = None) -> Launched:
    """Start a job; with ``watch_until``, poll (5 ms) until it connects to the database or exits."""
    with open(log, "w") as fh:
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=_env(), start_new_session=True)
    run = Launched(proc, time.perf_counter())
    while watch_until is not None and proc.poll() is None and time.perf_counter() - run.started < watch_until:
        if backend.connected(url):
            run.opened = time.perf_counter() - run.started
            break
        time.sleep(0.005)
    return run


@dataclasses.dataclass
class Completed:
    returncode: int
    output: str
    seconds: float
    opened: float | None = None
    busy_retries: int = 0


def run_to_end(argv: list[str], log: Path, backend: Backend, url: str, *, watch: bool = False,
               timeout: float = 600) -> Completed:
    """Run a job to completion. A 'job is running' refusal (on PostgreSQL the killed job's
    session may take a moment to go, and with it its advisory lock) is retried, and counted."""
    retries = 0
    while True:
        run = launch(argv, log, backend, url, watch_until=timeout if watch else None)
        rc = run.proc.wait(timeout=timeout)
        seconds = time.perf_counter() - run.started
        output = log.read_text(errors="replace")
        if rc == 2 and "job is running" in output and retries < BUSY_RETRIES:
            retries += 1
            time.sleep(0.5)
            continue
        return Completed(rc, output, seconds, run.opened, retries)


@dataclasses.dataclass
class Trial:
    job: str
    db: str
    delay: float           # seconds from the start of the process to the SIGKILL
    targeted: bool         # the delay was drawn within the database phase (else: within the whole run)
    killed: bool           # False: the job had finished before the delay ran out
    after_kill: str        # what the killed job had committed
    rerun_seconds: float = 0.0
    busy_retries: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Reference:
    db: dict[str, Any]
    files: dict[str, Any] | None
    seconds: float          # whole run
    opened: float           # start -> first database connection (interpreter start, imports)
    received: int           # claims RECEIVED in the base

    @property
    def phase(self) -> float:
        """How long the job works on the database (from its first connection to its end)."""
        return max(self.seconds - self.opened, 0.05)


def reference_run(backend: Backend, job: Job, data: Data, work: Path) -> Reference:
    url = backend.clone(job.base)
    out = work / f"ref_{backend.kind}_{job.name}" if job.writes_files else None
    try:
        received = _received(url)
        if isinstance(backend, SqliteBackend):       # our own look must not count as the job's connection
            for suffix in ("-wal", "-shm"):
                Path(make_url(url).database + suffix).unlink(missing_ok=True)
        else:
            _wait_gone(backend, url)
        done = run_to_end(job.argv(url, out, data), work / f"ref_{backend.kind}_{job.name}.log", backend, url,
                          watch=True)
        if done.returncode != 0:
            raise RuntimeError(f"reference run of {job.name} on {backend.kind} failed:\n{done.output}")
        problems = invariants(url)
        if problems:
            raise RuntimeError(f"reference run of {job.name} on {backend.kind}: {problems[:5]}")
        return Reference(db_state(url), files_state(out), done.seconds, done.opened or 0.0, received)
    finally:
        backend.drop(url)


def reference_in_process(backend: Backend, job: Job, data: Data, work: Path) -> Reference:
    """The uninterrupted run through the same use cases, in this process (what the command calls;
    cheaper than a subprocess, for the tests). Its duration stands for the job's database phase."""
    url = backend.clone(job.base)
    out = work / f"ref_{backend.kind}_{job.name}" if job.writes_files else None
    try:
        received = _received(url)
        t0 = time.perf_counter()
        db = Database(url)
        try:
            if job.base == "batch":
                from batch.adjudicate import run

                members = CHUNKED_MEMBERS if job.name == "batch-chunked" else None
                run(db, as_of=data.last_month_end, **({"members_per_chunk": members} if members else {}))
            elif job.name == "ledger":
                from mutualaid.ledger.importer import import_ledger

                import_ledger(db, data.ledger, user="cli")
            elif job.name == "reconcile":
                from batch.reconcile import run as reconcile

                reconcile(db, RECON_MONTH, out, user="cli")
            else:
                raise ValueError(job.name)
        finally:
            db.dispose()
        seconds = time.perf_counter() - t0
        problems = invariants(url)
        if problems:
            raise RuntimeError(f"reference run of {job.name} on {backend.kind}: {problems[:5]}")
        return Reference(db_state(url), files_state(out), seconds, 0.0, received)
    finally:
        backend.drop(url)


def _wait_gone(backend: Backend, url: str, timeout: float = 10) -> None:
    t0 = time.perf_counter()
    while backend.connected(url) and time.perf_counter() - t0 < timeout:
        time.sleep(0.01)


def kill_trial(backend: Backend, job: Job, data: Data, ref: Reference, work: Path, n: int,
               rng: random.Random, targeted_share: float = 0.8) -> Trial:
    """Kill the job at a random moment: mostly (``targeted_share``) within its database phase,
    i.e. ``U(0, 1.05 x the reference's database phase)`` after it connects; otherwise
    ``U(0, 1.05 x the reference's whole run)`` after it starts."""
    url = backend.clone(job.base)
    out = work / f"out_{backend.kind}_{job.name}_{n}" if job.writes_files else None
    log = work / f"run_{backend.kind}_{job.name}_{n}.log"
    argv = job.argv(url, out, data)
    targeted = rng.random() < targeted_share
    try:
        if targeted:
            offset = rng.uniform(0, 1.05 * ref.phase)
            run = launch(argv, log, backend, url, watch_until=120)
            deadline = run.started + (run.opened if run.opened is not None else ref.opened) + offset
        else:
            run = launch(argv, log, backend, url)
            deadline = run.started + rng.uniform(0, 1.05 * ref.seconds)
        try:
            run.proc.wait(timeout=max(0.0, deadline - time.perf_counter()))
            killed = False
        except subprocess.TimeoutExpired:
            os.killpg(run.proc.pid, signal.SIGKILL)
            run.proc.wait()
            killed = True
        delay = time.perf_counter() - run.started
        trial = Trial(job.name, backend.kind, delay, targeted, killed, job.progress(url, out, ref.received))
        if not killed and run.proc.returncode != 0:
            trial.problems.append(f"uninterrupted run exited {run.proc.returncode}: {log.read_text()[-500:]}")
        trial.problems += [f"after kill: {p}" for p in invariants(url)]
        done = run_to_end(argv, work / f"rerun_{backend.kind}_{job.name}_{n}.log", backend, url)
        trial.rerun_seconds, trial.busy_retries = done.seconds, done.busy_retries
        if done.returncode != 0:
            trial.problems.append(f"re-run exited {done.returncode}: {done.output[-800:]}")
        trial.problems += [f"after re-run: {p}" for p in invariants(url)]
        trial.problems += differences(ref.db, db_state(url))
        if job.writes_files:
            got = files_state(out)
            trial.problems += [f"files: {d}" for d in differences(ref.files or {}, got or {})]
        return trial
    finally:
        backend.drop(url)
        if out is not None:
            shutil.rmtree(out, ignore_errors=True)
        if not os.environ.get("MUTUALAID_FAULT_KEEP_LOGS"):
            for p in (log, work / f"rerun_{backend.kind}_{job.name}_{n}.log"):
                p.unlink(missing_ok=True)


# --- entry points -------------------------------------------------------------------------------

def child_batch(argv: list[str]) -> None:
    """`mutualaid batch run` with a smaller chunk size: the real command, more commits."""
    p = argparse.ArgumentParser(prog="faults.py child-batch")
    p.add_argument("--members-per-chunk", type=int, required=True)
    p.add_argument("--as-of", required=True)
    p.add_argument("--db", required=True)
    a = p.parse_args(argv)
    import batch.adjudicate as job
    from mutualaid.cli import app

    job.run.__kwdefaults__["members_per_chunk"] = a.members_per_chunk
    app(["batch", "run", "--as-of", a.as_of, "--db", a.db], prog_name="mutualaid")


if __name__ == "__main__":
    # the batch-chunked job launches this file as its child; the campaign is benchmarks/faults.py
    if sys.argv[1:2] == ["child-batch"]:
        child_batch(sys.argv[2:])
    else:
        sys.exit("usage: faults.py child-batch --members-per-chunk N --as-of DATE --db URL "
                 "(the campaign: benchmarks/faults.py)")
