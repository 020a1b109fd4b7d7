"""The generator's estimate is what the system decides: import the generated files into a
fresh store the way the demo does (rosters; then month by month the settlement extract,
the clerks' batch and the batch run at the month's end) and compare the stored year with
the generated figures — counts by status and the amounts, to the fen — and every payout
the generated ledger makes with the stored decision of its claim."""
from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

import batch.adjudicate as job
from mutualaid.claims.intake import submit_batch
from mutualaid.claims.status import APPROVED, DECIDED, PENDING_REVIEW, WITHDRAWN
from mutualaid.dates import month_bounds
from mutualaid.enrollments import import_roster
from mutualaid.generate import GeneratedSet, generate
from mutualaid.money import from_fen
from mutualaid.settlements.service import import_settlements
from mutualaid.store.db import Database
from mutualaid.store.models import Claim

# 40,000 HOSP members: big enough for a catastrophic stay (the annual cap, A02), duplicates,
# late filings, renewals into 2026 and all the WOMEN categories; small enough for seconds
CASES = {"clerks_only": (40_000, 5, False), "with_settlements": (12_000, 11, True)}


def _stored_year(data: GeneratedSet, url: str) -> Database:
    """The generated files imported and decided as the demo does (mutualaid.demo)."""
    db = Database(url)
    for roster in data.rosters:
        assert import_roster(db, roster).error_rows == 0, roster.name
    extracts = {p.stem.removeprefix("settlements_"): p for p in data.settlements}
    batches = {p.stem.removeprefix("claims_"): p for p in data.claim_batches}
    for month in sorted(extracts.keys() | batches.keys()):
        month_end = month_bounds(month)[1]
        if month in extracts:
            assert import_settlements(db, extracts[month], as_of=month_end).report.error_rows == 0, month
        if month in batches:  # no generated claim row is a row error: each one is stored and decided
            assert submit_batch(db, batches[month]).error_rows == 0, month
        job.run(db, as_of=month_end)
    return db


@pytest.fixture(scope="module", params=sorted(CASES))
def year(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    size, seed, settlements = CASES[request.param]
    data = generate(size, seed, tmp_path_factory.mktemp("gen"), settlements=settlements)
    db = _stored_year(data, f"sqlite:///{tmp_path_factory.mktemp('store') / 'year.db'}")
    yield data, db
    db.dispose()


def test_estimated_figures_are_the_stored_decisions(year) -> None:  # noqa: ANN001
    data, db = year
    f = data.figures
    with db.sessions() as s:
        by_status = dict(s.execute(select(Claim.status, func.count()).group_by(Claim.status)).all())
        fen = {status: int(total or 0) for status, total in s.execute(
            select(Claim.status, func.sum(Claim.payout_fen)).group_by(Claim.status)).all()}
        paid = s.execute(select(func.count()).where(Claim.status == APPROVED, Claim.payout_fen > 0)).scalar()
    # nothing left undecided; the withdrawn claims are the settlement claims a clerk's claim
    # (or the settlement's cancellation) replaced: not the generator's claims
    assert set(by_status) <= {*DECIDED, WITHDRAWN}
    assert f["estimated_status"] == {s: by_status.get(s, 0) for s in DECIDED}
    assert f["estimated_approved"] == f["payout_yuan"] == from_fen(fen.get(APPROVED, 0))
    assert f["estimated_pending"] == from_fen(fen.get(PENDING_REVIEW, 0))
    assert f["claims_paid"] == paid
    assert isinstance(f["estimated_approved"], Decimal)
    assert f["estimated_status"][APPROVED] > 100 and f["estimated_status"][PENDING_REVIEW] > 0


def test_every_ledger_payout_is_a_stored_approval_of_that_amount(year) -> None:  # noqa: ANN001
    data, db = year
    with data.ledger.open(encoding="utf-8", newline="") as fh:
        payouts = {r["reference"]: r["amount"] for r in csv.DictReader(fh) if r["entry_type"] == "PAYOUT"}
    with db.sessions() as s:
        stored = {no: (status, fen) for no, status, fen in s.execute(
            select(Claim.claim_no, Claim.status, Claim.payout_fen).where(Claim.claim_no.in_(list(payouts))))}
    assert len(payouts) > 100 and stored.keys() == payouts.keys()
    wrong = {no: (stored[no], amount) for no, amount in payouts.items()
             if stored[no] != (APPROVED, int(Decimal(amount) * 100))}
    assert not wrong


def test_reason_codes_of_the_year_cover_the_messiness(year) -> None:  # noqa: ANN001
    """The stored year holds the rules the generator's messiness is meant to trigger."""
    data, db = year
    with db.sessions() as s:
        codes = Counter(c for (text,) in s.execute(select(Claim.reason_codes)) for c in text.split(";") if c)
    messy = data.figures["messy"]
    for kind, code in (("late_filing", "R04"), ("duplicate", "R06"), ("name_typo", "V02"),
                       ("unknown_member", "R01"), ("waiting_period", "R03"), ("excluded_cause", "R05")):
        assert messy[kind] >= 1 and codes[code] >= 1, (kind, code)
