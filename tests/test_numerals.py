"""Tests of analysis.numerals.parse_number."""

from __future__ import annotations

from decimal import Decimal

import pytest

from analysis.numerals import format_decimal, parse_number


@pytest.mark.parametrize(
    ("text", "value", "qualifier", "upper"),
    [
        ("二十多", "20", "more_than", None),
        ("1.2万余", "12000", "more_than", None),
        ("两千三百", "2300", "exact", None),
        ("16.4亿", "1640000000", "exact", None),
        ("48.5亿", "4850000000", "exact", None),
        ("19619万", "196190000", "exact", None),
        ("两三", "2", "more_than", "3"),
        ("五六百", "500", "more_than", "600"),
        ("十五六", "15", "more_than", "16"),
        ("三四十万", "300000", "more_than", "400000"),
        ("几十", "10", "more_than", None),
        ("十几", "10", "more_than", None),
        ("数千", "1000", "more_than", None),
        ("数百", "100", "more_than", None),
        ("１２００", "1200", "exact", None),
        ("1,200", "1200", "exact", None),
        ("1，200", "1200", "exact", None),
        ("3万4000", "34000", "exact", None),
        ("25万6千", "256000", "exact", None),
        ("一万五千亿", "1500000000000", "exact", None),
        ("十万零一千", "101000", "exact", None),
        ("一百零八", "108", "exact", None),
        ("十七", "17", "exact", None),
        ("两", "2", "exact", None),
        ("近百", "100", "nearly", None),
        ("万余", "10000", "more_than", None),
        ("十余万", "100000", "more_than", None),
        ("一千多万", "10000000", "more_than", None),
        ("超7000余", "7000", "more_than", None),
        ("约227万", "2270000", "about", None),
        ("20以上", "20", "more_than", None),
        ("50左右", "50", "about", None),
        ("将近3000", "3000", "nearly", None),
        ("两千六", "2600", "exact", None),
        ("三万五", "35000", "exact", None),
        ("10.8", "10.8", "exact", None),
        ("壹佰壹拾壹", "111", "exact", None),
        ("廿二", "22", "exact", None),
        ("负十", "-10", "exact", None),
        ("零点零一", "0.01", "exact", None),
    ],
)
def test_parse_number(text, value, qualifier, upper):
    p = parse_number(text)
    assert format_decimal(p.value) == value
    assert p.qualifier == qualifier
    assert (None if p.upper is None else format_decimal(p.upper)) == upper


def test_values_are_exact_decimals():
    assert parse_number("16.4亿").value == Decimal(1640000000)
    assert isinstance(parse_number("1.1万").value, Decimal)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "abc",
        "元",
        "数据",
        "多次",
        "点零",
        "零点",
        "百十一",
        "十一十二",
        "一七二零",
        "10.1万零100",
        "10..1万",
        "负",
    ],
)
def test_non_numbers_raise_with_the_input_quoted(text):
    with pytest.raises(
        ValueError, match="parse_number: " + repr(text).replace("\\", "\\\\").replace(".", r"\.")
    ):
        parse_number(text)


def test_pairs_are_never_positional():
    assert parse_number("两三").value != 23
    assert parse_number("五六百").value != 56


def test_type_error():
    with pytest.raises(TypeError, match="expected str"):
        parse_number(12)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text, value, qualifier, upper, unit",
    [
        ("两三个", "2", "more_than", "3", "个"),
        ("1000余场", "1000", "more_than", None, "场"),
        ("两个以上", "2", "more_than", None, "个"),
        ("349万元", "3490000", "exact", None, "元"),
        ("约227万元", "2270000", "about", None, "元"),
        ("超7000余人次", "7000", "more_than", None, "人次"),
        ("10.8%", "10.8", "exact", None, "%"),
        ("二十多", "20", "more_than", None, None),
    ],
)
def test_a_trailing_measure_word_is_split_off(text, value, qualifier, upper, unit):
    p = parse_number(text)
    assert (format_decimal(p.value), p.qualifier, p.unit) == (value, qualifier, unit)
    assert (None if p.upper is None else format_decimal(p.upper)) == upper


@pytest.mark.parametrize("text", ["个", "多次", "场次", "2021年", "三会一课"])
def test_measure_word_alone_or_non_unit_suffix_is_not_a_number(text):
    with pytest.raises(ValueError, match="parse_number"):
        parse_number(text)


@pytest.mark.parametrize(
    "text, value, qualifier",
    [("百三", "130", "exact"), ("千三", "1300", "exact"), (".5", "0.5", "exact"),
     ("一百零几万", "1000000", "more_than"), ("一百零几", "100", "more_than")],
)
def test_colloquial_and_leading_dot_forms(text, value, qualifier):
    p = parse_number(text)
    assert (format_decimal(p.value), p.qualifier) == (value, qualifier)
