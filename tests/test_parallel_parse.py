"""Big files are parsed in a second process: the same report and rows as in-process,
and a parser that dies or fails is an error, never a silently short import."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from mutualaid import imports
from mutualaid.claims.intake import COLUMNS as CLAIM_COLUMNS
from mutualaid.claims.intake import submit_batch
from mutualaid.enrollments import import_roster
from mutualaid.parallel_parse import ParserDied, parse_in_subprocess
from mutualaid.store.db import Database
from mutualaid.store.models import Claim, Enrollment, Member
from tests.test_import import CLAIM_HEAD, F1, F2, M1, ROSTER_HEAD, hosp_row, roster_row, women_row, write

ROWS = 12_000  # three chunks of 5,000


def _claims_file(path: Path) -> Path:
    rows = []
    for i in range(ROWS):
        if i % 997 == 5:
            rows.append(hosp_row(claim_no=f"C{i:06d}", discharge_date="2026-02-30"))  # bad date
        elif i == 11_500:
            rows.append(hosp_row(claim_no="C000001"))  # duplicate of a row two chunks earlier
        elif i % 7 == 0:
            rows.append(women_row(claim_no=f"C{i:06d}", member_id_number=F2))
        else:
            rows.append(hosp_row(claim_no=f"C{i:06d}", member_id_number=(F1, M1)[i % 2]))
    return write(path, CLAIM_HEAD, rows)


def _import_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run) -> tuple:  # noqa: ANN001
    results = []
    for name, threshold in (("serial", 1 << 40), ("parallel", 0)):
        monkeypatch.setattr(imports, "PARALLEL_PARSE_BYTES", threshold)
        db = Database(f"sqlite:///{tmp_path}/{name}.db")
        results.append(run(db))
        db.dispose()
    return tuple(results)


def test_claim_batch_parsed_in_subprocess_equals_in_process(tmp_path, monkeypatch):
    src = _claims_file(tmp_path / "claims.csv")

    def run(db: Database):
        rep = submit_batch(db, src)
        with db.sessions() as s:
            stored = s.execute(select(Claim.claim_no, Claim.row_hash, Claim.event_date).order_by(Claim.claim_no)).all()
        return rep.rows_total, rep.stored, [(e.row, e.column, e.code) for e in rep.errors], stored

    serial, parallel = _import_both_ways(tmp_path, monkeypatch, run)
    assert serial == parallel
    rows_total, stored, errors, _ = parallel
    assert rows_total == ROWS
    assert (11_502, "claim_no", "duplicate_in_file") in errors
    assert sum(1 for e in errors if e[2] == "bad_date") == len([i for i in range(ROWS) if i % 997 == 5])
    assert stored == ROWS - len({e[0] for e in errors})


def test_roster_parsed_in_subprocess_equals_in_process(tmp_path, monkeypatch):
    src = write(tmp_path / "roster.csv", ROSTER_HEAD, [
        roster_row(), roster_row(product="WOMEN", units="2", premium_paid="60.00"),
        roster_row(member_id_number=M1, member_name="张伟", unit_code="TL0002", unit_name="供电公司工会"),
        roster_row(member_id_number="150502198506151235")])  # bad check character

    def run(db: Database):
        rep = import_roster(db, src)
        with db.sessions() as s:
            members = s.execute(select(Member.id_number).order_by(Member.id_number)).scalars().all()
            enrollments = s.execute(select(Enrollment.product, Enrollment.row_hash).order_by(Enrollment.id)).all()
        return rep.stored, [(e.row, e.column, e.code) for e in rep.errors], members, enrollments

    serial, parallel = _import_both_ways(tmp_path, monkeypatch, run)
    assert serial == parallel and parallel[0] == 3 and len(parallel[1]) == 1


def _die(row, cells, errors):  # noqa: ANN001 - runs in the parser process
    os._exit(3)


def _boom(row, cells, errors):  # noqa: ANN001
    raise RuntimeError(f"parser bug at row {row}")


def test_parser_process_that_dies_is_an_error(tmp_path):
    src = write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row()])
    with pytest.raises(ParserDied, match="code 3"):
        list(parse_in_subprocess(str(src), CLAIM_COLUMNS, "c.csv", _die))


def test_parser_exception_reaches_the_importer(tmp_path):
    src = write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row()])
    with pytest.raises(RuntimeError, match="parser bug at row 2"):
        list(parse_in_subprocess(str(src), CLAIM_COLUMNS, "c.csv", _boom))
