"""Money: exact decimal yuan, stored and computed as integer fen.

One module so that parsing, rounding and conversion are decided once. The spec
rounds half-up to the fen, once, at the end of a claim's amount.
"""
from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
MAX_FEN = 999_999_999_999  # 9,999,999,999.99 yuan: the largest amount the store takes
ZERO = Decimal("0.00")
_MAX_WHOLE_DIGITS = 16  # generous for MAX_FEN's 10 digits of yuan plus leading zeros

_AMOUNT = re.compile(r"^-?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]{1,2})?$")


class MoneyError(ValueError):
    """A text that is not an amount of yuan with at most two decimals."""


def parse_amount(text: str, *, allow_negative: bool = False) -> Decimal:
    """Parse '1,234.50' into Decimal('1234.50'); reject floats' artefacts and >2 decimals."""
    s = str(text).strip()
    if len(s) > 40 or not _AMOUNT.match(s):
        raise MoneyError(s)
    if s.startswith("-") and not allow_negative:
        raise MoneyError(s)
    value = Decimal(s.replace(",", ""))
    if abs(value) * 100 > MAX_FEN:
        raise MoneyError(s)
    return value.quantize(FEN)


def parse_fen(text: str, *, allow_negative: bool = False) -> int:
    """Parse an amount straight to integer fen (the import hot path); same rules as parse_amount."""
    s = text.strip()
    whole, dot, frac = s.partition(".")
    neg = whole.startswith("-")
    if neg:
        if not allow_negative:
            raise MoneyError(s)
        whole = whole[1:]
    if "," in whole:
        groups = whole.split(",")
        if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
            raise MoneyError(s)
        whole = "".join(groups)
    if len(whole) > _MAX_WHOLE_DIGITS:  # also keeps int() below Python's int-string limit
        raise MoneyError(s[:20] + "…")
    if not (whole.isascii() and whole.isdigit()) or (dot and not (1 <= len(frac) <= 2 and frac.isascii() and frac.isdigit())):
        raise MoneyError(s)
    fen = int(whole) * 100 + (int(frac.ljust(2, "0")) if dot else 0)
    if fen > MAX_FEN:
        raise MoneyError(s)
    return -fen if neg else fen


def round_fen(value: Decimal) -> Decimal:
    """Round half-up to 0.01 yuan."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def to_fen(value: Decimal) -> int:
    """Exact yuan -> integer fen; refuses a value with fractions of a fen."""
    fen = value * 100
    if fen != fen.to_integral_value():
        raise MoneyError(f"{value} has fractions of a fen")
    return int(fen)


def fen_ceiling(value: Decimal) -> int:
    """Whole fen at or above an exact amount: for facts that only ask 'is it above zero?'."""
    return int((value * 100).to_integral_value(rounding=ROUND_CEILING))


def from_fen(fen: int) -> Decimal:
    return Decimal(int(fen)).scaleb(-2)  # exact, two decimals: 150 -> 1.50, 0 -> 0.00


def fmt(value: Decimal | int | None, *, fen: bool = False) -> str:
    """Two-decimal text as used in every export ('1234.50', never '1.2345E+3')."""
    if value is None:
        return ""
    if fen:
        value = int(value)
        sign, whole = ("-" if value < 0 else ""), abs(value)
        return f"{sign}{whole // 100}.{whole % 100:02d}"
    return f"{Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP):.2f}"


def grouped(fen: int) -> str:
    """Two decimals with thousands separators, for messages people read: '244,900.00'."""
    sign, whole = ("-" if fen < 0 else ""), abs(int(fen))
    return f"{sign}{whole // 100:,}.{whole % 100:02d}"


def as_decimal(value: object) -> Decimal:
    """Coerce an exact value (Decimal, int, str) to Decimal; floats are refused."""
    if isinstance(value, float):
        raise TypeError("money must never be a float")
    try:
        return Decimal(value)  # type: ignore[arg-type]
    except InvalidOperation as exc:
        raise MoneyError(str(value)) from exc
