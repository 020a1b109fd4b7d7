"""Small Excel and file helpers shared by the what-if report and the year report.

A sheet is a title, a header and rows; amounts are given as integer fen wrapped in
:class:`Fen` and written as numeric cells formatted ``#,##0.00``. A chart names the
sheet's columns it plots.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font, PatternFill

from mutualaid.cellsafe import safe, safe_row

AMOUNT_FORMAT = "#,##0.00"


@dataclass(frozen=True)
class Fen:
    value: int


@dataclass
class Chart:
    title: str
    categories_col: int          # 1-based column of the labels
    value_cols: tuple[int, ...]  # 1-based columns of the series
    kind: str = "bar"            # bar | line
    anchor: str | None = None


@dataclass
class Sheet:
    title: str
    header: list[str]
    rows: list[list[Any]]
    charts: list[Chart] = field(default_factory=list)
    widths: dict[int, int] = field(default_factory=dict)


def _cell_value(v: Any) -> tuple[Any, str | None]:
    if isinstance(v, Fen):
        return Decimal(v.value).scaleb(-2), AMOUNT_FORMAT
    return safe(v), None   # text from uploads (claim numbers...) never becomes a formula


def workbook(sheets: list[Sheet]) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for sh in sheets:
        ws = wb.create_sheet(sh.title[:31])
        ws.append(safe_row(sh.header))
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
        for row in sh.rows:
            values = [_cell_value(v) for v in row]
            ws.append([v for v, _ in values])
            for col, (_, fmt) in enumerate(values, 1):
                if fmt:
                    ws.cell(row=ws.max_row, column=col).number_format = fmt
        ws.freeze_panes = "A2"
        for col in range(1, len(sh.header) + 1):
            letter = ws.cell(row=1, column=col).column_letter
            ws.column_dimensions[letter].width = sh.widths.get(col, 18)
        n = len(sh.rows)
        for k, ch in enumerate(sh.charts):
            if n == 0:
                continue
            chart = BarChart() if ch.kind == "bar" else LineChart()
            chart.title = ch.title
            chart.height, chart.width = 8, 16
            for col in ch.value_cols:
                chart.add_data(Reference(ws, min_col=col, min_row=1, max_row=n + 1), titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=ch.categories_col, min_row=2, max_row=n + 1))
            letter = ws.cell(row=1, column=len(sh.header) + 2).column_letter
            ws.add_chart(chart, ch.anchor or f"{letter}{2 + 17 * k}")
    return wb


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json(path: Path, doc: dict) -> None:
    atomic_write_bytes(path, (json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def write_workbook(path: Path, sheets: list[Sheet]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    workbook(sheets).save(tmp)
    os.replace(tmp, path)
