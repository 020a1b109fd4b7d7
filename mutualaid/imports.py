"""What every file import shares: the report, row errors, identical-file detection, the list of recent imports."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutualaid import i18n
from mutualaid.cellsafe import safe_row
from mutualaid.rowparse import CHUNK, Parse, ParsedChunk, RowError, chunked, parse_table  # noqa: F401 - shared names
from mutualaid.store.models import FileImport

Progress = Callable[[int], None]


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
    #: row errors past the report's cap (``ReadLimits.max_reported_errors``): counted, not kept
    errors_omitted: int = 0
    error_rows_omitted: int = 0
    max_errors: int | None = None
    _last_omitted_row: int = field(default=0, repr=False)
    headers: dict[str, str] = field(default_factory=dict)  # column name -> the header the file used

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors}) + self.error_rows_omitted

    def add_errors(self, errors: Iterable[RowError]) -> None:
        """Keep the first ``max_errors`` row errors; count the rest (a file of errors stays small)."""
        if self.max_errors is None:
            self.errors.extend(errors)
            return
        room = self.max_errors - len(self.errors)
        kept = {e.row for e in self.errors} if room <= 0 else None
        for e in errors:
            if room > 0:
                self.errors.append(e)
                room -= 1
                continue
            self.errors_omitted += 1
            if e.row != self._last_omitted_row:
                if kept is None:
                    kept = {x.row for x in self.errors}
                if e.row not in kept:
                    self.error_rows_omitted += 1
                self._last_omitted_row = e.row

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


def write_errors_csv(errors: Iterable[RowError], path: Path, *, omitted: int = 0) -> None:
    """The `--errors OUT.csv` file: row, column, value, message (BOM so Excel shows Chinese);
    ``omitted``: errors past the report's cap, said in a last line."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)   # it repeats the cells' values
    with open(fd, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["row", "column", "value", "message"])
        shown = 0
        for e in errors:
            w.writerow(safe_row([e.row, e.column, e.value, e.message]))
            shown += 1
        if omitted:
            w.writerow(["", "", "", i18n.message("more_errors", count=f"{omitted:,}", shown=f"{shown:,}")])


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


ChunkStore = Callable[[list], None]  # stores one chunk of parsed rows

# Files above this size are parsed and validated in a second process while this one
# stores: both cores work (a 1M-row claim file: ~40 % less time). Below it, starting
# that process costs more than it saves.
PARALLEL_PARSE_BYTES = 8 * 1024 * 1024


def parsed_chunks(table, columns, parse: Parse, limits=None) -> Iterator[ParsedChunk]:  # noqa: ANN001
    """The file's rows, parsed chunk by chunk: here, or in a parser process for big files."""
    if table.size < PARALLEL_PARSE_BYTES:
        yield from parse_table(table, parse)
        return
    from mutualaid.parallel_parse import parse_in_subprocess

    yield from parse_in_subprocess(table.path, columns, table.file_name, parse, limits)


def _size(path) -> int:  # noqa: ANN001
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


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
    from mutualaid.limits import current
    from mutualaid.tabular import open_table

    limits = current()
    staged = table = None
    name = file_name or Path(path).name
    small_csv = name.lower().endswith(".csv") and _size(path) < limits.worker_min_bytes
    if limits.parse_in_worker and small_csv:
        # a small CSV costs little to read: here, but still before the transaction opens
        table = source = open_table(path, columns, file_name=file_name, limits=limits)
        try:
            read_first = list(parsed_chunks(table, columns, parse, limits))
        except BaseException:
            table.close()
            raise

        def chunks() -> Iterator[ParsedChunk]:
            return iter(read_first)
    elif limits.parse_in_worker:
        # uploads: the whole file read and checked by a bounded worker before the transaction
        # opens, so the database is held (SQLite: locked for writing) only while storing
        from mutualaid.parallel_parse import parse_in_worker

        staged = parse_in_worker(path, columns, name, parse, limits)
        source = staged
        chunks = staged.chunks
    else:
        table = source = open_table(path, columns, file_name=file_name, limits=limits)

        def chunks() -> Iterator[ParsedChunk]:
            return parsed_chunks(table, columns, parse, limits)
    try:
        report = ImportReport(kind, source.file_name, source.fingerprint, warnings=list(source.warnings),
                              max_errors=limits.max_reported_errors, headers=dict(getattr(source, "headers", {})))
        with db.transaction() as session:
            # The same bytes again are checked row by row like any re-submission: unchanged rows
            # are skipped, rows refused before are tried again (a reversal whose payout has
            # arrived since), and the exit status follows this run's rows.
            earlier = find_identical(session, kind, source.fingerprint)
            if earlier is not None:
                report.identical_to = earlier.id
            fi = FileImport(kind=kind, file_name=source.file_name, fingerprint=source.fingerprint,
                            imported_by=user, unit_code=unit_code)
            session.add(fi)
            session.flush()
            report.import_id = fi.id
            store = begin(session, fi.id, report)
            with batch_gc():
                for chunk in chunks():
                    report.rows_total += chunk.rows_read
                    report.add_errors(chunk.errors)
                    store(chunk.parsed)
                    if progress:
                        progress(chunk.rows_read)
            fi.rows_total, fi.stored, fi.unchanged, fi.errors = (
                report.rows_total, report.stored, report.unchanged, report.error_rows)
            details = {"file": source.file_name, "stored": report.stored, "unchanged": report.unchanged,
                       "error_rows": report.error_rows}
            if unit_code is not None:
                details["unit"] = unit_code
            audit.record(session, user, audit_action, audit_entity, fi.id, details)
        report.errors.sort(key=lambda e: e.row)
        return report
    finally:
        if table is not None:
            table.close()
        if staged is not None:
            staged.discard()


@dataclass(frozen=True, slots=True)
class ImportView:
    """A stored import as the upload pages list it."""

    id: int
    kind: str
    file_name: str
    imported_by: str
    imported_at: dt.datetime
    rows_total: int
    stored: int
    unchanged: int
    errors: int


def list_imports(session: Session, kind: str, *, limit: int = 20) -> list[ImportView]:
    """The latest imports of one kind (ROSTER, CLAIMS, LEDGER, ...), newest first."""
    return [ImportView(b.id, b.kind, b.file_name, b.imported_by, b.imported_at, b.rows_total, b.stored,
                       b.unchanged, b.errors)
            for b in session.execute(select(FileImport).where(FileImport.kind == kind)
                                     .order_by(FileImport.id.desc()).limit(limit)).scalars()]
