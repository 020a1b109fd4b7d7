"""Replay equals live (issue 12): whatever people do, in whatever order, the stored decisions are
those of deciding every claim from scratch in processing order with the auditors' decisions
pinned — and the money invariants hold after every step.

Generated: members and enrollments, claims split into batches, and a sequence of batch
runs (at various as-of dates), auditor approvals, rejections and overrides, through the
real store (SQLite and PostgreSQL) and the same functions the CLI and the web call.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import batch.adjudicate as job
from mutualaid.claims.adjudication import ClaimIn, History, MemberCase, Prior, adjudicate_members, stays_overlap
from mutualaid.claims.decide import CLAIM_IN_COLUMNS, ENGINE_USER, member_records
from mutualaid.claims.intake import submit_batch
from mutualaid.claims.review import ReviewError, review
from mutualaid.enrollments import import_roster
from mutualaid.money import to_fen
from mutualaid.policy import policies
from mutualaid.store.models import Claim, Enrollment
from tests.conftest import _truncate
from tests.test_import import CLAIM_HEAD, F1, F2, M1, ROSTER_HEAD, hosp_row, roster_row, women_row, write

D = dt.date.fromisoformat
COUNTING = ("APPROVED", "PENDING_REVIEW")
MEMBERS = {F1: "王丽", F2: "刘芳", M1: "张伟"}
BASES_FEN = st.one_of(st.sampled_from([0, 15_000, 500_000, 6_000_000, 26_000_000, 60_000_000]),
                      st.integers(0, 70_000_000))


@st.composite
def hosp_claim(draw):  # noqa: ANN001, ANN201
    adm = dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(20, 320)))
    dis = adm + dt.timedelta(days=draw(st.sampled_from([0, 0, 1, 3, 12, 31, 95])))
    return {"product": "HOSP", "member": draw(st.sampled_from([F1, F1, F1, F2, M1])), "adm": adm, "dis": dis,
            "base": draw(BASES_FEN), "cause": draw(st.sampled_from(["illness"] * 5 + ["third_party"])),
            "typo": draw(st.integers(0, 9)) == 0,
            "after": draw(st.integers(1, 40))}


@st.composite
def women_claim(draw):  # noqa: ANN001, ANN201
    day = dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(60, 330)))
    code, surgery = draw(st.sampled_from([("D06.1", "none"), ("D07.10", "none"), ("C50.9", "none"),
                                          ("C50.900X001", "none"), ("D25.9", "excision"),
                                          ("D25.9", "hysterectomy"), ("N80.0", "none")]))
    return {"product": "WOMEN", "member": draw(st.sampled_from([F1, F1, F2])), "day": day, "code": code,
            "surgery": surgery, "pathology": draw(st.sampled_from(["Y", "Y", "Y", "N"])),
            "after": draw(st.integers(1, 40))}


@st.composite
def scenario(draw):  # noqa: ANN001, ANN201
    roster = [roster_row(member_id_number=m, member_name=n) for m, n in MEMBERS.items()]
    for m in (F1, M1):
        if draw(st.booleans()):
            roster.append(roster_row(member_id_number=m, member_name=MEMBERS[m], start_date="2025-01-01",
                                     end_date="2025-12-31"))
    for m in (F1, F2):
        units = draw(st.sampled_from([0, 1, 2]))
        if units:
            roster.append(roster_row(member_id_number=m, member_name=MEMBERS[m], product="WOMEN", units=str(units),
                                     premium_paid=f"{30 * units}.00"))
    claims = draw(st.lists(st.one_of(hosp_claim(), women_claim()), min_size=1, max_size=12))
    batches = draw(st.lists(st.integers(0, 2), min_size=len(claims), max_size=len(claims)))
    # a review names the k-th decided claim in processing order: early ones have the most after them
    review = st.tuples(st.just("review"), st.one_of(st.integers(0, 2), st.integers(0, len(claims) - 1)),
                       st.sampled_from(["approve", "reject", "reject", "override"]), st.integers(0, 30_000_000))
    run = st.tuples(st.just("run"), st.sampled_from(["2026-06-30", "2026-10-31", "2027-03-31"]))
    steps: list[tuple] = []
    for _ in range(3):  # each batch: filed, maybe decided, then auditors act (also on earlier batches)
        steps.append(("submit",))
        steps.extend(draw(st.lists(st.one_of(run, review), max_size=5)))
    steps.append(("run", "2027-12-31"))
    steps.extend(draw(st.lists(review, max_size=4)))  # reviews after everything is decided
    return roster, claims, batches, steps


def _row(k: int, c: dict) -> dict:  # noqa: ANN001
    name = MEMBERS[c["member"]]
    if c["product"] == "HOSP":
        base = c["base"]
        return hosp_row(claim_no=f"C{k:02d}", member_id_number=c["member"], member_name=name + ("x" if c["typo"] else ""),
                        admission_date=c["adm"].isoformat(), discharge_date=c["dis"].isoformat(),
                        submitted_date=(c["dis"] + dt.timedelta(days=c["after"])).isoformat(), cause=c["cause"],
                        total_cost=f"{(base + 100_000) // 100}.{(base + 100_000) % 100:02d}", insurance_paid="0.00",
                        in_policy_self_pay=f"{base // 100}.{base % 100:02d}", out_of_policy_self_pay="1000.00")
    return women_row(claim_no=f"C{k:02d}", member_id_number=c["member"], member_name=name,
                     diagnosis_code=c["code"], diagnosis_date=c["day"].isoformat(), surgery=c["surgery"],
                     pathology_confirmed=c["pathology"],
                     submitted_date=(c["day"] + dt.timedelta(days=c["after"])).isoformat())


def _claims(db) -> list[Claim]:  # noqa: ANN001
    with db.sessions() as s:
        return list(s.execute(select(Claim).order_by(Claim.decision_seq, Claim.id)).scalars())


def check_invariants(db) -> None:  # noqa: ANN001
    """No negative payout, no member above a cap, no category paid twice, no stay paid twice
    by the engine (only an auditor may knowingly approve a second claim for a stay)."""
    with db.sessions() as s:
        enrollments = {e.id: e for e in s.execute(select(Enrollment)).scalars()}
    claims = [c for c in _claims(db) if c.status != "RECEIVED"]
    per_period: dict[int, int] = defaultdict(int)
    per_category: dict[tuple[str, str], int] = defaultdict(int)
    for c in claims:
        assert c.payout_fen >= 0
        if c.status == "REJECTED":
            assert c.payout_fen == 0
        if c.status not in COUNTING:
            continue
        if c.product == "HOSP" and c.enrollment_id:
            per_period[c.enrollment_id] += c.payout_fen
        if c.product == "WOMEN" and c.category:
            per_category[(c.member_id_number, c.category)] += c.payout_fen
    for eid, paid in per_period.items():
        e = enrollments[eid]
        assert paid <= to_fen(policies()[e.policy_version].products.HOSP.annual_cap), (eid, paid)
    units = {(c.member_id_number, c.category): enrollments[c.enrollment_id].units for c in claims
             if c.product == "WOMEN" and c.category and c.enrollment_id}
    categories = policies()[2026].products.WOMEN.categories
    for key, paid in per_category.items():
        assert paid <= to_fen(categories[key[1]].amount_per_unit) * units.get(key, 1), (key, paid)
    counting = [c for c in claims if c.status in COUNTING and c.product == "HOSP"]
    for i, later in enumerate(counting):
        if later.decided_by != ENGINE_USER:
            continue
        for earlier in counting[:i]:
            if earlier.member_id_number == later.member_id_number:
                assert not stays_overlap(earlier.admission_date, earlier.discharge_date,
                                         later.admission_date, later.discharge_date), (earlier.claim_no, later.claim_no)


def replay(db) -> dict[str, tuple[str, int, str]]:  # noqa: ANN001
    """Every decided claim decided again from scratch, member by member in processing order;
    claims an auditor decided are pinned as the auditor left them."""
    decided = [c for c in _claims(db) if c.status != "RECEIVED"]
    by_member: dict[str, list[Claim]] = defaultdict(list)
    for c in decided:
        by_member[c.member_id_number].append(c)
    out: dict[str, tuple[str, int, str]] = {}
    with db.sessions() as s:
        for number, claims in by_member.items():
            member, enrollments = member_records(s, number)
            histories: dict[str, History] = defaultdict(History)
            for c in claims:  # decision_seq order
                history = histories[c.product]
                if c.decided_by != ENGINE_USER:
                    out[c.claim_no] = (c.status, c.payout_fen, c.reason_codes)
                    if c.status in COUNTING:
                        history.add(Prior.from_row(c))
                    continue
                claim_in = ClaimIn.from_row(s.execute(select(*CLAIM_IN_COLUMNS).where(Claim.id == c.id)).one())
                [(_, o)] = adjudicate_members([MemberCase(number, member, enrollments, history, [claim_in])])
                out[c.claim_no] = (o.status, o.payout_fen, o.reasons)
    return out


def play(db, tmp_path, roster, claims, batches, steps) -> None:  # noqa: ANN001
    _truncate(db)
    report = import_roster(db, write(tmp_path / "roster.csv", ROSTER_HEAD, roster))
    assert report.errors == []
    files = []
    for b in range(3):
        rows = [_row(k, c) for k, c in enumerate(claims) if batches[k] == b]
        if rows:
            files.append(write(tmp_path / f"batch{b}.csv", CLAIM_HEAD, rows))
    pending_files = list(files)
    for step in steps:
        if step[0] == "submit":
            if pending_files:
                rep = submit_batch(db, pending_files.pop(0), clerk="clerk")
                assert rep.errors == [], rep.errors
        elif step[0] == "run":
            job.run(db, as_of=D(step[1]))
        else:
            _, k, action, amount = step
            decided = [c.claim_no for c in _claims(db) if c.status != "RECEIVED"]
            if not decided:
                continue
            try:
                with db.transaction() as s:
                    review(s, decided[k % len(decided)], "reject" if action == "reject" else "approve", reason="核实",
                           user="auditor", as_of=dt.date(2027, 1, 1),
                           payout_fen=amount if action == "override" else None)
            except ReviewError:
                pass  # not decided yet, or above the limit: refused, nothing stored
        check_invariants(db)
    live = {c.claim_no: (c.status, c.payout_fen, c.reason_codes) for c in _claims(db)}
    assert all(status != "RECEIVED" for status, _, _ in live.values())
    assert replay(db) == live


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(scenario())
def test_any_sequence_of_runs_and_reviews_equals_a_replay(db, tmp_path, case):  # noqa: ANN001
    roster, claims, batches, steps = case
    play(db, tmp_path, roster, claims, batches, steps)


def test_replay_example_review_between_batches(db, tmp_path):
    """A worked sequence: an auditor approves a third-party stay, the same stay comes again."""
    claims = [{"product": "HOSP", "member": F1, "adm": D("2026-04-03"), "dis": D("2026-04-15"), "base": 1_200_000,
               "cause": "third_party", "typo": False, "after": 5},
              {"product": "HOSP", "member": F1, "adm": D("2026-04-03"), "dis": D("2026-04-15"), "base": 1_200_000,
               "cause": "illness", "typo": False, "after": 20}]
    roster = [roster_row(), roster_row(start_date="2025-01-01", end_date="2025-12-31")]
    play(db, tmp_path, roster, claims, [0, 1],
         [("submit",), ("run", "2026-06-30"), ("review", 0, "approve", 0), ("submit",), ("run", "2026-06-30"),
          ("run", "2027-12-31")])
    with db.sessions() as s:
        got = dict(s.execute(select(Claim.claim_no, Claim.reason_codes)).all())
    assert got == {"C00": "R05", "C01": "R06"}
