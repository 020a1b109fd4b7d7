"""The one reader of user-supplied tables: CSV and Excel ``.xlsx``.

It turns a file into rows of cells, each row with the number the user sees, and reports
problems with the file as a whole (:class:`FileProblem`: the CLI exits with 2 and nothing
is stored). It does not validate values; :mod:`mutualaid.fields` does.

Row numbers
    The number of the row in a spreadsheet program: the header is row 1 (unless blank rows
    come before it), the first data row is 2. Blank rows are skipped but still counted, so
    numbers stay those the user sees. For CSV a *record* is one spreadsheet row: a quoted
    cell holding line breaks does not shift the numbers of the rows after it (this is what
    Excel/WPS show when they open the file; a text editor shows more lines). Without such
    cells the row number equals the line number.

Cells
    ``Cell.text`` is the stripped text (``''`` when empty). CSV cells are ``"text"`` or
    ``"empty"``. Excel cells keep their type: numbers (``"number"``, exact shortest decimal,
    ``42`` not ``42.0``), dates (``"date"``, ``YYYY-MM-DD`` at midnight, else
    ``YYYY-MM-DD HH:MM:SS``), formulas (``"formula"``, the formula text such as ``=A2*2``).

Every row dict holds every column of the spec (key order unspecified): absent optional
columns as empty cells. Cells the header has no name for, past its last named column, are
joined (", ") under :data:`EXTRA` (``"__extra__"``), present only when one of them is
non-empty. Columns with an unknown name are ignored (a warning says which); a row whose
known and extra cells are all empty is skipped.

CSV is read twice: a first streaming pass hashes the bytes and decides the encoding
(UTF-8 with or without BOM, else GB18030), so an undecodable file fails in
:func:`open_table` before any row is returned. The second pass streams the rows with the
csv module; memory stays flat whatever the file size. One problem can only show during
the second pass: a quote that is never closed, which swallows the rest of the file into
one cell. :meth:`Table.rows` raises ``FileProblem("bad_csv")`` when it gets there (at the
latest after the last row), so an importer must treat the file as a whole, as the
importers do (one transaction, rolled back on FileProblem).
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import os
import unicodedata
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path
from typing import Any

from mutualaid import i18n
from mutualaid.limits import ReadLimits
from mutualaid.limits import current as current_limits

__all__ = ["EXTRA", "Cell", "ColumnSpec", "FileProblem", "Table", "open_table"]

EXTRA = "__extra__"
DEFAULT_MAX_BYTES = 512 * 1024 * 1024

_CHUNK = 1 << 20
_CACHE_LIMIT = 1 << 15          # cells remembered for reuse (repeated values: dates, products...)
_SAMPLE_ROWS = 1000             # first rows, to tell columns of repeated values from unique ones
# Appended after the last line of a CSV (see _end_line): if it does not come back as a
# record of its own, it ended up inside a cell, so a quote was never closed.
_SENTINEL = "\ue000mutualaid-end-of-file\ue000"
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"))


class FileProblem(Exception):
    """A problem with the file as a whole: nothing of it is stored (CLI exit code 2)."""

    def __init__(self, code: str, file_name: str = "", /, **params: Any) -> None:
        super().__init__(code, file_name, params)
        self.code = code
        self.file_name = file_name
        self.params = params

    @property
    def message(self) -> str:
        """The bilingual message without the file name."""
        return i18n.message(self.code, **self.params)

    def __str__(self) -> str:
        return f"{self.file_name}: {self.message}" if self.file_name else self.message

    def __reduce__(self):  # noqa: ANN204  (keyword params survive pickling)
        return _rebuild_problem, (self.code, self.file_name, self.params)


def _rebuild_problem(code: str, file_name: str, params: dict) -> FileProblem:
    return FileProblem(code, file_name, **params)


@dataclass(frozen=True, slots=True)
class Cell:
    text: str   # stripped; '' when empty
    kind: str   # "text" | "number" | "date" | "formula" | "empty"


EMPTY = Cell("", "empty")

# Fast construction for the CSV hot path: the same object Cell(text, kind) makes, without
# the frozen dataclass __init__ (which costs several times more per cell).
_new_object = object.__new__
_set_text = Cell.text.__set__  # type: ignore[attr-defined]
_set_kind = Cell.kind.__set__  # type: ignore[attr-defined]


class _CellCache(dict):
    """raw CSV field -> Cell, shared by the rows where the same value repeats."""

    __slots__ = ()

    def __missing__(self, raw: str) -> Cell:
        cell = self[raw] = _text_cell(raw)
        return cell


@dataclass(frozen=True)
class ColumnSpec:
    name: str                      # canonical English header, e.g. "member_id_number"
    aliases: tuple[str, ...] = ()  # Chinese aliases, e.g. ("身份证号",)
    required: bool = True          # column must be present in the header

    def label(self) -> str:
        """'身份证号 (member_id_number)' — how a missing column is named to the user."""
        return f"{self.aliases[0]} ({self.name})" if self.aliases else self.name


# --- the table ------------------------------------------------------------------------

class Table:
    """An opened, header-checked file. Iterate :meth:`rows`; :meth:`close` when done."""

    format: str = ""

    def __init__(self, path: Path, file_name: str, fingerprint: str, size: int) -> None:
        self.path = str(path)
        self.file_name = file_name
        self.fingerprint = fingerprint   # sha256 hex of the file bytes
        self.size = size
        self.encoding: str | None = None
        self.delimiter: str | None = None
        self.columns: list[str] = []     # canonical names present, in header order
        self.headers: dict[str, str] = {}  # canonical name -> the header text the file used
        self.warnings: list[str] = []
        self.rows_hint: int | None = None
        self.header_row = 1              # row number of the header as the user sees it
        self._closed = False
        self._layout: _Layout | None = None
        self.max_rows: int | None = None     # data rows allowed (FileProblem "too_many_rows" past it)
        self.max_cell_chars: int | None = None  # characters in one cell ("cell_too_long" past it)

    def rows(self) -> Iterator[tuple[int, dict[str, Cell]]]:
        """(row number as the user sees it, cells by canonical name); blank rows skipped.

        Each call starts again from the top of the file.
        """
        if self._closed:
            raise ValueError("table is closed")
        if self.max_rows is None and self.max_cell_chars is None:
            return self._rows()
        return self._limited(self._rows(), self.max_rows, self.max_cell_chars)

    def _limited(self, rows: Iterator[tuple[int, dict[str, Cell]]], limit: int | None,
                 cell_limit: int | None) -> Iterator[tuple[int, dict[str, Cell]]]:
        n = 0
        for row in rows:
            n += 1
            if limit is not None and n > limit:
                raise self._problem("too_many_rows", limit=f"{limit:,}")
            if cell_limit is not None:
                for name, cell in row[1].items():
                    if len(cell.text) > cell_limit:
                        raise self._problem("cell_too_long", row=row[0], column=self.headers.get(name, name),
                                            limit=f"{cell_limit:,}")
            yield row

    def _rows(self) -> Iterator[tuple[int, dict[str, Cell]]]:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.file_name!r} columns={self.columns}>"

    def _problem(self, code: str, **params: Any) -> FileProblem:
        return FileProblem(code, self.file_name, **params)


class _Layout:
    """Where each known column sits in the header, and what a row dict gets."""

    def __init__(self, header: list[str], specs: Sequence[ColumnSpec], file_name: str) -> None:
        lookup: dict[str, ColumnSpec] = {}
        for spec in specs:
            for key in (spec.name, *spec.aliases):
                k = _header_key(key)
                if k in lookup and lookup[k] is not spec:
                    raise ValueError(f"column spec {key!r} is ambiguous")
                lookup[k] = spec
        texts = [_header_text(h) for h in header]
        width = 0
        for i, t in enumerate(texts):
            if t:
                width = i + 1
        found: dict[str, int] = {}
        unknown: list[str] = []
        blank: list[str] = []
        for i, t in enumerate(texts[:width]):
            if not t:
                blank.append(_col_letter(i))
                continue
            spec = lookup.get(_header_key(t))
            if spec is None:
                if t not in unknown:
                    unknown.append(t)
                continue
            if spec.name in found:
                j = found[spec.name]
                raise FileProblem("duplicate_column", file_name, column=spec.name,
                                  first=texts[j], first_col=_col_letter(j),
                                  second=t, second_col=_col_letter(i))
            found[spec.name] = i
        missing = [s for s in specs if s.required and s.name not in found]
        if not found:              # not one known column (possible when all are optional)
            missing = list(specs)
        if missing:
            raise FileProblem("missing_columns", file_name,
                              columns=", ".join(s.label() for s in missing))
        self.width = width                        # up to the last named header cell
        self.header_len = len(header)             # with blank header cells after it
        self.names = tuple(found)                 # header order
        self.headers = {name: texts[i] for name, i in found.items()}  # as the file spells them
        self.indexes = tuple(found.values())
        self.fill = {s.name: EMPTY for s in specs if s.name not in found}
        self.pick = _picker(self.indexes)
        self.warnings: list[str] = []
        if unknown:
            self.warnings.append(f"{file_name}: " + i18n.message("unknown_columns", columns=", ".join(unknown)))
        if blank:
            self.warnings.append(f"{file_name}: " + i18n.message("blank_header_columns", columns=", ".join(blank)))


def _picker(indexes: Sequence[int]) -> Any:
    """C-level getter of the cells at ``indexes`` (a sequence, even for one index)."""
    if len(indexes) == 1:
        return itemgetter(slice(indexes[0], indexes[0] + 1))
    return itemgetter(*indexes)


def _header_text(s: str) -> str:
    return s.translate(_INVISIBLE).strip()


def _header_key(s: str) -> str:
    return unicodedata.normalize("NFKC", _header_text(s)).casefold()


def _col_letter(i: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the column letter a spreadsheet shows."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _text_cell(raw: str) -> Cell:
    """Cell of a raw CSV field, built without the dataclass __init__ (same object, faster)."""
    text = raw.strip()
    if not text:
        return EMPTY
    cell = _new_object(Cell)
    _set_text(cell, text)
    _set_kind(cell, "text")
    return cell


def _unique_columns(sample: list[list[str]], layout: _Layout) -> set[int]:
    """Positions (in layout.names) of columns whose sampled values are mostly distinct."""
    rows = [layout.pick(r) for r in sample if len(r) == layout.width]
    if len(rows) < 64:
        return set()
    unique = set()
    for i, values in enumerate(zip(*rows)):
        if len(set(values)) > len(rows) // 2:
            unique.add(i)
    return unique


def _extra_cell(texts: list[str]) -> Cell:
    return Cell(", ".join(texts), "text")


# --- opening ----------------------------------------------------------------------------

def open_table(path: str | Path, columns: Sequence[ColumnSpec], *, file_name: str | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES, limits: ReadLimits | None = None) -> Table:
    """Open a CSV or .xlsx file, check its header against ``columns``; FileProblem if unusable.

    ``file_name`` is the name shown to the user (an upload's original name); its extension
    decides the format. Defaults to the name of ``path``. ``limits`` (default: those set
    with :func:`mutualaid.limits.using`): a workbook's parts are measured before anything
    is unpacked, rows are counted as they are read.
    """
    limits = limits or current_limits()
    table = _open_table(path, columns, file_name, max_bytes, limits)
    table.max_rows = limits.max_rows
    table.max_cell_chars = limits.max_cell_chars
    if limits.max_rows is not None and table.format == "xlsx" and table.rows_hint is not None \
            and table.rows_hint > limits.max_rows:
        table.close()
        raise FileProblem("too_many_rows", table.file_name, limit=f"{limits.max_rows:,}")
    return table


def _open_table(path: str | Path, columns: Sequence[ColumnSpec], file_name: str | None, max_bytes: int,
                limits: ReadLimits) -> Table:
    p = Path(path)
    name = file_name or p.name
    ext = os.path.splitext(name)[1].lower()
    if ext not in (".csv", ".xlsx"):
        raise FileProblem("unsupported_type", name, ext=ext or "—")
    try:
        st = os.stat(p)
    except OSError:
        raise FileProblem("unreadable", name) from None
    if not p.is_file():
        raise FileProblem("unreadable", name)
    if st.st_size > max_bytes:
        raise FileProblem("too_large", name, size=_human_size(st.st_size), limit=_human_size(max_bytes))
    if st.st_size == 0:
        raise FileProblem("empty_file", name)
    try:
        if ext == ".csv":
            return _open_csv(p, name, columns, st.st_size)
        return _open_xlsx(p, name, columns, st.st_size, limits)
    except OSError:
        raise FileProblem("unreadable", name) from None


def _human_size(n: int) -> str:
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= factor:
            v = n / factor
            return f"{v:.0f} {unit}" if v == int(v) or v >= 100 else f"{v:.1f} {unit}"
    return f"{n} B"


# --- CSV ----------------------------------------------------------------------------------

@dataclass
class _Scan:
    fingerprint: str
    encoding: str | None          # None: no accepted encoding decodes the file
    bad_line: int = 0             # where the best candidate failed (1-based)
    bad_byte: int = 0
    line_breaks: int = 0
    ends_with_break: bool = True
    head: bytes = b""


def _scan_csv(path: Path) -> _Scan:
    """One streaming pass: sha256, line count, and whether UTF-8 decodes everything.

    GB18030 gets its own pass only when UTF-8 fails (and the file has no UTF-8 BOM).
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8_error: tuple[int, int] | None = None       # (byte offset, line)
    newlines = returns = offset = 0
    head = b""
    last = b""
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            if not head:
                head = chunk[:4096]
            if utf8_error is None:
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as e:
                    at = max(0, e.start - pending)
                    utf8_error = (offset + at, newlines + chunk.count(b"\n", 0, at) + 1)
            newlines += chunk.count(b"\n")
            returns += chunk.count(b"\r")
            offset += len(chunk)
            last = chunk[-1:]
    if utf8_error is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_error = (offset - len(decoder.getstate()[0]), newlines + 1)
    scan = _Scan(digest.hexdigest(), None, line_breaks=max(newlines, returns),
                 ends_with_break=last in (b"\n", b"\r"), head=head)
    has_bom = head.startswith(codecs.BOM_UTF8)
    if utf8_error is None:
        scan.encoding = "utf-8-sig" if has_bom else "utf-8"
        return scan
    best = utf8_error
    if not has_bom:
        gb_error = _find_decode_error(path, "gb18030")
        if gb_error is None:
            scan.encoding = "gb18030"
            return scan
        best = max(best, gb_error)     # report where the likelier encoding went wrong
    scan.bad_byte, scan.bad_line = best[0] + 1, best[1]
    return scan


def _find_decode_error(path: Path, encoding: str) -> tuple[int, int] | None:
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = newlines = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                at = max(0, e.start - pending)
                return offset + at, newlines + chunk.count(b"\n", 0, at) + 1
            newlines += chunk.count(b"\n")
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset - len(decoder.getstate()[0]), newlines + 1
    return None


_EXCEL_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def _open_csv(path: Path, name: str, specs: Sequence[ColumnSpec], size: int) -> Table:
    scan = _scan_csv(path)
    if scan.head.startswith(_EXCEL_MAGIC):
        raise FileProblem("csv_is_excel", name)
    if scan.encoding is None:
        raise FileProblem("bad_encoding", name, line=scan.bad_line, byte=scan.bad_byte)
    table = _CsvTable(path, name, scan.fingerprint, size)
    table.encoding = scan.encoding
    with open(path, encoding=scan.encoding, newline="") as f:
        table.delimiter = _sniff_delimiter(f)
        f.seek(0)
        reader = csv.reader(chain(f, (_SENTINEL,)), delimiter=table.delimiter)
        row_no = 0
        header: list[str] | None = None
        try:
            for rec in reader:
                row_no += 1
                if rec and rec[-1].endswith(_SENTINEL):
                    if rec != [_SENTINEL]:
                        raise FileProblem("bad_csv", name, row=row_no)
                    break
                if "".join(rec).strip():
                    header = rec
                    break
        except csv.Error:
            raise FileProblem("bad_csv", name, row=row_no + 1) from None
    if header is None:
        raise FileProblem("empty_file", name)
    layout = _Layout(header, specs, name)
    table._layout = layout
    table.header_row = row_no
    table.columns = list(layout.names)
    table.headers = dict(layout.headers)
    table.warnings = list(layout.warnings)
    lines = scan.line_breaks + (0 if scan.ends_with_break else 1)
    table.rows_hint = max(0, lines - row_no)
    return table


def _end_line(delimiter: str, fields: int) -> str:
    """A last line whose record (``fields`` sentinels) cannot be mistaken for a data row."""
    return delimiter.join([_SENTINEL] * fields) + "\n"


def _sniff_delimiter(f: Any) -> str:
    """Comma, unless the first non-blank line has none but has tabs (or semicolons)."""
    for _ in range(100):
        line = f.readline()
        if not line:
            break
        if line.strip():
            if "," in line:
                return ","
            if "\t" in line:
                return "\t"
            if ";" in line:
                return ";"
            break
    return ","


class _CsvTable(Table):
    format = "csv"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._open_files: list[Any] = []

    def close(self) -> None:
        for f in self._open_files:
            f.close()
        self._open_files.clear()
        super().close()

    def _rows(self) -> Iterator[tuple[int, dict[str, Cell]]]:
        layout = self._layout
        assert layout is not None and self.encoding is not None and self.delimiter is not None
        f = open(self.path, encoding=self.encoding, newline="")
        self._open_files.append(f)
        try:
            end = _end_line(self.delimiter, layout.header_len + 2)
            reader = csv.reader(chain(f, (end,)), delimiter=self.delimiter)
            yield from self._records(reader, layout)
        finally:
            f.close()
            if f in self._open_files:
                self._open_files.remove(f)

    def _records(self, reader: Any, layout: _Layout) -> Iterator[tuple[int, dict[str, Cell]]]:
        # The hot loop. What costs is making Cell objects, so values that repeat (dates,
        # products, hospitals...) share one Cell through a bounded cache, while columns
        # whose values are mostly unique (IDs, names, amounts), as measured on the first
        # rows, skip the cache and its bookkeeping.
        names, width, header_len, pick, fill = (
            layout.names, layout.width, layout.header_len, layout.pick, layout.fill)
        cache = _CellCache()
        cached = cache.__getitem__
        join = "".join
        strip = str.strip
        sentinel = _SENTINEL
        end_len = header_len + 2
        row_no = 0
        try:
            for _ in range(self.header_row):
                next(reader)
                row_no += 1
            sample = list(islice(reader, _SAMPLE_ROWS))
            unique = _unique_columns(sample, layout)
            shared = [i for i in range(len(names)) if i not in unique] or [unique.pop()]
            s_names = tuple(names[i] for i in shared)
            s_pick = _picker([layout.indexes[i] for i in shared])
            u_names = tuple(names[i] for i in sorted(unique))
            u_pick = _picker([layout.indexes[i] for i in sorted(unique)]) if unique else None
            first = layout.indexes[0]
            for row in chain(sample, reader):
                row_no += 1
                n = len(row)
                if n == width or (n == header_len and not join(row[width:]).strip()):
                    sv = s_pick(row)
                    if u_names:
                        uv = u_pick(row)
                        if not strip(row[first]) and not join(sv).strip() and not join(uv).strip():
                            continue
                        cells = dict(zip(s_names, map(cached, sv)))
                        cells.update(zip(u_names, map(_text_cell, uv)))
                    else:
                        if not strip(row[first]) and not join(sv).strip():
                            continue
                        cells = dict(zip(s_names, map(cached, sv)))
                else:
                    if not row:
                        continue
                    if n == end_len and row[0] == sentinel:
                        return     # the line appended after the file: every quote was closed
                    if n < header_len:
                        row += [""] * (header_len - n)
                    extra = [t for t in map(strip, row[width:]) if t]
                    vals = pick(row)
                    if not extra and not join(vals).strip():
                        continue
                    cells = dict(zip(names, map(cached, vals)))
                    if extra:
                        cells[EXTRA] = _extra_cell(extra)
                if fill:
                    cells.update(fill)
                if not row_no & 1023 and len(cache) > _CACHE_LIMIT:
                    cache.clear()
                yield row_no, cells
            # The appended line never came back as a record of its own: it ended up inside
            # the last record's cell, so a quote there was never closed.
            raise self._problem("bad_csv", row=row_no)
        except csv.Error:
            # "field larger than field limit": a quote never closed swallowed what follows.
            raise self._problem("bad_csv", row=self._failing_record()) from None
        except UnicodeDecodeError:   # the file changed since open_table checked it
            raise self._problem("unreadable") from None

    def _failing_record(self) -> int:
        """Row number of the record where csv.Error is raised (error path: parse again)."""
        assert self.encoding is not None and self.delimiter is not None
        row_no = 0
        with open(self.path, encoding=self.encoding, newline="") as f:
            reader = csv.reader(f, delimiter=self.delimiter)
            try:
                for _ in reader:
                    row_no += 1
            except csv.Error:
                pass
        return row_no + 1

# --- xlsx ---------------------------------------------------------------------------------

def _check_zip(path: Path, name: str, limits: ReadLimits) -> None:
    """Refuse a workbook whose parts would unpack too big, before anything is unpacked.

    The sizes come from the zip's central directory; a part cannot unpack to more than
    its recorded size (zipfile stops there and the CRC check then fails), so the figures
    bound what reading the workbook can cost.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FileProblem("not_xlsx", name) from None
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.xlsx_max_part_bytes or total > limits.xlsx_max_total_bytes:
            raise FileProblem("xlsx_too_big_unpacked", name, part=info.filename[:80],
                              limit=_human_size(limits.xlsx_max_part_bytes))
        if info.file_size > 1024 * 1024 and ratio > limits.xlsx_max_ratio:
            raise FileProblem("xlsx_compression_ratio", name, part=info.filename[:80], ratio=int(ratio),
                              limit=limits.xlsx_max_ratio)


def _open_xlsx(path: Path, name: str, specs: Sequence[ColumnSpec], size: int,
               limits: ReadLimits | None = None) -> Table:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    if not zipfile.is_zipfile(path):
        raise FileProblem("not_xlsx", name)
    _check_zip(path, name, limits or current_limits())
    import openpyxl  # deferred: CSV-only runs do not pay for it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception:  # noqa: BLE001  (any failure to read the workbook is the same problem)
        raise FileProblem("not_xlsx", name) from None
    table = _XlsxTable(path, name, digest.hexdigest(), size)
    table._wb = wb
    try:
        if not wb.worksheets:
            raise FileProblem("empty_file", name)
        ws = wb.worksheets[0]
        try:
            max_row = ws.max_row
        except Exception:  # noqa: BLE001
            max_row = None
        ws.reset_dimensions()   # some writers record wrong dimensions: read what is there
        table._ws = ws
        header: list[str] | None = None
        row_no = 0
        for row_no, row in table._sheet_rows():
            texts = [_xlsx_cell(c).text for c in row]
            if any(texts):
                header = texts
                break
        if header is None:
            raise FileProblem("empty_file", name)
        layout = _Layout(header, specs, name)
    except BaseException:
        wb.close()
        raise
    table._layout = layout
    table.header_row = row_no
    table.columns = list(layout.names)
    table.headers = dict(layout.headers)
    table.warnings = list(layout.warnings)
    table.rows_hint = max(0, max_row - row_no) if isinstance(max_row, int) and max_row > row_no else None
    return table


class _XlsxTable(Table):
    format = "xlsx"
    _wb: Any = None
    _ws: Any = None

    def close(self) -> None:
        if self._wb is not None:
            self._wb.close()
            self._wb = None
        super().close()

    def _sheet_rows(self) -> Iterator[tuple[int, tuple]]:
        try:
            yield from enumerate(self._ws.iter_rows(), start=1)
        except FileProblem:
            raise
        except Exception:  # noqa: BLE001  (damaged sheet XML, bad zip member...)
            raise self._problem("not_xlsx") from None

    def _rows(self) -> Iterator[tuple[int, dict[str, Cell]]]:
        layout = self._layout
        assert layout is not None
        names, width, indexes, fill = layout.names, layout.width, layout.indexes, layout.fill
        start = self.header_row
        for row_no, row in self._sheet_rows():
            if row_no <= start:
                continue
            n = len(row)
            vals = [_xlsx_cell(row[i]) if i < n else EMPTY for i in indexes]
            extra = [c.text for c in map(_xlsx_cell, row[width:]) if c.kind != "empty"] if n > width else None
            if not extra and all(c is EMPTY for c in vals):
                continue
            cells = dict(zip(names, vals))
            if extra:
                cells[EXTRA] = _extra_cell(extra)
            if fill:
                cells.update(fill)
            yield row_no, cells


def _xlsx_cell(c: Any) -> Cell:
    v = c.value
    if v is None:
        return EMPTY
    if c.data_type == "f":
        text = v if isinstance(v, str) else getattr(v, "text", None) or str(v)
        return Cell(text.strip(), "formula")
    if isinstance(v, str):
        s = v.strip()
        return Cell(s, "text") if s else EMPTY
    if isinstance(v, bool):
        return Cell("TRUE" if v else "FALSE", "text")
    if isinstance(v, int):
        return Cell(str(v), "number")
    if isinstance(v, float):
        return Cell(_float_text(v), "number")
    if isinstance(v, dt.datetime):
        if v.time() == dt.time():
            return Cell(v.date().isoformat(), "date")
        return Cell(v.isoformat(sep=" "), "date")
    if isinstance(v, dt.date):
        return Cell(v.isoformat(), "date")
    if isinstance(v, dt.time):
        return Cell(v.isoformat(), "date")
    s = str(v).strip()
    return Cell(s, "text") if s else EMPTY


def _float_text(v: float) -> str:
    """Shortest decimal that reads back as ``v``, without exponent or a trailing '.0'."""
    if v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    r = repr(v)
    if "e" in r or "E" in r:
        r = format(Decimal(r), "f")
    if r.endswith(".0"):
        r = r[:-2]
    return r
