"""Tests of analysis.storage: CSV copies that Excel on Windows opens with readable Chinese."""

from __future__ import annotations

import codecs
import csv

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
