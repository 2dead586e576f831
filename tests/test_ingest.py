"""Reading raw files: encodings, bad input, manifest rules."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from analysis import ingest, paths
from analysis.errors import InputError

SAMPLE = "党史学习教育启动以来,中原区不断创新学习形式。\n记者 某某\n"


@pytest.mark.parametrize(
    "encoding, prefix, expected_encoding",
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
        ("gb18030", b"", "gb18030"),
        ("gbk", b"", "gb18030"),
        ("utf-16-le", b"\xff\xfe", "utf-16-le"),
        ("utf-16-be", b"\xfe\xff", "utf-16-be"),
    ],
)
def test_decode_detects_encoding(encoding, prefix, expected_encoding):
    text = SAMPLE * 3  # detectors need a little text
    decoded, used = ingest.decode_bytes(prefix + text.encode(encoding))
    assert decoded == text
    assert used == expected_encoding


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_newlines_are_normalised(newline):
    decoded, _ = ingest.decode_bytes(SAMPLE.replace("\n", newline).encode("utf-8"))
    assert decoded == SAMPLE


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"  \n\t\n  ", "only whitespace"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10, "binary"),
        (bytes(range(1, 32)) * 20, "binary"),
    ],
)
def test_bad_bytes_raise_clear_error(data, message, tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(InputError, match=message) as info:
        ingest.read_document(path)
    assert "bad.txt" in str(info.value)


def test_undecodable_bytes_name_the_file(tmp_path):
    path = tmp_path / "broken.txt"
    # valid UTF-8 then a truncated multi-byte sequence and stray continuation bytes
    path.write_bytes(SAMPLE.encode("utf-8") + b"\xe5\x85" + b"\x80\x80\xff\xfe\xfd" * 3)
    with pytest.raises(InputError, match="broken.txt"):
        ingest.read_document(path)


def test_bundled_corpus_is_byte_identical_to_shared(shared_dir):
    for src in sorted((shared_dir / "corpus").glob("*.txt")):
        assert (paths.RAW_DIR / src.name).read_bytes() == src.read_bytes(), src.name


def test_read_corpus_reads_manifest_metadata():
    corpus = ingest.read_corpus(paths.RAW_DIR)
    assert len(corpus.documents) == len(list(paths.RAW_DIR.glob("*.txt")))
    assert all(d.in_manifest and d.place for d in corpus.documents)
    assert [d.doc_id for d in corpus.documents] == sorted(d.doc_id for d in corpus.documents)


def _copy_raw(tmp_path: Path, n: int = 2) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    for src in sorted(paths.RAW_DIR.glob("*.txt"))[:n]:
        shutil.copy(src, raw / src.name)
    return raw


def test_file_without_manifest_row_loads_with_warning(tmp_path, caplog):
    raw = _copy_raw(tmp_path)
    names = sorted(p.name[:-4] for p in raw.glob("*.txt"))
    (raw / "manifest.csv").write_text(
        "doc_id,place,admin_level,city,province,date,source\n" f"{names[0]},中原区,district,郑州市,河南省,,x\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="analysis.ingest"):
        corpus = ingest.read_corpus(raw)
    assert len(corpus.documents) == 2
    second = corpus.documents[1]
    assert second.place is None and not second.in_manifest
    assert any(names[1] in rec.getMessage() and "no row" in rec.getMessage() for rec in caplog.records)


def test_manifest_row_without_file_is_an_error(tmp_path):
    raw = _copy_raw(tmp_path, n=1)
    (raw / "manifest.csv").write_text(
        "doc_id,place,admin_level,city,province,date,source\nmissing_report,某区,district,,,,\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"missing_report.*not in") as info:
        ingest.read_corpus(raw)
    assert "manifest.csv" in str(info.value) and "line 2" in str(info.value)


@pytest.mark.parametrize(
    "body, message",
    [
        ("doc_id,place,colour\nx,y,z\n", "unknown column"),
        ("doc_id,admin_level\nx,village\n", "admin_level"),
        ("doc_id,date\nx,2021/06/04\n", "ISO date"),
        ("doc_id\nx\nx\n", "listed twice"),
    ],
)
def test_bad_manifest_is_rejected(tmp_path, body, message):
    path = tmp_path / "manifest.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        ingest.read_manifest(path)


def test_skip_mode_lists_unreadable_file(tmp_path, caplog):
    raw = _copy_raw(tmp_path, n=1)
    (raw / "empty.txt").write_bytes(b"")
    with pytest.raises(InputError, match="empty.txt"):
        ingest.read_corpus(raw)
    with caplog.at_level(logging.WARNING):
        corpus = ingest.read_corpus(raw, on_error="skip")
    assert [s.path for s in corpus.skipped] == ["empty.txt"] or corpus.skipped[0].path.endswith("empty.txt")
    assert "empty" in corpus.skipped[0].reason
    assert len(corpus.documents) == 1
