import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutualaid import idnumber

VALID = "11010519491231002X"  # the standard's own example


def test_standard_example():
    n = idnumber.parse(VALID)
    assert n.birth_date == dt.date(1949, 12, 31)
    assert n.sex == "F"


def test_lower_case_x_stored_upper():
    assert idnumber.parse(VALID.lower()).value == VALID


@pytest.mark.parametrize("text,code", [
    ("11010519491231002", "length"), ("11010519491231002XX", "length"),
    ("1101051949123100AX", "chars"), ("110105194902300021", "birth_date"),
    ("110105194912310021", "checksum"),
])
def test_rejects(text, code):
    with pytest.raises(idnumber.IdNumberError) as e:
        idnumber.parse(text)
    assert e.value.code == code


def test_mask():
    assert idnumber.mask(VALID) == "110105********002X"
    assert idnumber.mask_account("6222021234567890123") == "***************0123"


@given(st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2025, 12, 31)),
       st.integers(0, 499), st.sampled_from("MF"))
def test_make_parse_roundtrip(birth, seq, sex):
    value = idnumber.make("150502", birth, seq, sex)
    n = idnumber.parse(value)
    assert (n.birth_date, n.sex, n.region) == (birth, sex, "150502")


@given(st.text(alphabet="0123456789", min_size=17, max_size=17), st.sampled_from("0123456789X"))
def test_exactly_one_check_char_valid(first17, last):
    try:
        idnumber.parse(first17 + last)
    except idnumber.IdNumberError as e:
        assert e.code in ("birth_date", "future_birth_date", "checksum")
    else:
        assert last == idnumber.check_char(first17)


@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2010, 12, 31)), st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31)))
def test_age(birth, on):
    age = idnumber.age_on(birth, on)
    # the birthday of `age` has passed, that of age+1 has not
    from mutualaid.dates import add_months
    assert add_months(birth, 12 * age) <= on < add_months(birth, 12 * (age + 1)) or (birth.month, birth.day) == (2, 29)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_char_matches_the_standard_formula(first17):
    """The fast check character (sums code points) equals GB 11643's weighted digit sum."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(c) * w for c, w in zip(first17, weights))
    assert idnumber.check_char(first17) == "10X98765432"[total % 11]
