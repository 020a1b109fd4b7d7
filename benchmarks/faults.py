"""Run the fault-injection campaign (SIGKILL during each job, 50 runs per job and database) and report its figures.

The harness (data, bases, one kill trial, the invariants) is test support code,
``tests/support/faults.py``, which the tests use with small counts; this script only runs the
long campaign and prints its table. Arguments: see ``--help``.

    .venv/bin/python benchmarks/faults.py [--runs 50] [--size 2000] [--seed 7]
        [--jobs batch,batch-chunked,ledger,reconcile] [--dbs sqlite,postgresql] [--json OUT.json]
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.faults import (  # noqa: E402
    DBS, JOB_SPECS, JOBS, Backend, PgBackend, Reference, SqliteBackend, Trial, create_base, generate_data,
    kill_trial, pg_problem, reference_run,
)


# --- the campaign -----------------------------------------------------------------------------

@dataclasses.dataclass
class Campaign:
    runs: int = 50
    size: int = 2000
    seed: int = 7
    jobs: tuple[str, ...] = JOBS
    dbs: tuple[str, ...] = DBS
    targeted_share: float = 0.8  # share of kills timed within the database phase (see kill_trial)
    rng_seed: int | None = None
    say: Callable[[str], None] = print


def run_campaign(c: Campaign, work: Path) -> dict[str, Any]:
    rng = random.Random(c.rng_seed)
    t_start = time.perf_counter()
    data = generate_data(work / "data", c.size, c.seed)
    bases = sorted({JOB_SPECS[j].base for j in c.jobs})
    results: dict[str, Any] = {"size": c.size, "seed": c.seed, "runs_per_job_and_db": c.runs,
                               "rng_seed": c.rng_seed, "targeted_share": c.targeted_share,
                               "jobs": {}, "references_equal_across_dbs": {}}
    refs: dict[tuple[str, str], Reference] = {}
    trials: list[Trial] = []
    for kind in c.dbs:
        backend: Backend = SqliteBackend(work) if kind == "sqlite" else PgBackend()
        try:
            t0 = time.perf_counter()
            built: set[str] = set()
            for base in bases:
                create_base(backend, base, data, built)
            c.say(f"[{kind}] bases {', '.join(bases)} built in {time.perf_counter() - t0:.1f} s")
            for name in c.jobs:
                job = JOB_SPECS[name]
                ref = refs[(kind, name)] = reference_run(backend, job, data, work)
                c.say(f"[{kind}] {name}: uninterrupted run {ref.seconds:.1f} s "
                      f"(connects after {ref.opened:.1f} s)")
                kills = n = 0
                while kills < c.runs and n < 2 * c.runs + 5:   # a run may end before its kill
                    t = kill_trial(backend, job, data, ref, work, n, rng, c.targeted_share)
                    trials.append(t)
                    n += 1
                    kills += t.killed
                    flag = "ok" if not t.problems else "FAILED: " + "; ".join(t.problems[:3])
                    c.say(f"[{kind}] {name} #{n}: {'kill' if t.killed else 'finished before the kill'} at "
                          f"{t.delay:.2f} s{' (db phase)' if t.targeted else ''}; {t.after_kill}; "
                          f"re-run {t.rerun_seconds:.1f} s"
                          f"{f', {t.busy_retries} busy retries' if t.busy_retries else ''}; {flag}")
        finally:
            backend.close()
    for name in c.jobs:
        if all((k, name) in refs for k in DBS):
            a, b = refs[("sqlite", name)], refs[("postgresql", name)]
            same = {k: v for k, v in a.db.items() if k != "recon"} == {k: v for k, v in b.db.items() if k != "recon"}
            if a.db["recon"] or b.db["recon"]:
                same = same and (a.db["recon"] or {}).get("items") == (b.db["recon"] or {}).get("items")
                same = same and a.files == b.files
            results["references_equal_across_dbs"][name] = same
    for kind in c.dbs:
        for name in c.jobs:
            ts = [t for t in trials if t.db == kind and t.job == name]
            if not ts:
                continue
            results["jobs"].setdefault(name, {})[kind] = {
                "kills": sum(t.killed for t in ts),
                "finished_before_kill": sum(not t.killed for t in ts),
                "state_after_kill": dict(collections.Counter(t.after_kill for t in ts if t.killed)),
                "failed": sum(bool(t.problems) for t in ts),
                "problems": [p for t in ts for p in t.problems][:20],
                "reference_seconds": round(refs[(kind, name)].seconds, 2),
                "reference_connects_after_s": round(refs[(kind, name)].opened, 2),
                "kills_in_db_phase": sum(t.killed and t.targeted for t in ts),
                "busy_retries": sum(t.busy_retries for t in ts),
                "delays_s": [round(min(t.delay for t in ts), 2), round(max(t.delay for t in ts), 2)],
            }
    results["trials"] = len(trials)
    results["failed_trials"] = sum(bool(t.problems) for t in trials)
    results["seconds"] = round(time.perf_counter() - t_start, 1)
    return results


def print_table(results: dict[str, Any], say: Callable[[str], None] = print) -> None:
    say("")
    say(f"{'job':<14} {'db':<11} {'kills':>5} {'done':>5} {'failed':>6}  state right after the kill")
    for name, per_db in results["jobs"].items():
        for kind, r in per_db.items():
            states = ", ".join(f"{v} {k}" for k, v in sorted(r["state_after_kill"].items()))
            say(f"{name:<14} {kind:<11} {r['kills']:>5} {r['finished_before_kill']:>5} {r['failed']:>6}  {states}")
    say(f"references equal on SQLite and PostgreSQL: {results['references_equal_across_dbs']}")
    say(f"{results['trials']} trials, {results['failed_trials']} failed, {results['seconds']} s")



def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=50, help="kills per job per database (default 50)")
    p.add_argument("--size", type=int, default=2000, help="HOSP members of the generated data (default 2000)")
    p.add_argument("--seed", type=int, default=7, help="data seed")
    p.add_argument("--kill-seed", type=int, default=None, help="seed of the kill delays (default: random)")
    p.add_argument("--jobs", default=",".join(JOBS))
    p.add_argument("--dbs", default=",".join(DBS))
    p.add_argument("--json", type=Path, help="write the figures here")
    a = p.parse_args(argv)
    dbs = tuple(a.dbs.split(","))
    if "postgresql" in dbs and (problem := pg_problem()):
        print(f"PostgreSQL not usable ({problem}); running SQLite only", file=sys.stderr)
        dbs = tuple(d for d in dbs if d != "postgresql")
    kill_seed = a.kill_seed if a.kill_seed is not None else random.randrange(1 << 30)
    campaign = Campaign(runs=a.runs, size=a.size, seed=a.seed, jobs=tuple(a.jobs.split(",")), dbs=dbs,
                        rng_seed=kill_seed, say=lambda m: print(m, flush=True))
    with tempfile.TemporaryDirectory(prefix="mutualaid-faults-") as tmp:
        results = run_campaign(campaign, Path(tmp))
    print_table(results)
    if a.json:
        a.json.write_text(json.dumps(results, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if results["failed_trials"] else 0


if __name__ == "__main__":
    sys.exit(main())
