"""Issue 14, uploads: limits before parsing, a bounded worker, capped error reports, and
SQLite's busy answer never a 500."""
from __future__ import annotations

import csv
import io
import sqlite3
import threading
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from mutualaid import limits
from mutualaid.claims.intake import COLUMNS, submit_batch
from mutualaid.limits import ReadLimits
from mutualaid.parallel_parse import parse_in_worker
from mutualaid.store.models import Claim, FileImport
from mutualaid.tabular import FileProblem, open_table
from tests.test_import import CLAIM_HEAD, hosp_row, write
from tests.web_support import PASSWORD, Web, fast_hashes, web  # noqa: F401

MIB = 1024 * 1024


def _xlsx(path: Path, rows: int = 3) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(CLAIM_HEAD)
    for i in range(rows):
        ws.append([hosp_row(claim_no=f"X{i}").get(h, "") for h in CLAIM_HEAD])
    wb.save(path)
    return path


def _with_extra_part(src: Path, dst: Path, name: str, data: bytes) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename))
        zout.writestr(name, data)
    return dst


# --- before parsing --------------------------------------------------------------------------------

def test_xlsx_with_a_part_that_unpacks_hugely_is_refused_before_reading(tmp_path: Path) -> None:
    bomb = _with_extra_part(_xlsx(tmp_path / "a.xlsx"), tmp_path / "bomb.xlsx", "xl/worksheets/sheet1.xml.bak",
                            b"<row/>" * (8 * MIB))
    assert bomb.stat().st_size < 200_000
    with pytest.raises(FileProblem) as e:
        open_table(bomb, COLUMNS, limits=limits.WEB)
    assert e.value.code == "xlsx_compression_ratio"
    assert "sheet1.xml.bak" in str(e.value) and "200" in str(e.value)


def test_xlsx_part_over_the_unpacked_limit_is_refused(tmp_path: Path) -> None:
    big = _xlsx(tmp_path / "big.xlsx", rows=3000)
    with pytest.raises(FileProblem) as e:
        open_table(big, COLUMNS, limits=ReadLimits(xlsx_max_part_bytes=MIB // 2))
    assert e.value.code == "xlsx_too_big_unpacked" and "512 KB" in str(e.value)
    assert open_table(big, COLUMNS, limits=limits.WEB).format == "xlsx"


def test_too_many_rows_is_a_file_problem_and_nothing_is_stored(db, tmp_path: Path) -> None:  # noqa: ANN001
    f = write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row(claim_no=f"C{i}") for i in range(25)])
    with limits.using(ReadLimits(max_rows=20)), pytest.raises(FileProblem) as e:
        submit_batch(db, f)
    assert e.value.code == "too_many_rows" and "20" in str(e.value)
    with db.sessions() as s:
        assert s.execute(select(func.count()).select_from(Claim)).scalar() == 0
        assert s.execute(select(func.count()).select_from(FileImport)).scalar() == 0
    xlsx = _xlsx(tmp_path / "c.xlsx", rows=25)       # refused from the sheet's dimension, before reading rows
    with pytest.raises(FileProblem) as e:
        open_table(xlsx, COLUMNS, limits=ReadLimits(max_rows=20))
    assert e.value.code == "too_many_rows"
    with limits.using(ReadLimits(max_rows=25)):
        assert submit_batch(db, f).stored == 25


# --- the worker -----------------------------------------------------------------------------------

def slow_parse(row: int, cells: dict, errors: list) -> object:
    time.sleep(0.5)
    return row


def greedy_parse(row: int, cells: dict, errors: list) -> object:
    hog = [bytearray(64 * MIB) for _ in range(64)]   # 4 GiB
    return len(hog)


def test_worker_time_limit(tmp_path: Path) -> None:
    f = write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row(claim_no=f"C{i}") for i in range(200)])
    started = time.monotonic()
    with pytest.raises(FileProblem) as e:
        parse_in_worker(f, COLUMNS, "c.csv", slow_parse, ReadLimits(parse_in_worker=True, parse_seconds=3))
    assert e.value.code == "parse_too_slow" and "3" in str(e.value)
    assert time.monotonic() - started < 20
    assert [p.name for p in tmp_path.iterdir()] == ["c.csv"], "no staging file left"


def test_worker_memory_limit(tmp_path: Path) -> None:
    f = write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row()])
    with pytest.raises(FileProblem) as e:
        parse_in_worker(f, COLUMNS, "c.csv", greedy_parse,
                        ReadLimits(parse_in_worker=True, parse_seconds=60, parse_memory_bytes=1024 * MIB))
    assert e.value.code == "parse_out_of_memory"


def test_worker_result_equals_in_process_parse(db, tmp_path: Path) -> None:  # noqa: ANN001
    rows = [hosp_row(claim_no=f"C{i}") for i in range(30)] + [hosp_row(claim_no="bad no")]
    f = _xlsx(tmp_path / "c.xlsx", rows=0)
    wb = openpyxl.load_workbook(f)
    for r in rows:
        wb.active.append([r.get(h, "") for h in CLAIM_HEAD])
    wb.save(f)
    with limits.using(limits.WEB):
        rep = submit_batch(db, f)
    assert (rep.stored, [(e.row, e.code) for e in rep.errors]) == (30, [(32, "bad_claim_no")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.xlsx"]


# --- capped error reports ----------------------------------------------------------------------------

def test_error_report_capped_then_counted(db, tmp_path: Path) -> None:  # noqa: ANN001
    f = write(tmp_path / "c.csv", CLAIM_HEAD,
              [hosp_row(claim_no=f"C{i}", total_cost="1.00") for i in range(30)] + [hosp_row(claim_no="OK1")])
    with limits.using(ReadLimits(max_reported_errors=10)):
        rep = submit_batch(db, f)
    assert (rep.stored, len(rep.errors), rep.errors_omitted, rep.error_rows) == (1, 10, 20, 30)
    from mutualaid.imports import write_errors_csv

    out = tmp_path / "e.csv"
    write_errors_csv(rep.errors, out, omitted=rep.errors_omitted)
    lines = list(csv.reader(open(out, encoding="utf-8-sig")))
    assert len(lines) == 12 and "20" in lines[-1][3] and "10" in lines[-1][3]
    assert limits.CLI.max_reported_errors == 10_000 == limits.WEB.max_reported_errors


# --- the web server ------------------------------------------------------------------------------------

def test_upload_over_the_row_limit_is_refused_clearly(web: Web, tmp_path: Path) -> None:
    import dataclasses

    web.app.state.settings = dataclasses.replace(web.settings, max_upload_rows=5)
    content = write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row(claim_no=f"C{i}") for i in range(6)]).read_bytes()
    r = web.client.post("/api/v1/batches", headers=web.auth("clerk_a"), files={"file": ("c.csv", content, "text/csv")})
    assert r.status_code == 413 and r.json()["code"] == "too_many_rows" and "5" in r.json()["detail"]
    with web.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(FileImport)).scalar() == 0


def _sqlite_path(web: Web) -> str | None:
    return web.db.engine.url.database if web.db.is_sqlite else None


def test_database_busy_is_503_not_500(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _sqlite_path(web)
    if path is None:
        pytest.skip("SQLite's lock")
    from mutualaid.store import db as db_module

    web.auth("auditor")
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 300)
    web.db.engine.dispose()
    holder = sqlite3.connect(path, timeout=1)
    try:
        holder.execute("BEGIN IMMEDIATE")   # what a long import's transaction holds
        r = web.client.post("/api/v1/token", data={"username": "finance", "password": PASSWORD})
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "5" and r.json()["code"] == "err.db_busy"
        page = web.browser()
        form = page.client.get("/login")
        assert form.status_code == 200
    finally:
        holder.rollback()
        holder.close()
    assert web.client.post("/api/v1/token", data={"username": "finance", "password": PASSWORD}).status_code == 200


def test_login_during_an_upload_is_not_held_by_it(web: Web, tmp_path: Path) -> None:
    """While the uploaded file is read and checked, the database is not locked: a sign-in
    (which writes) answers at once."""
    path = _sqlite_path(web)
    if path is None:
        pytest.skip("SQLite's lock")
    rows = [hosp_row(claim_no=f"C{i}") for i in range(3000)]
    content = io.BytesIO()
    _xlsx(tmp_path / "big.xlsx", rows=0)
    wb = openpyxl.load_workbook(tmp_path / "big.xlsx")
    for r in rows:
        wb.active.append([r.get(h, "") for h in CLAIM_HEAD])
    wb.save(content)
    auth = web.auth("clerk_a")
    answer: dict = {}

    def send() -> None:
        answer["r"] = web.client.post("/api/v1/batches", headers=auth,
                                      files={"file": ("big.xlsx", content.getvalue(), "application/octet-stream")})

    t = threading.Thread(target=send)
    t.start()
    uploads = web.settings.upload_dir
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".parsed-") for p in uploads.iterdir()):
        assert time.monotonic() < deadline and t.is_alive(), "the upload is read in a worker before storing"
        time.sleep(0.05)
    probe = sqlite3.connect(path, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")     # nobody holds the write lock while the worker reads
        probe.rollback()
    finally:
        probe.close()
    started = time.monotonic()
    r = web.client.post("/api/v1/token", data={"username": "finance", "password": PASSWORD})
    assert r.status_code == 200 and time.monotonic() - started < 1.0
    t.join(timeout=120)
    assert answer["r"].status_code == 201, answer["r"].text
    assert answer["r"].json()["stored"] == 3000


def test_overlong_cell_refuses_an_upload_naming_row_and_column(tmp_path: Path) -> None:
    f = write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row(), hosp_row(claim_no="C2", hospital_name="医" * 40_000)])
    with open_table(f, COLUMNS, limits=limits.WEB) as t, pytest.raises(FileProblem) as e:
        list(t.rows())
    assert e.value.code == "cell_too_long" and e.value.params["row"] == 3
    assert "hospital_name" in str(e.value) and "32,767" in str(e.value)
    with open_table(f, COLUMNS, limits=limits.CLI) as t:
        assert len(list(t.rows())) == 2      # the command line: a row error later (the column's width)
