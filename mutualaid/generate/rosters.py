"""The enrollment rosters: one file per plan year (the calendar year of ``start_date``).

A clerk would send one roster per unit; one file per year, both products and every unit,
keeps the import count small and each file is still a valid roster. Written by forked
children (``processes.Background``) while the claims and the ledger are written.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mutualaid.generate.days import years_of
from mutualaid.generate.people import PRODUCTS, World
from mutualaid.generate.writing import ROSTER_COLUMNS, date_texts, fen_texts, formatted, write_csv


def roster_years(w: World) -> list[int]:
    return sorted(set((years_of(w.e_start)).tolist()))


def write_roster(w: World, y: int, path: Path) -> None:
    """The enrollments starting in year ``y``, by unit code, product and member."""
    year = years_of(w.e_start)
    idx = np.flatnonzero(year == y)
    person = w.e_person[idx]
    idx = idx[np.lexsort((person, w.e_product[idx], w.unit[person]))]
    person = w.e_person[idx]
    u = w.unit[person]
    write_csv(path, ROSTER_COLUMNS, {
        "unit_code": w.unit_code[u], "unit_name": w.unit_name[u],
        "member_id_number": w.id_number[person], "member_name": w.name[person],
        "product": np.asarray(PRODUCTS, dtype=object)[w.e_product[idx]], "units": formatted(w.e_units[idx], str),
        "start_date": date_texts(w.e_start[idx]), "end_date": date_texts(w.e_end[idx]),
        "premium_paid": fen_texts(w.e_premium[idx]), "bank_account": w.bank[person],
    })
