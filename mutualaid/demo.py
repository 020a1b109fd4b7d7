"""`mutualaid demo`: a realistic year, processed the way the federation works month by month.

Generate the tongliao scale, import the rosters, submit each month's claims and
adjudicate them at the month's end, let a demo auditor decide a few reviews, import the
fund ledger, reconcile every month, and print the year's figures beside the reference.
"""
from __future__ import annotations

import datetime as dt
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from mutualaid.dates import month_bounds
from mutualaid.store.db import Database
from mutualaid.store.models import Claim

REFERENCE = {"hosp_members": 135_500, "women_members": 54_000, "claims_paid": 7_748, "payout_yuan": 11_430_000}
DEMO_AUDITOR = "demo-auditor"


@dataclass
class DemoResult:
    db_url: str
    out_dir: Path
    figures: dict = field(default_factory=dict)
    months: list[str] = field(default_factory=list)
    recon: dict[str, dict] = field(default_factory=dict)
    reviews: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def month_of(path: Path) -> str:
    """claims_2025-03.csv -> '2025-03'."""
    return path.stem.rsplit("_", 1)[-1]


def run_demo(out_dir: Path, *, scale: str | int = "tongliao", seed: int = 2025, say=print,  # noqa: ANN001
             progress=None) -> DemoResult:  # noqa: ANN001
    """The data work of the demo; returns what to print. ``progress(label, done, total)``."""
    from batch.adjudicate import run as adjudicate
    from batch.reconcile import run as reconcile
    from mutualaid.claims.intake import submit_batch
    from mutualaid.claims.review import review
    from mutualaid.enrollments import import_roster
    from mutualaid.generate import generate
    from mutualaid.ledger.importer import import_ledger
    from mutualaid.ledger.reconcile import late_unpaid
    from mutualaid.settlements.service import import_settlements

    started = time.perf_counter()
    tick = progress or (lambda *_: None)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    db_url = f"sqlite:///{out_dir / 'demo.db'}"
    db = Database(db_url)
    result = DemoResult(db_url, out_dir)

    say("generating the tongliao-scale year 生成演示数据…")
    data = generate(scale, seed, out_dir / "files", settlements=True)
    result.figures = dict(data.figures)
    extracts = {month_of(p): p for p in data.settlements}
    batches = {month_of(p): p for p in data.claim_batches}
    steps = len(data.rosters) + len(extracts) + len(batches) + len(extracts.keys() | batches.keys()) + 1
    done = 0
    for roster in data.rosters:
        rep = import_roster(db, roster, user="demo-clerk")
        done += 1
        tick("rosters 名册", done, steps)
        if rep.errors:
            say(f"  {roster.name}: {rep.error_rows} roster rows refused (see the web UI)")
    for month in sorted(extracts.keys() | batches.keys()):
        if month in extracts:  # the month's medical-insurance extract first, then the clerks' batches
            import_settlements(db, extracts[month], user="demo-office", as_of=month_bounds(month)[1])
            done += 1
            tick(f"settlements {month}", done, steps)
        if month in batches:
            submit_batch(db, batches[month], clerk="demo-clerk")
            done += 1
            tick(f"claims {month}", done, steps)
        adjudicate(db, as_of=month_bounds(month)[1])
        done += 1
        tick(f"adjudicate {month}", done, steps)
        result.months.append(month)
    result.reviews = _demo_reviews(db, review)
    import_ledger(db, data.ledger, user="demo-finance")
    done += 1
    tick("ledger 台账", done, steps)
    for month in result.months:
        run = reconcile(db, month, out_dir / "reconciliation" / month, user="demo-finance")
        result.recon[month] = run.reconciliation.summary | {"late_unpaid": len(late_unpaid(run.reconciliation))}
    result.seconds = time.perf_counter() - started
    return result


def _demo_reviews(db: Database, review) -> list[tuple[str, str]]:  # noqa: ANN001
    """The demo auditor approves the first few pending claims and rejects one."""
    done: list[tuple[str, str]] = []
    with db.sessions() as s:
        pending = s.execute(select(Claim.claim_no, Claim.decided_on).where(Claim.status == "PENDING_REVIEW")
                            .order_by(Claim.decided_on, Claim.claim_no).limit(6)).all()
    for k, (claim_no, decided_on) in enumerate(pending):
        action = "reject" if k == len(pending) - 1 and len(pending) > 2 else "approve"
        reason = "病理报告复核不符 / pathology report does not support the diagnosis" if action == "reject" \
            else "材料齐全，核实无误 / documents complete and verified"
        with db.transaction() as s:
            review(s, claim_no, action, reason=reason, user=DEMO_AUDITOR,
                   as_of=(decided_on or dt.date.today()) + dt.timedelta(days=3))
        done.append((claim_no, action))
    return done


def year_summary(db: Database) -> dict:
    """Claims by status and payouts by product, for the closing printout."""
    with db.sessions() as s:
        by_status = Counter(dict(s.execute(select(Claim.status, func.count()).group_by(Claim.status)).all()))
        payouts = dict(s.execute(select(Claim.product, func.sum(Claim.payout_fen))
                                 .where(Claim.status == "APPROVED").group_by(Claim.product)).all())
        approved = s.execute(select(func.count()).where(Claim.status == "APPROVED", Claim.payout_fen > 0)).scalar()
    return {"by_status": dict(by_status), "payout_fen_by_product": payouts, "approved_with_payout": approved}


def create_demo_users(db: Database) -> list[tuple[str, str, str]]:
    """One user per role with a fresh random password (printed once by the demo)."""
    import secrets

    from mutualaid.store.models import Enrollment, Unit
    from mutualaid.users import create_user

    with db.sessions() as s:
        # the clerk works for the unit with the most enrollments, so their pages have data
        unit = s.execute(select(Unit.code).join(Enrollment, Enrollment.unit_id == Unit.id).group_by(Unit.code)
                         .order_by(func.count().desc()).limit(1)).scalar()
    out = []
    with db.transaction() as s:
        for role, username, units in (("admin", "demo-admin", ()), ("clerk", "demo-clerk", (unit,) if unit else ("TL0001",)),
                                      ("auditor", DEMO_AUDITOR, ()), ("finance", "demo-finance", ())):
            password = secrets.token_urlsafe(9)
            create_user(s, username=username, password=password, role=role, actor="demo", unit_codes=units)
            out.append((role, username, password))
    return out
