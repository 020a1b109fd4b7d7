"""Database URL resolution, engines, sessions and migrations (cli.md: --db, MUTUALAID_DB)."""
from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
DEFAULT_URL = "sqlite:///mutualaid.db"
MIGRATIONS = Path(__file__).parent / "migrations"
#: how long SQLite waits for another writer (MUTUALAID_SQLITE_BUSY_MS; the web server answers 503 after it)
BUSY_TIMEOUT_MS = int(os.environ.get("MUTUALAID_SQLITE_BUSY_MS", "30000"))


def resolve_url(url: str | None = None) -> str:
    """--db beats MUTUALAID_DB beats ./mutualaid.db; plain postgresql:// gets psycopg 3.

    A value without ``://`` is the path of a SQLite file (``data/x.db`` ->
    ``sqlite:////abs/data/x.db``), relative to the current folder.
    """
    url = url or os.environ.get("MUTUALAID_DB") or DEFAULT_URL
    if "://" not in url:
        if url.strip() in ("", ":memory:"):
            return "sqlite://"
        url = "sqlite:///" + str(Path(url).expanduser().absolute())
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    return url


def is_busy(error: BaseException) -> bool:
    """SQLite's answer when another connection holds the lock longer than busy_timeout."""
    text = str(getattr(error, "orig", None) or error)
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (absolute), or None for another database or an in-memory one."""
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(url).database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).absolute()


def retry_when_locked(work: Callable[[], T], *, attempts: int = 3) -> T:
    """Run a whole transaction again when SQLite answered "database is locked".

    In WAL mode a transaction that read before a concurrent writer committed cannot
    become a writer itself (busy_timeout does not help): two people acting on one claim
    or one reconciliation item in the same instant. The retry reads the winner's work
    (and then usually reports a conflict or updates it). PostgreSQL errors pass through.
    """
    for attempt in range(attempts):
        try:
            return work()
        except OperationalError as e:
            if "database is locked" not in str(e) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
    cur.execute("PRAGMA cache_size=-131072")  # 128 MiB: random-order index inserts of big batches
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


class _RedactPersonalData(logging.Filter):
    """SQLAlchemy's DEBUG logging prints result rows: mask ID numbers and bank accounts in them.

    The store imports nothing from the domain, so the masking (as ``idnumber.mask`` /
    ``mask_account``: ID numbers keep the first 6 and last 4 characters, accounts the last 4)
    is repeated here for log lines only.
    """

    _ID = re.compile(r"(?<![0-9A-Za-z])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")
    _ACCOUNT = re.compile(r"(?<![0-9A-Za-z])[0-9]{8,15}([0-9]{4})(?![0-9A-Za-z])")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self._ID.sub(r"\1********\2", message)
        clean = self._ACCOUNT.sub(lambda m: "*" * (len(m.group(0)) - 4) + m.group(1), clean)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_REDACT = _RedactPersonalData()


def make_engine(url: str | None = None) -> Engine:
    # hide_parameters: statement parameters hold ID numbers and bank accounts; keep them out
    # of SQL logging (sqlalchemy.engine at INFO/DEBUG) and of every error's text (tracebacks,
    # the CLI's one-line errors, server logs). The SQL itself is still shown.
    url = resolve_url(url)
    engine_log = logging.getLogger("sqlalchemy.engine.Engine")
    if _REDACT not in engine_log.filters:
        engine_log.addFilter(_REDACT)
    if url.startswith("sqlite"):
        engine = create_engine(url, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
    return engine


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Database:
    """An engine plus a session factory; one per process (or per test)."""

    def __init__(self, url: str | None = None, *, migrate_schema: bool = True):
        self.url = resolve_url(url)
        self.engine = make_engine(self.url)
        path = self.engine.url.database if self.is_sqlite else None
        if path and path != ":memory:" and not path.startswith("file:") and not os.path.exists(path):
            from mutualaid.private import create_private_file

            create_private_file(path)  # a new database file holds personal data: 0600 (WAL files follow)
        if migrate_schema:
            migrate(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
