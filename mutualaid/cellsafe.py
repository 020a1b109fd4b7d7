"""The one guard against formula injection in every CSV and .xlsx the system writes.

Excel and WPS run a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK(...)`` becomes a live link, ``+cmd|...`` worse), and a leading tab or
carriage return hides such a start. Text that an uploader controls (claim numbers,
vouchers, notes, the values repeated in row-error reports) can reach the files finance
and auditors open, so each writer passes its cells through :func:`safe` (or
:func:`safe_series` for a pandas column): such text gets a leading apostrophe, as the
OWASP guidance on CSV injection advises, and shows as the text it was.

Numbers stay numeric: non-text values (int, Decimal, dates) are returned as they are,
and text that is a plain decimal number (``-12.50``, ``+3``) is left alone, since a
spreadsheet reads it as that number and nothing else.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: first characters that make a spreadsheet evaluate or re-interpret a cell
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_TRIGGER_CLASS = "[" + re.escape("".join(TRIGGERS)) + "]"


def safe(value: Any) -> Any:
    """``value`` as a harmless cell: risky text gets a leading ``'``, everything else is unchanged."""
    if isinstance(value, str) and value and value[0] in TRIGGERS and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe(v) for v in values]


def safe_series(values: Any) -> Any:
    """:func:`safe` over a pandas Series of text (vectorised; missing values stay missing)."""
    text = values.astype("string")
    risky = text.str.match(_TRIGGER_CLASS, na=False) & ~text.str.fullmatch(_NUMBER.pattern, na=False)
    if not risky.any():
        return values
    out = values.astype(object).copy()
    out[risky] = "'" + text[risky].astype(str)
    return out


__all__ = ["TRIGGERS", "safe", "safe_row", "safe_series"]
