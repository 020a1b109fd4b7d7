"""The batch jobs on Dask distributed: adjudication and reconciliation in partitions.

Same use cases as the single-process jobs, called on partitions by Dask workers
(docs/scaling.md has the how-to and the figures):

* :func:`run_distributed` -- ``mutualaid batch run --workers N | --scheduler URL``. The
  driver holds the ``adjudicate`` job lock (so a single-process and a distributed run never
  overlap), lists the members with undecided claims and cuts them into the sorted ID-number
  ranges of :func:`batch.adjudicate.member_chunks`. One task per range: the worker opens its
  own :class:`Database` (one per worker process) and, in one transaction, calls the very
  same :func:`mutualaid.claims.decide.decide_and_record` as ``batch.adjudicate`` (the
  range decided, the audit entry recorded) and commits.
  A member's claims are always in one task, so each member is processed in order
  (policy.md §4) with the history of its earlier claims, and nothing a task decides
  depends on another task.

  Retry-safe: a task either commits its whole range or nothing. A worker killed mid-task
  loses its uncommitted transaction; Dask runs the task again elsewhere (worker deaths up
  to ``distributed.scheduler.allowed-failures``, exceptions up to ``retries``). The re-run
  finds the claims still ``RECEIVED`` and decides them; had the first attempt committed
  (result lost with the worker), the re-run finds the chunk's audit entry of this run and
  returns its recorded counts, deciding nothing. Two attempts racing on the same range
  cannot both store: ``store_outcomes`` updates only ``RECEIVED`` claims and rolls the loser
  back (``DecisionConflict``), which is then retried and finds the audit entry. So every
  claim gets exactly one ``AUTO`` decision and the returned :class:`Tally` counts each once.

* :func:`reconcile_distributed` -- ``mutualaid reconcile --workers N | --scheduler URL``.
  Claims are cut into ``claim_no`` ranges (boundaries from the sorted claim numbers);
  ``PAYOUT``/``REVERSAL`` lines go to the range of their ``reference`` (so each line meets
  its claim), the other lines and lines without reference to the first partition. Each
  worker reads its partition (on PostgreSQL inside the driver's exported snapshot, so all
  partitions see one consistent state) and reconciles it with
  :func:`mutualaid.ledger.reconcile.reconcile`. Every figure of the summary is a sum over
  items, claims or ledger lines, each of which is in exactly one partition, so the driver
  merges exactly: items concatenated and put in report order again, totals added (the
  roll-forward included). The inputs' fingerprint is built from the partitions' row
  hashes and equals the single-process one. Stored and written by the same code as
  :func:`mutualaid.ledger.service.run`.

SQLite works for both (worker processes on one machine, an absolute file path), but it
has one writer at a time: adjudication tasks wait for each other's commits, so only the
reading and rule evaluation run in parallel. Use PostgreSQL to scale.
"""
from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy.engine import make_url

from batch.adjudicate import MEMBERS_PER_CHUNK, member_chunks
from mutualaid.claims.decide import (
    ENGINE_USER,
    Tally,
    decide_and_record,
    pending_member_ids,
    recorded_tally,
    waiting_count,
)
from mutualaid.dates import month_bounds
from mutualaid.ledger import service as recon_job
from mutualaid.ledger.partitions import claim_bounds, partition_queries
from mutualaid.ledger.reconcile import STATUS_ORDER, Figures, Reconciliation, reconcile
from mutualaid.store.db import Database, resolve_url
from mutualaid.store.locks import job_lock
from mutualaid.store.snapshots import exported_snapshot, reading_in

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "TASK_RETRIES", "claim_bounds", "dask_client", "decide_chunk", "item_order", "merge_reconciliations",
    "partition_queries", "reconcile_distributed", "reconcile_partition", "run_distributed", "shareable_url",
    "worker_database",
]

#: a task that raises (a dropped connection, a conflict) is run again up to this many times;
#: a task whose worker dies is re-run by the scheduler (distributed.scheduler.allowed-failures)
TASK_RETRIES = 3


# --- cluster and per-worker database -----------------------------------------------------------

@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Client]:
    """A client of the cluster at ``scheduler`` (tcp://HOST:PORT), or of a LocalCluster of
    ``workers`` processes (default: one per CPU) with one thread each."""
    from distributed import Client, LocalCluster

    if scheduler and workers:
        raise ValueError("give a number of workers or a scheduler address, not both")
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    n = (os.cpu_count() or 1) if workers is None else workers
    if n < 1:
        raise ValueError(f"workers must be at least 1, got {n}")
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        yield client


def shareable_url(url: str | None) -> str:
    """The database URL as worker processes must see it (SQLite: an absolute file path)."""
    url = resolve_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path in ("", ":memory:") or path.startswith("file:"):
            raise ValueError("an in-memory SQLite database cannot be shared with worker processes")
        if not os.path.isabs(path):
            url = parsed.set(database=os.path.abspath(path)).render_as_string(hide_password=False)
    return url


_worker_dbs: dict[str, Database] = {}
_worker_dbs_lock = threading.Lock()


def worker_database(url: str) -> Database:
    """This process's Database for ``url``: one engine and pool per worker process, reused by
    its tasks (the driver has migrated the schema already)."""
    with _worker_dbs_lock:
        db = _worker_dbs.get(url)
        if db is None:
            db = _worker_dbs[url] = Database(url, migrate_schema=False)
        return db


# --- adjudication ------------------------------------------------------------------------------

def decide_chunk(db_url: str, lo: str, hi: str, *, as_of: dt.date, run_id: str, user: str = ENGINE_USER,
                 before_commit: Callable[[str, str], None] | None = None) -> Tally:
    """Worker task: decide every undecided claim of members [lo, hi] in one transaction.

    Idempotent per (run, range): see the module doc. ``before_commit(lo, hi)`` runs inside
    the transaction just before the commit (fault injection in tests).
    """
    db = worker_database(db_url)
    with db.transaction() as session:
        done = recorded_tally(session, run_id, f"{lo}..{hi}")
        if done is not None:  # a committed attempt of this run: decide nothing again
            return done
        tally = decide_and_record(session, lo, hi, as_of=as_of, user=user, run_id=run_id)
        if before_commit is not None:
            before_commit(lo, hi)
    return tally


def run_distributed(db_url: str | None = None, *, as_of: dt.date, workers: int | None = None,
                    scheduler: str | None = None, members_per_chunk: int = MEMBERS_PER_CHUNK,
                    user: str = ENGINE_USER, progress: Callable[[int, int], None] | None = None,
                    retries: int = TASK_RETRIES,
                    before_commit: Callable[[str, str], None] | None = None) -> Tally:
    """Decide every RECEIVED claim on a Dask cluster; same decisions as ``batch.adjudicate.run``.

    ``workers``: start a LocalCluster of that many processes (1 thread each); ``scheduler``:
    use the cluster at tcp://HOST:PORT instead. Raises ``JobBusy`` when another adjudication
    runs on the database. If a task fails for good, the other tasks are let finish (what
    they committed stays; a re-run decides the rest) and the first error is raised.
    """
    url = shareable_url(db_url)
    db = Database(url)  # migrates the schema once, before any worker connects
    total = Tally()
    run_id = uuid.uuid4().hex
    try:
        with job_lock(db, "adjudicate"):
            from mutualaid.casework.service import before_batch

            with db.transaction() as session:  # returned claims first, in this process (few)
                total.merge(before_batch(session, as_of=as_of, user=user))
            with db.sessions() as session:
                ids = pending_member_ids(session, as_of)
                total.waiting = waiting_count(session, as_of)
            chunks = member_chunks(ids, members_per_chunk)
            del ids
            if not chunks:
                return total
            from distributed import as_completed

            with dask_client(workers, scheduler) as client:
                futures = client.map(
                    decide_chunk, [url] * len(chunks), [lo for lo, _ in chunks], [hi for _, hi in chunks],
                    key=[f"adjudicate-{run_id[:12]}-{k}" for k in range(len(chunks))],
                    as_of=as_of, run_id=run_id, user=user, before_commit=before_commit,
                    retries=retries, pure=False)
                first_error: BaseException | None = None
                for done, future in enumerate(as_completed(futures), 1):
                    try:
                        total.merge(future.result())
                    except Exception as exc:  # noqa: BLE001 - let the others finish, raise the first
                        first_error = first_error or exc
                    if progress:
                        progress(done, len(chunks))
                if first_error is not None:
                    raise first_error
    finally:
        db.dispose()
    return total


# --- reconciliation ----------------------------------------------------------------------------

def reconcile_partition(db_url: str, month: str, lo: str | None, hi: str | None,
                        snapshot: str | None = None) -> tuple[Reconciliation, tuple[int, np.ndarray], tuple[int, np.ndarray]]:
    """Worker task: read one partition (in ``snapshot`` on PostgreSQL) and reconcile it.

    Returns the partial reconciliation and (rows, row hashes) of its claims and ledger lines.
    """
    _, last_day = month_bounds(month)
    db = worker_database(db_url)
    claims_sql, ledger_sql = partition_queries(last_day, lo, hi)
    with reading_in(db, snapshot) as conn:
        claims, ledger = recon_job.read_frames(conn, claims_sql, ledger_sql)
    rec = reconcile(month, claims, ledger)
    return rec, (len(claims), recon_job.row_hashes(claims)), (len(ledger), recon_job.row_hashes(ledger))


def item_order(items: pd.DataFrame) -> np.ndarray:
    """Positions of ``items`` in report order (as ``reconcile`` orders them): status, longest
    outstanding first, claim_no (missing as ''), then item_key, texts in codepoint order."""
    status = pd.Index(STATUS_ORDER).get_indexer(items["status"])
    days = items["days_outstanding"].fillna(-1).to_numpy(dtype=np.int64)
    key = pd.DataFrame({"status": status, "days": -days,
                        "claim_no": items["claim_no"].fillna("").astype(object),
                        "item_key": items["item_key"].astype(object)})
    return key.sort_values(["status", "days", "claim_no", "item_key"], kind="stable").index.to_numpy()


def merge_reconciliations(month: str, parts: list[Reconciliation]) -> Reconciliation:
    """One reconciliation from partial ones over disjoint claims and ledger lines.

    Exact when every claim and every ledger line is in exactly one part and each
    PAYOUT/REVERSAL line is in the part of the claim it names (if that claim exists):
    the items are concatenated and put in report order, the integer-fen totals added.
    """
    if not parts:
        raise ValueError("no partitions to merge")
    first_day, last_day = month_bounds(month)
    items = pd.concat([p.items for p in parts], ignore_index=True)
    items = items.take(item_order(items)).reset_index(drop=True)
    totals = sum((p.totals for p in parts[1:]), parts[0].totals)
    if totals.items != Figures(len(items), int(items["approved_fen"].sum()), int(items["paid_fen"].sum())):
        raise AssertionError("merged item totals do not add up")
    return Reconciliation(month=month, first_day=first_day, last_day=last_day, items=items, totals=totals)


def reconcile_distributed(db_url: str | None, month: str, out_dir: Path | None, *, workers: int | None = None,
                          scheduler: str | None = None, user: str = "cli", partitions: int | None = None,
                          generated_at: dt.datetime | None = None,
                          retries: int = TASK_RETRIES) -> recon_job.RunResult:
    """``mutualaid.ledger.service.run`` on a Dask cluster: same items, summary, fingerprint, files.

    ``partitions``: number of claim_no ranges (default: the cluster's worker threads).
    Raises ``ReconcileError`` for a malformed month and ``JobBusy`` when the month's
    reconciliation is already running.
    """
    recon_job.month_days(month)
    url = shareable_url(db_url)
    db = Database(url)
    try:
        with job_lock(db, f"reconcile-{month}"):
            with exported_snapshot(db) as (conn, snapshot), dask_client(workers, scheduler) as client:
                wanted = partitions or max(1, sum(client.nthreads().values()))
                bounds = claim_bounds(conn, wanted)
                ranges = list(zip([None, *bounds], [*bounds, None]))
                futures = client.map(reconcile_partition, [url] * len(ranges), [month] * len(ranges),
                                     [lo for lo, _ in ranges], [hi for _, hi in ranges],
                                     snapshot=snapshot, retries=retries, pure=False,
                                     key=[f"reconcile-{month}-{uuid.uuid4().hex[:12]}-{k}" for k in range(len(ranges))])
                results = client.gather(futures)
            rec = merge_reconciliations(month, [r for r, _, _ in results])
            inputs = recon_job.digest(
                (sum(c[0] for _, c, _ in results), np.concatenate([c[1] for _, c, _ in results])),
                (sum(ln[0] for _, _, ln in results), np.concatenate([ln[1] for _, _, ln in results])))
            del results
            run_id, notes = recon_job.store_run(db, rec, inputs, user=user)
            head = recon_job.chain_head(db)
            files = recon_job.write_files(rec, out_dir, notes, generated_at, head, db)
    finally:
        db.dispose()
    return recon_job.RunResult(run_id, rec, files, inputs, head)
