"""Score analysis.numerals.parse_number and cn2an on the peers' cases in ../shared/benchmarks, side by side.

Scope (decided before scoring, printed with the counts):
- cn2an_cn2an.json: all cases except (a) the 'direct' mode (digit strings
  returned as strings, e.g. 零零三 -> "003"), (b) digit-by-digit numerals with
  no unit (一七二零, 一一), which reports use for years and codes and which
  parse_number deliberately rejects (adjacent digits there are approximate
  pairs: 两三 = 2-3), and (c) money written with 元/圆/角/分/整 (a unit, not a
  number). Error cases are kept: both must raise ValueError.
- recognizers_text_zh_number_model.json: each resolved number span whose text
  uses only digits, Chinese numerals, 点, 负 and 余/多/几 (no fractions 分之, no
  percent, no traditional-script units); scored on the resolved value.
- Qualifier cases (ours only, cn2an has no qualifiers): the numbers of the
  genre with 余/多/近/约/以上/几/数 and approximate pairs, with their expected
  value and qualifier as documented in DESIGN.md.
Usage: .venv/bin/python benchmarks/bench_numerals.py
"""

from __future__ import annotations

import json
import re
import warnings
from decimal import Decimal

import cn2an

from analysis.numerals import NUMERAL_CHARS, parse_number
from analysis.paths import PROJECT_ROOT

BENCH = PROJECT_ROOT.parent / "shared" / "benchmarks"
RE_DIGIT_STRING = re.compile(r"^负?[〇零一二两三四五六七八九壹贰叁肆伍陆柒捌玖幺]{2,}(点.*)?$")
RE_MONEY = re.compile(r"[元圆角分整正]")
RE_IN_SCOPE_TEXT = re.compile(rf"^[0-9０-９.,，{NUMERAL_CHARS}点负余多几数-]+$")

QUALIFIER_CASES = [
    ("二十多", 20, "more_than"), ("1.2万余", 12000, "more_than"), ("万余", 10000, "more_than"),
    ("近百", 100, "nearly"), ("约227万", 2270000, "about"), ("超7000余", 7000, "more_than"),
    ("20以上", 20, "more_than"), ("两三", 2, "more_than"), ("五六百", 500, "more_than"),
    ("几十", 10, "more_than"), ("十几", 10, "more_than"), ("数千", 1000, "more_than"),
    ("1000余", 1000, "more_than"), ("10万余", 100000, "more_than"), ("1.1万多", 11000, "more_than"),
    ("300多", 300, "more_than"), ("将近3000", 3000, "nearly"), ("50左右", 50, "about"),
]  # fmt: skip


def ours(text: str) -> Decimal | None:
    try:
        return parse_number(text).value
    except ValueError:
        return None


def peer(text: str) -> Decimal | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Decimal(str(cn2an.cn2an(text, "smart")))
    except Exception:  # noqa: BLE001 - the peer raises assorted types on bad input
        return None


def same(a: Decimal | None, b: object) -> bool:
    return a is not None and abs(a - Decimal(str(b))) <= Decimal("1e-9") * max(1, abs(Decimal(str(b))))


def cn2an_cases() -> tuple[list[tuple[str, object]], int]:
    data = json.loads((BENCH / "cn2an_cn2an.json").read_text(encoding="utf-8"))
    cases, skipped = [], 0
    for c in data["cases"]:
        text = c["input"]
        if c.get("modes") == ["direct"] or RE_DIGIT_STRING.match(text) or RE_MONEY.search(text):
            skipped += 1
            continue
        cases.append((text, "error" if "expected_error" in c else c["expected"]))
    return cases, skipped


def recognizers_cases() -> tuple[list[tuple[str, object]], int]:
    data = json.loads((BENCH / "recognizers_text_zh_number_model.json").read_text(encoding="utf-8"))
    cases, skipped = [], 0
    for c in data["cases"]:
        for r in c["Results"]:
            text, val = r["Text"], r["Resolution"].get("value")
            if val is None or not RE_IN_SCOPE_TEXT.match(text) or RE_DIGIT_STRING.match(text):
                skipped += 1
                continue
            try:
                Decimal(val)
            except ArithmeticError:
                skipped += 1
                continue
            cases.append((text, val))
    return cases, skipped


def score(cases: list[tuple[str, object]], fn) -> int:
    ok = 0
    for text, expected in cases:
        got = fn(text)
        ok += (got is None) if expected == "error" else same(got, expected)
    return ok


def main() -> None:
    print(f"{'case set':44} {'n':>5} {'parse_number':>13} {'cn2an':>8}")
    for name, (cases, skipped) in (
        ("cn2an_cn2an (in scope)", cn2an_cases()),
        ("recognizers zh number spans (in scope)", recognizers_cases()),
    ):
        a, b = score(cases, ours), score(cases, peer)
        print(f"{name:44} {len(cases):5d} {a / len(cases):13.3f} {b / len(cases):8.3f}   (skipped {skipped})")
        for text, expected in cases:
            if (ours(text) is None) != (expected == "error") or (
                expected != "error" and not same(ours(text), expected)
            ):
                print(f"    ours wrong: {text!r} expected {expected!r} got {ours(text)!r}")
    q_ok = sum(parse_number(t).qualifier == q and parse_number(t).value == v for t, v, q in QUALIFIER_CASES)
    p_ok = sum(same(peer(t), v) for t, v, _ in QUALIFIER_CASES)
    n = len(QUALIFIER_CASES)
    print(
        f"{'qualifier cases (value+qualifier; cn2an value only)':44} {n:5d} {q_ok / n:13.3f} {p_ok / n:8.3f}"
    )
    print(
        f"    cn2an on 两三 -> {peer('两三')}, 五六百 -> {peer('五六百')}; parse_number -> "
        f"{parse_number('两三')}, {parse_number('五六百')}"
    )


if __name__ == "__main__":
    main()
