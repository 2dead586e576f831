"""Tests of analysis.storage: CSV copies that Excel on Windows opens with readable Chinese."""

from __future__ import annotations

import codecs
import csv
import hashlib
from pathlib import Path

import pandas as pd
import pytest

from analysis import storage


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {"place": ["中原区", "召陵区"], "category": ["outreach", "audience"], "n_mentions": [3, 0],
         "surface": ["1000余场", "1.2万人次"]}
    )


def test_csv_starts_with_the_utf8_byte_order_mark(table, tmp_path):
    storage.write_table(table, tmp_path / "t")
    raw = (tmp_path / "t.csv").read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    assert not raw[len(codecs.BOM_UTF8):].startswith(codecs.BOM_UTF8), "exactly one mark"
    assert raw[len(codecs.BOM_UTF8):].decode("utf-8").splitlines()[0] == "place,category,n_mentions,surface"


def test_pandas_reads_the_header_back_clean(table, tmp_path):
    storage.write_table(table, tmp_path / "t")
    for encoding in (None, "utf-8", storage.CSV_ENCODING):
        kwargs = {} if encoding is None else {"encoding": encoding}
        back = pd.read_csv(tmp_path / "t.csv", **kwargs)
        assert back.columns.tolist() == table.columns.tolist(), encoding
        assert back["place"].tolist() == ["中原区", "召陵区"]
        assert back["n_mentions"].tolist() == [3, 0]


def test_csv_module_with_utf8_sig_reads_clean_names(table, tmp_path):
    storage.write_table(table, tmp_path / "t")
    with (tmp_path / "t.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == table.columns.tolist()
    assert rows[1]["surface"] == "1.2万人次"


def test_rerun_writes_identical_bytes(table, tmp_path):
    first = [p.read_bytes() for p in storage.write_table(table, tmp_path / "t", provenance={"k": 8})]
    second = [p.read_bytes() for p in storage.write_table(table.copy(), tmp_path / "t", provenance={"k": 8})]
    assert first == second
    assert [p.name for p in storage.write_table(table, tmp_path / "t")] == ["t.parquet", "t.csv"]


def test_parquet_copy_is_unchanged_by_the_csv_encoding(table, tmp_path):
    storage.write_table(table, tmp_path / "t")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), table, check_dtype=False)


def test_csv_can_be_left_out(table, tmp_path):
    written = storage.write_table(table, tmp_path / "t", csv=False)
    assert [p.suffix for p in written] == [".parquet"]
    assert not (tmp_path / "t.csv").exists()


# ---------------------------------------------------------------- CITATION.cff (read with storage.read_yaml)


CFF_REQUIRED_KEYS = ("cff-version", "message", "title", "authors")


def test_citation_file_parses_with_the_required_keys():
    import datetime
    import tomllib

    from analysis import paths

    cff = storage.read_yaml(paths.PROJECT_ROOT / "CITATION.cff", what="citation file")
    assert isinstance(cff, dict)
    missing = [key for key in CFF_REQUIRED_KEYS if not cff.get(key)]
    assert missing == []
    assert str(cff["cff-version"]) == "1.2.0"
    assert all(isinstance(a, dict) and (a.get("name") or a.get("family-names")) for a in cff["authors"])
    datetime.date.fromisoformat(str(cff["date-released"]))
    project = tomllib.loads((paths.PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert str(cff["version"]) == project["version"], "CITATION.cff and pyproject.toml name the same version"
    assert cff["license"] == project["license"]


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_a_long_table_is_a_partitioned_dataset_read_back_in_order(tmp_path):
    df = pd.DataFrame({"n": range(2_500, 0, -1), "text": [f"第{i}段" if i % 7 else None for i in range(2_500)]})
    storage.write_table(df, tmp_path / "t", partition_rows=1_000)
    folder = tmp_path / "t.parquet"
    assert folder.is_dir() and sorted(p.name for p in folder.iterdir()) == [f"part-0000{k}.parquet" for k in range(3)]
    back = pd.read_parquet(folder)
    assert back["n"].tolist() == df["n"].tolist() and back["text"].isna().sum() == df["text"].isna().sum()
    import pyarrow.dataset as ds

    assert [f.count_rows() for f in ds.dataset(folder).get_fragments()] == [1_000, 1_000, 500]
    first = _digests(folder)
    storage.write_table(df, tmp_path / "t", partition_rows=1_000)
    assert _digests(folder) == first  # a rerun writes the same bytes
    assert len(pd.read_csv(tmp_path / "t.csv", encoding="utf-8-sig")) == len(df)  # one CSV, whatever the parquet layout
    storage.write_table(df.head(10), tmp_path / "t", partition_rows=1_000)
    assert (tmp_path / "t.parquet").is_file() and len(pd.read_parquet(tmp_path / "t.parquet")) == 10
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders left


def test_a_failed_partitioned_write_leaves_the_old_table(tmp_path):
    df = pd.DataFrame({"n": range(30)})
    storage.write_table(df, tmp_path / "t", partition_rows=10)
    before = _digests(tmp_path / "t.parquet")

    def boom(folder):
        (folder / "part-00000.parquet").write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        storage.atomic_write_dir(tmp_path / "t.parquet", boom)
    assert _digests(tmp_path / "t.parquet") == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with pytest.raises(ValueError, match="partition_rows"):
        storage.write_table(df, tmp_path / "t", partition_rows=0)


def test_the_readers_of_processed_tables_accept_a_partitioned_table(tmp_path):
    from analysis import corpus, tabulate

    paragraphs = pd.DataFrame({"para_id": [f"d:p{i:03d}" for i in range(50)], "text": ["党史学习教育"] * 50})
    storage.write_table(paragraphs, tmp_path / "paragraphs", partition_rows=20)
    assert (tmp_path / "paragraphs.parquet").is_dir()
    assert corpus.read_paragraphs(tmp_path)["para_id"].tolist() == paragraphs["para_id"].tolist()
    metrics_table = pd.DataFrame({"doc_id": ["d"] * 30, "is_rate": ["true", "false", "false"] * 10})
    storage.write_table(metrics_table, tmp_path / "metrics", partition_rows=7)
    assert tabulate.read_metric_tables(tmp_path)["is_rate"].tolist() == [True, False, False] * 10
