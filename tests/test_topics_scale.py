"""Tests for the scale paths of analysis.topics: mini-batch k-means, sampled silhouette, reuse, sparse keyness, pairs."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

from analysis import topics

THEMES = (
    ("防汛", "抢险", "救灾", "转移", "群众", "物资", "堤坝", "暴雨"),
    ("疫情", "防控", "核酸", "检测", "疫苗", "接种", "排查", "隔离"),
    ("宣讲", "党课", "故事", "讲述", "红色", "教育", "课堂", "基地"),
)
PLACES = ("中原区", "召陵区", "云溪区", "郑州市")


@pytest.fixture(scope="module")
def paragraphs() -> pd.DataFrame:
    """90 short paragraphs, 30 per theme, of words drawn from the theme (fixed seed), over 4 places."""
    rng = random.Random(7)
    rows = []
    for i in range(90):
        words = THEMES[i % 3]
        text = ",".join(rng.sample(words, 5))
        doc = f"d{i % 9}"
        rows.append({"doc_id": doc, "para_id": f"{doc}:p{i:03d}", "place": PLACES[i % 9 % 4], "text": text})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def tfidf(paragraphs):
    p = paragraphs.sort_values("para_id").reset_index(drop=True)
    return topics.build_tfidf(p["text"].tolist(), row_ids=p["para_id"].tolist(), min_df=1, max_df=1.0)


@pytest.mark.parametrize(("n_texts", "threshold", "method", "expected"), [
    (100, 100, "auto", "KMeans"),
    (101, 100, "auto", "MiniBatchKMeans"),
    (101, 100, "kmeans", "KMeans"),
    (5, 100, "minibatch", "MiniBatchKMeans"),
])
def test_threshold_switches_the_method(n_texts, threshold, method, expected):
    settings = topics.clustering_settings(n_texts, method=method, minibatch_min_texts=threshold)
    assert settings["clustering_method"] == expected
    assert settings["n_init"] == (topics.MINIBATCH_N_INIT if expected == "MiniBatchKMeans" else topics.DEFAULT_N_INIT)
    assert (settings["batch_size"] is None) == (expected == "KMeans")


def test_default_threshold_keeps_kmeans_for_the_bundled_corpus_size():
    assert topics.clustering_settings(topics.MINIBATCH_MIN_TEXTS)["clustering_method"] == "KMeans"
    assert topics.clustering_settings(topics.MINIBATCH_MIN_TEXTS + 1)["clustering_method"] == "MiniBatchKMeans"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"method": "fast"}, "method"),
    ({"model": "lda"}, "model"),
    ({"n_init": 0}, "n_init"),
    ({"minibatch_min_texts": -1}, "minibatch_min_texts"),
])
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        topics.clustering_settings(100, **kwargs)


def test_method_is_recorded_in_provenance(paragraphs):
    small = topics.cluster_paragraphs(paragraphs, k=3, min_df=1, max_df=1.0)
    large = topics.cluster_paragraphs(paragraphs, k=3, min_df=1, max_df=1.0, minibatch_min_texts=50)
    assert small.attrs["provenance"]["clustering_method"] == "KMeans"
    assert large.attrs["provenance"]["clustering_method"] == "MiniBatchKMeans"
    assert large.attrs["provenance"]["batch_size"] == topics.MINIBATCH_BATCH_SIZE
    assert large.attrs["provenance"]["n_texts"] == len(paragraphs)


def test_minibatch_labels_are_scikit_learns_and_deterministic(tfidf):
    labels = topics.cluster_tfidf(tfidf, k=3, random_state=4, method="minibatch")
    again = topics.cluster_tfidf(tfidf, k=3, random_state=4, method="minibatch")
    assert labels.tolist() == again.tolist()
    embedding = topics.embed_tfidf(tfidf, random_state=4)
    direct = MiniBatchKMeans(n_clusters=3, n_init=topics.MINIBATCH_N_INIT, batch_size=topics.MINIBATCH_BATCH_SIZE,
                             random_state=4).fit_predict(embedding)
    assert adjusted_rand_score(labels, direct) == pytest.approx(1.0)
    # The three word themes are three clusters.
    theme = np.array([int(pid.split(":p")[1]) % 3 for pid in tfidf.row_ids])
    assert adjusted_rand_score(labels, theme) == pytest.approx(1.0)


def test_k_scores_sampled_silhouette_and_provenance(tfidf):
    scores = topics.k_scores(tfidf, [2, 3], seeds=[0, 1], method="minibatch", silhouette_sample_size=40)
    prov = scores.attrs["provenance"]
    assert prov["clustering_method"] == "MiniBatchKMeans"
    assert prov["silhouette_n_texts"] == 40 and prov["silhouette_sample_seed"] == topics.SILHOUETTE_SAMPLE_SEED
    assert prov["embedding_per_seed"] is False
    embedding = topics.embed_tfidf(tfidf, random_state=0)
    expected = [
        silhouette_score(embedding, topics.cluster_tfidf(tfidf, k=3, random_state=s, method="minibatch",
                                                         embedding=embedding),
                         metric="cosine", sample_size=40, random_state=topics.SILHOUETTE_SAMPLE_SEED)
        for s in (0, 1)
    ]
    assert scores.set_index("k").loc[3, "silhouette"] == pytest.approx(np.mean(expected))
    full = topics.k_scores(tfidf, [3], seeds=[0, 1])
    assert full.attrs["provenance"]["silhouette_n_texts"] == tfidf.matrix.shape[0]
    assert full.attrs["provenance"]["clustering_method"] == "KMeans"
    assert full.attrs["provenance"]["embedding_per_seed"] is True


def test_seed_agreement_records_the_method(tfidf):
    agreement = topics.seed_agreement(tfidf, k=3, seeds=[0, 1, 2], method="minibatch")
    assert agreement.attrs["provenance"]["clustering_method"] == "MiniBatchKMeans"
    assert (agreement["ari"] == 1.0).all()  # three well separated themes: every seed finds them


def test_cluster_paragraphs_reuses_a_tfidf(paragraphs, tfidf):
    built = topics.cluster_paragraphs(paragraphs, k=3, min_df=1, max_df=1.0)
    reused = topics.cluster_paragraphs(paragraphs, k=3, tfidf=tfidf)
    pd.testing.assert_frame_equal(built, reused)
    other = topics.build_tfidf(paragraphs["text"].tolist()[:-1], min_df=1, max_df=1.0)
    with pytest.raises(ValueError, match="para_id"):
        topics.cluster_paragraphs(paragraphs, k=3, tfidf=other)


def test_topic_table_reuses_terms_and_representatives(paragraphs):
    pt = topics.cluster_paragraphs(paragraphs, k=3, min_df=1, max_df=1.0)
    terms = topics.topic_terms(pt, paragraphs, n_terms=4)
    reps = topics.representative_paragraphs(pt, paragraphs, n=2)
    computed = topics.topic_table(pt, paragraphs, n_terms=4, n_representative=2)
    reused = topics.topic_table(pt, paragraphs, terms=terms, representatives=reps)
    pd.testing.assert_frame_equal(computed, reused)
    with pytest.raises(ValueError, match="terms"):
        topics.topic_table(pt, paragraphs, terms=terms.drop(columns="weight"), representatives=reps)


def test_keyness_max_terms_is_the_head_of_the_full_table(paragraphs):
    full = topics.keyness(paragraphs, min_count=2)
    head = topics.keyness(paragraphs, min_count=2, max_terms=3)
    expected = full[full["rank"] <= 3].reset_index(drop=True)
    pd.testing.assert_frame_equal(head, expected)
    assert head.groupby("group").size().eq(3).all()
    with pytest.raises(ValueError, match="max_terms"):
        topics.keyness(paragraphs, max_terms=0)


@pytest.mark.parametrize("max_terms", [1, 3, 20])
def test_keyness_top_terms_are_exactly_the_head_of_the_full_scoring(paragraphs, max_terms):
    # max_terms=1 and 3: every place over-uses that many terms, found among the terms it uses; 20: more than
    # any place over-uses, so every term is scored. Either way the rows are those of scoring every term.
    unfiltered = topics.keyness(paragraphs, min_count=2)
    left_out = sorted(set(unfiltered.loc[unfiltered["rank"] == 1, "term"]))  # each place's most over-used term
    full = topics.keyness(paragraphs, min_count=2, exclude=left_out)
    head = topics.keyness(paragraphs, min_count=2, exclude=left_out, max_terms=max_terms)
    over = full[full["g2"] > 0].groupby("group").size()
    assert (over >= 3).all() and (over < 20).all()
    pd.testing.assert_frame_equal(head, full[full["rank"] <= max_terms].reset_index(drop=True), check_exact=True)
    assert head.attrs == full.attrs and full.attrs["n_excluded_overused"] > 0


def test_keyness_exclude_leaves_the_other_rows_as_they_were_and_reranks_them(paragraphs):
    full = topics.keyness(paragraphs, min_count=2)
    left_out = ["防汛", "疫苗", "红色", "not a term"]
    table = topics.keyness(paragraphs, min_count=2, exclude=left_out)
    kept = full[~full["term"].isin(left_out)].reset_index(drop=True)
    kept["rank"] = kept.groupby("group").cumcount().astype("int64") + 1
    pd.testing.assert_frame_equal(table, kept)
    overused = int(((full["g2"] > 0) & full["term"].isin(left_out)).sum())
    assert overused > 0
    assert table.attrs["n_excluded_overused"] == overused
    assert "n_excluded_overused" not in full.attrs  # a table without exclude is as it was (attrs go into parquet)
    head = topics.keyness(paragraphs, min_count=2, exclude=left_out, max_terms=2)
    pd.testing.assert_frame_equal(head, kept[kept["rank"] <= 2].reset_index(drop=True))
    assert head.attrs["n_excluded_overused"] == overused
    with pytest.raises(TypeError, match="exclude"):
        topics.keyness(paragraphs, exclude="防汛")


def test_keyness_counts_add_up(paragraphs):
    table = topics.keyness(paragraphs, min_count=2)
    # For every term, target + reference is the same corpus count in every group.
    per_term = (table["n_target"] + table["n_reference"]).groupby(table["term"]).nunique()
    assert (per_term == 1).all()
    assert (table["total_target"] + table["total_reference"]).nunique() == 1


def test_similarity_pairs_match_the_square_matrix(paragraphs):
    texts = paragraphs.groupby("doc_id")["text"].agg("\n".join)
    square = topics.similarity_matrix(texts)
    pairs = topics.similarity_matrix(texts, form="pairs")
    n = len(square)
    assert len(pairs) == n * (n - 1) // 2
    assert (pairs["doc_a"] < pairs["doc_b"]).all()
    for row in pairs.itertuples():
        assert row.similarity == pytest.approx(square.loc[row.doc_a, row.doc_b])
    near = topics.similarity_matrix(texts, form="pairs", n_neighbors=1)
    for doc in square.index:
        others = square.loc[doc].drop(doc)
        best = others.sort_values(ascending=False, kind="stable").index[0]
        pair = tuple(sorted((doc, best)))
        assert ((near["doc_a"] == pair[0]) & (near["doc_b"] == pair[1])).any()
    assert len(near) <= n
    with pytest.raises(ValueError, match="form='pairs'"):
        topics.similarity_matrix(texts, n_neighbors=2)
    assert topics.similarity_matrix(texts, dtype=np.float32).to_numpy().dtype == np.float32


def test_topic_shares_top_pools_the_rest_by_counts(paragraphs):
    pt = topics.cluster_paragraphs(paragraphs, k=3, min_df=1, max_df=1.0)
    groups = {doc: doc for doc in pt["doc_id"].unique()}  # 9 reports
    top = topics.topic_shares_top(pt, groups, max_groups=4, rest_label="other {n} reports")
    chars = pt.groupby("doc_id")["n_chars"].sum()
    largest = sorted(chars.index, key=lambda d: (-chars[d], d))[:3]
    assert list(dict.fromkeys(top["unit"])) == [*largest, "other 6 reports"]
    assert top.attrs["n_rest"] == 6 and top.attrs["n_groups"] == 9
    rest = top[top["unit"] == "other 6 reports"]
    pooled = pt[~pt["doc_id"].isin(largest)]
    assert rest["n_chars"].sum() == pooled["n_chars"].sum()
    expected = pooled.groupby("topic")["n_chars"].sum() / pooled["n_chars"].sum()
    assert np.allclose(rest.set_index("topic")["share_chars"].reindex(expected.index), expected)
    assert top.groupby("unit")["share_chars"].sum().sub(1).abs().lt(1e-9).all()
    every = topics.topic_shares_top(pt, groups, max_groups=9)
    assert every.attrs["n_rest"] == 0 and every["unit"].nunique() == 9
    with pytest.raises(ValueError, match="no group"):
        topics.topic_shares_top(pt, {"d0": "x"}, max_groups=4)
    with pytest.raises(ValueError, match="max_groups"):
        topics.topic_shares_top(pt, groups, max_groups=1)


@pytest.fixture(scope="module")
def many_texts() -> list[str]:
    """2,400 distinct paragraphs of theme words (fixed seed): more than PROCESSES_MIN_TEXTS and CUT_BATCH_SIZE."""
    rng = random.Random(11)
    texts = {"，".join(rng.sample(THEMES[i % 3], 6)) + f"，第{i}次" for i in range(2400)}
    return sorted(texts)


def test_tfidf_k_scan_and_seed_check_are_the_same_in_two_processes(many_texts):
    from analysis import tokens

    assert len(many_texts) >= max(topics.PROCESSES_MIN_TEXTS, tokens.CUT_BATCH_SIZE + 1)
    one = topics.build_tfidf(many_texts, min_df=1, max_df=1.0, segmenter=tokens.Segmenter(), jobs=1)
    two = topics.build_tfidf(many_texts, min_df=1, max_df=1.0, segmenter=tokens.Segmenter(), jobs=2)
    assert (one.matrix != two.matrix).nnz == 0
    assert list(one.feature_names) == list(two.feature_names)
    scans = [topics.k_scores(one, [3, 4], [0, 1], method="minibatch", jobs=jobs) for jobs in (1, 2)]
    pd.testing.assert_frame_equal(*scans)
    assert scans[0].attrs == scans[1].attrs
    checks = [topics.seed_agreement(one, k=3, seeds=[0, 1, 2], method="minibatch", jobs=jobs) for jobs in (1, 2)]
    pd.testing.assert_frame_equal(*checks)
    # The scan is the runs it reports: seed 1 at k = 3 is the clustering of cluster_tfidf with that seed.
    labels = topics.cluster_tfidf(one, k=3, random_state=1, method="minibatch")
    reference = topics.cluster_tfidf(one, k=3, random_state=0, method="minibatch")
    assert checks[1].loc[checks[1]["seed"] == 1, "ari"].item() == pytest.approx(adjusted_rand_score(reference, labels))
