"""The ``background_jobs`` table: state and progress of the server's long jobs.

Kept in the database so that any server process can answer a poll (``api.jobs`` runs the
work in threads and is the only user).
"""
from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update

from mutualaid.store.db import Database
from mutualaid.store.models import BackgroundJob


class JobStatus(StrEnum):
    """``background_jobs.status`` (the page words are ``job.<status>``)."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def add_job(db: Database, **values: Any) -> BackgroundJob:
    """A new row (key, kind, owner, status, params, started_at, updated_at, ...)."""
    job = BackgroundJob(**values)
    with db.transaction() as session:
        session.add(job)
    return job


def set_job(db: Database, key: str, now: dt.datetime, **values: Any) -> None:
    """Progress, outcome or error of a job; ``now`` is its heartbeat."""
    with db.transaction() as session:
        session.execute(update(BackgroundJob).where(BackgroundJob.key == key).values(updated_at=now, **values))


def job_of(db: Database, key: str) -> BackgroundJob | None:
    with db.sessions() as session:
        return session.execute(select(BackgroundJob).where(BackgroundJob.key == key)).scalar()


def running_jobs(db: Database, kind: str, running: str = JobStatus.RUNNING) -> list[BackgroundJob]:
    """Jobs of ``kind`` whose status is ``running``, newest first."""
    with db.sessions() as session:
        return list(session.execute(select(BackgroundJob).where(BackgroundJob.kind == kind,
                                                                BackgroundJob.status == running)
                                    .order_by(BackgroundJob.started_at.desc())).scalars().all())
