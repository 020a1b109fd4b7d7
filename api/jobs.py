"""Long work (adjudication run, reconciliation) in background threads, with progress to poll.

Jobs live in this process's memory: a restart forgets them (the work itself is committed
chunk by chunk by the use cases, so nothing is lost but the progress display). One job of
each kind runs at a time per process; the use cases' own locks guard across processes.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]
Work = Callable[[Progress], dict[str, Any]]
RUNNING, DONE, FAILED = "running", "done", "failed"
KEEP = 200  # finished jobs remembered


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


class JobRegistry:
    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mutualaid-job")
        self._jobs: dict[str, Job] = {}
        self._futures: dict[str, Future[None]] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, owner: str, work: Work, **params: Any) -> Job:
        with self._lock:
            for j in self._jobs.values():
                if j.kind == kind and j.status == RUNNING:
                    raise JobBusy(j)
            job = Job(secrets.token_hex(8), kind, owner, params, dt.datetime.now(dt.timezone.utc))
            self._jobs[job.id] = job
            finished = [j.id for j in self._jobs.values() if j.status != RUNNING]
            for old in finished[: max(0, len(finished) - KEEP)]:
                self._jobs.pop(old, None)
                self._futures.pop(old, None)
            self._futures[job.id] = self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Work) -> None:
        def progress(done: int, total: int | None) -> None:
            job.done, job.total = done, total

        try:
            job.result = work(progress) or {}
            job.status = DONE
        except JobFailed as e:
            job.error, job.status = str(e), FAILED
        except Exception as e:  # noqa: BLE001  (reported to the user, logged with traceback)
            log.exception("job %s (%s) failed", job.id, job.kind)
            job.error, job.status = f"{type(e).__name__}: {e}", FAILED
        finally:
            job.finished_at = dt.datetime.now(dt.timezone.utc)

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def running(self, kind: str) -> Job | None:
        return next((j for j in self._jobs.values() if j.kind == kind and j.status == RUNNING), None)

    def wait(self, job_id: str, timeout: float | None = None) -> Job | None:
        fut = self._futures.get(job_id)
        if fut is not None:
            fut.result(timeout)
        return self._jobs.get(job_id)

    def wait_all(self, timeout: float | None = 60) -> None:
        for fut in list(self._futures.values()):
            fut.result(timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
