"""Extract metric mentions (quantitative claims) from cleaned paragraphs, with raw offsets (paragraphs -> MetricMention).

A metric mention is a number with its measure word that counts or measures
something the campaign did (DESIGN.md, "Metric mentions"). Numbers that are
dates, periods, ordinals, anniversaries, ages, durations, page references,
identifiers, names or numbered formulations are kept out and can be listed with
their reason by :func:`extract_excluded_numbers`. All word lists live in
``resources/metrics.yml`` (and ``resources/formulations.yml``).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from . import numerals
from .errors import InputError
from .paths import RESOURCES_DIR
from .records import CATEGORIES, CleanDocument, ExcludedNumber, MetricMention, Paragraph
from .storage import read_yaml

__all__ = [
    "extract_numbers",
    "paragraphs_by_document",
    "METRIC_COLUMNS",
    "EXTRA_COLUMNS",
    "EXCLUSION_REASONS",
    "MetricLexicon",
    "load_metric_lexicon",
    "extract_metric_mentions",
    "extract_excluded_numbers",
    "mentions_from_document",
    "excluded_from_document",
    "mentions_to_frame",
    "excluded_to_frame",
    "METRIC_CATEGORIES",
    "FALLBACK_CATEGORY",
    "category_definitions",
    "explain_document",
    "explain_document_empty",
    "EXPLAIN_COLUMNS",
]

logger = logging.getLogger(__name__)

METRIC_COLUMNS = [
    "doc_id",
    "start",
    "end",
    "surface",
    "value",
    "unit",
    "qualifier",
    "is_rate",
    "counted",
    "category",
]
EXTRA_COLUMNS = ["mention_id", "para_id", "upper", "sentence"]
#: Audit columns of :func:`explain_document` (``metrics --explain``).
EXPLAIN_COLUMNS = ["category_rule", "counted_rule"]
EXCLUSION_REASONS = (
    "date", "ordinal", "anniversary", "age", "duration", "period", "page_ref",
    "identifier", "formulation", "name", "other",
)  # fmt: skip

#: Category given when no cue of the lexicon places a mention (documented in metrics.yml).
FALLBACK_CATEGORY = "other"
#: The nine categories of DESIGN.md, then the fallback.
METRIC_CATEGORIES: tuple[str, ...] = (*CATEGORIES, FALLBACK_CATEGORY)

DEFAULT_LEXICON_PATH = RESOURCES_DIR / "metrics.yml"
FORMULATIONS_PATH = RESOURCES_DIR / "formulations.yml"
#: Longest counted noun phrase kept (characters).
MAX_COUNTED_CHARS = 14
#: Look-back window for 至少-type context qualifiers (characters, same clause).
CONTEXT_QUALIFIER_WINDOW_CHARS = 10

_SKIP = "_skip"  # lexicalised words: numerals that are not numbers, never listed

# ---------------------------------------------------------------- regexes
_D = "0-9０-９"
_CN = numerals.NUMERAL_CHARS
RE_CANDIDATE = re.compile(
    rf"(?:[{_D}]+(?:[,，][{_D}]{{3}}(?![{_D}]))*(?:[.．][{_D}]+)?|[{_CN}]|[几数](?=[十百千万亿])|(?<=十)几|[余多](?=[万亿]))+"
    r"(?P<suffix>余|多)?"
)
_N = rf"[{_D}〇零一二两三四五六七八九十]"
#: One optional space of web text between a number and its unit (17 个, 12 月 22 日).
_SP = "[ \u3000\xa0]?"
_SPACES = " \u3000\xa0"
_TIME_POINT = rf"(?:{_N}+{_SP}年{_SP})?{_N}+{_SP}月(?:{_SP}{_N}+{_SP}[日号])?(?:[上中下]旬|初|底)?"
#: Spans recognised before single numbers: (regex, reason). Order matters (first wins).
SPECIAL_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"[{_D}]{{4}}[-/.][{_D}]{{1,2}}[-/.][{_D}]{{1,2}}"), "date"),
    (re.compile(rf"[{_D}]+(?:\.[{_D}]+){{3}}"), "identifier"),
    # telephone numbers: area code, dash, 7-8 digits (0730-1234567, 400-123-4567)
    (re.compile(rf"(?<![{_D}])0?[{_D}]{{2,3}}[-－][{_D}]{{3,4}}(?:[-－]?[{_D}]{{4}})(?![{_D}])"), "identifier"),
    (re.compile(rf"[{_D}]{{1,2}}(?::[{_D}]{{1,2}}){{1,3}}"), "date"),
    (re.compile(rf"{_TIME_POINT}\s*(?:至|到|—|－|-|~|～)\s*{_TIME_POINT}"), "period"),
    (re.compile(rf"{_N}+\s*(?:至|到|—|－|-|~|～)\s*{_N}+月份?"), "period"),
    (re.compile(rf"(?:{_N}{{2,4}}{_SP}年{_SP})?{_N}+{_SP}月份"), "period"),
    (re.compile(rf"{_N}+{_SP}年{_SP}{_N}+{_SP}月{_SP}{_N}+{_SP}[日号]"), "date"),
    (re.compile(rf"{_N}+{_SP}月(?:{_SP}{_N}+{_SP}[日号]|[上中下]旬)?"), "date"),
    (re.compile(rf"[{_D}]{{1,2}}\s*[·•]\s*[{_D}]{{1,2}}(?![{_D}])"), "date"),
    (re.compile(rf"[{_D}]{{4}}\s*(?:—|－|-|~|～|至|到)+\s*[{_D}]{{4}}"), "period"),
    (re.compile(rf"(?:[{_D}]{{4}}|[〇零一二三四五六七八九]{{4}})年(?!之久|来|以来|间)"), "period"),
    (re.compile(rf"{_N}+\s*(?:~|～|-|－|—|至|到)\s*{_N}+周?岁"), "age"),
    (re.compile(rf"[A-Z]?[{_D}]+(?:\s*(?:~|～|-|－)\s*[{_D}]+)?版"), "page_ref"),
    (re.compile(rf"{_N}+季度"), "period"),
    (re.compile(rf"{_N}+届{_N}+中全会"), "ordinal"),
)
#: “五个一”即: the introduction of a numbered formulation's spelled-out items.
RE_FORMULATION_INTRO = re.compile(r"(“[^“”]{1,8}”)\s*(?:即|就是|是指|包括)\s*[:：]?")
#: jieba tags of words that end a counted phrase only as part of the predicate (同频, 积极, 高).
PREDICATE_POS = frozenset({"b", "a", "ad", "d", "l", "i", "z"})
#: jieba tags of a one-character word that continues a verb phrase (讲解了, 带着, 打好), not a noun (敲门组).
VERB_COMPLEMENT_POS = frozenset({"u", "p", "d", "c", "y", "a"})
#: How far back (characters) the items of a spelled-out formulation reach.
FORMULATION_ITEMS_MAX_CHARS = 160
RE_CLAUSE_DELIM = re.compile(r"[,，;；。！？!?：:\n]")
RE_SENTENCE_DELIM = re.compile(r"[。！？!?；;\n]")
_CLAUSE_CHARS = ",，;；。！？!?：:\n"
_SENTENCE_CHARS = "。！？!?；;\n"
RE_QUOTE_OPEN = '“「『"'
RE_QUOTE_CLOSE = '”」』"'
RE_ALT_UNIT = re.compile(r"[(（][^()（）]{1,3}[)）]")
RE_IDENT_NEIGHBOUR = re.compile(r"[A-Za-z_/:=#@&%.\-]")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True, slots=True)
class MetricLexicon:
    """The word lists of ``metrics.yml`` (plus formulations), validated and indexed."""

    path: str
    units: tuple[str, ...]
    unit_scale: dict[str, tuple[str, int]]
    person_time_units: frozenset[str]
    person_units: frozenset[str]
    prefix_qualifiers: tuple[tuple[str, str], ...]
    magnitude_prefixes: tuple[tuple[str, str], ...]
    post_unit_qualifiers: tuple[tuple[str, str], ...]
    context_more_than: tuple[str, ...]
    prefix_blockers: tuple[str, ...]
    exclusions: dict[str, Any]
    lexical_regex: re.Pattern[str] | None
    lexical_reason: dict[str, str]
    rate_cues: tuple[str, ...]
    quota_verbs: tuple[str, ...]
    counted_stop_words: tuple[str, ...]
    counted_lead_words: tuple[str, ...]
    elided_noun_verbs: frozenset[str]
    counted_trailing_words: tuple[str, ...]
    category_cues: dict[str, tuple[str, ...]]
    participation_verbs: tuple[str, ...]
    membership_nouns: tuple[str, ...]
    membership_lead: tuple[str, ...]
    generic_person_nouns: tuple[str, ...]
    role_nouns: tuple[str, ...]
    category_neutral_phrases: tuple[str, ...] = ()
    general_cue_words: frozenset[str] = frozenset()
    nominal_pos: frozenset[str] = frozenset()
    dimension_followers: tuple[str, ...] = ()
    predicate_verbs: frozenset[str] = frozenset()


def _str_list(data: dict[str, Any], key: str, path: Path) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise InputError(path, f"key `{key}` must be a list of strings, got {value!r}")
    return [str(v) for v in value]


def _longest_first(words: Iterable[str]) -> tuple[str, ...]:
    return _longest_first_cached(tuple(str(w) for w in words))


@functools.lru_cache(maxsize=256)
def _longest_first_cached(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(words), key=lambda w: (-len(w), w)))


@functools.lru_cache(maxsize=8)
def load_metric_lexicon(path: str | Path | None = None) -> MetricLexicon:
    """Load and validate the metric lexicon (default ``resources/metrics.yml``).

    Parameters
    ----------
    path : str or Path or None, default=None
        A YAML file with the keys of the bundled ``metrics.yml``.

    Raises
    ------
    InputError
        If the file is not a mapping, a key has the wrong type, or a category
        is not one of :data:`records.CATEGORIES`.
    """
    path = Path(path) if path is not None else DEFAULT_LEXICON_PATH
    data = read_yaml(path, what="metric lexicon")
    if not isinstance(data, dict):
        raise InputError(path, "the metric lexicon must be a YAML mapping")
    cues = data.get("category_cues", {})
    if not isinstance(cues, dict):
        raise InputError(path, "`category_cues` must map category -> list of words")
    for cat in cues:
        if cat not in CATEGORIES:
            raise InputError(path, f"category {cat!r} in `category_cues` is not one of {list(CATEGORIES)}")
    quals = data.get("qualifiers", {})
    prefix, post, context, magnitude = [], [], [], []
    for q, entry in quals.items():
        prefix += [(w, q) for w in entry.get("prefix", []) or []]
        magnitude += [(w, q) for w in entry.get("magnitude_prefix", []) or []]
        post += [(w, q) for w in entry.get("suffix", []) or [] if len(w) > 1]
        if q == "more_than":
            context += entry.get("context", []) or []
    excl = data.get("exclusions", {})
    if not isinstance(excl, dict):
        raise InputError(path, "`exclusions` must be a mapping")
    lexical: dict[str, str] = {}
    for w in excl.get("lexicalised", []):
        lexical[str(w)] = _SKIP
    formulations: list[str] = list(excl.get("formulations_extra", []))
    if FORMULATIONS_PATH.exists():
        fdata = read_yaml(FORMULATIONS_PATH, what="formulations lexicon") or {}
        formulations += [str(w) for w in fdata.get("formulations", []) or []]
    for w in formulations:
        if any(c in numerals.NUMERAL_CHARS or c.isdigit() for c in w):
            lexical[w] = "formulation"
    for w in excl.get("period_words", []):
        lexical[str(w)] = "period"
    for w in excl.get("anniversary_words", []):
        lexical[str(w)] = "anniversary"
    for w in excl.get("metaphors", []):
        lexical[str(w)] = "other"
    lexical_regex = re.compile("|".join(re.escape(w) for w in _longest_first(lexical))) if lexical else None
    scale = {k: (str(v["unit"]), int(v["factor"])) for k, v in (data.get("unit_scale", {}) or {}).items()}
    return MetricLexicon(
        path=str(path),
        units=_longest_first(_str_list(data, "units", path)),
        unit_scale=scale,
        person_time_units=frozenset(_str_list(data, "person_time_units", path)),
        person_units=frozenset(_str_list(data, "person_units", path)),
        prefix_qualifiers=tuple(sorted(prefix, key=lambda p: (-len(p[0]), p[0]))),
        magnitude_prefixes=tuple(sorted(magnitude, key=lambda p: (-len(p[0]), p[0]))),
        post_unit_qualifiers=tuple(sorted(post, key=lambda p: (-len(p[0]), p[0]))),
        context_more_than=_longest_first(context),
        prefix_blockers=_longest_first(_str_list(data, "prefix_blockers", path)),
        exclusions=excl,
        lexical_regex=lexical_regex,
        lexical_reason=lexical,
        rate_cues=_longest_first(_str_list(data, "rate_cues", path)),
        quota_verbs=_longest_first(_str_list(data, "quota_verbs", path)),
        counted_stop_words=_longest_first(_str_list(data, "counted_stop_words", path)),
        counted_lead_words=_longest_first(_str_list(data, "counted_lead_words", path)),
        elided_noun_verbs=frozenset(_str_list(data, "elided_noun_verbs", path)),
        counted_trailing_words=_longest_first(_str_list(data, "counted_trailing_words", path)),
        category_cues={c: _longest_first(cues.get(c, [])) for c in CATEGORIES},
        participation_verbs=_longest_first(_str_list(data, "participation_verbs", path)),
        membership_nouns=_longest_first(_str_list(data, "membership_nouns", path)),
        membership_lead=_longest_first(_str_list(data, "membership_lead", path)),
        generic_person_nouns=_longest_first(_str_list(data, "generic_person_nouns", path)),
        role_nouns=_longest_first(_str_list(data, "role_nouns", path)),
        category_neutral_phrases=_longest_first(_str_list(data, "category_neutral_phrases", path)),
        general_cue_words=frozenset(_str_list(data, "general_cue_words", path)),
        nominal_pos=frozenset(_str_list(data, "counted_nominal_pos", path)),
        dimension_followers=_longest_first(_str_list(excl, "dimension_followers", path)),
        predicate_verbs=frozenset(
            _str_list(data, "counted_predicate_verbs", path) + _str_list(data, "counted_lead_words", path)
        ),
    )


# ---------------------------------------------------------------- helpers
def _bounds(text: str, pos: int, regex: re.Pattern[str]) -> tuple[int, int]:
    """(start, end) of the clause or sentence of ``text`` holding position ``pos``."""
    chars = _CLAUSE_CHARS if regex is RE_CLAUSE_DELIM else _SENTENCE_CHARS
    start = max(text.rfind(c, 0, pos) for c in chars) + 1
    m = regex.search(text, pos)
    end = m.end() if m else len(text)
    return start, end


def _enclosing_quote(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Inner (start, end) of the “…” quote (or ASCII "…" pair of web text) around text[start:end], if any."""
    ascii_quote = _enclosing_ascii_quote(text, start, end)
    if ascii_quote is not None:
        return ascii_quote
    i = start - 1
    while i >= 0:
        ch = text[i]
        if ch in "”」』":
            return None
        if ch in "“「『":
            break
        if ch in "。\n":
            return None
        i -= 1
    else:
        return None
    j = end
    while j < len(text):
        ch = text[j]
        if ch in "“「『":
            return None
        if ch in "”」』":
            return i + 1, j
        if ch in "。\n":
            return None
        j += 1
    return None


def _enclosing_ascii_quote(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Inner span of an ASCII "…" pair around text[start:end] within its sentence (an odd number of " before)."""
    sent_start = max(text.rfind(c, 0, start) for c in "。\n") + 1
    before = text.count('"', sent_start, start)
    if before % 2 == 0:
        return None
    open_at = text.rfind('"', sent_start, start)
    close_at = text.find('"', end)
    stop = min((k for k in (text.find("。", end), text.find("\n", end)) if k != -1), default=len(text))
    if close_at == -1 or close_at > stop:
        return None
    return open_at + 1, close_at


def _enclosing_group(text: str, start: int) -> int | None:
    """Index of the opening bracket or quote of the innermost group open at ``start``."""
    depth = 0
    for i in range(start - 1, -1, -1):
        ch = text[i]
        if ch in ")）”":
            depth += 1
        elif ch in "(（“":
            if depth == 0:
                return i
            depth -= 1
        elif ch in "。\n":
            return None
    return None


def _match_any(text: str, pos: int, words: tuple[str, ...]) -> str | None:
    for w in words:
        if text.startswith(w, pos):
            return w
    return None


def _ends_any(text: str, words: tuple[str, ...]) -> str | None:
    for w in words:
        if text.endswith(w):
            return w
    return None


def _contains_any(text: str, words: Iterable[str]) -> list[str]:
    return [w for w in words if w in text]


@dataclass(slots=True)
class _Candidate:
    start: int  # in paragraph text, surface start (prefix included)
    end: int  # surface end
    num_start: int
    num_end: int
    numeral: str  # number text with prefix/suffix qualifiers, no unit
    unit: str | None
    reason: str | None  # exclusion reason, _SKIP, or None for a metric


def _scan(text: str, lex: MetricLexicon) -> list[_Candidate]:
    """All numeric expressions of one paragraph text, classified, in text order."""
    excl = lex.exclusions
    taken = [False] * (len(text) + 1)
    out: list[_Candidate] = []

    def claim(s: int, e: int) -> bool:
        if any(taken[s:e]):
            return False
        for k in range(s, e):
            taken[k] = True
        return True

    # 1. lexical words (formulations, lexicalised words, period words, metaphors)
    if lex.lexical_regex is not None:
        for m in lex.lexical_regex.finditer(text):
            reason = lex.lexical_reason[m.group()]
            if claim(m.start(), m.end()):
                out.append(_Candidate(m.start(), m.end(), m.start(), m.end(), m.group(), None, reason))
    # 2. multi-number patterns (dates, ranges, IPs, page refs)
    for regex, reason in SPECIAL_PATTERNS:
        for m in regex.finditer(text):
            if claim(m.start(), m.end()):
                out.append(_Candidate(m.start(), m.end(), m.start(), m.end(), m.group(), None, reason))
    # 3. single numbers
    for s, e in _number_spans(text):
        if any(taken[s:e]):
            continue
        # web text: one space between a number and its measure word (17 个, 2790 户)
        if e < len(text) - 1 and text[e] in _SPACES and _CJK.match(text[e + 1]):
            e += 1
            if text[e] in "余多" and e + 1 < len(text) and _CJK.match(text[e + 1]):
                e += 1  # 30 余个
        cand = _classify(text, s, e, lex, excl)
        if cand is not None and claim(cand.start, cand.end):
            out.append(cand)
    out.sort(key=lambda c: (c.start, c.end))
    return out


def _number_spans(text: str) -> Iterator[tuple[int, int]]:
    """Spans of :data:`RE_CANDIDATE`, without a Chinese digit glued to the Arabic digits after it.

    Financial numerals double as ordinary characters (队伍, 退伍, 陆续, 收拾):
    in 志愿服务队伍12支 the number is 12支, not 伍12支. No number of the genre
    writes a Chinese digit straight before an Arabic one (1万2千 and 3千5百
    put a unit there, and stay whole), so the Chinese part before such a
    boundary is dropped.

    >>> [("队伍12支"[s:e]) for s, e in _number_spans("队伍12支")]
    ['12']
    >>> [("1万2千人"[s:e]) for s, e in _number_spans("1万2千人")]
    ['1万2千']
    """
    for m in RE_CANDIDATE.finditer(text):
        start, end = m.start(), m.end()
        for i in range(start + 1, end):
            if text[i].isdigit() and text[i - 1] in numerals.CN_DIGITS:
                start = i
        yield start, end


def _classify(text: str, s: int, e: int, lex: MetricLexicon, excl: dict[str, Any]) -> _Candidate | None:
    numeral = re.sub(f"[{_SPACES}]", "", text[s:e])
    after = text[e:]
    before = text[:s]

    def make(reason: str | None, start: int = s, end: int = e, unit: str | None = None, num: str = numeral):
        return _Candidate(start, end, s, e, num, unit, reason)

    # identifiers: digits glued to ASCII letters or URL punctuation, or long bare digit runs
    if numeral[0].isdigit():
        left = text[s - 1] if s > 0 else ""
        right = text[e] if e < len(text) else ""
        if (left and RE_IDENT_NEIGHBOUR.match(left)) or (
            right and RE_IDENT_NEIGHBOUR.match(right) and right != "%"
        ):
            return make("identifier")
    # weekday names (周六, 星期一)
    wp = _ends_any(before, tuple(excl.get("weekday_prefixes", [])))
    if wp and len(numeral) == 1 and numeral in "一二三四五六日天":
        reason = "name" if _enclosing_quote(text, s, e) else "date"
        return make(reason, start=s - len(wp))
    # ordinals 第X (or a name such as 第二实验中学)
    stripped = before.rstrip(_SPACES)
    if stripped.endswith(tuple(excl.get("ordinal_prefixes", ["第"]))):
        first = len(stripped) - 1  # 第 3 次 in web text: one span from 第
        if _match_any(text, e, _longest_first(excl.get("name_suffixes", []))):
            return make("name", start=first)
        return make("ordinal", start=first)
    # festival dates written in numerals (“七一”重要讲话)
    if numeral in excl.get("festival_dates", []):
        quoted = _enclosing_quote(text, s, e)
        if (quoted and quoted == (s, e)) or _match_any(
            text, e, _longest_first(excl.get("festival_followers", []))
        ):
            return make("date")
    # unit-like words that make the number a non-metric
    for key, reason in (
        ("anniversary_units", "anniversary"),
        ("age_units", "age"),
        ("duration_units", "duration"),
        ("period_units", "period"),
        ("date_units", "date"),
        ("page_units", "page_ref"),
        ("ordinal_units", "ordinal"),
        ("other_units", "other"),
    ):
        w = _match_any(text, e, _longest_first(excl.get(key, [])))
        if w:
            return make(reason, end=e + len(w))
    if after.startswith("年"):
        if (
            _match_any(text, e + 1, _longest_first(excl.get("duration_followers", [])))
            or not numeral[0].isdigit()
        ):
            return make("duration", end=e + 1)
        return make("period", end=e + 1)
    name_suffix = _match_any(text, e, _longest_first(excl.get("name_suffixes", [])))
    if name_suffix and len(name_suffix) >= len(_match_any(text, e, lex.units) or "") + (
        1 if _match_any(text, e, lex.units) else 0
    ):
        return make("name")
    # spelled-out content of a numbered formulation: “七个一”(每月举办一场…)
    group = _enclosing_group(text, s)
    if group is not None:
        lead = text[max(0, group - 12) : group]
        if re.search(r"[”\"]\s*[,，:：]?\s*(?:即|就是|包括)?\s*$", lead) and _formulation_before(lead, lex):
            unit = _match_any(text, e, lex.units)
            return make("formulation", end=e + (len(unit) if unit else 0))
    # items spelled out after “五个一”即: … (up to the end of the sentence)
    unit = _match_any(text, e, lex.units)
    if not numeral[0].isdigit():
        intros = list(RE_FORMULATION_INTRO.finditer(text, max(0, s - FORMULATION_ITEMS_MAX_CHARS), s))
        intro = intros[-1] if intros else None
        if intro is not None and "。" not in text[intro.end() : s] and _formulation_before(
            text[intro.start() : intro.start() + len(intro.group(1)) + 2], lex
        ):
            return make("formulation", end=e + len(unit or ""))
    # a production capacity inside a project name (70万吨…产业基地项目)
    if unit and unit in excl.get("capacity_units", []):
        rest = re.match(r"[\u4e00-\u9fff]{2,24}", text[e + len(unit) :])
        heads = tuple(excl.get("project_name_heads", []))
        if rest and heads and any(h in rest.group()[2:] for h in heads):
            return make("name", end=e + len(unit))
    # quoted formulations and titles
    quote = _enclosing_quote(text, s, e)
    if quote is not None:
        qs, qe = quote
        qtext = text[qs:qe]
        if unit in excl.get("name_person_units", []):
            return make("name", end=e + len(unit or ""))
        max_chars = int(excl.get("formulation_quote_max_chars", 7))
        if len(qtext) <= max_chars and (qs == s or not unit or len(qtext) <= 4):
            return make("formulation", start=qs, end=qe)
        return make("name", end=e + len(unit or ""))
    # book titles 《…》
    if "《" in before[-30:] and before.rfind("《") > before.rfind("》"):
        close = text.find("》", e)
        if close != -1 and "《" not in text[e:close]:
            return make("name", end=e + len(unit or ""))
    if unit is None:
        if numeral[0].isdigit():
            return make("other")
        return None  # a Chinese numeral inside an ordinary word
    if unit in excl.get("dimension_units", []) and _match_any(text, e + len(unit), lex.dimension_followers):
        return make("other", end=e + len(unit))  # a physical dimension (40米宽的河), not a count
    return make(None, end=e + len(unit), unit=unit)


def _formulation_before(lead: str, lex: MetricLexicon) -> bool:
    q = lead.rfind("“")
    if q == -1:
        return False
    inner = lead[q + 1 :]
    inner = inner[: inner.find("”")] if "”" in inner else inner
    if lex.lexical_regex is not None:
        m = lex.lexical_regex.fullmatch(inner)
        if m and lex.lexical_reason.get(inner) == "formulation":
            return True
    return bool(re.fullmatch(rf"[{_CN}]+[个大项条种]?[\u4e00-\u9fff]{{0,3}}", inner)) and len(inner) <= 6


# ---------------------------------------------------------------- metric fields
@functools.lru_cache(maxsize=1)
def _pos_tokenizer() -> Any:
    """jieba's part-of-speech tokenizer over the project's segmenter (domain dictionary), built on first use."""
    from . import tokens  # noqa: I001 - first: it imports jieba with its packaging warning silenced

    import jieba.posseg  # loaded only when a counted object is read

    return jieba.posseg.POSTokenizer(tokens.get_segmenter().tokenizer)


@functools.lru_cache(maxsize=8192)
def _clause_tokens(clause: str) -> tuple[tuple[int, int, str, str], ...]:
    """(start, end, word, pos) of the jieba words of one clause, offsets in the clause."""
    out, pos = [], 0
    for pair in _pos_tokenizer().lcut(clause):
        word, flag = pair.word, pair.flag
        out.append((pos, pos + len(word), word, flag))
        pos += len(word)
    return tuple(out)


def _is_nominal(word: str, flag: str, lex: MetricLexicon) -> bool:
    return bool(_CJK.match(word)) and (flag in lex.nominal_pos or flag[:1] == "n")


def _snap_counted(
    text: str,
    start: int,
    end: int,
    clause_start: int,
    clause_end: int,
    lo: int,
    hi: int,
    lex: MetricLexicon,
    *,
    after: bool = False,
) -> tuple[int, int, str]:
    """Move a counted span [start, end) to word boundaries (jieba + domain dictionary).

    A word cut at the start is taken whole, unless it is a verb or adverb
    whose tail a lead-word cut left behind (新增学位 -> 学位, not 增学位); a
    word cut at the end is taken whole when it is a noun (日间照料中心), else
    dropped (基层党组织同频 -> 基层党组织). Exact lead words are stripped at the
    start. The span never leaves [lo, hi) (the surface is a word boundary).
    """
    toks = _clause_tokens(text[clause_start:clause_end])
    rule = "words"
    for ts, te, word, flag in toks:
        ts, te = ts + clause_start, te + clause_start
        if ts < start < te:
            if _is_nominal(word, flag, lex) or flag in ("a", "b", "l", "i", "eng", "x"):
                start, rule = max(ts, lo), "words:joined-start"
            else:
                start, rule = te, "words:dropped-start"
        if ts < end < te:
            if _is_nominal(word, flag, lex):
                end, rule = min(te, hi), "words:joined-end"
            else:
                end, rule = ts, "words:dropped-end"
    if after:  # a phrase after the number ends before its verb (车位划定工作 -> 车位)
        inside = [
            (ts + clause_start, te + clause_start, flag)
            for ts, te, _w, flag in toks
            if ts + clause_start > start and te + clause_start <= end
        ]
        for k, (ts, _te, flag) in enumerate(inside):
            # a verb that ends the phrase, or is followed by one character only, is part of a
            # compound noun (社会组织, 具体举措, 敲门组, 办结率)
            nxt = inside[k + 1] if k + 1 < len(inside) else None
            if (
                flag == "v"
                and ts - start >= 2
                and nxt is not None
                and (nxt[1] - nxt[0] >= 2 or nxt[2][:1] in VERB_COMPLEMENT_POS)
            ):
                end, rule = ts, "words:cut-at-verb"
                break
    if after:  # descriptive words after the head noun belong to the predicate (基层党组织同频 -> 基层党组织)
        inside = [
            (ts + clause_start, te + clause_start, flag)
            for ts, te, _w, flag in toks
            if ts + clause_start >= start and te + clause_start <= end
        ]
        while len(inside) > 1 and inside[-1][1] == end and inside[-1][2] in PREDICATE_POS:
            end, rule = inside[-1][0], "words:cut-predicate"
            inside.pop()
    # exact lead words (verbs, determiners) at the start
    changed = True
    while changed and start < end:
        changed = False
        for ts, te, word, _flag in toks:
            ts, te = ts + clause_start, te + clause_start
            if ts == start and te < end and word in lex.counted_lead_words:
                start, changed = te, True
                break
    return start, end, rule


def _counted(
    text: str, surf_start: int, surf_end: int, clause_start: int, clause_end: int, lex: MetricLexicon
) -> tuple[str, str]:
    """The counted noun phrase of a mention and the rule that found it (``after``, ``before``, ``quoted``, ``verb``)."""
    phrase, rule = _counted_chars(text, surf_start, surf_end, clause_start, clause_end, lex)
    if not phrase or rule == "quoted":
        return phrase, rule
    if rule == "after":
        pos = text.find(phrase, surf_end, clause_end)
        lo, hi = surf_end, clause_end
    else:
        pos = text.rfind(phrase, clause_start, surf_start if rule == "before" else clause_end)
        lo, hi = clause_start, (surf_start if rule == "before" else clause_end)
    if pos < 0:
        return phrase, rule
    s, e, snap = _snap_counted(
        text, pos, pos + len(phrase), clause_start, clause_end, lo, hi, lex, after=rule == "after"
    )
    if rule == "before":
        s, e, cut = _after_last_verb(text, s, e, clause_start, clause_end, lex.predicate_verbs)
        snap = cut or snap
    snapped = text[s:e].strip("、“”和与及的 ")
    if len(snapped) >= (2 if rule == "before" else 1) and len(snapped) <= MAX_COUNTED_CHARS + 4:
        return snapped, f"{rule}+{snap}" if snap != "words" else rule
    return phrase, rule


def _after_last_verb(
    text: str, start: int, end: int, clause_start: int, clause_end: int, verbs: frozenset[str]
) -> tuple[int, int, str]:
    """A phrase before the number starts after its last verb when a noun of two or more characters remains.

    讲授精品党课141场 -> 精品党课; 企业遇到的法律问题12项 -> 法律问题. A verb that ends
    the phrase (党员干部下访700余人次) is kept: nothing nominal would be left.
    """
    toks = [
        (ts + clause_start, te + clause_start, w, f)
        for ts, te, w, f in _clause_tokens(text[clause_start:clause_end])
        if ts + clause_start >= start and te + clause_start <= end
    ]
    for i in range(len(toks) - 1, -1, -1):
        if toks[i][3] == "v" and i < len(toks) - 1 and toks[i][2] in verbs:
            rest = text[toks[i][1] : end].lstrip("的")
            if len(rest) >= 2 and _CJK.match(rest):
                return end - len(rest), end, "words:after-verb"
            break
    return start, end, ""


def _modified_head_start(phrase: str, lex: MetricLexicon) -> int:
    """Offset after the last 的 of ``phrase`` when all before it is a modifier (no verb, no stop word), else 0."""
    k = phrase.rfind("的")
    if k <= 0 or len(phrase) - k - 1 < 2:
        return 0
    lead = phrase[:k]
    if any(w in lead for w in lex.counted_stop_words if w != "的"):
        return 0
    flags = [flag for _, _, _, flag in _clause_tokens(lead)]
    if "v" in flags or "“" in phrase[k:] or not ("、" in lead or "a" in flags):
        return 0  # only a descriptive modifier (形式多样、…的; 满意度高的) is skipped
    return k + 1


def _counted_chars(
    text: str, surf_start: int, surf_end: int, clause_start: int, clause_end: int, lex: MetricLexicon
) -> tuple[str, str]:
    after = text[surf_end:clause_end]
    m = RE_ALT_UNIT.match(after)
    if m:
        after = after[m.end() :]
    for w, _ in lex.post_unit_qualifiers:
        if after.startswith(w):
            after = after[len(w) :]
    phrase, cut = "", 0
    if after[:1] in ("、", "和", "及"):  # 基层党组织1200个、党员3.5万名: the number ends its phrase
        after = ""
    run = re.match(r"[\u4e00-\u9fff“”()（）、和与及]+", after)
    if run:
        cand = run.group()
        de = _modified_head_start(cand, lex)
        if de:  # 100余场内容丰富、形式多样的群众性活动: the head after the last 的
            cand = cand[de:]
        cut = len(cand)
        for w in lex.counted_stop_words:
            k = cand.find(w)
            if k != -1 and k < cut and not (w in "和与及" and k > 0):
                cut = k
        phrase = cand[:cut].strip("、“”和与及")
        if len(phrase) > MAX_COUNTED_CHARS:
            phrase = phrase[:MAX_COUNTED_CHARS]
    if len(phrase) >= 2 and not _match_any(phrase, 0, lex.counted_stop_words):
        return phrase, "after"
    if run and after.startswith("的"):  # 100%的综合办结率
        rest = re.match(r"[\u4e00-\u9fff]{2,}", after[1:])
        if rest:
            toks = _clause_tokens(rest.group())
            head = rest.group()
            stops = [k for w in lex.counted_stop_words if w != "的" and (k := head.find(w)) > 0]
            head = head[: min(stops)] if stops else head
            if toks and _is_nominal(toks[0][2], toks[0][3], lex) and len(head) >= 2:
                return head[:MAX_COUNTED_CHARS], "after"
    if run and len(phrase) == 1 and _CJK.match(phrase) and run.group().startswith(phrase) and cut == 1:
        # 10个村共种植…: a one-character noun (by jieba, in its clause) that a stop word ends
        at = surf_end - clause_start
        for ts, _te, word, flag in _clause_tokens(text[clause_start:clause_end]):
            if ts == at and word == phrase and flag[:1] == "n":
                return phrase, "after"
    head = text[clause_start:surf_start]
    quoted = re.search(r"[“\"]([^“”\"]{1,15})[”\"]\s*$", head)
    if quoted:  # 开展“三会一课”3200余次: the quoted name is what is counted
        return quoted.group(1), "quoted"
    head = re.split(r"[、“”\"\s]", head.rstrip(_SPACES))[-1] if head else ""
    # strip lead verbs and function words repeatedly
    changed = True
    while changed and head:
        changed = False
        for w in lex.counted_lead_words:
            k = head.rfind(w)
            if k != -1 and k + len(w) < len(head):
                head = head[k + len(w) :]
                changed = True
                break
    head = head.strip("、“”")
    trimmed = True
    while trimmed:  # 观众有 -> 观众; 工作人员累计 -> 工作人员
        trimmed = False
        for w in lex.counted_trailing_words:
            if head.endswith(w) and len(head) > len(w):
                head, trimmed = head[: -len(w)].rstrip("、“”"), True
                break
    if len(head) > MAX_COUNTED_CHARS:
        head = head[-MAX_COUNTED_CHARS:]
    if head:
        return head, "before"
    verb = re.match(r"[\u4e00-\u9fff]{1,4}", after.lstrip("了"))
    return (verb.group()[:2], "verb") if verb else ("", "none")


def _is_rate(clause_before: str, sentence_before: str, lex: MetricLexicon) -> bool:
    if _contains_any(clause_before, lex.rate_cues):
        return True
    return "各自" in sentence_before and bool(_contains_any(clause_before, lex.quota_verbs))


def _score(text: str, cues: tuple[str, ...]) -> int:
    return sum(1 for w in cues if w in text)


def _masked(text: str, lex: MetricLexicon) -> str:
    """``text`` with the campaign's own name (党史学习教育, …) blanked: it is in every sentence and cues nothing."""
    for w in lex.category_neutral_phrases:
        if w in text:
            text = text.replace(w, "　" * len(w))
    return text


def _head_word(counted: str) -> str:
    """Last word of the counted phrase (Chinese noun phrases are head-final): 群众性活动 -> 活动."""
    if not counted:
        return ""
    toks = [w for _, _, w, _ in _clause_tokens(counted) if _CJK.match(w)]
    return toks[-1] if toks else ""


def _counted_category(counted: str, head: str, lex: MetricLexicon) -> str | None:
    """Category named by the counted object itself, or None when it names none or several equally.

    Each category's cues found in ``counted`` are ranked by their number, then
    the longest cue, then whether a cue ends the phrase (its head word: 群众性活动
    is an activity); a tie on all three is no decision.
    """
    if len(counted) < 2:
        return None
    ranked = []
    for cat in ("organization", "study", "outreach", "audience", "media", "service"):
        found = [w for w in lex.category_cues[cat] if w in counted and w not in lex.generic_person_nouns]
        if found:
            is_head = any(counted.endswith(w) or (head and head.endswith(w)) for w in found)
            ranked.append(((len(found), max(map(len, found)), is_head), cat))
    if not ranked:
        return None
    ranked.sort(reverse=True)
    if len(ranked) > 1 and ranked[0][0] == ranked[1][0]:
        return None
    return ranked[0][1]


def _category(
    counted: str,
    clause: str,
    sentence: str,
    head: str,
    unit: str,
    before_num: str,
    prev_category: str | None,
    lex: MetricLexicon,
    paragraph: str = "",
    document: str = "",
) -> tuple[str, str]:
    """Category of a mention and the rule that chose it (shown by ``--explain``)."""
    cues = lex.category_cues
    clause, sentence, head = _masked(clause, lex), _masked(sentence, lex), _masked(head, lex)
    if _score(counted + " " + before_num, cues["emergency"]) or _score(head, cues["emergency"]):
        return "emergency", "topic:emergency"
    if (
        _score(counted, cues["economy"])
        or _score(clause, cues["economy"])
        or (unit in ("%", "％") and "增长" in clause)
    ):
        return "economy", "topic:economy"
    participation = _contains_any(clause, lex.participation_verbs)
    service_here = _score(clause, cues["service"]) and (
        "为群众" in sentence or "办实事" in sentence or "帮办" in clause
    )
    if (
        _ends_any(counted, lex.membership_nouns)
        and not participation
        and not service_here
        and (
            _ends_any(before_num.rstrip("，,、 "), lex.membership_lead)
            or _contains_any(
                before_num, [w for w in lex.membership_lead if len(w) > 1 and not w.startswith("全")]
            )
            or prev_category == "membership"
        )
    ):
        return "membership", "membership:population"
    activity = ("service", "emergency")
    person_unit = unit in lex.person_units
    activity_cues = {c: tuple(w for w in cues[c] if w not in lex.generic_person_nouns) for c in activity}
    if (
        participation
        and (person_unit or _ends_any(counted, lex.membership_nouns))
        and not any(_score(clause, activity_cues[c]) for c in activity)
    ):
        return "audience", "participation:audience"
    head_word = _head_word(counted)
    own = _counted_category(counted, head_word, lex)
    if own is not None and unit not in lex.person_time_units:
        return own, f"counted:{head_word or counted}"
    if (
        person_unit
        and _ends_any(counted, lex.generic_person_nouns)
        and not _contains_any(counted, lex.role_nouns)
        and not _score(clause, cues["service"])
    ):
        return "audience", "person:audience"
    scores: dict[str, float] = {}
    for cat in ("organization", "study", "outreach", "audience", "media", "service"):
        scores[cat] = (
            4 * _score(counted, cues[cat]) + 2 * _score(clause, cues[cat]) + _score(sentence, cues[cat])
        )
    if unit in lex.person_time_units:
        scores["audience"] += 3
    order = ("service", "outreach", "study", "organization", "media", "audience")
    best = max(order, key=lambda c: (scores[c], -order.index(c)))
    if scores[best] > 0:
        return best, f"cues:{best}={scores[best]:g}"
    # no cue near the number: the paragraph, then the report, says what it is about
    for level, ctx in (("paragraph", paragraph), ("document", document)):
        ctx = _masked(ctx, lex)
        ctx_scores = {c: _score(ctx, cues[c]) for c in order}
        best = max(order, key=lambda c: (ctx_scores[c], -order.index(c)))
        if ctx_scores[best] > 0 and sorted(ctx_scores.values())[-2] < ctx_scores[best]:
            return best, f"{level}:{best}={ctx_scores[best]}"
    return FALLBACK_CATEGORY, "fallback:no-cue"


def _context_qualifier(clause_before: str, lex: MetricLexicon) -> bool:
    window = clause_before[-CONTEXT_QUALIFIER_WINDOW_CHARS:]
    return bool(_contains_any(window, lex.context_more_than))


def _paragraph_mentions(
    paragraph: Paragraph,
    lex: MetricLexicon,
    explain: list[tuple[str, str]] | None = None,
    document: str = "",
) -> tuple[list[MetricMention], list[ExcludedNumber]]:
    text = paragraph.text
    mentions: list[MetricMention] = []
    excluded: list[ExcludedNumber] = []
    head_end = RE_CLAUSE_DELIM.search(text)
    head = text[: head_end.end()] if head_end else text
    prev_category: str | None = None
    prev_sentence: tuple[int, int] | None = None
    prev_counted: dict[str, str] = {}  # unit -> counted noun of the last mention with that unit
    for cand in _scan(text, lex):
        sent_s, sent_e = _bounds(text, cand.num_start, RE_SENTENCE_DELIM)
        sentence = text[sent_s:sent_e]
        if cand.reason == _SKIP:
            continue
        if cand.reason is not None:
            rs, re_ = paragraph.raw_span(cand.start, cand.end)
            excluded.append(
                ExcludedNumber(
                    paragraph.doc_id,
                    paragraph.para_id,
                    rs,
                    re_,
                    text[cand.start : cand.end],
                    cand.reason,
                    sentence,
                )
            )
            continue
        assert cand.unit is not None
        # prefix qualifier directly before the number
        start = cand.start
        prefix_q = None
        gap = 1 if start > 0 and text[start - 1] in _SPACES else 0  # 约 500 人 in web text
        for w, q in lex.prefix_qualifiers:
            if text.endswith(w, 0, start - gap) and not _ends_any(text[: start - gap], lex.prefix_blockers):
                if w in lex.context_more_than:
                    break  # 至少 is context, never surface
                prefix_q, start = q, start - gap - len(w)
                break
        end = cand.end
        post = _match_any(text, end, tuple(w for w, _ in lex.post_unit_qualifiers))
        post_q = None
        if post:
            post_q = dict(lex.post_unit_qualifiers)[post]
            end += len(post)
        try:
            parsed = numerals.parse_number(cand.numeral)
        except ValueError:
            excluded.append(
                ExcludedNumber(
                    paragraph.doc_id,
                    paragraph.para_id,
                    *paragraph.raw_span(cand.start, cand.end),
                    text[cand.start : cand.end],
                    "other",
                    sentence,
                )
            )
            continue
        unit = cand.unit
        value = parsed.value
        upper = parsed.upper
        if unit in lex.unit_scale:
            unit, factor = lex.unit_scale[unit]
            value = value * factor
            upper = None if upper is None else upper * factor
        clause_s, clause_e = _bounds(text, cand.num_start, RE_CLAUSE_DELIM)
        clause = text[clause_s:clause_e]
        clause_before = text[clause_s:start]
        bare_magnitude = cand.numeral in ("百", "千", "万", "亿")
        if bare_magnitude and prefix_q is None:
            # 上千人, 上万名: these prefixes qualify a bare magnitude only (线上1200人次 is exact)
            for w, q in lex.magnitude_prefixes:
                if text.endswith(w, 0, start):
                    prefix_q, start = q, start - len(w)
                    break
        qualifier = parsed.qualifier
        for q in (prefix_q, post_q):
            if q is not None and numerals.QUALIFIER_RANK[q] > numerals.QUALIFIER_RANK.get(qualifier, 0):
                qualifier = q
        if prefix_q is not None:
            qualifier = prefix_q
        context_q = _context_qualifier(clause_before, lex)
        if context_q and qualifier == "exact":
            qualifier = "more_than"
        if bare_magnitude and qualifier == "exact":
            continue  # 千家万户-type words, not a count
        if text.startswith(cand.unit[-1], cand.end) and len(cand.unit) == 1:
            continue  # reduplicated 一次次, 一场场
        is_rate = _is_rate(clause_before, text[sent_s:start], lex)
        if cand.numeral == "一" and not (
            is_rate or context_q or _contains_any(clause_before, lex.quota_verbs)
        ):
            continue  # indefinite article: 一个缩影, 作为一名党员
        if cand.numeral == "一" and not is_rate:
            is_rate = True  # "one each" quota (申报至少一件实事)
        counted, counted_rule = _counted(text, start, end, clause_s, clause_e, lex)
        if (not counted or counted in lex.elided_noun_verbs) and prev_counted.get(unit):
            # elided noun (确定实事项目292项,已完成121项): the antecedent with the same unit
            counted, counted_rule = prev_counted[unit], "antecedent"
        elif counted and counted not in lex.elided_noun_verbs:
            prev_counted[unit] = counted
        category, category_rule = _category(
            counted,
            clause,
            sentence,
            head,
            unit,
            text[clause_s:start],
            prev_category if prev_sentence == (sent_s, sent_e) else None,
            lex,
            text,
            document,
        )
        prev_category, prev_sentence = category, (sent_s, sent_e)
        rs, re_ = paragraph.raw_span(start, end)
        if paragraph.crosses_join(start, end):
            logger.warning(
                "%s: metric %r straddles a repaired break; raw span [%d:%d] covers the gap",
                paragraph.para_id,
                text[start:end],
                rs,
                re_,
            )
        if explain is not None:
            explain.append((category_rule, counted_rule))
        mentions.append(
            MetricMention(
                mention_id=f"{paragraph.para_id}:m{len(mentions):02d}",
                doc_id=paragraph.doc_id,
                para_id=paragraph.para_id,
                start=rs,
                end=re_,
                surface=text[start:end],
                value=value,
                unit=unit,
                qualifier=qualifier,
                is_rate=is_rate,
                counted=counted,
                category=category,
                upper=upper,
                sentence=sentence.strip(),
            )
        )
    return mentions, excluded


def _document_texts(paragraphs: list[Paragraph]) -> dict[str, str]:
    """Whole text of each document (its paragraphs joined): the last context a category is read from."""
    parts: dict[str, list[str]] = {}
    for p in paragraphs:
        parts.setdefault(p.doc_id, []).append(p.text)
    return {doc_id: "\n".join(texts) for doc_id, texts in parts.items()}


def _check_paragraphs(paragraphs: Iterable[Paragraph]) -> Iterator[Paragraph]:
    if isinstance(paragraphs, (str, bytes, Paragraph)):
        raise TypeError(
            "`paragraphs`: an iterable of records.Paragraph was expected, got a single "
            f"{type(paragraphs).__name__}; wrap it in a list."
        )
    for i, p in enumerate(paragraphs):
        if not isinstance(p, Paragraph):
            raise TypeError(f"`paragraphs`[{i}] is {type(p).__name__}, expected records.Paragraph")
        yield p


def extract_metric_mentions(
    paragraphs: Iterable[Paragraph], *, lexicon: MetricLexicon | str | Path | None = None
) -> Iterator[MetricMention]:
    """Yield the metric mentions of ``paragraphs`` in document order.

    Parameters
    ----------
    paragraphs : iterable of records.Paragraph
        Cleaned paragraphs with their span map to raw offsets.
    lexicon : MetricLexicon or path or None, default=None
        Word lists; ``None`` uses ``resources/metrics.yml``.

    Yields
    ------
    records.MetricMention
        ``start``/``end`` are raw offsets of ``surface``.

    Notes
    -----
    A candidate is a run of digits or Chinese numerals (with 余/多/几/数); it is
    a metric when a measure word from the lexicon follows and no exclusion rule
    fires (dates, periods, anniversaries, ages, durations, page references,
    identifiers, ordinals, names, formulations; see ``metrics.yml``). The
    surface is the number and its unit plus a directly preceding 近/约/超/逾
    and a following 以上/左右; 至少 sets ``more_than`` from the clause but is
    never in the surface. 万元/亿元 become 元 with the value scaled. A bare 一
    counts only as a quota (in a 每… clause, after 至少, or with a quota verb
    such as 领办), otherwise it is an article (一个缩影).

    ``is_rate`` is true when the clause opens with a per-period or per-person
    cue (每月, 每名, …). ``category`` follows the gold principles, in this
    order: topical emergency and economy cues win; the party base stated as a
    population is ``membership``; participants are ``audience``; then the
    counted object decides when its cue words name one category (most cues,
    then the longest, then the head word: 群众性活动 is an activity; generic
    person nouns such as 群众 cue nothing here); then cue words of the counted
    noun (weight 4), the clause (2) and the sentence (1); then the paragraph,
    then the report; with no cue anywhere the mention is
    :data:`FALLBACK_CATEGORY` (``other``) rather than a guess. The campaign's
    own name (党史学习教育, ``category_neutral_phrases``) cues nothing.
    :func:`explain_document` names the rule for each mention.

    ``counted`` is read after the number (17个宣讲团) or before it
    (临时救助点56个) and then moved to jieba word boundaries with the domain
    dictionary (新增停车位 -> 停车位, never 增停车位); it ends before the
    predicate (车位划定工作 -> 车位; 基层党组织同频 -> 基层党组织).

    A surface that straddles a repaired break (a page-break join) keeps the
    cleaned text as ``surface`` and gets the raw span from its first to its
    last character, which then also covers the gap; a warning is logged.

    Examples
    --------
    >>> from analysis.records import Paragraph, Span
    >>> t = "全区组建17个宣讲团,宣讲1000余场,受众10万余人次。"
    >>> p = Paragraph("d:p000", "d", 0, t, (Span(0, 0, len(t)),))
    >>> [(m.surface, str(m.value), m.unit, m.qualifier) for m in extract_metric_mentions([p])]
    [('17个', '17', '个', 'exact'), ('1000余场', '1000', '场', 'more_than'), ('10万余人次', '100000', '人次', 'more_than')]
    """
    lex = lexicon if isinstance(lexicon, MetricLexicon) else load_metric_lexicon(lexicon)
    records = list(_check_paragraphs(paragraphs))
    documents = _document_texts(records)
    for paragraph in records:
        mentions, _ = _paragraph_mentions(paragraph, lex, document=documents[paragraph.doc_id])
        yield from mentions


def extract_excluded_numbers(
    paragraphs: Iterable[Paragraph], *, lexicon: MetricLexicon | str | Path | None = None
) -> Iterator[ExcludedNumber]:
    """Yield the numbers of ``paragraphs`` that are not metrics, with the reason, in order.

    ``reason`` is one of :data:`EXCLUSION_REASONS`. Numerals inside ordinary
    words (一线, 进一步, 百姓) and indefinite articles (一个缩影) are not listed.

    Examples
    --------
    >>> from analysis.records import Paragraph, Span
    >>> t = "3月5日召开大会,庆祝建党100周年。"
    >>> p = Paragraph("d:p000", "d", 0, t, (Span(0, 0, len(t)),))
    >>> [(x.surface, x.reason) for x in extract_excluded_numbers([p])]
    [('3月5日', 'date'), ('100周年', 'anniversary')]
    """
    lex = lexicon if isinstance(lexicon, MetricLexicon) else load_metric_lexicon(lexicon)
    records = list(_check_paragraphs(paragraphs))
    documents = _document_texts(records)
    for paragraph in records:
        _, excluded = _paragraph_mentions(paragraph, lex, document=documents[paragraph.doc_id])
        yield from excluded


def extract_numbers(
    paragraphs: Iterable[Paragraph], *, lexicon: MetricLexicon | str | Path | None = None
) -> tuple[list[MetricMention], list[ExcludedNumber]]:
    """The metric mentions and the excluded numbers of ``paragraphs``, in one pass.

    The same results as :func:`extract_metric_mentions` and
    :func:`extract_excluded_numbers` (each of which reads every number),
    for half the work. A module-level function of the paragraphs alone, so
    it can be mapped over the documents of a corpus in several processes
    (``parallel.map_ordered``): a document's paragraphs and headings must be
    in one call, since a category may be read from the whole report.

    Examples
    --------
    >>> from analysis.records import Paragraph, Span
    >>> t = "3月5日召开大会,宣讲1000余场。"
    >>> p = Paragraph("d:p000", "d", 0, t, (Span(0, 0, len(t)),))
    >>> found, excluded = extract_numbers([p])
    >>> [m.surface for m in found], [x.surface for x in excluded]
    (['1000余场'], ['3月5日'])
    """
    lex = lexicon if isinstance(lexicon, MetricLexicon) else load_metric_lexicon(lexicon)
    records = list(_check_paragraphs(paragraphs))
    documents = _document_texts(records)
    mentions: list[MetricMention] = []
    excluded: list[ExcludedNumber] = []
    for paragraph in records:
        found, left_out = _paragraph_mentions(paragraph, lex, document=documents[paragraph.doc_id])
        mentions += found
        excluded += left_out
    return mentions, excluded


def paragraphs_by_document(paragraphs: Iterable[Paragraph]) -> list[list[Paragraph]]:
    """``paragraphs`` grouped by ``doc_id`` (documents in ``doc_id`` order, each in the given order), for :func:`extract_numbers`."""
    groups: dict[str, list[Paragraph]] = {}
    for p in _check_paragraphs(paragraphs):
        groups.setdefault(p.doc_id, []).append(p)
    return [groups[doc_id] for doc_id in sorted(groups)]


def _document_records(clean_doc: CleanDocument, headings: bool) -> list[Paragraph]:
    if not isinstance(clean_doc, CleanDocument):
        raise TypeError(f"`clean_doc` must be a records.CleanDocument, got {type(clean_doc).__name__}")
    records = [*clean_doc.paragraphs, *(clean_doc.heading_paragraphs() if headings else ())]
    return sorted(records, key=lambda p: (p.raw_start, p.para_id))


def mentions_from_document(
    clean_doc: CleanDocument,
    *,
    lexicon: MetricLexicon | str | Path | None = None,
    headings: bool = True,
) -> list[MetricMention]:
    """Metric mentions of a cleaned document: body paragraphs and, by default, title and headings.

    Parameters
    ----------
    clean_doc : records.CleanDocument
    lexicon : MetricLexicon or path or None, default=None
    headings : bool, default=True
        Also scan the title, subtitle and section headings
        (:meth:`records.CleanDocument.heading_paragraphs`): news headlines of
        the genre often state a count (全区开展宣讲1200余场). The slogans and
        numbered formulations headings usually carry are excluded as in body
        text.

    Returns
    -------
    list of records.MetricMention
        In raw-offset order.
    """
    records = _document_records(clean_doc, headings)
    mentions = list(extract_metric_mentions(records, lexicon=lexicon))
    return sorted(mentions, key=lambda m: (m.start, m.end))


def excluded_from_document(
    clean_doc: CleanDocument,
    *,
    lexicon: MetricLexicon | str | Path | None = None,
    headings: bool = True,
) -> list[ExcludedNumber]:
    """Excluded numbers of a cleaned document (audit table), from the same text as :func:`mentions_from_document`."""
    records = _document_records(clean_doc, headings)
    excluded = list(extract_excluded_numbers(records, lexicon=lexicon))
    return sorted(excluded, key=lambda x: (x.start, x.end))


def explain_document(
    clean_doc: CleanDocument,
    *,
    lexicon: MetricLexicon | str | Path | None = None,
    headings: bool = True,
) -> pd.DataFrame:
    """Mentions of a cleaned document with the rules that chose their category and counted object.

    Returns :func:`mentions_to_frame` of :func:`mentions_from_document` plus
    :data:`EXPLAIN_COLUMNS`: ``category_rule`` (``topic:emergency``,
    ``membership:population``, ``participation:audience``, ``person:audience``,
    ``head:<word>`` for the head word of the counted phrase found in a cue
    list, ``cues:<category>=<score>`` for the weighted cue score, or
    ``fallback:no-cue`` for :data:`FALLBACK_CATEGORY`) and ``counted_rule``
    (``after``/``before`` the number, ``quoted``, ``verb``, ``antecedent``,
    with ``+words:…`` when the span was moved to a word boundary).
    """
    lex = lexicon if isinstance(lexicon, MetricLexicon) else load_metric_lexicon(lexicon)
    rows: list[MetricMention] = []
    rules: list[tuple[str, str]] = []
    records = list(_check_paragraphs(_document_records(clean_doc, headings)))
    documents = _document_texts(records)
    for paragraph in records:
        found, _ = _paragraph_mentions(paragraph, lex, rules, document=documents[paragraph.doc_id])
        rows += found
    by_id = {m.mention_id: r for m, r in zip(rows, rules, strict=True)}
    frame = mentions_to_frame(rows)
    frame["category_rule"] = [by_id[i][0] for i in frame["mention_id"]]
    frame["counted_rule"] = [by_id[i][1] for i in frame["mention_id"]]
    return frame


def explain_document_empty() -> pd.DataFrame:
    """The empty frame of :func:`explain_document` (no documents)."""
    frame = mentions_to_frame([])
    for col in EXPLAIN_COLUMNS:
        frame[col] = pd.Series(dtype=object)
    return frame


def category_definitions(lexicon: str | Path | None = None) -> pd.DataFrame:
    """One-line definition of each metric category, from ``metrics.yml``.

    Parameters
    ----------
    lexicon : str or Path or None, default=None
        A metric lexicon file; ``None`` uses ``resources/metrics.yml``.

    Returns
    -------
    pandas.DataFrame
        Columns ``category``, ``definition``; one row per category of
        :data:`METRIC_CATEGORIES`, in that order (the fallback ``other`` last).

    Raises
    ------
    InputError
        If a category has no definition or an unknown category is defined.

    Examples
    --------
    >>> df = category_definitions()
    >>> list(df.columns), df["category"].iloc[-1]
    (['category', 'definition'], 'other')
    """
    path = Path(lexicon) if lexicon is not None else DEFAULT_LEXICON_PATH
    data = read_yaml(path, what="metric lexicon") or {}
    defs = data.get("category_definitions", {}) if isinstance(data, dict) else {}
    if not isinstance(defs, dict):
        raise InputError(path, "`category_definitions` must map category -> one-line text")
    unknown = [c for c in defs if c not in METRIC_CATEGORIES]
    if unknown:
        raise InputError(path, f"`category_definitions` names unknown categories {unknown}")
    missing = [c for c in METRIC_CATEGORIES if not str(defs.get(c) or "").strip()]
    if missing:
        raise InputError(path, f"`category_definitions` has no definition for {missing}")
    rows = [(c, " ".join(str(defs[c]).split())) for c in METRIC_CATEGORIES]
    return pd.DataFrame(rows, columns=["category", "definition"])


def mentions_to_frame(mentions: Iterable[MetricMention]) -> pd.DataFrame:
    """DataFrame of mentions: :data:`METRIC_COLUMNS` then :data:`EXTRA_COLUMNS`.

    ``value`` and ``upper`` are plain decimal strings (``12000``, ``10.8``) as in
    the gold CSV, ``is_rate`` a bool (written ``true``/``false`` by
    :func:`tabulate.write_metric_tables`); rows sorted by ``doc_id, start``.
    """
    rows = [
        {
            "doc_id": m.doc_id, "start": m.start, "end": m.end, "surface": m.surface,
            "value": numerals.format_decimal(m.value), "unit": m.unit, "qualifier": m.qualifier,
            "is_rate": bool(m.is_rate), "counted": m.counted, "category": m.category,
            "mention_id": m.mention_id, "para_id": m.para_id,
            "upper": None if m.upper is None else numerals.format_decimal(m.upper),
            "sentence": m.sentence,
        }
        for m in mentions
    ]  # fmt: skip
    df = pd.DataFrame(rows, columns=METRIC_COLUMNS + EXTRA_COLUMNS)
    df = df.astype({"start": "int64", "end": "int64", "is_rate": "bool"})
    for col in (
        "doc_id",
        "surface",
        "value",
        "unit",
        "qualifier",
        "counted",
        "category",
        "mention_id",
        "para_id",
        "sentence",
    ):
        df[col] = df[col].astype(object)
    df["upper"] = df["upper"].astype(object)
    return df.sort_values(["doc_id", "start", "end"], kind="mergesort").reset_index(drop=True)


def excluded_to_frame(excluded: Iterable[ExcludedNumber]) -> pd.DataFrame:
    """DataFrame of excluded numbers (doc_id, start, end, surface, reason, para_id, sentence)."""
    cols = ["doc_id", "start", "end", "surface", "reason", "para_id", "sentence"]
    rows = [[x.doc_id, x.start, x.end, x.surface, x.reason, x.para_id, x.sentence] for x in excluded]
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(["doc_id", "start", "end"], kind="mergesort").reset_index(drop=True)


def _decimal(text: str) -> Decimal:  # pragma: no cover - helper for callers reading CSV back
    return Decimal(text)
