"""Tests of analysis.corpus: corpus tables, rebuilding paragraphs from them, raw-map checks."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis import corpus, metrics, paths
from analysis.errors import InputError
from analysis.records import Paragraph, Span

SYNTHETIC = {
    "aa_report": "金水区推进党史学习教育\n\n本报讯 金水区组建宣讲团12个,开展宣讲300余场,发挥烈士\n\n陵园作用。\n\n记者 王某某\n",
    "bb_report": "乙区学党史办实事\n\n乙区收集群众诉求1200条,办结实事85件。\n",
}


@pytest.fixture(scope="module")
def cleaned() -> corpus.CleanCorpus:
    return corpus.clean_corpus(paths.RAW_DIR)


@pytest.fixture(scope="module")
def tables(cleaned, tmp_path_factory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("processed")
    corpus.write_corpus_tables(cleaned, out)
    return {
        "documents": corpus.read_documents(out),
        "paragraphs": corpus.read_paragraphs(out),
        "headings": corpus.read_headings(out),
        "dir": out,
    }


@pytest.fixture()
def synthetic_dir(tmp_path):
    for name, text in SYNTHETIC.items():
        (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
    return tmp_path


def test_paragraph_records_round_trip_the_cleaned_paragraphs(cleaned, tables):
    rebuilt = corpus.paragraph_records(tables["paragraphs"])
    original = sorted((p for d in cleaned.documents for p in d.paragraphs), key=lambda p: p.para_id)
    assert len(rebuilt) == len(original)
    assert list(rebuilt) == original  # same text, spans, section, flags


def test_headings_table_round_trips_titles_and_headings(cleaned, tables):
    rebuilt = corpus.paragraph_records(tables["headings"])
    original = sorted((p for d in cleaned.documents for p in d.heading_paragraphs()), key=lambda p: p.para_id)
    assert list(rebuilt) == original
    n_expected = sum(bool(d.title) + bool(d.subtitle) + len(d.sections) for d in cleaned.documents)
    assert len(rebuilt) == n_expected  # every title, subtitle and heading has its raw span map
    raw = corpus.read_raw_texts(paths.RAW_DIR)
    for record in rebuilt:
        assert record.para_id.split(":")[-1] in ("title", "subtitle") or record.flags == ("heading",)
        for span in record.spans:  # same length in raw; characters equal up to whitespace folding
            piece, source = record.text[span.text_start:span.text_end], raw[record.doc_id][span.raw_start:span.raw_end]
            assert len(piece) == len(source)
            assert piece == source or (piece.isspace() and source.isspace())


def test_mentions_from_rebuilt_paragraphs_equal_those_of_clean_documents(cleaned, tables):
    # What notebook 03 reads (paragraphs and headings tables) gives what the CLI gives.
    direct = metrics.mentions_to_frame(m for d in cleaned.documents for m in metrics.mentions_from_document(d))
    records = [*corpus.paragraph_records(tables["paragraphs"]), *corpus.paragraph_records(tables["headings"])]
    rebuilt = metrics.mentions_to_frame(metrics.extract_metric_mentions(records))
    print(f"\n{len(direct)} mentions from clean documents, {len(rebuilt)} from paragraphs.parquet")
    pd.testing.assert_frame_equal(direct, rebuilt)


def test_paragraphs_map_back_to_raw_text(tables):
    raw = corpus.read_raw_texts(paths.RAW_DIR)
    check = corpus.paragraphs_check_raw(tables["paragraphs"], raw)
    assert len(check) == len(tables["paragraphs"])
    assert (check["n_mismatched"] == 0).all()
    assert (check["n_chars"] > 0).all()


def test_paragraphs_check_raw_finds_a_broken_map():
    raw = {"d": "全区宣讲50场。"}
    good = pd.DataFrame({"para_id": ["d:p000"], "doc_id": ["d"], "para_index": [0], "text": ["宣讲50场"],
                         "spans": [json.dumps([[0, 2, 5]])]})  # fmt: skip
    assert corpus.paragraphs_check_raw(good, raw)["n_mismatched"].tolist() == [0]
    shifted = good.assign(spans=[json.dumps([[0, 1, 5]])])
    assert corpus.paragraphs_check_raw(shifted, raw)["n_mismatched"].tolist() == [5]
    with pytest.raises(ValueError, match="no raw text"):
        corpus.paragraphs_check_raw(good, {"other": "x"})


@pytest.mark.parametrize(
    ("spans", "match"),
    [
        ("not json", "not a JSON list"),
        (json.dumps([[0, 0, 2]]), "cover 2 characters but the text has 5"),
        (json.dumps([[1, 0, 5]]), "do not cover its text contiguously"),
    ],
)
def test_paragraph_records_rejects_bad_span_maps(spans, match):
    df = pd.DataFrame({"para_id": ["d:p000"], "doc_id": ["d"], "para_index": [0], "text": ["宣讲50场"], "spans": [spans]})
    with pytest.raises(ValueError, match=match):
        corpus.paragraph_records(df)


def test_paragraph_records_needs_the_columns():
    with pytest.raises(ValueError, match=r"lacks the columns \['spans'\]"):
        corpus.paragraph_records(pd.DataFrame({"para_id": [], "doc_id": [], "para_index": [], "text": []}))


def test_surfaces_check_raw_flags_a_mention_across_a_join():
    raw = "开展宣讲3\n\n00场。"
    text = "开展宣讲300场。"
    para = Paragraph("d:p000", "d", 0, text, (Span(0, 0, 5), Span(5, 7, 4)))
    paragraphs = pd.DataFrame({"para_id": [para.para_id], "doc_id": ["d"], "para_index": [0], "text": [text],
                               "spans": [json.dumps([[s.text_start, s.raw_start, s.length] for s in para.spans])]})  # fmt: skip
    mentions = metrics.mentions_to_frame(metrics.extract_metric_mentions([para]))
    assert mentions["surface"].tolist() == ["300场"]
    checked = corpus.surfaces_check_raw(mentions, paragraphs=paragraphs, raw_texts={"d": raw})
    row = checked.iloc[0]
    assert not row["matches_raw"] and row["crosses_join"] and row["raw_surface"] == "3\n\n00场"
    inside = corpus.surfaces_check_raw(
        mentions.assign(start=7, end=10, surface="00场"), paragraphs=paragraphs, raw_texts={"d": raw}
    )
    assert inside["matches_raw"].tolist() == [True] and inside["crosses_join"].tolist() == [False]


def test_metadata_provenance_names_the_source_of_every_field(tables):
    prov = corpus.metadata_provenance(tables["documents"])
    assert len(prov) == len(tables["documents"]) * len(corpus.METADATA_FIELDS)
    assert set(prov["source"]) <= {"manifest", "none", "cms record"} | {s for s in prov["source"] if s.startswith("text")}
    assert (prov.loc[prov["field"] == "place", "source"] == "manifest").all()  # the bundled manifest lists them all


def test_metadata_detected_when_the_manifest_has_no_row(synthetic_dir, tmp_path_factory):
    cleaned = corpus.clean_corpus(synthetic_dir)
    out = tmp_path_factory.mktemp("synthetic_processed")
    frames = corpus.write_corpus_tables(cleaned, out)
    prov = corpus.metadata_provenance(frames["documents"]).set_index(["doc_id", "field"])
    print("\n" + prov.to_string())
    assert prov.loc[("aa_report", "place"), "value"] == "金水区"
    assert prov.loc[("aa_report", "place"), "source"].startswith("text")
    assert prov.loc[("aa_report", "city"), "value"] == "郑州市"
    assert prov.loc[("bb_report", "place"), "source"] == "none"  # 乙区 is no real place: nothing is invented
    assert not (prov["source"] == "manifest").any()


def test_characters_accounting_on_the_corpus(cleaned):
    acc = corpus.characters_accounting(cleaned)
    assert len(acc) == len(cleaned.documents)
    assert (acc["n_unaccounted"] == 0).all() and (acc["n_double_counted"] == 0).all()
    assert (acc["n_non_space"] <= acc["n_raw_chars"]).all()


def test_corpus_tables_are_byte_identical_on_rerun(cleaned, tables, tmp_path):
    corpus.write_corpus_tables(cleaned, tmp_path)
    for name in ("documents", "paragraphs", "removed", "repairs", "cleaning_warnings"):
        for suffix in (".parquet", ".csv"):
            assert (tmp_path / f"{name}{suffix}").read_bytes() == (tables["dir"] / f"{name}{suffix}").read_bytes()


def test_unreadable_file_is_skipped_and_listed(synthetic_dir):
    (synthetic_dir / "zz_broken.txt").write_bytes(b"\xff\xfe\x00\xd8\x00")
    try:
        cleaned = corpus.clean_corpus(synthetic_dir, on_error="skip")
    except ValueError:  # a decoder that accepts the bytes yields an empty document instead
        pytest.skip("the broken bytes decoded; nothing to skip")
    warnings = corpus.warnings_frame(cleaned)
    skipped = warnings[warnings["kind"] == "skipped_file"]
    assert [d.doc_id for d in cleaned.documents] == sorted(SYNTHETIC)
    assert skipped["doc_id"].str.contains("zz_broken").tolist() == [True]


def test_corrections_file_is_applied_by_the_pipeline_and_logged(synthetic_dir, tmp_path):
    raw_before = {p.name: p.read_bytes() for p in synthetic_dir.glob("*.txt")}
    path = tmp_path / "corrections.yml"
    path.write_text(
        "corrections:\n  - {doc_id: bb_report, find: 办结实事85件, replace: 办结实事58件, note: typo in the source}\n",
        encoding="utf-8",
    )
    cleaned = corpus.clean_corpus(synthetic_dir, corrections_path=path)
    doc = {d.doc_id: d for d in cleaned.documents}["bb_report"]
    assert "办结实事58件" in doc.paragraphs[0].text
    (fix,) = [r for r in doc.repairs if r.kind == "correction"]
    assert fix.before == ("办结实事85件",) and fix.after == "办结实事58件"
    assert {p.name: p.read_bytes() for p in synthetic_dir.glob("*.txt")} == raw_before, "data/raw is never edited"


@pytest.mark.parametrize(
    "entry, match",
    [
        ("{doc_id: bb_report, find: 不存在的文字, replace: x, note: n}", "不存在的文字"),
        ("{doc_id: zz_missing, find: 乙区, replace: 甲区, note: n}", "zz_missing"),
    ],
)
def test_correction_that_matches_nothing_is_an_error_naming_it(synthetic_dir, tmp_path, entry, match):
    from analysis.errors import InputError

    path = tmp_path / "corrections.yml"
    path.write_text(f"corrections:\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(InputError, match=match) as info:
        corpus.clean_corpus(synthetic_dir, corrections_path=path)
    assert "corrections.yml" in str(info.value)


def test_report_without_a_known_place_gets_a_stable_label(tmp_path):
    (tmp_path / "zz_noplace.txt").write_text(
        "某县推进党史学习教育\n\n全县开展专题学习80次,组建宣讲团6个。\n", encoding="utf-8"
    )
    cleaned = corpus.clean_corpus(tmp_path)
    docs, paras = corpus.documents_frame(cleaned), corpus.paragraphs_frame(cleaned)
    assert docs["place"].tolist() == ["unknown place (zz_noplace)"]
    assert set(paras["place"]) == {"unknown place (zz_noplace)"}
    assert any("no place" in w for w in cleaned.documents[0].warnings)


def test_manifest_and_text_disagreeing_is_a_metadata_conflict(synthetic_dir):
    (synthetic_dir / "manifest.csv").write_text(
        "doc_id,place,admin_level,city,province,date,source\naa_report,二七区,district,郑州市,河南省,,x\n",
        encoding="utf-8",
    )
    cleaned = corpus.clean_corpus(synthetic_dir)
    frame = corpus.warnings_frame(cleaned)
    conflicts = frame[frame["kind"] == "metadata_conflict"]
    assert conflicts["doc_id"].tolist() == ["aa_report"]
    assert "二七区" in conflicts["message"].iloc[0] and "金水区" in conflicts["message"].iloc[0]
    docs = corpus.documents_frame(cleaned).set_index("doc_id")
    assert docs.loc["aa_report", "place"] == "二七区", "the manifest wins; the conflict is reported, not resolved"


def _mixed_dir(tmp_path):
    """A folder mixing a plain report, a saved page, a page saved as .txt and a JSON Lines file with a bad line."""
    import sys as _sys

    _sys.path.insert(0, str(paths.PROJECT_ROOT / "benchmarks"))
    import html_pages

    raw = tmp_path / "mixed"
    raw.mkdir()
    reports = sorted(paths.RAW_DIR.glob("*.txt"))
    (raw / "plain.txt").write_text(reports[4].read_text("utf-8"), "utf-8")
    (raw / "page.html").write_text(html_pages.build_page(reports[0].read_text("utf-8"), "gov", place="中原区", date="2021-06-04").html, "utf-8")
    (raw / "page_as.txt").write_text(html_pages.build_page(reports[2].read_text("utf-8"), "wechat", place="召陵区").html, "utf-8")
    (raw / "bulk.jsonl").write_text(
        json.dumps({"doc_id": "rec", "text": reports[3].read_text("utf-8"), "place": "郑州市"}, ensure_ascii=False) + "\n{oops\n",
        "utf-8",
    )
    return raw


def test_a_mixed_folder_is_read_and_offsets_refer_to_the_extracted_texts(tmp_path):
    raw = _mixed_dir(tmp_path)
    with pytest.raises(InputError, match=r"bulk\.jsonl, line 2"):
        corpus.clean_corpus(raw)
    cleaned = corpus.clean_corpus(str(raw), on_error="skip")  # notebook 01's call
    frames = corpus.write_corpus_tables(cleaned, tmp_path / "out")
    docs = frames["documents"].set_index("doc_id")
    assert sorted(docs.index) == ["page", "page_as", "plain", "rec"]
    assert docs.loc["page", "input_format"] == "html" and docs.loc["page_as", "input_format"] == "html"
    assert docs.loc["rec", "record"] == 1 and docs.loc["page", "date"] == "2021-06-04"
    assert (docs["n_paragraphs"] > 3).all()
    assert frames["skipped"][["path", "record", "stage"]].values.tolist() == [["bulk.jsonl", 2, "read"]]
    extracted = sorted(p.name for p in (tmp_path / "out" / corpus.EXTRACTED_DIR_NAME).iterdir())
    assert extracted == ["page.txt", "page_as.txt", "rec.txt"]
    texts = {p.stem: p.read_text("utf-8") for p in (tmp_path / "out" / corpus.EXTRACTED_DIR_NAME).iterdir()}
    texts["plain"] = (raw / "plain.txt").read_text("utf-8")
    check = corpus.paragraphs_check_raw(frames["paragraphs"], texts)
    assert len(check) == len(frames["paragraphs"]) and (check["n_mismatched"] == 0).all()
    assert (corpus.paragraphs_check_raw(frames["paragraphs"], corpus.read_raw_texts(raw, on_error="skip"))["n_mismatched"] == 0).all()


def test_a_report_that_leaves_no_paragraph_is_an_error_or_skipped(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "good.txt").write_text(sorted(paths.RAW_DIR.glob("*.txt"))[1].read_text("utf-8"), "utf-8")
    (raw / "nav_only.html").write_text("<html><body><p>扫一扫在手机打开当前页</p></body></html>", "utf-8")
    with pytest.raises(InputError, match=r"nav_only\.html: no paragraphs left after cleaning"):
        corpus.clean_corpus(raw)
    cleaned = corpus.clean_corpus(raw, on_error="skip")
    assert [d.doc_id for d in cleaned.documents] == ["good"]
    assert corpus.skipped_frame(cleaned)[["doc_id", "stage"]].values.tolist() == [["nav_only", "clean"]]
    assert corpus.summary_line(cleaned, see="x.csv") == "2 reports read, 1 skipped: see x.csv"
