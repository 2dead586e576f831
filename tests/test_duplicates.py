"""duplicates and the corpus step: repeated reports are found, listed with the similarity and left out by default."""

from __future__ import annotations

import json
import random
import shutil
import sys

import pytest

from analysis import corpus, duplicates, paths

sys.path.insert(0, str(paths.PROJECT_ROOT / "benchmarks"))
import html_pages  # noqa: E402

REPORTS = sorted(paths.RAW_DIR.glob("*.txt"))


def test_the_bundled_reports_are_not_duplicates(clean_corpus_bundled):
    """Five different reports (the two on 中原区 included) are all kept, and far below the threshold."""
    assert clean_corpus_bundled.duplicates == ()
    assert len(clean_corpus_bundled.documents) == 5
    texts = {d.doc_id: duplicates.shingles(duplicates.document_text(d)) for d in clean_corpus_bundled.documents}
    ids = sorted(texts)
    top = max(duplicates.jaccard(texts[a], texts[b]) for i, a in enumerate(ids) for b in ids[i + 1 :])
    assert top < duplicates.DEFAULT_THRESHOLD / 4


def _edited(text: str, share: float, seed: int) -> str:
    """``text`` with a ``share`` of its characters replaced (a lightly edited repost)."""
    rng = random.Random(seed)
    chars = list(text)
    for i in rng.sample(range(len(chars)), int(share * len(chars))):
        chars[i] = "某"
    return "".join(chars)


def test_exact_and_near_duplicates_are_found_and_the_first_is_kept():
    text = (REPORTS[0]).read_text("utf-8")
    texts = [
        ("a", text),
        ("b", text.replace(",", ",").replace("\n\n", "\n")),  # re-typeset: the same normalised text
        ("c", _edited(text, 0.01, 0)),
        ("d", (REPORTS[1]).read_text("utf-8")),
    ]
    pairs = duplicates.find_duplicates(reversed(texts))
    assert [(p.doc_id, p.duplicate_of, p.kind) for p in pairs] == [("b", "a", "exact"), ("c", "a", "near")]
    assert pairs[0].similarity == 1.0 and duplicates.DEFAULT_THRESHOLD <= pairs[1].similarity < 1.0


def test_the_threshold_decides():
    text = (REPORTS[2]).read_text("utf-8")
    edited = _edited(text, 0.05, 1)
    similarity = duplicates.jaccard(duplicates.shingles(text), duplicates.shingles(edited))
    assert duplicates.find_duplicates([("a", text), ("b", edited)], threshold=min(1.0, similarity + 0.05)) == ()
    assert len(duplicates.find_duplicates([("a", text), ("b", edited)], threshold=similarity - 0.05)) == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"threshold": 0}, ValueError, "threshold"),
        ({"threshold": 1.5}, ValueError, "threshold"),
        ({"shingle_chars": 0}, ValueError, "shingle_chars"),
    ],
)
def test_bad_parameters_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        duplicates.find_duplicates([("a", "x")], **kwargs)


def test_a_single_string_and_a_repeated_doc_id_are_refused():
    with pytest.raises(TypeError, match="single string"):
        duplicates.find_duplicates("abc")
    with pytest.raises(ValueError, match="doc_id"):
        duplicates.find_duplicates([("a", "x"), ("a", "y")])


@pytest.fixture()
def raw_with_reposts(tmp_path):
    """data/raw plus a mirror-site repost of one report (an HTML page) and a GB18030 copy of another (JSON Lines)."""
    raw = tmp_path / "raw"
    shutil.copytree(paths.RAW_DIR, raw)
    text = (REPORTS[3]).read_text("utf-8")
    (raw / "mirror_repost.html").write_text(html_pages.build_page(text, "portal", place="郑州市").html, "utf-8")
    (raw / "gbk_copy.txt").write_bytes((REPORTS[4]).read_text("utf-8").encode("gb18030"))
    (raw / "scrape.jsonl").write_text(json.dumps({"doc_id": "wechat_copy", "html": html_pages.build_page(text, "wechat").html}) + "\n", "utf-8")
    return raw


def test_reposts_are_listed_and_left_out_of_the_tables(raw_with_reposts, tmp_path):
    cleaned = corpus.clean_corpus(raw_with_reposts)
    frames = corpus.write_corpus_tables(cleaned, tmp_path / "out")
    dups = frames["duplicates"]
    assert dups[["doc_id", "duplicate_of"]].values.tolist() == [
        ["gbk_copy", "004_bd4049ec00aa3a8d"],
        ["mirror_repost", "003_35e05e034bbb9e82"],
        ["wechat_copy", "003_35e05e034bbb9e82"],
    ]
    assert (dups["similarity"] >= duplicates.DEFAULT_THRESHOLD).all() and not dups["kept"].any()
    assert sorted(frames["documents"]["doc_id"]) == ["000_418f3820d632331f", "001_33cfc71206ea1a12", "002_2e2e8a5ccda84c7c", "003_35e05e034bbb9e82", "004_bd4049ec00aa3a8d"]
    assert set(frames["paragraphs"]["doc_id"]) == set(frames["documents"]["doc_id"])
    warnings = frames["cleaning_warnings"]
    assert set(warnings.loc[warnings["kind"] == "duplicate", "doc_id"]) == set(dups["doc_id"])


def test_keep_duplicates_keeps_them(raw_with_reposts, tmp_path):
    cleaned = corpus.clean_corpus(raw_with_reposts, keep_duplicates=True)
    frames = corpus.write_corpus_tables(cleaned, tmp_path / "out")
    assert len(frames["documents"]) == 8 and frames["duplicates"]["kept"].all() and len(frames["duplicates"]) == 3


def test_fingerprints_give_the_same_pairs_and_texts_are_read_only_for_candidates():
    """The worker-side fingerprints and the parent-side check agree with find_duplicates; other texts are never asked for."""
    texts = {f"r{i}": path.read_text("utf-8") for i, path in enumerate(REPORTS)}
    texts["r9"] = _edited(texts["r1"], 0.01, 3)
    asked: list[str] = []

    def text_of(doc_id: str) -> str:
        asked.append(doc_id)
        return texts[doc_id]

    prints = [duplicates.fingerprint(k, v) for k, v in texts.items()]
    pairs = duplicates.duplicates_from_fingerprints(reversed(prints), text_of)
    assert pairs == duplicates.find_duplicates(texts.items())
    assert [(p.doc_id, p.duplicate_of) for p in pairs] == [("r9", "r1")]
    assert sorted(set(asked)) == ["r1", "r9"]


def test_fingerprints_of_other_settings_are_refused():
    text = REPORTS[0].read_text("utf-8")
    prints = [duplicates.fingerprint("a", text), duplicates.fingerprint("b", text, shingle_chars=4)]
    with pytest.raises(ValueError, match="different"):
        duplicates.duplicates_from_fingerprints(prints, {"a": text, "b": text}.__getitem__)
    with pytest.raises(ValueError, match="max_checked"):
        duplicates.duplicates_from_fingerprints(prints[:1], {"a": text}.__getitem__, max_checked=0)


def test_at_most_max_checked_candidates_are_compared_exactly():
    """Many copies of one report, only 2 candidates checked each (the best estimates): every copy is still found."""
    text = REPORTS[3].read_text("utf-8")
    texts = {f"c{i:02d}": _edited(text, 0.02, i) for i in range(12)}
    prints = [duplicates.fingerprint(k, v) for k, v in texts.items()]
    pairs = duplicates.duplicates_from_fingerprints(prints, texts.__getitem__, threshold=0.5, max_checked=2)
    assert [p.doc_id for p in pairs] == sorted(texts)[1:]
    exhaustive = duplicates.find_duplicates(texts.items(), threshold=0.5)
    assert [p.doc_id for p in exhaustive] == [p.doc_id for p in pairs]
    assert all(p.similarity <= q.similarity for p, q in zip(pairs, exhaustive, strict=True))


def test_normalize_text_keeps_exactly_the_letters_and_digits_of_every_code_point():
    """The regular expression is the Unicode-category definition (L* and N*), over all code points."""
    import unicodedata

    every = "".join(chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)
    folded = unicodedata.normalize("NFKC", every)
    assert duplicates.normalize_text(every) == "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")
