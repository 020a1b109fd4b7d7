"""Fuzzing the file readers through the three imports (bounded; tests/support/fuzz_readers.py; benchmarks/fuzz_readers.py runs atheris).

Arbitrary bytes, mutated bytes of valid CSV files, valid rosters / claim batches / ledgers
with mutated cells, rows and headers (CSV and .xlsx), and .xlsx files with damaged parts go
through ``import_roster``, ``submit_batch`` and ``import_ledger``. The only ways out are a
``FileProblem`` (and then nothing is stored) or a report whose counts add up, with nothing
stored from a row that has an error (``tests.support.fuzz_readers.Oracle``).
"""
from __future__ import annotations

import datetime as dt
import io
import itertools
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.support.fuzz_readers import (
    _ILLEGAL_XML,
    HEADERS,
    READERS,
    Oracle,
    accepted_keys,
    chinese_header,
    csv_bytes,
    valid_rows,
    xlsx_bytes,
)
from mutualaid.store.db import Database

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                                      HealthCheck.data_too_large])
_files = itertools.count()


@pytest.fixture(scope="module")
def sqlite_oracle(tmp_path_factory):
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}")
    yield Oracle(db), tmp_path_factory.mktemp("fuzz-files")
    db.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def any_oracle(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz-any.db'}"
    else:
        url = request.getfixturevalue("pg_schema_url")
    db = Database(url)
    yield Oracle(db), tmp_path_factory.mktemp("fuzz-files")
    db.dispose()


def _file(folder: Path, ext: str, data: bytes) -> Path:
    path = folder / f"f{next(_files)}.{ext}"
    path.write_bytes(data)
    return path


# --- arbitrary and mutated bytes ------------------------------------------------------------------

TOKENS = [b'"', b",", b"\t", b";", b"\r", b"\n", b"\r\n", b"\x00", b"\xef\xbb\xbf", b"\xff\xfe", b"\xff", b"\x81\x30",
          b"\xe4\xb8", "王".encode("gb18030"), b"PK\x03\x04", b"=1+1", b"1e400", b"-", b"9" * 40, b" ",
          "\u3000".encode(), "\ue000mutualaid-end-of-file\ue000".encode(), b"\"\"\"", b",,,,,,,,,,,,,,,,,,,,"]
byte_ops = st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace", "repeat"]),
                              st.floats(0, 1), st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=6)),
                              st.integers(1, 40)), min_size=1, max_size=6)


def mutate(data: bytes, ops) -> bytes:
    for op, where, payload, n in ops:
        i = int(where * len(data))
        if op == "insert":
            data = data[:i] + payload + data[i:]
        elif op == "delete":
            data = data[:i] + data[i + n:]
        elif op == "replace":
            data = data[:i] + payload + data[i + len(payload):]
        else:
            data = data[:i] + data[i:i + n] * 3 + data[i + n:]
    return data


@settings(max_examples=80, **SETTINGS)
@given(st.sampled_from(READERS), st.sampled_from(["csv", "xlsx"]), st.binary(max_size=3000))
@example("ledger", "csv", b"")
@example("claims", "xlsx", b"PK\x03\x04")
@example("roster", "csv", b"\xef\xbb\xbf")
def test_arbitrary_bytes(sqlite_oracle, reader, ext, data):
    oracle, folder = sqlite_oracle
    event(oracle.run(reader, _file(folder, ext, data)))


@settings(max_examples=100, **SETTINGS)
@given(st.sampled_from(READERS), st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]), st.booleans(),
       st.integers(0, 10**6), byte_ops)
def test_mutated_csv_bytes(sqlite_oracle, reader, encoding, chinese, salt, ops):
    oracle, folder = sqlite_oracle
    head = chinese_header(reader) if chinese else HEADERS[reader]
    data = mutate(csv_bytes(head, valid_rows(reader, salt), encoding), ops)
    event(oracle.run(reader, _file(folder, "csv", data)))


@settings(max_examples=40, **SETTINGS)
@given(st.sampled_from(READERS), st.integers(0, 10**6),
       st.sampled_from(["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml", "[Content_Types].xml",
                        "xl/styles.xml", "xl/_rels/workbook.xml.rels"]), byte_ops)
def test_damaged_xlsx_parts(sqlite_oracle, reader, salt, part, ops):
    oracle, folder = sqlite_oracle
    src = zipfile.ZipFile(io.BytesIO(xlsx_bytes(HEADERS[reader], valid_rows(reader, salt))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            z.writestr(info.filename, mutate(data, ops) if info.filename == part else data)
    event(oracle.run(reader, _file(folder, "xlsx", out.getvalue())))


# --- valid files with mutated cells, rows and headers: nothing stored from a rejected row ----------

INTERESTING = ["", " ", "\u3000", "=1+1", "=A2", "1e400", "-0.00", "0", "-1", "99999999999.99", "9999999999.99",
               "1,000,000.00", "1,00.00", "12.345", "２０２６-０４-０３", "2026-02-30", "2026-4-3", "0000-00-00",
               "9999-12-31", "x" * 300, "王" * 70, "\x00", "王\x00丽", "\x07", "\ufeff", "\u200b", "HOSP", "hosp", "WOMEN",
               "住院医疗互助", "N/A", "#N/A", "TRUE", "Y", "n", "是", "否", "none", "D07", "C50.99", "c50.9", "X",
               "150502198506150021", "150502198506150020", "15050219850615002x", "150502850615002",
               "6222021234567890123", "12345678901", "\n", "a\nb", '"', ",", "\ue000mutualaid-end-of-file\ue000"]
cell_text = st.one_of(st.sampled_from(INTERESTING), st.text(max_size=24))
typed_value = st.one_of(st.integers(-10**20, 10**20), st.floats(allow_nan=False, allow_infinity=False),
                        st.dates(dt.date(1900, 1, 1), dt.date(9999, 12, 31)),
                        st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(9999, 12, 31)), st.booleans())
cell_ops = st.lists(st.tuples(st.sampled_from(["set", "set", "set", "typed", "blank_row", "copy_row", "extra", "short"]),
                              st.integers(0, 50), st.integers(0, 30), cell_text, typed_value),
                    min_size=1, max_size=6)
header_variant = st.sampled_from(["english", "chinese", "upper", "spaced", "unknown_column", "reversed"])


def mutated_table(reader: str, salt: int, variant: str, ops, xlsx: bool):
    head = list(HEADERS[reader])
    rows = [list(r) for r in valid_rows(reader, salt)]
    names = list(head)                                    # canonical name of each column, for the keys
    if variant == "chinese":
        head = chinese_header(reader)
    elif variant == "upper":
        head = [h.upper() for h in head]
    elif variant == "spaced":
        head = [f" {h}\u3000" for h in head]
    elif variant == "unknown_column":
        head, names = head + ["remarks"], names + ["remarks"]
        rows = [r + ["note"] for r in rows]
    elif variant == "reversed":
        head, names, rows = head[::-1], names[::-1], [r[::-1] for r in rows]
    for op, r, c, text, value in ops:
        r %= len(rows)
        c %= len(rows[r]) if rows[r] else 1
        if op == "set" and rows[r]:
            rows[r][c] = text
        elif op == "typed" and rows[r] and xlsx and (c >= len(names) or names[c] not in (
                "claim_no", "voucher_no", "member_id_number", "unit_code", "product", "start_date")):
            rows[r][c] = value                            # key columns stay text (a cell past the header has none)
        elif op == "blank_row":
            rows[r] = [""] * len(rows[r])
        elif op == "copy_row":
            rows.append(list(rows[r]))
        elif op == "extra":
            rows[r] = rows[r] + [text]
        elif op == "short":
            rows[r] = rows[r][:c]
    if xlsx:   # what the workbook will hold: XML cannot carry most control characters
        rows = [[_ILLEGAL_XML.sub("", v) if isinstance(v, str) else v for v in r] for r in rows]
    return head, names, rows


def _run_mutated(oracle, folder, reader, salt, variant, ops, xlsx):
    head, names, rows = mutated_table(reader, salt, variant, ops, xlsx)
    # every file differs from the ones before (else most would only meet the identical-file check):
    # a workbook by its title, a CSV by a last, blank row of spaces
    n = next(_files)
    data = xlsx_bytes(head, rows, title=f"fuzz {n}") if xlsx else \
        csv_bytes(head, [[str(v) for v in r] for r in rows]) + b" " * (n % 997 + 1) + b"\r\n"
    event(oracle.run(reader, _file(folder, "xlsx" if xlsx else "csv", data), accepted_keys(reader, names, rows)))


@settings(max_examples=60, **SETTINGS)
@given(st.sampled_from(READERS), st.integers(0, 10**6), header_variant, cell_ops)
def test_mutated_csv_rows(sqlite_oracle, reader, salt, variant, ops):
    _run_mutated(*sqlite_oracle, reader, salt, variant, ops, xlsx=False)


@settings(max_examples=30, **SETTINGS)
@given(st.sampled_from(READERS), st.integers(0, 10**6), header_variant, cell_ops)
def test_mutated_xlsx_rows(sqlite_oracle, reader, salt, variant, ops):
    _run_mutated(*sqlite_oracle, reader, salt, variant, ops, xlsx=True)


@settings(max_examples=25, **SETTINGS)
@given(st.sampled_from(READERS), st.integers(0, 10**6), cell_ops)
def test_mutated_rows_on_both_databases(any_oracle, reader, salt, ops):
    """PostgreSQL checks what SQLite lets through (text widths, NUL): such a cell must be a row error."""
    _run_mutated(*any_oracle, reader, salt, "english", ops, xlsx=False)


# --- found by fuzzing -------------------------------------------------------------------------------

@pytest.mark.parametrize("reader,column,value,code", [
    ("claims", "claim_no", "C" * 65, "too_long"),
    ("claims", "member_name", "王" * 101, "too_long"),
    ("claims", "hospital_name", "医" * 201, "too_long"),
    ("claims", "member_name", "王\x00丽", "control_characters"),
    ("roster", "unit_code", "U" * 33, "too_long"),
    ("roster", "unit_name", "名" * 201, "too_long"),
    ("roster", "member_name", "名" * 101, "too_long"),
    ("ledger", "voucher_no", "V" * 65, "too_long"),
    ("ledger", "reference", "R" * 65, "too_long"),
    ("ledger", "memo", "a\x00b", "control_characters"),
])
def test_text_too_wide_for_the_store_is_a_row_error(db, tmp_path, reader, column, value, code):
    """Was: on PostgreSQL the whole file failed with a DataError (on SQLite the value was stored)."""
    from tests.support.fuzz_readers import importer

    head, rows = HEADERS[reader], [list(r) for r in valid_rows(reader, 7)]
    rows[1][head.index(column)] = value
    report = importer(reader)(db, _file(tmp_path, "csv", csv_bytes(head, rows)))
    assert [(e.row, e.column, e.code) for e in report.errors] == [(3, column, code)]
    assert report.stored == len(rows) - 1
