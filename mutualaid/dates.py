"""Calendar arithmetic the policy needs (month-end clamping for deadlines)."""
from __future__ import annotations

import calendar
import datetime as dt
from functools import lru_cache


@lru_cache(maxsize=8192)  # deadlines: few distinct coverage ends, many claims
def add_months(d: dt.date, months: int) -> dt.date:
    """Same day of the month, or that month's last day when it is shorter."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    if d.day <= 28:  # every month has it (the hot path of deadline checks)
        return dt.date(year, month, d.day)
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """'2026-03' -> (2026-03-01, 2026-03-31)."""
    first = dt.date.fromisoformat(month + "-01")
    return first, add_months(first, 1) - dt.timedelta(days=1)


def parse_date(text: str) -> dt.date:
    """Strict YYYY-MM-DD; '2026-02-30' is an error, not March 2nd."""
    s = str(text).strip()
    if len(s) != 10 or s[4] != "-" or s[7] != "-":
        raise ValueError(s)
    return dt.date.fromisoformat(s)
