"""Tests of analysis.compare: geography pairs, permutation tests and place profiles (RQ4, synthesis)."""

from __future__ import annotations

import itertools
import json
import logging
import random

import numpy as np
import pandas as pd
import pytest

from analysis import compare, formulaic, paths

GOLD_CLEAN = paths.PROJECT_ROOT.parent / "shared" / "gold" / "clean"


@pytest.fixture(scope="module")
def gold_documents() -> pd.DataFrame:
    files = sorted(GOLD_CLEAN.glob("*.json"))
    if not files:
        pytest.skip(f"{GOLD_CLEAN} not found: gold annotations are needed for this test")
    rows = []
    for f in files:
        d = json.loads(f.read_text(encoding="utf-8"))
        rows.append({k: d[k] for k in ("doc_id", "place", "city", "province", "admin_level")})
    return pd.DataFrame(rows)


def _documents(cities: list[str], *, provinces: list[str] | None = None) -> pd.DataFrame:
    n = len(cities)
    return pd.DataFrame(
        {
            "doc_id": [f"r{i:02d}" for i in range(n)],
            "place": [f"{c}{i}区" for i, c in enumerate(cities)],
            "city": cities,
            "province": provinces or ["甲省"] * n,
            "admin_level": ["district"] * n,
        }
    )


def _matrix(values: np.ndarray, ids: list[str]) -> pd.DataFrame:
    values = (values + values.T) / 2
    np.fill_diagonal(values, 1.0)
    return pd.DataFrame(values, index=ids, columns=ids)


def _structured(
    groups: list[int], *, within: float = 0.8, between: float = 0.2, seed: int = 0
) -> pd.DataFrame:
    """Similarity high inside the given groups, low across them, plus small noise."""
    rng = np.random.default_rng(seed)
    g = np.asarray(groups)
    values = np.where(g[:, None] == g[None, :], within, between) + rng.normal(0, 0.02, (len(g), len(g)))
    return _matrix(values, [f"r{i:02d}" for i in range(len(g))])


# ---------------------------------------------------------------------------
# Geography


def test_geography_pairs_on_gold_metadata(gold_documents):
    pairs = compare.geography_pairs(gold_documents)
    assert len(pairs) == 10
    assert (pairs["doc_a"] < pairs["doc_b"]).all()
    counts = pairs[list(compare.RELATIONS)].sum().to_dict()
    # Three reports are in 郑州市 (3 pairs), four in 河南省 (6 pairs), four districts (6 pairs),
    # two on one district (1 pair): derived from the metadata, checked here against it.
    by = {col: gold_documents[col].value_counts() for col in compare.RELATION_COLUMNS.values()}
    for relation, column in compare.RELATION_COLUMNS.items():
        assert counts[relation] == int((by[column] * (by[column] - 1) // 2).sum())
    print("pairs per relation:", counts)
    # Same place implies same city, province and level.
    same_place = pairs[pairs["same_place"]]
    assert same_place[["same_city", "same_province", "same_level"]].all().all()


def test_geography_pairs_missing_metadata_is_na(caplog):
    docs = _documents(["甲市", "甲市", "乙市"])
    docs.loc[2, "city"] = None
    with caplog.at_level(logging.WARNING, logger="analysis.compare"):
        pairs = compare.geography_pairs(docs)
    assert bool(pairs["same_city"].iloc[0]) is True
    assert pairs["same_city"].isna().sum() == 2
    assert "lack 'city'" in caplog.text


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"doc_id": ["a", "b"]}), r"missing column\(s\)"),
        (_documents(["甲市"]), "fewer than two reports"),
        (pd.concat([_documents(["甲市"]), _documents(["乙市"])]), "doc_id 'r00' occurs more than once"),
    ],
)
def test_geography_pairs_bad_input(frame, match):
    with pytest.raises(ValueError, match=match):
        compare.geography_pairs(frame)


# ---------------------------------------------------------------------------
# Similarity tables


def test_similarity_pairs_square_and_long_agree():
    m = _structured([0, 0, 1, 1])
    long = compare.similarity_pairs(m)
    assert len(long) == 6 and (long["doc_a"] < long["doc_b"]).all()
    shuffled = long.sample(frac=1, random_state=0).rename(columns={"doc_a": "doc_b", "doc_b": "doc_a"})
    assert compare.similarity_pairs(shuffled).equals(long)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame([[1.0, 0.2], [0.3, 1.0]], index=["a", "b"], columns=["a", "b"]), "not symmetric"),
        (pd.DataFrame([[1.0, 0.2], [0.2, 1.0]], index=["a", "b"], columns=["a", "c"]), "square matrix"),
        (pd.DataFrame([[1.0, np.nan], [np.nan, 1.0]], index=["a", "b"], columns=["a", "b"]), "non-finite"),
        (
            pd.DataFrame({"doc_a": ["a", "b"], "doc_b": ["b", "a"], "similarity": [0.1, 0.1]}),
            "more than once",
        ),
        (pd.DataFrame({"doc_a": ["a"], "doc_b": ["b"], "similarity": ["x"]}), "finite number"),
    ],
)
def test_similarity_pairs_bad_input(frame, match):
    with pytest.raises(ValueError, match=match):
        compare.similarity_pairs(frame)


# ---------------------------------------------------------------------------
# Permutation test


def _brute_force_p(sim: pd.DataFrame, labels: list[str], alternative: str) -> float:
    """p-value over all n! permutations of the labels (each arrangement with its multiplicity)."""
    pairs = compare.similarity_pairs(sim)
    ids = list(sim.index)
    pos = {d: i for i, d in enumerate(ids)}
    ia, ib = pairs["doc_a"].map(pos).to_numpy(), pairs["doc_b"].map(pos).to_numpy()
    s = pairs["similarity"].to_numpy()

    def stat(lab):
        w = np.array([lab[i] == lab[j] for i, j in zip(ia, ib, strict=True)])
        return s[w].mean() - s[~w].mean()

    observed = stat(labels)
    stats = np.array([stat(p) for p in itertools.permutations(labels)])
    if alternative == "greater":
        hits = stats >= observed - 1e-12
    elif alternative == "less":
        hits = stats <= observed + 1e-12
    else:
        hits = np.abs(stats) >= abs(observed) - 1e-12
    return hits.mean()


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_p_value_matches_brute_force(alternative, seed):
    rng = np.random.default_rng(seed)
    cities = ["甲市", "甲市", "乙市", "甲市", "丙市"]
    docs = _documents(cities)
    sim = _matrix(rng.uniform(0, 1, (5, 5)), docs["doc_id"].tolist())
    result = compare.permutation_test(sim, docs, relation="same_city", alternative=alternative)
    assert result.method == "exact"
    assert result.n_permutations == 20  # 5! / (3! 1! 1!)
    assert result.p_value == pytest.approx(_brute_force_p(sim, cities, alternative))
    assert result.n_pairs == 10 and result.n_within == 3 and result.n_between == 7


def test_structured_case_gives_small_p():
    groups = [0, 0, 0, 0, 1, 1, 1, 1]
    docs = _documents(["甲市" if g == 0 else "乙市" for g in groups])
    result = compare.permutation_test(_structured(groups), docs, relation="same_city")
    print("structured 4+4:", result.p_value, result.min_p_value, result.method)
    assert result.method == "exact" and result.n_permutations == 70
    # The observed split and its mirror image are the two most extreme of the 70 arrangements.
    assert result.p_value == pytest.approx(2 / 70)
    assert result.p_value == result.min_p_value
    assert result.statistic > 0.5 and result.mean_within > result.mean_between


def test_shuffled_labels_give_large_p():
    groups = [0, 0, 0, 0, 1, 1, 1, 1]
    # Labels that cut across the structure: each city has two reports of each similarity group.
    docs = _documents(["甲市", "乙市", "甲市", "乙市", "甲市", "乙市", "甲市", "乙市"])
    result = compare.permutation_test(_structured(groups), docs, relation="same_city")
    print("shuffled 4+4:", result.p_value)
    assert result.statistic < 0 and result.p_value > 0.5
    # No structure at all: every arrangement is as extreme as the observed one.
    flat = _matrix(np.full((8, 8), 0.3), docs["doc_id"].tolist())
    assert compare.permutation_test(flat, docs, relation="same_city").p_value == pytest.approx(1.0)


def test_monte_carlo_agrees_with_exact_and_is_seeded():
    rng = np.random.default_rng(7)
    cities = ["甲市", "甲市", "乙市", "乙市", "乙市", "丙市", "丙市"]
    docs = _documents(cities)
    sim = _matrix(rng.uniform(0, 1, (7, 7)), docs["doc_id"].tolist())
    exact = compare.permutation_test(sim, docs)
    mc = compare.permutation_test(sim, docs, max_exact=1, n_permutations=9999, random_state=3)
    print(
        f"exact p {exact.p_value:.4f} ({exact.n_permutations} arrangements), Monte Carlo p {mc.p_value:.4f}"
    )
    assert exact.method == "exact" and mc.method == "monte_carlo" and mc.n_permutations == 9999
    assert abs(mc.p_value - exact.p_value) < 0.02  # 4 binomial standard errors at m = 9999
    again = compare.permutation_test(sim, docs, max_exact=1, n_permutations=9999, random_state=3)
    assert again == mc


def test_large_structured_case_uses_monte_carlo():
    groups = [g for g in range(3) for _ in range(5)]
    docs = _documents([f"{'甲乙丙'[g]}市" for g in groups])
    result = compare.permutation_test(_structured(groups), docs, n_permutations=999)
    assert result.method == "monte_carlo"  # 15! / (5!)^3 = 756756 > MAX_EXACT_PERMUTATIONS
    assert result.p_value == pytest.approx(1 / 1000)
    assert result.caveat == ""  # 15 reports: no small-sample caveat


def test_gold_corpus_caveat_states_the_smallest_p(gold_documents):
    ids = gold_documents["doc_id"].tolist()
    rng = np.random.default_rng(0)
    sim = _matrix(rng.uniform(0, 1, (5, 5)), ids)
    result = compare.permutation_test(sim, gold_documents, relation="same_city")
    assert result.n_documents == 5 and result.method == "exact"
    assert result.min_p_value >= 1 / result.n_permutations
    assert "Only 5 reports" in result.caveat and f"{result.min_p_value:.3g}" in result.caveat
    table = compare.permutation_tests(sim, gold_documents)
    assert table["relation"].tolist() == list(compare.RELATIONS)
    assert table["p_value"].between(0, 1).all()
    print(
        table[["relation", "n_within", "statistic", "p_value", "min_p_value", "n_permutations"]].to_string()
    )


def test_untestable_relation_is_reported_not_raised(caplog):
    docs = _documents(["甲市", "乙市", "丙市", "丁市"])  # one province: no between-province pair
    sim = _structured([0, 1, 2, 3])
    with pytest.raises(ValueError, match="no between-group pair for relation 'same_province'"):
        compare.permutation_test(sim, docs, relation="same_province")
    with caplog.at_level(logging.WARNING, logger="analysis.compare"):
        table = compare.permutation_tests(sim, docs, relations=["same_city", "same_province"])
    row = table.set_index("relation").loc["same_province"]
    assert (
        row["method"] == "not_testable" and np.isnan(row["p_value"]) and "no between-group" in row["caveat"]
    )
    assert "no between-group" in caplog.text


def test_reports_without_label_are_excluded_with_warning(caplog):
    docs = _documents(["甲市", "甲市", "乙市", "乙市", "丙市"])
    docs.loc[4, "city"] = None
    with caplog.at_level(logging.WARNING, logger="analysis.compare"):
        result = compare.permutation_test(_structured([0, 0, 1, 1, 2]), docs)
    assert result.excluded_doc_ids == ("r04",) and result.n_documents == 4
    assert "left out" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"relation": "same_country"}, "`relation` value 'same_country' is invalid"),
        ({"alternative": "bigger"}, "`alternative` value 'bigger' is invalid"),
        ({"n_permutations": 0}, "`n_permutations` must be a positive integer"),
        ({"random_state": None}, "`random_state` must be an integer"),
    ],
)
def test_permutation_test_bad_options(kwargs, match):
    docs = _documents(["甲市", "甲市", "乙市"])
    with pytest.raises(ValueError, match=match):
        compare.permutation_test(_structured([0, 0, 1]), docs, **kwargs)


def test_permutation_test_mismatched_reports():
    docs = _documents(["甲市", "甲市", "乙市", "乙市"])
    sim = _structured([0, 0, 1])
    with pytest.raises(ValueError, match=r"report\(s\) \['r03'\] that are not in `similarity`"):
        compare.permutation_test(sim, docs)
    with pytest.raises(ValueError, match=r"report\(s\) \['r03'\] that are not in `documents`"):
        compare.permutation_test(_structured([0, 0, 1, 1]), docs.iloc[:3])


# ---------------------------------------------------------------------------
# Place profiles


def _inputs():
    topics = pd.DataFrame(
        {"place": ["甲区", "甲区", "乙区"], "topic": ["宣讲", "办实事", "宣讲"], "share": [0.6, 0.4, 1.0]}
    )
    metrics = pd.DataFrame(
        {
            "place": ["甲区", "甲区", "乙区"],
            "category": ["outreach", "service", "outreach"],
            "n_mentions": [3, 1, 2],
            "per_1000_members": [np.nan, 2.5, np.nan],
        }
    )
    shares = pd.DataFrame(
        {"place": ["甲区"] * 4, "kind": list(formulaic.KINDS), "share": [0.1, 0.05, 0.15, 0.7]}
    )
    keyness = pd.DataFrame(
        {
            "place": ["甲区", "甲区", "甲区", "乙区"],
            "term": ["防汛", "抗疫", "乡村", "企业"],
            "g2": [12.0, 8.0, -3.0, 5.0],
        }
    )
    return topics, metrics, shares, keyness


def test_place_profiles_table():
    topics, metrics, shares, keyness = _inputs()
    out = compare.place_profiles(topics, metrics, shares, keyness, top_terms=1)
    assert list(out.columns) == ["place", "dimension", "item", "value", "rank"]
    a = out[out["place"] == "甲区"]
    assert a["dimension"].unique().tolist() == list(compare.DIMENSIONS)
    assert a[a["dimension"] == "topic_share"][["item", "rank"]].to_numpy().tolist() == [
        ["宣讲", 1],
        ["办实事", 2],
    ]
    assert a[a["dimension"] == "metric_share"]["value"].tolist() == pytest.approx([0.75, 0.25])
    assert a[a["dimension"] == "metric_per_1000_members"][["item", "value"]].to_numpy().tolist() == [
        ["service", 2.5]
    ]
    assert a[a["dimension"] == "keyness_g2"]["item"].tolist() == ["防汛"]  # top 1, negative g2 never kept
    b = out[out["place"] == "乙区"]
    assert "formulaic_share" not in set(b["dimension"]) and "metric_per_1000_members" not in set(
        b["dimension"]
    )
    summary = compare.place_summary(out)
    row = summary.set_index("place").loc["甲区"]
    assert (
        row["top_topic"] == "宣讲"
        and row["n_metric_mentions"] == 4
        and row["top_metric_category"] == "outreach"
    )
    assert row["formulaic_share"] == pytest.approx(0.3) and row["top_terms"] == "防汛"
    assert np.isnan(summary.set_index("place").loc["乙区", "formulaic_share"])
    # Deterministic whatever the input row order.
    again = compare.place_profiles(topics[::-1], metrics[::-1], shares[::-1], keyness[::-1], top_terms=1)
    assert again.equals(out)


def test_place_profiles_accepts_formulaic_output(_toy_paragraphs):
    shares = formulaic.formulaic_shares(_toy_paragraphs).places
    out = compare.place_profiles(formulaic_shares=shares)
    sums = out.groupby("place")["value"].sum()
    assert sums.to_numpy() == pytest.approx(1.0)


@pytest.fixture
def _toy_paragraphs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_id": ["a", "b"],
            "para_id": ["a:p000", "b:p000"],
            "place": ["甲区", "乙区"],
            "text": ["坚持学党史、悟思想,落实“三会一课”制度。", "深入开展我为群众办实事实践活动。"],
        }
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ValueError, "no table given"),
        (
            {"topic_shares": pd.DataFrame({"place": ["甲区"], "share": [0.5]})},
            ValueError,
            r"`topic_shares` is missing column\(s\) \['topic'\]",
        ),
        (
            {"topic_shares": pd.DataFrame({"place": ["甲区"], "topic": ["a"], "share": [1.5]})},
            ValueError,
            r"finite number in \[0, 1\]",
        ),
        (
            {"metric_counts": pd.DataFrame({"place": ["甲区"], "category": ["a"], "n_mentions": [-1]})},
            ValueError,
            "n_mentions",
        ),
        (
            {
                "formulaic_shares": pd.DataFrame(
                    {"place": ["", "甲区"], "kind": ["local", "slogan"], "share": [1.0, 0.0]}
                )
            },
            ValueError,
            "non-empty strings",
        ),
        (
            {"keyness": pd.DataFrame({"place": ["甲区", "甲区"], "term": ["x", "x"], "g2": [1.0, 2.0]})},
            ValueError,
            "appears more than once",
        ),
        ({"keyness": [("甲区", "x", 1.0)]}, TypeError, "must be a pandas DataFrame"),
    ],
)
def test_place_profiles_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        compare.place_profiles(**kwargs)


def test_place_profiles_per_1000_by_unit():
    topics, metrics, _shares, _keyness = _inputs()
    scale = pd.DataFrame(
        {
            "place": ["甲区", "甲区", "乙区"],
            "category": ["audience", "audience", "outreach"],
            "unit": ["人次", "人", "场"],
            "per_1000_members": [120.5, 3.0, np.nan],
        }
    )
    out = compare.place_profiles(topics, metrics.drop(columns="per_1000_members"), per_1000_members=scale)
    rows = out[out["dimension"] == "metric_per_1000_members"]
    # Units are never merged; a missing scale (no membership stated) gives no row.
    assert rows[["place", "item", "value", "rank"]].to_numpy().tolist() == [
        ["甲区", "audience (人次)", 120.5, 1],
        ["甲区", "audience (人)", 3.0, 2],
    ]
    with pytest.raises(ValueError, match="not both"):
        compare.place_profiles(topics, metrics, per_1000_members=scale)
    with pytest.raises(ValueError, match="unit"):
        compare.place_profiles(per_1000_members=scale.drop(columns="unit"))
    with pytest.raises(ValueError, match="per_1000_members"):
        compare.place_profiles(per_1000_members=scale.assign(per_1000_members=[-1.0, 2.0, 3.0]))


def test_place_synthesis_is_computed_from_the_summary():
    topics, metrics, shares, keyness = _inputs()
    shares_b = shares.assign(place="乙区", share=[0.05, 0.0, 0.05, 0.9])
    out = compare.place_profiles(topics, metrics, pd.concat([shares, shares_b]), keyness, top_terms=2)
    summary = compare.place_summary(out)
    text = compare.place_synthesis(summary, n_documents={"甲区": 2, "乙区": 1}).set_index("place")["text"]
    a, b = text["甲区"], text["乙区"]
    assert a.startswith("甲区: 2 report(s); its largest topic is 宣讲 (60% of its text")
    assert "also the largest topic of 1 other place(s)" in a
    assert "4 metric mentions, most often outreach" in a and "30%" in a and "the highest of the 2 places" in a
    assert "防汛、抗疫" in a
    assert "10%" in b and "the lowest of the 2 places" in b and "2 metric mentions" in b
    # The text follows the data: change a value and the sentence changes.
    changed = summary.assign(formulaic_share=[0.5, 0.3])
    again = compare.place_synthesis(changed).set_index("place")["text"]
    assert "50%" in again["乙区"] and "the highest" in again["乙区"]
    with pytest.raises(ValueError, match="top_terms"):
        compare.place_synthesis(summary.drop(columns="top_terms"))


def test_place_synthesis_counts_and_ranks_against_every_other_place():
    # 40 places with tied topics and shares and some unknowns: each sentence's count and rank, recomputed
    # here place by place against all the others.
    rng = np.random.default_rng(3)
    shares = rng.choice([0.1, 0.2, 0.2, 0.35, np.nan, 0.5], size=40)
    summary = pd.DataFrame({
        "place": [f"第{i:02d}区" for i in range(40)],
        "top_topic": rng.choice(["宣讲", "防汛", "疫情", None], size=40),
        "top_topic_share": 0.4, "n_metric_mentions": 1.0, "top_metric_category": "outreach",
        "formulaic_share": shares, "top_terms": "",
    })
    text = compare.place_synthesis(summary).set_index("place")["text"]
    known = summary["formulaic_share"].dropna()
    for row in summary.itertuples(index=False):
        others = summary[summary["place"] != row.place]
        if not pd.isna(row.top_topic):
            shared = int((others["top_topic"] == row.top_topic).sum())
            assert (f"also the largest topic of {shared} other place(s)" if shared else "no other place's largest") \
                in text[row.place]
        if not np.isnan(row.formulaic_share):
            if row.formulaic_share == known.max():
                expected = f"the highest of the {len(known)} places"
            elif row.formulaic_share == known.min():
                expected = f"the lowest of the {len(known)} places"
            else:
                expected = f"rank {int((known > row.formulaic_share).sum()) + 1} of {len(known)} places"
            assert expected in text[row.place], (row.place, text[row.place])


# ---------------------------------------------------------------- prose labels naming documents


def test_document_labels_name_place_and_a_distinguishing_doc_id_prefix():
    docs = pd.DataFrame({
        "doc_id": ["000_418f3820d632331f", "003_35e05e034bbb9e82", "003_35e0ffff", "short"],
        "place": ["中原区", "中原区", "金水区", None],
    })
    labels = compare.document_labels(docs)
    assert labels["000_418f3820d632331f"] == "中原区 · 000_418f…"
    # Two ids sharing the first 8 characters get longer prefixes, so they stay apart.
    assert labels["003_35e05e034bbb9e82"] == "中原区 · 003_35e05…"
    assert labels["003_35e0ffff"] == "金水区 · 003_35e0f…"
    assert labels["short"] == "unknown place · short"
    assert len(set(labels.values())) == len(docs)
    assert compare.document_labels(docs, min_id_chars=30)["000_418f3820d632331f"] == "中原区 · 000_418f3820d632331f"


def test_document_labels_cut_each_doc_id_as_the_one_by_one_search_does():
    # Reference: lengthen the prefix until no other doc_id starts with it (one id a prefix of another included).
    rng = random.Random(3)
    ids = sorted({"".join(rng.choice("ab0") for _ in range(rng.randint(1, 12))) for _ in range(300)})
    docs = pd.DataFrame({"doc_id": ids[::-1], "place": "中原区"})
    for min_id_chars in (1, 3, 8):
        expected = {}
        for doc_id in ids:
            n = min_id_chars
            while n < len(doc_id) and any(o != doc_id and o.startswith(doc_id[:n]) for o in ids):
                n += 1
            expected[doc_id] = "中原区 · " + (doc_id if n >= len(doc_id) else doc_id[:n] + "…")
        assert compare.document_labels(docs, min_id_chars=min_id_chars) == expected


def test_document_labels_reject_bad_input():
    with pytest.raises(ValueError, match="more than once"):
        compare.document_labels(pd.DataFrame({"doc_id": ["a", "a"], "place": ["x", "y"]}))
    with pytest.raises(ValueError, match="min_id_chars"):
        compare.document_labels(pd.DataFrame({"doc_id": ["a"], "place": ["x"]}), min_id_chars=0)
    with pytest.raises(ValueError, match="place"):
        compare.document_labels(pd.DataFrame({"doc_id": ["a"]}))


def test_pair_text_names_both_documents_of_the_extreme_pairs():
    docs = pd.DataFrame({"doc_id": ["000_aaaaaaaa", "001_bbbbbbbb", "002_cccccccc"],
                         "place": ["中原区", "中原区", "金水区"]})
    sim = pd.DataFrame([[1.0, 0.2, 0.05], [0.2, 1.0, 0.1], [0.05, 0.1, 1.0]],
                       index=docs["doc_id"], columns=docs["doc_id"])
    pairs = compare.similarity_pairs(sim)
    labels = compare.document_labels(docs)
    most = compare.pair_text(pairs.loc[pairs["similarity"].idxmax()], labels)
    least = compare.pair_text(pairs.loc[pairs["similarity"].idxmin()], labels)
    assert most == "0.20 (中原区 · 000_aaaa… / 中原区 · 001_bbbb…)"
    assert least == "0.05 (中原区 · 000_aaaa… / 金水区 · 002_cccc…)"
    assert compare.pair_text({"doc_a": "x", "doc_b": "y", "g": 1.234}, {}, value="g") == "1.23 (x / y)"
    with pytest.raises(KeyError, match="similarity"):
        compare.pair_text({"doc_a": "x", "doc_b": "y"}, labels)
