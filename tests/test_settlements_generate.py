"""The generated settlement extract: valid rows, stays moved out of the clerks' batches, a ledger
that pays the claims the system will make."""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from mutualaid.generate import generate
from mutualaid.settlements.extract import COLUMNS, SettlementRow, parse_row
from mutualaid.tabular import open_table


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return generate(3000, 11, tmp_path_factory.mktemp("gen"), settlements=True)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_extract_rows_are_valid_and_monthly(gen) -> None:  # noqa: ANN001
    assert gen.settlements and all(p.name.startswith("settlements_") for p in gen.settlements)
    n = 0
    for path in gen.settlements:
        errors: list = []
        with open_table(path, COLUMNS) as table:
            for row_no, cells in table.rows():
                got = parse_row(row_no, cells, errors)
                assert got is not None, errors
                parsed = SettlementRow._make(got)
                assert parsed.settlement_date.isoformat()[:7] == path.stem.removeprefix("settlements_")
                n += 1
    assert n == gen.figures["settlement_rows"]


def test_stays_move_out_of_batches_and_the_ledger_pays_their_claims(gen) -> None:  # noqa: ANN001
    f = gen.figures
    clerk = [r for p in gen.claim_batches for r in _rows(p)]
    extract = [r for p in gen.settlements for r in _rows(p)]
    kinds = Counter(r["visit_type"] for r in extract)
    assert kinds["住院"] > kinds["门诊"] > 0 and kinds["门诊慢特病"] > 0
    assert len(clerk) + f["settlement_stays"] == f["claims"]  # every stay arrives once, one way or the other
    hosp_clerk = sum(r["product"] == "HOSP" for r in clerk)
    assert 0.45 < f["settlement_stays"] / (f["settlement_stays"] + hosp_clerk) < 0.7
    assert f["settlement_overlaps"] >= 1 and f["settlement_differs"] >= 1 and f["settlement_reversals"] >= 1
    reversals = [r for r in extract if r["is_reversal"] == "Y"]
    numbers = {r["settlement_no"] for r in extract}
    assert len(reversals) == f["settlement_reversals"] and all(r["reverses"] in numbers for r in reversals)
    claim_nos = {r["claim_no"] for r in clerk} | {"YB-" + r["settlement_no"] for r in extract}
    ledger = _rows(gen.ledger)
    paid = {r["reference"] for r in ledger if r["entry_type"] == "PAYOUT"}
    assert paid <= claim_nos and any(p.startswith("YB-") for p in paid)
    cancelled = {"YB-" + r["reverses"] for r in reversals}
    assert not paid & cancelled  # a cancelled settlement's claim is withdrawn, never paid
