"""Issue 14: processes and files — the parser child dies with its parent, the job lock
follows the file behind a symlink, files with personal data are 0600 in 0700 folders."""
from __future__ import annotations

import datetime as dt
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mutualaid.generate import generate
from mutualaid.ledger.reconcile import reconcile
from mutualaid.ledger.report import write_reports
from mutualaid.store.db import Database
from mutualaid.store.locks import JobBusy, job_lock
from tests.test_import import CLAIM_HEAD, hosp_row, write
from tests.test_reconcile import _month_data

ROOT = Path(__file__).resolve().parents[1]


def slow_parse(row: int, cells: dict, errors: list) -> object:
    """The first chunk at once, then one row a second: the parser is busy when its parent dies."""
    if row > 5001:
        time.sleep(1)
    return row


def _children(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (zombies count as gone)."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent and fields[0] != "Z":
                found.append(int(d.name))
                frontier.append(int(d.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


PARENT = """
import sys, time
from mutualaid.claims.intake import COLUMNS
from mutualaid.parallel_parse import parse_in_subprocess
from tests.test_hardening_procs import slow_parse
chunks = parse_in_subprocess(sys.argv[1], COLUMNS, "c.csv", slow_parse)
next(chunks)
print("ready", flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_parser_child_dies_when_its_importer_is_killed(tmp_path: Path) -> None:
    f = write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row(claim_no=f"C{i}") for i in range(8000)])
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(f)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        children = _children(parent.pid)
        assert children, "the parser process (and multiprocessing's resource tracker) run"
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(map(_alive, children)):
            time.sleep(0.2)
        left = [pid for pid in children if _alive(pid)]
        assert left == [], f"orphans left running: {left}"
    finally:   # leave nothing behind, whatever happened
        if parent.poll() is None:
            children = _children(parent.pid)
            parent.kill()
        for pid in locals().get("children", []):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_job_lock_follows_the_file_behind_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real" / "m.db"
    real.parent.mkdir()
    first = Database(f"sqlite:///{real}")
    (tmp_path / "link").mkdir()
    (tmp_path / "link" / "alias.db").symlink_to(real)
    second = Database(f"sqlite:///{tmp_path / 'link' / 'alias.db'}", migrate_schema=False)
    with job_lock(first, "adjudicate"):
        with pytest.raises(JobBusy):
            with job_lock(second, "adjudicate"):
                pass
    with job_lock(second, "adjudicate"):   # free again afterwards
        pass
    first.dispose()
    second.dispose()


def _mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_new_sqlite_database_is_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        db = Database(f"sqlite:///{tmp_path / 'new.db'}")
        db.dispose()
    finally:
        os.umask(old)
    assert _mode(tmp_path / "new.db") == 0o600
    for extra in ("new.db-wal", "new.db-shm"):
        if (tmp_path / extra).exists():
            assert _mode(tmp_path / extra) & 0o077 == 0


def test_generated_files_are_private(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    out.mkdir(mode=0o755)
    old = os.umask(0o022)
    try:
        data = generate(300, 7, out)
    finally:
        os.umask(old)
    assert _mode(out) == 0o700
    files = [*data.rosters, *data.claim_batches, data.ledger]
    assert files and {_mode(p) for p in files} == {0o600}


def test_report_files_are_private(tmp_path: Path) -> None:
    claims, ledger = _month_data()
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "items.csv").write_text("old")
    os.chmod(tmp_path / "r" / "items.csv", 0o644)
    old = os.umask(0o022)
    try:
        paths = write_reports(reconcile("2026-03", claims, ledger), tmp_path / "r" / "2026-03",
                              generated_at=dt.datetime(2026, 4, 1))
        paths += write_reports(reconcile("2026-03", claims, ledger), tmp_path / "r",
                               generated_at=dt.datetime(2026, 4, 1))
    finally:
        os.umask(old)
    assert {_mode(p) for p in paths} == {0o600}
    assert _mode(tmp_path / "r" / "2026-03") == 0o700


def test_demo_database_and_files_are_private(tmp_path: Path) -> None:
    from mutualaid.demo import run_demo

    out = tmp_path / "demo"
    old = os.umask(0o022)
    try:
        run_demo(out, scale=200, seed=3, say=lambda *_: None)
    finally:
        os.umask(old)
    loose = [str(p) for p in [out, *out.rglob("*")]
             if _mode(p) & 0o077 and not p.is_symlink()]
    assert loose == []
    assert (out / "demo.db").exists()
