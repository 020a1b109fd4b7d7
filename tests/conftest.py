"""Test fixtures: the store tests run against SQLite and PostgreSQL.

PostgreSQL comes from MUTUALAID_TEST_PG (default: the local server of these machines).
Outside CI a missing server skips those tests with a clear message; with
MUTUALAID_REQUIRE_PG=1 (set by .ci/run) it fails them instead.
"""
from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from mutualaid.store.db import Database, resolve_url
from mutualaid.store.models import Base

# claim documents of PostgreSQL tests would otherwise land in ./documents (mutualaid.casework.documents)
os.environ.setdefault("MUTUALAID_DOCUMENTS_DIR", tempfile.mkdtemp(prefix="mutualaid-test-documents-"))
# One audit key for the whole run (and the Dask workers it starts): tests copy databases
# between files and servers, and a chain is verified with the key it was written with.
# The key-file behaviour itself is tested with this variable removed (test_hardening_audit).
os.environ.setdefault("MUTUALAID_AUDIT_KEY", "mutualaid-test-suite-audit-key-not-a-secret-0123456789")

PG_URL = resolve_url(os.environ.get("MUTUALAID_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
REQUIRE_PG = os.environ.get("MUTUALAID_REQUIRE_PG") == "1"


def _pg_reachable() -> str | None:
    try:
        eng = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as c:
            c.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A private schema per test session, so parallel runs on one server don't collide."""
    problem = _pg_reachable()
    if problem:
        message = f"PostgreSQL at {PG_URL} is not reachable ({problem}); set MUTUALAID_TEST_PG"
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


_databases: dict[str, Database] = {}


def _truncate(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as c:
        if db.is_sqlite:
            for t in tables:
                c.execute(text(f"DELETE FROM {t}"))
        else:
            c.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A migrated, empty database of each kind (schema built once per session, emptied per test)."""
    kind = request.param
    if kind not in _databases:
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        else:
            url = request.getfixturevalue("pg_schema_url")
        _databases[kind] = Database(url)
    database = _databases[kind]
    _truncate(database)
    yield database


@pytest.fixture
def sqlite_db(tmp_path) -> Iterator[Database]:  # noqa: ANN001
    """A fresh SQLite file database, for tests that don't need both backends."""
    database = Database(f"sqlite:///{tmp_path / 'mutualaid.db'}")
    yield database
    database.dispose()
