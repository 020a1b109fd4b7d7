from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutualaid import money


@pytest.mark.parametrize("text,value", [
    ("1,234.50", "1234.50"), ("0", "0.00"), ("12.3", "12.30"), (" 7.05 ", "7.05"),
    ("1,000,000.01", "1000000.01"), ("9999999999.99", "9999999999.99"),
])
def test_parse_accepts(text, value):
    assert money.parse_amount(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", "1.234", "-1.00", "1,23.00", "12,3456", "abc", "1e3", "1.", ".5", "NaN", "1 000"])
def test_parse_rejects(text):
    with pytest.raises(money.MoneyError):
        money.parse_amount(text)


def test_negative_only_when_allowed():
    assert money.parse_amount("-12.50", allow_negative=True) == Decimal("-12.50")


@pytest.mark.parametrize("value,rounded", [("0.005", "0.01"), ("0.004", "0.00"), ("2.675", "2.68"), ("-0.005", "-0.01")])
def test_round_half_up(value, rounded):
    assert money.round_fen(Decimal(value)) == Decimal(rounded)


def test_float_refused():
    with pytest.raises(TypeError):
        money.as_decimal(0.1)


@given(st.integers(min_value=0, max_value=999_999_999_999))
def test_fen_roundtrip_and_format(fen):
    d = money.from_fen(fen)
    assert money.to_fen(d) == fen
    text = money.fmt(d)
    assert money.parse_amount(text) == d
    # with thousands separators too
    whole, frac = text.split(".")
    assert money.parse_amount(f"{int(whole):,}.{frac}") == d


@given(st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False, allow_infinity=False))
def test_round_fen_is_within_half_a_fen(d):
    r = money.round_fen(d)
    assert abs(r - d) <= Decimal("0.005")
    assert r == r.quantize(Decimal("0.01"))


@given(st.one_of(st.text(alphabet="0123456789,.- ", max_size=16), st.from_regex(r"-?[0-9]{1,3}(,[0-9]{3})*(\.[0-9]{1,2})?", fullmatch=True)),
       st.booleans())
def test_parse_fen_agrees_with_parse_amount(text, neg):
    try:
        expected = money.to_fen(money.parse_amount(text, allow_negative=neg))
    except money.MoneyError:
        with pytest.raises(money.MoneyError):
            money.parse_fen(text, allow_negative=neg)
    else:
        assert money.parse_fen(text, allow_negative=neg) == expected


def test_fmt_rounds_half_up_and_formats_fen_exactly():
    assert money.fmt(Decimal("1.005")) == "1.01" and money.fmt(Decimal("-1.005")) == "-1.01"
    assert money.fmt(Decimal("2.345")) == "2.35"
    assert [money.fmt(f, fen=True) for f in (0, 5, -1, -150, 123456)] == ["0.00", "0.05", "-0.01", "-1.50", "1234.56"]
    assert money.from_fen(-150) == Decimal("-1.50") and str(money.from_fen(0)) == "0.00"
