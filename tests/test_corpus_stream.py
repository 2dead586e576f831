"""The streaming corpus step (corpus.write_corpus, runs, storage.write_table_chunks): the same bytes as the in-memory one."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import corpus, ingest, paths, runs, storage
from analysis.errors import InputError

sys.path.insert(0, str(paths.PROJECT_ROOT / "benchmarks"))
import html_pages  # noqa: E402

REPORTS = sorted(paths.RAW_DIR.glob("*.txt"))


def _hashes(folder: Path) -> dict[str, str]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert files, f"{folder} is empty"
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture()
def mixed_raw(tmp_path: Path) -> Path:
    """data/raw plus pages, a JSON Lines scrape with a bad line, reposts, an unreadable and an empty-bodied file."""
    raw = tmp_path / "raw"
    shutil.copytree(paths.RAW_DIR, raw)
    text3 = REPORTS[3].read_text("utf-8")
    lines1, lines2 = REPORTS[1].read_text("utf-8").splitlines(), REPORTS[2].read_text("utf-8").splitlines()
    # Two new reports (parts of bundled ones, too short to be their duplicates): a page and a record.
    (raw / "a-page.html").write_text(html_pages.build_page("\n".join(lines1[: len(lines1) * 2 // 5]), "gov", place="中原区").html, "utf-8")
    (raw / "mirror_repost.html").write_text(html_pages.build_page(text3, "portal", place="郑州市").html, "utf-8")
    (raw / "gbk_copy.txt").write_bytes(REPORTS[4].read_text("utf-8").encode("gb18030"))
    records = [
        {"doc_id": "wechat_copy", "html": html_pages.build_page(text3, "wechat").html},
        "{broken json",
        {"doc_id": "rec-2", "text": "\n".join(lines2[len(lines2) // 2 :]), "place": "召陵区"},
    ]
    (raw / "scrape.jsonl").write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records), "utf-8"
    )
    (raw / "zz_empty.txt").write_bytes(b"")
    (raw / "zz_footer.txt").write_text("ICP备12345号\n", encoding="utf-8")
    return raw


@pytest.mark.parametrize("keep_duplicates", [False, True])
def test_streamed_tables_are_the_bytes_of_the_in_memory_ones(mixed_raw: Path, tmp_path: Path, keep_duplicates: bool) -> None:
    cleaned = corpus.clean_corpus(mixed_raw, on_error="skip", keep_duplicates=keep_duplicates)
    corpus.write_corpus_tables(cleaned, tmp_path / "memory", partition_rows=40)
    # Runs of 2 reports and ranges of 3: many runs and ranges, and every table of more than 40 rows partitioned.
    summary = corpus.write_corpus(
        mixed_raw, tmp_path / "stream", on_error="skip", keep_duplicates=keep_duplicates,
        run_reports=2, range_reports=3, partition_rows=40,
    )
    memory, stream = _hashes(tmp_path / "memory"), _hashes(tmp_path / "stream")
    assert stream == memory
    assert any(name.startswith("paragraphs.parquet/part-00002") for name in stream)  # partitioned, in several parts
    assert "extracted/wechat_copy.txt" in stream and "extracted/a-page.txt" in stream
    assert len(summary.duplicates) == 3 and len(summary.skipped) == 3
    assert summary.rows["documents"] == len(cleaned.documents) == (10 if keep_duplicates else 7)
    assert corpus.summary_line(summary) == corpus.summary_line(cleaned)
    assert not [p for p in (tmp_path / "stream").iterdir() if p.name.startswith(".")]  # the work folder is gone


def test_streamed_tables_with_default_sizes_match_too(mixed_raw: Path, tmp_path: Path) -> None:
    corpus.write_corpus_tables(corpus.clean_corpus(mixed_raw, on_error="skip"), tmp_path / "memory")
    corpus.write_corpus(mixed_raw, tmp_path / "stream", on_error="skip", jobs=2, batch_size=2)
    assert _hashes(tmp_path / "stream") == _hashes(tmp_path / "memory")


def test_a_failed_stream_leaves_the_earlier_tables_untouched(mixed_raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    corpus.write_corpus(paths.RAW_DIR, out)
    before = _hashes(out)
    with pytest.raises(InputError, match=r"scrape\.jsonl, line 2"):  # on_error="raise": the bad line stops the run,
        corpus.write_corpus(mixed_raw, out, run_reports=2)  # after four runs were spilled
    assert _hashes(out) == before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    (mixed_raw / "manifest.csv").write_text(
        (mixed_raw / "manifest.csv").read_text("utf-8") + "ghost,,,,,,\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match="ghost"):  # raised after the last report is read
        corpus.write_corpus(mixed_raw, out, on_error="skip", run_reports=2)
    assert _hashes(out) == before


def test_write_table_chunks_writes_the_bytes_of_write_table(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 1000
    frame = pd.DataFrame(
        {
            "key": [f"d{i:04d}" for i in range(n)],
            "text": [None] * 300 + ["文本" * int(k) for k in rng.integers(1, 5, n - 300)],  # empty in the first pieces
            "record": pd.array([None if i % 3 else i for i in range(n)], dtype="Int64"),
            "value": rng.normal(size=n),
            "flag": rng.integers(0, 2, n).astype(bool),
        }
    )
    pieces = [frame.iloc[a:b] for a, b in [(0, 250), (250, 251), (251, 700), (700, n)]]
    for rows in (128, 5000):
        storage.write_table(frame, tmp_path / f"whole{rows}" / "t", partition_rows=rows)
        storage.write_table_chunks(
            iter(pieces), tmp_path / f"chunks{rows}" / "t", n_rows=n, schema=storage._unified_schema(pieces), partition_rows=rows,
        )
        assert _hashes(tmp_path / f"chunks{rows}") == _hashes(tmp_path / f"whole{rows}")
        back = pd.read_parquet(tmp_path / f"chunks{rows}" / "t.parquet")
        pd.testing.assert_frame_equal(back, frame.reset_index(drop=True))
    assert len(list((tmp_path / "chunks128" / "t.parquet").glob("part-*.parquet"))) == 8


@pytest.mark.parametrize("in_key_order", [False, True])
def test_sorted_runs_give_the_stable_sort_of_the_whole_table(tmp_path: Path, in_key_order) -> None:
    rng = np.random.default_rng(1)
    keys = [f"k{int(v):03d}" for v in rng.integers(0, 60, 500)]
    frame = pd.DataFrame({"key": keys, "n": rng.integers(0, 3, 500), "row": range(500)})  # many ties on (key, n)
    if in_key_order:  # runs of separate key ranges, as a folder of reports read in doc_id order gives
        frame = frame.sort_values("key", kind="stable").reset_index(drop=True).assign(row=range(500))
    table = runs.SortedRuns(tmp_path / "t", ["key", "n"])
    for start in range(0, 500, 37):
        table.add(frame.iloc[start : start + 37])
    extra = pd.DataFrame({"key": ["k010", "k999"], "n": [0, 0], "row": [-1, -2]})
    chunks = list(table.chunks(runs.key_ranges(["k010", "k020", "k045"]), drop_keys=frozenset({"k005"}), drop_column="key",
                               extra=extra))
    assert len(chunks) == 4
    got = pd.concat(chunks, ignore_index=True)
    expected = (
        pd.concat([frame[frame["key"] != "k005"], extra], ignore_index=True)
        .sort_values(["key", "n"], kind="stable").reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(got, expected)
    assert table.count(frozenset({"k005", "k007"}), "key") == int(frame["key"].isin(["k005", "k007"]).sum())


def test_sorted_runs_take_the_dtypes_of_the_first_run_with_rows(tmp_path: Path) -> None:
    table = runs.SortedRuns(tmp_path / "t", ["key"])
    table.add(pd.DataFrame([], columns=["key", "n"]))  # a batch of reports without such rows: object columns
    table.add(pd.DataFrame({"key": ["b", "a"], "n": [2, 1]}))
    (got,) = table.chunks(runs.key_ranges([]))
    pd.testing.assert_frame_equal(got, pd.DataFrame({"key": ["a", "b"], "n": [1, 2]}))


def test_text_store_gives_back_each_text(tmp_path: Path) -> None:
    store = runs.TextStore(tmp_path / "texts", row_group=3)
    store.add([(f"d{i}", "正文" * i) for i in range(10)])
    store.add([("x", "另一批")])
    assert [store.get(f"d{i}") for i in (0, 4, 9)] == ["", "正文" * 4, "正文" * 9] and store.get("x") == "另一批"
    with pytest.raises(KeyError):
        store.get("missing")
    with pytest.raises(ValueError, match="added twice"):
        store.add([("x", "again")])


def test_count_reports_counts_files_and_records(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x", "utf-8")
    (tmp_path / "b.jsonl").write_bytes(b'{"doc_id": "1"}\n{"doc_id": "2"}\n{"doc_id": "3"}')  # no final line break
    (tmp_path / "notes.md").write_text("not a report", "utf-8")
    assert ingest.count_reports(tmp_path) == 4
    assert ingest.count_reports(tmp_path / "missing") is None


def test_a_table_put_together_from_pieces_read_back_is_written_as_the_whole(tmp_path: Path) -> None:
    """Pieces read back from parquet hold arrow strings in several chunks; the file must not depend on them.

    The text column is a few MB, more than one parquet data page, which is
    where the chunks would show (as in the corpus of 10,000 reports).
    """
    rng = np.random.default_rng(1)
    n = 900
    frame = pd.DataFrame({"key": [f"d{i:04d}" for i in range(n)], "text": [f"{i}党史学习教育" * int(k) for i, k in enumerate(rng.integers(100, 400, n))]})
    frame = pd.read_parquet(_round_trip(frame, tmp_path / "whole_in.parquet"))
    pieces = [pd.read_parquet(_round_trip(frame.iloc[a:b], tmp_path / f"piece{a}.parquet")) for a, b in [(0, 300), (300, 301), (301, n)]]
    joined = pd.concat(pieces, ignore_index=True)
    assert joined["text"].array._pa_array.num_chunks > 1  # what the streamed corpus hands to write_table
    storage.write_table(frame, tmp_path / "whole" / "t")
    storage.write_table(joined, tmp_path / "joined" / "t")
    storage.write_table_chunks(iter(pieces), tmp_path / "chunks" / "t", n_rows=n, schema=storage._unified_schema(pieces))
    assert _hashes(tmp_path / "joined") == _hashes(tmp_path / "whole") == _hashes(tmp_path / "chunks")
    for rows in (200, 10_000):  # partitioned or not
        storage.write_table(frame, tmp_path / f"whole{rows}" / "t", partition_rows=rows)
        storage.write_table(joined, tmp_path / f"joined{rows}" / "t", partition_rows=rows)
        assert _hashes(tmp_path / f"joined{rows}") == _hashes(tmp_path / f"whole{rows}")


def _round_trip(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_parquet(path, index=False)
    return path


def test_tables_are_written_as_to_parquet_writes_them_attrs_included(tmp_path: Path) -> None:
    frame = pd.DataFrame({"term": ["党史", "学习", None], "n": [3, 2, 1], "share": [0.5, 0.25, 0.25]})
    frame.attrs["provenance"] = {"model": "kmeans", "n_components": 3, "terms": ["党史"]}
    storage.write_table(frame, tmp_path / "t", csv=False)
    frame.to_parquet(tmp_path / "pandas.parquet", index=False, engine="pyarrow", compression="zstd")
    assert (tmp_path / "t.parquet").read_bytes() == (tmp_path / "pandas.parquet").read_bytes()
    assert pd.read_parquet(tmp_path / "t.parquet").attrs == frame.attrs
    storage.write_table(pd.DataFrame({"n": [1]}), tmp_path / "plain", csv=False)  # no attrs: none read back
    assert pd.read_parquet(tmp_path / "plain.parquet").attrs == {}
