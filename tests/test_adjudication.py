"""policy.md, rule by rule: worked examples exactly, each code firing and not at its boundary."""
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mutualaid import idnumber
from mutualaid.claims.adjudication import History, Prior, explain
from mutualaid.money import from_fen, to_fen
from mutualaid.policy import policies
from tests.factories import decide, enrollment, hosp, member, women

Y = Decimal


def one(*args, **kw):
    [o] = decide(*args, **kw)
    return o


def renewed_hosp(m=None):
    return [enrollment("HOSP", "2025-01-01"), enrollment("HOSP", "2026-01-01")]


# --- worked examples -------------------------------------------------------------------

def test_worked_example_hosp_2026():
    m = member(sex="M")
    o = one(m, renewed_hosp(), [hosp(m, "2026-04-03", "2026-04-15", "12000.00")])
    assert o.status == "APPROVED"
    assert from_fen(o.payout_fen) == Y("7140.00")
    assert o.reason_codes == []
    assert o.policy_version == "HOSP-2026"
    assert o.trace["amount"]["subsidy"] == "6900.0000" or Y(o.trace["amount"]["subsidy"]) == Y("6900")
    assert o.trace["enrollment"]["participation_year"] == 2


def test_worked_example_women_2026():
    m = member()
    o = one(m, [enrollment("WOMEN", "2026-01-01", units=2)], [women(m, "D06.1", "2026-05-20")])
    assert (o.status, from_fen(o.payout_fen), o.reason_codes) == ("APPROVED", Y("16000.00"), [])
    assert o.policy_version == "WOMEN-2026"
    assert o.category == "IN_SITU"


def test_trace_lists_every_rule_with_inputs():
    m = member(sex="M")
    o = one(m, renewed_hosp(), [hosp(m, "2026-04-03", "2026-04-15", "12000.00")])
    rules = explain(o.trace)
    codes = [r["code"] for r in rules]
    assert {"R01", "R02", "R03", "R04", "R05", "R06", "R09", "V01", "V02", "V04", "A01", "A02", "A03"} <= set(codes)
    r03 = next(r for r in rules if r["code"] == "R03")
    assert r03 == {"code": "R03", "fired": False, "inputs": {"first_enrollment": False, "days_from_start": 92}}


# --- R codes --------------------------------------------------------------------------

def test_r01_unknown_member():
    stranger = member(seq=77)
    o = one(None, [], [hosp(stranger, "2026-04-03", "2026-04-05", 1000)])
    assert (o.status, o.reason_codes, o.payout_fen, o.policy_version) == ("REJECTED", ["R01"], 0, "")


def test_r02_not_enrolled_in_product_on_event_date():
    m = member()
    o = one(m, [enrollment("WOMEN", "2026-01-01")], [hosp(m, "2026-04-03", "2026-04-05", 1000)])
    assert o.reason_codes == ["R02"]
    o = one(m, [enrollment("HOSP", "2026-01-01", "2026-03-31")], [hosp(m, "2026-04-01", "2026-04-05", 1000)])
    assert "R02" in o.reason_codes


@pytest.mark.parametrize("adm,fires", [("2026-01-30", True), ("2026-01-31", False)])
def test_r03_waiting_period_day_29_30(adm, fires):
    m = member()
    o = one(m, [enrollment("HOSP", "2026-01-01")], [hosp(m, adm, "2026-02-05", 1000)])
    assert ("R03" in o.reason_codes) is fires


def test_r03_not_for_a_renewal():
    m = member()
    o = one(m, renewed_hosp(), [hosp(m, "2026-01-02", "2026-01-05", 1000)])
    assert "R03" not in o.reason_codes


def test_renewal_gap_31_days_continues_32_breaks():
    m = member()
    cont = [enrollment("HOSP", "2025-01-01", "2025-11-30"), enrollment("HOSP", "2025-12-31", "2026-12-30")]
    o = one(m, cont, [hosp(m, "2026-01-02", "2026-01-05", 1000)])
    assert "R03" not in o.reason_codes and o.trace["enrollment"]["participation_year"] == 2
    broken = [enrollment("HOSP", "2025-01-01", "2025-11-29"), enrollment("HOSP", "2025-12-31", "2026-12-30")]
    o = one(m, broken, [hosp(m, "2026-01-02", "2026-01-05", 1000)])
    assert "R03" in o.reason_codes and o.trace["enrollment"]["participation_year"] == 1


@pytest.mark.parametrize("submitted,fires", [("2027-06-30", False), ("2027-07-01", True)])
def test_r04_deadline_day_2026(submitted, fires):
    m = member()
    o = one(m, renewed_hosp(), [hosp(m, "2026-12-20", "2026-12-28", 1000, submitted=submitted)])
    assert ("R04" in o.reason_codes) is fires


@pytest.mark.parametrize("submitted,fires", [("2026-03-31", False), ("2026-04-01", True)])
def test_r04_deadline_day_2025_is_90_days(submitted, fires):
    m = member()
    o = one(m, [enrollment("HOSP", "2025-01-01")], [hosp(m, "2025-12-01", "2025-12-05", 1000, submitted=submitted)])
    assert ("R04" in o.reason_codes) is fires


@pytest.mark.parametrize("submitted,fires", [("2027-05-20", False), ("2027-05-21", True)])
def test_r04_women_one_year(submitted, fires):
    m = member()
    o = one(m, [enrollment("WOMEN", "2026-01-01")], [women(m, "C50.9", "2026-05-20", submitted=submitted)])
    assert ("R04" in o.reason_codes) is fires


@pytest.mark.parametrize("cause,fires", [("work_injury", True), ("self_harm", True), ("maternity", True),
                                         ("illness", False), ("accident", False)])
def test_r05_excluded_causes(cause, fires):
    m = member()
    o = one(m, renewed_hosp(), [hosp(m, "2026-04-03", "2026-04-05", 1000, cause=cause)])
    assert ("R05" in o.reason_codes) is fires


def test_r06_overlapping_stay_and_adjacent_stay():
    m = member()
    a = hosp(m, "2026-04-03", "2026-04-10", 1000)
    overlap = hosp(m, "2026-04-09", "2026-04-12", 1000)
    adjacent = hosp(m, "2026-04-10", "2026-04-12", 1000)
    first, second = decide(m, renewed_hosp(), [a, overlap])
    assert first.status == "APPROVED" and second.reason_codes == ["R06"]
    _, third = decide(m, renewed_hosp(), [a, adjacent])
    assert "R06" not in third.reason_codes


def test_r06_ignores_rejected_earlier_stay():
    m = member()
    rejected = hosp(m, "2026-04-03", "2026-04-10", 1000, cause="cosmetic")
    again = hosp(m, "2026-04-03", "2026-04-10", 1000, cause="illness")
    first, second = decide(m, renewed_hosp(), [rejected, again])
    assert first.status == "REJECTED" and second.status == "APPROVED"


def test_r06_women_same_category_same_day():
    m = member()
    a = women(m, "D25.1", "2026-06-01", surgery="excision")
    b = women(m, "D25.1", "2026-06-01", surgery="excision")
    first, second = decide(m, [enrollment("WOMEN", "2025-01-01"), enrollment("WOMEN", "2026-01-01")], [a, b])
    assert first.status == "APPROVED" and {"R06", "R09"} <= set(second.reason_codes)


@pytest.mark.parametrize("birth,fires", [("1965-05-20", False), ("1964-05-21", False), ("1964-05-20", True)])
def test_r07_age_60_covered_61_not(birth, fires):
    m = member(birth=birth)
    o = one(m, [enrollment("WOMEN", "2025-01-01"), enrollment("WOMEN", "2026-01-01")], [women(m, "C50", "2025-05-20")])
    assert ("R07" in o.reason_codes) is fires


def test_r07_age_61_and_male():
    m = member(birth="1964-05-20")  # 61 on 2025-05-20
    o = one(m, [enrollment("WOMEN", "2025-01-01")], [women(m, "C50", "2025-05-20")])
    assert "R07" in o.reason_codes
    male = member(sex="M", seq=3)
    o = one(male, [enrollment("WOMEN", "2025-01-01")], [women(male, "C50", "2025-05-20")])
    assert "R07" in o.reason_codes


def test_r07_age_16_boundary():
    m = member(birth="2009-05-21")  # 15 on 2025-05-20, 16 next day
    o = one(m, [enrollment("WOMEN", "2025-01-01")], [women(m, "C50", "2025-05-20")])
    assert "R07" in o.reason_codes
    o = one(m, [enrollment("WOMEN", "2025-01-01")], [women(m, "C50", "2025-05-21")])
    assert "R07" not in o.reason_codes


@pytest.mark.parametrize("code,surgery,fires", [("D26.1", "none", True), ("D25.0", "excision", False),
                                                ("D29", "excision", True), ("C50.9", "none", False),
                                                ("D07.4", "none", True), ("J18", "none", True)])
def test_r08_not_covered(code, surgery, fires):
    m = member()
    o = one(m, [enrollment("WOMEN", "2025-01-01"), enrollment("WOMEN", "2026-01-01")], [women(m, code, "2026-05-20", surgery=surgery)])
    assert ("R08" in o.reason_codes) is fires


def test_r09_cap_reached_exactly_and_a02_one_fen_below():
    m = member()
    enr = renewed_hosp()
    cap = policies()[2026].products.HOSP.annual_cap
    exhausted = History([Prior("P1", "HOSP", enr[1].id, to_fen(cap))])
    o = one(m, enr, [hosp(m, "2026-06-01", "2026-06-05", 1000)], history=exhausted)
    assert "R09" in o.reason_codes and o.status == "REJECTED"
    almost = History([Prior("P1", "HOSP", enr[1].id, to_fen(cap) - 1)])
    o = one(m, enr, [hosp(m, "2026-06-01", "2026-06-05", 1000)], history=almost)
    assert "R09" not in o.reason_codes and "A02" in o.reason_codes and o.payout_fen == 1


def test_r09_cap_only_counts_same_period():
    m = member()
    enr = renewed_hosp()
    cap = policies()[2026].products.HOSP.annual_cap
    other_year = History([Prior("P1", "HOSP", enr[0].id, to_fen(cap))])
    o = one(m, enr, [hosp(m, "2026-06-01", "2026-06-05", 1000)], history=other_year)
    assert o.status == "APPROVED"


def test_r09_women_category_paid_and_cover_ended():
    m = member()
    enr = [enrollment("WOMEN", "2025-01-01"), enrollment("WOMEN", "2026-01-01")]
    first, again = decide(m, enr, [women(m, "D25.0", "2026-03-01", surgery="excision"),
                                   women(m, "D26.0", "2026-07-01", surgery="excision")])
    assert first.status == "APPROVED" and again.reason_codes == ["R09"]
    inv, after = decide(m, enr, [women(m, "C50.1", "2026-03-01"), women(m, "D25.0", "2026-07-01", surgery="hysterectomy")])
    assert inv.status == "APPROVED" and after.reason_codes == ["R09"]


# --- V codes ----------------------------------------------------------------------------

def test_v01_threshold_exactly():
    m = member()
    enr = renewed_hosp()
    # 2026 bands: base 27,500 -> 2500+3000+7000+6000 = 18,500; stay 12 x 20 = 240 => 18,740
    o = one(m, enr, [hosp(m, "2026-04-03", "2026-04-15", "27500.00")])
    assert "V01" not in o.reason_codes and o.status == "APPROVED"
    # subsidy 12,500 + 7,260 = 19,760 (base 20,000 + 7,260/0.8 = 29,075) + 240 = 20,000.00 exactly
    o = one(m, enr, [hosp(m, "2026-04-03", "2026-04-15", "29075.00")])
    assert from_fen(o.payout_fen) == Y("20000.00") and "V01" in o.reason_codes and o.status == "PENDING_REVIEW"
    o = one(m, enr, [hosp(m, "2026-04-03", "2026-04-15", "29074.99")])  # 19,999.992 -> 19,999.99
    assert from_fen(o.payout_fen) == Y("19999.99") and "V01" not in o.reason_codes


def test_v02_name_differs_trimmed_spaces_ok():
    m = member(name="王丽")
    enr = renewed_hosp()
    assert "V02" in one(m, enr, [hosp(m, "2026-04-03", "2026-04-05", 100, name="王莉")]).reason_codes
    assert "V02" not in one(m, enr, [hosp(m, "2026-04-03", "2026-04-05", 100, name=" 王丽 ")]).reason_codes


@pytest.mark.parametrize("pathology,fires", [(False, True), (True, False)])
def test_v03_pathology(pathology, fires):
    m = member()
    o = one(m, [enrollment("WOMEN", "2025-01-01"), enrollment("WOMEN", "2026-01-01")],
            [women(m, "D05.1", "2026-05-20", pathology=pathology)])
    assert ("V03" in o.reason_codes) is fires
    assert o.status == ("PENDING_REVIEW" if fires else "APPROVED")


def test_v03_not_for_benign():
    m = member()
    o = one(m, [enrollment("WOMEN", "2025-01-01"), enrollment("WOMEN", "2026-01-01")],
            [women(m, "D25.0", "2026-05-20", pathology=False, surgery="excision")])
    assert "V03" not in o.reason_codes


@pytest.mark.parametrize("dis,fires", [("2026-04-01", False), ("2026-04-02", True)])
def test_v04_stay_90_91(dis, fires):
    m = member()
    o = one(m, renewed_hosp(), [hosp(m, "2026-01-01", dis, 1000)])
    assert ("V04" in o.reason_codes) is fires


# --- A codes ----------------------------------------------------------------------------

@pytest.mark.parametrize("base,subsidy,fires", [("300.00", "200.00", True), ("100.00", "100.00", True),
                                                ("400.00", "200.00", False), ("0.00", "0.00", False)])
def test_a01_minimum(base, subsidy, fires):
    m = member()
    o = one(m, renewed_hosp(), [hosp(m, "2026-04-03", "2026-04-03", base)])
    assert ("A01" in o.reason_codes) is fires
    # same-day stay counts 1 day x 20
    assert from_fen(o.payout_fen) == Y(subsidy) + 20


@pytest.mark.parametrize("dis,days,fires", [("2026-05-01", 30, False), ("2026-05-02", 30, True)])
def test_a03_30_31_allowance_days(dis, days, fires):
    m = member()
    o = one(m, renewed_hosp(), [hosp(m, "2026-04-01", dis, 1000)])
    assert o.allowance_days == days and ("A03" in o.reason_codes) is fires


def test_a03_period_limit_180():
    m = member()
    enr = renewed_hosp()
    used = History([Prior("P", "HOSP", enr[1].id, 100, allowance_days=170)])
    o = one(m, enr, [hosp(m, "2026-06-01", "2026-06-13", 1000)], history=used)
    assert o.allowance_days == 10 and "A03" in o.reason_codes


def test_a04_invasive_after_in_situ():
    m = member()
    enr = [enrollment("WOMEN", "2025-01-01", units=2), enrollment("WOMEN", "2026-01-01", units=2)]
    insitu, invasive = decide(m, enr, [women(m, "D05.1", "2026-02-01"), women(m, "C50.2", "2026-08-01")])
    assert from_fen(insitu.payout_fen) == Y("16000.00")
    assert from_fen(invasive.payout_fen) == Y("16000.00") and invasive.reason_codes == ["A04"]


def test_pending_claims_count_against_caps():
    m = member()
    enr = [enrollment("WOMEN", "2025-01-01"), enrollment("WOMEN", "2026-01-01")]
    pending, later = decide(m, enr, [women(m, "D05.1", "2026-02-01", pathology=False), women(m, "D06.0", "2026-04-01")])
    assert pending.status == "PENDING_REVIEW" and later.reason_codes == ["R09"]


def test_discharge_after_period_belongs_to_admission_enrollment():
    m = member()
    enr = [enrollment("HOSP", "2025-01-01"), enrollment("HOSP", "2026-01-01")]
    o = one(m, enr, [hosp(m, "2025-12-28", "2026-01-04", 1000)])
    assert o.policy_version == "HOSP-2025" and o.enrollment_id == enr[0].id


# --- properties -------------------------------------------------------------------------

stays = st.tuples(st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)), st.integers(0, 200),
                  st.integers(0, 60_000_000), st.sampled_from(["illness", "accident", "illness", "maternity"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(stays, min_size=1, max_size=8), st.booleans())
def test_hosp_payout_bounds(items, renewed):
    m = member(sex="M")
    enr = renewed_hosp() if renewed else [enrollment("HOSP", "2026-01-01")]
    claims = [hosp(m, str(a), str(a + dt.timedelta(days=d)), from_fen(b), cause=c) for a, d, b, c in items]
    outs = decide(m, enr, claims)
    p = policies()[2026].products.HOSP
    total = 0
    days = 0
    for o in outs:
        assert o.payout_fen >= 0
        if o.status == "REJECTED":
            assert o.payout_fen == 0
            continue
        a = o.trace["amount"]
        assert o.payout_fen <= to_fen(Y(a["base"])) + to_fen(p.daily_allowance(3) * p.allowance_days_per_stay)
        total += o.payout_fen
        days += o.allowance_days
    assert total <= to_fen(p.annual_cap)
    assert days <= p.allowance_days_per_period


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["C50", "C53.1", "D05.1", "D06", "D07.2", "D25.0", "D27", "N80"]),
                          st.sampled_from(["none", "excision", "hysterectomy", "hysterectomy_bso"]),
                          st.dates(dt.date(2026, 4, 1), dt.date(2026, 12, 31)), st.booleans()), min_size=1, max_size=6),
       st.integers(1, 2))
def test_women_payouts_only_listed_amounts(items, units):
    m = member()
    enr = [enrollment("WOMEN", "2025-01-01", units=units), enrollment("WOMEN", "2026-01-01", units=units)]
    outs = decide(m, enr, [women(m, c, str(d), surgery=s, pathology=p) for c, s, d, p in items])
    cats = policies()[2026].products.WOMEN.categories
    listed = {to_fen(c.amount_per_unit * units) for c in cats.values()}
    listed.add(to_fen((cats["INVASIVE"].amount_per_unit - cats["IN_SITU"].amount_per_unit) * units))
    paid_categories = []
    for o in outs:
        assert o.payout_fen >= 0
        if o.status != "REJECTED":
            assert o.payout_fen in listed
            paid_categories.append(o.category)
    assert len(paid_categories) == len(set(paid_categories))  # each category at most once
    if "INVASIVE" in paid_categories:
        assert paid_categories[-1] == "INVASIVE"  # nothing paid after an invasive payout


claim_specs = st.lists(st.tuples(st.sampled_from(["H", "H", "H", "W"]), st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
                                 st.integers(0, 40), st.integers(0, 3_000_000),
                                 st.sampled_from(["C50", "D05.1", "D25.0", "N80"]), st.booleans()),
                       min_size=1, max_size=10)


def _claims_for(m, specs):
    out = []
    for k, (kind, day, days, base, code, flag) in enumerate(specs):
        if kind == "H":
            out.append(hosp(m, str(day), str(day + dt.timedelta(days=days)), from_fen(base), claim_no=f"H{k:03d}",
                            cause="illness" if flag else "accident"))
        else:
            out.append(women(m, code, str(day), pathology=flag, surgery="excision", claim_no=f"W{k:03d}"))
    return out


@settings(max_examples=60, deadline=None)
@given(claim_specs, st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)))
def test_split_batch_same_decisions_and_rerun_stable(specs, cut):
    """Deciding a member's claims in one batch equals deciding the earlier events first,
    then the rest with the first batch's outcomes as history; and deciding again is stable."""
    m = member()
    enr = renewed_hosp() + [enrollment("WOMEN", "2025-01-01", units=2), enrollment("WOMEN", "2026-01-01", units=2)]
    claims = _claims_for(m, specs)
    whole = {o.claim_no: (o.status, o.payout_fen, o.reason_codes) for o in decide(m, enr, claims)}
    assert whole == {o.claim_no: (o.status, o.payout_fen, o.reason_codes) for o in decide(m, enr, list(reversed(claims)))}
    first = [c for c in claims if c.event_date < cut]
    second = [c for c in claims if c.event_date >= cut]
    history = History()
    split = {}
    if first:
        for c, o in zip(sorted(first, key=lambda c: (c.event_date, c.claim_no)), decide(m, enr, first, history)):
            split[o.claim_no] = (o.status, o.payout_fen, o.reason_codes)
    if second:
        for o in decide(m, enr, second, history):
            split[o.claim_no] = (o.status, o.payout_fen, o.reason_codes)
    assert split == whole
