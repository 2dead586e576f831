"""Tests for analysis.topics on the pipeline's cleaned paragraphs of the bundled corpus."""

from __future__ import annotations

import collections
import itertools
import json
import pickle
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats import chi2_contingency
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from analysis import tokens, topics

SEEDS = range(5)
KS = range(4, 13)

# Content cues for known campaign themes, with the minimum number of cue hits
# for a paragraph to count as being about the theme (selected by content, not index).
THEMES = {
    "service": (re.compile(r"办实事|实事|诉求|急难愁盼|民生|解决"), 4),
    "outreach": (re.compile(r"宣讲|讲述|故事"), 4),
    "publicity": (re.compile(r"媒体|宣传|报道|新闻|公众号|发布|专栏"), 3),
}
EMERGENCY = (re.compile(r"防汛|抗洪|汛情|暴雨|救灾|抢险|灾后|疫情|核酸|疫苗|受灾"), 2)
MIN_THEME_SHARE = 0.7


@pytest.fixture(scope="module")
def paragraphs(corpus_paragraphs) -> pd.DataFrame:
    """The pipeline's cleaned paragraphs of the bundled corpus (doc_id, para_id, place, text, ...)."""
    return corpus_paragraphs[["doc_id", "para_id", "place", "text"]].copy()


@pytest.fixture(scope="module")
def scores(paragraphs) -> pd.DataFrame:
    return topics.k_scores(paragraphs["text"].tolist(), KS, SEEDS)


@pytest.fixture(scope="module")
def paragraph_topics(paragraphs) -> pd.DataFrame:
    return topics.cluster_paragraphs(paragraphs, random_state=0)


def _cue_rows(paragraphs: pd.DataFrame, cue: re.Pattern[str], min_hits: int) -> np.ndarray:
    return np.flatnonzero([len(cue.findall(t)) >= min_hits for t in paragraphs["text"]])


def test_default_k_is_justified_by_k_scores(scores):
    with pd.option_context("display.width", 200):
        print("\n" + scores.round(3).to_string(index=False))
    chosen = topics.choose_k(scores)
    print(f"choose_k -> {chosen}; DEFAULT_PARAGRAPH_K = {topics.DEFAULT_PARAGRAPH_K}")
    assert list(scores["k"]) == list(KS)
    assert (scores["n_seeds"] == len(SEEDS)).all()
    assert chosen == topics.DEFAULT_PARAGRAPH_K
    row = scores.set_index("k").loc[topics.DEFAULT_PARAGRAPH_K]
    assert row["stability_ari"] >= 0.8


def test_stability_across_seeds_at_default_k(paragraphs):
    runs = [topics.cluster_paragraphs(paragraphs, random_state=s)["topic"].to_numpy() for s in SEEDS]
    aris = [adjusted_rand_score(a, b) for a, b in itertools.combinations(runs, 2)]
    print(f"k={topics.DEFAULT_PARAGRAPH_K}: ARI across seeds {np.mean(aris):.3f} ± {np.std(aris):.3f}")
    assert np.mean(aris) >= 0.8


def test_paragraph_topics_table(paragraph_topics, paragraphs):
    pt = paragraph_topics
    assert list(pt.columns) == ["para_id", "doc_id", "place", "topic", "n_chars"]
    assert pt["para_id"].is_monotonic_increasing and len(pt) == len(paragraphs)
    sizes = pt["topic"].value_counts().sort_index()
    assert list(sizes.index) == list(range(topics.DEFAULT_PARAGRAPH_K))
    assert sizes.is_monotonic_decreasing  # renumbered by size
    # topics of equal size are ordered by their top TF-IDF term (string order)
    tfidf = topics.build_tfidf(paragraphs.sort_values("para_id")["text"].tolist())
    top = {t: _top_term(tfidf, pt["topic"].to_numpy() == t) for t in sizes.index}
    for t in sizes.index[:-1]:
        if sizes[t] == sizes[t + 1]:
            assert top[t] <= top[t + 1], (t, top[t], top[t + 1])
    assert pt.attrs["provenance"]["k"] == topics.DEFAULT_PARAGRAPH_K
    assert len(pt.attrs["provenance"]["lexicon_hash"]) == 64
    again = topics.cluster_paragraphs(paragraphs.sample(frac=1, random_state=1), random_state=0)
    pd.testing.assert_frame_equal(pt, again)  # input order does not matter


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_known_theme_paragraphs_share_a_cluster(paragraph_topics, paragraphs, theme):
    cue, min_hits = THEMES[theme]
    rows = _cue_rows(paragraphs, cue, min_hits)
    labels = paragraph_topics["topic"].to_numpy()[rows]
    share = np.bincount(labels).max() / len(rows)
    print(f"{theme}: {len(rows)} paragraphs, clusters {np.bincount(labels).tolist()}, modal share {share:.2f}")
    assert len(rows) >= 5
    assert share >= MIN_THEME_SHARE


def test_emergency_paragraphs_are_closer_to_each_other(paragraphs):
    # Flood and epidemic paragraphs are too few in the corpus (one report) for a cluster
    # of their own at the chosen k; check that, in the embedding the clustering uses,
    # they are closer to each other than random paragraph sets of the same size (p < 0.05).
    rows = _cue_rows(paragraphs, *EMERGENCY)
    tfidf = topics.build_tfidf(paragraphs["text"].tolist())
    emb = topics.embed_tfidf(tfidf)
    sim = emb @ emb.T

    def within(ix):
        return sim[np.ix_(ix, ix)][~np.eye(len(ix), dtype=bool)].mean()

    rng = np.random.default_rng(0)
    null = np.array([within(rng.choice(len(emb), size=len(rows), replace=False)) for _ in range(2000)])
    p = (1 + (null >= within(rows)).sum()) / (1 + len(null))
    print(f"emergency: {len(rows)} paragraphs, mean cosine within {within(rows):.3f}, "
          f"random sets {null.mean():.3f} ± {null.std():.3f}, p = {p:.4f}")
    assert len(rows) >= 4 and p < 0.05


def test_topic_table_and_terms(paragraph_topics, paragraphs):
    table = topics.topic_table(paragraph_topics, paragraphs)
    with pd.option_context("display.width", 200, "display.max_colwidth", 70):
        print("\n" + table[["topic", "label", "n_paragraphs", "n_documents", "top_terms"]].to_string(index=False))
    assert list(table["topic"]) == list(range(topics.DEFAULT_PARAGRAPH_K))
    assert table["n_paragraphs"].sum() == len(paragraphs)
    assert (table["label"].str.len() > 0).all()
    merged = paragraph_topics.set_index("para_id")["topic"]
    for _, row in table.iterrows():
        reps = row["representative_para_ids"].split()
        assert reps and all(merged[r] == row["topic"] for r in reps)
    terms = topics.topic_terms(paragraph_topics, paragraphs, n_terms=5)
    assert list(terms.columns) == ["topic", "rank", "term", "weight", "count"]
    first = terms.groupby("topic")["weight"].apply(lambda w: w.is_monotonic_decreasing)
    assert first.all()
    # a topic's top term occurs in that topic's paragraphs
    texts = paragraphs.set_index("para_id")["text"]
    for topic, group in terms[terms["rank"] == 1].groupby("topic"):
        ids = paragraph_topics.loc[paragraph_topics["topic"] == topic, "para_id"]
        assert any(group["term"].iat[0] in texts[i] for i in ids)


def test_topic_shares_sum_to_one(paragraph_topics):
    shares = topics.topic_shares(paragraph_topics)
    assert list(shares.columns) == ["level", "unit", "topic", "n_paragraphs", "share_paragraphs",
                                    "n_chars", "share_chars"]
    assert set(shares["level"]) == {"document", "place"}
    sums = shares.groupby(["level", "unit"])[["share_paragraphs", "share_chars"]].sum()
    assert np.allclose(sums.to_numpy(), 1.0)
    places = shares[shares["level"] == "place"]
    assert set(places["unit"]) == {"中原区", "召陵区", "郑州市", "云溪区"}
    assert places.groupby("unit").size().eq(topics.DEFAULT_PARAGRAPH_K).all()  # zeros kept
    n = shares[shares["level"] == "document"]["n_paragraphs"].sum()
    assert n == len(paragraph_topics)
    docs = paragraph_topics[["doc_id"]].drop_duplicates().assign(place="X")
    assert set(topics.topic_shares(paragraph_topics.drop(columns="place"), docs)
               .query("level == 'place'")["unit"]) == {"X"}
    with pytest.raises(ValueError, match="no place"):
        topics.topic_shares(paragraph_topics.assign(place=None))


def test_keyness_statistics_and_sign(paragraphs):
    key = topics.keyness(paragraphs, by="place", min_count=5)
    top = key[key["rank"] <= 5][["group", "term", "n_target", "n_reference", "g2"]]
    print("\n" + top.to_string(index=False))
    row = key[key["g2"] > 0].iloc[0]
    table = np.array([[row["n_target"], row["total_target"] - row["n_target"]],
                      [row["n_reference"], row["total_reference"] - row["n_reference"]]])
    g2, *_ = chi2_contingency(table, correction=False, lambda_="log-likelihood")
    chi2, *_ = chi2_contingency(table, correction=True)
    assert row["g2"] == pytest.approx(g2) and row["chi2"] == pytest.approx(chi2)
    # each place over-uses its own name (place names are in the domain dictionary)
    for place in ("召陵区", "云溪区"):
        own = key[(key["group"] == place) & (key["term"] == place)]
        assert len(own) == 1 and own["g2"].iat[0] > 10 and own["rank"].iat[0] <= 10
    assert (key.groupby("group")["g2"].apply(lambda g: g.is_monotonic_decreasing)).all()
    assert (key["n_target"] + key["n_reference"] >= 5).all()
    # p_value is the chi-squared tail of |G2| with 1 df, computed for all terms at once
    assert key["p_value"].tolist() == [stats.chi2.sf(abs(g), 1) for g in key["g2"]]
    with pytest.raises(ValueError, match="at least 2 groups"):
        topics.keyness(paragraphs.assign(place="A"))


def test_keyness_counts_are_the_sums_of_the_paragraphs_token_counts(paragraphs, monkeypatch):
    # keyness cuts each group's paragraphs joined by line breaks, so that it reuses their
    # cached tokens (no new call into jieba); a group's counts are the sums over its paragraphs.
    for text in paragraphs["text"]:
        tokens.tokenize(text)
    jieba_calls = []
    tokenizer = tokens.get_segmenter().tokenizer
    monkeypatch.setattr(tokenizer, "lcut", lambda *a, **k: jieba_calls.append(a) or type(tokenizer).lcut(tokenizer, *a, **k))
    key = topics.keyness(paragraphs, by="doc_id", min_count=1)
    assert jieba_calls == []
    monkeypatch.undo()
    for doc_id, texts in paragraphs.groupby("doc_id")["text"]:
        expected = collections.Counter(t for text in texts for t in tokens.tokenize(text, drop_generic=False))
        got = key[key["group"] == doc_id]
        assert dict(zip(got["term"], got["n_target"], strict=True)) == {t: expected[t] for t in got["term"]}
        assert set(expected) <= set(got["term"]) and (got["total_target"] == sum(expected.values())).all()


def test_similarity_matrix(paragraphs):
    texts = paragraphs.groupby("doc_id")["text"].apply("\n".join)
    sim = topics.similarity_matrix(texts)
    print("\n" + sim.round(3).to_string())
    assert list(sim.index) == sorted(texts.index) == list(sim.columns)
    assert np.allclose(sim.to_numpy(), sim.to_numpy().T) and np.allclose(np.diag(sim), 1.0)
    off = sim.to_numpy()[~np.eye(len(sim), dtype=bool)]
    assert (off > 0).all() and (off < 1).all()
    with pytest.raises(ValueError, match="at least 2"):
        topics.similarity_matrix({"a": "党史"})


def test_write_topic_tables_is_byte_identical(tmp_path, paragraphs):
    def run(out):
        pt = topics.cluster_paragraphs(paragraphs, random_state=0)
        return topics.write_topic_tables(pt, topics.topic_table(pt, paragraphs), out)

    first = run(tmp_path / "a")
    second = run(tmp_path / "b")
    names = sorted(p.name for p in first)
    assert names == sorted(p.name for p in second)
    assert {"paragraph_topics.parquet", "paragraph_topics.csv", "topics.parquet", "topics.csv",
            "topics.meta.json", "paragraph_topics.meta.json"} <= set(names)
    for a, b in zip(sorted(first), sorted(second), strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    meta = json.loads((tmp_path / "a" / "paragraph_topics.meta.json").read_text(encoding="utf-8"))
    assert meta["k"] == topics.DEFAULT_PARAGRAPH_K and "lexicon_hash" in meta


def test_cluster_texts_contract():
    texts = ["防汛救灾,抢险救援,转移群众", "疫情防控,核酸检测,疫苗接种",
             "防汛抢险,救灾物资,转移群众", "核酸检测,疫情防控,排查人员", "防汛救灾,救灾物资"]
    labels = topics.cluster_texts(texts, k=2, min_df=1, max_df=1.0)
    assert labels == [0, 1, 0, 1, 0]  # flood texts together; largest cluster is 0
    assert topics.cluster_texts(tuple(texts), k=2, min_df=1, max_df=1.0, model="nmf") == labels
    with pytest.raises(TypeError, match="single string"):
        topics.cluster_texts("防汛救灾", k=1)
    with pytest.raises(ValueError, match="between 1 and the number of texts"):
        topics.cluster_texts(texts, k=6)
    with pytest.raises(ValueError, match="between 1"):
        topics.cluster_texts(texts, k=0)
    with pytest.raises(TypeError, match="int"):
        topics.cluster_texts(texts, k=2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="model"):
        topics.cluster_texts(texts, k=2, model="lda")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_df=1"):
        topics.cluster_texts(["的了", "我们的", "12 34"], k=2)
    with pytest.raises(ValueError, match="empty"):
        topics.cluster_texts([], k=1)


def test_tfidf_result_is_labelled_and_picklable(paragraphs):
    tfidf = topics.build_tfidf(paragraphs["text"], row_ids=paragraphs["para_id"])
    assert tfidf.matrix.shape == (len(paragraphs), len(tfidf.feature_names))
    assert list(tfidf.feature_names) == sorted(tfidf.feature_names)
    assert tfidf.row_ids == tuple(paragraphs["para_id"])
    assert np.allclose(np.asarray(tfidf.matrix.multiply(tfidf.matrix).sum(axis=1)).ravel(), 1.0)
    vec = pickle.loads(pickle.dumps(tfidf.vectorizer))
    assert np.allclose(vec.transform(paragraphs["text"][:3]).toarray(), tfidf.matrix[:3].toarray())
    with pytest.raises(ValueError, match="unique"):
        topics.build_tfidf(["党史", "党课"], row_ids=["a", "a"])


def test_seed_agreement_against_reference(paragraphs):
    tfidf = topics.build_tfidf(paragraphs["text"].tolist(), row_ids=paragraphs["para_id"].tolist())
    k = topics.DEFAULT_PARAGRAPH_K
    agreement = topics.seed_agreement(tfidf, k=k, seeds=SEEDS, reference_seed=0)
    print("\n" + agreement.to_string(index=False))
    assert list(agreement.columns) == ["seed", "ari", "n_moved", "share_same", "min_cluster_size", "max_cluster_size"]
    assert list(agreement["seed"]) == [s for s in SEEDS if s != 0]  # the reference is not compared with itself
    reference = topics.cluster_tfidf(tfidf, k=k, random_state=0)
    for row in agreement.itertuples():
        labels = topics.cluster_tfidf(tfidf, k=k, random_state=row.seed)
        assert row.ari == pytest.approx(adjusted_rand_score(reference, labels))
        # identical partitions (up to renaming) move nothing; different ones move something
        same_partition = adjusted_rand_score(reference, labels) == pytest.approx(1.0)
        assert (row.n_moved == 0) == same_partition
        assert row.min_cluster_size == np.bincount(labels).min()
    assert ((agreement["share_same"] > 0) & (agreement["share_same"] <= 1)).all()
    assert agreement["ari"].mean() >= topics.DEFAULT_MIN_STABILITY_ARI  # as in the k scan


def test_seed_agreement_matches_renamed_clusters():
    # Two clear themes: every seed finds the same two groups, possibly under other numbers.
    texts = ["防汛救灾,抢险救援,转移群众", "疫情防控,核酸检测,疫苗接种",
             "防汛抢险,救灾物资,转移安置", "核酸检测,疫情防控,排查人员"]
    tfidf = topics.build_tfidf(texts, min_df=1, max_df=1.0)
    agreement = topics.seed_agreement(tfidf, k=2, seeds=range(4), reference_seed=3)
    assert list(agreement["seed"]) == [0, 1, 2]
    assert (agreement["n_moved"] == 0).all() and (agreement["ari"] == 1.0).all()
    with pytest.raises(ValueError, match="other than reference_seed"):
        topics.seed_agreement(tfidf, k=2, seeds=[3], reference_seed=3)
    with pytest.raises(ValueError, match="between 1 and"):
        topics.seed_agreement(tfidf, k=9, seeds=[0, 1])


def test_topic_emphasis_lift():
    shares = pd.DataFrame({"level": ["place"] * 2, "unit": ["甲区", "甲区"], "topic": [0, 1], "share_chars": [0.75, 0.25]})
    table = pd.DataFrame({"topic": [0, 1], "n_chars": [500, 500]})
    out = topics.topic_emphasis(shares, table)
    assert out["corpus_share"].tolist() == [0.5, 0.5] and out["lift"].tolist() == [1.5, 0.5]
    with pytest.raises(ValueError, match="mixes levels"):
        topics.topic_emphasis(shares.assign(level=["place", "document"]), table)


def _top_term(tfidf: topics.TfidfResult, rows: np.ndarray) -> str:
    """The term of highest mean TF-IDF weight over ``rows`` (first in string order among equals)."""
    weights = np.asarray(tfidf.matrix[np.flatnonzero(rows)].mean(axis=0)).ravel().round(12)
    return min(tfidf.feature_names[weights == weights.max()])


FLOOD = ["防汛救灾,抢险救援,转移群众", "防汛抢险,救灾物资,转移安置", "防汛值守,抢险队伍,救灾演练"]
EPIDEMIC = ["疫情防控,核酸检测,疫苗接种", "疫情防控,核酸检测,排查人员", "疫情防控,疫苗接种,核酸采样"]


def test_equal_sized_topics_are_numbered_by_top_term_not_by_position():
    texts = FLOOD[:2] + EPIDEMIC[:2]
    tfidf = topics.build_tfidf(texts, min_df=1, max_df=1.0)
    for order in (texts, texts[::-1], [texts[0], texts[2], texts[1], texts[3]]):
        labels = topics.cluster_texts(order, k=2, min_df=1, max_df=1.0)
        assert sorted(labels) == [0, 0, 1, 1]
        flood = np.array([t in FLOOD for t in order])
        assert len(set(np.array(labels)[flood])) == 1  # the two themes are found
        first = _top_term(tfidf, np.isin(texts, [t for t, lab in zip(order, labels, strict=True) if lab == 0]))
        second = _top_term(tfidf, np.isin(texts, [t for t, lab in zip(order, labels, strict=True) if lab == 1]))
        assert first < second, (first, second)
        # the numbers follow the themes, wherever their first text stands
        assert labels[order.index(texts[0])] == topics.cluster_texts(texts, k=2, min_df=1, max_df=1.0)[0]
    # size comes first: with a third flood text the flood topic is 0 whatever its top term
    labels = topics.cluster_texts(EPIDEMIC[:2] + FLOOD, k=2, min_df=1, max_df=1.0)
    assert labels == [1, 1, 0, 0, 0]


def test_adding_a_report_before_the_others_does_not_renumber_topics():
    # Two reports, each with a flood and an epidemic paragraph; a new report whose doc_id
    # sorts first adds one paragraph to each topic (sizes stay equal, clusters unchanged).
    old = pd.DataFrame({"doc_id": ["b", "b", "c", "c"], "para_id": ["b:p000", "b:p001", "c:p000", "c:p001"],
                        "text": [FLOOD[0], EPIDEMIC[0], FLOOD[1], EPIDEMIC[1]]})
    new_report = pd.DataFrame({"doc_id": ["a", "a"], "para_id": ["a:p000", "a:p001"],
                               "text": [EPIDEMIC[2], FLOOD[2]]})
    options = {"k": 2, "min_df": 1, "max_df": 1.0, "random_state": 0}
    before = topics.cluster_paragraphs(old, **options).set_index("para_id")["topic"]
    after = topics.cluster_paragraphs(pd.concat([old, new_report]), **options).set_index("para_id")["topic"]
    assert after.index[0] == "a:p000"
    # the case: same clusters, and the first paragraph now belongs to the other theme, so
    # numbering by first occurrence would swap the two topics
    assert adjusted_rand_score(before, after[before.index]) == 1.0
    assert after["a:p000"] == after["b:p001"] != after["b:p000"] == after["a:p001"]
    assert (after[before.index] == before).all()  # no existing paragraph changed topic number


def test_kmeans_is_scikit_learns_on_the_lsa_embedding(paragraphs):
    tfidf = topics.build_tfidf(paragraphs["text"].tolist(), row_ids=paragraphs["para_id"].tolist())
    k = topics.DEFAULT_PARAGRAPH_K
    labels = topics.cluster_tfidf(tfidf, k=k, random_state=3)
    embedding = topics.embed_tfidf(tfidf, random_state=3)
    plain = KMeans(n_clusters=k, n_init=topics.DEFAULT_N_INIT, random_state=3).fit_predict(embedding)
    assert adjusted_rand_score(labels, plain) == 1.0  # the same partition, renumbered
    assert (topics.cluster_tfidf(tfidf, k=k, random_state=3) == labels).all()  # deterministic


def test_cluster_texts_is_deterministic_and_keeps_its_signature():
    texts = FLOOD + EPIDEMIC
    first = topics.cluster_texts(texts, 2, 0, min_df=1, max_df=1.0)
    assert first == topics.cluster_texts(texts, k=2, random_state=0, min_df=1, max_df=1.0)
    assert all(isinstance(x, int) for x in first) and sorted(set(first)) == [0, 1]
    assert len(set(first[:3])) == 1 and len(set(first[3:])) == 1 and first[0] != first[3]
