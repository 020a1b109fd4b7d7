"""SIGKILL in the middle of a settlement import stores nothing; the re-run stores what an
uninterrupted import stores (SQLite and PostgreSQL)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support.settlements_data import write_files
from mutualaid.enrollments import import_roster
from mutualaid.store.models import Claim, FileImport
from mutualaid.store.models_settlements import Settlement

pytestmark = pytest.mark.store
ROOT = Path(__file__).resolve().parents[1]


def _state(db):  # noqa: ANN001, ANN202
    with db.sessions() as s:
        return (s.execute(select(func.count()).select_from(Settlement)).scalar(),
                s.execute(select(func.count()).select_from(Claim)).scalar(),
                s.execute(select(func.count()).where(FileImport.kind == "SETTLEMENTS")).scalar(),
                sorted(s.execute(select(Claim.claim_no, Claim.status)).all()))


def _import(db, extract: Path) -> subprocess.Popen:  # noqa: ANN001
    return subprocess.Popen([str(Path(sys.executable).with_name("mutualaid")), "settlements", "import", str(extract),
                             "--db", db.url, "--as-of", "2026-12-31"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def test_killed_import_stores_nothing_and_the_rerun_completes(db, tmp_path):  # noqa: ANN001
    roster, extract = write_files(tmp_path, 40_000, 400)
    import_roster(db, roster)
    killed = False
    for delay in (2.5, 1.5, 0.8, 0.4):
        proc = _import(db, extract)
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # with a parser process, if any
            proc.wait()
            settlements, claims, imports, _ = _state(db)
            if (settlements, claims, imports) == (0, 0, 0):
                killed = True  # killed inside the import's transaction: nothing partial
                break
            # killed after the commit (while it printed its figures and exited): then the import
            # is whole -- one import record, and the same file again stores nothing new
            assert imports == 1 and settlements > 0
            rerun = _import(db, extract)
            rerun.communicate(timeout=600)
            assert rerun.returncode == 0 and _state(db)[:2] == (settlements, claims)
        else:
            proc.wait()  # finished before the kill
        # start again from nothing, and kill sooner
        from tests.conftest import _truncate
        _truncate(db)
        import_roster(db, roster)
    assert killed, "the import always finished before the kill; make the file bigger"
    proc = _import(db, extract)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-2000:]
    settlements, claims, imports, rows = _state(db)
    assert imports == 1 and settlements > 0 and claims == sum(1 for _, st in rows if st == "RECEIVED") > 0
    again = _import(db, extract)
    again.communicate(timeout=600)
    assert again.returncode == 0 and _state(db)[:2] == (settlements, claims)  # the same file: nothing new
