"""Job locks: two batch runs on one database never run at once.

PostgreSQL: a session-level advisory lock; SQLite: an flock on a file beside the database.
Both vanish with the process, so a killed job never leaves a stale lock behind.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from mutualaid.store.db import Database


class JobBusy(RuntimeError):
    pass


@contextmanager
def job_lock(db: Database, name: str) -> Iterator[None]:
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
    if db.is_sqlite:
        path = db.engine.url.database or ":memory:"
        if path != ":memory:":
            # the file, not the name it was reached by: a symlink or another relative path to
            # the same database must meet the same lock
            path = os.path.realpath(path)
        lock_path = f"{path}.{name}.lock" if path != ":memory:" else f"/tmp/mutualaid-mem.{name}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise JobBusy(f"another '{name}' job is running on this database") from None
            yield
        finally:
            os.close(fd)
        return
    with db.engine.connect() as conn:
        # advisory locks are per database: scope the key to the schema, so that databases
        # kept as schemas of one server database (the test suites) don't block each other
        schema = conn.execute(text("SELECT current_schema()")).scalar()
        if schema not in (None, "public"):
            key = int.from_bytes(hashlib.sha256(f"{schema}/{name}".encode()).digest()[:4], "big")
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            raise JobBusy(f"another '{name}' job is running on this database")
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
