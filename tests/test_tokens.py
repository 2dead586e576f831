"""Tests for analysis.tokens: domain dictionary, stop words, token filter, pickling."""

from __future__ import annotations

import logging
import pickle
import unicodedata
from pathlib import Path

import jieba
import pytest

from analysis import places, tokens
from analysis.errors import InputError

# Sentence frames a domain term must survive in: neighbours on both sides that
# form words with many first/last characters (开展, 工作, 中, 的 ...).
FRAMES = (
    "{}",
    "全区扎实开展{}工作。",
    "我们在{}中取得新进展",
    "以{}为抓手,推动落实",
    "深入推进{}的各项任务",
    "区委召开会议研究{}有关事项",
    "这是{}",
)


@pytest.fixture(scope="module")
def seg() -> tokens.Segmenter:
    return tokens.get_segmenter()


def _write(path: Path, text: str, *, bom: bool = False, newline: str = "\n") -> Path:
    data = ("\ufeff" if bom else "") + text.replace("\n", newline)
    path.write_bytes(data.encode("utf-8"))
    return path


def _segmenter(tmp_path: Path, domain: Path) -> tokens.Segmenter:
    return tokens.Segmenter(domain_terms_path=domain, cache_dir=tmp_path / "cache")


def test_every_domain_term_is_one_token_in_a_sentence(seg):
    failures = []
    for term in seg.domain_terms:
        for frame in FRAMES:
            cut = seg.cut(frame.format(term.word))
            if term.word not in cut:
                failures.append((term.word, frame, cut))
    print(f"{len(seg.domain_terms)} domain terms x {len(FRAMES)} frames; failures: {len(failures)}")
    assert not failures, failures[:10]


def test_domain_terms_survive_bom_and_crlf(tmp_path, caplog):
    words = ["党史学习教育", "三会一课", "新时代文明实践中心", "巡回指导组"]
    domain = _write(tmp_path / "terms.txt", "# comment\n" + "\n".join(f"{w} nz" for w in words) + "\n",
                    bom=True, newline="\r\n")
    with caplog.at_level(logging.WARNING, logger="analysis.tokens"):
        terms = tokens.read_domain_terms(domain)
    assert [t.word for t in terms] == words
    assert all(t.pos == "nz" and t.freq is None for t in terms)
    assert "byte-order mark" in caplog.text and "CRLF" in caplog.text
    seg = _segmenter(tmp_path, domain)
    for w in words:
        assert w in seg.cut(f"全区扎实开展{w}工作。")


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("7·20 n", "jieba splits on"),
        ("学党史、悟思想", "jieba splits on"),
        ("“四史”", "jieba splits on"),
        ("新时代 文明 实践", "cannot read"),
        ("党史 0 n", "positive integer"),
        ("党史 n 100", "cannot read"),
    ],
)
def test_bad_domain_entries_are_errors(tmp_path, line, match):
    domain = _write(tmp_path / "terms.txt", f"三会一课\n{line}\n")
    with pytest.raises(InputError, match=match) as info:
        tokens.read_domain_terms(domain)
    assert info.value.line == 2 and "terms.txt" in str(info.value)


def test_domain_entry_with_digits_and_freq(tmp_path):
    domain = _write(tmp_path / "terms.txt", "建党100周年 5000 n\n十四五\n")
    terms = tokens.read_domain_terms(domain)
    assert terms == (tokens.DomainTerm("建党100周年", 5000, "n"), tokens.DomainTerm("十四五", None, None))
    seg = _segmenter(tmp_path, domain)
    assert "建党100周年" in seg.cut("热烈庆祝建党100周年活动")


def test_empty_dictionary_and_bad_encoding(tmp_path):
    with pytest.raises(InputError, match="no entries"):
        tokens.read_domain_terms(_write(tmp_path / "empty.txt", "# nothing\n\n"))
    bad = tmp_path / "gbk.txt"
    bad.write_bytes("三会一课".encode("gbk"))
    with pytest.raises(InputError, match="UTF-8"):
        tokens.read_domain_terms(bad)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        tokens.read_domain_terms(tmp_path / "missing.txt")


def test_stop_words_are_single_tokens(seg, caplog):
    stop = seg.stop_words
    assert len(stop) > 600  # most of the 794 stopwords-iso entries
    split = [w for w in sorted(stop) if seg.cut(w) != [w]]
    print(f"{len(stop)} effective stop words; not single tokens: {split}")
    assert not split


def test_inconsistent_stop_words_are_dropped_with_a_note(tmp_path, caplog):
    stop = _write(tmp_path / "stop.txt", "的\n关于具体地说\n。\n")
    seg = tokens.Segmenter(stopwords_path=stop, cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.INFO, logger="analysis.tokens"):
        assert seg.stop_words == frozenset({"的"})
    assert "关于具体地说" in caplog.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("各村党支部开展三会一课", ["各村", "党支部", "三会一课"]),
        ("党员走访1200余户,发放资金349万元", ["走访", "发放", "资金"]),
        ("第三督导组于3月5日进村", ["督导组", "进村"]),
        ("二十多次 12.5% ,。!?“”《》", []),
        ("ＬＥＤ大屏和iPhone", ["led", "大屏", "iphone"]),
        ("党领导一切", ["党", "领导"]),
    ],
)
def test_tokenize_filters(seg, text, expected):
    assert tokens.tokenize(text, segmenter=seg) == expected


def test_generic_terms_are_optional(seg):
    text = "党史学习教育扎实开展"
    assert tokens.tokenize(text, segmenter=seg) == []
    assert tokens.tokenize(text, segmenter=seg, drop_generic=False) == ["党史学习教育", "扎实", "开展"]


def test_keep_list_single_characters_are_kept_other_single_characters_dropped(seg):
    assert {"党", "村", "户"} <= seg.keep_single_chars
    assert seg.cut("党和村里每户贴春联") == ["党", "和", "村里", "每户", "贴", "春联"]
    assert tokens.tokenize("党和村里每户贴春联", segmenter=seg) == ["党", "村里", "每户", "春联"]
    assert "贴" not in seg.keep_single_chars and "和" in seg.stop_words


def test_tokenize_rejects_non_str(seg):
    with pytest.raises(TypeError, match="str"):
        tokens.tokenize(["党史"], segmenter=seg)  # type: ignore[arg-type]


def test_dedicated_tokenizer_not_global(seg, tmp_path):
    tok = seg.tokenizer
    assert tok is not jieba.dt
    assert Path(tok.tmp_dir) == seg.cache_dir
    text = "开福区新时代文明实践中心"
    assert "新时代文明实践中心" in tok.lcut(text)
    assert "新时代文明实践中心" not in jieba.lcut(text)  # the global default does not have the domain terms
    assert (seg.cache_dir / tok.cache_file).is_file()


def test_pickle_roundtrip_rebuilds_lazily(seg):
    data = pickle.dumps(seg)
    assert len(data) < 10_000  # no tokenizer inside
    copy = pickle.loads(data)
    assert copy.lexicon_hash == seg.lexicon_hash
    text = "中原区深化我为群众办实事实践活动"
    assert copy.tokenize(text) == seg.tokenize(text)


def test_lexicon_hash_changes_with_word_lists(tmp_path, seg):
    domain = _write(tmp_path / "terms.txt", "三会一课\n")
    other = tokens.Segmenter(domain_terms_path=domain, cache_dir=tmp_path / "cache")
    assert other.lexicon_hash != seg.lexicon_hash
    assert tokens.get_segmenter() is seg  # cached per process


def _fresh_cache_dir(tmp_path: Path) -> Path:
    """An empty cache directory, given jieba's own prefix cache when the project has one (saves 2 s)."""
    cache = tmp_path / "cache"
    cache.mkdir()
    jieba_cache = tokens.paths.CACHE_DIR / "jieba.default.cache"
    if jieba_cache.is_file():
        (cache / jieba_cache.name).write_bytes(jieba_cache.read_bytes())
    return cache


def _plain_jieba(cache_dir: Path) -> jieba.Tokenizer:
    """jieba's bundled dictionary alone, in a dedicated tokenizer."""
    tok = jieba.Tokenizer(dictionary=jieba.DEFAULT_DICT)
    tok.tmp_dir, tok.cache_file = str(cache_dir), "jieba.default.cache"
    tok.initialize()
    return tok


def test_building_writes_only_jiebas_own_cache(tmp_path):
    domain = _write(tmp_path / "terms.txt", "三会一课 n\n新时代文明实践站 300000 nt\n")
    seg = tokens.Segmenter(domain_terms_path=domain, cache_dir=_fresh_cache_dir(tmp_path))
    text = "开福区新时代文明实践站开展三会一课,走访群众1200余户"
    assert seg.cut(text)[:3] == ["开福区", "新时代文明实践站", "开展"]
    assert sorted(p.name for p in seg.cache_dir.iterdir()) == ["jieba.default.cache"]
    # built again from the same files, in a fresh process-level cache: the same tokens
    again = tokens.Segmenter(domain_terms_path=domain, cache_dir=seg.cache_dir)._build_tokenizer()
    assert again is not seg.tokenizer and again.lcut(text) == seg.tokenizer.lcut(text)


def test_gazetteer_names_jieba_already_knows_keep_jiebas_entry(seg):
    # Names missing from jieba's dictionary (full mode does not return them) are added and
    # come out whole; names jieba already has keep jieba's entry and stay whole where plain
    # jieba keeps them whole. Names touching a domain term are left out.
    plain = _plain_jieba(seg.cache_dir)
    words = {t.word for t in seg.domain_terms}
    names = sorted(n for n in places.load_gazetteer() if not any(w in n or n in w for w in words))
    known = [n for n in names if n in plain.lcut(n, cut_all=True)]
    added = [n for n in names if n not in known]
    print(f"{len(names)} gazetteer names: {len(known)} in jieba's dictionary, {len(added)} added")
    assert known and added
    assert [n for n in added if seg.tokenizer.lcut(n, HMM=False) != [n]] == []
    assert [n for n in added if plain.lcut(n, HMM=False) == [n]] == []  # plain jieba splits them
    # a known name plain jieba keeps whole stays whole
    assert [n for n in known if plain.lcut(n, HMM=False) == [n] and seg.tokenizer.lcut(n, HMM=False) != [n]] == []


def test_keep_list_must_be_single_characters(tmp_path):
    keep = _write(tmp_path / "keep.txt", "党\n村民\n")
    with pytest.raises(InputError, match="single characters"):
        tokens.Segmenter(keep_single_chars_path=keep, cache_dir=tmp_path / "cache")


def test_cut_remembers_texts_within_a_bound_and_hands_out_copies(monkeypatch):
    seg = tokens.get_segmenter()
    text = "党员干部深入开展学党史办实事活动"
    first = seg.cut(text)
    first.append("changed by the caller")
    assert seg.cut(text) == first[:-1]  # a copy each time; the remembered tokens are untouched
    assert seg.cut(text) == seg.tokenizer.lcut(text)
    monkeypatch.setattr(tokens, "CUT_CACHE_SIZE", 3)
    seg._cuts.clear()
    for i in range(10):
        seg.cut(f"第{i}次学习")
    assert len(seg._cuts) == 3 and "第9次学习" in seg._cuts and "第0次学习" not in seg._cuts
    seg.clear_cache()
    assert not seg._cuts


@pytest.mark.parametrize(
    "text",
    [
        "学党史、悟思想。\n办实事，开新局！",
        "中原区开展宣讲1200余场\n\n  召陵区 党员 3.5万名 \nABC def\n",
        "\n开头和结尾\n",
        "Windows 行尾\r\n也一样\r\n",
    ],
)
def test_a_text_of_several_lines_gets_the_tokens_jieba_gives_the_whole_text(text):
    seg = tokens.get_segmenter()
    whole = seg.tokenizer.lcut(unicodedata.normalize("NFKC", text), HMM=seg.hmm)
    assert seg.cut(text) == whole
    assert seg.cut(text) == whole  # again, from the remembered lines


def test_saved_cuts_are_reused_by_another_segmenter(tmp_path, caplog):
    texts = ["各村党支部开展三会一课", "党员走访1200余户,发放资金349万元"]
    first = tokens.Segmenter(cache_dir=tmp_path / "cache")
    expected = [first.cut(t) for t in texts]
    path = tmp_path / "cuts.parquet"
    assert first.save_cuts(path) >= len(texts)
    fresh = tokens.Segmenter(cache_dir=tmp_path / "cache")
    assert fresh.load_cuts(path) >= len(texts)
    assert [fresh.cut(t) for t in texts] == expected
    assert fresh.tokenize(texts[0]) == first.tokenize(texts[0])
    # The saved tokens are what the loading segmenter returns: an edited file shows it does not re-segment.
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    edited = table.set_column(1, "tokens", pa.array([["甲", "乙"]] * len(table), type=table.schema.field("tokens").type))
    pq.write_table(edited.replace_schema_metadata(table.schema.metadata), tmp_path / "edited.parquet")
    trusting = tokens.Segmenter(cache_dir=tmp_path / "cache")
    trusting.load_cuts(tmp_path / "edited.parquet")
    assert trusting.cut(texts[0]) == ["甲", "乙"]


def test_saved_cuts_of_another_lexicon_or_broken_are_not_used(tmp_path, caplog):
    path = tmp_path / "cuts.parquet"
    seg = tokens.Segmenter(cache_dir=tmp_path / "cache")
    seg.cut("各村党支部开展三会一课")
    seg.save_cuts(path)
    domain = _write(tmp_path / "domain.txt", "三会一课 1000 n\n新词汇 10 n\n")
    other = _segmenter(tmp_path, domain)
    assert other.lexicon_hash != seg.lexicon_hash
    with caplog.at_level(logging.WARNING, logger="analysis.tokens"):
        assert other.load_cuts(path) == 0
    assert "another lexicon" in caplog.text
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with caplog.at_level(logging.WARNING, logger="analysis.tokens"):
        assert seg.load_cuts(broken) == 0
    assert "unreadable" in caplog.text
    assert seg.load_cuts(tmp_path / "missing.parquet") == 0


def test_cut_many_in_processes_gives_the_tokens_of_cut_with_the_same_dictionary(tmp_path):
    domain = _write(tmp_path / "domain.txt", "溪岸红帆宣讲团 300000 nt\n")
    texts = [f"溪岸红帆宣讲团走进第{i}社区开展宣讲" for i in range(6)] + ["全区开展学习\n溪岸红帆宣讲团讲党课", "全区开展学习"]
    parallel_seg = _segmenter(tmp_path, domain)
    # Batches of two lines: four tasks, sent to two worker processes, which must build this dictionary too.
    assert parallel_seg.cut_many(texts, jobs=2, batch_size=2) == 8  # distinct lines; the last text is one of them
    assert parallel_seg.cut_many(texts, jobs=2, batch_size=2) == 0  # all remembered
    serial_seg = _segmenter(tmp_path, domain)
    for text in texts:
        assert parallel_seg.cut(text) == serial_seg.cut(text)
        assert "溪岸红帆宣讲团" in parallel_seg.cut(text) or "溪岸红帆宣讲团" not in text
    with pytest.raises(TypeError, match="str"):
        parallel_seg.cut_many(["ok", None])
    # A word list edited after the segmenter was built: the workers would build another lexicon, so it is an error.
    _write(domain, "溪岸红帆 300000 nt\n")
    with pytest.raises(RuntimeError, match="word lists .* changed"):
        parallel_seg.cut_many([f"新的一行{i}" for i in range(4)], jobs=2, batch_size=2)
