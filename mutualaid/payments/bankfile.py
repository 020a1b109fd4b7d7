"""Bank files as data: templates (YAML), the batch payment file writer, the return file's columns.

A template (``templates/<name>.yaml``) says how one bank wants its batch payment file
(批量代发): CSV or XLSX, the encoding and line end of a CSV, header rows above the payees
and trailer rows below them (with ``{run}``, ``{date}``, ``{count}``, ``{total}``,
``{product}`` placeholders: the control figures), the item columns, the date format, and
the column names of the bank's result file. Adding a bank is adding a file.

The writer is deterministic: the same run, items and template give the same bytes (the
XLSX is written by hand, with fixed zip timestamps and no document properties), so a run
exported twice is the same file. Cells from people's text that a spreadsheet would take
for a formula (starting with ``= + - @``, tab or carriage return) get a leading ``'``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

import yaml
from pydantic import BaseModel, ConfigDict, Field

from mutualaid.cellsafe import safe
from mutualaid.money import fmt
from mutualaid.tabular import ColumnSpec

TEMPLATES_DIR = Path(__file__).parent / "templates"
DEFAULT_TEMPLATE = "generic"
ITEM_FIELDS = ("claim_no", "account", "name", "amount", "amount_fen", "product", "seq", "memo", "run")


class TemplateError(ValueError):
    pass


class Returns(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    aliases: dict[str, list[str]] = Field(default_factory=dict)
    skip_references: list[str] = Field(default_factory=list)


class Template(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    label: str
    format: Literal["csv", "xlsx"]
    encoding: str = "utf-8-sig"
    line_end: str = "\r\n"
    date_format: str = "%Y-%m-%d"
    header: list[list[str]] = Field(default_factory=list)
    columns: list[str]
    trailer: list[list[str]] = Field(default_factory=list)
    memo: str = ""
    returns: Returns = Field(default_factory=Returns)

    def model_post_init(self, _context: object) -> None:
        bad = [c for c in self.columns if c not in ITEM_FIELDS]
        if bad:
            raise TemplateError(f"template {self.name}: unknown columns {bad}; known: {ITEM_FIELDS}")
        unknown = set(self.returns.aliases) - {c.name for c in GENERIC_RETURN_COLUMNS}
        if unknown:
            raise TemplateError(f"template {self.name}: unknown return columns {sorted(unknown)}")


@dataclass(frozen=True)
class RunFacts:
    run_id: int
    day: dt.date          # the date printed on the file: the run's as-of day (the same on every export)
    product: str | None


@dataclass(frozen=True)
class Payee:
    claim_no: str
    account: str
    name: str
    amount_fen: int
    product: str


@lru_cache(maxsize=1)
def templates() -> dict[str, Template]:
    """Every template shipped, by name (the file name must match the name inside)."""
    out: dict[str, Template] = {}
    for path in sorted(TEMPLATES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        t = Template.model_validate(data)
        if t.name != path.stem:
            raise TemplateError(f"{path.name}: name {t.name!r} does not match the file name")
        out[t.name] = t
    return out


def template(name: str | None) -> Template:
    all_ = templates()
    key = name or DEFAULT_TEMPLATE
    if key not in all_:
        raise TemplateError(f"no bank template {key!r}; known: {', '.join(sorted(all_))}")
    return all_[key]


def neutral(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (mutualaid.cellsafe, the one guard)."""
    return safe(text)


def _rows(t: Template, run: RunFacts, payees: list[Payee]) -> list[list[tuple[str, bool]]]:
    """Every row of the file as (text, is_number) cells."""
    total = sum(p.amount_fen for p in payees)
    facts = {"run": str(run.run_id), "date": run.day.strftime(t.date_format), "count": str(len(payees)),
             "total": fmt(total, fen=True), "product": run.product or ""}
    numeric = {"count", "total", "run"}

    def fixed(row: list[str]) -> list[tuple[str, bool]]:
        out = []
        for cell in row:
            key = cell[1:-1] if cell.startswith("{") and cell.endswith("}") else None
            out.append((facts[key], key in numeric) if key in facts else (cell.format(**facts), False))
        return out

    rows = [fixed(r) for r in t.header]
    for seq, p in enumerate(payees, start=1):
        values = {"claim_no": (neutral(p.claim_no), False), "account": (p.account, False),
                  "name": (neutral(p.name), False), "amount": (fmt(p.amount_fen, fen=True), True),
                  "amount_fen": (str(p.amount_fen), True), "product": (p.product, False),
                  "seq": (str(seq), True), "memo": (t.memo, False), "run": (str(run.run_id), True)}
        rows.append([values[c] for c in t.columns])
    rows.extend(fixed(r) for r in t.trailer)
    return rows


def render(t: Template, run: RunFacts, payees: list[Payee]) -> bytes:
    """The batch payment file's bytes."""
    rows = _rows(t, run, payees)
    if t.format == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator=t.line_end)
        w.writerows([c for c, _ in r] for r in rows)
        return buf.getvalue().encode(t.encoding)
    return _xlsx(rows)


# --- a minimal, deterministic .xlsx -----------------------------------------------------

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '</Types>')
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="代发" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>')
# style 1: text cells shown as text ("@"), so a 19-digit account is never turned into a number
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="0.00"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>')


def _col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _xlsx(rows: list[list[tuple[str, bool]]]) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
    letters = [_col(i) for i in range(max((len(r) for r in rows), default=0))]
    for n, row in enumerate(rows, start=1):
        cells = []
        for i, (text, number) in enumerate(row):
            ref = f"{letters[i]}{n}"
            if number:
                style = ' s="2"' if "." in text else ""
                cells.append(f'<c r="{ref}"{style}><v>{text}</v></c>')
            elif text:
                cells.append(f'<c r="{ref}" s="1" t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>')
        parts.append(f'<row r="{n}">{"".join(cells)}</row>')
    parts.append("</sheetData></worksheet>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _RELS),
                           ("xl/workbook.xml", _WORKBOOK), ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
                           ("xl/styles.xml", _STYLES), ("xl/worksheets/sheet1.xml", "".join(parts))):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            z.writestr(info, data.encode("utf-8"))
    return buf.getvalue()


# --- the bank's return file ---------------------------------------------------------------

GENERIC_RETURN_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("reference", ("申请编号",)),
    ColumnSpec("account", ("银行卡号",)),
    ColumnSpec("amount", ("交易金额",)),
    ColumnSpec("status", ("结果",)),
    ColumnSpec("reason", ("备注",), required=False),
    ColumnSpec("bank_date", ("银行日期",)),
    ColumnSpec("bank_txn", ("交易流水号",), required=False),
)
STATUS_WORDS = {"SUCCESS": "SUCCESS", "FAILED": "FAILED", "成功": "SUCCESS", "失败": "FAILED",
                "success": "SUCCESS", "failed": "FAILED"}


@lru_cache(maxsize=1)
def return_columns() -> tuple[ColumnSpec, ...]:
    """The return file's columns with the names every template's bank uses for them."""
    extra: dict[str, list[str]] = {}
    for t in templates().values():
        for col, names in t.returns.aliases.items():
            for name in names:
                if name not in extra.setdefault(col, []):
                    extra[col].append(name)
    return tuple(ColumnSpec(c.name, (*c.aliases, *[a for a in extra.get(c.name, []) if a not in c.aliases]),
                            c.required) for c in GENERIC_RETURN_COLUMNS)


@lru_cache(maxsize=1)
def skip_references() -> frozenset[str]:
    """First cells of trailer lines some banks repeat in their result file (合计…): not payees."""
    return frozenset(s for t in templates().values() for s in t.returns.skip_references)


def parse_bank_date(text: str) -> dt.date:
    """YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD; ValueError otherwise."""
    s = text.strip()
    if len(s) == 8 and s.isdigit():
        return dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))
    if len(s) == 10 and s[4] in "-/" and s[7] == s[4]:
        return dt.date(int(s[:4]), int(s[5:7]), int(s[8:]))
    raise ValueError(s)
