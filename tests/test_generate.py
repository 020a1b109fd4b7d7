"""The data-set generator: formats of files.md, validity, determinism, deliberate messiness."""
from __future__ import annotations

import csv
import datetime as dt
import re
import threading
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from mutualaid import idnumber
from mutualaid.generate import (
    CLAIM_COLUMNS, LEDGER_COLUMNS, ROSTER_COLUMNS, SCALES, GeneratedSet, generate, resolve_scale,
)
from mutualaid.policy import policies

SIZE = 2_000
SEED = 7
AMOUNT = re.compile(r"^\d+\.\d{2}$")


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [dict(zip(header, row, strict=True)) for row in reader]


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> GeneratedSet:
    return generate(SIZE, SEED, tmp_path_factory.mktemp("gen"))


@pytest.fixture(scope="module")
def roster_rows(gen: GeneratedSet) -> list[dict[str, str]]:
    return [r for p in gen.rosters for r in _read(p)[1]]


@pytest.fixture(scope="module")
def claim_rows(gen: GeneratedSet) -> list[dict[str, str]]:
    return [r for p in gen.claim_batches for r in _read(p)[1]]


@pytest.fixture(scope="module")
def ledger_rows(gen: GeneratedSet) -> list[dict[str, str]]:
    return _read(gen.ledger)[1]


def _all_files(g: GeneratedSet) -> list[Path]:
    return [*g.rosters, *g.claim_batches, g.ledger]


def test_same_seed_same_bytes(gen: GeneratedSet, tmp_path: Path) -> None:
    again = generate(SIZE, SEED, tmp_path)
    assert [p.name for p in _all_files(again)] == [p.name for p in _all_files(gen)]
    for a, b in zip(_all_files(gen), _all_files(again)):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert again.figures == gen.figures


def test_same_bytes_without_forked_children(gen: GeneratedSet, tmp_path: Path) -> None:
    """With another thread running the generator forks nothing and does all the work itself."""
    result: list[GeneratedSet] = []
    worker = threading.Thread(target=lambda: result.append(generate(SIZE, SEED, tmp_path)))
    worker.start()
    worker.join()
    for a, b in zip(_all_files(gen), _all_files(result[0]), strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_other_seed_other_data(gen: GeneratedSet, tmp_path: Path) -> None:
    other = generate(SIZE, SEED + 1, tmp_path)
    assert other.rosters[0].read_bytes() != gen.rosters[0].read_bytes()


def test_files_and_exact_headers(gen: GeneratedSet) -> None:
    assert [p.name for p in gen.rosters] == ["roster_2025.csv", "roster_2026.csv"]
    names = [p.name for p in gen.claim_batches]
    assert names == sorted(names) and all(re.fullmatch(r"claims_\d{4}-\d{2}\.csv", n) for n in names)
    assert gen.ledger.name == "ledger.csv"
    for path, columns in [*((p, ROSTER_COLUMNS) for p in gen.rosters),
                          *((p, CLAIM_COLUMNS) for p in gen.claim_batches), (gen.ledger, LEDGER_COLUMNS)]:
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw
        raw.decode("utf-8")
        assert tuple(_read(path)[0]) == columns, path.name


def test_every_id_number_is_valid(roster_rows, claim_rows) -> None:  # noqa: ANN001
    for row in [*roster_rows, *claim_rows]:
        assert idnumber.parse(row["member_id_number"]).value == row["member_id_number"]


def test_members_have_one_name_and_units_one_name(roster_rows) -> None:  # noqa: ANN001
    names, units = {}, {}
    for r in roster_rows:
        assert names.setdefault(r["member_id_number"], r["member_name"]) == r["member_name"]
        assert units.setdefault(r["unit_code"], r["unit_name"]) == r["unit_name"]
        assert re.fullmatch(r"TL\d{4,}", r["unit_code"]) and r["unit_name"].endswith("工会")


def test_women_members_female_and_of_age(roster_rows) -> None:  # noqa: ANN001
    women = [r for r in roster_rows if r["product"] == "WOMEN"]
    assert women
    for r in women:
        start = dt.date.fromisoformat(r["start_date"])
        wp = policies()[start.year].products.WOMEN
        n = idnumber.parse(r["member_id_number"])
        assert n.sex == "F"
        assert wp.min_age <= idnumber.age_on(n.birth_date, start) <= wp.max_age
        assert 1 <= int(r["units"]) <= wp.max_units


def test_premium_is_units_times_policy_premium(roster_rows) -> None:  # noqa: ANN001
    for r in roster_rows:
        start, end = dt.date.fromisoformat(r["start_date"]), dt.date.fromisoformat(r["end_date"])
        pol = policies()[start.year].product(r["product"])
        assert AMOUNT.match(r["premium_paid"])
        assert Decimal(r["premium_paid"]) == int(r["units"]) * pol.premium_per_unit
        assert start <= end and (end - start).days < 366
        assert r["bank_account"] == "" or (r["bank_account"].isdigit() and 16 <= len(r["bank_account"]) <= 19)


def test_enrollments_renew_without_overlap(roster_rows) -> None:  # noqa: ANN001
    periods = defaultdict(list)
    for r in roster_rows:
        periods[(r["member_id_number"], r["product"])].append(
            (dt.date.fromisoformat(r["start_date"]), dt.date.fromisoformat(r["end_date"])))
    renewals = 0
    for chain in periods.values():
        chain.sort()
        for (_, end), (start, _) in zip(chain, chain[1:]):
            assert start > end
            renewals += (start - end).days <= 31
    assert renewals > SIZE * 0.8   # most members renew into 2026


def test_claim_costs_add_up_to_the_fen(claim_rows) -> None:  # noqa: ANN001
    hosp = [r for r in claim_rows if r["product"] == "HOSP"]
    assert hosp
    money = ("total_cost", "insurance_paid", "in_policy_self_pay", "out_of_policy_self_pay")
    for r in hosp:
        assert all(AMOUNT.match(r[c]) for c in money), r
        assert Decimal(r["total_cost"]) == sum(Decimal(r[c]) for c in money[1:])
        assert r["admission_date"] <= r["discharge_date"] <= r["submitted_date"]
        assert r["diagnosis_date"] == r["pathology_confirmed"] == r["surgery"] == ""
    for r in claim_rows:
        if r["product"] == "WOMEN":
            assert r["diagnosis_date"] <= r["submitted_date"] and r["pathology_confirmed"] in ("Y", "N")
            assert r["admission_date"] == r["total_cost"] == r["cause"] == ""
        assert re.fullmatch(r"[A-Z]\d{2}(\.\d{1,2})?", r["diagnosis_code"])


def test_claim_numbers_unique_and_batches_by_month(gen: GeneratedSet) -> None:
    seen = set()
    for path in gen.claim_batches:
        month = path.stem.removeprefix("claims_")
        for r in _read(path)[1]:
            assert re.fullmatch(r"TL\d{4}-\d{6}", r["claim_no"])
            assert r["claim_no"] not in seen
            seen.add(r["claim_no"])
            assert r["submitted_date"].startswith(month)
    assert len(seen) == gen.figures["claims"]


def test_messiness_is_there(gen: GeneratedSet, roster_rows, claim_rows) -> None:  # noqa: ANN001
    messy = gen.figures["messy"]
    for kind in ("late_filing", "duplicate", "name_typo", "unknown_member", "waiting_period"):
        assert messy[kind] >= 1, kind
    known = {r["member_id_number"]: r["member_name"] for r in roster_rows}
    assert sum(r["member_id_number"] not in known for r in claim_rows) == messy["unknown_member"]
    typos = [r for r in claim_rows
             if r["member_id_number"] in known and r["member_name"] != known[r["member_id_number"]]]
    assert len(typos) == messy["name_typo"]
    for r in typos:  # one character changed, same length
        name = known[r["member_id_number"]]
        assert len(r["member_name"]) == len(name) and sum(a != b for a, b in zip(r["member_name"], name)) == 1
    stays = Counter((r["member_id_number"], r["admission_date"], r["discharge_date"])
                    for r in claim_rows if r["product"] == "HOSP")
    assert sum(n - 1 for n in stays.values()) == messy["duplicate"]


def test_ledger_vouchers_amounts_and_one_duplicate_payment(gen: GeneratedSet, ledger_rows, claim_rows,  # noqa: ANN001
                                                           roster_rows) -> None:
    vouchers = [r["voucher_no"] for r in ledger_rows]
    assert len(vouchers) == len(set(vouchers))
    assert all(re.fullmatch(r"V\d{4}-\d{6}", v) for v in vouchers)
    assert ledger_rows[0]["entry_type"] == "OPENING_BALANCE"
    dates = [r["entry_date"] for r in ledger_rows]
    assert dates == sorted(dates)
    for r in ledger_rows:
        assert AMOUNT.match(r["amount"]) and Decimal(r["amount"]) > 0, r
    types = Counter(r["entry_type"] for r in ledger_rows)
    for kind in ("CONTRIBUTION", "SUBSIDY", "INTEREST", "FEE", "PAYOUT", "REVERSAL"):
        assert types[kind] >= 1, kind

    claim_nos = {r["claim_no"] for r in claim_rows}
    payouts, reversals = defaultdict(list), Counter()
    for r in ledger_rows:
        if r["entry_type"] == "PAYOUT":
            assert r["reference"] in claim_nos
            payouts[r["reference"]].append(Decimal(r["amount"]))
        elif r["entry_type"] == "REVERSAL":
            reversals[r["reference"]] += 1
    paid_twice = [c for c, amounts in payouts.items() if len(amounts) - reversals[c] >= 2]
    assert len(paid_twice) == 1
    assert len(set(payouts[paid_twice[0]])) == 1   # the same amount twice
    assert all(len(payouts[c]) == 2 for c in reversals)   # returned, then paid again

    premiums, contributions = Counter(), Counter()
    for r in roster_rows:
        premiums[r["unit_code"]] += Decimal(r["premium_paid"])
    for r in ledger_rows:
        if r["entry_type"] == "CONTRIBUTION":
            contributions[r["reference"]] += Decimal(r["amount"])
    assert contributions == premiums


def test_figures(gen: GeneratedSet) -> None:
    f = gen.figures
    assert f["hosp_members"] == SIZE
    assert abs(f["women_members"] - round(SIZE * 54_000 / 135_500)) <= 1
    assert f["claims"] == f["claims_hosp"] + f["claims_women"] >= f["claims_2025"] > 0
    assert sum(f["estimated_status"].values()) == f["claims"]
    assert isinstance(f["estimated_payout"], Decimal)
    assert f["estimated_payout"] == f["estimated_approved"] + f["estimated_pending"]
    assert f["units"] >= 10 and f["largest_unit"] > 50


def test_scales() -> None:
    assert SCALES["tongliao"].hosp_members == 135_500 and SCALES["tongliao"].women_members == 54_000
    assert SCALES["region"].hosp_members == 1_100_000
    assert resolve_scale("2000") == resolve_scale(2000)
    assert resolve_scale(271_000).hosp_claims == 2 * SCALES["tongliao"].hosp_claims
    with pytest.raises(ValueError):
        resolve_scale("nowhere")
