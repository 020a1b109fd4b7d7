"""The generated files' formats (files.md) and the plain CSV writer behind all of them.

English headers exactly as files.md, UTF-8 without BOM, ``\\n`` line ends; amounts are
integer fen written as exact two-decimal strings. The writer joins columns in blocks of
rows at C speed and does no quoting: instead it checks that no field would need it (the
word lists never hold a comma, a quote or a line break).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mutualaid.generate.days import date_of

ROSTER_COLUMNS = (
    "unit_code", "unit_name", "member_id_number", "member_name", "product", "units",
    "start_date", "end_date", "premium_paid", "bank_account",
)
CLAIM_COLUMNS = (
    "claim_no", "product", "member_id_number", "member_name", "submitted_date",
    "admission_date", "discharge_date", "hospital_name", "diagnosis_code", "cause",
    "total_cost", "insurance_paid", "in_policy_self_pay", "out_of_policy_self_pay",
    "diagnosis_date", "pathology_confirmed", "surgery",
)
LEDGER_COLUMNS = ("entry_date", "voucher_no", "entry_type", "product", "amount", "reference", "memo")

BLOCK_ROWS = 100_000


def formatted(values: np.ndarray, fmt) -> np.ndarray:  # noqa: ANN001
    """Format each distinct value once (dates, premiums and units repeat a lot)."""
    distinct, inverse = np.unique(np.asarray(values, dtype=np.int64), return_inverse=True)
    return np.asarray([fmt(int(v)) for v in distinct], dtype=object)[inverse]


def date_texts(days: np.ndarray) -> np.ndarray:
    return formatted(days, lambda d: date_of(d).isoformat())


def fen_texts(fen: np.ndarray) -> np.ndarray:
    return formatted(fen, fen_text)


def fen_text(v: int) -> str:
    return f"{v // 100}.{v % 100:02d}"


def write_csv(path: Path, columns: tuple[str, ...], data: dict[str, np.ndarray | list]) -> None:
    write_rows(path, columns, [data[c] for c in columns])


def write_rows(path: Path, columns: tuple[str, ...], cols: list[np.ndarray | list]) -> None:
    """Plain CSV writer, in blocks of rows; ``cols`` are the columns, or pieces of rows that
    already hold several fields joined by ','. No field may need quoting (no ',', '"' or line
    break): checked on the text at C speed — every row must hold exactly len(columns) - 1 commas."""
    n = len(cols[0])
    if any(len(col) != n for col in cols):
        raise AssertionError(f"{path.name}: columns of different lengths")
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(columns) + "\n")
        for i in range(0, n, BLOCK_ROWS):
            part = [col[i:i + BLOCK_ROWS].tolist() if isinstance(col, np.ndarray) else list(col[i:i + BLOCK_ROWS])
                    for col in cols]
            k = len(part[0])
            text = "\n".join(map(",".join, zip(*part))) + "\n"
            if text.count(",") != k * (len(columns) - 1) or text.count("\n") != k or '"' in text or "\r" in text:
                raise AssertionError(f"{path.name}: a field would need CSV quoting")
            out.write(text)
