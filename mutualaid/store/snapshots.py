"""One consistent read across processes: PostgreSQL's exported snapshots.

The distributed reconciliation's driver exports a snapshot; each worker reads its
partition inside it, so all partitions see the database as of one moment. SQLite has
no such thing (and one writer at a time): there the workers simply read.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

from mutualaid.store.db import Database


@contextmanager
def exported_snapshot(db: Database) -> Iterator[tuple[Connection, str | None]]:
    """A connection, and on PostgreSQL the id of a snapshot other connections can read in."""
    with db.engine.connect() as conn:
        if db.is_sqlite:
            yield conn, None
            return
        conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn, conn.execute(text("SELECT pg_export_snapshot()")).scalar()


@contextmanager
def reading_in(db: Database, snapshot: str | None) -> Iterator[Connection]:
    """A connection in one read transaction, inside ``snapshot`` when one is given."""
    with db.engine.connect() as conn:
        if snapshot is not None:
            if not all(c.isalnum() or c == "-" for c in snapshot):
                raise ValueError(f"not a snapshot id: {snapshot!r}")
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if snapshot is not None:
                conn.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
            yield conn
