"""Limits on what one imported file may cost, checked before and while it is parsed.

A small upload can unpack to a huge sheet (a 6 MB .xlsx holding 2 million rows), so the
web server reads uploads with :data:`WEB` limits: the workbook's parts are measured from
the zip directory before anything is unpacked, rows are counted as they are read, and
the file is parsed in a worker process with a time and memory limit, to a private
staging file; only then is the import's one transaction opened, so the database is held
for the storing only. The command line (:data:`CLI`) keeps the zip checks but no row,
time or memory limit: operators import region-scale files there.

Every import keeps at most ``max_reported_errors`` row errors (then a count of the rest).
The web values come from :class:`api.settings.Settings` (``MUTUALAID_UPLOAD_*``; defaults in
the README); code that imports sets them for a call with :func:`using`.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    #: data rows of one file (None: no limit)
    max_rows: int | None = None
    #: characters in any one cell (Excel's own limit is 32,767); None: only the store's
    #: column widths (row errors) and, for CSV, Python's csv field limit (131,072)
    max_cell_chars: int | None = None
    #: uncompressed size of any one part (sheet, shared strings...) of a workbook
    xlsx_max_part_bytes: int = 512 * MIB
    #: uncompressed size of all parts of a workbook together
    xlsx_max_total_bytes: int = 1024 * MIB
    #: uncompressed / compressed size of any one part (plain sheets compress 5-30x; zip bombs 1000x)
    xlsx_max_ratio: int = 200
    #: read and check the whole file first, then store (web uploads): in a worker process,
    #: except a CSV smaller than ``worker_min_bytes`` (read in-process, as cheap as starting one)
    parse_in_worker: bool = False
    worker_min_bytes: int = 1 * MIB
    #: wall-clock seconds the worker may take to read and check the file
    parse_seconds: float | None = None
    #: address space of the worker process (bytes)
    parse_memory_bytes: int | None = None
    #: row errors kept in the report and the error file; the rest are counted
    max_reported_errors: int = 10_000


CLI = ReadLimits()
WEB = ReadLimits(max_rows=200_000, max_cell_chars=32_767, xlsx_max_part_bytes=256 * MIB, xlsx_max_total_bytes=300 * MIB,
                 parse_in_worker=True, parse_seconds=300.0, parse_memory_bytes=2048 * MIB)

_current: ContextVar[ReadLimits] = ContextVar("mutualaid_read_limits", default=CLI)


def current() -> ReadLimits:
    return _current.get()


@contextmanager
def using(limits: ReadLimits) -> Iterator[ReadLimits]:
    """Imports started inside the block (in this thread / task) read with ``limits``."""
    token = _current.set(limits)
    try:
        yield limits
    finally:
        _current.reset(token)


__all__ = ["CLI", "WEB", "ReadLimits", "current", "using"]
