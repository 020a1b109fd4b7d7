"""The command line as a newcomer meets it: `./run` from any folder, --db in both places,
plain paths, missing databases, busy ports, empty months; and the careless-user failures
of issue 14 (over-long user names, unwritable outputs, unreachable databases): one clear
line, exit 2, nothing half-stored."""
from __future__ import annotations

import csv
import os
import socket
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import mutualaid.cli as cli
from mutualaid.store.db import Database
from mutualaid.store.models import AuditEntry, Claim, ReconResolution, ReconRun
from tests.test_import import CLAIM_HEAD, ROSTER_HEAD, hosp_row, roster_row, women_row, write

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "run"
NOWHERE = "postgresql://postgres@127.0.0.1:1/nowhere"
runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None):  # noqa: ANN201
    return runner.invoke(cli.app, list(args), catch_exceptions=False, env=env)


def one_clear_line(output: str) -> str:
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output and "[SQL" not in output
    return lines[0]


def seeded(tmp_path: Path, url: str | None = None) -> str:
    """A database with one roster and one decided claim batch; returns its URL."""
    url = url or f"sqlite:///{tmp_path / 'seed.db'}"
    roster = write(tmp_path / "roster.csv", ROSTER_HEAD, [roster_row(), roster_row(product="WOMEN", units="2",
                                                                                      premium_paid="60.00")])
    claims = write(tmp_path / "claims.csv", CLAIM_HEAD, [hosp_row(), women_row()])
    assert invoke("enrollments", "import", str(roster), "--db", url).exit_code == 0
    assert invoke("claims", "submit", str(claims), "--db", url).exit_code == 0
    assert invoke("batch", "run", "--as-of", "2026-07-01", "--db", url).exit_code == 0
    return url


def _env_without_db() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "MUTUALAID_DB"}


# --- ./run --------------------------------------------------------------------------------------

def test_run_keeps_the_callers_folder_for_relative_paths(tmp_path: Path) -> None:
    """`../mutualaid/run claims submit march.csv` from the user's own folder: the file, the
    default database and --out are all taken from that folder, not the project's."""
    work = tmp_path / "claims-office"
    work.mkdir()
    write(work / "roster.csv", ROSTER_HEAD, [roster_row()])
    write(work / "march.csv", CLAIM_HEAD, [hosp_row()])
    env = _env_without_db()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(RUN), *args], cwd=work, env=env, capture_output=True, text=True, timeout=300)

    done = run("enrollments", "import", "roster.csv")
    assert done.returncode == 0, done.stdout + done.stderr
    done = run("claims", "submit", "march.csv")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (work / "mutualaid.db").is_file(), "the default database lands where the user stands"
    assert not (ROOT / "mutualaid.db").exists() or (ROOT / "mutualaid.db").stat().st_mtime < (work / "march.csv").stat().st_mtime
    done = run("--db", "other.db", "enrollments", "import", "roster.csv")
    assert done.returncode == 0 and (work / "other.db").is_file(), done.stderr
    assert run("batch", "run", "--as-of", "2026-07-01").returncode == 0
    done = run("decisions", "export", "--out", "out/decisions.csv")
    assert done.returncode == 2 and "out" in done.stderr  # the folder does not exist: said, not a traceback
    (work / "out").mkdir()
    done = run("decisions", "export", "--out", "out/decisions.csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(open(work / "out" / "decisions.csv", encoding="utf-8-sig")))
    assert [r["claim_no"] for r in rows] == ["TL2026-0001"]
    assert not (ROOT / "out" / "decisions.csv").exists()


@pytest.mark.parametrize("args", [[], ["--help"], ["help"]])
def test_run_without_a_command_shows_the_mutualaid_commands(args: list[str], tmp_path: Path) -> None:
    done = subprocess.run([str(RUN), *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for command in ("enrollments", "claims", "batch", "reconcile", "demo", "serve", "--db"):
        assert command in done.stdout
    assert "set -euo" not in done.stdout and "pipefail" not in done.stdout
    assert "./run test" in done.stdout


# --- --db ---------------------------------------------------------------------------------------

def test_db_before_or_after_the_command_and_from_the_environment(tmp_path: Path) -> None:
    url = seeded(tmp_path)
    r = invoke("--db", url, "audit", "verify")
    assert r.exit_code == 0 and "intact" in r.output, r.output
    r = invoke("--db", url, "decisions", "export", "--out", str(tmp_path / "a.csv"))
    assert r.exit_code == 0 and "2 decisions" in r.output, r.output
    r = invoke("audit", "verify", env={"MUTUALAID_DB": url})
    assert r.exit_code == 0 and "intact" in r.output, r.output
    # after the command beats before it; a later command without --db does not inherit it
    r = invoke("--db", str(tmp_path / "missing.db"), "audit", "verify", "--db", url)
    assert r.exit_code == 0, r.output
    r = invoke("audit", "verify", env={"MUTUALAID_DB": str(tmp_path / "not-there.db")})
    assert r.exit_code == 2


def test_a_plain_path_is_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    roster = write(tmp_path / "roster.csv", ROSTER_HEAD, [roster_row()])
    r = invoke("enrollments", "import", str(roster), "--db", str(path))
    assert r.exit_code == 0, r.output
    assert path.is_file()
    r = invoke("--db", str(path), "audit", "verify")
    assert r.exit_code == 0 and "intact: 1 entries" in r.output, r.output


@pytest.mark.parametrize("command", [
    ["audit", "verify"],
    ["decisions", "export", "--out", "{tmp}/x.csv"],
    ["reconcile", "--month", "2026-07", "--out", "{tmp}/rec"],
    ["reconcile", "resolve", "--month", "2026-07", "--item", "X", "--note", "n", "--user", "f1"],
])
def test_read_only_commands_never_create_a_database(command: list[str], tmp_path: Path) -> None:
    mistyped = tmp_path / "mutualiad.db"
    args = [a.format(tmp=tmp_path) for a in command]
    for db_args in (["--db", str(mistyped)], ["--db", f"sqlite:///{mistyped}"]):
        r = invoke(*args, *db_args)
        assert r.exit_code == 2, r.output
        line = one_clear_line(r.output)
        assert "no database at" in line and str(mistyped) in line
        assert not mistyped.exists()
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("command", [["audit", "verify"], ["decisions", "export", "--out", "{tmp}/x.csv"],
                                     ["reconcile", "resolve", "--month", "2026-07", "--item", "X", "--note", "n",
                                      "--user", "f1"]])
def test_an_unreachable_database_is_one_line(command: list[str], tmp_path: Path) -> None:
    args = [a.format(tmp=tmp_path) for a in command]
    r = invoke(*args, "--db", NOWHERE)
    assert r.exit_code == 2, r.output
    assert "database error" in one_clear_line(r.output)
    assert not (tmp_path / "x.csv").exists()


def test_a_file_that_is_no_database_is_one_line(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("this is not a database\n" * 200)
    r = invoke("audit", "verify", "--db", str(notes))
    assert r.exit_code == 2
    assert "database error" in one_clear_line(r.output)


# --- outputs that cannot be written (nothing half-stored) ---------------------------------------

def test_decisions_export_to_a_missing_folder(tmp_path: Path) -> None:
    url = seeded(tmp_path)
    r = invoke("decisions", "export", "--out", "/missing/dir/x.csv", "--db", url)
    assert r.exit_code == 2
    line = one_clear_line(r.output)
    assert "/missing/dir/x.csv" in line and "does not exist" in line
    r = invoke("decisions", "export", "--out", str(tmp_path), "--db", url)  # a folder, not a file
    assert r.exit_code == 2
    one_clear_line(r.output)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_reconcile_to_an_unwritable_folder_stores_no_run(kind: str, tmp_path: Path,
                                                         request: pytest.FixtureRequest) -> None:
    url = seeded(tmp_path, None if kind == "sqlite" else _fresh_pg(request))
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    r = invoke("reconcile", "--month", "2026-07", "--out", str(blocker / "rec"), "--db", url)
    assert r.exit_code == 2
    assert str(blocker / "rec") in one_clear_line(r.output)
    db = Database(url, migrate_schema=False)
    with db.sessions() as s:
        assert s.execute(select(func.count()).select_from(ReconRun)).scalar() == 0
        assert s.execute(select(func.count()).where(AuditEntry.action == "reconcile.run")).scalar() == 0
    db.dispose()


def _fresh_pg(request: pytest.FixtureRequest) -> str:
    """The session's PostgreSQL schema, emptied (the `db` fixture's database)."""
    base = request.getfixturevalue("pg_schema_url")
    from tests.conftest import _truncate

    database = Database(base)
    _truncate(database)
    database.dispose()
    return base


# --- user names that do not fit (issue 14) --------------------------------------------------------

@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_over_long_user_names_are_refused_before_any_work(kind: str, tmp_path: Path,
                                                          request: pytest.FixtureRequest) -> None:
    url = seeded(tmp_path, None if kind == "sqlite" else _fresh_pg(request))
    long_name = "审" * 65
    r = invoke("review", "reject", "TL2026-W001", "--reason", "复核不符", "--user", long_name, "--db", url)
    assert r.exit_code == 2
    assert "64" in one_clear_line(r.output)
    assert invoke("reconcile", "--month", "2026-07", "--out", str(tmp_path / "rec"), "--db", url).exit_code == 0
    r = invoke("reconcile", "resolve", "--month", "2026-07", "--item", "TL2026-0001", "--note", "已付",
               "--user", "f" * 65, "--db", url)
    assert r.exit_code == 2
    assert "64" in one_clear_line(r.output)
    r = invoke("claims", "submit", str(tmp_path / "claims.csv"), "--clerk", "c" * 65, "--db", url)
    assert r.exit_code == 2
    db = Database(url, migrate_schema=False)
    with db.sessions() as s:
        assert s.execute(select(Claim.status).where(Claim.claim_no == "TL2026-W001")).scalar() == "APPROVED"
        assert s.execute(select(func.count()).select_from(ReconResolution)).scalar() == 0
    db.dispose()
    # 64 characters fit
    r = invoke("review", "reject", "TL2026-W001", "--reason", "复核不符", "--user", "审" * 64, "--db", url)
    assert r.exit_code == 0, r.output


# --- serve / demo on a busy port ------------------------------------------------------------------

@pytest.fixture
def busy_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield s.getsockname()[1]


def test_serve_on_a_busy_port_exits_2_at_once(busy_port: int, tmp_path: Path) -> None:
    r = invoke("serve", "--port", str(busy_port), "--db", str(tmp_path / "s.db"))
    assert r.exit_code == 2
    line = one_clear_line(r.output)
    assert str(busy_port) in line and "--port" in line
    assert not (tmp_path / "s.db").exists()


def test_demo_checks_the_port_before_the_data_work(busy_port: int, tmp_path: Path) -> None:
    r = invoke("demo", "--port", str(busy_port), "--out", str(tmp_path / "demo"))
    assert r.exit_code == 2
    assert "--port" in one_clear_line(r.output)
    assert not (tmp_path / "demo").exists()


# --- an empty month ---------------------------------------------------------------------------------

def test_reconcile_of_a_month_without_decisions_says_why(tmp_path: Path) -> None:
    url = seeded(tmp_path)  # decided on 2026-07-01
    r = invoke("reconcile", "--month", "2026-06", "--out", str(tmp_path / "rec"), "--db", url)
    assert r.exit_code == 0, r.output
    assert "--as-of" in r.output and "nothing was decided by the end of 2026-06" in r.output
    r = invoke("reconcile", "--month", "2026-07", "--out", str(tmp_path / "rec7"), "--db", url)
    assert r.exit_code == 0 and "nothing was decided" not in r.output, r.output



@pytest.mark.parametrize("module", ["mutualaid", "mutualaid.cli"])
def test_python_dash_m_runs_the_same_command(module: str, tmp_path: Path) -> None:
    """`python -m mutualaid.cli` once failed on a circular import of its sub-command modules."""
    import sys

    done = subprocess.run([sys.executable, "-m", module, "policy", "--help"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "mutualaid policy" in done.stdout
