"""bulk and ingest on JSON Lines collections: records streamed, bad records listed with file, line and reason."""

from __future__ import annotations

import json
import sys

import pytest

from analysis import bulk, clean, corpus, ingest, metrics, paths
from analysis.errors import InputError

sys.path.insert(0, str(paths.PROJECT_ROOT / "benchmarks"))
import html_pages  # noqa: E402

REPORTS = sorted(paths.RAW_DIR.glob("*.txt"))


def _text(i: int) -> str:
    return ingest.read_document(REPORTS[i]).raw_text


def _write(path, lines):
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines), "utf-8")
    return path


@pytest.fixture()
def collection(tmp_path):
    """A scrape of six lines: two good text records, a good page, three bad lines."""
    page = html_pages.build_page(_text(0), "gov", place="中原区", date="2021-06-04").html
    return _write(
        tmp_path / "scrape.jsonl",
        [
            {"doc_id": "t1", "text": _text(2), "place": "召陵区", "date": "2021-05-01T08:00:00", "crawl_time": "x"},
            "{broken json",
            {"doc_id": "p1", "html": page, "url": "http://www.zhongyuan.gov.cn/1.html"},
            {"doc_id": "both", "html": "<p>x</p>", "text": "x"},
            {"doc_id": "t1", "text": _text(4)},
            {"doc_id": "t2", "text": _text(3), "title": "郑州市综述"},
        ],
    )


def test_records_are_read_in_order_and_bad_lines_are_listed_with_the_line(collection):
    items = list(ingest.iter_documents([collection], on_error="skip"))
    docs = [i for i in items if isinstance(i, ingest.Document)]
    skipped = [i for i in items if isinstance(i, ingest.SkippedFile)]
    assert [d.doc_id for d in docs] == ["t1", "p1", "t2"]
    assert [d.record for d in docs] == [1, 3, 6]
    assert [(s.record, s.doc_id) for s in skipped] == [(2, None), (4, "both"), (5, "t1")]
    assert "not valid JSON" in skipped[0].reason
    assert "both of `html` and `text`" in skipped[1].reason
    assert "used twice" in skipped[2].reason and "line 1" in skipped[2].reason
    t1, p1, t2 = docs
    assert (t1.place, t1.date, t1.metadata_origin) == ("召陵区", "2021-05-01", {"place": "jsonl record", "date": "jsonl record"})
    assert p1.input_format == "html" and p1.url == "http://www.zhongyuan.gov.cn/1.html" and p1.date == "2021-06-04"
    assert t2.raw_text.startswith("郑州市综述\n\n")  # the record's title heads the text


def test_by_default_the_first_bad_record_stops_with_its_file_and_line(collection):
    with pytest.raises(InputError, match=r"scrape\.jsonl, line 2: the line is not valid JSON"):
        list(ingest.iter_documents([collection]))


def test_a_record_gives_the_mentions_of_the_same_report_as_a_file(collection):
    docs = {d.doc_id: d for d in ingest.iter_documents([collection], on_error="skip") if isinstance(d, ingest.Document)}

    def mentions(document):
        return sorted((str(m.value), m.unit) for m in metrics.mentions_from_document(clean.clean_document(document)))

    assert mentions(docs["t1"]) == mentions(ingest.read_document(REPORTS[2]))
    assert mentions(docs["p1"]) == mentions(ingest.read_document(REPORTS[0]))


def test_records_are_streamed(tmp_path):
    """The reader yields a record before it reads the lines after it (a later line is broken on purpose)."""
    path = _write(tmp_path / "big.jsonl", [{"doc_id": "a", "text": _text(1)}])
    with path.open("ab") as f:
        f.write(b"\xff\xfe not utf-8\n")
    records = bulk.iter_records(path)
    line, first = next(records)
    assert (line, first["doc_id"]) == (1, "a")
    line, error = next(records)
    assert line == 2 and isinstance(error, InputError) and "not UTF-8" in str(error)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (["not", "an", "object"], "must be a JSON object"),
        ({"text": "x"}, "no `doc_id`"),
        ({"doc_id": "a/b", "text": "x"}, "path separator"),
        ({"doc_id": "a", "text": 3}, "`text` must be a string"),
        ({"doc_id": "a"}, "neither of `html` and `text`"),
        ({"doc_id": "a", "text": "x", "date": "6月4日"}, "not ISO"),
    ],
)
def test_bad_records_are_errors_naming_the_problem(record, message):
    with pytest.raises(InputError, match=message):
        bulk.check_record(record, path="x.jsonl", line=7)


def test_clean_corpus_reads_a_jsonl_file_given_as_raw_dir(collection, tmp_path):
    cleaned = corpus.clean_corpus(collection, on_error="skip")
    assert sorted(d.doc_id for d in cleaned.documents) == ["p1", "t1", "t2"]
    skipped = corpus.skipped_frame(cleaned)
    assert skipped[["record", "doc_id"]].astype(object).where(skipped[["record", "doc_id"]].notna(), None).values.tolist() == [
        [2, None],
        [4, "both"],
        [5, "t1"],
    ]
    assert set(skipped["path"]) == {"scrape.jsonl"} and set(skipped["stage"]) == {"read"}
    assert corpus.summary_line(cleaned, see="skipped.csv") == "6 reports read, 3 skipped: see skipped.csv"


def test_a_record_naming_only_its_place_gets_level_city_and_province_from_the_text(collection):
    docs = {d.doc_id: d for d in ingest.iter_documents([collection], on_error="skip") if isinstance(d, ingest.Document)}
    doc = clean.clean_document(docs["t1"])
    assert (doc.place, doc.admin_level, doc.city, doc.province) == ("召陵区", "district", "漯河市", "河南省")
    assert doc.metadata_source["place"] == "jsonl record"


def _peak_reading(path) -> tuple[int, int]:
    """(documents read, peak traced memory) while streaming ``path``."""
    import tracemalloc

    tracemalloc.start()
    try:
        n = 0
        for document in ingest.iter_documents([path]):
            assert document.input_format == "html" and len(document.raw_text) < 20_000
            n += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return n, peak


def test_a_large_collection_is_not_held_in_memory(tmp_path):
    """Pages of 300 KB each: the peak memory of reading 60 of them (18 MB) is that of reading 8, not 7 times more."""
    padding = "<script>var cfg = '" + "x" * 300_000 + "';</script>"
    page = html_pages.build_page(_text(1), "gov", place="中原区").html.replace("</body>", padding + "</body>")
    line = json.dumps({"doc_id": "ID", "html": page}, ensure_ascii=False)
    peaks = {}
    for n in (8, 60):
        path = tmp_path / f"large_{n}.jsonl"
        path.write_text("".join(line.replace('"ID"', f'"r{i:03d}"') + "\n" for i in range(n)), "utf-8")
        n_read, peaks[n] = _peak_reading(path)
        assert n_read == n
    assert (tmp_path / "large_60.jsonl").stat().st_size > 18_000_000
    assert peaks[60] < 1.5 * peaks[8], f"peak {peaks[60] / 1e6:.1f} MB for 60 pages, {peaks[8] / 1e6:.1f} MB for 8"
