"""What-if: a past year's claims decided again under a draft policy, nothing stored.

Every decided claim whose event date is in the year is judged again as if its
enrollment were under the draft, by the batch's own code
(:func:`mutualaid.claims.adjudication.adjudicate_members`):

* same members, same order: per member the claims are taken in the order they were
  decided (``decision_seq``); claims of other years decided before keep their actual
  outcome and count as earlier claims, as they did;
* an auditor's rejection stays a rejection (it is not judged again);
* the draft is installed only inside worker processes (``spawn``ed, so each has its own
  rules engine and no stored decision can ever be judged by a draft). Each worker loads
  its own range of members from the database, so loading is parallel too.

The result is one compact row per claim (:data:`ROW`), aggregated by
:mod:`mutualaid.policy_office.figures`.
"""
from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

from sqlalchemy import select

from mutualaid.claims.adjudication import REJECTED, ClaimIn, EnrollmentIn, History, MemberCase, MemberIn, Prior, adjudicate_members
from mutualaid.claims.decide import CLAIM_IN_COLUMNS
from mutualaid.claims.status import DECIDED
from mutualaid.gc_tuning import batch_gc
from mutualaid.policy import Policy

ENGINE_USER = "engine"
#: One row per in-year claim: (id_number, product, claim_no,
#:  actual status, payout_fen, codes, allowance_days,  draft status, payout_fen, codes, allowance_days)
ROW = ("id_number", "product", "claim_no", "status", "payout_fen", "codes", "allowance_days",
       "draft_status", "draft_payout_fen", "draft_codes", "draft_allowance_days")


@dataclass(frozen=True, slots=True)
class Actual:
    status: str
    payout_fen: int
    codes: str
    allowance_days: int | None
    category: str | None
    enrollment_id: int | None
    auditor_rejected: bool


@dataclass
class Timeline:
    """One member: records, and every decided claim in the order it was decided."""

    id_number: str
    member: MemberIn | None
    enrollments: list[EnrollmentIn]
    items: list[tuple[ClaimIn, Actual, bool]] = field(default_factory=list)  # (claim, actual, in_year)


def _prior(claim: ClaimIn, a: Actual) -> Prior:
    return Prior(claim_no=claim.claim_no, product=claim.product, enrollment_id=a.enrollment_id,
                 payout_fen=a.payout_fen, admission_date=claim.admission_date, discharge_date=claim.discharge_date,
                 allowance_days=a.allowance_days or 0, category=a.category, diagnosis_date=claim.diagnosis_date)


def redecide(timelines: Sequence[Timeline], version: int | None) -> list[tuple]:
    """Rows (:data:`ROW`) of the in-year claims, decided again in each member's order.

    ``version``: the policy version every enrollment is judged by (the installed draft);
    None keeps each enrollment's own version.
    """
    states = []
    for t in timelines:
        enrollments = t.enrollments if version is None else [
            e if e.policy_version == version else
            EnrollmentIn.from_row(e, policy_version=version) for e in t.enrollments]
        states.append([t, enrollments, History(), 0])
    rows: list[tuple] = []
    while True:
        wave_cases, wave_meta = [], []
        for state in states:
            t, enrollments, history, pos = state
            items = t.items
            while pos < len(items):
                claim, actual, in_year = items[pos]
                if not in_year:
                    if actual.status != REJECTED:
                        history.add(_prior(claim, actual))
                    pos += 1
                    continue
                if actual.auditor_rejected:  # kept as the auditor decided it
                    rows.append((t.id_number, claim.product, claim.claim_no, actual.status, actual.payout_fen,
                                 actual.codes, actual.allowance_days, REJECTED, 0, actual.codes, None))
                    pos += 1
                    continue
                wave_cases.append(MemberCase(t.id_number, t.member, enrollments, history, [claim]))
                wave_meta.append((t.id_number, actual))
                pos += 1
                break
            state[3] = pos
        if not wave_cases:
            return rows
        for (id_number, actual), (claim, o) in zip(wave_meta, adjudicate_members(wave_cases)):
            rows.append((id_number, claim.product, claim.claim_no, actual.status, actual.payout_fen, actual.codes,
                         actual.allowance_days, o.status, o.payout_fen, o.reasons, o.allowance_days))


# ------------------------------------------------------------------ loading from the store
def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def claimant_ids(session, year: int) -> list[str]:  # noqa: ANN001
    """ID numbers with a decided claim whose event date is in the year, sorted."""
    from mutualaid.store.models import Claim
    lo, hi = year_bounds(year)
    return list(session.execute(
        select(Claim.member_id_number).where(Claim.event_date.between(lo, hi), Claim.status.in_(DECIDED))
        .group_by(Claim.member_id_number).order_by(Claim.member_id_number)).scalars())


def load_timelines(session, year: int, lo: str, hi: str) -> list[Timeline]:  # noqa: ANN001
    """Members in [lo, hi] with a decided claim in the year: records and decided claims."""
    from mutualaid.store.bulk import in_values
    from mutualaid.store.models import Claim, Enrollment, Member
    start, end = year_bounds(year)
    conn = session.connection()
    ids = list(conn.execute(
        select(Claim.member_id_number).where(Claim.member_id_number.between(lo, hi), Claim.event_date.between(start, end),
                                             Claim.status.in_(DECIDED)).group_by(Claim.member_id_number)).scalars())
    if not ids:
        return []
    by_id: dict[str, Timeline] = {i: Timeline(i, None, []) for i in ids}
    for m in conn.execute(select(Member.id_number, Member.name, Member.birth_date, Member.sex)
                          .where(in_values(conn, Member.id_number, ids))).all():
        by_id[m.id_number].member = MemberIn(m.id_number, m.name, m.birth_date, m.sex)
    for e in conn.execute(
            select(Member.id_number, Enrollment.id, Enrollment.product, Enrollment.units, Enrollment.start_date,
                   Enrollment.end_date, Enrollment.policy_version)
            .join(Member, Member.id == Enrollment.member_id).where(in_values(conn, Member.id_number, ids))).all():
        by_id[e.id_number].enrollments.append(EnrollmentIn.from_row(e))
    cols = (*CLAIM_IN_COLUMNS, Claim.status, Claim.payout_fen, Claim.reason_codes, Claim.allowance_days,
            Claim.category, Claim.enrollment_id, Claim.decided_by)
    for row in conn.execute(select(*cols).where(in_values(conn, Claim.member_id_number, ids), Claim.status.in_(DECIDED))
                            .order_by(Claim.member_id_number, Claim.decision_seq, Claim.id)).all():
        claim = ClaimIn.from_row(row)
        actual = Actual(row.status, row.payout_fen or 0, row.reason_codes or "", row.allowance_days, row.category,
                        row.enrollment_id, row.status == REJECTED and row.decided_by not in (None, ENGINE_USER))
        by_id[claim.member_id_number].items.append((claim, actual, start <= claim.event_date <= end))
    _with_settlements(conn, by_id.values())
    return [by_id[i] for i in ids]


def _with_settlements(conn, timelines) -> None:  # noqa: ANN001
    """The in-year claims with their medical-insurance settlement figures (V05's input), as
    the batch job loads them (mutualaid.settlements)."""
    from mutualaid.settlements.service import with_settlement_figures
    claims = [c for t in timelines for c, _, in_year in t.items if in_year]
    filled = with_settlement_figures(conn, claims)
    if filled is claims:
        return
    by_id = {c.id: c for c in filled}
    for t in timelines:
        t.items = [(by_id.get(c.id, c) if in_year else c, a, in_year) for c, a, in_year in t.items]


def member_ranges(ids: Sequence[str], parts: int) -> list[tuple[str, str]]:
    if not ids:
        return []
    parts = max(1, min(parts, len(ids)))
    size = -(-len(ids) // parts)
    return [(ids[k], ids[min(k + size, len(ids)) - 1]) for k in range(0, len(ids), size)]


# ------------------------------------------------------------------ worker processes
_worker: dict = {}


def _init_worker(db_url: str, draft_text: str | None, draft_name: str) -> None:
    from mutualaid.policy import install_draft
    from mutualaid.store.db import Database
    _worker["db"] = Database(db_url, migrate_schema=False)
    _worker["version"] = None
    if draft_text is not None:
        draft = parse_draft(draft_text, draft_name)
        install_draft(draft)
        _worker["version"] = draft.version


def _run_range(year: int, lo: str, hi: str) -> list[tuple]:
    db = _worker["db"]
    with batch_gc():  # millions of short-lived objects: collect rarely (mutualaid.gc_tuning)
        with db.sessions() as s:
            timelines = load_timelines(s, year, lo, hi)
        return redecide(timelines, _worker["version"])


def parse_draft(text: str, name: str) -> Policy:
    """A draft's text checked exactly as a policy file (PolicyError naming ``name``)."""
    import tempfile
    from pathlib import Path

    from mutualaid.policy import load_policy_file
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        return load_policy_file(path)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


#: Claimants per worker task: bounds a worker's memory whatever the size of the year.
MEMBERS_PER_TASK = 20_000


def simulate_rows(db_url: str, year: int, draft_text: str | None, draft_name: str = "draft.yaml", *,
                  workers: int | None = None, chunks_per_worker: int = 4,
                  progress: Callable[[int, int], None] | None = None,
                  sink: Callable[[list[tuple]], None] | None = None) -> list[tuple]:
    """All rows of the year, judged again in ``workers`` spawned processes (by member ranges).

    With ``sink``, each task's rows are handed to it as the task finishes (so the caller
    can aggregate while the workers run) and an empty list is returned.
    """
    from mutualaid.store.db import Database
    db = Database(db_url, migrate_schema=False)
    try:
        with db.sessions() as s:
            ids = claimant_ids(s, year)
    finally:
        db.dispose()
    workers = workers or default_workers()
    ranges = member_ranges(ids, max(workers * chunks_per_worker, -(-len(ids) // MEMBERS_PER_TASK)))
    rows: list[tuple] = []
    if not ranges:
        return rows
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(ranges)), mp_context=ctx, initializer=_init_worker,
                             initargs=(db_url, draft_text, draft_name)) as pool:
        futures = [pool.submit(_run_range, year, lo, hi) for lo, hi in ranges]
        for done, f in enumerate(as_completed(futures), 1):
            chunk = f.result()
            if sink is not None:
                sink(chunk)
            else:
                rows.extend(chunk)
            if progress:
                progress(done, len(futures))
    return rows


__all__ = ["ROW", "Timeline", "Actual", "redecide", "load_timelines", "simulate_rows", "parse_draft",
           "claimant_ids", "member_ranges", "year_bounds"]
