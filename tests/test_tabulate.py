"""Tests of analysis.tabulate."""

from __future__ import annotations

import random
from decimal import Decimal

import pandas as pd
import pytest

from analysis import metrics, numerals, tabulate
from analysis.records import Paragraph, Span


def frame(texts: dict[str, str]) -> pd.DataFrame:
    paras = [Paragraph(f"{d}:p000", d, 0, t, (Span(0, 0, len(t)),)) for d, t in texts.items()]
    return metrics.mentions_to_frame(metrics.extract_metric_mentions(paras))


TEXTS = {
    "a": "甲区共有党员2000名。全区开展宣讲50场,受众3000人次,2000余名党员参加;每月宣讲2场。",
    "b": "乙区开展宣讲30场,受众1000人次。",
}
DOCS = pd.DataFrame({"doc_id": ["a", "b"], "place": ["甲区", "乙区"]})


def test_counts_cover_every_category():
    counts = tabulate.mention_counts(frame(TEXTS), DOCS)
    assert len(counts) == 2 * 10  # nine categories of DESIGN.md and the fallback `other`
    assert list(counts["category"].unique()) == list(metrics.METRIC_CATEGORIES)
    a = counts.set_index(["place", "category"])["n_mentions"]
    assert a[("乙区", "outreach")] == 1 and a[("乙区", "audience")] == 1


def test_totals_never_mix_units_or_add_rates():
    totals = tabulate.metric_totals(frame(TEXTS), DOCS)
    a = totals[totals["place"] == "甲区"].set_index(["category", "unit"])
    assert a.loc[("outreach", "场"), "total"] == "50"  # the rate 每月2场 is not added
    assert ("audience", "人次") in a.index and ("audience", "名") in a.index
    assert bool(a.loc[("audience", "名"), "approximate"]) is True
    assert bool(a.loc[("audience", "人次"), "approximate"]) is False


def test_per_1000_members_uses_stated_membership():
    per = tabulate.metrics_per_1000_members(frame(TEXTS), DOCS)
    assert set(per["place"]) == {"甲区"}
    row = per[(per["category"] == "outreach") & (per["unit"] == "场")].iloc[0]
    assert row["members"] == "2000" and row["per_1000_members"] == 25.0
    assert "2000名" in row["members_sentence"]


def test_long_table_has_place_and_sentence():
    long = tabulate.metrics_long(frame(TEXTS), DOCS)
    assert list(long.columns[:2]) == ["place", "doc_id"] and long["sentence"].str.len().min() > 0


def test_unknown_place_is_an_error():
    with pytest.raises(ValueError, match="no place for doc_id"):
        tabulate.mention_counts(frame(TEXTS), DOCS.iloc[:1])


def test_write_is_byte_identical(tmp_path):
    df = frame(TEXTS)
    tabulate.write_metric_tables(df, tmp_path)
    first = [(tmp_path / n).read_bytes() for n in ("metrics.csv", "metrics.parquet")]
    tabulate.write_metric_tables(df, tmp_path)
    assert first == [(tmp_path / n).read_bytes() for n in ("metrics.csv", "metrics.parquet")]
    header = first[0].decode("utf-8-sig").splitlines()[0].split(",")  # CSV copies carry a BOM (storage)
    assert header[: len(metrics.METRIC_COLUMNS)] == metrics.METRIC_COLUMNS
    assert ",false," in first[0].decode() and ",true," in first[0].decode()


def test_indicator_places_shared_and_unique():
    texts = {**TEXTS, "c": "丙区发放慰问金5万元,开展宣讲8场。"}
    docs = pd.DataFrame({"doc_id": ["a", "b", "c"], "place": ["甲区", "乙区", "丙区"]})
    ind = tabulate.indicator_places(frame(texts), docs).set_index(["category", "unit"])
    assert ind.loc[("outreach", "场"), "scope"] == "all" and ind.loc[("outreach", "场"), "n_places"] == 3
    assert ind.loc[("audience", "人次"), "scope"] == "shared"
    assert ind.loc[("audience", "人次"), "places"] == "乙区; 甲区"
    unique = ind[ind["scope"] == "unique"]
    assert len(unique) >= 1 and (unique["n_places"] == 1).all()
    assert ind["n_places"].is_monotonic_decreasing


def test_totals_are_the_per_group_decimal_sums(tmp_path):
    # Reference: one pandas group at a time, as the table is defined (exact decimal sum, any inexact part).
    rng = random.Random(5)
    n = 400
    df = pd.DataFrame({
        "doc_id": [rng.choice("abcd") for _ in range(n)], "start": range(n), "end": range(1, n + 1),
        "surface": "x", "value": [rng.choice(["3", "0.5", "12000", "1.25", "7"]) for _ in range(n)],
        "unit": [rng.choice(["场", "人次", "名", "%", None]) for _ in range(n)],
        "qualifier": [rng.choice(["exact"] * 9 + ["approx"]) for _ in range(n)],
        "is_rate": [rng.random() < 0.1 for _ in range(n)], "counted": "宣讲",
        "category": [rng.choice(["outreach", "audience", "membership"]) for _ in range(n)],
    })
    docs = pd.DataFrame({"doc_id": list("abcd"), "place": ["乙区", "甲区", "乙区", "丙县"]})
    tabulate.write_metric_tables(df, tmp_path)
    for mentions in (df, tabulate.read_metric_tables(tmp_path)):
        for by in ("place", "doc_id"):
            table = tabulate.metric_totals(mentions, docs, by=by)
            merged = mentions.merge(docs, on="doc_id")
            merged = merged[~merged["is_rate"].astype(str).str.lower().eq("true")]
            expected = [
                (key, category, unit, len(g), numerals.format_decimal(sum(map(Decimal, g["value"].astype(str)))),
                 bool((g["qualifier"] != "exact").any()))
                for (key, category, unit), g in merged.groupby([by, "category", "unit"], sort=True)
            ]
            assert list(table.itertuples(index=False, name=None)) == expected
            assert table["approximate"].any() and not table["approximate"].all()
    empty = tabulate.metric_totals(df[df["is_rate"] & ~df["is_rate"]], docs)
    assert empty.empty and list(empty.columns) == ["place", "category", "unit", "n_mentions", "total", "approximate"]


def test_totals_additive_only_leaves_out_percentages():
    texts = {"a": "甲区生产总值增长10.8%,固定资产投资增长18.8%,开展宣讲50场。"}
    docs = pd.DataFrame({"doc_id": ["a"], "place": ["甲区"]})
    every = tabulate.metric_totals(frame(texts), docs)
    additive = tabulate.metric_totals(frame(texts), docs, additive_only=True)
    assert "%" in set(every["unit"]) and "%" not in set(additive["unit"])
    assert set(additive["unit"]) == set(every["unit"]) - {"%"}


def test_metrics_table_round_trip_keeps_is_rate(tmp_path):
    from analysis import tabulate as tab

    df = pd.DataFrame(
        {
            "doc_id": ["d", "d"], "start": [0, 5], "end": [3, 8], "surface": ["3场", "8场"],
            "value": ["3", "8"], "unit": ["场", "场"], "qualifier": ["exact", "exact"],
            "is_rate": [False, True], "counted": ["宣讲", "宣讲"], "category": ["outreach", "outreach"],
        }
    )
    tab.write_metric_tables(df, tmp_path)
    back = tab.read_metric_tables(tmp_path)
    assert back["is_rate"].tolist() == [False, True]
    docs = pd.DataFrame({"doc_id": ["d"], "place": ["某区"]})
    totals = tab.metric_totals(back, docs)
    assert totals["total"].tolist() == ["3"]  # the rate is left out, the string "false" is not read as a rate


def test_mention_density_per_place():
    from analysis import tabulate as tab

    mentions = pd.DataFrame(
        {"doc_id": ["a", "a", "b"], "start": [0, 5, 0], "end": [2, 7, 2], "surface": ["3场", "4场", "5场"],
         "value": ["3", "4", "5"], "unit": ["场"] * 3, "qualifier": ["exact"] * 3, "is_rate": [False] * 3,
         "counted": ["宣讲"] * 3, "category": ["outreach"] * 3}
    )
    docs = pd.DataFrame({"doc_id": ["a", "b", "c"], "place": ["甲区", "甲区", "乙区"], "n_chars": [1000, 1000, 500]})
    out = tab.mention_density(mentions, docs).set_index("place")
    assert out.loc["甲区", "n_reports"] == 2 and out.loc["甲区", "mentions_per_1000_chars"] == 1.5
    assert out.loc["乙区", "n_mentions"] == 0 and out.loc["乙区", "mentions_per_1000_chars"] == 0
