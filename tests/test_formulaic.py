"""Tests of analysis.formulaic: lexicon, matching, discovery, text reuse and shares (RQ3)."""

from __future__ import annotations

import csv
import logging
import random
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from analysis import formulaic, paths
from analysis.errors import InputError

SHARED_DIR = paths.PROJECT_ROOT.parent / "shared"
GOLD_DIR = SHARED_DIR / "gold"


# ---------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def corpus_paras(corpus_paragraphs) -> pd.DataFrame:
    """Paragraphs of the bundled corpus as the project pipeline cleans them (doc_id, para_id, place, text)."""
    return corpus_paragraphs[["doc_id", "para_id", "place", "text"]].copy()


@pytest.fixture(scope="module")
def raw_texts() -> dict[str, str]:
    files = sorted(paths.RAW_DIR.glob("*.txt"))
    if not files:
        pytest.skip(f"no raw reports in {paths.RAW_DIR}")
    return {f.stem: f.read_bytes().decode("utf-8") for f in files}


@pytest.fixture(scope="module")
def gold_formulation_rows() -> list[dict[str, str]]:
    path = GOLD_DIR / "non_metrics.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with path.open(encoding="utf-8", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["reason"] == "formulation"]


@pytest.fixture(scope="module")
def lexicon() -> formulaic.Formulations:
    return formulaic.load_formulations()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "formulations.yml"
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# Lexicon


def test_default_lexicon_loads_and_is_hashed(lexicon):
    assert lexicon.slogans and lexicon.formulations and lexicon.ordinary_words and lexicon.measure_words
    assert len(lexicon.sha256) == 64
    assert formulaic.load_formulations(formulaic.FORMULATIONS_PATH) == lexicon


def test_lexicon_entries_are_consistent(lexicon):
    # Every numbered formulation and every ordinary word contains a Chinese numeral.
    for entry in (*lexicon.formulations, *lexicon.ordinary_words):
        assert formulaic.RE_NUMERAL.search(entry), entry
    # A formulation is never also declared an ordinary word (discovery would hide it).
    assert not set(lexicon.formulations) & set(lexicon.ordinary_words)
    # Measure words are single characters that are not numerals.
    for word in lexicon.measure_words:
        assert len(word) == 1 and not formulaic.RE_NUMERAL.match(word), word


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (
            "slogans: [学党史]\nformulations: [四史]\nslogan: [x]\n",
            r"`key` value 'slogan' is invalid.*'formulations'.*'slogans'",
        ),
        ("slogans: [学党史]\n", r"required key 'formulations' is missing"),
        ("slogans: 学党史\nformulations: [四史]\n", r"'slogans' must be a list of strings"),
        ("slogans: [学党史, 学党史]\nformulations: [四史]\n", r"slogans\[1\] '学党史' is listed twice"),
        ("slogans: [学党史, '']\nformulations: [四史]\n", r"slogans\[1\] must be a non-empty string"),
        ("slogans: [学党史]\nformulations: [四史, 3]\n", r"formulations\[1\] must be a non-empty string"),
        ("slogans: [' 学党史']\nformulations: [四史]\n", r"leading or trailing whitespace"),
        ("- 学党史\n- 四史\n", r"must be a mapping of lists"),
        ("slogans: [学党史\nformulations: [四史]\n", r"is not valid YAML"),
    ],
)
def test_bad_lexicon_is_rejected_naming_the_file(tmp_path, content, match):
    path = _write(tmp_path, content)
    with pytest.raises(InputError, match=match) as info:
        formulaic.load_formulations(path)
    assert str(path) in str(info.value)


def test_missing_lexicon_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such formulations lexicon"):
        formulaic.load_formulations(tmp_path / "nope.yml")


def test_optional_keys_default_to_empty(tmp_path):
    lex = formulaic.load_formulations(_write(tmp_path, "slogans: [学党史]\nformulations: [四史]\n"))
    assert lex.ordinary_words == () and lex.measure_words == ()
    assert lex.slogans == ("学党史",) and lex.formulations == ("四史",)


# ---------------------------------------------------------------------------
# Matching


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Must stay unchanged: no formulation at all.
        ("今天天气很好,群众满意。", []),
        ("进一步压实一线责任,统一思想。", []),
        ("二十四史是古代史书的总称。", []),  # 四史 inside a longer numeral run
        ("", []),
        # Invented genre sentences.
        ("全镇党员坚持“三会一课”制度,深化“四史”教育。", [("三会一课", 7), ("四史", 18)]),
        ("做到“五个一”和“七进”。", [("五个一", 3), ("七进", 9)]),
        ("落实两学一做常态化制度化,树牢四个意识。", [("两学一做", 2), ("四个意识", 15)]),
        ("紧扣三高四新战略。", [("三高四新", 2)]),
    ],
)
def test_find_formulations(text, expected, lexicon):
    spans = list(formulaic.find_formulations(text, lexicon=lexicon))
    assert [(s.text, s.start) for s in spans] == expected
    for s in spans:
        assert text[s.start : s.end] == s.text and s.kind == "formulation"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天天气很好。", []),
        # The four-phrase slogan is one span (longest first), whatever the separators.
        ("围绕学党史、悟思想、办实事、开新局目标任务", ["学党史、悟思想、办实事、开新局"]),
        ("围绕学党史,悟思想,办实事,开新局目标任务", ["学党史,悟思想,办实事,开新局"]),
        ("围绕学党史 悟思想 办实事 开新局", ["学党史 悟思想 办实事 开新局"]),
        # Only two phrases: two separate slogans.
        ("坚持学党史、悟思想。", ["学党史", "悟思想"]),
        ("深入开展“我为群众办实事”实践活动", ["我为群众办实事"]),
    ],
)
def test_find_slogans_longest_first(text, expected, lexicon):
    spans = list(formulaic.find_slogans(text, lexicon=lexicon))
    assert [s.text for s in spans] == expected
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))


def test_matching_rejects_non_text(lexicon):
    with pytest.raises(TypeError, match="`text` must be a str"):
        list(formulaic.find_formulations(["三会一课"], lexicon=lexicon))  # type: ignore[arg-type]


def test_lexicon_formulations_found_at_gold_offsets_in_raw_corpus(raw_texts, gold_formulation_rows, lexicon):
    """Every lexicon formulation in the raw reports is found exactly where the gold puts it, and nowhere else."""
    entries = set(lexicon.formulations)
    expected = {
        (r["doc_id"], int(r["start"]), int(r["end"]))
        for r in gold_formulation_rows
        if r["surface"] in entries and r["doc_id"] in raw_texts
    }
    found = set()
    for doc_id, text in raw_texts.items():
        for span in formulaic.find_formulations(text, lexicon=lexicon):
            assert text[span.start : span.end] == span.text
            found.add((doc_id, span.start, span.end))
    tp = len(expected & found)
    print(
        f"lexicon formulations vs gold: {tp} matched, {len(expected - found)} missed, {len(found - expected)} extra"
    )
    assert expected, "the gold lists no lexicon formulation; the test would be empty"
    assert found == expected


# ---------------------------------------------------------------------------
# Discovery


def _paras(*texts: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_id": [f"d{i}" for i in range(len(texts))],
            "para_id": [f"d{i}:p000" for i in range(len(texts))],
            "place": ["甲区"] * len(texts),
            "text": list(texts),
        }
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Must give nothing: ordinary words, idioms, counts, dates, ordinals, plain text.
        ("进一步压实一线责任,统一思想,千家万户受益。", []),
        ("组织一批党员参加宣讲两次,覆盖三个社区。", []),
        ("三月五日召开会议,学习十九届六中全会精神。", []),
        ("全区干部群众积极参与。", []),
        ("“百年”辉煌,“零距离”服务。", []),
        # Invented genre sentences with new numbered formulations.
        ("推行“一村一策”工作法。", ["一村一策"]),
        ("建立一人一档、一户一策帮扶机制。", ["一人一档", "一户一策"]),
        ("创新“两单三制”模式,落实“五化”要求。", ["两单三制", "五化"]),
        ("全面做好“六个一”,开展“三比三争”活动。", ["六个一", "三比三争"]),
        ("形成“周一练、月一评”机制。", ["周一练", "月一评"]),
    ],
)
def test_discover_formulations_patterns(text, expected, lexicon):
    found = formulaic.discover_formulations(_paras(text), lexicon=lexicon, exclude_known=False)
    assert sorted(found["candidate"]) == sorted(expected)
    for row in found.itertuples():
        assert row.count >= 1 and row.contexts and f"【{row.candidate}】" in row.contexts[0]


def test_discover_counts_unquoted_occurrences_and_excludes_known(lexicon):
    paras = _paras("推行“一村一策”工作法,坚持“三会一课”。", "一村一策覆盖全镇,一村一策见实效。")
    found = formulaic.discover_formulations(paras, lexicon=lexicon)
    assert found["candidate"].tolist() == ["一村一策"]  # 三会一课 is already in the lexicon
    row = found.iloc[0]
    assert row["count"] == 3 and row["n_documents"] == 2 and row["doc_ids"] == "d0;d1" and not row["known"]
    with_known = formulaic.discover_formulations(paras, lexicon=lexicon, exclude_known=False)
    assert with_known.set_index("candidate").loc["三会一课", "known"]
    assert formulaic.discover_formulations(paras, lexicon=lexicon, min_count=2)["candidate"].tolist() == [
        "一村一策"
    ]


def _naive_counts(paras: pd.DataFrame, candidates: list[str], lexicon) -> dict[str, tuple]:
    """The count of every candidate in every paragraph with str.find, one candidate at a time (the oracle)."""
    out = {}
    for candidate in candidates:
        count, docs, contexts, first = 0, set(), [], ""
        for doc_id, para_id, text in paras[["doc_id", "para_id", "text"]].itertuples(index=False):
            start = text.find(candidate)
            while start != -1:
                end = start + len(candidate)
                numerals = [i for i in range(start, end) if formulaic.RE_NUMERAL.match(text[i])]
                ordinary = set()
                for word in lexicon.ordinary_words:
                    at = text.find(word)
                    while at != -1:
                        ordinary.update(range(at, at + len(word)))
                        at = text.find(word, at + 1)
                if any(i not in ordinary for i in numerals):
                    count += 1
                    docs.add(doc_id)
                    first = first or para_id
                    if len(contexts) < 5:
                        contexts.append(f"{text[max(0, start - 15):start]}【{candidate}】{text[end:end + 15]}")
                start = text.find(candidate, end)
        out[candidate] = (count, ";".join(sorted(docs)), contexts, first)
    return out


def test_discover_counts_every_occurrence_as_one_candidate_at_a_time_would(corpus_paras, lexicon):
    # Occurrences that overlap (一楼一楼一), near misses (一村一村一策), candidates inside others (一周一 / 一周一调度), a numeral last
    # (门前三包 has it inside; “两新” first), numerals inside ordinary words (进一步, 统一) and repeated candidates.
    tricky = _paras(
        "推行“一村一策”,一村一村一策,“一周一调度”和一周一小结。“门前三包”落实门前三包,“两新”组织,",
        "进一步统一思想,“四个作用”发挥四个作用四个作用,“七个讲好”,“五个一”五个一五个一。",
        "“二十四节气”,“一三五”,一三五七,“一楼一议”。",
        "实行“一楼一”,一楼一楼一楼。",  # 一楼一 twice over one 一: str.find counts the first only
    )
    for paras in (corpus_paras, tricky, pd.concat([corpus_paras, tricky], ignore_index=True)):
        found = formulaic.discover_formulations(paras, lexicon=lexicon, exclude_known=False)
        assert len(found) > 0
        expected = _naive_counts(paras, found["candidate"].tolist(), lexicon)
        for row in found.itertuples(index=False):
            assert (row.count, row.doc_ids, list(row.contexts), row.first_para_id) == expected[row.candidate], row.candidate


def test_discover_empty_result_warns(lexicon, caplog):
    with caplog.at_level(logging.WARNING, logger="analysis.formulaic"):
        found = formulaic.discover_formulations(_paras("全区干部群众积极参与。"), lexicon=lexicon)
    assert found.empty and "candidate" in found.columns
    assert "no candidate numbered formulation" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"min_count": 0}, "`min_count` must be an integer >= 1"), ({"max_contexts": -1}, "`max_contexts`")],
)
def test_discover_bad_options(kwargs, match, lexicon):
    with pytest.raises(ValueError, match=match):
        formulaic.discover_formulations(_paras("推行“一村一策”。"), lexicon=lexicon, **kwargs)


def test_discover_recall_against_gold(corpus_paras, gold_formulation_rows, lexicon):
    """Recall and precision of pattern discovery (lexicon not used as a hint) on the gold formulations."""
    measure = set(lexicon.measure_words)
    corpus = "\n".join(corpus_paras["text"])
    # Gold formulations that occur in the body paragraphs, without single-character glosses (“一”)
    # and without the numeral + measure word items spelled out inside 七个一 / 五个一 (一场, 一本 ...).
    gold = {
        r["surface"]
        for r in gold_formulation_rows
        if len(r["surface"]) >= 2
        and not (len(r["surface"]) == 2 and r["surface"][1] in measure)
        and r["surface"] in corpus
    }
    empty = formulaic.Formulations(
        slogans=(),
        formulations=(),
        ordinary_words=lexicon.ordinary_words,
        measure_words=lexicon.measure_words,
    )
    found = set(formulaic.discover_formulations(corpus_paras, lexicon=empty)["candidate"])
    tp = len(gold & found)
    recall, precision = tp / len(gold), tp / len(found)
    print(
        f"discovery vs gold formulations: recall {recall:.3f} ({tp}/{len(gold)}), precision {precision:.3f} ({tp}/{len(found)})"
    )
    print("  missed:", sorted(gold - found), " extra:", sorted(found - gold))
    assert recall >= 0.9
    assert precision >= 0.75


# ---------------------------------------------------------------------------
# Text reuse


def test_normalize_for_reuse_maps_offsets():
    text = "学党史、 悟思想\n办实事!"
    norm, offsets = formulaic.normalize_for_reuse(text)
    assert norm == "学党史悟思想\n办实事"
    assert [text[i] for i in offsets] == list(norm)


def test_reused_passages_toy_case():
    a = "今年以来,我区深入开展党史学习教育,推动工作落地。另外,区委召开专题会议部署。"
    b = "全市上下深入开展党史学习教育;推动工作落地见效。区委召开专题会议"
    df = formulaic.reused_passages({"b": b, "a": a})
    got = [(r.text, r.n_chars) for r in df.itertuples()]
    # Punctuation differs (, vs ;) but the passage continues through it; it is maximal on both sides.
    assert got == [("深入开展党史学习教育,推动工作落地", 16), ("区委召开专题会议", 8)]
    for r in df.itertuples():
        assert r.doc_a == "a" and r.doc_b == "b"
        assert (
            formulaic.normalize_for_reuse(a[r.start_a : r.end_a])[0]
            == formulaic.normalize_for_reuse(b[r.start_b : r.end_b])[0]
        )


@pytest.mark.parametrize(
    ("texts", "min_chars"),
    [
        ({"a": "完全不同的一段文字内容", "b": "毫无关系的另外一句话语"}, 8),  # nothing shared
        ({"a": "党史学习教育", "b": "党史学习教育"}, 8),  # shared, but shorter than min_chars
        (
            {"a": "深入开展党史\n学习教育活动", "b": "深入开展党史学习教育活动"},
            8,
        ),  # a line break is a hard boundary
    ],
)
def test_reused_passages_none(texts, min_chars):
    assert formulaic.reused_passages(texts, min_chars=min_chars).empty


def _naive_maximal_matches(a: str, b: str, n: int) -> set[tuple[int, int, int]]:
    """Maximal common substrings of length >= n by brute force over all start pairs (normalised index space)."""
    out = set()
    for i in range(len(a)):
        for j in range(len(b)):
            if a[i] != b[j] or a[i] == "\n" or (i and j and a[i - 1] == b[j - 1] and a[i - 1] != "\n"):
                continue
            k = 0
            while i + k < len(a) and j + k < len(b) and a[i + k] == b[j + k] and a[i + k] != "\n":
                k += 1
            if k >= n:
                out.add((i, j, k))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_reused_passages_match_brute_force(seed):
    rng = random.Random(seed)
    alphabet = "党史学习教育,\n"
    a = "".join(rng.choice(alphabet) for _ in range(300))
    b = "".join(rng.choice(alphabet) for _ in range(300))
    n = 4
    na, off_a = formulaic.normalize_for_reuse(a)
    nb, off_b = formulaic.normalize_for_reuse(b)
    inv_a = {o: i for i, o in enumerate(off_a)}
    inv_b = {o: i for i, o in enumerate(off_b)}
    df = formulaic.reused_passages({"a": a, "b": b}, min_chars=n)
    got = {(inv_a[r.start_a], inv_b[r.start_b], r.n_chars) for r in df.itertuples()}
    assert got == _naive_maximal_matches(na, nb, n)
    assert len(got) > 0


def test_reused_passages_in_corpus_occur_in_both_and_are_maximal(corpus_paras):
    texts = {d: "\n".join(g["text"]) for d, g in corpus_paras.groupby("doc_id", sort=True)}
    df = formulaic.reused_passages(texts)
    print(
        f"corpus reuse: {len(df)} passage pairs, longest {df['n_chars'].max()} chars, "
        f"{df[['doc_a', 'doc_b']].drop_duplicates().shape[0]} of 10 report pairs share text"
    )
    assert len(df) > 0
    norm = {d: formulaic.normalize_for_reuse(t) for d, t in texts.items()}
    for r in df.itertuples():
        ta, tb = texts[r.doc_a][r.start_a : r.end_a], texts[r.doc_b][r.start_b : r.end_b]
        assert ta == r.text
        na, nb = formulaic.normalize_for_reuse(ta)[0], formulaic.normalize_for_reuse(tb)[0]
        assert na == nb and len(na) == r.n_chars >= formulaic.DEFAULT_MIN_REUSE_CHARS
        # Maximal: the normalised characters just before and just after differ (or an end is reached).
        sa, oa = norm[r.doc_a]
        sb, ob = norm[r.doc_b]
        ia, ib = oa.index(r.start_a), ob.index(r.start_b)
        if ia > 0 and ib > 0:
            assert sa[ia - 1] != sb[ib - 1] or sa[ia - 1] == "\n"
        ja, jb = ia + r.n_chars, ib + r.n_chars
        if ja < len(sa) and jb < len(sb):
            assert sa[ja] != sb[jb] or sa[ja] == "\n"
    assert df.equals(formulaic.reused_passages(dict(reversed(list(texts.items())))))  # order-independent


def test_reused_passages_scales_to_ten_reports(corpus_paras):
    """Ten reports (the five, plus five shuffled variants of them) are compared in well under a second each."""
    rng = random.Random(0)
    texts = {}
    for d, g in corpus_paras.groupby("doc_id", sort=True):
        paras = g["text"].tolist()
        texts[d] = "\n".join(paras)
        rng.shuffle(paras)
        texts[d + "_v"] = "\n".join(paras)
    start = time.perf_counter()
    df = formulaic.reused_passages(texts)
    elapsed = time.perf_counter() - start
    print(
        f"reuse over 10 reports ({sum(map(len, texts.values()))} chars): {elapsed:.2f} s, {len(df)} passage pairs"
    )
    # Each shuffled variant contains its original's paragraphs whole.
    for d in sorted(corpus_paras["doc_id"].unique()):
        pair = df[(df["doc_a"] == d) & (df["doc_b"] == d + "_v")]
        assert pair["n_chars"].max() >= 100
    assert elapsed < 10


@pytest.mark.parametrize(
    ("texts", "kwargs", "error", "match"),
    [
        (["a"], {}, TypeError, "`texts_by_doc` must be a mapping"),
        ({"a": 1}, {}, TypeError, "entry 'a' must map"),
        ({"a": "x", "b": "y"}, {"min_chars": 1}, ValueError, "`min_chars` must be an integer >= 2"),
        ({"a": "x", "b": "y"}, {"pairs": [("a", "c")]}, ValueError, "'c' is invalid"),
    ],
)
def test_reused_passages_bad_input(texts, kwargs, error, match):
    with pytest.raises(error, match=match):
        formulaic.reused_passages(texts, **kwargs)


# ---------------------------------------------------------------------------
# Shares


def test_formulaic_shares_toy_counts(lexicon):
    paras = pd.DataFrame(
        {
            "doc_id": ["a", "a", "b"],
            "para_id": ["a:p000", "a:p001", "b:p000"],
            "place": ["甲区", "甲区", "乙区"],
            "text": [
                "全区坚持学党史、悟思想,落实“三会一课”。",
                "深入开展庆祝建党主题活动,群众点赞。",
                "全县深入开展庆祝建党主题活动,坚持学党史。",
            ],
        }
    )
    result = formulaic.formulaic_shares(paras, lexicon=lexicon)
    p = result.paragraphs.pivot(index="para_id", columns="kind", values="n_chars")
    # a:p000: 学党史 悟思想 = 6 slogan chars; 三会一课 = 4; the rest (全区坚持 落实) = 6 local.
    assert p.loc["a:p000"].to_dict() == {"formulation": 4, "local": 6, "reused": 0, "slogan": 6}
    # 深入开展庆祝建党主题活动 (12 chars) is shared by a and b; 学党史 in b is a slogan, not reuse.
    assert p.loc["a:p001"].to_dict() == {"formulation": 0, "local": 4, "reused": 12, "slogan": 0}
    assert p.loc["b:p000"].to_dict() == {"formulation": 0, "local": 4, "reused": 12, "slogan": 3}
    assert result.places.set_index(["place", "kind"]).loc[("乙区", "slogan"), "share"] == pytest.approx(
        3 / 19
    )
    ex = result.examples
    assert ex[(ex["place"] == "甲区") & (ex["kind"] == "reused")]["text"].tolist() == [
        "深入开展庆祝建党主题活动"
    ]
    # With reuse only between places, the same passage still counts (a and b are different places) ...
    same = formulaic.formulaic_shares(paras, lexicon=lexicon, reuse_between="places")
    assert same.paragraphs.equals(result.paragraphs)
    # ... but not when both reports are about one place.
    one_place = paras.assign(place="甲区")
    alone = formulaic.formulaic_shares(one_place, lexicon=lexicon, reuse_between="places")
    assert alone.passages.empty and (alone.paragraphs.query("kind == 'reused'")["n_chars"] == 0).all()


def test_formulaic_shares_on_corpus(corpus_paras, lexicon):
    result = formulaic.formulaic_shares(corpus_paras, lexicon=lexicon)
    for table, keys in (
        (result.paragraphs, ["para_id"]),
        (result.documents, ["doc_id"]),
        (result.places, ["place"]),
    ):
        assert table["share"].between(0, 1).all()
        sums = table.groupby(keys)["share"].sum()
        assert sums.to_numpy() == pytest.approx(1.0)
        assert (table.groupby(keys)["kind"].apply(tuple) == formulaic.KINDS).all()
    # Every content character of every paragraph is counted exactly once.
    content = sum(sum(formulaic._is_content_char(c) for c in t) for t in corpus_paras["text"])
    assert result.places["n_chars"].sum() == content
    places = result.places.pivot(index="place", columns="kind", values="share")
    print("formulaic shares per place:\n" + places.round(3).to_string())
    assert set(places.index) == set(corpus_paras["place"])
    # Every place uses some slogans and some formulations, and most text is local.
    assert (places["slogan"] > 0).all() and (places["formulation"] > 0).all()
    assert (places["local"] > 0.5).all()
    # Examples: up to five per place and kind, ranks 1..n, slogans taken from the lexicon.
    ex = result.examples
    assert (ex.groupby(["place", "kind"])["rank"].max() <= formulaic.DEFAULT_TOP_EXAMPLES).all()
    assert set(ex.loc[ex["kind"] == "slogan", "text"]) <= set(lexicon.slogans)
    # Deterministic.
    again = formulaic.formulaic_shares(corpus_paras.sample(frac=1, random_state=1).sort_values("para_id"))
    assert again.places.equals(result.places)


def test_formulaic_shares_empty_paragraph_warns(lexicon, caplog):
    paras = _paras("学党史。", "……")
    with caplog.at_level(logging.WARNING, logger="analysis.formulaic"):
        result = formulaic.formulaic_shares(paras, lexicon=lexicon)
    assert "no content characters" in caplog.text
    assert result.paragraphs.query("para_id == 'd1:p000'")["share"].isna().all()


@pytest.mark.parametrize(
    ("frame", "kwargs", "error", "match"),
    [
        ("not a frame", {}, TypeError, "must be a pandas DataFrame"),
        (
            pd.DataFrame({"doc_id": ["a"], "para_id": ["a:p0"], "text": ["x"]}),
            {},
            ValueError,
            r"missing column\(s\) \['place'\]",
        ),
        (pd.DataFrame(columns=["doc_id", "para_id", "place", "text"]), {}, ValueError, "has no rows"),
        (_paras("甲", "乙").assign(para_id="x"), {}, ValueError, "para_id 'x' occurs more than once"),
        (_paras("甲").assign(place=[None]), {}, ValueError, "column 'place' must hold strings"),
        (_paras("甲"), {"reuse_between": "cities"}, ValueError, "`reuse_between` value 'cities' is invalid"),
        (
            pd.concat([_paras("甲"), _paras("乙").assign(para_id="d0:p001", place="乙区")]),
            {},
            ValueError,
            "several places",
        ),
    ],
)
def test_formulaic_shares_bad_input(frame, kwargs, error, match):
    with pytest.raises(error, match=match):
        formulaic.formulaic_shares(frame, **kwargs)


def test_module_has_no_corpus_specific_rules():
    """No doc_id or raw offset is named in the module source."""
    source = Path(formulaic.__file__).read_text(encoding="utf-8")
    assert not re.search(r"\d{3}_[0-9a-f]{16}", source)


# ---------------------------------------------------------------------------
# Lexicon matches as a table, spread of reused passages


def test_lexicon_matches_agree_with_finders(corpus_paras):
    out = formulaic.lexicon_matches(corpus_paras)
    assert list(out.columns) == ["doc_id", "para_id", "place", "kind", "entry", "text", "start", "end"]
    expected = 0
    for text in corpus_paras["text"]:
        expected += len(list(formulaic.find_slogans(text))) + len(list(formulaic.find_formulations(text)))
    assert len(out) == expected and expected > 0
    by_id = corpus_paras.set_index("para_id")["text"]
    for para_id, start, end, text in out[["para_id", "start", "end", "text"]].itertuples(index=False):
        assert by_id[para_id][start:end] == text  # every match maps back to its paragraph
    assert out["place"].notna().all() and set(out["kind"]) == {"slogan", "formulation"}
    print("lexicon matches per place and kind:", out.groupby(["place", "kind"]).size().to_dict())


def test_lexicon_matches_without_place_and_bad_input():
    paras = pd.DataFrame({"doc_id": ["d"], "para_id": ["d:p000"], "text": ["今天天气很好。"]})
    out = formulaic.lexicon_matches(paras)
    assert out.empty and list(out.columns)[:3] == ["doc_id", "para_id", "place"]
    with pytest.raises(ValueError, match="text"):
        formulaic.lexicon_matches(paras.drop(columns="text"))


def test_passage_spread_groups_by_normalised_text():
    texts = {
        "a": "各地深入开展党史学习教育,成效明显。",
        "b": "全市深入开展党史学习教育。另有独特内容甲乙丙丁戊己庚辛。",
        "c": "我区深入开展、党史学习教育。独特内容甲乙丙丁戊己庚辛。",
    }
    passages = formulaic.reused_passages(texts)
    spread = formulaic.passage_spread(passages, place_of={"a": "甲区", "b": "乙市", "c": "乙市"})
    top = spread.iloc[0]
    # The punctuation in c does not split the passage: one row, three reports, three pairs.
    assert (top["n_documents"], top["n_pairs"], top["n_places"]) == (3, 3, 2)
    assert top["doc_ids"] == "a;b;c" and top["places"] == "乙市;甲区"
    second = spread.iloc[1]
    assert (second["n_documents"], second["n_places"], second["doc_ids"]) == (2, 1, "b;c")
    assert len(spread) == 2
    without = formulaic.passage_spread(passages)
    assert without["n_places"].isna().all() and (without["places"] == "").all()


def test_passage_spread_errors_and_empty():
    passages = formulaic.reused_passages({"a": "完全不同的文字内容", "b": "另外一些句子而已"})
    assert formulaic.passage_spread(passages).empty
    with pytest.raises(ValueError, match="place_of"):
        formulaic.passage_spread(
            formulaic.reused_passages({"a": "深入开展党史学习教育", "b": "深入开展党史学习教育"}),
            place_of={"a": "甲区"},
        )
    with pytest.raises(ValueError, match="lacks column"):
        formulaic.passage_spread(pd.DataFrame({"doc_a": []}))


def test_no_examples_asked_gives_the_empty_table_ranking_would_give(corpus_paras):
    shares0 = formulaic.formulaic_shares(corpus_paras, top_n=0)
    shares1 = formulaic.formulaic_shares(corpus_paras, top_n=1)
    assert len(shares1.examples) > 0
    pd.testing.assert_frame_equal(shares0.examples, shares1.examples.iloc[:0].reset_index(drop=True))
    for table in ("paragraphs", "documents", "places", "passages"):
        pd.testing.assert_frame_equal(getattr(shares0, table), getattr(shares1, table), obj=table)
