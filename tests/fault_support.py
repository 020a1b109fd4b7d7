"""Shared by the fault tests: generated data and per-database base states (tests/support/faults.py; benchmarks/faults.py runs the campaign).

One session fixture, ``fault_bases``: generates a small data set once and builds, on first
use per database kind, the states the jobs start from. Each test gets private copies (a
SQLite file / a PostgreSQL database made from a template), dropped afterwards.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import faults

SIZE = 500            # HOSP members: about 30 claims, 120 ledger lines; the jobs run in seconds
REQUIRE_PG = os.environ.get("MUTUALAID_REQUIRE_PG") == "1"


class FaultBases:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.data = faults.generate_data(work / "data", SIZE, 7)
        self._backends: dict[str, faults.Backend] = {}
        self._built: dict[str, set[str]] = {}
        self._refs: dict[tuple[str, str], faults.Reference] = {}

    def backend(self, kind: str) -> faults.Backend:
        if kind not in self._backends:
            if kind == "postgresql":
                problem = faults.pg_problem()
                if problem:
                    message = f"PostgreSQL at {faults.PG_URL} not usable for fault tests ({problem})"
                    if REQUIRE_PG:
                        pytest.fail(message)
                    pytest.skip(message)
                self._backends[kind] = faults.PgBackend()
            else:
                self._backends[kind] = faults.SqliteBackend(self.work)
        return self._backends[kind]

    def ensure(self, kind: str, base: str) -> faults.Backend:
        backend = self.backend(kind)
        faults.create_base(backend, base, self.data, self._built.setdefault(kind, set()))
        return backend

    def clone(self, kind: str, base: str) -> str:
        return self.ensure(kind, base).clone(base)

    def reference(self, kind: str, job: str) -> faults.Reference:
        if (kind, job) not in self._refs:
            spec = faults.JOB_SPECS[job]
            backend = self.ensure(kind, spec.base)
            self._refs[(kind, job)] = faults.reference_in_process(backend, spec, self.data, self.work)
        return self._refs[(kind, job)]

    def drop(self, kind: str, url: str) -> None:
        self.backend(kind).drop(url)

    def close(self) -> None:
        for backend in self._backends.values():
            backend.close()


@pytest.fixture(scope="session")
def fault_bases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultBases]:
    bases = FaultBases(tmp_path_factory.mktemp("faults"))
    try:
        yield bases
    finally:
        bases.close()
