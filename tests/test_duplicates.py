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
