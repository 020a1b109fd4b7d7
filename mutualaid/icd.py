"""ICD-10 diagnosis codes as hospitals write them, and how policy ranges read them.

Accepted: the WHO form (``C50``, ``C50.9``, ``D07.10``) and the Chinese national clinical
edition (``C50.900``, ``C50.900x001``, ``D25.900``). A code is classified by its letter,
its category number and the *first* digit after the dot (policy.md §3): ``D07.10`` and
``D07.100x001`` are both a ``D07.1``; further digits only refine it.
"""
from __future__ import annotations

import re
from typing import NamedTuple

# letter, two-digit category, optional dot + 1–4 digits, optional national-edition extension (x001)
PATTERN = re.compile(r"^([A-Z])(\d{2})(?:\.(\d{1,4})(?:X\d{2,4})?)?$")


class CodeKey(NamedTuple):
    letter: str
    category: int
    sub: int  # first digit after the dot; -1 when the code is a bare category


def normalise(code: str) -> str:
    """Upper case, no surrounding spaces: ``c50.900x001`` -> ``C50.900X001``."""
    return code.strip().upper()


def is_valid(code: str) -> bool:
    return PATTERN.match(code) is not None


def key(code: str) -> CodeKey:
    m = PATTERN.match(normalise(code))
    if not m:
        raise ValueError(f"not an ICD-10 code: {code}")
    digits = m.group(3)
    return CodeKey(m.group(1), int(m.group(2)), int(digits[0]) if digits else -1)
