"""The command-line interfaces that other tools rely on (DESIGN.md, "Interfaces")."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from analysis import paths
from analysis.__main__ import main

RAW_FILES = sorted(paths.RAW_DIR.glob("*.txt"))
GOLD_KEYS = ["doc_id", "title", "subtitle", "place", "admin_level", "city", "province", "date",
             "authors", "sections", "paragraphs", "removed", "repairs"]


def _run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_metrics_csv_header_and_rows(capsys):
    code, out, _ = _run(["metrics", str(paths.RAW_DIR), "--format", "csv"], capsys)
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["doc_id", "start", "end", "surface", "value", "unit", "qualifier", "is_rate", "counted", "category"]
    raw = {p.name[:-4]: p.read_text("utf-8") for p in RAW_FILES}
    body = rows[1:]
    assert len(body) > 50
    for doc_id, start, end, surface, value, unit, qualifier, is_rate, _counted, category in body:
        assert raw[doc_id][int(start):int(end)] == surface or "\n" in raw[doc_id][int(start):int(end)]
        assert qualifier in {"exact", "more_than", "nearly", "about"} and is_rate in {"true", "false"}
        assert float(value) >= 0 and unit and category


def test_metrics_of_one_file_only_lists_that_file(capsys):
    code, out, _ = _run(["metrics", str(RAW_FILES[0])], capsys)
    ids = {row["doc_id"] for row in csv.DictReader(io.StringIO(out))}
    assert code == 0 and ids == {RAW_FILES[0].name[:-4]}


def test_clean_json_has_gold_schema(capsys, shared_dir):
    path = RAW_FILES[-1]
    code, out, _ = _run(["clean", str(path), "--format", "json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert list(doc)[: len(GOLD_KEYS)] == GOLD_KEYS
    gold = json.loads((shared_dir / "gold" / "clean" / f"{path.name[:-4]}.json").read_text("utf-8"))
    assert set(gold) - {"section_levels", "paragraph_sections", "raw_spans"} <= set(doc)
    for item in doc["removed"]:
        assert set(item) == {"text", "kind", "start", "end"}


@pytest.mark.parametrize("content, reason", [(b"", "empty"), (b"\x00\x01\x02binary" * 50, "binary")])
def test_bad_file_gives_message_not_traceback(tmp_path, content, reason):
    bad = tmp_path / "broken_report.txt"
    bad.write_bytes(content)
    proc = subprocess.run([sys.executable, "-m", "analysis", "metrics", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "broken_report.txt" in proc.stderr and reason in proc.stderr
    assert "Traceback" not in proc.stderr


def test_keep_going_skips_bad_file_and_reports_it(tmp_path, capsys, caplog):
    (tmp_path / "a_bad.txt").write_bytes(b"")
    (tmp_path / RAW_FILES[0].name).write_bytes(RAW_FILES[0].read_bytes())
    code, out, _ = _run(["metrics", str(tmp_path), "--keep-going"], capsys)
    assert code == 0
    assert {row["doc_id"] for row in csv.DictReader(io.StringIO(out))} == {RAW_FILES[0].name[:-4]}
    assert any("a_bad.txt" in rec.getMessage() for rec in caplog.records)


def test_yaml_typo_in_a_resource_names_file_and_line(tmp_path):
    from analysis import storage
    from analysis.errors import InputError

    bad = tmp_path / "metrics.yml"
    bad.write_text("units: [个, 名\nqualifiers: {}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"metrics\.yml, line \d+: the metric lexicon is not valid YAML"):
        storage.read_yaml(bad, what="metric lexicon")
    with pytest.raises(FileNotFoundError, match="no such metric lexicon"):
        storage.read_yaml(tmp_path / "missing.yml", what="metric lexicon")


def test_metrics_excluded_lists_non_metrics_with_reasons(capsys, shared_dir):
    code, out, _ = _run(["metrics", str(paths.RAW_DIR), "--excluded"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["doc_id", "start", "end", "surface", "reason"]
    assert {r["reason"] for r in rows} <= {"date", "ordinal", "anniversary", "age", "duration", "period",
                                           "page_ref", "identifier", "formulation", "name", "other"}
    # every gold non-metric that we list is listed with a span that overlaps it in the same document
    gold = list(csv.DictReader((shared_dir / "gold" / "non_metrics.csv").open(encoding="utf-8")))
    spans = {(r["doc_id"], int(r["start"]), int(r["end"])) for r in rows}
    found = sum(any(d == g["doc_id"] and s < int(g["end"]) and int(g["start"]) < e for d, s, e in spans) for g in gold)
    print(f"gold non-metrics listed as excluded: {found}/{len(gold)}")
    assert found / len(gold) >= 0.8


def _page(report, layout):
    sys.path.insert(0, str(paths.PROJECT_ROOT / "benchmarks"))
    import html_pages

    return html_pages.build_page(report.read_text("utf-8"), layout, place="中原区", date="2021-06-04").html


def test_an_html_page_saved_as_txt_is_cleaned_not_lost(tmp_path, capsys):
    path = tmp_path / "page.txt"
    path.write_text(_page(RAW_FILES[0], "gov"), "utf-8")
    code, out, _ = _run(["clean", str(path), "--format", "json"], capsys)
    cleaned = json.loads(out)
    assert code == 0 and len(cleaned["paragraphs"]) > 10
    assert not any(r["text"].lstrip().startswith("<") for r in cleaned["removed"])


def test_metrics_of_a_folder_mixing_txt_html_and_jsonl(tmp_path, capsys):
    (tmp_path / "a.txt").write_text(RAW_FILES[1].read_text("utf-8"), "utf-8")
    (tmp_path / "b.htm").write_text(_page(RAW_FILES[0], "portal"), "utf-8")
    (tmp_path / "c.jsonl").write_text(json.dumps({"doc_id": "c", "html": _page(RAW_FILES[0], "wechat")}) + "\n", "utf-8")
    code, out, _ = _run(["metrics", str(tmp_path), "--format", "csv"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    by_doc = {d: sorted((r["value"], r["unit"]) for r in rows if r["doc_id"] == d) for d in ("a", "b", "c")}
    assert by_doc["a"] and by_doc["b"] and by_doc["b"] == by_doc["c"]
    code, out, _ = _run(["metrics", str(RAW_FILES[0]), "--format", "csv"], capsys)
    assert by_doc["b"] == sorted((r["value"], r["unit"]) for r in csv.DictReader(io.StringIO(out)))


def test_corpus_skips_bad_records_when_asked_and_stops_otherwise(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    lines = [json.dumps({"doc_id": p.stem, "text": p.read_text("utf-8")}, ensure_ascii=False) for p in RAW_FILES[:3]]
    lines.insert(1, '{"doc_id": "no_body"}')
    (raw / "scrape.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    out_dir = tmp_path / "out"
    code, _, err = _run(["corpus", "--raw-dir", str(raw / "scrape.jsonl"), "--processed-dir", str(out_dir)], capsys)
    assert code == 2 and "scrape.jsonl, line 2" in err and "neither of `html` and `text`" in err
    assert not out_dir.exists()
    code, out, _ = _run(["corpus", "--raw-dir", str(raw), "--processed-dir", str(out_dir), "--keep-going"], capsys)
    assert code == 0
    assert f"4 reports read, 1 skipped: see {out_dir / 'skipped.csv'}" in out
    skipped = list(csv.DictReader((out_dir / "skipped.csv").open(encoding="utf-8-sig")))
    assert [(s["path"], s["record"], s["doc_id"]) for s in skipped] == [("scrape.jsonl", "2", "no_body")]
