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

from mutualaid.claims.status import APPROVED, PENDING_REVIEW
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
    payments: dict = field(default_factory=dict)
    seconds: float = 0.0


def month_of(path: Path) -> str:
    """claims_2025-03.csv -> '2025-03'."""
    return path.stem.rsplit("_", 1)[-1]


def run_demo(out_dir: Path, *, scale: str | int = "tongliao", seed: int = 2025, say=print,  # noqa: ANN001
             progress=None) -> DemoResult:  # noqa: ANN001
    """The data work of the demo; returns what to print.

    ``progress(label, done, total)`` is called as each step starts (``total`` 0 while the
    data are generated, the number of steps after).
    """
    from mutualaid.private import make_private, private_files

    with private_files():  # the database and the generated files hold personal data: 0600 / 0700
        result = _run_demo(out_dir, scale=scale, seed=seed, say=say, progress=progress)
    make_private(out_dir, recursive=True)
    return result


def _run_demo(out_dir: Path, *, scale: str | int, seed: int, say, progress) -> DemoResult:  # noqa: ANN001
    from batch.adjudicate import run as adjudicate
    from mutualaid.ledger.service import run as reconcile
    from mutualaid.claims.intake import submit_batch
    from mutualaid.claims.review import review
    from mutualaid.enrollments import import_roster
    from mutualaid.generate import generate
    from mutualaid.ledger.importer import import_ledger
    from mutualaid.ledger.reconcile import late_unpaid
    from mutualaid.policy import policy_in_force
    from mutualaid.settlements.service import import_settlements

    started = time.perf_counter()
    tick = progress or (lambda *_: None)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, mode=0o700)
    db_url = f"sqlite:///{out_dir / 'demo.db'}"
    db = Database(db_url)
    result = DemoResult(db_url, out_dir)

    tick("生成演示数据（参保名册、理赔申请、医保结算数据、基金台账）", 0, 0)
    data = generate(scale, seed, out_dir / "files", settlements=True)
    result.figures = dict(data.figures)
    extracts = {month_of(p): p for p in data.settlements}
    batches = {month_of(p): p for p in data.claim_batches}
    months = sorted(extracts.keys() | batches.keys())
    steps = len(data.rosters) + len(extracts) + len(batches) + 2 * len(months) + 1
    done = 0
    for roster in data.rosters:
        tick(f"导入参保名册 {roster.name}", done, steps)
        rep = import_roster(db, roster, user="demo-clerk")
        done += 1
        if rep.errors:
            say(f"  {roster.name}：{rep.error_rows:,} 行名册被拒绝（原因见网页“参保名册”）")
    for month in months:
        if month in extracts:  # the month's medical-insurance extract first, then the clerks' batches
            tick(f"{month} 导入医保结算数据（免申即享）", done, steps)
            import_settlements(db, extracts[month], user="demo-office", as_of=month_bounds(month)[1])
            done += 1
        if month in batches:
            tick(f"{month} 导入理赔申请", done, steps)
            submit_batch(db, batches[month], clerk="demo-clerk", as_of=month_bounds(month)[1])
            done += 1
        tick(f"{month} 月底自动审核", done, steps)
        adjudicate(db, as_of=month_bounds(month)[1])
        done += 1
        result.months.append(month)
    tick("审核员复核几件待复核理赔，导入基金台账", done, steps)
    result.reviews = _demo_reviews(db, review)
    # payouts come from the monthly payment runs (批量代发), not from the generated ledger
    from mutualaid.payments.demo import Payments, ledger_without_payouts

    import_ledger(db, ledger_without_payouts(data.ledger, out_dir / "files" / "ledger_fund_lines.csv"),
                  user="demo-finance")
    done += 1
    payments = Payments(db, out_dir / "payments")
    for month in result.months:
        tick(f"{month} 批量代发、对账", done, steps)
        payments.month(month_bounds(month)[1])
        run = reconcile(db, month, out_dir / "reconciliation" / month, user="demo-finance")
        promise = policy_in_force(run.reconciliation.last_day).service_promise_working_days
        result.recon[month] = run.reconciliation.summary | {"late_unpaid": len(late_unpaid(run.reconciliation, promise)),
                                                            "payment_states": _payment_states(run.files)}
        payments.fix_accounts()
        done += 1
    result.payments = {"runs": len(payments.runs), "bank_failures": payments.failures,
                       "accounts_supplied": payments.accounts_supplied}
    tick("完成", done, steps)
    result.seconds = time.perf_counter() - started
    return result


def _payment_states(files: list[Path]) -> dict[str, int]:
    """UNPAID items of a month's items.csv by payment state (sent to the bank, failed…)."""
    import csv

    from mutualaid.ledger.reconcile import UNPAID
    items = next((p for p in files if p.name == "items.csv"), None)
    if items is None:
        return {}
    with open(items, encoding="utf-8-sig", newline="") as fh:
        return dict(Counter(r["payment_state"] for r in csv.DictReader(fh) if r["status"] == UNPAID))


def _demo_reviews(db: Database, review) -> list[tuple[str, str]]:  # noqa: ANN001
    """The demo auditor approves the first few pending claims and rejects one."""
    done: list[tuple[str, str]] = []
    with db.sessions() as s:
        pending = s.execute(select(Claim.claim_no, Claim.decided_on).where(Claim.status == PENDING_REVIEW)
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
                                 .where(Claim.status == APPROVED).group_by(Claim.product)).all())
        by_status_fen = {status: int(fen or 0) for status, fen in s.execute(
            select(Claim.status, func.sum(Claim.payout_fen)).group_by(Claim.status)).all()}
        approved = s.execute(select(func.count()).where(Claim.status == APPROVED, Claim.payout_fen > 0)).scalar()
    return {"by_status": dict(by_status), "payout_fen_by_product": payouts, "approved_with_payout": approved,
            "payout_fen_by_status": by_status_fen}


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
                                      ("auditor", DEMO_AUDITOR, ()), ("finance", "demo-finance", ()),
                                      ("finance", "demo-finance2", ())):
            password = secrets.token_urlsafe(12)  # 16 characters, never a common password
            create_user(s, username=username, password=password, role=role, actor="demo", unit_codes=units)
            out.append((role, username, password))
    return out
