"""Property: whatever the sequence of runs, cancellations, bank failures, account fixes,
claim changes, re-imports and re-runs, every approved claim is bank-confirmed at most once
and its confirmed amount equals its payout (SQLite and PostgreSQL)."""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mutualaid.payments import service
from mutualaid.store.models import Claim
from mutualaid.store.models_payments import PaymentItem, PaymentRun
from tests.conftest import _truncate
from tests.payments_support import account_for, seed, set_claim, write_returns

N = 4
step = st.one_of(
    st.tuples(st.just("create"), st.booleans()),                       # approve it too?
    st.tuples(st.just("cancel"), st.integers(0, 3)),
    st.tuples(st.just("export"), st.integers(0, 3)),
    st.tuples(st.just("returns"), st.integers(0, 3), st.lists(st.sampled_from("SFX"), min_size=N, max_size=N)),
    st.tuples(st.just("reimport"), st.integers(0, 3)),
    st.tuples(st.just("fix"), st.integers(0, N - 1)),
    st.tuples(st.just("change"), st.integers(0, N - 1), st.sampled_from([0, 1, 77_700])),
    # a whole month: create, approve, export, bank answer
    st.tuples(st.just("cycle"), st.lists(st.sampled_from("SFX"), min_size=N, max_size=N)),
)
_txn = itertools.count()


def _runs(db, *statuses):
    with db.sessions() as s:
        return list(s.execute(select(PaymentRun.id).where(PaymentRun.status.in_(statuses)).order_by(PaymentRun.id)).scalars())


def _pick(ids, k):
    return ids[k % len(ids)] if ids else None


def apply(db, tmp, op, files):  # noqa: C901
    kind = op[0]
    if kind == "cycle":
        apply(db, tmp, ("create", True), files)
        runs = _runs(db, "APPROVED")
        if runs:
            run = runs[-1]
            apply(db, tmp, ("export", _runs(db, "APPROVED", "EXPORTED").index(run)), files)
            apply(db, tmp, ("returns", _runs(db, "EXPORTED", "CLOSED").index(run), op[1]), files)
        return
    try:
        if kind == "create":
            with db.transaction() as s:
                r = service.create_run(s, as_of=service.dt.date(2026, 12, 31), user="fin1")
            if r.run_id and op[1]:
                with db.transaction() as s:
                    service.approve_run(s, r.run_id, user="fin2")
        elif kind == "cancel" and (run := _pick(_runs(db, "CREATED", "APPROVED"), op[1])):
            with db.transaction() as s:
                service.cancel_run(s, run, user="fin1")
        elif kind == "export" and (run := _pick(_runs(db, "APPROVED", "EXPORTED"), op[1])):
            with db.transaction() as s:
                service.export_run(s, run, user="fin1")
        elif kind == "returns" and (run := _pick(_runs(db, "EXPORTED", "CLOSED"), op[1])):
            with db.sessions() as s:
                items = s.execute(select(PaymentItem).where(PaymentItem.run_id == run).order_by(PaymentItem.id)).scalars().all()
            rows = []
            for item, what in zip(items, op[2]):
                amount = service.fmt(item.amount_fen, fen=True)
                if what == "S":
                    rows.append([item.claim_no, item.account, amount, "SUCCESS", "", "2026-06-01", f"T{next(_txn)}"])
                elif what == "F":
                    rows.append([item.claim_no, item.account, amount, "FAILED", "卡已销户", "2026-06-01", ""])
            if rows:
                path = write_returns(tmp / f"ret{next(_txn)}.csv", rows)
                files.append(path)
                service.import_returns(db, path, user="fin1")
        elif kind == "reimport" and files:
            # the same lines with new bank transaction ids: a bank sending its file twice
            src = files[op[1] % len(files)]
            text = src.read_text(encoding="utf-8-sig").replace(",T", ",U")
            path = tmp / f"again{next(_txn)}.csv"
            path.write_text(text, encoding="utf-8-sig")
            service.import_returns(db, path, user="fin1")
        elif kind == "fix":
            with db.sessions() as s:
                number = s.execute(select(Claim.member_id_number).where(Claim.claim_no == f"C{op[1] + 1:04d}")).scalar()
            with db.transaction() as s:
                service.update_account(s, number, account_for(1000 + next(_txn)), reason="换卡", user="fin1")
        elif kind == "change":
            claim_no = f"C{op[1] + 1:04d}"
            with db.sessions() as s:  # once the file is at the bank the amount is fixed (see docs/payments.md)
                at_bank = s.execute(select(PaymentItem.id).join(PaymentRun, PaymentRun.id == PaymentItem.run_id).where(
                    PaymentItem.claim_no == claim_no, PaymentItem.status.in_(("PENDING", "PAID")),
                    PaymentRun.status.in_(("EXPORTED", "CLOSED")))).first()
            if at_bank is None:
                new = op[2]
                set_claim(db, claim_no, status="APPROVED" if new else "REJECTED", payout_fen=new)
    except service.PaymentError:
        pass


def check(db):
    with db.sessions() as s:
        claims = {c.claim_no: c for c in s.execute(select(Claim)).scalars()}
        confirmed: dict[str, list[int]] = {}
        for item in s.execute(select(PaymentItem).where(PaymentItem.status == "PAID")).scalars():
            confirmed.setdefault(item.claim_no, []).append(item.amount_fen)
        for claim_no, amounts in confirmed.items():
            assert len(amounts) == 1, (claim_no, amounts)
            c = claims[claim_no]
            assert c.status == "APPROVED" and amounts[0] == c.payout_fen, (claim_no, amounts, c.status, c.payout_fen)
        live = s.execute(select(PaymentItem.live_claim_id).where(PaymentItem.live_claim_id.is_not(None))).scalars().all()
        assert len(live) == len(set(live))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(step, min_size=1, max_size=14))
def test_confirmed_at_most_once_at_the_payout(db, tmp_path, ops):
    _truncate(db)
    seed(db, N)
    files: list = []
    for op in ops:
        apply(db, tmp_path, op, files)
        check(db)
