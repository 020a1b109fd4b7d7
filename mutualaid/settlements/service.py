"""Use cases of the settlement extract (医保结算数据, 免申即享).

* :func:`import_settlements` — store an extract in one transaction: each inpatient
  settlement of a member enrolled in HOSP on the admission date becomes a claim
  ``YB-<settlement_no>`` (source ``settlement``), decided by the next batch run like any
  other; a stay already claimed gets no second claim (the settlement is attached to that
  claim); reversals withdraw an undecided claim or put a decided one to review. Rows of
  people not enrolled, and outpatient rows, are counted and not kept.
* :func:`link_clerk_claims` — called by the claim intake for a clerk's new HOSP claims:
  a settlement claim of the same stay that is still undecided is withdrawn in favour of
  the clerk's claim (if it was decided, the clerk's claim is a duplicate, R06, as usual);
  a settlement of the stay is attached to the clerk's claim for the cross-check (V05).
* :func:`settlement_figures` — the settlement of a clerk's claim, for the adjudication.

Whether a stay takes part is policy data: the covering enrollment's policy version needs
a ``settlements`` section (``claims``: make claims; ``cross_check``: V05). A version
without it ignores the extract, so its claims are decided exactly as before.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from mutualaid import audit
from mutualaid.claims.adjudication import APPROVED, PENDING, SettlementFigures
from mutualaid.claims.status import RECEIVED, RuleCode
from mutualaid.imports import ImportReport, Progress, RowError, row_hash, run_import
from mutualaid.money import fmt
from mutualaid.policy import policies
from mutualaid.settlements.extract import COLUMNS, INPATIENT, SettlementRow, parse_row
from mutualaid.settlements.match import covering_version, same_stay
from mutualaid.settlements.terms import (
    CLAIM_PREFIX,
    KIND,
    SETTLEMENT_USER,
    WITHDRAWN,
    Count,
    Outcome,
    Source,
)
from mutualaid.store.bulk import in_values, insert_rows
from mutualaid.store.db import Database
from mutualaid.store.models import Claim, Decision, Enrollment, Member
from mutualaid.store.models_settlements import Settlement

# the stored content of a settlement row, in SettlementRow.stored() order (its row hash)
SETTLEMENT_COLUMNS = ("member_id_number", "member_name", "hospital_name", "hospital_code", "visit_type",
                      "admission_date", "discharge_date", "diagnosis_code", "total_cost_fen", "fund_paid_fen",
                      "serious_illness_paid_fen", "medical_aid_paid_fen", "in_policy_self_pay_fen",
                      "out_of_policy_self_pay_fen", "settlement_date", "is_reversal", "reverses")
INSERTED = ("settlement_no", *SETTLEMENT_COLUMNS, "row_hash", "outcome", "claim_id", "created_claim_id",
            "import_id")


@dataclass
class SettlementImport:
    """The import report plus what became of the rows (:class:`Count`)."""

    report: ImportReport
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def exit_code(self) -> int:
        return self.report.exit_code


def import_settlements(db: Database, path: str | Path, *, user: str = "cli", file_name: str | None = None,
                       progress: Progress | None = None, as_of: dt.date | None = None) -> SettlementImport:
    """Store a settlement extract in one transaction (a crash stores nothing; a re-run is safe).

    ``as_of``: the date written on claims a reversal or the cross-check changes (default today).
    """
    counts: Counter[str] = Counter()
    day = as_of or dt.date.today()

    def begin(session: Session, import_id: int, report: ImportReport):  # noqa: ANN202
        return _FileStore(session, import_id, report, counts, user, day).store

    report = run_import(db, path, COLUMNS, kind=KIND, user=user, file_name=file_name, progress=progress,
                        audit_action="settlements.import", audit_entity="file_import", parse=parse_row,
                        begin=begin)
    return SettlementImport(report, counts)


@dataclass(slots=True)
class _StayClaim:
    """A HOSP claim of a stay, as the linking sees it."""

    id: int | None  # None: made by this chunk, not inserted yet
    claim_no: str
    source: str
    status: str
    admission_date: dt.date
    discharge_date: dt.date
    in_policy_self_pay_fen: int | None = None


def _scheme(version: int | None) -> Any:
    """The policy's ``settlements`` section for a version (None: it uses no settlement data)."""
    policy = policies().get(version) if version is not None else None
    return policy.settlements if policy is not None else None


class _FileStore:
    """Stores one extract chunk by chunk, inside the import's transaction."""

    def __init__(self, session: Session, import_id: int, report: ImportReport, counts: Counter[str],
                 user: str, as_of: dt.date):
        self.session, self.import_id, self.report, self.counts = session, import_id, report, counts
        self.user, self.as_of = user, as_of
        self.seen: dict[str, int] = {}

    def store(self, parsed: list[tuple]) -> None:
        """One chunk of parsed rows (tuples in SettlementRow order, see extract.parse_row)."""
        inpatient = []
        seen, make = self.seen, SettlementRow._make
        outpatient = 0
        for t in parsed:
            first = seen.get(t[1])
            if first is not None:
                self.report.add_errors([RowError.of(t[0], "settlement_no", t[1], "duplicate_in_file", first=first)])
                continue
            seen[t[1]] = t[0]
            if t[6] == INPATIENT:
                inpatient.append(make(t))
            else:
                outpatient += 1
        if outpatient:
            self.counts[Count.OUTPATIENT] += outpatient
        if not inpatient:
            return
        conn = self.session.connection()
        fresh = self._new_rows(conn, inpatient)
        covers = _hosp_covers(conn, {r.member_id_number for r in fresh})
        stays: list[tuple[SettlementRow, Any]] = []
        reversals: list[SettlementRow] = []
        for r in fresh:
            version = covering_version(covers.get(r.member_id_number, []), r.admission_date)
            if version is None:
                self.counts[Count.NOT_ENROLLED] += 1
                continue
            scheme = _scheme(version)
            if scheme is None:
                self.counts[Count.SCHEME_OFF] += 1
                continue
            if r.is_reversal:
                reversals.append(r)
            else:
                stays.append((r, scheme))
        if stays:
            self._store_stays(conn, stays)
        if reversals:
            self._apply_reversals(reversals)

    def _error(self, r: SettlementRow, column: str, value: str, code: str, **params: object) -> None:
        self.report.add_errors([RowError.of(r.row, column, value, code, **params)])

    def _new_rows(self, conn: Connection, rows: list[SettlementRow]) -> list[SettlementRow]:
        """Rows not stored yet; a stored row is 'unchanged', or a conflict if its content differs."""
        stored = dict(conn.execute(select(Settlement.settlement_no, Settlement.row_hash).where(
            in_values(conn, Settlement.settlement_no, [r.settlement_no for r in rows]))).all())
        fresh = []
        for r in rows:
            digest = stored.get(r.settlement_no)
            if digest is None:
                fresh.append(r)
            elif digest == row_hash(*r.stored()):
                self.report.unchanged += 1
            else:
                self._error(r, "settlement_no", r.settlement_no, "conflict", key=r.settlement_no)
        return fresh

    # --- stays -----------------------------------------------------------------------------------

    def _store_stays(self, conn: Connection, stays: list[tuple[SettlementRow, Any]]) -> None:
        taken = set(conn.execute(select(Claim.claim_no).where(  # a clerk's claim already has the number
            in_values(conn, Claim.claim_no, [CLAIM_PREFIX + r.settlement_no for r, _ in stays]))).scalars())
        if taken:
            for r, _ in stays:
                if CLAIM_PREFIX + r.settlement_no in taken:
                    self._error(r, "settlement_no", r.settlement_no, "claim_no_taken",
                                claim_no=CLAIM_PREFIX + r.settlement_no)
            stays = [(r, s) for r, s in stays if CLAIM_PREFIX + r.settlement_no not in taken]
        claims = _stay_claims(conn, {r.member_id_number for r, _ in stays})
        new_claims: list[tuple] = []
        links: list[tuple[SettlementRow, str, _StayClaim | None]] = []  # (row, outcome, claim)
        for r, scheme in stays:
            mine = claims[r.member_id_number]
            match = _pick(c for c in mine if same_stay(c.admission_date, c.discharge_date,
                                                       r.admission_date, r.discharge_date))
            if match is not None:
                links.append((r, Outcome.ATTACHED, match))
                self.counts[Count.ATTACHED] += 1
                if match.source == Source.CLERK and match.id is not None and scheme.cross_check \
                        and match.status in (APPROVED, PENDING) and _differs(match, r):
                    if _to_review(self.session, match.id, code=RuleCode.V05, user=self.user, as_of=self.as_of,
                                  reason=f"medical-insurance settlement {r.settlement_no} shows other figures",
                                  settlement=_figures_trace(r), facts={"settlement_differs": True}):
                        self.counts[Count.TO_REVIEW] += 1
            elif scheme.claims:
                claim = _StayClaim(None, CLAIM_PREFIX + r.settlement_no, Source.SETTLEMENT, RECEIVED,
                                   r.admission_date, r.discharge_date, r.in_policy_self_pay_fen)
                mine.append(claim)
                new_claims.append(_claim_row(r, self.import_id))
                links.append((r, Outcome.CLAIMED, claim))
                self.counts[Count.CLAIMED] += 1
            else:
                links.append((r, Outcome.KEPT, None))
        if new_claims:
            insert_rows(conn, Claim.__table__, CLAIM_INSERTED, new_claims)
            ids = dict(conn.execute(select(Claim.claim_no, Claim.id).where(
                in_values(conn, Claim.claim_no, [c[0] for c in new_claims]))).all())
            for _, _, c in links:
                if c is not None and c.id is None:
                    c.id = ids[c.claim_no]
        rows = []
        for r, outcome, c in links:
            claim_id = c.id if c is not None else None
            rows.append((r.settlement_no, *r.stored(), row_hash(*r.stored()), str(outcome), claim_id,
                         claim_id if outcome == Outcome.CLAIMED else None, self.import_id))
        insert_rows(conn, Settlement.__table__, INSERTED, rows)
        self.report.stored += len(rows)

    # --- reversals -------------------------------------------------------------------------------

    def _apply_reversals(self, rows: list[SettlementRow]) -> None:
        session = self.session
        originals = {s.settlement_no: s for s in session.execute(
            select(Settlement).where(Settlement.settlement_no.in_({r.reverses for r in rows}))).scalars()}
        stored = []
        for r in rows:
            o = originals.get(r.reverses)  # type: ignore[arg-type]
            if o is None or o.is_reversal:
                self._error(r, "reverses", r.reverses or "", "reversal_unknown", reference=r.reverses)
                continue
            if o.reversed_by is not None:
                self._error(r, "reverses", r.reverses or "", "already_reversed", reference=r.reverses,
                            by=o.reversed_by)
                continue
            o.reversed_by = r.settlement_no
            self.counts[Count.REVERSED] += 1
            own = o.outcome == Outcome.CLAIMED and o.claim_id is not None and o.claim_id == o.created_claim_id
            if own:
                reason = f"settlement {o.settlement_no} cancelled by {r.settlement_no} (冲销)"
                if withdraw(session, o.claim_id, reason=reason, user=self.user, as_of=self.as_of,  # type: ignore[arg-type]
                            details={"reversal": r.settlement_no}):
                    self.counts[Count.WITHDRAWN] += 1
                    self._reclaim(o)
                elif _to_review(session, o.claim_id, code=None, user=self.user, as_of=self.as_of,  # type: ignore[arg-type]
                                reason=reason, settlement={"reversed": o.settlement_no, "by": r.settlement_no},
                                facts={}):
                    self.counts[Count.TO_REVIEW] += 1
            stored.append((r.settlement_no, *r.stored(), row_hash(*r.stored()), str(Outcome.REVERSAL), o.claim_id,
                           None, self.import_id))
        session.flush()
        if stored:
            insert_rows(session.connection(), Settlement.__table__, INSERTED, stored)
            self.report.stored += len(stored)


    def _reclaim(self, cancelled: Settlement) -> None:
        """Other live settlements of the withdrawn claim's stay get a claim again (attached or new)."""
        session = self.session
        orphans = session.execute(select(Settlement).where(
            Settlement.claim_id == cancelled.claim_id, Settlement.id != cancelled.id,
            Settlement.is_reversal.is_(False), Settlement.reversed_by.is_(None))
            .order_by(Settlement.settlement_no)).scalars().all()
        if not orphans:
            return
        conn = session.connection()
        claims = _stay_claims(conn, {o.member_id_number for o in orphans})
        for o in orphans:
            match = _pick(c for c in claims[o.member_id_number]
                          if same_stay(c.admission_date, c.discharge_date, o.admission_date, o.discharge_date))
            if match is None:
                row = SettlementRow(0, o.settlement_no, *[getattr(o, c) for c in SETTLEMENT_COLUMNS])
                insert_rows(conn, Claim.__table__, CLAIM_INSERTED, [_claim_row(row, self.import_id)])
                claim_id = conn.execute(select(Claim.id).where(Claim.claim_no == CLAIM_PREFIX + o.settlement_no)
                                        ).scalar_one()
                match = _StayClaim(claim_id, CLAIM_PREFIX + o.settlement_no, Source.SETTLEMENT, RECEIVED,
                                   o.admission_date, o.discharge_date, o.in_policy_self_pay_fen)
                claims[o.member_id_number].append(match)
                o.outcome, o.created_claim_id = str(Outcome.CLAIMED), claim_id
                self.counts[Count.CLAIMED] += 1
            o.claim_id = match.id
        session.flush()


def _pick(claims: Iterable[_StayClaim]) -> _StayClaim | None:
    """The claim a settlement of the stay belongs to: a clerk's first, then the earliest."""
    found = sorted(claims, key=lambda c: (c.source != Source.CLERK, c.id is None, c.id or 0))
    return found[0] if found else None


def _differs(claim: _StayClaim, r: SettlementRow) -> bool:
    return (claim.in_policy_self_pay_fen != r.in_policy_self_pay_fen
            or (claim.admission_date, claim.discharge_date) != (r.admission_date, r.discharge_date))


def _figures_trace(r: SettlementRow) -> dict[str, str]:
    return {"settlement_no": r.settlement_no, "admission_date": str(r.admission_date),
            "discharge_date": str(r.discharge_date), "in_policy_self_pay": fmt(r.in_policy_self_pay_fen, fen=True)}


# The columns of a claim made from a settlement, in the claim intake's order (same row hash).
CLAIM_STORED = ("product", "member_id_number", "member_name", "submitted_date", "admission_date",
                "discharge_date", "hospital_name", "diagnosis_code", "cause", "total_cost_fen",
                "insurance_paid_fen", "in_policy_self_pay_fen", "out_of_policy_self_pay_fen",
                "diagnosis_date", "pathology_confirmed", "surgery")
CLAIM_INSERTED = ("claim_no", "event_date", "row_hash", *CLAIM_STORED, "batch_id", "status", "payout_fen",
                  "reason_codes", "policy_version", "version", "source")


def _claim_row(r: SettlementRow, import_id: int) -> tuple:
    stored = ("HOSP", r.member_id_number, r.member_name, r.settlement_date, r.admission_date, r.discharge_date,
              r.hospital_name, r.diagnosis_code, "illness", r.total_cost_fen, r.insurance_paid_fen,
              r.in_policy_self_pay_fen, r.out_of_policy_self_pay_fen, None, None, None)
    return (CLAIM_PREFIX + r.settlement_no, r.admission_date, row_hash(*stored), *stored, import_id, RECEIVED,
            0, "", "", 0, str(Source.SETTLEMENT))


def _hosp_covers(conn: Connection, ids: set[str]) -> dict[str, list[tuple[dt.date, dt.date, int]]]:
    """HOSP enrollments (start, end, policy version) of these ID numbers."""
    covers: dict[str, list[tuple[dt.date, dt.date, int]]] = defaultdict(list)
    if not ids:
        return covers
    for i, start, end, version in conn.execute(
            select(Member.id_number, Enrollment.start_date, Enrollment.end_date, Enrollment.policy_version)
            .join(Enrollment, Enrollment.member_id == Member.id)
            .where(in_values(conn, Member.id_number, ids), Enrollment.product == "HOSP")).all():
        covers[i].append((start, end, version))
    return covers


def _stay_claims(conn: Connection, ids: set[str]) -> dict[str, list[_StayClaim]]:
    """The HOSP claims of these members that are not withdrawn."""
    claims: dict[str, list[_StayClaim]] = defaultdict(list)
    if not ids:
        return claims
    for row in conn.execute(
            select(Claim.member_id_number, Claim.id, Claim.claim_no, Claim.source, Claim.status,
                   Claim.admission_date, Claim.discharge_date, Claim.in_policy_self_pay_fen)
            .where(in_values(conn, Claim.member_id_number, ids), Claim.product == "HOSP",
                   Claim.status != WITHDRAWN)).all():
        claims[row[0]].append(_StayClaim(*row[1:]))
    return claims


# --- changes of one claim -----------------------------------------------------------------------

def withdraw(session: Session, claim_id: int, *, reason: str, user: str, as_of: dt.date,
             details: dict[str, Any]) -> bool:
    """Withdraw an undecided claim (status WITHDRAWN: counted nowhere); False if it was decided."""
    claim = session.get(Claim, claim_id)
    if claim is None or claim.status != RECEIVED:
        return False
    changed = session.execute(update(Claim).where(Claim.id == claim_id, Claim.status == RECEIVED).values(
        status=WITHDRAWN, payout_fen=0, decided_on=as_of, decided_by=user, version=Claim.version + 1)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        return False
    session.execute(insert(Decision).values(
        claim_id=claim_id, kind="WITHDRAWAL", status=WITHDRAWN, payout_fen=0, computed_payout_fen=0,
        reason_codes="", policy_version="", decided_on=as_of, decided_by=user, reason=reason, trace=details))
    audit.record(session, user, "claim.withdraw", "claim", claim.claim_no, {"reason": reason, **details})
    session.expire(claim)
    return True


def _to_review(session: Session, claim_id: int, *, code: str | None, user: str, as_of: dt.date, reason: str,
               settlement: dict[str, Any], facts: dict[str, Any]) -> bool:
    """Put a decided, non-rejected claim to review (adding ``code``); False if it is not one."""
    claim = session.get(Claim, claim_id)
    if claim is None or claim.status not in (APPROVED, PENDING):
        return False
    codes = sorted({c for c in claim.reason_codes.split(";") if c} | ({code} if code else set()))
    reasons = ";".join(codes)
    last = session.execute(select(Decision).where(Decision.claim_id == claim_id)
                           .order_by(Decision.id.desc()).limit(1)).scalar()
    before = (claim.status, claim.payout_fen, claim.reason_codes)
    changed = session.execute(update(Claim).where(Claim.id == claim_id, Claim.version == claim.version).values(
        status=PENDING, reason_codes=reasons, decided_on=as_of, decided_by=SETTLEMENT_USER,
        version=claim.version + 1).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        return False
    trace = dict(last.trace) if last is not None else {}
    trace["settlement"] = settlement
    if facts:
        trace["facts"] = {**trace.get("facts", {}), **facts}
    if code:
        trace["fired"] = sorted(set(trace.get("fired", [])) | {code})
    session.execute(insert(Decision).values(
        claim_id=claim_id, kind="SETTLEMENT", status=PENDING, payout_fen=claim.payout_fen,
        computed_payout_fen=last.computed_payout_fen if last is not None else claim.payout_fen,
        reason_codes=reasons, policy_version=claim.policy_version, decided_on=as_of, decided_by=SETTLEMENT_USER,
        reason=reason, trace=trace))
    audit.record(session, user, "claim.to_review", "claim", claim.claim_no, {
        "reason": reason, "before": {"status": before[0], "payout": fmt(before[1], fen=True), "codes": before[2]},
        "after": {"status": PENDING, "payout": fmt(before[1], fen=True), "codes": reasons}})
    session.expire(claim)
    return True


# --- the claim intake's hook ----------------------------------------------------------------------

def link_clerk_claims(session: Session, claim_nos: list[str], *, user: str, as_of: dt.date | None = None) -> int:
    """A clerk's new claims meet the settlements of their stays; returns claims withdrawn.

    For each new HOSP claim: an undecided settlement claim of the same stay is withdrawn
    (linked: its settlement now belongs to the clerk's claim); a settlement of the stay
    not yet belonging to a claim is attached to it. A decided settlement claim stays as it
    is: the clerk's claim then overlaps it and is a duplicate (R06) when decided.
    """
    if not claim_nos:
        return 0
    conn = session.connection()
    if conn.execute(select(Settlement.id).limit(1)).first() is None:
        return 0  # no settlement data at all: nothing to link (the common case before any extract)
    new = conn.execute(select(Claim.id, Claim.claim_no, Claim.member_id_number, Claim.admission_date,
                              Claim.discharge_date)
                       .where(in_values(conn, Claim.claim_no, claim_nos), Claim.product == "HOSP",
                              Claim.source == Source.CLERK)).all()
    if not new:
        return 0
    ids = {c.member_id_number for c in new}
    others = _stay_claims(conn, ids)
    kept = defaultdict(list)
    for s in conn.execute(select(Settlement.id, Settlement.member_id_number, Settlement.admission_date,
                                 Settlement.discharge_date)
                          .where(in_values(conn, Settlement.member_id_number, ids), Settlement.claim_id.is_(None),
                                 Settlement.is_reversal.is_(False), Settlement.reversed_by.is_(None))).all():
        kept[s.member_id_number].append(s)
    day = as_of or dt.date.today()
    withdrawn = 0
    for c in new:
        for other in others.get(c.member_id_number, []):
            if other.source != Source.SETTLEMENT or other.status != RECEIVED or other.id is None \
                    or not same_stay(other.admission_date, other.discharge_date, c.admission_date, c.discharge_date):
                continue
            if withdraw(session, other.id, reason=f"replaced by the clerk's claim {c.claim_no}", user=user,
                        as_of=day, details={"replaced_by": c.claim_no}):
                other.status = WITHDRAWN
                withdrawn += 1
                session.execute(update(Settlement).where(Settlement.claim_id == other.id).values(claim_id=c.id)
                                .execution_options(synchronize_session=False))
        for s in kept.get(c.member_id_number, []):
            if same_stay(s.admission_date, s.discharge_date, c.admission_date, c.discharge_date):
                session.execute(update(Settlement).where(Settlement.id == s.id, Settlement.claim_id.is_(None))
                                .values(claim_id=c.id, outcome=str(Outcome.ATTACHED))
                                .execution_options(synchronize_session=False))
    return withdrawn


# --- the adjudication's input -----------------------------------------------------------------------

def settlement_figures(conn: Connection, claim_ids: list[int]) -> dict[int, SettlementFigures]:
    """The live settlement of each of these claims that a clerk filed (for V05).

    A stay settled in several rows counts as one: earliest admission, latest discharge,
    the in-policy self-pay summed. Cancelled settlements (and the reversals) do not count.
    """
    if not claim_ids:
        return {}
    if conn.execute(select(Settlement.id).where(Settlement.claim_id.is_not(None)).limit(1)).first() is None:
        return {}  # no settlement attached to any claim (yet): spare the batch the lookup
    parts: dict[int, list[Any]] = defaultdict(list)
    for row in conn.execute(
            select(Settlement.claim_id, Settlement.settlement_no, Settlement.admission_date,
                   Settlement.discharge_date, Settlement.in_policy_self_pay_fen)
            .join(Claim, Claim.id == Settlement.claim_id)
            .where(in_values(conn, Settlement.claim_id, claim_ids), Claim.source == Source.CLERK,
                   Settlement.is_reversal.is_(False), Settlement.reversed_by.is_(None))
            .order_by(Settlement.settlement_no)).all():
        parts[row[0]].append(row)
    return {cid: SettlementFigures(";".join(p.settlement_no for p in ps), min(p.admission_date for p in ps),
                                   max(p.discharge_date for p in ps), sum(p.in_policy_self_pay_fen for p in ps))
            for cid, ps in parts.items()}


def with_settlement_figures(conn: Connection, claims: list) -> list:  # noqa: ANN001 - list[ClaimIn]
    """The claims, each clerk's HOSP claim with its settlement figures (unchanged when none)."""
    import dataclasses

    if not any(p.settlements is not None and p.settlements.cross_check for p in policies().values()):
        return claims
    figures = settlement_figures(conn, [c.id for c in claims if c.product == "HOSP"])
    if not figures:
        return claims
    return [dataclasses.replace(c, settlement=figures[c.id]) if c.id in figures else c for c in claims]


def fill_settlement_figures(conn: Connection, claims_by_member: dict[str, list]) -> None:
    """:func:`with_settlement_figures` over the batch job's claims by member, in place."""
    flat = [c for cs in claims_by_member.values() for c in cs]
    filled = with_settlement_figures(conn, flat)
    if filled is flat:
        return
    by_id = {c.id: c for c in filled}
    for cs in claims_by_member.values():
        cs[:] = [by_id[c.id] for c in cs]


# --- a claim's settlements, for its page -----------------------------------------------------------

@dataclass(frozen=True)
class SettlementView:
    settlement_no: str
    admission_date: dt.date
    discharge_date: dt.date
    in_policy_self_pay_fen: int
    settlement_date: dt.date
    outcome: str
    is_reversal: bool
    reversed_by: str | None


@dataclass(frozen=True)
class ClaimSettlements:
    source: str
    settlements: list[SettlementView]
    linked: list[tuple[int, str, str]]  # (claim id, claim_no, status): a withdrawn claim it replaced, or its replacement


def claim_settlements(session: Session, claim_id: int) -> ClaimSettlements | None:
    """The settlements of a claim (made it, attached, or moved to it) and the claims linked through them."""
    source = session.execute(select(Claim.source).where(Claim.id == claim_id)).scalar()
    if source is None:
        return None
    rows = session.execute(select(Settlement).where(
        (Settlement.claim_id == claim_id) | (Settlement.created_claim_id == claim_id))
        .order_by(Settlement.settlement_date, Settlement.settlement_no)).scalars().all()
    if not rows and source == Source.CLERK:
        return None
    linked_ids = {i for s in rows for i in (s.claim_id, s.created_claim_id) if i is not None and i != claim_id}
    linked = [tuple(r) for r in session.execute(select(Claim.id, Claim.claim_no, Claim.status)
                                                .where(Claim.id.in_(linked_ids)).order_by(Claim.claim_no))] \
        if linked_ids else []
    return ClaimSettlements(str(source), [SettlementView(s.settlement_no, s.admission_date, s.discharge_date,
                                                         s.in_policy_self_pay_fen, s.settlement_date, s.outcome,
                                                         s.is_reversal, s.reversed_by) for s in rows],
                            linked)  # type: ignore[arg-type]


# --- figures for the office ---------------------------------------------------------------------------

@dataclass
class Figures:
    """What the settlement data did: rows kept by outcome, and the claims made from them."""

    settlements_by_outcome: dict[str, int]
    reversed: int
    claims_by_status: dict[str, tuple[int, int]]  # settlement claims: status -> (count, payout fen)
    paid_without_application: tuple[int, int]     # settlement claims approved with a payout: (count, fen)


def figures(session: Session) -> Figures:
    outcomes = {o: int(n) for o, n in session.execute(
        select(Settlement.outcome, func.count()).group_by(Settlement.outcome))}
    reversed_n = session.execute(select(func.count()).where(Settlement.reversed_by.is_not(None))).scalar() or 0
    by_status = {status: (int(n), int(fen)) for status, n, fen in session.execute(
        select(Claim.status, func.count(), func.coalesce(func.sum(Claim.payout_fen), 0))
        .where(Claim.source == Source.SETTLEMENT).group_by(Claim.status))}
    paid = session.execute(select(func.count(), func.coalesce(func.sum(Claim.payout_fen), 0)).where(
        Claim.source == Source.SETTLEMENT, Claim.status == APPROVED, Claim.payout_fen > 0)).one()
    return Figures(outcomes, int(reversed_n), by_status, (int(paid[0]), int(paid[1])))


__all__ = ["SettlementImport", "import_settlements", "link_clerk_claims", "settlement_figures",
           "with_settlement_figures", "fill_settlement_figures", "withdraw", "figures", "Figures"]
