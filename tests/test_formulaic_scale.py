"""Tests of analysis.formulaic at scale: the switch to MinHash/LSH candidate pairs, its record, its recall (RQ3)."""

from __future__ import annotations

import itertools
import random

import pandas as pd
import pytest

from analysis import formulaic

# Characters that are neither numerals nor in any lexicon entry's usual wording: random "local" text.
_ALPHABET = [chr(c) for c in range(0x4E00 + 600, 0x4E00 + 2600)]
_PLANTED = [(3, 40), (7, 120), (15, 16), (50, 149), (88, 91)]


def _random_text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(n))


def _corpus(n_reports: int = 150, seed: int = 0) -> pd.DataFrame:
    """Reports of random paragraphs; each planted pair shares one paragraph (lightly edited in the copy)."""
    rng = random.Random(seed)
    texts = {i: [_random_text(rng, rng.randint(60, 120)) for _ in range(6)] for i in range(n_reports)}
    for a, b in _PLANTED:
        copied = list(texts[a][2])
        copied[5] = rng.choice(_ALPHABET)  # an edit, so the copy is near-identical, not identical
        texts[b][4] = "".join(copied)
    rows = []
    for i, paras in texts.items():
        for j, text in enumerate(paras):
            rows.append({"doc_id": f"r{i:03d}", "para_id": f"r{i:03d}:p{j:03d}", "place": f"地{i % 40:02d}", "text": text})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def paragraphs() -> pd.DataFrame:
    return _corpus()


def _joined(paragraphs: pd.DataFrame) -> dict[str, str]:
    return dict(paragraphs.sort_values("para_id").groupby("doc_id")["text"].agg("\n".join))


def test_candidates_contain_the_planted_pairs_and_are_bounded(paragraphs):
    candidates = formulaic.reuse_candidates(_joined(paragraphs), max_candidates=3)
    found = set(zip(candidates["doc_a"], candidates["doc_b"], strict=True))
    planted = {(f"r{a:03d}", f"r{b:03d}") for a, b in _PLANTED}
    assert planted <= found
    per_report = pd.concat([candidates["doc_a"], candidates["doc_b"]]).value_counts()
    # each report keeps at most 3 partners; a pair kept by the other side may add to that
    assert len(candidates) <= 3 * paragraphs["doc_id"].nunique()
    assert per_report.max() <= 2 * 3
    assert candidates.attrs["reuse_candidates"]["method"] == "minhash_lsh_paragraphs"
    assert candidates.attrs["reuse_candidates"]["n_pairs"] == len(candidates)


def test_auto_switches_above_the_threshold_and_records_the_method(paragraphs):
    few = paragraphs[paragraphs["doc_id"] < "r010"]
    small = formulaic.formulaic_shares(few, top_n=0)
    large = formulaic.formulaic_shares(paragraphs, top_n=0)
    assert small.places.attrs["reuse_method"] == "all_pairs"
    assert "reuse_candidates" not in small.places.attrs
    assert large.places.attrs["reuse_method"] == "candidates"
    assert large.passages.attrs["reuse_candidates"]["max_candidates"] == formulaic.DEFAULT_MAX_CANDIDATES
    forced = formulaic.formulaic_shares(few, top_n=0, reuse_method="candidates")
    assert forced.places.attrs["reuse_method"] == "candidates"
    lowered = formulaic.formulaic_shares(few, top_n=0, max_all_pairs_reports=5)
    assert lowered.places.attrs["reuse_method"] == "candidates"


def test_candidate_method_finds_the_planted_passages(paragraphs):
    shares = formulaic.formulaic_shares(paragraphs, top_n=0)
    pairs = set(zip(shares.passages["doc_a"], shares.passages["doc_b"], strict=True))
    assert {(f"r{a:03d}", f"r{b:03d}") for a, b in _PLANTED} <= pairs
    # the longest passage of a planted pair is the copied paragraph up to (or from) the edit
    longest = shares.passages.groupby(["doc_a", "doc_b"])["n_chars"].max()
    assert (longest.loc[[(f"r{a:03d}", f"r{b:03d}") for a, b in _PLANTED]] >= 50).all()


@pytest.mark.parametrize("between", ["documents", "places"])
@pytest.mark.parametrize("min_chars", [4, 8])
def test_both_methods_count_the_same_reused_characters(paragraphs, between, min_chars):
    few = paragraphs[paragraphs["doc_id"] < "r060"]
    exact = formulaic.formulaic_shares(few, min_reuse_chars=min_chars, reuse_between=between, top_n=0,
                                       reuse_method="all_pairs")
    docs = sorted(few["doc_id"].unique())
    every_pair = pd.DataFrame(list(itertools.combinations(docs, 2)), columns=["doc_a", "doc_b"])
    scaled = formulaic.formulaic_shares(few, min_reuse_chars=min_chars, reuse_between=between, top_n=0,
                                        reuse_method="candidates", candidate_pairs=every_pair)
    pd.testing.assert_frame_equal(exact.paragraphs, scaled.paragraphs)
    # on every pair the pair-by-pair passage search gives the all-pairs index's passages
    pd.testing.assert_frame_equal(exact.passages, scaled.passages)
    assert exact.places.loc[exact.places["kind"] == "reused", "n_chars"].sum() > 0


def test_reused_mask_matches_passages_on_content_characters():
    texts = {"a": "我区深入开展党史学习教育,成效明显。", "b": "全市深入开展党史学习教育。", "c": "另一份报告。"}
    mask = formulaic.reused_mask(texts)
    assert "".join(t for t, m in zip(texts["a"], mask["a"], strict=True) if m) == "深入开展党史学习教育"
    assert not mask["c"].any()
    same_group = formulaic.reused_mask(texts, group_of={"a": "甲", "b": "甲", "c": "乙"})
    assert not same_group["a"].any()


def test_a_paragraph_in_more_than_max_paragraph_reports_reports_proposes_no_pair():
    shared = "全区组织开展党史学习教育专题宣讲活动一百余场,覆盖干部群众两万余人次。"
    own = ["甲县修缮革命旧址三处。", "乙区新建村史馆两个。", "丙市接待参观群众五千余人。", "丁镇走访老党员八十余户。"]
    texts = {f"r{i}": f"{shared}\n{text}" for i, text in enumerate(own)}
    at_limit = formulaic.reuse_candidates(texts, max_paragraph_reports=4)
    assert len(at_limit) == 6 and at_limit.attrs["reuse_candidates"]["n_boilerplate_paragraphs"] == 0
    over = formulaic.reuse_candidates(texts, max_paragraph_reports=3)
    assert over.empty and over.attrs["reuse_candidates"]["n_boilerplate_paragraphs"] == 1


def test_candidates_and_shares_are_deterministic(paragraphs):
    joined = _joined(paragraphs)
    first = formulaic.reuse_candidates(joined, random_state=3)
    again = formulaic.reuse_candidates(dict(reversed(list(joined.items()))), random_state=3)
    pd.testing.assert_frame_equal(first, again)
    a = formulaic.formulaic_shares(paragraphs, top_n=2, candidate_pairs=first)
    b = formulaic.formulaic_shares(paragraphs.sample(frac=1, random_state=1).sort_values("para_id"), top_n=2,
                                   candidate_pairs=first)
    pd.testing.assert_frame_equal(a.passages, b.passages)
    pd.testing.assert_frame_equal(a.examples, b.examples)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_candidates": 0}, "max_candidates"),
        ({"threshold": 1.5}, "threshold"),
        ({"num_perm": -1}, "num_perm"),
        ({"group_of": {}}, "group_of"),
    ],
)
def test_reuse_candidates_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        formulaic.reuse_candidates({"a": "一二三四五六七八九十" * 3, "b": "甲乙丙丁"}, **kwargs)


def test_bad_method_and_candidate_table(paragraphs):
    few = paragraphs[paragraphs["doc_id"] < "r005"]
    with pytest.raises(ValueError, match="reuse_method"):
        formulaic.formulaic_shares(few, reuse_method="lsh")
    with pytest.raises(ValueError, match="candidate_pairs"):
        formulaic.formulaic_shares(few, reuse_method="candidates", candidate_pairs=pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="no paragraphs"):
        formulaic.formulaic_shares(few, reuse_method="candidates",
                                   candidate_pairs=pd.DataFrame({"doc_a": ["r000"], "doc_b": ["zzz"]}))


def test_shares_without_passages_are_the_same_shares(paragraphs):
    full = formulaic.formulaic_shares(paragraphs, top_n=0, reuse_between="places")
    bare = formulaic.formulaic_shares(paragraphs, top_n=0, reuse_between="places", passages=False)
    assert full.places.attrs["reuse_method"] == bare.places.attrs["reuse_method"] == "candidates"
    pd.testing.assert_frame_equal(full.paragraphs, bare.paragraphs, check_like=False)
    assert len(full.passages) > 0 and bare.passages.empty
    assert list(bare.passages.columns) == list(full.passages.columns)
    assert bare.places.attrs["passages"] is False and "passages" not in full.places.attrs
