"""Bulk reads and writes for the batch paths (imports of a million rows, a million decisions).

SQLAlchemy's per-value bind processing costs more than the database's own work at this
volume, so these helpers hand plain tuples to the driver: ``executemany`` on SQLite,
``COPY`` on PostgreSQL (psycopg's pipelined executemany spends ~30 µs of Python per row;
COPY a few). JSON goes as text (orjson: a million decision traces). Dates go to SQLite
through the adapters registered below, as the same text SQLAlchemy's Date and DateTime
types store there. Long ``IN`` lists go as one parameter (:func:`in_values`, :func:`select_in`).
"""
from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Table, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY


def _sqlite_datetime(d: dt.datetime) -> str:
    return f"{d:%Y-%m-%d %H:%M:%S}.{d.microsecond:06d}"  # SQLAlchemy's SQLite DATETIME format


# Process-wide, by type: only values handed to sqlite3 raw (SQLAlchemy converts its own first).
sqlite3.register_adapter(dt.date, dt.date.isoformat)  # a C method: no Python frame per date
sqlite3.register_adapter(dt.datetime, _sqlite_datetime)

_temp_names = itertools.count(1)


def _json_text(rows: Sequence[Sequence[Any]], columns: Sequence[str], json_columns: Sequence[str]) -> Sequence:
    json_at = [columns.index(c) for c in json_columns]
    if not json_at:
        return rows

    def convert(row: Sequence[Any]) -> tuple:
        values = list(row)
        for i in json_at:
            values[i] = orjson.dumps(values[i]).decode()  # compact UTF-8 JSON, ~10x json.dumps
        return tuple(values)
    return [convert(r) for r in rows]


def _json_array(values: Collection[Any]) -> str:
    """A list as one SQLite parameter, read back by ``json_each``."""
    return orjson.dumps(list(values)).decode()


def _copy(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """COPY rows into a PostgreSQL table on the connection's own transaction."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                *, json_columns: Sequence[str] = ()) -> None:
    """INSERT many rows given as tuples in ``columns`` order."""
    if not rows:
        return
    rows = _json_text(rows, columns, json_columns)
    if conn.dialect.name == "postgresql":
        _copy(conn, table.name, columns, rows)
        return
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    conn.exec_driver_sql(sql, rows)  # type: ignore[arg-type]


def update_rows(conn: Connection, table: Table, set_columns: Sequence[str], where_sql: str,
                where_columns: Sequence[str], rows: Sequence[Sequence[Any]], *, also_set: str = "") -> int:
    """UPDATE ... SET set_columns WHERE <where_sql>, once per row; returns rows changed.

    ``rows`` hold the values of ``set_columns`` then ``where_columns``; ``where_sql`` uses
    ``{}`` for each of ``where_columns``, e.g. "id = {} AND version = 3";
    ``also_set`` adds assignments without parameters, e.g. "version = version + 1".
    On PostgreSQL the rows are copied into a temporary table and applied by one UPDATE.
    """
    if not rows:
        return 0
    extra = [also_set] if also_set else []
    if conn.dialect.name == "postgresql":
        temp = f"_bulk_update_{next(_temp_names)}"
        given = [*set_columns, *where_columns]
        names = [f"u_{i}" for i in range(len(given))]
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS SELECT "
            + ", ".join(f"{c} AS {n}" for c, n in zip(given, names)) + f" FROM {table.name} WITH NO DATA")
        _copy(conn, temp, names, rows)
        sets = ", ".join([f"{c} = {temp}.{n}" for c, n in zip(set_columns, names)] + extra)
        where = where_sql.format(*[f"{temp}.{n}" for n in names[len(set_columns):]])
        changed = conn.exec_driver_sql(f"UPDATE {table.name} SET {sets} FROM {temp} WHERE {where}").rowcount
        conn.exec_driver_sql(f"DROP TABLE {temp}")
        return changed
    sets = ", ".join([f"{c} = ?" for c in set_columns] + extra)
    sql = f"UPDATE {table.name} SET {sets} WHERE {where_sql.format(*('?' * len(where_columns)))}"
    return conn.exec_driver_sql(sql, rows).rowcount  # type: ignore[arg-type]


def in_values(conn: Connection, column: ColumnElement, values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN values`` for a select, with the whole list as one bound parameter.

    SQLAlchemy's ``in_`` renders one parameter per value, and the driver parses them all
    again: more work than the query itself at thousands of values.
    """
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(select(literal_column("value"))
                      .select_from(func.json_each(bindparam(None, _json_array(values)))))


def select_in(conn: Connection, sql: str, values: Collection[Any], *, date_columns: Sequence[int] = ()) -> list[tuple]:
    """Rows of ``sql`` whose ``{in_}`` placeholder is "column IN values", as plain tuples.

    As :func:`in_values`, for hand-written SQL on the hottest paths (no Row objects, no
    per-value result processing). ``date_columns``: positions of (non-null) dates, which
    SQLite returns as text.
    """
    if not values:
        return []
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(sql.format(in_="IN (SELECT value FROM json_each(?))"),
                                    (_json_array(values),)).all()
        if not date_columns:
            return [tuple(r) for r in rows]
        columns: list = list(zip(*rows))
        for i in date_columns:  # column-wise through C: a million rows of dates in a fraction of a second
            columns[i] = map(dt.date.fromisoformat, columns[i])
        return list(zip(*columns))
    return [tuple(r) for r in conn.exec_driver_sql(sql.format(in_="= ANY(%s)"), (list(values),)).all()]
