"""Monthly reconciliation (reconciliation.md): statuses, roll-forward, report files."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mutualaid import money
from mutualaid.dates import month_bounds
from mutualaid.ledger.reconcile import (
    ENTRY_TYPES,
    ITEM_COLUMNS,
    STATUS_ORDER,
    _text_order,
    reconcile,
)
from mutualaid.ledger.report import ITEMS_CSV_COLUMNS, fen_text, write_reports

D = dt.date
PR = ("PAYOUT", "REVERSAL")


# --- building blocks ----------------------------------------------------------------------

def claims_df(*rows: tuple) -> pd.DataFrame:
    """rows: (claim_no, payout_fen, decided_on, status='APPROVED', product='HOSP')."""
    full = [(r + ("APPROVED", "HOSP")[len(r) - 3:]) if len(r) < 5 else r for r in rows]
    df = pd.DataFrame(full, columns=["claim_no", "payout_fen", "decided_on", "status", "product"])
    df["payout_fen"] = df["payout_fen"].astype("int64")
    df["decided_on"] = pd.to_datetime(df["decided_on"])
    return df[["claim_no", "product", "status", "payout_fen", "decided_on"]]


def ledger_df(*rows: tuple) -> pd.DataFrame:
    """rows: (voucher_no, entry_date, entry_type, amount_fen, reference=None, product=None)."""
    full = [r + (None,) * (6 - len(r)) for r in rows]
    df = pd.DataFrame(full, columns=["voucher_no", "entry_date", "entry_type", "amount_fen", "reference", "product"])
    df["amount_fen"] = df["amount_fen"].astype("int64")
    df["entry_date"] = pd.to_datetime(df["entry_date"])
    return df


NO_CLAIMS = claims_df()
NO_LINES = ledger_df()


def closes(rf: dict) -> bool:
    """opening + inflows - outflows == closing, in exact decimals."""
    keys = ("opening", "total_inflows", "total_outflows", "closing")
    opening, inflows, outflows, closing = (Decimal(rf[k]) for k in keys)
    return opening + inflows - outflows == closing


def items_of(rec) -> dict[str, dict]:
    return {row["item_key"]: row for row in rec.items.to_dict("records")}


def only_item(rec) -> dict:
    assert len(rec.items) == 1, rec.items
    return rec.items.iloc[0].to_dict()


# --- one test per status ------------------------------------------------------------------

def test_matched():
    rec = reconcile("2026-03", claims_df(("C1", 100_000, D(2026, 3, 2))),
                    ledger_df(("V1", D(2026, 3, 5), "PAYOUT", 100_000, "C1", "HOSP")))
    it = only_item(rec)
    assert (it["status"], it["approved_fen"], it["paid_fen"], it["difference_fen"]) == ("MATCHED", 100_000, 100_000, 0)
    assert it["vouchers"] == "V1" and it["item_key"] == "C1" and it["product"] == "HOSP"
    assert pd.isna(it["days_outstanding"])


def test_unpaid_with_days_outstanding():
    rec = reconcile("2026-03", claims_df(("C1", 50_000, D(2026, 2, 10))), NO_LINES)
    it = only_item(rec)
    assert (it["status"], it["paid_fen"], it["difference_fen"]) == ("UNPAID", 0, -50_000)
    assert it["days_outstanding"] == (D(2026, 3, 31) - D(2026, 2, 10)).days == 49
    assert it["vouchers"] == ""


def test_underpaid():
    rec = reconcile("2026-03", claims_df(("C1", 1000, D(2026, 3, 2))),
                    ledger_df(("V1", D(2026, 3, 5), "PAYOUT", 600, "C1")))
    it = only_item(rec)
    assert (it["status"], it["paid_fen"], it["difference_fen"]) == ("UNDERPAID", 600, -400)


def test_overpaid_is_not_a_duplicate():
    rec = reconcile("2026-03", claims_df(("C1", 1000, D(2026, 3, 2))),
                    ledger_df(("V1", D(2026, 3, 5), "PAYOUT", 1000, "C1"), ("V2", D(2026, 3, 6), "PAYOUT", 500, "C1")))
    it = only_item(rec)
    assert (it["status"], it["paid_fen"], it["difference_fen"], it["vouchers"]) == ("OVERPAID", 1500, 500, "V1;V2")


def test_duplicate_payment():
    rec = reconcile("2026-03", claims_df(("C1", 1000, D(2026, 3, 2))),
                    ledger_df(("V2", D(2026, 3, 5), "PAYOUT", 1000, "C1"), ("V1", D(2026, 3, 5), "PAYOUT", 1000, "C1")))
    it = only_item(rec)
    assert (it["status"], it["paid_fen"], it["difference_fen"]) == ("DUPLICATE_PAYMENT", 2000, 1000)
    assert it["vouchers"] == "V1;V2"  # sorted


def test_duplicate_across_months_and_a_returned_duplicate_is_matched():
    claims = claims_df(("C1", 1000, D(2026, 2, 2)))
    ledger = ledger_df(("V1", D(2026, 2, 5), "PAYOUT", 1000, "C1"), ("V2", D(2026, 3, 1), "PAYOUT", 1000, "C1"),
                       ("V3", D(2026, 4, 2), "REVERSAL", 1000, "C1"))
    assert only_item(reconcile("2026-03", claims, ledger))["status"] == "DUPLICATE_PAYMENT"
    april = only_item(reconcile("2026-04", claims, ledger))
    assert (april["status"], april["paid_fen"], april["vouchers"]) == ("MATCHED", 1000, "V1;V2;V3")
    assert reconcile("2026-05", claims, ledger).items.empty


@pytest.mark.parametrize("status,payout", [("REJECTED", 0), ("PENDING_REVIEW", 0), ("RECEIVED", 0), ("APPROVED", 0)])
def test_not_approved(status, payout):
    decided = D(2026, 3, 2) if status != "RECEIVED" else None
    rec = reconcile("2026-03", claims_df(("C1", payout, decided, status, "WOMEN")),
                    ledger_df(("V1", D(2026, 3, 5), "PAYOUT", 800, "C1")))
    it = only_item(rec)
    assert (it["status"], it["approved_fen"], it["paid_fen"], it["difference_fen"]) == ("NOT_APPROVED", 0, 800, 800)
    assert it["product"] == "WOMEN"


def test_unknown_claim_one_item_per_line():
    rec = reconcile("2026-03", claims_df(("C1", 1000, D(2026, 3, 2))), ledger_df(
        ("V1", D(2026, 3, 5), "PAYOUT", 1000, "C1"),
        ("V7", D(2026, 3, 5), "PAYOUT", 300, "NOPE", "WOMEN"),
        ("V8", D(2026, 3, 6), "REVERSAL", 300, "NOPE"),
        ("V9", D(2026, 3, 6), "PAYOUT", 10, None),
        ("V6", D(2026, 2, 6), "PAYOUT", 10, "OLD"),  # not in March: no item
    ))
    items = items_of(rec)
    assert set(items) == {"C1", "V7", "V8", "V9"}
    assert (items["V7"]["status"], items["V7"]["claim_no"], items["V7"]["paid_fen"], items["V7"]["product"]) == \
        ("UNKNOWN_CLAIM", "NOPE", 300, "WOMEN")
    assert (items["V8"]["paid_fen"], items["V8"]["difference_fen"], items["V8"]["vouchers"]) == (-300, -300, "V8")
    assert pd.isna(items["V9"]["claim_no"]) and pd.isna(items["V9"]["product"])
    # unknown block ordered by reference (missing first), then voucher
    assert list(rec.items["item_key"]) == ["V9", "V7", "V8", "C1"]


# --- sequences over months -----------------------------------------------------------------

def test_reversal_then_repayment_of_the_same_claim():
    claims = claims_df(("C1", 1000, D(2026, 2, 3)))
    ledger = ledger_df(("V1", D(2026, 2, 5), "PAYOUT", 1000, "C1"),      # February: matched
                       ("V2", D(2026, 3, 10), "REVERSAL", 1000, "C1"),   # March: returned (closed card)
                       ("V3", D(2026, 4, 8), "PAYOUT", 1000, "C1"))      # April: paid again
    assert only_item(reconcile("2026-02", claims, ledger))["status"] == "MATCHED"
    march = only_item(reconcile("2026-03", claims, ledger))
    assert (march["status"], march["paid_fen"], march["vouchers"]) == ("UNPAID", 0, "V1;V2")
    assert march["days_outstanding"] == (D(2026, 3, 31) - D(2026, 2, 3)).days
    april = only_item(reconcile("2026-04", claims, ledger))
    assert (april["status"], april["paid_fen"], april["vouchers"]) == ("MATCHED", 1000, "V1;V2;V3")
    assert reconcile("2026-05", claims, ledger).items.empty


def test_reversal_and_repayment_in_the_same_month_is_matched():
    rec = reconcile("2026-03", claims_df(("C1", 1000, D(2026, 3, 1))), ledger_df(
        ("V1", D(2026, 3, 2), "PAYOUT", 1000, "C1"), ("V2", D(2026, 3, 9), "REVERSAL", 1000, "C1"),
        ("V3", D(2026, 3, 20), "PAYOUT", 1000, "C1")))
    assert (only_item(rec)["status"], only_item(rec)["paid_fen"]) == ("MATCHED", 1000)


def test_claim_approved_after_the_month():
    claims = claims_df(("C1", 1000, D(2026, 4, 3)))
    ledger = ledger_df(("V1", D(2026, 3, 28), "PAYOUT", 1000, "C1"))
    march = only_item(reconcile("2026-03", claims, ledger))
    assert (march["status"], march["approved_fen"], march["paid_fen"], march["difference_fen"]) == \
        ("NOT_APPROVED", 0, 1000, 1000)
    # April: approved, no ledger line in April, but not MATCHED at the end of March -> an item
    april = only_item(reconcile("2026-04", claims, ledger))
    assert (april["status"], april["approved_fen"], april["vouchers"]) == ("MATCHED", 1000, "V1")
    assert reconcile("2026-05", claims, ledger).items.empty
    # an approved-after-M claim without any payment is no item of M
    assert reconcile("2026-03", claims, NO_LINES).items.empty


def test_paid_before_approval_in_the_same_month():
    rec = reconcile("2026-03", claims_df(("C1", 1000, D(2026, 3, 20))),
                    ledger_df(("V1", D(2026, 3, 2), "PAYOUT", 1000, "C1")))
    assert only_item(rec)["status"] == "MATCHED"


def test_not_approved_payout_fully_reversed():
    claims = claims_df(("C1", 0, D(2026, 2, 1), "REJECTED"))
    ledger = ledger_df(("V1", D(2026, 2, 5), "PAYOUT", 700, "C1"), ("V2", D(2026, 3, 3), "REVERSAL", 700, "C1"))
    assert only_item(reconcile("2026-02", claims, ledger))["status"] == "NOT_APPROVED"
    march = only_item(reconcile("2026-03", claims, ledger))
    assert (march["status"], march["paid_fen"], march["difference_fen"], march["vouchers"]) == \
        ("NOT_APPROVED", 0, 0, "V1;V2")
    assert reconcile("2026-04", claims, ledger).items.empty


def test_more_reversed_than_paid_is_unpaid():
    rec = reconcile("2026-03", claims_df(("C1", 1000, D(2026, 3, 1))),
                    ledger_df(("V1", D(2026, 3, 2), "REVERSAL", 400, "C1")))
    it = only_item(rec)
    assert (it["status"], it["paid_fen"], it["difference_fen"]) == ("UNPAID", -400, -1400)


def test_unpaid_carries_over_and_matched_does_not():
    claims = claims_df(("C1", 1000, D(2026, 1, 10)), ("C2", 2000, D(2026, 1, 12)))
    ledger = ledger_df(("V1", D(2026, 1, 20), "PAYOUT", 2000, "C2"))
    feb = items_of(reconcile("2026-02", claims, ledger))
    assert list(feb) == ["C1"] and feb["C1"]["days_outstanding"] == 49  # Jan 10 -> Feb 28
    mar = items_of(reconcile("2026-03", claims, ledger))
    assert list(mar) == ["C1"] and mar["C1"]["days_outstanding"] == 80  # Jan 10 -> Mar 31


def test_month_without_activity():
    claims = claims_df(("C1", 1000, D(2026, 1, 10)))
    ledger = ledger_df(("V0", D(2026, 1, 1), "OPENING_BALANCE", 500_000), ("V1", D(2026, 1, 20), "PAYOUT", 1000, "C1"),
                       ("V2", D(2026, 5, 1), "CONTRIBUTION", 10, "U1"))
    rec = reconcile("2026-03", claims, ledger)
    assert rec.items.empty and list(rec.items.columns) == list(ITEM_COLUMNS)
    rf = rec.summary["roll_forward"]
    assert rf["opening"] == rf["closing"] == "4990.00"
    assert set(rf["inflows"].values()) == set(rf["outflows"].values()) == {"0.00"}
    assert all(v["count"] == 0 for v in rec.summary["by_status"].values())
    assert rec.summary["by_product"] == {"HOSP": {"approved": "0.00", "paid": "0.00", "difference": "0.00"}}
    # nothing at all
    empty = reconcile("2026-03", NO_CLAIMS, NO_LINES)
    assert empty.items.empty and empty.summary["roll_forward"]["closing"] == "0.00"
    assert empty.summary["by_product"] == {}


# --- summary --------------------------------------------------------------------------------

def test_roll_forward_and_products():
    claims = claims_df(("H1", 10_000, D(2026, 3, 2), "APPROVED", "HOSP"),
                       ("W1", 5_000, D(2026, 3, 3), "APPROVED", "WOMEN"),
                       ("H0", 7_000, D(2026, 2, 3), "APPROVED", "HOSP"))
    ledger = ledger_df(
        ("V00", D(2025, 12, 31), "OPENING_BALANCE", 1_000_000),
        ("V01", D(2026, 2, 10), "CONTRIBUTION", 300_000, "U1", "HOSP"),
        ("V02", D(2026, 2, 11), "PAYOUT", 7_000, "H0", "HOSP"),
        ("V10", D(2026, 3, 1), "CONTRIBUTION", 200_000, "U1", "HOSP"),
        ("V11", D(2026, 3, 2), "SUBSIDY", 50_000),
        ("V12", D(2026, 3, 3), "INTEREST", 123),
        ("V13", D(2026, 3, 4), "PAYOUT", 10_000, "H1", "WOMEN"),  # mislabelled: counts under its claim's product
        ("V14", D(2026, 3, 5), "PAYOUT", 5_000, "W1", "WOMEN"),
        ("V15", D(2026, 3, 6), "REVERSAL", 7_000, "H0", "HOSP"),
        ("V16", D(2026, 3, 7), "FEE", 45),
        ("V17", D(2026, 3, 8), "ADJUSTMENT", 100),
        ("V18", D(2026, 3, 9), "ADJUSTMENT", -250),
        ("V19", D(2026, 3, 10), "PAYOUT", 99, "ZZ"),
        ("V20", D(2026, 4, 1), "FEE", 1),  # after the month: ignored
    )
    s = reconcile("2026-03", claims, ledger).summary
    rf = s["roll_forward"]
    assert rf["opening"] == "12930.00"  # 1,000,000 + 300,000 - 7,000 fen
    assert rf["inflows"] == {"OPENING_BALANCE": "0.00", "CONTRIBUTION": "2000.00", "SUBSIDY": "500.00",
                             "INTEREST": "1.23", "REVERSAL": "70.00", "ADJUSTMENT": "1.00"}
    assert rf["outflows"] == {"PAYOUT": "150.99", "FEE": "0.45", "ADJUSTMENT": "2.50"}
    assert rf["total_inflows"] == "2572.23" and rf["total_outflows"] == "153.94"
    assert rf["closing"] == "15348.29"
    assert closes(rf)
    assert s["by_product"] == {
        "HOSP": {"approved": "100.00", "paid": "30.00", "difference": "-70.00"},
        "WOMEN": {"approved": "50.00", "paid": "50.00", "difference": "0.00"},
        "UNSPECIFIED": {"approved": "0.00", "paid": "0.99", "difference": "0.99"},
    }
    assert s["by_status"]["MATCHED"] == {"count": 2, "approved": "150.00", "paid": "150.00", "difference": "0.00"}
    assert s["by_status"]["UNPAID"]["count"] == 1 and s["by_status"]["UNKNOWN_CLAIM"]["paid"] == "0.99"
    assert s["items"] == {"count": 4, "approved": "220.00", "paid": "150.99", "difference": "-69.01"}
    assert list(s["by_status"]) == list(STATUS_ORDER)


def test_order_late_unpaid_first_then_status_then_claim_no():
    claims = claims_df(("B", 100, D(2026, 3, 1)), ("A", 100, D(2026, 3, 1)), ("C", 100, D(2026, 1, 5)),
                       ("M2", 100, D(2026, 3, 1)), ("M1", 100, D(2026, 3, 1)), ("R", 0, D(2026, 3, 1), "REJECTED"),
                       ("U", 100, D(2026, 3, 1)))
    ledger = ledger_df(("V1", D(2026, 3, 2), "PAYOUT", 100, "M2"), ("V2", D(2026, 3, 2), "PAYOUT", 100, "M1"),
                       ("V3", D(2026, 3, 2), "PAYOUT", 100, "R"), ("V4", D(2026, 3, 2), "PAYOUT", 50, "U"),
                       ("V5", D(2026, 3, 2), "PAYOUT", 100, "X"))
    rec = reconcile("2026-03", claims, ledger)
    assert list(rec.items["item_key"]) == ["C", "A", "B", "U", "R", "V5", "M1", "M2"]
    assert list(rec.items["status"]) == ["UNPAID", "UNPAID", "UNPAID", "UNDERPAID", "NOT_APPROVED",
                                         "UNKNOWN_CLAIM", "MATCHED", "MATCHED"]


def test_input_order_and_types_do_not_matter():
    claims = claims_df(("C1", 1000, D(2026, 3, 2)), ("C2", 1000, D(2026, 1, 2)), ("C3", 0, D(2026, 3, 2), "REJECTED"),
                       ("C4", 500, None, "PENDING_REVIEW", "WOMEN"), ("C9", 900, D(2026, 3, 9)))
    ledger = ledger_df(("V1", D(2026, 3, 5), "PAYOUT", 1000, "C1"), ("V2", D(2026, 3, 5), "PAYOUT", 1000, "C1"),
                       ("V3", D(2026, 3, 5), "PAYOUT", 10, "C3"), ("V4", D(2026, 2, 5), "PAYOUT", 10, "C2"),
                       ("V5", D(2026, 3, 5), "PAYOUT", 10, "C4"), ("V6", D(2026, 3, 5), "REVERSAL", 10, "Q"),
                       ("V7", D(2026, 1, 5), "CONTRIBUTION", 10_000, "U1"), ("V8", D(2026, 3, 5), "ADJUSTMENT", -5))
    base = reconcile("2026-03", claims, ledger)
    shuffled = reconcile("2026-03", claims.sample(frac=1, random_state=1), ledger.sample(frac=1, random_state=2))
    pd.testing.assert_frame_equal(base.items, shuffled.items)
    assert base.summary == shuffled.summary
    # plain object columns holding date objects / None, as a database driver returns them
    as_objects = reconcile(
        "2026-03",
        claims.astype(object).assign(decided_on=[d.date() if not pd.isna(d) else None for d in claims["decided_on"]]),
        ledger.astype(object).assign(entry_date=[d.date() for d in ledger["entry_date"]],
                                     amount_fen=ledger["amount_fen"].tolist()),
    )
    pd.testing.assert_frame_equal(base.items, as_objects.items)
    assert base.summary == as_objects.summary
    # pandas "string" columns (missing = pd.NA), as batch.reconcile.load_frames reads them
    as_string = reconcile(
        "2026-03",
        claims.astype({"claim_no": "string", "product": "string", "status": "string"}),
        ledger.astype({"voucher_no": "string", "entry_type": "string", "product": "string", "reference": "string"}),
    )
    pd.testing.assert_frame_equal(base.items, as_string.items)
    assert base.summary == as_string.summary


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="not unique"):
        reconcile("2026-03", claims_df(("C1", 1, D(2026, 3, 1)), ("C1", 1, D(2026, 3, 1))), NO_LINES)
    with pytest.raises(ValueError, match="entry types"):
        reconcile("2026-03", NO_CLAIMS, ledger_df(("V1", D(2026, 3, 1), "GIFT", 1)))
    with pytest.raises(ValueError, match="lacks columns"):
        reconcile("2026-03", NO_CLAIMS, NO_LINES.drop(columns=["reference"]))
    with pytest.raises(ValueError):
        reconcile("2026-13", NO_CLAIMS, NO_LINES)


# --- property: an independent, loop-per-claim reading of the spec agrees ------------------

def _oracle(month: str, claims: list[dict], lines: list[dict]) -> tuple[list[tuple], dict[str, int]]:
    """Plain-Python reconciliation following the module's documented rules."""
    first, last = month_bounds(month)
    prev = first - dt.timedelta(days=1)
    nos = {c["claim_no"] for c in claims}

    def approved(c, day):
        return (c["status"] == "APPROVED" and c["payout_fen"] > 0
                and c["decided_on"] is not None and c["decided_on"] <= day)

    def paid(no, day):
        return sum(l["amount_fen"] * (1 if l["entry_type"] == "PAYOUT" else -1) for l in lines
                   if l["reference"] == no and l["entry_type"] in PR and l["entry_date"] <= day)

    items = []
    for c in claims:
        mine = [l for l in lines if l["reference"] == c["claim_no"] and l["entry_type"] in PR]
        active = any(first <= l["entry_date"] <= last for l in mine)
        matched_prev = approved(c, prev) and paid(c["claim_no"], prev) == c["payout_fen"]
        if not (active or (approved(c, last) and not matched_prev)):
            continue
        p = paid(c["claim_no"], last)
        a = c["payout_fen"] if approved(c, last) else 0
        days = None
        if not approved(c, last):
            status = "NOT_APPROVED"
        elif p == a:
            status = "MATCHED"
        elif p <= 0:
            status, days = "UNPAID", (last - c["decided_on"]).days
        elif p < a:
            status = "UNDERPAID"
        elif sum(1 for l in mine
                 if l["entry_type"] == "PAYOUT" and l["amount_fen"] == a and l["entry_date"] <= last) >= 2:
            status = "DUPLICATE_PAYMENT"
        else:
            status = "OVERPAID"
        vouchers = ";".join(sorted(l["voucher_no"] for l in mine if l["entry_date"] <= last))
        items.append((c["claim_no"], c["claim_no"], status, a, p, vouchers, days))
    for l in lines:
        if l["entry_type"] in PR and first <= l["entry_date"] <= last and l["reference"] not in nos:
            signed = l["amount_fen"] * (1 if l["entry_type"] == "PAYOUT" else -1)
            items.append((l["voucher_no"], l["reference"], "UNKNOWN_CLAIM", 0, signed, l["voucher_no"], None))
    items.sort(key=lambda i: (STATUS_ORDER.index(i[2]), -(i[6] or 0), i[1] or "", i[0]))

    sign = {"PAYOUT": -1, "FEE": -1}

    def signed_sum(pred) -> int:
        return sum(l["amount_fen"] * sign.get(l["entry_type"], 1) for l in lines if pred(l))
    roll = {"opening": signed_sum(lambda l: l["entry_date"] < first),
            "closing": signed_sum(lambda l: l["entry_date"] <= last)}
    return items, roll


DAYS = st.dates(min_value=D(2026, 1, 1), max_value=D(2026, 4, 30))
CLAIM_NOS = [f"C{i}" for i in range(6)]


@st.composite
def scenarios(draw):
    """A few claims (mostly approved payouts), payout lines around them, and fund lines."""
    claims = [
        {"claim_no": no, "product": draw(st.sampled_from(["HOSP", "WOMEN"])),
         "status": draw(st.sampled_from(["APPROVED"] * 4 + ["REJECTED", "PENDING_REVIEW", "RECEIVED"])),
         "payout_fen": draw(st.sampled_from([0, 100, 250, 1000, 1000])),
         "decided_on": None if draw(st.integers(0, 4)) == 0 else draw(DAYS)}
        for no in draw(st.lists(st.sampled_from(CLAIM_NOS), unique=True, max_size=6))
    ]
    amounts = st.sampled_from([50, 100, 250, 1000]) | st.integers(1, 5000)
    lines = []

    def line(etype, amount, ref):
        lines.append({"voucher_no": f"V{draw(st.integers(0, 99)):02d}-{len(lines)}", "entry_date": draw(DAYS),
                      "entry_type": etype, "amount_fen": amount, "reference": ref,
                      "product": draw(st.sampled_from(["HOSP", "WOMEN", None]))})

    for c in claims:  # payouts of this claim: mostly its approved amount, some returned
        for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 3]))):
            exact = c["payout_fen"] > 0 and draw(st.integers(0, 3)) > 0
            line(draw(st.sampled_from(["PAYOUT", "PAYOUT", "PAYOUT", "REVERSAL"])),
                 c["payout_fen"] if exact else draw(amounts), c["claim_no"])
    for _ in range(draw(st.integers(0, 10))):  # anything else, unknown references included
        etype = draw(st.sampled_from(ENTRY_TYPES))
        amount = draw(amounts)
        if etype == "ADJUSTMENT" and draw(st.booleans()):
            amount = -amount
        line(etype, amount, draw(st.sampled_from(CLAIM_NOS + ["X1", "X2", None])) if etype in PR else None)
    month = draw(st.sampled_from(["2026-01", "2026-02", "2026-03", "2026-04"]))
    return month, claims, draw(st.permutations(lines))


def _frames(claims: list[dict], lines: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    c = pd.DataFrame(claims, columns=["claim_no", "product", "status", "payout_fen", "decided_on"])
    c["payout_fen"] = c["payout_fen"].astype("int64")
    c["decided_on"] = pd.to_datetime(c["decided_on"])
    l = pd.DataFrame(lines, columns=["voucher_no", "entry_date", "entry_type", "product", "amount_fen", "reference"])
    l["amount_fen"] = l["amount_fen"].astype("int64")
    l["entry_date"] = pd.to_datetime(l["entry_date"])
    return c, l


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_property_roll_forward_vouchers_and_oracle(scenario):
    month, claims, lines = scenario
    rec = reconcile(month, *_frames(claims, lines))
    first, last = month_bounds(month)

    # the roll-forward closes, and opening/closing are the signed sums of the spec
    rf = rec.summary["roll_forward"]
    assert closes(rf)
    assert sum(map(Decimal, rf["inflows"].values())) == Decimal(rf["total_inflows"])
    assert sum(map(Decimal, rf["outflows"].values())) == Decimal(rf["total_outflows"])
    expected_items, roll = _oracle(month, claims, lines)
    assert rf["opening"] == money.fmt(roll["opening"], fen=True)
    assert rf["closing"] == money.fmt(roll["closing"], fen=True)

    # every PAYOUT/REVERSAL line dated in M is in exactly one item's vouchers
    listed = [v for vs in rec.items["vouchers"] for v in vs.split(";") if v]
    for l in lines:
        if l["entry_type"] in PR and first <= l["entry_date"] <= last:
            assert listed.count(l["voucher_no"]) == 1
    assert rec.items["item_key"].is_unique

    # items, statuses, amounts and order agree with the loop-per-claim reading
    got = [(r["item_key"], None if pd.isna(r["claim_no"]) else r["claim_no"], r["status"], r["approved_fen"],
            r["paid_fen"], r["vouchers"], None if pd.isna(r["days_outstanding"]) else r["days_outstanding"])
           for r in rec.items.to_dict("records")]
    assert got == expected_items
    assert (rec.items["difference_fen"] == rec.items["paid_fen"] - rec.items["approved_fen"]).all()
    counts = rec.items["status"].value_counts()
    assert all(rec.summary["by_status"][s]["count"] == counts.get(s, 0) for s in STATUS_ORDER)


# --- report files ---------------------------------------------------------------------------

@given(st.lists(st.text(st.characters(blacklist_characters="\x00"), max_size=12), max_size=30))
def test_text_order_is_python_string_order(texts):
    order = _text_order(np.array(texts, dtype=object))
    assert [texts[i] for i in order] == sorted(texts)
    # stable for equal texts
    assert all(order[i] < order[i + 1] for i in range(len(order) - 1) if texts[order[i]] == texts[order[i + 1]])


def test_non_ascii_claim_numbers_sort_by_codepoint():
    claims = claims_df(("申请2", 100, D(2026, 3, 1)), ("申请10", 100, D(2026, 3, 1)), ("B1", 100, D(2026, 3, 1)))
    rec = reconcile("2026-03", claims, NO_LINES)
    assert list(rec.items["claim_no"]) == sorted(["申请2", "申请10", "B1"])


@given(st.integers(-10**15, 10**15))
def test_fen_text_is_money_fmt(fen):
    assert fen_text([fen]).iloc[0] == money.fmt(fen, fen=True)


def _month_data():
    claims = claims_df(("C1", 1000, D(2026, 3, 2)), ("C2", 2500, D(2026, 1, 2), "APPROVED", "WOMEN"),
                       ("C3", 0, D(2026, 3, 2), "REJECTED"), ("C4", 800, D(2026, 2, 20)), ("C5", 300, D(2026, 3, 1)))
    ledger = ledger_df(("V0", D(2026, 1, 1), "OPENING_BALANCE", 1_000_000),
                       ("V1", D(2026, 3, 5), "PAYOUT", 1000, "C1", "HOSP"),
                       ("V2", D(2026, 3, 5), "PAYOUT", 10, "C3"), ("V3", D(2026, 3, 6), "PAYOUT", 300, "C5"),
                       ("V4", D(2026, 3, 7), "PAYOUT", 300, "C5"), ("V5", D(2026, 3, 7), "REVERSAL", 40, "NOPE"),
                       ("V6", D(2026, 3, 8), "FEE", 12), ("V7", D(2026, 3, 9), "ADJUSTMENT", -3))
    return claims, ledger


def test_written_files_are_deterministic(tmp_path: Path):
    claims, ledger = _month_data()
    notes = {"C3": "已联系会员退回，见凭证 V9, \"备注\"", "V5": "银行退票", "GONE": "not an item"}
    a = write_reports(reconcile("2026-03", claims, ledger), tmp_path / "a",
                      generated_at=dt.datetime(2026, 4, 1, 8, 0, 0), resolutions=notes)
    b = write_reports(reconcile("2026-03", claims.iloc[::-1], ledger.sample(frac=1, random_state=3)), tmp_path / "b",
                      generated_at=dt.datetime(2026, 4, 2, 9, 30, 0), resolutions=dict(reversed(notes.items())))
    assert [p.name for p in a] == ["items.csv", "summary.json", "report.xlsx"]
    assert a[0].read_bytes() == b[0].read_bytes()
    ja, jb = json.loads(a[1].read_text("utf-8")), json.loads(b[1].read_text("utf-8"))
    assert ja.pop("generated_at") == "2026-04-01T08:00:00" and jb.pop("generated_at") == "2026-04-02T09:30:00"
    assert ja == jb

    def without_generated_at(p: Path) -> list[str]:
        return [line for line in p.read_text("utf-8").splitlines() if '"generated_at"' not in line]
    assert without_generated_at(a[1]) == without_generated_at(b[1])
    # sorted keys, amounts as two-decimal strings
    text = a[1].read_text("utf-8")
    assert text == json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False, indent=2) + "\n"
    assert ja["month"] == "2026-03"
    assert ja["roll_forward"]["closing"] == "9984.15"  # 10000 - 10 - 0.10 - 6 + 0.40 - 0.12 - 0.03

    # a re-run into the same directory rewrites the same bytes
    c = write_reports(reconcile("2026-03", claims, ledger), tmp_path / "a",
                      generated_at=dt.datetime(2026, 4, 1, 8, 0, 0), resolutions=notes)
    assert c[0].read_bytes() == b[0].read_bytes()


def test_items_csv_content(tmp_path: Path):
    claims, ledger = _month_data()
    rec = reconcile("2026-03", claims, ledger)
    paths = write_reports(rec, tmp_path, generated_at=dt.datetime(2026, 4, 1), resolutions={"V5": "银行退票"})
    raw = paths[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw  # BOM: Excel on Chinese Windows
    csv = pd.read_csv(paths[0], dtype=str, keep_default_na=False)
    assert tuple(csv.columns) == ITEMS_CSV_COLUMNS
    assert list(csv["claim_no"]) == ["C2", "C4", "C5", "C3", "NOPE", "C1"]
    row = csv.set_index("claim_no").loc["C2"]
    assert (row["status"], row["approved_amount"], row["paid_amount"], row["difference"], row["days_outstanding"]) == \
        ("UNPAID", "25.00", "0.00", "-25.00", "88")
    row = csv.set_index("claim_no").loc["NOPE"]
    assert (row["status"], row["paid_amount"], row["vouchers"], row["resolved_note"], row["product"]) == \
        ("UNKNOWN_CLAIM", "-0.40", "V5", "银行退票", "")
    assert csv.set_index("claim_no").loc["C5", "vouchers"] == "V3;V4"


def test_report_xlsx(tmp_path: Path):
    claims, ledger = _month_data()
    rec = reconcile("2026-03", claims, ledger)
    xlsx = write_reports(rec, tmp_path, generated_at=dt.datetime(2026, 4, 1))[2]
    wb = openpyxl.load_workbook(xlsx)
    summary, items = wb.worksheets
    assert summary.title == "汇总" and items.title == "对账项目"
    labels = {row[0]: row[1] for row in summary.iter_rows(values_only=True) if row and row[0]}
    assert labels["期初余额"] == 10000 and labels["期末余额"] == pytest.approx(9984.15)
    assert len(summary._charts) == 1
    assert items.freeze_panes == "A2" and items.auto_filter.ref == f"A1:K{len(rec.items) + 1}"
    rows = list(items.iter_rows(values_only=True))
    assert rows[0][0] == "申请编号" and len(rows) == len(rec.items) + 1
    assert [r[0] for r in rows[1:]] == list(rec.items["claim_no"].fillna("").replace("", None))
    assert rows[1][2] == "未支付" and rows[1][7] == 88 and rows[1][3] == 25
