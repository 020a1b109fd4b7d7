"""A generated year: judged again under its own policy file it gives the same decisions,
claim by claim; the demo year's report matches the demo's own totals."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

import batch.adjudicate as job
from mutualaid.claims.intake import submit_batch
from mutualaid.dates import month_bounds
from mutualaid.demo import run_demo
from mutualaid.enrollments import import_roster
from mutualaid.generate import generate
from mutualaid.ledger.importer import import_ledger
from mutualaid.policy.loader import DATA_DIR
from mutualaid.policy_office.simulate import DECIDED, simulate_rows
from mutualaid.policy_office.year_report import build_year_report
from mutualaid.settlements.service import import_settlements
from mutualaid.store.db import Database
from mutualaid.store.models import Claim, Decision

SIZE, SEED = 3_000, 11


@pytest.fixture(scope="module")
def generated_year(tmp_path_factory: pytest.TempPathFactory) -> Database:
    data = generate(SIZE, SEED, tmp_path_factory.mktemp("gen"), settlements=True)
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('year') / 'year.db'}")
    for roster in data.rosters:
        import_roster(db, roster)
    import_ledger(db, data.ledger)
    extracts = {p.stem.removeprefix("settlements_"): p for p in data.settlements}
    batches = {p.stem.removeprefix("claims_"): p for p in data.claim_batches}
    for month in sorted(extracts.keys() | batches.keys()):  # as the demo: the extract, the batch, the run
        if month in extracts:
            import_settlements(db, extracts[month], as_of=month_bounds(month)[1])
        if month in batches:
            submit_batch(db, batches[month])
        job.run(db, as_of=month_bounds(month)[1])
    yield db
    db.dispose()


def test_own_policy_redecides_the_year_claim_by_claim_identically(generated_year):
    """Every 2025 event is covered by an enrollment of version 2025 (the generated world starts
    in 2025), so judging the year "as if under 2025.yaml" must reproduce each decision."""
    year = 2025
    text = (DATA_DIR / f"{year}.yaml").read_text(encoding="utf-8")
    rows = simulate_rows(generated_year.url, year, text, f"{year}.yaml", workers=2)
    with generated_year.sessions() as s:
        auto = {no: (st, pay, codes) for no, st, pay, codes in s.execute(
            select(Claim.claim_no, Decision.status, Decision.payout_fen, Decision.reason_codes)
            .join(Decision, Decision.claim_id == Claim.id).where(Decision.kind == "AUTO"))}
        in_year = s.execute(select(Claim.claim_no).where(Claim.event_date.between(f"{year}-01-01", f"{year}-12-31"),
                                                         Claim.status.in_(DECIDED))).scalars().all()
    assert sorted(r[2] for r in rows) == sorted(in_year)
    assert len(rows) > 100
    products = set()
    for (_, product, claim_no, status, payout, codes, days, d_status, d_payout, d_codes, d_days) in rows:
        products.add(product)
        assert (d_status, d_payout, d_codes, d_days) == (status, payout, codes, days), claim_no
        assert (d_status, d_payout, d_codes) == auto[claim_no], claim_no
    assert products == {"HOSP", "WOMEN"}
    assert {r[3] for r in rows} == {"APPROVED", "PENDING_REVIEW", "REJECTED"}


def test_demo_year_report_matches_the_demos_own_totals(tmp_path: Path):
    demo = run_demo(tmp_path / "demo", scale=800, say=lambda *a: None)
    f = demo.figures
    r = build_year_report(Database(demo.db_url), 2025)
    o = r["overview"]
    assert (o["hosp_members"], o["women_members"], o["employers"]) == (f["hosp_members"], f["women_members"], f["units"])
    # the demo's own year, as stored: clerks' claims and those made from settlement data
    from sqlalchemy import func, select

    from mutualaid.store.models import Claim
    in_2025 = Claim.event_date.between(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    with Database(demo.db_url).sessions() as s:
        received = s.execute(select(func.count()).where(in_2025)).scalar()
        paid, amount = s.execute(select(func.count(), func.coalesce(func.sum(Claim.payout_fen), 0)).where(
            in_2025, Claim.status == "APPROVED", Claim.payout_fen > 0)).one()
    assert received >= f["claims_2025"]  # the generator's clerk-filed claims, plus settlement claims
    assert (o["received"], o["claims_paid"]) == (received, paid)
    assert o["amount_approved"] == f"{amount // 100}.{amount % 100:02d}"
    # claims made from the settlement extract and then withdrawn (its reversals) are not the generator's
    assert o["received"] - o["withdrawn"] == f["claims_2025"]
    assert r["fund"]["closing"] == demo.recon["2025-12"]["roll_forward"]["closing"]
    # the 2027 example draft on the demo year: the actual side is the demo's own year
    from mutualaid.money import fmt
    from mutualaid.policy.loader import DRAFTS_DIR
    from mutualaid.policy_office.service import simulate
    w = simulate(Database(demo.db_url), year=2025, draft_text=(DRAFTS_DIR / "2027.yaml").read_text(encoding="utf-8"),
                 draft_name="2027.yaml", workers=1)
    actual = w.comparison["HOSP"].actual.total_fen + w.comparison["WOMEN"].actual.total_fen
    assert fmt(actual, fen=True) == o["amount_approved"]
    assert sum(pc.actual.claims for pc in w.comparison.values()) == o["approved"] + o["pending_review"] + o["rejected"]
    assert w.summary["rule_messages"]["V06"]["en"] == "daily in-policy self-pay above 3,000.00"
