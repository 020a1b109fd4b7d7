"""The database goes away or the disk fills up during an import: one clear line, exit 2, nothing stored.

* PostgreSQL: the import's connection is killed from another connection
  (``pg_terminate_backend``) while its transaction is open (the command is frozen with
  SIGSTOP at that moment, so the kill always lands mid-import);
* SQLite: the disk is full -- a small tmpfs (needs root; skipped otherwise) and, everywhere,
  a database file capped with ``PRAGMA max_page_count``;
* a database server that does not answer at all.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

import mutualaid.cli as cli
from tests.support import faults
from tests.support.fuzz_readers import Oracle
from mutualaid.store.db import Database
from tests.fault_support import fault_bases  # noqa: F401  (fixture)

IMPORTS = {  # command, base state, file
    "roster": (["enrollments", "import"], "empty", lambda d: d.rosters[0]),
    "claims": (["claims", "submit"], "empty", lambda d: d.batches[-2]),
    "ledger": (["ledger", "import"], "ledger", lambda d: d.ledger),
}


def _counts(url: str) -> dict[str, int]:
    db = Database(url, migrate_schema=False)
    try:
        return Oracle(db)._counts()
    finally:
        db.dispose()


def _one_clear_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "[SQL" not in stderr and "[parameters" not in stderr
    assert "database error" in lines[0] and "nothing of the file was stored" in lines[0]
    return lines[0]


@pytest.mark.parametrize("what", list(IMPORTS))
def test_postgresql_connection_killed_mid_import(fault_bases, what):  # noqa: F811
    command, base, file_of = IMPORTS[what]
    backend = fault_bases.ensure("postgresql", base)
    for _attempt in range(5):
        url = backend.clone(base)
        try:
            before = _counts(url)
            name = make_url(url).database
            proc = subprocess.Popen([faults.MUTUALAID, *command, str(file_of(fault_bases.data)), "--db", url],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=faults._env())
            killed = None
            with faults.connect(faults.PG_URL) as c:
                c = c.execution_options(isolation_level="AUTOCOMMIT")   # a fresh pg_stat_activity each time
                while proc.poll() is None and killed is None:
                    # the import's transaction has written something: it has a transaction id
                    pid = c.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d "
                                         "AND backend_xid IS NOT NULL"), {"d": name}).scalar()
                    if pid is None:
                        time.sleep(0.002)
                        continue
                    os.kill(proc.pid, signal.SIGSTOP)
                    try:
                        killed = c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
                    finally:
                        os.kill(proc.pid, signal.SIGCONT)
            out, err = proc.communicate(timeout=120)
            if not killed:        # the import was done before we caught its transaction: again
                continue
            assert proc.returncode == 2, out + err
            line = _one_clear_line(err)
            assert "terminating connection" in line or "server closed the connection" in line or \
                   "connection" in line.lower(), line
            assert _counts(url) == before   # nothing of the file stored
            return
        finally:
            backend.drop(url)
    pytest.fail("the import always finished before its transaction was seen")


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("what", ["roster"])
def test_sqlite_disk_full_on_a_small_tmpfs(fault_bases, tmp_path, what):  # noqa: F811
    command, base, file_of = IMPORTS[what]
    source = make_url(fault_bases.clone("sqlite", base)).database
    mount = tmp_path / "small-disk"
    if not _tmpfs(mount, "4m"):
        fault_bases.drop("sqlite", f"sqlite:///{source}")
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        db_file = mount / "m.db"
        shutil.copyfile(source, db_file)
        url = f"sqlite:///{db_file}"
        before = _counts(url)
        st = os.statvfs(mount)
        with open(mount / "filler", "wb") as fh:     # leave about 48 KiB: less than the file needs
            fh.write(b"\0" * max(0, st.f_bavail * st.f_frsize - 48 * 1024))
        done = subprocess.run([faults.MUTUALAID, *command, str(file_of(fault_bases.data)), "--db", url],
                              capture_output=True, text=True, env=faults._env(), timeout=120)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "disk is full" in _one_clear_line(done.stderr) or "disk I/O error" in done.stderr
        (mount / "filler").unlink()
        assert _counts(url) == before
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)
        fault_bases.drop("sqlite", f"sqlite:///{source}")


def test_sqlite_file_at_its_page_limit(fault_bases, monkeypatch):  # noqa: F811
    """PRAGMA max_page_count: SQLite's own "database or disk is full", in process through the CLI."""
    url = fault_bases.clone("sqlite", "empty")
    try:
        before = _counts(url)
        real_open = cli.open_db

        def capped(db_url):  # noqa: ANN001
            database = real_open(db_url)
            pages = database.engine.connect().exec_driver_sql("PRAGMA page_count").scalar()

            @event.listens_for(database.engine, "connect")
            def _cap(dbapi_conn, _record):  # noqa: ANN001
                dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 2}")
            database.engine.dispose()
            return database

        monkeypatch.setattr(cli, "open_db", capped)
        result = CliRunner().invoke(cli.app, ["enrollments", "import", str(fault_bases.data.rosters[0]),
                                              "--db", url])
        assert result.exit_code == 2, result.output
        assert "disk is full" in _one_clear_line(result.stderr)
        assert _counts(url) == before
    finally:
        fault_bases.drop("sqlite", url)


def test_database_server_not_answering(fault_bases):  # noqa: F811
    done = subprocess.run([faults.MUTUALAID, "ledger", "import", str(fault_bases.data.ledger),
                           "--db", "postgresql://postgres@127.0.0.1:1/nowhere"],
                          capture_output=True, text=True, env=faults._env(), timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    _one_clear_line(done.stderr)


@pytest.mark.parametrize("command", [["batch", "run", "--as-of", "2026-07-31"],
                                     ["reconcile", "--month", "2026-07", "--out", "{tmp}"]])
def test_batch_jobs_without_a_database_say_so_in_one_line(command, tmp_path):
    args = [a.format(tmp=tmp_path) for a in command]
    done = subprocess.run([faults.MUTUALAID, *args, "--db", "postgresql://postgres@127.0.0.1:1/nowhere"],
                          capture_output=True, text=True, env=faults._env(), timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "database error" in lines[0] and ("run again" in lines[0] or "run it again" in lines[0])
