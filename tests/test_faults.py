"""No claim lost, no payout doubled: jobs killed with SIGKILL and re-run, two batch runs at once.

The command line runs as a subprocess on private copies of a generated data set, on SQLite
and on PostgreSQL (see tests/support/faults.py; benchmarks/faults.py runs the campaign, which runs the same trials 50 times per job
and database and prints the figures). Each test here kills each job MUTUALAID_FAULT_RUNS
times (default 1) at a random moment of its database phase; MUTUALAID_FAULT_SEED replays
the same moments.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.support import faults
from tests.fault_support import fault_bases  # noqa: F401  (fixture)

RUNS = int(os.environ.get("MUTUALAID_FAULT_RUNS", "1"))
SEED = int(os.environ.get("MUTUALAID_FAULT_SEED", str(random.randrange(1 << 30))))
KINDS = ["sqlite", "postgresql"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("job", ["batch-chunked", "ledger", "reconcile"])
def test_killed_job_rerun_equals_uninterrupted_run(fault_bases, kind, job):  # noqa: F811
    spec = faults.JOB_SPECS[job]
    ref = fault_bases.reference(kind, job)
    backend = fault_bases.ensure(kind, spec.base)
    rng = random.Random(f"{SEED}/{kind}/{job}")
    trials: list[faults.Trial] = []
    while sum(t.killed for t in trials) < RUNS and len(trials) < 2 * RUNS + 3:
        trials.append(faults.kill_trial(backend, spec, fault_bases.data, ref, fault_bases.work, len(trials), rng,
                                        targeted_share=1.0))
    report = [f"kill at {t.delay:.2f} s ({t.after_kill}): {t.problems or 'ok'}" for t in trials]
    print(f"MUTUALAID_FAULT_SEED={SEED}", *report, sep="\n  ")
    assert sum(t.killed for t in trials) >= RUNS, report
    assert not [p for t in trials for p in t.problems], f"MUTUALAID_FAULT_SEED={SEED}: {report}"


# --- two batch runs at once ------------------------------------------------------------------

def _received(url: str) -> int:
    return faults._received(url)


def _batch_argv(fault_bases, url: str) -> list[str]:  # noqa: F811
    return faults.JOB_SPECS["batch"].argv(url, None, fault_bases.data)


def _start(argv: list[str], log: Path) -> subprocess.Popen:
    fh = open(log, "w")
    try:
        return subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=faults._env())
    finally:
        fh.close()


def _holds_job_lock(kind: str, url: str, pid: int) -> bool:
    """Does process ``pid`` hold the 'adjudicate' job lock? Looked up without touching the lock."""
    if kind == "sqlite":
        lock = Path(make_url(url).database + ".adjudicate.lock")
        try:
            inode = lock.stat().st_ino
        except FileNotFoundError:
            return False
        for line in Path("/proc/locks").read_text().splitlines():
            f = line.split()
            if len(f) >= 6 and f[1] == "FLOCK" and f[4] == str(pid) and f[5].rsplit(":", 1)[-1] == str(inode):
                return True
        return False
    with faults.connect(faults.PG_URL) as c:
        return bool(c.execute(text(
            "SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND a.datname = :d"),
            {"d": make_url(url).database}).scalar())


def _assert_decided_once(url: str) -> None:
    assert faults.invariants(url) == []          # exactly one AUTO decision per decided claim
    assert _received(url) == 0                    # and every claim decided


@pytest.mark.parametrize("kind", KINDS)
def test_two_batch_runs_started_at_once_decide_each_claim_once(fault_bases, kind, tmp_path):  # noqa: F811
    url = fault_bases.clone(kind, "batch")
    try:
        assert _received(url) > 0
        argv = _batch_argv(fault_bases, url)
        procs = [_start(argv, tmp_path / f"run{i}.log") for i in range(2)]
        codes = [p.wait(timeout=300) for p in procs]
        outputs = [(tmp_path / f"run{i}.log").read_text() for i in range(2)]
        assert sorted(codes) in ([0, 0], [0, 2]), outputs
        for code, out in zip(codes, outputs):
            if code == 2:   # refused: the other one held the lock
                assert "job is running" in out and "Traceback" not in out, out
        _assert_decided_once(url)
    finally:
        fault_bases.drop(kind, url)


@pytest.mark.parametrize("kind", KINDS)
def test_second_batch_run_refused_while_the_first_runs(fault_bases, kind, tmp_path):  # noqa: F811
    """Deterministic overlap: the first run is frozen (SIGSTOP) while it holds the job lock."""
    for attempt in range(5):
        url = fault_bases.clone(kind, "batch")
        first = _start(_batch_argv(fault_bases, url), tmp_path / "first.log")
        try:
            while first.poll() is None and not _holds_job_lock(kind, url, first.pid):
                time.sleep(0.002)
            if first.poll() is not None:          # finished before we saw it hold the lock: again
                continue
            os.kill(first.pid, signal.SIGSTOP)
            try:
                second = subprocess.run(_batch_argv(fault_bases, url), capture_output=True, text=True,
                                        env=faults._env(), timeout=120)
            finally:
                os.kill(first.pid, signal.SIGCONT)
            assert second.returncode == 2, second.stdout + second.stderr
            assert "another 'adjudicate' job is running" in second.stderr
            assert "Traceback" not in second.stderr
            assert first.wait(timeout=300) == 0, (tmp_path / "first.log").read_text()
            _assert_decided_once(url)
            return
        finally:
            if first.poll() is None:
                os.kill(first.pid, signal.SIGCONT)
                first.wait(timeout=300)
            fault_bases.drop(kind, url)
    pytest.fail("the first batch run always finished before it was seen holding the lock")
