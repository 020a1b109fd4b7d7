"""Reconciliation totals are integer-fen values that add up (issue 13): the summary is
rendered from them, and the distributed merge adds the parts' totals."""
from __future__ import annotations

from batch.distributed import merge_reconciliations
from mutualaid.ledger.reconcile import Figures, ReconTotals, reconcile
from tests.test_reconcile import claims_df, ledger_df


def test_totals_are_exact_fen_and_the_summary_is_rendered_from_them():
    claims = claims_df(("C1", 10_001, "2026-03-02"), ("C2", 5_000, "2026-03-05", "APPROVED", "WOMEN"))
    ledger = ledger_df(("V0", "2026-02-01", "OPENING_BALANCE", 1_000_000),
                       ("V1", "2026-03-10", "PAYOUT", 10_001, "C1"),
                       ("V2", "2026-03-11", "PAYOUT", 3, "NOPE"),
                       ("V3", "2026-03-12", "ADJUSTMENT", -7))
    rec = reconcile("2026-03", claims, ledger)
    t = rec.totals
    assert t.by_status["MATCHED"] == Figures(1, 10_001, 10_001)
    assert t.by_status["UNPAID"] == Figures(1, 5_000, 0)
    assert t.by_status["UNKNOWN_CLAIM"] == Figures(1, 0, 3)
    assert t.items == Figures(3, 15_001, 10_004) and t.items.difference == -4_997
    assert t.by_product == {"HOSP": Figures(0, 10_001, 10_001), "WOMEN": Figures(0, 5_000, 0),
                            "UNSPECIFIED": Figures(0, 0, 3)}
    assert (t.opening, t.total_inflows, t.total_outflows, t.closing) == (1_000_000, 0, 10_001 + 3 + 7, 989_989)
    s = rec.summary
    assert s == t.summary("2026-03", rec.first_day, rec.last_day)
    assert s["items"] == {"count": 3, "approved": "150.01", "paid": "100.04", "difference": "-49.97"}
    assert s["roll_forward"]["closing"] == "9899.89"
    assert list(s["by_product"]) == ["HOSP", "WOMEN", "UNSPECIFIED"]


def test_totals_add_up_and_the_merge_is_their_sum():
    claims = claims_df(*((f"C{k}", 1, "2026-03-02") for k in range(10)))
    ledger = ledger_df(*((f"V{k}", "2026-03-10", "PAYOUT", 1, f"C{k}") for k in range(10)))
    parts = [reconcile("2026-03", claims.iloc[k:k + 1], ledger.iloc[k:k + 1]) for k in range(10)]
    merged = merge_reconciliations("2026-03", parts)
    whole = reconcile("2026-03", claims, ledger)
    assert merged.totals == whole.totals == sum((p.totals for p in parts[1:]), parts[0].totals)
    assert merged.totals.by_status["MATCHED"] == Figures(10, 10, 10)   # ten single fen, exactly
    assert merged.summary == whole.summary


def test_the_merge_does_not_read_the_parts_summaries():
    claims = claims_df(("C1", 100, "2026-03-02"))
    ledger = ledger_df(("V1", "2026-03-10", "PAYOUT", 100, "C1"))
    part = reconcile("2026-03", claims, ledger)
    part.summary["items"]["paid"] = "not money"   # a rendered string is output, never input
    assert merge_reconciliations("2026-03", [part]).summary["items"]["paid"] == "1.00"


def test_adding_keeps_every_product_of_either_side():
    a = ReconTotals({"MATCHED": Figures(1, 2, 2)}, {"HOSP": Figures(0, 2, 2)}, 5, {"INTEREST": 1}, {"FEE": 1})
    b = ReconTotals({"UNPAID": Figures(1, 3, 0)}, {"WOMEN": Figures(0, 3, 0)}, -5, {"INTEREST": 2}, {})
    c = a + b
    assert c.by_product == {"HOSP": Figures(0, 2, 2), "WOMEN": Figures(0, 3, 0)}
    assert c.items == Figures(2, 5, 2) and (c.opening, c.total_inflows, c.total_outflows, c.closing) == (0, 3, 1, 2)

