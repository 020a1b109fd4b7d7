"""Fund-ledger import: append-only, idempotent by voucher_no, bad lines explained."""
import pytest
from sqlalchemy import func, select

from mutualaid.ledger.importer import import_ledger
from mutualaid.store.models import LedgerLine
from tests.test_import import write

HEAD = ["entry_date", "voucher_no", "entry_type", "product", "amount", "reference", "memo"]


def line(date, voucher, kind, amount, reference="", product="", memo=""):
    return dict(entry_date=date, voucher_no=voucher, entry_type=kind, product=product, amount=amount,
                reference=reference, memo=memo)


BASE = [
    line("2026-01-01", "V1", "OPENING_BALANCE", "1,000,000.00"),
    line("2026-01-05", "V2", "CONTRIBUTION", "13,550.00", "TL0001", "HOSP"),
    line("2026-02-01", "V3", "PAYOUT", "7140.00", "TL2026-0001", "HOSP"),
    line("2026-02-20", "V4", "REVERSAL", "7140.00", "TL2026-0001", "HOSP", "银行卡已注销"),
    line("2026-02-25", "V5", "PAYOUT", "7140.00", "TL2026-0001", "HOSP"),
    line("2026-02-28", "V6", "ADJUSTMENT", "-12.34", "", "", "更正"),
]


def count(db):
    with db.sessions() as s:
        return s.execute(select(func.count()).select_from(LedgerLine)).scalar()


def test_ledger_import_and_idempotence(db, tmp_path):
    rep = import_ledger(db, write(tmp_path / "l.csv", HEAD, BASE))
    assert (rep.stored, rep.errors) == (6, [])
    rep = import_ledger(db, write(tmp_path / "l2.csv", HEAD, BASE + [line("2026-03-01", "V7", "INTEREST", "120.00")]))
    assert (rep.stored, rep.unchanged, rep.errors) == (1, 6, [])
    assert count(db) == 7
    with db.sessions() as s:
        adj = s.execute(select(LedgerLine).where(LedgerLine.voucher_no == "V6")).scalar_one()
        assert adj.amount_fen == -1234


@pytest.mark.parametrize("bad,column,code", [
    (line("2026-03-01", "X1", "GIFT", "10.00"), "entry_type", "bad_entry_type"),
    (line("2026-03-01", "X1", "PAYOUT", "-10.00", "C9"), "amount", "amount_not_positive"),
    (line("2026-03-01", "X1", "FEE", "0.00"), "amount", "amount_zero"),
    (line("2026-03-01", "X1", "REVERSAL", "10.00", "NEVER-PAID"), "reference", "reversal_without_payout"),
    (line("2026-03-01", "X1", "REVERSAL", "7140.01", "TL2026-0001"), "amount", "reversal_exceeds_paid"),
    (line("2026-03-01", "X1", "PAYOUT", "10.00"), "reference", "reference_required"),
    (line("2026-03-01", "V5", "PAYOUT", "7000.00", "TL2026-0001", "HOSP"), "voucher_no", "conflict"),
    (line("2026-03-01", "X1", "OPENING_BALANCE", "5.00"), "entry_type", "opening_not_first"),
    (line("2025-12-31", "X1", "INTEREST", "5.00"), "entry_date", "before_opening"),
    (line("2026-02-30", "X1", "INTEREST", "5.00"), "entry_date", "bad_date"),
    (line("2026-03-01", "X1", "INTEREST", "5.00", product="CAR"), "product", "bad_ledger_product"),
])
def test_bad_ledger_lines(db, tmp_path, bad, column, code):
    import_ledger(db, write(tmp_path / "l.csv", HEAD, BASE))
    rep = import_ledger(db, write(tmp_path / "bad.csv", HEAD, [bad, line("2026-03-02", "OK1", "FEE", "1.00")]))
    assert [(e.row, e.column, e.code) for e in rep.errors] == [(2, column, code)]
    assert rep.stored == 1 and count(db) == 7
    with db.sessions() as s:  # the stored line was not touched
        assert s.execute(select(LedgerLine.amount_fen).where(LedgerLine.voucher_no == "V5")).scalar() == 714_000


def test_reversal_in_same_file_after_payout(db, tmp_path):
    rep = import_ledger(db, write(tmp_path / "l.csv", HEAD, [
        line("2026-01-01", "A", "PAYOUT", "10.00", "C1"), line("2026-01-02", "B", "REVERSAL", "10.00", "C1")]))
    assert rep.errors == [] and rep.stored == 2
