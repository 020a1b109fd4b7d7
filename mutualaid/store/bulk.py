"""Bulk writes for the batch paths (imports of a million rows, a million decisions).

SQLAlchemy's per-value bind processing costs more than the database's own work at this
volume, so these helpers hand plain tuples to the DB-API driver's executemany. JSON goes
as text (orjson: a million decision traces). Dates go to SQLite through the adapters
registered below, as the same text SQLAlchemy's Date and DateTime types store there.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Table


def _sqlite_datetime(d: dt.datetime) -> str:
    return f"{d:%Y-%m-%d %H:%M:%S}.{d.microsecond:06d}"  # SQLAlchemy's SQLite DATETIME format


# Process-wide, by type: only values handed to sqlite3 raw (SQLAlchemy converts its own first).
sqlite3.register_adapter(dt.date, dt.date.isoformat)  # a C method: no Python frame per date
sqlite3.register_adapter(dt.datetime, _sqlite_datetime)


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                *, json_columns: Sequence[str] = ()) -> None:
    """INSERT many rows given as tuples in ``columns`` order."""
    if not rows:
        return
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    marks = [mark if sqlite or c not in json_columns else f"{mark}::json" for c in columns]
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(marks)})"
    json_at = [columns.index(c) for c in json_columns]
    if json_at:
        def convert(row: Sequence[Any]) -> tuple:
            values = list(row)
            for i in json_at:
                values[i] = orjson.dumps(values[i]).decode()  # compact UTF-8 JSON, ~10x json.dumps
            return tuple(values)
        rows = [convert(r) for r in rows]
    conn.exec_driver_sql(sql, rows)  # type: ignore[arg-type]


def update_rows(conn: Connection, table: Table, set_columns: Sequence[str], where_sql: str,
                where_columns: Sequence[str], rows: Sequence[Sequence[Any]], *, also_set: str = "") -> int:
    """UPDATE ... SET set_columns WHERE <where_sql>, once per row; returns rows changed.

    ``where_sql`` uses ``{}`` for each placeholder of ``where_columns``, e.g. "id = {} AND status = 'RECEIVED'";
    ``also_set`` adds assignments without parameters, e.g. "version = version + 1".
    """
    if not rows:
        return 0
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sets = ", ".join([f"{c} = {mark}" for c in set_columns] + ([also_set] if also_set else []))
    sql = f"UPDATE {table.name} SET {sets} WHERE {where_sql.format(*([mark] * len(where_columns)))}"
    result = conn.exec_driver_sql(sql, rows)  # type: ignore[arg-type]
    return result.rowcount


def select_in(conn: Connection, sql: str, values: Collection[Any], *, date_columns: Sequence[int] = ()) -> list[tuple]:
    """Rows of ``sql`` whose ``{in_}`` placeholder is "column IN values", for thousands of values.

    The whole list goes as one parameter (a JSON array on SQLite, an array on PostgreSQL):
    SQLAlchemy's ``in_`` compiles one bound parameter per value, which costs more than the
    query itself at this size. ``date_columns``: positions of (non-null) dates, which SQLite returns as text.
    """
    if not values:
        return []
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(sql.format(in_="IN (SELECT value FROM json_each(?))"),
                                    (orjson.dumps(list(values)).decode(),)).all()
        if not date_columns:
            return [tuple(r) for r in rows]
        columns: list = list(zip(*rows))
        for i in date_columns:  # column-wise through C: a million rows of dates in a fraction of a second
            columns[i] = map(dt.date.fromisoformat, columns[i])
        return list(zip(*columns))
    return [tuple(r) for r in conn.exec_driver_sql(sql.format(in_="= ANY(%s)"), (list(values),)).all()]
