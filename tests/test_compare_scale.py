"""Tests of analysis.compare at scale: group-sum permutation tests, unit similarity, sampled pairs (RQ4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import compare


@pytest.fixture(scope="module")
def toy() -> tuple[np.ndarray, list[str], pd.DataFrame]:
    """60 reports on 12 places in 4 cities; reports of one city lean to their own terms (a real city effect)."""
    rng = np.random.default_rng(0)
    n = 60
    ids = [f"d{i:02d}" for i in range(n)]
    city = [i % 12 // 3 for i in range(n)]
    vectors = rng.random((n, 40)) ** 4
    for i, c in enumerate(city):
        vectors[i, 10 * c : 10 * c + 10] += 0.6
    docs = pd.DataFrame({
        "doc_id": ids, "place": [f"p{i % 12:02d}" for i in range(n)], "city": [f"c{c}" for c in city],
        "province": [f"v{i % 12 // 6}" for i in range(n)], "admin_level": ["district", "county"] * (n // 2),
    })
    return vectors, ids, docs


def _square(vectors: np.ndarray, ids: list[str]) -> pd.DataFrame:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return pd.DataFrame(unit @ unit.T, index=ids, columns=ids)


@pytest.mark.parametrize("relation", ["same_city", "same_province", "same_level", "same_place"])
def test_group_sums_give_the_pairwise_statistic(toy, relation):
    vectors, ids, docs = toy
    pairwise = compare.permutation_test(_square(vectors, ids), docs, relation=relation, n_permutations=199, max_exact=1)
    scaled = compare.vector_permutation_test(vectors, ids, docs, relation=relation, n_permutations=199)
    assert scaled.method == "monte_carlo_group_sums"
    assert (scaled.n_within, scaled.n_between) == (pairwise.n_within, pairwise.n_between)
    assert scaled.statistic == pytest.approx(pairwise.statistic, abs=1e-12)
    assert scaled.mean_within == pytest.approx(pairwise.mean_within, abs=1e-12)


def test_a_planted_city_effect_is_found_and_a_shuffled_one_is_not(toy):
    vectors, ids, docs = toy
    found = compare.vector_permutation_test(vectors, ids, docs, relation="same_city", n_permutations=199)
    assert found.p_value == pytest.approx(1 / 200)
    by_place = compare.vector_permutation_test(vectors, ids, docs, relation="same_city", unit="place", n_permutations=199)
    assert by_place.method == "monte_carlo_group_sums_places" and by_place.n_documents == 12
    assert by_place.p_value < 0.05
    shuffled = docs.assign(city=docs["city"].sample(frac=1, random_state=3).to_numpy())
    shuffled["city"] = shuffled.groupby("place")["city"].transform("first")
    null = compare.vector_permutation_test(vectors, ids, shuffled, relation="same_city", unit="place", n_permutations=199)
    assert null.p_value > by_place.p_value


def test_vector_tests_are_deterministic_and_record_the_unit(toy):
    vectors, ids, docs = toy
    a = compare.vector_permutation_tests(vectors, ids, docs, unit="place", n_permutations=99, random_state=5)
    b = compare.vector_permutation_tests(vectors, ids, docs, unit="place", n_permutations=99, random_state=5)
    pd.testing.assert_frame_equal(a, b)
    assert (a["unit"] == "place").all()
    assert a.set_index("relation").at["same_place", "method"] == "not_testable"


def test_vector_tests_in_two_processes_give_the_same_table(toy):
    # Each relation's permutations are split over the two processes; the rows and their order must not depend on it.
    vectors, ids, docs = toy
    one = compare.vector_permutation_tests(vectors, ids, docs, n_permutations=99, random_state=2, jobs=1)
    two = compare.vector_permutation_tests(vectors, ids, docs, n_permutations=99, random_state=2, jobs=2)
    pd.testing.assert_frame_equal(one, two)
    assert list(two["relation"]) == list(compare.RELATIONS)
    assert two.set_index("relation").at["same_city", "p_value"] == pytest.approx(1 / 100)


def test_unit_similarity_is_the_cosine_of_centroids(toy):
    vectors, ids, docs = toy
    sim = compare.unit_similarity(vectors, ids, docs, unit="city")
    assert list(sim.index) == ["c0", "c1", "c2", "c3"] == list(sim.columns)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    c0 = unit[docs["city"] == "c0"].sum(axis=0)
    c1 = unit[docs["city"] == "c1"].sum(axis=0)
    assert sim.at["c0", "c1"] == pytest.approx(c0 @ c1 / np.linalg.norm(c0) / np.linalg.norm(c1))
    assert sim.attrs["n_documents"] == {"c0": 15, "c1": 15, "c2": 15, "c3": 15}
    with pytest.raises(ValueError, match="unit"):
        compare.unit_similarity(vectors, ids, docs, unit="county")


def test_sampled_pairs_are_distinct_exact_and_seeded(toy):
    vectors, ids, _ = toy
    sample = compare.sampled_pairs(vectors, ids, n_pairs=300, random_state=1)
    assert len(sample) == 300 and not sample.duplicated(["doc_a", "doc_b"]).any()
    assert (sample["doc_a"] < sample["doc_b"]).all()
    full = compare.similarity_pairs(_square(vectors, ids)).set_index(["doc_a", "doc_b"])["similarity"]
    got = sample.set_index(["doc_a", "doc_b"])["similarity"]
    np.testing.assert_allclose(got.to_numpy(), full.loc[got.index].to_numpy())
    pd.testing.assert_frame_equal(sample, compare.sampled_pairs(vectors, ids, n_pairs=300, random_state=1))
    assert not sample.equals(compare.sampled_pairs(vectors, ids, n_pairs=300, random_state=2))
    assert len(compare.sampled_pairs(vectors, ids, n_pairs=10**6)) == 60 * 59 // 2


def test_pairs_geography_agrees_with_the_all_pairs_table(toy):
    vectors, ids, docs = toy
    sample = compare.sampled_pairs(vectors, ids, n_pairs=50)
    geo = compare.pairs_geography(sample, docs)
    every = compare.geography_pairs(docs).set_index(["doc_a", "doc_b"])
    expected = every.loc[list(zip(sample["doc_a"], sample["doc_b"], strict=True)), list(compare.RELATIONS)]
    assert (geo[list(compare.RELATIONS)].to_numpy() == expected.to_numpy()).all()


def test_bad_input(toy):
    vectors, ids, docs = toy
    with pytest.raises(ValueError, match="rows"):
        compare.vector_permutation_test(vectors[:5], ids, docs)
    with pytest.raises(ValueError, match="not in `documents`"):
        compare.vector_permutation_test(vectors, [*ids[:-1], "zz"], docs)
    with pytest.raises(ValueError, match="several city"):  # not testable (a ValueError)
        compare.vector_permutation_test(vectors, ids, docs.assign(place="p"), unit="place")
    with pytest.raises(ValueError, match="n_pairs"):
        compare.sampled_pairs(vectors, ids, n_pairs=0)
