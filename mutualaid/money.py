"""Money: exact decimal yuan, stored and computed as integer fen.

One module so that parsing, rounding and conversion are decided once. The spec
rounds half-up to the fen, once, at the end of a claim's amount.
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
ZERO = Decimal("0.00")

_AMOUNT = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$")


class MoneyError(ValueError):
    """A text that is not an amount of yuan with at most two decimals."""


def parse_amount(text: str, *, allow_negative: bool = False) -> Decimal:
    """Parse '1,234.50' into Decimal('1234.50'); reject floats' artefacts and >2 decimals."""
    s = str(text).strip()
    if not _AMOUNT.match(s):
        raise MoneyError(s)
    value = Decimal(s.replace(",", ""))
    if value < 0 and not allow_negative:
        raise MoneyError(s)
    return value.quantize(FEN)


def round_fen(value: Decimal) -> Decimal:
    """Round half-up to 0.01 yuan."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def to_fen(value: Decimal) -> int:
    """Exact yuan -> integer fen; refuses a value with fractions of a fen."""
    fen = value * 100
    if fen != fen.to_integral_value():
        raise MoneyError(f"{value} has fractions of a fen")
    return int(fen)


def from_fen(fen: int) -> Decimal:
    return (Decimal(int(fen)) / 100).quantize(FEN)


def fmt(value: Decimal | int | None, *, fen: bool = False) -> str:
    """Two-decimal text as used in every export ('1234.50', never '1.2345E+3')."""
    if value is None:
        return ""
    d = from_fen(value) if fen else Decimal(value)
    return f"{d.quantize(FEN):.2f}"


def as_decimal(value: object) -> Decimal:
    """Coerce an exact value (Decimal, int, str) to Decimal; floats are refused."""
    if isinstance(value, float):
        raise TypeError("money must never be a float")
    try:
        return Decimal(value)  # type: ignore[arg-type]
    except InvalidOperation as exc:
        raise MoneyError(str(value)) from exc
