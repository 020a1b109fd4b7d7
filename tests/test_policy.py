import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from mutualaid.dates import add_months
from mutualaid.policy import PolicyError, load_policies, policies, policy_for_start
from mutualaid.policy.loader import DATA_DIR


def test_both_versions_load():
    p = policies()
    assert set(p) >= {2025, 2026}
    assert p[2026].products.HOSP.annual_cap == Decimal("500000.00")
    assert p[2025].products.WOMEN.categories["INVASIVE"].amount_per_unit == Decimal("10000.00")
    assert policy_for_start(dt.date(2026, 3, 1)).version == 2026


def test_adding_2027_is_a_file(tmp_path: Path):
    for f in DATA_DIR.glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    data = yaml.safe_load((DATA_DIR / "2026.yaml").read_text(encoding="utf-8"))
    data["version"] = 2027
    data["products"]["HOSP"]["annual_cap"] = "600000.00"
    (tmp_path / "2027.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_policies(tmp_path)[2027].products.HOSP.annual_cap == Decimal("600000.00")


def test_broken_file_is_loud(tmp_path: Path):
    (tmp_path / "2030.yaml").write_text("version: 2030\nproducts: {}\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        load_policies(tmp_path)


@pytest.mark.parametrize("end,deadline", [
    ("2026-12-31", "2027-06-30"), ("2026-03-31", "2026-09-30"), ("2026-05-30", "2026-11-30")])
def test_2026_hosp_deadline_examples(end, deadline):
    d = policies()[2026].products.HOSP.deadline
    assert d.last_day(coverage_end=dt.date.fromisoformat(end), event=dt.date(2026, 1, 1)) == dt.date.fromisoformat(deadline)


def test_2025_hosp_deadline_is_90_days():
    d = policies()[2025].products.HOSP.deadline
    assert d.last_day(coverage_end=dt.date(2025, 12, 31), event=dt.date(2025, 1, 1)) == dt.date(2026, 3, 31)


def test_women_deadline_leap_day():
    d = policies()[2026].products.WOMEN.deadline
    assert d.last_day(coverage_end=None, event=dt.date(2028, 2, 29)) == dt.date(2029, 2, 28)
    assert add_months(dt.date(2028, 2, 29), 12) == dt.date(2029, 2, 28)


@pytest.mark.parametrize("code,surgery,category", [
    ("C50", "none", "INVASIVE"), ("C58.0", "none", "INVASIVE"), ("C59", "none", None),
    ("D05.1", "none", "IN_SITU"), ("D06", "none", "IN_SITU"), ("D07.3", "none", "IN_SITU"),
    ("D07.4", "none", None), ("D25.9", "hysterectomy_bso", "BENIGN_RADICAL"),
    ("D27", "oophorectomy", "BENIGN_ORGAN"), ("D24", "excision", "BENIGN_EXCISION"),
    ("D26.1", "none", None), ("D29", "excision", None), ("C49", "none", None),
])
def test_women_categories(code, surgery, category):
    assert policies()[2026].products.WOMEN.category_of(code, surgery) == category


def test_amount_with_fractions_of_a_fen_is_refused(tmp_path: Path):
    """Traces print policy amounts with two decimals without rounding: that must stay exact."""
    for f in DATA_DIR.glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    data = yaml.safe_load((DATA_DIR / "2026.yaml").read_text(encoding="utf-8"))
    data["products"]["HOSP"]["minimum_subsidy"] = "100.005"
    (tmp_path / "2026.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyError):
        load_policies(tmp_path)
