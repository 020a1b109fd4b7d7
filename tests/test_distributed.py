"""The batch jobs on Dask (batch/distributed.py): same results as the single-process jobs,
nothing lost or decided twice when a worker dies mid-task.

Select with ``-m distributed`` (or leave out with ``-m "not distributed"``). One 2-worker
LocalCluster is shared by the module; the CLI test starts its own through ``--workers 1``.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, insert, select, text

pytest.importorskip("distributed")

import batch.adjudicate as job  # noqa: E402
import batch.reconcile as recon_job  # noqa: E402
from batch.distributed import (  # noqa: E402
    decide_chunk,
    merge_reconciliations,
    reconcile_distributed,
    run_distributed,
)
from mutualaid import audit  # noqa: E402
from mutualaid.claims.decide import pending_member_ids  # noqa: E402
from mutualaid.claims.intake import submit_batch  # noqa: E402
from mutualaid.dates import month_bounds  # noqa: E402
from mutualaid.enrollments import import_roster  # noqa: E402
from mutualaid.generate import GeneratedSet, generate  # noqa: E402
from mutualaid.ledger.importer import import_ledger  # noqa: E402
from mutualaid.ledger.reconcile import ENTRY_TYPES, reconcile  # noqa: E402
from mutualaid.store.db import Database  # noqa: E402
from mutualaid.store.locks import JobBusy, job_lock  # noqa: E402
from mutualaid.store.models import Base, Claim, Decision, ReconItem, ReconRun  # noqa: E402
from tests.conftest import _truncate  # noqa: E402

pytestmark = pytest.mark.distributed

SIZE, SEED = 3_000, 11      # ~200 claims in 16 monthly batches, ~2,100 members
DECIDED_MONTHS = 6          # batches decided month by month before the run under test
AS_OF = dt.date(2026, 4, 30)
CHUNK = 10                  # members per task: ~15 tasks for 2 workers
RECON_MONTH = "2025-07"  # the month after the last one decided in the scenario
GENERATED_AT = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> GeneratedSet:
    return generate(SIZE, SEED, tmp_path_factory.mktemp("gen"))


@pytest.fixture(scope="module")
def scenario(dataset, tmp_path_factory: pytest.TempPathFactory) -> Database:
    """The scenario of :func:`build` in a SQLite file, built once; tests clone it (:func:`clone`)."""
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('scenario') / 'scenario.db'}")
    build(db, dataset, decided=DECIDED_MONTHS)
    yield db
    db.dispose()


def month_end(batch: Path) -> dt.date:
    return month_bounds(batch.stem.removeprefix("claims_"))[1]


def build(db: Database, data: GeneratedSet, *, decided: int) -> None:
    """Rosters and ledger; the first ``decided`` batches each decided at their month's end;
    the other batches submitted and left RECEIVED."""
    for roster in data.rosters:
        import_roster(db, roster)
    import_ledger(db, data.ledger)
    for k, claims in enumerate(data.claim_batches):
        submit_batch(db, claims)
        if k < decided:
            job.run(db, as_of=month_end(claims))


def clone(source: Database, target: Database) -> Database:
    """Make ``target`` (SQLite or PostgreSQL) an identical copy of ``source``, ids included."""
    _truncate(target)
    with source.engine.connect() as src, target.engine.begin() as dst:
        for table in Base.metadata.sorted_tables:
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            if rows:
                dst.execute(insert(table), rows)
            if not target.is_sqlite:
                for col in table.primary_key.columns:  # no sequence: setval(NULL, ...) is NULL
                    if col.type.python_type is not int:  # text keys have no sequence to move
                        continue
                    dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', '{col.name}'), "
                                     f"coalesce((SELECT max({col.name}) FROM {table.name}), 0) + 1, false)"))
    return target


def fresh_sqlite(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'copy.db'}")


def decisions(db) -> list[tuple]:
    with db.sessions() as s:
        return sorted(s.execute(
            select(Claim.claim_no, Claim.status, Claim.payout_fen, Claim.reason_codes, Claim.policy_version,
                   Claim.decided_on, Claim.allowance_days, Claim.category, Decision.kind, Decision.status,
                   Decision.payout_fen, Decision.computed_payout_fen, Decision.reason_codes,
                   Decision.policy_version, Decision.trace)
            .join(Decision, Decision.claim_id == Claim.id)).all(), key=lambda r: (r[0], json.dumps(r[-1])))


def member_orders(db) -> dict[str, list[str]]:
    """Each member's claims in decision_seq order (processing order, policy.md §4)."""
    out: dict[str, list[str]] = {}
    with db.sessions() as s:
        for member, claim_no in s.execute(select(Claim.member_id_number, Claim.claim_no)
                                          .order_by(Claim.member_id_number, Claim.decision_seq, Claim.claim_no)):
            out.setdefault(member, []).append(claim_no)
    return out


_single: dict[str, tuple] = {}


def single_process_result(db: Database, scenario: Database) -> tuple:
    """(tally, decisions, member orders) of the single-process job on a copy of the scenario
    in ``db``'s backend; computed once per backend."""
    kind = "sqlite" if db.is_sqlite else "postgresql"
    if kind not in _single:
        clone(scenario, db)
        tally = job.run(db, as_of=AS_OF, members_per_chunk=CHUNK)
        _single[kind] = (tally, decisions(db), member_orders(db))
    return _single[kind]


def assert_exactly_once(db, claims_total: int) -> None:
    with db.sessions() as s:
        assert s.execute(select(func.count()).select_from(Claim).where(Claim.status == "RECEIVED")).scalar() == 0
        per_claim = s.execute(select(Decision.claim_id, func.count()).where(Decision.kind == "AUTO")
                              .group_by(Decision.claim_id)).all()
        assert len(per_claim) == claims_total and {n for _, n in per_claim} == {1}
        assert s.execute(select(func.count()).select_from(Decision)).scalar() == claims_total
        assert audit.verify(s).ok


# --- adjudication ------------------------------------------------------------------------------

def test_distributed_adjudication_equals_single_process(db, scenario, cluster):
    tally_1, decided_1, orders_1 = single_process_result(db, scenario)
    clone(scenario, db)
    tally = run_distributed(db.url, as_of=AS_OF, scheduler=cluster, members_per_chunk=CHUNK)
    assert tally.decided > 50 and tally == tally_1
    assert decisions(db) == decided_1
    assert member_orders(db) == orders_1
    assert_exactly_once(db, len(decided_1))
    # a second run finds nothing to do
    assert run_distributed(db.url, as_of=AS_OF, scheduler=cluster).decided == 0


def kill_first_attempt(marker: str, target_lo: str, lo: str, hi: str) -> None:
    """before_commit hook: SIGKILL this worker process, with the chunk's transaction open,
    the first time the chunk starting at ``target_lo`` gets this far."""
    if lo != target_lo:
        return
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_worker_killed_mid_task_loses_nothing_and_decides_nothing_twice(db, scenario, cluster, tmp_path):
    tally_1, decided_1, orders_1 = single_process_result(db, scenario)
    clone(scenario, db)
    with db.sessions() as s:
        chunks = job.member_chunks(pending_member_ids(s), CHUNK)
    target_lo = chunks[len(chunks) // 2][0]
    marker = tmp_path / "killed"
    tally = run_distributed(db.url, as_of=AS_OF, scheduler=cluster, members_per_chunk=CHUNK,
                            before_commit=functools.partial(kill_first_attempt, str(marker), target_lo))
    assert marker.exists()  # the worker did die inside the chunk's transaction
    assert tally == tally_1  # the killed attempt's chunk counted once
    assert decisions(db) == decided_1
    assert member_orders(db) == orders_1
    assert_exactly_once(db, len(decided_1))


def test_a_repeated_task_decides_nothing_and_reports_what_was_committed(scenario, tmp_path):
    """The result of a committed task lost with its worker: the re-run returns the recorded counts."""
    sqlite_db = clone(scenario, fresh_sqlite(tmp_path))
    with sqlite_db.sessions() as s:
        (lo, hi), = job.member_chunks(pending_member_ids(s), 10**6)
    first = decide_chunk(sqlite_db.url, lo, hi, as_of=AS_OF, run_id="r1")
    again = decide_chunk(sqlite_db.url, lo, hi, as_of=AS_OF, run_id="r1")
    assert first.decided > 50 and again == first
    assert decide_chunk(sqlite_db.url, lo, hi, as_of=AS_OF, run_id="r2").decided == 0  # a later run
    with sqlite_db.sessions() as s:
        assert s.execute(select(func.count()).select_from(Decision)).scalar() == \
            s.execute(select(func.count()).select_from(Claim)).scalar()
    sqlite_db.dispose()


def test_distributed_run_refuses_while_a_batch_job_runs(db):
    with job_lock(db, "adjudicate"), pytest.raises(JobBusy):
        run_distributed(db.url, as_of=AS_OF, workers=1)
    with job_lock(db, f"reconcile-{RECON_MONTH}"), pytest.raises(JobBusy):
        reconcile_distributed(db.url, RECON_MONTH, None, workers=1)


def test_in_memory_sqlite_is_refused():
    with pytest.raises(ValueError, match="in-memory"):
        run_distributed("sqlite://", as_of=AS_OF, workers=1)


# --- reconciliation ----------------------------------------------------------------------------

def add_exceptions(db: Database, tmp_path: Path) -> None:
    """Ledger lines in RECON_MONTH that the generated ledger lacks: a payout of a rejected
    claim, an extra payout of an approved one, an unknown reference, adjustments."""
    from tests.test_import import write
    from tests.test_ledger_import import HEAD, line

    with db.sessions() as s:
        rejected = s.execute(select(Claim.claim_no).where(Claim.status == "REJECTED").order_by(Claim.claim_no)).scalar()
        approved = s.execute(select(Claim.claim_no).where(Claim.status == "APPROVED", Claim.payout_fen > 0)
                             .order_by(Claim.decided_on.desc(), Claim.claim_no)).scalars().all()
    day = f"{RECON_MONTH}-15"
    lines = [line(day, "X-1", "PAYOUT", "100.00", rejected, "HOSP"),
             line(day, "X-2", "PAYOUT", "1.00", approved[0], "HOSP"),
             line(day, "X-3", "PAYOUT", "1.00", approved[-1], "HOSP"),
             line(day, "X-4", "PAYOUT", "50.00", "NOPE-1", "WOMEN"),
             line(f"{RECON_MONTH}-20", "X-5", "REVERSAL", "20.00", "NOPE-1"),
             line(day, "X-6", "ADJUSTMENT", "-12.34"),
             line(day, "X-7", "ADJUSTMENT", "7.00")]
    report = import_ledger(db, write(tmp_path / "extra.csv", HEAD, lines))
    assert report.stored == len(lines), report.errors


def test_distributed_reconciliation_equals_single_process(db, scenario, cluster, tmp_path):
    clone(scenario, db)
    add_exceptions(db, tmp_path)
    single = recon_job.run(db, RECON_MONTH, tmp_path / "single", generated_at=GENERATED_AT)
    dist = reconcile_distributed(db.url, RECON_MONTH, tmp_path / "dist", scheduler=cluster, partitions=3,
                                 generated_at=GENERATED_AT)
    statuses = single.reconciliation.items["status"].value_counts()
    assert len(statuses) >= 5 and statuses.sum() >= 20, statuses  # a data set worth comparing
    pd.testing.assert_frame_equal(dist.reconciliation.items, single.reconciliation.items)
    assert json.dumps(dist.reconciliation.summary) == json.dumps(single.reconciliation.summary)
    assert dist.fingerprint == single.fingerprint
    assert (tmp_path / "dist" / "items.csv").read_bytes() == (tmp_path / "single" / "items.csv").read_bytes()
    docs = [json.loads((tmp_path / d / "summary.json").read_text("utf-8")) for d in ("dist", "single")]
    assert docs[0].pop("audit_chain")["entries"] == docs[1].pop("audit_chain")["entries"] + 1  # its own run entry
    assert docs[0] == docs[1]
    with db.sessions() as s:
        runs = {r.id: r for r in s.execute(select(ReconRun)).scalars()}
        assert runs[dist.run_id].summary == runs[single.run_id].summary
        assert runs[dist.run_id].inputs_fingerprint == runs[single.run_id].inputs_fingerprint

        def stored(run_id):
            return s.execute(select(ReconItem.item_key, ReconItem.claim_no, ReconItem.product, ReconItem.status,
                                    ReconItem.approved_fen, ReconItem.paid_fen, ReconItem.difference_fen,
                                    ReconItem.vouchers, ReconItem.days_outstanding)
                             .where(ReconItem.run_id == run_id).order_by(ReconItem.id)).all()
        assert stored(dist.run_id) == stored(single.run_id)


def split(claims: pd.DataFrame, ledger: pd.DataFrame, bounds: list[str]) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """The partitions of batch.distributed.partition_queries, in pandas."""
    def within(values: pd.Series, lo: str | None, hi: str | None) -> np.ndarray:
        v = values.astype(object)
        ok = v.notna().to_numpy(copy=True)
        text = v.where(ok, "")
        if lo is not None:
            ok &= (text >= lo).to_numpy()
        if hi is not None:
            ok &= (text < hi).to_numpy()
        return ok

    pr = ledger["entry_type"].isin(["PAYOUT", "REVERSAL"]).to_numpy()
    no_ref = ledger["reference"].isna().to_numpy()
    parts = []
    for lo, hi in zip([None, *bounds], [*bounds, None]):
        lines = (~pr | no_ref | within(ledger["reference"], lo, hi)) if lo is None else (pr & within(ledger["reference"], lo, hi))
        parts.append((claims[within(claims["claim_no"], lo, hi)], ledger[lines]))
    return parts


def random_month(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Claims and ledger lines around 2026-03 with every status, unknown and missing references,
    lines without product, adjustments of both signs, several lines per claim."""
    rng = np.random.default_rng(seed)
    n = 300
    claim_no = [f"C{k:04d}" for k in rng.permutation(n)]
    payout = rng.choice([0, 10_000, 25_000, 300_000], n)
    decided = pd.to_datetime("2026-01-01") + pd.to_timedelta(rng.integers(0, 110, n), unit="D")
    status = rng.choice(["APPROVED"] * 6 + ["REJECTED", "PENDING_REVIEW", "RECEIVED"], n)
    claims = pd.DataFrame({"claim_no": pd.array(claim_no, dtype="string"),
                           "product": pd.array(rng.choice(["HOSP", "WOMEN", "X"], n).tolist(), dtype="string"),
                           "status": pd.array(status.tolist(), dtype="string"), "payout_fen": payout.astype("int64"),
                           "decided_on": decided.where(status != "RECEIVED")})
    m = 700
    kind = rng.choice(["PAYOUT"] * 6 + ["REVERSAL"] * 2 + list(ENTRY_TYPES), m)
    refs = rng.choice([*claim_no, "NOPE1", "C9999", "", "A0"], m).astype(object)
    refs[(rng.random(m) < 0.05) | (refs == "")] = None
    amount = np.where(rng.random(m) < 0.5, payout[rng.integers(0, n, m)], rng.integers(1, 400_000, m))
    amount = np.where(kind == "ADJUSTMENT", amount * rng.choice([-1, 1], m), np.maximum(amount, 1))
    product = rng.choice(["HOSP", "WOMEN", None], m).astype(object)
    ledger = pd.DataFrame({"voucher_no": pd.array([f"V{k:05d}" for k in rng.permutation(m)], dtype="string"),
                           "entry_date": pd.to_datetime("2026-01-01") + pd.to_timedelta(rng.integers(0, 120, m), unit="D"),
                           "entry_type": pd.array(kind.tolist(), dtype="string"),
                           "product": pd.array(product.tolist(), dtype="string"),
                           "amount_fen": amount.astype("int64"),
                           "reference": pd.array(refs.tolist(), dtype="string")})
    return claims, ledger


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("bounds", [[], ["C0150"], ["C0001", "C0100", "C0101", "C0299"], ["B", "C0200", "D"]])
def test_merged_partitions_equal_the_whole(seed, bounds):
    claims, ledger = random_month(seed)
    whole = reconcile("2026-03", claims, ledger)
    assert set(whole.items["status"]) >= {"UNPAID", "MATCHED", "NOT_APPROVED", "UNKNOWN_CLAIM", "OVERPAID",
                                          "UNDERPAID"}
    parts = split(claims, ledger, bounds)
    assert sum(len(c) for c, _ in parts) == len(claims) and sum(len(x) for _, x in parts) == len(ledger)
    merged = merge_reconciliations("2026-03", [reconcile("2026-03", c, x) for c, x in parts])
    pd.testing.assert_frame_equal(merged.items, whole.items)
    assert json.dumps(merged.summary) == json.dumps(whole.summary)
    assert recon_job.digest(
        (len(claims), np.concatenate([recon_job.row_hashes(c) for c, _ in parts])),
        (len(ledger), np.concatenate([recon_job.row_hashes(x) for _, x in parts]))) == recon_job.fingerprint(claims, ledger)


# --- command line ------------------------------------------------------------------------------

def test_cli_workers_and_scheduler(scenario, cluster, tmp_path):
    from typer.testing import CliRunner

    from mutualaid.cli import app

    runner = CliRunner()
    db = clone(scenario, fresh_sqlite(tmp_path))
    url = db.url
    pending = decisions(db)
    r = runner.invoke(app, ["batch", "run", "--as-of", AS_OF.isoformat(), "--workers", "1", "--db", url],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.output
    with db.sessions() as s:
        decided = s.execute(select(func.count()).select_from(Claim)).scalar()
    assert f"{decided - len(pending)}" in r.output and "approved payout" in r.output
    assert_exactly_once(db, decided)

    r = runner.invoke(app, ["reconcile", "--month", RECON_MONTH, "--out", str(tmp_path / "rec"),
                            "--scheduler", cluster, "--db", url], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rec" / "items.csv").exists() and "run #" in r.output

    r = runner.invoke(app, ["batch", "run", "--workers", "2", "--scheduler", cluster, "--db", url])
    assert r.exit_code == 2
    r = runner.invoke(app, ["reconcile", "--month", RECON_MONTH, "--out", str(tmp_path), "--workers", "0",
                            "--db", url])
    assert r.exit_code == 2
    db.dispose()
