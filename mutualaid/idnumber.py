"""Resident ID numbers (GB 11643-1999): check character, birth date, sex, masking."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from operator import mul as _mul

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ZERO_OFFSET = 48 * sum(_WEIGHTS)
# Births before this year can never be in the future, so only the rare recent birth pays for
# asking the clock (date.today() was ~15 % of an ID check on a region-scale import).
_YEAR_AT_START = dt.date.today().year


class IdNumberError(ValueError):
    """Carries a short machine code in .code: 'length', 'chars', 'checksum', 'birth_date',
    'future_birth_date'."""

    def __init__(self, code: str, value: str):
        super().__init__(f"{code}: {value}")
        self.code = code
        self.value = value


@dataclass(frozen=True, slots=True)
class IdNumber:
    value: str
    birth_date: dt.date
    sex: str  # "M" or "F"

    @property
    def region(self) -> str:
        return self.value[:6]


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits."""
    # bytes of ASCII digits are their code points: subtract 48 per digit once, after the sum
    total = sum(map(_mul, first17.encode("ascii"), _WEIGHTS)) - _ZERO_OFFSET
    return _CHECK[total % 11]


def normalize(text: str) -> str:
    return str(text).strip().upper()


def parse(text: str) -> IdNumber:
    """Validate and decode; a lower-case 'x' is accepted and stored as 'X'."""
    s = normalize(text)
    if len(s) != 18:
        raise IdNumberError("length", s)
    if not s[:17].isdigit() or not s[:17].isascii() or not (s[17].isdigit() or s[17] == "X"):
        raise IdNumberError("chars", s)
    try:
        birth = dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        raise IdNumberError("birth_date", s) from None
    if birth.year < 1900:
        raise IdNumberError("birth_date", s)
    if birth.year >= _YEAR_AT_START and birth > dt.date.today():
        raise IdNumberError("future_birth_date", s)
    if check_char(s[:17]) != s[17]:
        raise IdNumberError("checksum", s)
    return IdNumber(s, birth, "M" if int(s[16]) % 2 else "F")


def make(region: str, birth: dt.date, sequence: int, sex: str) -> str:
    """Build a valid number (for generators and tests): sequence 0..499 per sex."""
    seq = sequence % 500 * 2 + (1 if sex == "M" else 0)
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)


def age_on(birth: dt.date, on: dt.date) -> int:
    """Full years completed since the birth date."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def mask(value: str | None) -> str:
    """Keep the first 6 and last 4 characters, the rest '*' (files.md, decision export)."""
    if not value:
        return ""
    s = str(value)
    if len(s) <= 10:
        return "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


def mask_account(value: str | None) -> str:
    """Bank accounts: only the last 4 digits shown."""
    if not value:
        return ""
    s = str(value)
    return "*" * max(len(s) - 4, 0) + s[-4:]
