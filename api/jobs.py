"""Long work (adjudication run, reconciliation) in background threads, with progress to poll.

The work runs in a thread of the server process that started it; its state and progress
are kept in ``background_jobs`` so that any server process (uvicorn ``--workers N``) can
answer a poll. Progress writes are throttled. A job whose process died stops beating:
after ``STALE`` without news it is shown as failed. One job of each kind runs at a time
(checked here, and across processes by the use cases' own locks).
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mutualaid.store import jobs as job_table
from mutualaid.store.jobs import JobStatus
from mutualaid.store.db import Database

if TYPE_CHECKING:
    from mutualaid.store.models import BackgroundJob

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]
Work = Callable[[Progress], dict[str, Any]]


RUNNING, DONE, FAILED = JobStatus
STALE = dt.timedelta(minutes=30)
WRITE_EVERY = 0.5  # seconds between progress writes


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class JobBusy(RuntimeError):
    """A job of this kind is already running."""

    def __init__(self, job: "Job") -> None:
        super().__init__(job.id)
        self.job = job


class JobFailed(Exception):
    """Raised by work to fail with a message meant for the user (no traceback logged)."""


@dataclass
class Job:
    id: str
    kind: str
    owner: str
    params: dict[str, Any]
    started_at: dt.datetime
    status: str = RUNNING
    done: int = 0
    total: int | None = None
    finished_at: dt.datetime | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def percent(self) -> int | None:
        if self.status == DONE:
            return 100
        if not self.total:
            return None
        return min(100, int(100 * self.done / self.total))


def _job(row: BackgroundJob, now: dt.datetime) -> Job:
    status, error = row.status, row.error
    if status == RUNNING and now - row.updated_at > STALE:
        status, error = FAILED, "interrupted (the server process stopped) / 任务已中断（服务器进程已停止）"
    return Job(row.key, row.kind, row.owner, dict(row.params or {}), row.started_at, status, row.done, row.total,
               row.finished_at, dict(row.result or {}), error)


class JobRegistry:
    def __init__(self, db: Database, workers: int = 2) -> None:
        self.db = db
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mutualaid-job")
        self._futures: dict[str, Future[None]] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, owner: str, work: Work, **params: Any) -> Job:
        with self._lock:
            busy = self.running(kind)
            if busy is not None:
                raise JobBusy(busy)
            now = _now()
            row = job_table.add_job(self.db, key=secrets.token_hex(8), kind=kind, owner=owner, status=RUNNING, done=0,
                                    total=None, params=params, result={}, started_at=now, updated_at=now)
            job = _job(row, now)
            self._futures = {k: f for k, f in self._futures.items() if not f.done()}
            self._futures[job.id] = self._pool.submit(self._run, job.id, work)
        return job

    def _save(self, job_id: str, **values: Any) -> None:
        try:
            job_table.set_job(self.db, job_id, _now(), **values)
        except Exception:  # noqa: BLE001  (progress display must never break the work)
            log.exception("could not record the progress of job %s", job_id)

    def _run(self, job_id: str, work: Work) -> None:
        last = 0.0

        def progress(done: int, total: int | None) -> None:
            nonlocal last
            if time.monotonic() - last >= WRITE_EVERY or (total is not None and done >= total):
                last = time.monotonic()
                self._save(job_id, done=done, total=total)

        try:
            result = work(progress) or {}
        except JobFailed as e:
            self._save(job_id, status=FAILED, error=str(e), finished_at=_now())
        except Exception as e:  # noqa: BLE001  (reported to the user, logged with traceback)
            log.exception("job %s failed", job_id)
            self._save(job_id, status=FAILED, error=f"{type(e).__name__}: {e}", finished_at=_now())
        else:
            self._save(job_id, status=DONE, result=result, finished_at=_now())

    def get(self, job_id: str) -> Job | None:
        row = job_table.job_of(self.db, job_id)
        return _job(row, _now()) if row is not None else None

    def running(self, kind: str) -> Job | None:
        now = _now()
        jobs = [_job(r, now) for r in job_table.running_jobs(self.db, kind, RUNNING)]
        return next((j for j in jobs if j.status == RUNNING), None)

    def wait(self, job_id: str, timeout: float | None = None) -> Job | None:
        fut = self._futures.get(job_id)
        if fut is not None:
            fut.result(timeout)
        return self.get(job_id)

    def wait_all(self, timeout: float | None = 60) -> None:
        for fut in list(self._futures.values()):
            fut.result(timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
