"""What every file import shares: the report, row errors, identical-file detection."""
from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutualaid import i18n
from mutualaid.store.models import FileImport

T = TypeVar("T")
Progress = Callable[[int], None]
CHUNK = 5000


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    value: str
    code: str
    message: str

    @classmethod
    def of(cls, row: int, column: str, value: str, code: str, **params: object) -> "RowError":
        return cls(row, column, value, code, i18n.message(code, **params))


@dataclass
class ImportReport:
    kind: str
    file_name: str
    fingerprint: str
    import_id: int | None = None
    rows_total: int = 0
    stored: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    identical_to: int | None = None  # id of an earlier import of the very same bytes (checked again)

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


def write_errors_csv(errors: Iterable[RowError], path: Path) -> None:
    """The `--errors OUT.csv` file: row, column, value, message (BOM so Excel shows Chinese)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["row", "column", "value", "message"])
        for e in errors:
            w.writerow([e.row, e.column, e.value, e.message])


def find_identical(session: Session, kind: str, fingerprint: str) -> FileImport | None:
    return session.execute(
        select(FileImport).where(FileImport.kind == kind, FileImport.fingerprint == fingerprint)
        .order_by(FileImport.id).limit(1)
    ).scalar()


def row_hash(*values: object) -> str:
    """Content fingerprint of a stored row: equal rows are 'unchanged', different ones conflict."""
    return text_hash("\x1f".join(["" if v is None else str(v) for v in values]))


def text_hash(joined: str) -> str:
    """:func:`row_hash` of values already joined by \\x1f (for hot paths that format their own)."""
    return hashlib.blake2b(joined.encode("utf-8"), digest_size=16).hexdigest()


def chunked(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


ChunkStore = Callable[[list], None]  # stores one chunk of parsed rows
Parse = Callable[[int, dict, list[RowError]], object]  # (row number, cells, errors) -> parsed row or None

# Files above this size are parsed and validated in a second process while this one
# stores: both cores work (a 1M-row claim file: ~40 % less time). Below it, starting
# that process costs more than it saves.
PARALLEL_PARSE_BYTES = 8 * 1024 * 1024


@dataclass
class ParsedChunk:
    rows_read: int
    parsed: list
    errors: list[RowError]


def parse_table(table, parse: Parse) -> Iterator[ParsedChunk]:  # noqa: ANN001
    """Every row of an opened table through ``parse``, chunk by chunk (in whichever process)."""
    for chunk in chunked(table.rows()):
        errors: list[RowError] = []
        parsed = [r for r in (parse(n, cells, errors) for n, cells in chunk) if r is not None]
        yield ParsedChunk(len(chunk), parsed, errors)


def parsed_chunks(table, columns, parse: Parse) -> Iterator[ParsedChunk]:  # noqa: ANN001
    """The file's rows, parsed chunk by chunk: here, or in a parser process for big files."""
    if table.size < PARALLEL_PARSE_BYTES:
        yield from parse_table(table, parse)
        return
    from mutualaid.parallel_parse import parse_in_subprocess

    yield from parse_in_subprocess(table.path, columns, table.file_name, parse)


def run_import(db, path, columns, *, kind: str, user: str, file_name: str | None,  # noqa: ANN001
               progress: Progress | None, audit_action: str, audit_entity: str,
               parse: Parse, begin: Callable[[Session, int, "ImportReport"], ChunkStore],
               unit_code: str | None = None) -> "ImportReport":
    """What every file import does around its own rows, in one transaction.

    Open and fingerprint the file, name an identical earlier import (and still check it), record the
    FileImport, ``parse`` every row (a module-level function: big files are parsed in
    another process), hand each chunk of parsed rows to the store ``begin`` returns,
    keep the counts and write the audit entry. A crash stores nothing.
    """
    from mutualaid import audit
    from mutualaid.gc_tuning import batch_gc
    from mutualaid.tabular import open_table

    table = open_table(path, columns, file_name=file_name)
    try:
        report = ImportReport(kind, table.file_name, table.fingerprint, warnings=list(table.warnings))
        with db.transaction() as session:
            # The same bytes again are checked row by row like any re-submission: unchanged rows
            # are skipped, rows refused before are tried again (a reversal whose payout has
            # arrived since), and the exit status follows this run's rows.
            earlier = find_identical(session, kind, table.fingerprint)
            if earlier is not None:
                report.identical_to = earlier.id
            fi = FileImport(kind=kind, file_name=table.file_name, fingerprint=table.fingerprint,
                            imported_by=user, unit_code=unit_code)
            session.add(fi)
            session.flush()
            report.import_id = fi.id
            store = begin(session, fi.id, report)
            with batch_gc():
                for chunk in parsed_chunks(table, columns, parse):
                    report.rows_total += chunk.rows_read
                    report.errors.extend(chunk.errors)
                    store(chunk.parsed)
                    if progress:
                        progress(chunk.rows_read)
            fi.rows_total, fi.stored, fi.unchanged, fi.errors = (
                report.rows_total, report.stored, report.unchanged, report.error_rows)
            details = {"file": table.file_name, "stored": report.stored, "unchanged": report.unchanged,
                       "error_rows": report.error_rows}
            if unit_code is not None:
                details["unit"] = unit_code
            audit.record(session, user, audit_action, audit_entity, fi.id, details)
        report.errors.sort(key=lambda e: e.row)
        return report
    finally:
        table.close()
