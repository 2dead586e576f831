"""End to end: the real notebooks on a mini corpus that includes a report the bundled corpus does not have.

The mini corpus holds two bundled reports (with manifest rows) and one
synthetic report of the genre without a manifest row, so the run also checks
what a researcher does when adding a report: metadata detected from the text,
every notebook runs, the prose follows the data. The whole chain runs twice;
the processed tables must be byte-identical.
"""

from __future__ import annotations

import csv
import hashlib
import html
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import paths, pipeline

#: The two full study runs: `make test-slow` (and CI) run them; `make test` leaves them out.
pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
SYNTHETIC = HERE / "data" / "synthetic_jinshui.txt"
#: A report whose place neither the manifest nor the gazetteer knows (某县), in another layout.
NO_PLACE = HERE / "data" / "synthetic_numbered_headings.txt"
#: An empty raw file, which params.yml's keep_going skips.
EMPTY = "zz_empty_report.txt"


def _mini_corpus(root: Path) -> Path:
    raw = root / "raw"
    raw.mkdir(parents=True)
    bundled = sorted(paths.RAW_DIR.glob("*.txt"))
    chosen = [bundled[0], bundled[-1]]
    for src in chosen:
        shutil.copy(src, raw / src.name)
    shutil.copy(SYNTHETIC, raw / SYNTHETIC.name)
    shutil.copy(NO_PLACE, raw / NO_PLACE.name)
    (raw / EMPTY).write_bytes(b"")  # a bad file: keep_going skips it and the run says so
    with (paths.RAW_DIR / "manifest.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["doc_id"] in {p.name[:-4] for p in chosen}]
    with (raw / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return raw


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix in {".parquet", ".csv", ".json"}
    }


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    if not list(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        pytest.fail("no notebooks in notebooks/")
    root = tmp_path_factory.mktemp("study")
    raw = _mini_corpus(root)
    results = []
    for i in (1, 2):
        processed = root / f"processed{i}"
        reports = root / f"reports{i}"
        params = {
            "raw_dir": str(raw),
            "processed_dir": str(processed),
            "figures_dir": str(reports / "figures"),
        }
        # The first run has 02-04 side by side in worker processes, the second runs one
        # notebook at a time in this process: the tables must not depend on either.
        runs = pipeline.run_notebooks(reports_dir=reports, params=params, jobs=2 if i == 1 else 1)
        results.append((processed, reports, runs))
    return raw, results


def test_every_notebook_runs_and_exports(two_runs):
    _, results = two_runs
    processed, reports, runs = results[0]
    names = sorted(p.stem for p in paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    assert [Path(r.notebook).stem for r in runs] == names
    assert all(r.status == "ok" and r.error is None for r in runs)
    for name in names:
        page = (reports / f"{name}.html").read_text("utf-8")
        assert "Traceback" not in page, f"{name}: an error output in the report"
    index = (reports / "index.html").read_text("utf-8")
    for name in names:
        assert f"{name}.html" in index
    pngs = list((reports / "figures").glob("*.png"))
    assert pngs, "the notebooks write their figures to figures_dir"


def test_reruns_write_identical_tables_side_by_side_or_in_turn(two_runs):
    _, results = two_runs
    first, second = _digests(results[0][0]), _digests(results[1][0])
    assert first, "the notebooks write tables to processed_dir"
    assert first == second


def test_added_report_is_analysed_with_detected_metadata(two_runs):
    raw, results = two_runs
    processed, reports, _ = results[0]
    documents = pd.read_parquet(processed / "documents.parquet")
    assert len(documents) == len(list(raw.glob("*.txt"))) - 1  # all but the empty file
    added = documents.set_index("doc_id").loc[SYNTHETIC.name[:-4]]
    assert added["place"] == "金水区" and added["city"] == "郑州市"
    assert documents.set_index("doc_id").loc[NO_PLACE.name[:-4], "place"].startswith("unknown place")
    metrics = pd.read_parquet(processed / "metrics.parquet")
    assert (metrics["doc_id"] == SYNTHETIC.name[:-4]).sum() >= 10
    # The comparison covers the new place, and its prose counts the reports of this run.
    comparison = next(reports.glob("05_*.html")).read_text("utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", " ", comparison))
    assert "金水区" in text
    assert str(len(documents)) in text


def test_a_skipped_file_is_named_with_its_reason_in_the_findings_the_terminal_prints(two_runs):
    _, results = two_runs
    _, reports, runs = results[0]
    lines = pipeline.notebook_findings(reports / runs[0].executed)
    skipped = [line for line in lines[:2] if EMPTY in line]  # the terminal prints the first two
    assert len(skipped) == 1 and "1 file(s) or record(s) skipped" in skipped[0] and "empty" in skipped[0]
    index = (reports / "index.html").read_text("utf-8")
    assert EMPTY in index
