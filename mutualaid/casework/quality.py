"""Quality sampling (事后抽查): a reproducible sample of a month's approvals, checked by auditors.

The sample of month M: of the claims approved by the engine with ``decided_on`` in M,
the ``ceil(rate × N)`` whose SHA-256 of ``seed:M:claim_no`` is smallest (the same seed,
month and approvals always give the same sample, in any order and on any database),
plus every approval in M paying more than ``quality_sample_above``. Rate, threshold and
seed are the policy file's (the version of M's year). A disagreement leads to an
override through the normal review; the dashboard shows the disagreement rate by month.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from mutualaid import audit
from mutualaid.casework.service import CaseworkError
from mutualaid.casework.terms import Verdict
from mutualaid.claims.status import APPROVED
from mutualaid.claims.decide import ENGINE_USER
from mutualaid.dates import add_months
from mutualaid.money import to_fen
from mutualaid.policy import Policy, policies
from mutualaid.store.models import Claim, utc_now
from mutualaid.store.models_casework import QualitySample

VERDICTS: tuple[str, ...] = tuple(Verdict)


@dataclass
class Draw:
    month: str
    population: int
    random: int
    threshold: int
    already: int


def _month_bounds(month: str) -> tuple[dt.date, dt.date]:
    try:
        first = dt.date.fromisoformat(month + "-01")
    except ValueError:
        raise CaseworkError("case.bad_month") from None
    return first, add_months(first, 1)


def _policy_for(month: str) -> Policy:
    known = policies()
    year = int(month[:4])
    return known[min(known, key=lambda v: (abs(v - year), -v))]


def sample_key(seed: int, month: str, claim_no: str) -> str:
    return hashlib.sha256(f"{seed}:{month}:{claim_no}".encode()).hexdigest()


def draw(session: Session, month: str, *, user: str, seed: int | None = None) -> Draw:
    """Put the month's sample in the quality queue (claims already drawn stay); the caller commits."""
    first, after = _month_bounds(month)
    params = _policy_for(month).casework
    seed = params.quality_sample_seed if seed is None else seed
    in_month = (Claim.status == APPROVED, Claim.decided_on >= first, Claim.decided_on < after)
    auto = session.execute(select(Claim.id, Claim.claim_no, Claim.payout_fen)
                           .where(*in_month, Claim.decided_by == ENGINE_USER)).all()
    n = math.ceil(params.quality_sample_rate * len(auto)) if auto else 0
    chosen = {r.id: ("RANDOM", r.payout_fen) for r in sorted(auto, key=lambda r: sample_key(seed, month, r.claim_no))[:n]}
    above = to_fen(params.quality_sample_above)
    big = session.execute(select(Claim.id, Claim.payout_fen).where(*in_month, Claim.payout_fen > above)).all()
    threshold = 0
    for r in big:
        if r.id not in chosen:
            chosen[r.id] = ("THRESHOLD", r.payout_fen)
            threshold += 1
    existing = set(session.execute(select(QualitySample.claim_id)
                                   .where(QualitySample.claim_id.in_(list(chosen) or [0]))).scalars())
    for claim_id, (reason, payout) in sorted(chosen.items()):
        if claim_id not in existing:
            session.add(QualitySample(claim_id=claim_id, month=month, reason=reason, seed=seed, payout_fen=payout,
                                      sampled_by=user))
    result = Draw(month, len(auto), n, threshold, len(existing))
    audit.record(session, user, "quality.draw", "month", month,
                 {"seed": seed, "population": len(auto), "random": n, "threshold": threshold,
                  "already": len(existing)})
    return result


def record_verdict(session: Session, claim_no: str, verdict: str, *, note: str | None, user: str) -> QualitySample:
    """An auditor agrees or disagrees with a sampled decision (a note is required to disagree)."""
    verdict = (verdict or "").strip().upper()
    if verdict not in VERDICTS:
        raise CaseworkError("case.bad_verdict")
    if not user or not user.strip():
        raise CaseworkError("case.user_required")
    note = (note or "").strip()
    if verdict == Verdict.DISAGREE and not note:
        raise CaseworkError("case.note_required")
    audit.lock_chain(session)
    found = session.execute(select(QualitySample, Claim).join(Claim, Claim.id == QualitySample.claim_id)
                            .where(Claim.claim_no == claim_no)).first()
    if found is None:
        raise CaseworkError("case.no_sample", claim_no=claim_no)
    sample, claim = found
    if sample.verdict is not None:
        raise CaseworkError("case.already_checked", claim_no=claim_no)
    if claim.decided_by == user.strip():
        raise CaseworkError("case.own_decision", claim_no=claim_no)
    sample.verdict, sample.note, sample.checked_by, sample.checked_at = verdict, note or None, user.strip(), utc_now()
    audit.record(session, user.strip(), "quality.verdict", "claim", claim_no, {"verdict": verdict, "note": note})
    return sample


@dataclass
class MonthFigures:
    month: str
    sampled: int
    checked: int
    disagreed: int

    @property
    def rate(self) -> float | None:
        """Share of checked samples disagreed with (a display ratio, not money)."""
        return self.disagreed / self.checked if self.checked else None


def figures_by_month(session: Session, months: int | None = 12) -> list[MonthFigures]:
    rows = session.execute(
        select(QualitySample.month, func.count(),
               func.count(QualitySample.verdict),
               func.sum(case((QualitySample.verdict == Verdict.DISAGREE, 1), else_=0)))
        .group_by(QualitySample.month).order_by(QualitySample.month.desc())).all()
    out = [MonthFigures(m, int(n), int(c), int(d or 0)) for m, n, c, d in rows]
    return out[:months] if months else out


def queue(session: Session, *, month: str | None = None, open_only: bool = True) -> list[tuple[QualitySample, Claim]]:
    q = select(QualitySample, Claim).join(Claim, Claim.id == QualitySample.claim_id).order_by(
        QualitySample.month, QualitySample.id)
    if month:
        q = q.where(QualitySample.month == month)
    if open_only:
        q = q.where(QualitySample.verdict.is_(None))
    return [(s, c) for s, c in session.execute(q).all()]
