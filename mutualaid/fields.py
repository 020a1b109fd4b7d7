"""Cell validators shared by every import: one place that turns a user's cell into a value.

Each raises ``FieldError(code, **params)``; the code is a key of ``mutualaid.i18n.MESSAGES``
so the clerk reads a sentence, in Chinese and English, naming what is wrong.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import lru_cache

from mutualaid import icd, idnumber, money
from mutualaid.dates import parse_date
from mutualaid.tabular import Cell


class FieldError(ValueError):
    def __init__(self, code: str, **params: object):
        super().__init__(code)
        self.code = code
        self.params = params


EMPTY_CELL = Cell("", "empty")
PRODUCTS = {"HOSP": "HOSP", "WOMEN": "WOMEN", "住院医疗互助": "HOSP", "女性安康互助": "WOMEN"}
CAUSES = {
    "illness": "illness", "accident": "accident", "work_injury": "work_injury",
    "third_party": "third_party", "maternity": "maternity", "cosmetic": "cosmetic",
    "self_harm": "self_harm", "疾病": "illness", "意外": "accident", "工伤": "work_injury",
    "第三方责任": "third_party", "生育": "maternity", "美容": "cosmetic", "自伤": "self_harm",
}
SURGERIES = {"none", "excision", "hysterectomy", "oophorectomy", "hysterectomy_bso"}
YES_NO = {"Y": True, "N": False, "是": True, "否": False, "y": True, "n": False}
ICD10 = icd.PATTERN  # WHO and national clinical edition forms (mutualaid.icd)
# ASCII digits only: ``\d`` alone would take full-width and other scripts' digits (files.md: digits)
_BANK = re.compile(r"^[0-9]{12,19}$")
#: claim numbers: letters, digits and - _ / . (no formula starts, no spaces), up to 40 characters
CLAIM_NO_MAX = 40
CLAIM_NO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_/.\-]{0,%d}" % (CLAIM_NO_MAX - 1))  # use .fullmatch
# C0 control characters (tab, line feed and carriage return allowed): never part of a name,
# and PostgreSQL refuses NUL in text, which would fail the whole file instead of one row
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _plain(cell: Cell) -> str:
    if cell.kind == "formula":
        raise FieldError("formula_cell")
    return cell.text


def text(cell: Cell, *, required: bool = True, max_length: int | None = None) -> str | None:
    """Free text; ``max_length``: the store's column width (a longer value is a row error,
    not a database error that would refuse the whole file)."""
    s = _plain(cell)
    if not s:
        if required:
            raise FieldError("required")
        return None
    if CONTROL_CHARS.search(s):
        raise FieldError("control_characters")
    if max_length is not None and len(s) > max_length:
        raise FieldError("too_long", max=max_length)
    return s


def claim_no(cell: Cell, *, max_length: int) -> str:
    """A claim number: :func:`text`, then the character set of :data:`CLAIM_NO`."""
    s = text(cell, max_length=max_length)
    if not CLAIM_NO.fullmatch(s):  # type: ignore[arg-type]
        raise FieldError("bad_claim_no", max=CLAIM_NO_MAX)
    return s  # type: ignore[return-value]


def fits(s: str, max_length: int) -> bool:
    """What :func:`text` accepts, for the import fast paths: short enough, no control characters."""
    return len(s) <= max_length and not CONTROL_CHARS.search(s)


@lru_cache(maxsize=8192)
def _date(s: str) -> dt.date:
    try:
        return parse_date(s)
    except ValueError:
        raise FieldError("bad_date") from None


def date(cell: Cell, *, required: bool = True) -> dt.date | None:
    s = _plain(cell)
    if not s:
        if required:
            raise FieldError("required")
        return None
    if cell.kind == "number":
        raise FieldError("bad_date")
    return _date(s[:10] if cell.kind == "date" else s)


def amount_fen(cell: Cell, *, required: bool = True, signed: bool = False) -> int | None:
    s = _plain(cell)
    if not s:
        if required:
            raise FieldError("required")
        return None
    try:
        return money.parse_fen(s, allow_negative=signed)
    except money.MoneyError:
        raise FieldError("bad_signed_amount" if signed else "bad_amount") from None


def id_number(cell: Cell) -> idnumber.IdNumber:
    if cell.kind == "number":
        raise FieldError("id_numeric_cell")
    s = _plain(cell)
    if not s:
        raise FieldError("required")
    try:
        return _id(s)
    except idnumber.IdNumberError as exc:
        raise FieldError("id_" + exc.code) from None


@lru_cache(maxsize=65536)
def _id(s: str) -> idnumber.IdNumber:
    return idnumber.parse(s)


def choice(cell: Cell, table: dict[str, str] | set[str] | frozenset[str], code: str, *, required: bool = True,
           default: str | None = None) -> str | None:
    s = _plain(cell)
    if not s:
        if required:
            raise FieldError("required")
        return default
    if isinstance(table, (set, frozenset)):
        if s not in table:
            raise FieldError(code)
        return s
    value = table.get(s) or table.get(s.upper()) or table.get(s.lower())
    if value is None:
        raise FieldError(code)
    return value


def product(cell: Cell) -> str:
    return choice(cell, PRODUCTS, "bad_product")  # type: ignore[return-value]


def yes_no(cell: Cell) -> bool | None:
    s = _plain(cell)
    if not s:
        return None
    if s not in YES_NO:
        raise FieldError("bad_yes_no")
    return YES_NO[s]


def icd10(cell: Cell, *, required: bool) -> str | None:
    s = _plain(cell).upper()
    if not s:
        if required:
            raise FieldError("required")
        return None
    if not ICD10.match(s):
        raise FieldError("bad_icd10")
    return s


def bank_account(cell: Cell) -> str | None:
    s = _plain(cell).replace(" ", "")
    if not s:
        return None
    if not _BANK.match(s):
        raise FieldError("bad_bank_account")
    return s


def whole_number(cell: Cell) -> int:
    s = _plain(cell)
    if not s:
        raise FieldError("required")
    if s.endswith(".0"):
        s = s[:-2]
    if not s.isdigit():
        raise ValueError(s)
    return int(s)


def amount_text(fen: int | None) -> str:
    return "" if fen is None else money.fmt(fen, fen=True)


__all__ = ["FieldError", "Decimal"]
