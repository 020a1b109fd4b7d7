"""Rows of an import file as the parsers produce them: row errors, parsed chunks.

The types the importing process and the parser process (``mutualaid.parallel_parse``)
share; both import them from here, so neither imports the other at module level.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TypeVar

from mutualaid import i18n

T = TypeVar("T")
CHUNK = 5000


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    value: str
    code: str
    message: str       # both languages, '中文 / English' (files and the terminal)
    params: tuple[tuple[str, object], ...] = field(default=(), compare=False)

    @classmethod
    def of(cls, row: int, column: str, value: str, code: str, **params: object) -> "RowError":
        return cls(row, column, value, code, i18n.message(code, **params), tuple(params.items()))

    def text(self, lang: str) -> str:
        """The message in one language ('zh' or 'en'; 'both' as stored), for a page."""
        pair = i18n.MESSAGES.get(self.code)
        if pair is None or lang not in ("zh", "en"):
            return self.message
        try:
            return pair[1 if lang == "en" else 0].format(**dict(self.params))
        except (KeyError, IndexError, ValueError):
            return self.message


def chunked(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


Parse = Callable[[int, dict, list[RowError]], object]  # (row number, cells, errors) -> parsed row or None


@dataclass
class ParsedChunk:
    rows_read: int
    parsed: list
    errors: list[RowError]


def parse_table(table, parse: Parse) -> Iterator[ParsedChunk]:  # noqa: ANN001
    """Every row of an opened table through ``parse``, chunk by chunk (in whichever process)."""
    for chunk in chunked(table.rows()):
        errors: list[RowError] = []
        parsed = [r for r in (parse(n, cells, errors) for n, cells in chunk) if r is not None]
        yield ParsedChunk(len(chunk), parsed, errors)
