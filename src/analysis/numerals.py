"""Turn Chinese and Arabic numeral strings into exact numbers with a qualifier (numerals stage of the metrics flow).

The parser reads the numbers of Chinese government reporting: Arabic numbers
with decimals and thousands separators (``1,200``, ``1，200``), full-width
digits, mixed forms (``1.2万``, ``3万4000``, ``25万6千``, ``19619万``),
Chinese numerals (``两``, ``二十多``, ``一百零八``, ``十万零一千``,
``一万五千亿``), financial numerals (``壹佰``), vague amounts (``几十``,
``十几``, ``数千``) and approximate pairs (``两三``, ``五六百``), with the
qualifier words around them (``近``, ``约``, ``超``, ``逾``, ``余``, ``多``,
``以上``, ``左右``, ``至少``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from .paths import RESOURCES_DIR
from .storage import read_yaml

__all__ = [
    "ParsedNumber",
    "parse_number",
    "format_decimal",
    "CN_DIGITS",
    "CN_SMALL_UNITS",
    "CN_BIG_UNITS",
    "NUMERAL_CHARS",
    "QUALIFIER_RANK",
]

Qualifier = Literal["exact", "more_than", "nearly", "about"]

#: Chinese digit characters (common, financial and traditional forms) and their values.
CN_DIGITS: dict[str, int] = {
    "〇": 0, "零": 0, "一": 1, "壹": 1, "幺": 1, "二": 2, "贰": 2, "貳": 2, "两": 2, "兩": 2,
    "三": 3, "叁": 3, "參": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6,
    "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}  # fmt: skip
#: Units below 10 000 (multiplied into a section).
CN_SMALL_UNITS: dict[str, int] = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
#: Section units (万 and 亿) that scale everything written before them.
CN_BIG_UNITS: dict[str, int] = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
#: Archaic tens written as one character.
_CN_TENS = {"廿": "二十", "卅": "三十", "卌": "四十"}
_ZEROS = frozenset("〇零")
#: Every character that can be part of a numeral (used by the extractor's candidate regex).
NUMERAL_CHARS = "".join(CN_DIGITS) + "".join(CN_SMALL_UNITS) + "".join(CN_BIG_UNITS) + "".join(_CN_TENS)
#: Precedence when a prefix and a suffix qualifier disagree (higher wins).
QUALIFIER_RANK: dict[str, int] = {"exact": 0, "more_than": 1, "about": 2, "nearly": 3}

#: Adjacent digit pairs read as "a or b" (两三个, 五六百), never as a positional number.
_PAIRS = {(a, a + 1) for a in range(1, 9)} | {(3, 5)}

_FULLWIDTH = str.maketrans("０１２３４５６７８９．，－", "0123456789.,-")
RE_THOUSANDS_SEP = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
RE_ARABIC = re.compile(r"\d+(?:\.\d+)?")
RE_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    """A parsed number.

    ``value`` is exact (``Decimal``) and, for vague or approximate amounts, the
    lower bound; ``upper`` is the upper bound of an approximate pair
    (``五六百`` -> 500, upper 600), else ``None``.
    """

    value: Decimal
    qualifier: Qualifier = "exact"
    upper: Decimal | None = None
    unit: str | None = None


@functools.lru_cache(maxsize=1)
def _qualifier_words() -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """(prefix, suffix) qualifier words from ``resources/metrics.yml``, longest first."""
    path = RESOURCES_DIR / "metrics.yml"
    data = read_yaml(path, what="metric lexicon")
    table = data.get("qualifiers") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise ValueError(f"{path}: key `qualifiers` missing or not a mapping")
    prefix: list[tuple[str, str]] = []
    suffix: list[tuple[str, str]] = []
    for qualifier, entry in table.items():
        if qualifier not in QUALIFIER_RANK:
            raise ValueError(f"{path}: qualifier {qualifier!r} is not one of {sorted(QUALIFIER_RANK)}")
        for word in entry.get("prefix", []) or []:
            prefix.append((str(word), qualifier))
        for word in entry.get("suffix", []) or []:
            suffix.append((str(word), qualifier))
    key = lambda p: (-len(p[0]), p[0])  # noqa: E731
    return tuple(sorted(prefix, key=key)), tuple(sorted(suffix, key=key))


def format_decimal(value: Decimal) -> str:
    """Plain decimal string without exponent or trailing zeros (``12000``, ``10.8``)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def _fail(text: str, reason: str) -> ValueError:
    return ValueError(f"parse_number: {text!r} is not a number: {reason}")


def _tokens(core: str, original: str) -> list[tuple[str, object]]:
    """Split a numeral (no qualifiers, no 点 decimal) into tokens.

    Kinds: ``num`` (value, is_single_cn_digit, is_decimal), ``zero``, ``small``, ``big``.
    """
    out: list[tuple[str, object]] = []
    i = 0
    while i < len(core):
        ch = core[i]
        m = RE_ARABIC.match(core, i)
        if m:
            text = m.group()
            try:
                val = Decimal(text)
            except InvalidOperation as exc:  # pragma: no cover - regex guarantees digits
                raise _fail(original, f"bad Arabic number {text!r}") from exc
            out.append(("num", (val, len(text) == 1, "." in text)))
            i = m.end()
            if i < len(core) and core[i] == ".":
                raise _fail(original, "misplaced decimal point")
            continue
        if ch in _ZEROS:
            out.append(("zero", 0))
        elif ch in CN_DIGITS:
            out.append(("num", (Decimal(CN_DIGITS[ch]), True, False)))
        elif ch in CN_SMALL_UNITS:
            out.append(("small", CN_SMALL_UNITS[ch]))
        elif ch in CN_BIG_UNITS:
            out.append(("big", CN_BIG_UNITS[ch]))
        else:
            raise _fail(original, f"unexpected character {ch!r}")
        i += 1
    return out


def _section(tokens: list[tuple[str, object]], original: str, *, whole: bool) -> Decimal:
    """Value of a run below 10 000: numbers, 零 and 十/百/千."""
    if not tokens:
        raise _fail(original, "a unit without a number")
    total = Decimal(0)
    pending: tuple[Decimal, bool, bool] | None = None
    last_unit: int | None = None
    after_zero = False
    prev_kind = ""
    for k, (kind, val) in enumerate(tokens):
        if kind == "num":
            if pending is not None:
                raise _fail(original, "two numbers in a row without a unit")
            pending = val  # type: ignore[assignment]
        elif kind == "zero":
            if pending is not None:
                raise _fail(original, "零 after a number without a unit")
            after_zero = True
        elif kind == "small":
            unit = int(val)  # type: ignore[arg-type]
            if last_unit is not None and unit >= last_unit:
                raise _fail(original, "units out of order")
            if pending is None:
                bare_ok = unit == 10 or (k == 0 and len(tokens) == 1 and whole) or after_zero
                if not bare_ok:
                    raise _fail(original, "百/千 without a number before it")
                coef = Decimal(1)
            else:
                coef = pending[0]
            total += coef * unit
            last_unit = unit
            pending = None
            after_zero = False
        else:  # pragma: no cover - big units are split off by the caller
            raise _fail(original, "misplaced 万/亿")
        prev_kind = kind
    if pending is not None:
        value, single_cn, _ = pending
        if prev_kind == "num" and single_cn and last_unit is not None and last_unit > 10 and not after_zero:
            total += value * (last_unit // 10)  # colloquial 两千六 = 2600
        else:
            total += value
    return total


def _integer(tokens: list[tuple[str, object]], original: str, *, whole: bool = True) -> Decimal:
    """Value of a token run, splitting on the largest 万/亿 (its last occurrence)."""
    bigs = [(v, i) for i, (k, v) in enumerate(tokens) if k == "big"]
    if not bigs:
        return _section(tokens, original, whole=whole)
    top = max(int(v) for v, _ in bigs)  # type: ignore[call-overload]
    idx = max(i for v, i in bigs if v == top)
    left, right = tokens[:idx], tokens[idx + 1 :]
    if left:
        lv = _integer(left, original, whole=False)
    elif idx == 0:
        lv = Decimal(1)  # bare 万 in 万余, 亿 alone
    else:  # pragma: no cover
        raise _fail(original, "万/亿 without a number")
    left_decimal = any(k == "num" and val[2] for k, val in left)  # type: ignore[index]
    if not right:
        return lv * top
    if left_decimal:
        raise _fail(original, "a decimal before 万/亿 cannot be followed by more digits")
    if right[0][0] == "zero":
        if len(right) == 1:
            raise _fail(original, "trailing 零")
        rv = _integer(right, original, whole=False)
    elif len(right) == 1 and right[0][0] == "num" and right[0][1][1]:  # type: ignore[index]
        rv = right[0][1][0] * (top // 10)  # type: ignore[index]  # colloquial 三万五 = 35000
    else:
        rv = _integer(right, original, whole=False)
    if rv >= top:
        raise _fail(original, "the part after 万/亿 is not smaller than it")
    return lv * top + rv


def _fraction(text: str, original: str) -> Decimal:
    digits = []
    for ch in text:
        if ch.isdigit() and ch.isascii():
            digits.append(ch)
        elif ch in CN_DIGITS:
            digits.append(str(CN_DIGITS[ch]))
        else:
            raise _fail(original, f"unexpected character {ch!r} after 点")
    return Decimal("0." + "".join(digits))


def _value(core: str, original: str) -> Decimal:
    """Exact value of a numeral without qualifiers (may contain 点 and a sign)."""
    sign = 1
    if core[:1] in ("负", "-"):
        sign, core = -1, core[1:]
    if not core:
        raise _fail(original, "nothing after the minus sign")
    if "点" in core:
        head, _, tail = core.partition("点")
        if not head or not tail:
            raise _fail(original, "点 needs digits on both sides")
        if "点" in tail:
            raise _fail(original, "more than one 点")
        m = re.fullmatch(r"(.*?)([万亿]*)", tail)
        assert m is not None
        frac_digits, scale = m.group(1), m.group(2)
        value = _integer(_tokens(head, original), original) + _fraction(frac_digits, original)
        for ch in scale:
            value *= CN_BIG_UNITS[ch]
        return sign * value
    tokens = _tokens(core, original)
    # Two or more bare Chinese digits with no unit are a positional code (一七二零), not a count.
    if len(tokens) >= 2 and all(k == "zero" or (k == "num" and v[1] and not v[2]) for k, v in tokens):  # type: ignore[index]
        raise _fail(original, "a digit-by-digit string (a year or a code) is not a count")
    return sign * _integer(tokens, original)


def _find_pair(core: str) -> tuple[int, int, int] | None:
    """Position and values of an approximate pair (两三, 五六) in ``core``, if any."""
    for i in range(len(core) - 1):
        a, b = core[i], core[i + 1]
        if a in CN_DIGITS and b in CN_DIGITS and a not in _ZEROS and b not in _ZEROS:
            if (i > 0 and core[i - 1] in CN_DIGITS) or (i + 2 < len(core) and core[i + 2] in CN_DIGITS):
                continue
            va, vb = CN_DIGITS[a], CN_DIGITS[b]
            if (va, vb) in _PAIRS or (a == "一" and b in "两二"):
                return i, va, vb
    return None


@functools.lru_cache(maxsize=1)
def _measure_words() -> tuple[str, ...]:
    """Measure words and units of ``resources/metrics.yml`` (``units``), longest first."""
    data = read_yaml(RESOURCES_DIR / "metrics.yml", what="metric lexicon")
    units = data.get("units") if isinstance(data, dict) else None
    if not isinstance(units, list):
        raise ValueError(f"{RESOURCES_DIR / 'metrics.yml'}: `units` must be a list of measure words")
    return tuple(sorted({str(u) for u in units}, key=lambda u: (-len(u), u)))


def _strip_unit(text: str) -> tuple[str, str | None]:
    """Split a trailing measure word off (两三个 -> 两三, 个); 万元/亿元 keep their multiplier."""
    for unit in _measure_words():
        if text.endswith(unit) and len(text) > len(unit):
            if unit[0] in "万亿千" and unit.endswith("元"):
                return text[:-1], "元"
            return text[: -len(unit)], unit
    return text, None


def _strip_qualifiers(text: str) -> tuple[str, str | None, str | None]:
    prefixes, suffixes = _qualifier_words()
    pre = suf = None
    for word, q in prefixes:
        if text.startswith(word) and len(text) > len(word):
            pre, text = q, text[len(word) :]
            break
    changed = True
    while changed:
        changed = False
        for word, q in suffixes:
            if text.endswith(word) and len(text) > len(word):
                text = text[: -len(word)]
                if suf is None or QUALIFIER_RANK[q] > QUALIFIER_RANK[suf]:
                    suf = q
                changed = True
                break
    return text, pre, suf


def parse_number(text: str) -> ParsedNumber:
    """Parse a numeral string into an exact value, a qualifier and an upper bound.

    Parameters
    ----------
    text : str
        The number as written, optionally with qualifier words around it
        (prefix 近/将近/约/大约/超/超过/逾/至少, suffix 余/多/以上/左右, and
        余/多 between a number and 万/亿), optionally followed by one measure
        word or unit of the metric lexicon (两三个, 1000余场, 349万元), which is
        returned in ``unit`` (万元/亿元 -> 元 with the value scaled).

    Returns
    -------
    ParsedNumber
        ``value`` in base units (``1.2万`` -> 12000), ``qualifier`` in
        {exact, more_than, nearly, about}, ``upper`` for approximate pairs.

    Raises
    ------
    TypeError
        If ``text`` is not a string.
    ValueError
        If ``text`` is not a number; the message quotes the input.

    Notes
    -----
    Qualifier mapping: 余, 多, 超, 超过, 逾, 以上, 至少 -> ``more_than`` (the
    value is a lower bound); 近, 将近 -> ``nearly`` (an upper bound that is
    almost reached); 约, 大约, 左右 -> ``about``. When a prefix and a suffix
    both occur (超7000余), the prefix wins. Vague amounts take their round
    lower bound with ``more_than``: 几十 and 数十 -> 10, 十几 -> 10, 数千 ->
    1000. Approximate pairs (两三, 五六百, 十五六) give the lower value,
    ``more_than`` and the upper value in ``upper``; they are never read
    positionally (两三 is not 23). A digit-by-digit Chinese string with no
    unit (一九二一) is rejected, since in reports it is a year or a code.
    Colloquial abbreviations follow the usual reading: 两千六 -> 2600,
    三万五 -> 35000. Arithmetic is ``Decimal``, so 16.4亿 is exactly
    1640000000.

    Examples
    --------
    >>> parse_number("1.2万余")
    ParsedNumber(value=Decimal('12000'), qualifier='more_than', upper=None, unit=None)
    >>> parse_number("二十多").value, parse_number("二十多").qualifier
    (Decimal('20'), 'more_than')
    >>> parse_number("两千三百").value
    Decimal('2300')
    >>> p = parse_number("五六百"); (p.value, p.qualifier, p.upper)
    (Decimal('500'), 'more_than', Decimal('600'))
    >>> parse_number("近百")
    ParsedNumber(value=Decimal('100'), qualifier='nearly', upper=None, unit=None)
    >>> p = parse_number("两三个"); (p.value, p.qualifier, p.upper, p.unit)
    (Decimal('2'), 'more_than', Decimal('3'), '个')
    >>> p = parse_number("349万元"); (p.value, p.unit)
    (Decimal('3490000'), '元')
    >>> format_decimal(parse_number("16.4亿").value)
    '1640000000'
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_number: expected str, got {type(text).__name__} ({text!r})")
    original = text
    s = RE_SPACE.sub("", text.translate(_FULLWIDTH))
    s = RE_THOUSANDS_SEP.sub("", s)
    for old, new in _CN_TENS.items():
        s = s.replace(old, new)
    if not s:
        raise _fail(original, "empty string")
    s, pre, suf = _strip_qualifiers(s)
    s, unit = _strip_unit(s)
    if unit is not None:  # 1000余场, 两个以上: qualifiers may sit on either side of the unit
        s, pre2, suf2 = _strip_qualifiers(s)
        pre = pre or pre2
        if suf is None or (suf2 is not None and QUALIFIER_RANK[suf2] > QUALIFIER_RANK[suf]):
            suf = suf2 or suf
    qualifier: str = pre or suf or "exact"
    # 余/多 between the number and 万/亿 (十余万, 一千多万)
    inner = re.sub(r"[余多](?=[万亿萬億])", "", s)
    if inner != s:
        s = inner
        if pre is None:
            qualifier = "more_than"
    # vague 几/数
    if "几" in s or "数" in s:
        vague = re.sub(r"^[几数](?=[十百千万亿])", "一", s)
        vague = re.sub(r"(?<=十)几", "", vague)
        vague = re.sub(r"零几", "", vague)  # 一百零几万: lower bound 一百万
        if "几" in vague or "数" in vague or vague == s:
            raise _fail(original, "几/数 must stand before 十/百/千/万/亿 or after 十")
        s = vague
        if pre is None:
            qualifier = "more_than"
    if not s or not any(c.isdigit() or c in NUMERAL_CHARS for c in s):
        raise _fail(original, "no digits or numeral characters")
    # .5 -> 0.5; 百三/千三 (colloquial, no leading 一) -> 一百三/一千三
    s = re.sub(r"^([-负]?)\.(?=\d)", r"\g<1>0.", s)
    s = re.sub(r"^([百千])(?=[一二三四五六七八九两]$)", r"一\1", s)
    pair = _find_pair(s)
    upper = None
    if pair is not None:
        i, lo, hi = pair
        low_text = s[:i] + _digit_char(lo) + s[i + 2 :]
        high_text = s[:i] + _digit_char(hi) + s[i + 2 :]
        value = _value(low_text, original)
        upper = _value(high_text, original)
        if pre is None:
            qualifier = "more_than"
    else:
        value = _value(s, original)
    return ParsedNumber(
        value=_tidy(value),
        qualifier=qualifier,
        upper=None if upper is None else _tidy(upper),  # type: ignore[arg-type]
        unit=unit,
    )


def _tidy(value: Decimal) -> Decimal:
    """Integral values as plain integers (12000, not 12000.0); others unchanged."""
    if value == value.to_integral_value():
        return Decimal(int(value))
    return value


def _digit_char(v: int) -> str:
    return "〇一二三四五六七八九"[v]
