"""Dates as int day numbers (days since 1970-01-01), scalar and vectorised.

The generator handles millions of dates in numpy arrays; int days make the arithmetic and
the comparisons array operations, and the conversions back are cached or done through
small tables over the range of days actually used.
"""
from __future__ import annotations

import calendar
import datetime as dt
from functools import lru_cache

import numpy as np

EPOCH = dt.date(1970, 1, 1)


def day_number(d: dt.date) -> int:
    return (d - EPOCH).days


@lru_cache(maxsize=None)
def date_of(days: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(days))


@lru_cache(maxsize=None)
def month_label(days: int) -> str:
    """'2025-03' for a day of March 2025: the name of the monthly claim batch."""
    return date_of(days).strftime("%Y-%m")


def month_end(d: dt.date) -> dt.date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def calendar_of(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month * 100 + day, first day of the month) of int-day arrays, through tables
    over their range of days (a few thousand): much cheaper than datetime64 casts."""
    days = np.asarray(days, dtype=np.int64)
    if not len(days):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    lo = int(days.min())
    span = np.arange(lo, int(days.max()) + 1).astype("datetime64[D]")
    months = span.astype("datetime64[M]")
    year = span.astype("datetime64[Y]").astype(np.int64) + 1970
    month_day = (months.astype(np.int64) % 12 + 1) * 100 + (span - months.astype("datetime64[D]")).astype(np.int64) + 1
    month_start = months.astype("datetime64[D]").astype(np.int64)
    i = days - lo
    return year[i], month_day[i], month_start[i]


def years_of(days: np.ndarray) -> np.ndarray:
    return calendar_of(days)[0]


def ages_on(birth: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Full years (vectorised ``idnumber.age_on``), for int-day arrays."""
    by, bmd, _ = calendar_of(birth)
    oy, omd, _ = calendar_of(on)
    return oy - by - (omd < bmd)


def one_year_end(start: np.ndarray) -> np.ndarray:
    """Coverage of one year for starts on a month's first day: start + 12 months - 1 day."""
    lo = int(start.min())
    months = np.arange(lo, int(start.max()) + 1).astype("datetime64[D]").astype("datetime64[M]")
    return ((months + 12).astype("datetime64[D]") - 1).astype(np.int64)[start - lo]
