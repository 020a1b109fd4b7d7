"""Bulk writes for the batch paths (imports of a million rows, a million decisions).

SQLAlchemy's per-value bind processing costs more than the database's own work at this
volume, so these helpers hand plain tuples to the DB-API driver's executemany. Dates go
to SQLite as ISO text (what SQLAlchemy's Date type stores there) and JSON as text.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Date, DateTime, Table


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def _temporal(table: Table, columns: Sequence[str]) -> list[int]:
    """Positions of the Date/DateTime columns: the only values SQLite needs converted."""
    return [i for i, c in enumerate(columns) if isinstance(table.c[c].type, (Date, DateTime))]


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                *, json_columns: Sequence[str] = ()) -> None:
    """INSERT many rows given as tuples in ``columns`` order."""
    if not rows:
        return
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    json_at = [columns.index(c) for c in json_columns]
    dates_at = _temporal(table, columns) if sqlite else []
    if dates_at or json_at:
        def convert(row: Sequence[Any]) -> tuple:
            values = list(row)
            for i in json_at:
                values[i] = json.dumps(values[i], ensure_ascii=False, separators=(",", ":"))
            for i in dates_at:
                if values[i] is not None:
                    values[i] = _sqlite_value(values[i])
            return tuple(values)
        rows = [convert(r) for r in rows]
    conn.exec_driver_sql(sql, rows)  # type: ignore[arg-type]


def update_rows(conn: Connection, table: Table, set_columns: Sequence[str], where_sql: str,
                where_columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """UPDATE ... SET set_columns WHERE <where_sql>, once per row; returns rows changed.

    ``where_sql`` uses ``{}`` for each placeholder of ``where_columns``, e.g. "id = {} AND status = 'RECEIVED'".
    """
    if not rows:
        return 0
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sets = ", ".join(f"{c} = {mark}" for c in set_columns)
    sql = f"UPDATE {table.name} SET {sets} WHERE {where_sql.format(*([mark] * len(where_columns)))}"
    if sqlite:
        rows = [tuple(_sqlite_value(v) for v in r) for r in rows]
    result = conn.exec_driver_sql(sql, rows)  # type: ignore[arg-type]
    return result.rowcount
