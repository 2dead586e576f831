"""Processing at scale: the same bytes with 1 job, 2 local processes or a Dask LocalCluster (issue 13)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from analysis import corpus, parallel, paths
from analysis.__main__ import main

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_cluster():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture()
def raw(tmp_path: Path) -> Path:
    target = tmp_path / "raw"
    shutil.copytree(paths.PROJECT_ROOT / "data" / "raw", target)
    return target


def _hashes(folder: Path) -> dict[str, str]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert files, f"{folder} is empty"
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _add_bad_files(raw: Path) -> None:
    (raw / "zz_empty.txt").write_bytes(b"")  # unreadable: skipped when read
    (raw / "zz_footer.txt").write_text("ICP备12345号\n", encoding="utf-8")  # no paragraphs: skipped when cleaned


def test_corpus_tables_identical_for_1_job_2_jobs_and_dask(raw: Path, tmp_path: Path, dask_cluster) -> None:
    outputs = {}
    with distributed.Client(dask_cluster) as client:
        for name, kwargs in {"jobs1": {"jobs": 1}, "jobs2": {"jobs": 2}, "dask": {"dask": client}}.items():
            cleaned = corpus.clean_corpus(raw, batch_size=1, **kwargs)
            corpus.write_corpus_tables(cleaned, tmp_path / name)
            outputs[name] = _hashes(tmp_path / name)
    assert len(cleaned.documents) == 5
    assert "documents.parquet" in outputs["jobs1"] and "paragraphs.csv" in outputs["jobs1"]
    assert outputs["jobs2"] == outputs["jobs1"]
    assert outputs["dask"] == outputs["jobs1"]


def test_metrics_csv_same_for_1_and_2_jobs(raw: Path, capsys) -> None:
    out = {}
    for jobs in ("1", "2"):
        assert main(["metrics", str(raw), "--format", "csv", "--jobs", jobs, "--batch-size", "1"]) == 0
        out[jobs] = capsys.readouterr().out
    assert out["1"].startswith("doc_id,") and out["1"].count("\n") > 50
    assert out["2"] == out["1"]


def test_bad_files_skipped_identically_in_every_mode(raw: Path, tmp_path: Path, dask_cluster, capsys) -> None:
    _add_bad_files(raw)
    modes = {
        "jobs1": ["--jobs", "1"],
        "jobs2": ["--jobs", "2", "--batch-size", "1"],
        "dask": ["--dask", dask_cluster.scheduler_address, "--batch-size", "1"],
    }
    outputs, terminal = {}, {}
    for name, options in modes.items():
        code = main(["corpus", "--raw-dir", str(raw), "--processed-dir", str(tmp_path / name), "--keep-going", *options])
        assert code == 0
        terminal[name] = capsys.readouterr().out.replace(str(tmp_path / name), "<processed>")
        outputs[name] = _hashes(tmp_path / name)
    assert outputs["jobs2"] == outputs["jobs1"] and outputs["dask"] == outputs["jobs1"]
    assert terminal["jobs2"] == terminal["jobs1"] == terminal["dask"]
    assert "7 reports read, 2 skipped" in terminal["jobs1"]
    skipped = (tmp_path / "jobs1" / "skipped.csv").read_text("utf-8")
    assert "zz_empty.txt" in skipped and "zz_footer.txt" in skipped and ",clean," in skipped and ",read," in skipped

    metrics_out = {}
    for jobs in ("1", "2"):
        assert main(["metrics", str(raw), "--keep-going", "--jobs", jobs, "--batch-size", "1"]) == 0
        captured = capsys.readouterr()
        metrics_out[jobs] = captured.out
        assert "7 reports read, 2 skipped" in captured.err
    assert metrics_out["2"] == metrics_out["1"]


def test_a_bad_file_in_a_worker_stops_the_run_naming_it(raw: Path, tmp_path: Path, capsys) -> None:
    (raw / "zz_footer.txt").write_text("ICP备12345号\n", encoding="utf-8")
    code = main(["corpus", "--raw-dir", str(raw), "--processed-dir", str(tmp_path / "p"), "--jobs", "2", "--batch-size", "1"])
    assert code == 2
    err = capsys.readouterr().err
    assert "zz_footer.txt" in err and "no paragraphs left after cleaning" in err
    with pytest.raises(ValueError, match=r"zz_footer\.txt.*no paragraphs left after cleaning"):
        corpus.clean_corpus(raw, jobs=2, batch_size=1)


def test_map_ordered_keeps_input_order_with_a_bounded_window() -> None:
    items = list(range(-40, 0))
    assert list(parallel.map_ordered(abs, items, jobs=2, batch_size=3, window=2)) == [abs(i) for i in items]
    assert list(parallel.map_ordered(abs, [], jobs=2)) == []
    assert parallel.resolve_jobs(None) >= 1 and parallel.resolve_jobs(3) == 3
    with pytest.raises(ValueError, match="jobs"):
        parallel.resolve_jobs(-1)
    assert parallel.progress_enabled(quiet=True) is False


def test_progress_bar_goes_to_stderr_and_dask_is_imported_only_when_asked(capsys) -> None:
    import subprocess
    import sys

    assert list(parallel.map_ordered(abs, [-1, -2, -3], progress=True, total=3, desc="reports cleaned")) == [1, 2, 3]
    captured = capsys.readouterr()
    assert "reports cleaned" in captured.err and "3/3" in captured.err and captured.out == ""
    code = (
        "import sys; import analysis.__main__ as cli; cli.build_parser(['corpus']).parse_args(['corpus', '--jobs', '2']); "
        "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_an_error_raised_in_a_worker_comes_back_with_its_message() -> None:
    from analysis import ingest

    items = [b"\xe5\x85\x9a", b"", b"\xe5\x85\x9a"]
    with pytest.raises(ValueError, match=r"<bytes>: the file is empty"):
        list(parallel.map_ordered(ingest.decode_bytes, items, jobs=2, batch_size=1))


def _add_pages_and_bad_records(raw: Path) -> None:
    """A page (read in a worker: HTML extraction), a JSON Lines file with a bad line and a doc_id used twice, bad files."""
    import json
    import sys

    sys.path.insert(0, str(paths.PROJECT_ROOT / "benchmarks"))
    import html_pages

    reports = sorted(raw.glob("*.txt"))
    page = html_pages.build_page(reports[0].read_text("utf-8"), "legacy", place="中原区", date="2021-06-04")
    (raw / "aa_page.html").write_bytes(page.html.encode("gb18030"))
    records = [
        {"doc_id": "0-jl_one", "text": reports[1].read_text("utf-8"), "place": "召陵区"},
        "{not json",
        {"doc_id": reports[2].stem, "text": "重复的编号"},  # the doc_id of a file read before it
        {"doc_id": "jl_page", "html": html_pages.build_page(reports[3].read_text("utf-8"), "wechat", place="召陵区").html},
    ]
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    (raw / "zz_bulk.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _add_bad_files(raw)


def test_reports_read_in_workers_give_the_same_tables_and_skips_as_reading_in_one_process(
    raw: Path, tmp_path: Path, dask_cluster
) -> None:
    from analysis import ingest

    _add_pages_and_bad_records(raw)
    outputs = {}
    with distributed.Client(dask_cluster) as client:
        for name, kwargs in {"jobs1": {"jobs": 1}, "jobs2": {"jobs": 2}, "dask": {"dask": client}}.items():
            summary = corpus.write_corpus(raw, tmp_path / name, on_error="skip", keep_duplicates=True, batch_size=1, **kwargs)
            outputs[name] = _hashes(tmp_path / name)
            cleaned = corpus.clean_corpus(raw, on_error="skip", keep_duplicates=True, batch_size=1, **kwargs)
            corpus.write_corpus_tables(cleaned, tmp_path / f"{name}_memory")
            assert _hashes(tmp_path / f"{name}_memory") == outputs[name]
    assert outputs["jobs2"] == outputs["jobs1"] and outputs["dask"] == outputs["jobs1"]
    reasons = {(s.path.rsplit("/", 1)[-1], s.record): s.reason for s in summary.skipped}
    assert set(reasons) == {("zz_bulk.jsonl", 2), ("zz_bulk.jsonl", 3), ("zz_empty.txt", None), ("zz_footer.txt", None)}
    assert "is used twice" in reasons[("zz_bulk.jsonl", 3)] and "not valid JSON" in reasons[("zz_bulk.jsonl", 2)]
    documents = corpus.read_documents(tmp_path / "jobs2")
    formats = dict(zip(documents["doc_id"], documents["input_format"], strict=True))
    assert formats["aa_page"] == formats["jl_page"] == "html" and formats["0-jl_one"] == "text"
    assert (tmp_path / "jobs2" / corpus.EXTRACTED_DIR_NAME / "aa_page.txt").is_file()
    assert {"aa_page", "0-jl_one", "jl_page"} <= {d for p in summary.duplicates for d in (p.doc_id, p.duplicate_of)}  # copies of bundled reports

    # Stopping on errors: the first report that cannot be read, in file order, whatever the mode; same type and message.
    errors = {}
    for name, kwargs in {"jobs1": {"jobs": 1}, "jobs2": {"jobs": 2}}.items():
        with pytest.raises(ingest.InputError) as caught:
            corpus.write_corpus(raw, tmp_path / f"{name}_raise", batch_size=1, **kwargs)
        errors[name] = str(caught.value)
        assert not (tmp_path / f"{name}_raise").exists()
    assert errors["jobs2"] == errors["jobs1"]
    assert "zz_bulk.jsonl, line 2" in errors["jobs1"] and "not valid JSON" in errors["jobs1"]


def test_metrics_reads_pages_and_records_in_workers_as_in_one_process(raw: Path, capsys) -> None:
    _add_pages_and_bad_records(raw)
    out = {}
    for jobs in ("1", "2"):
        assert main(["metrics", str(raw), "--keep-going", "--all-columns", "--jobs", jobs, "--batch-size", "1"]) == 0
        captured = capsys.readouterr()
        out[jobs] = captured.out
        assert "12 reports read, 4 skipped" in captured.err
    assert out["2"] == out["1"]
    assert "\naa_page," in out["1"] and "\njl_page," in out["1"] and "\n0-jl_one," in out["1"]
    assert main(["metrics", str(raw), "--jobs", "2", "--batch-size", "1"]) == 2
    assert "zz_bulk.jsonl, line 2" in capsys.readouterr().err


def test_a_report_to_read_travels_to_a_worker_and_its_failure_back() -> None:
    import pickle

    from analysis import ingest

    source = ingest.Source(path=Path("x/a.txt"), doc_id="a")
    assert pickle.loads(pickle.dumps(source)) == source
    failure = ingest.read_source(ingest.Source(path=paths.PROJECT_ROOT / "pyproject.toml", doc_id="p", record={"doc_id": "p", "html": None, "text": ""}, line=4))
    assert isinstance(failure, ingest.ReadFailure) and failure.line == 4 and failure.doc_id == "p"
    back = pickle.loads(pickle.dumps(failure))
    assert back == failure and isinstance(back.error(), ingest.InputError)
    assert parallel.read_clean_and_fingerprint(failure) is failure


def test_results_read_elsewhere_are_admitted_in_input_order_and_closed_when_abandoned(raw: Path) -> None:
    from analysis import ingest

    _add_pages_and_bad_records(raw)
    closed = []

    def read_elsewhere(sources):  # as workers would: each result a tuple with the Document first, or the ReadFailure
        try:
            for source in sources:
                found = ingest.read_source(source)
                yield found if isinstance(found, ingest.ReadFailure) else (found, "cleaned")
        finally:
            closed.append(True)

    reader = ingest.CorpusReader(raw, on_error="skip")
    admitted = list(ingest.admit_in_order(reader.admit, reader.sources(), read_elsewhere))
    assert [item for item, _ in admitted] == list(ingest.iter_corpus(raw, on_error="skip"))
    assert all(result[1] == "cleaned" for item, result in admitted if isinstance(item, ingest.Document))
    reused = [item for item, _ in admitted if isinstance(item, ingest.SkippedFile) and "is used twice" in item.reason]
    assert [(Path(s.path).name, s.record) for s in reused] == [("zz_bulk.jsonl", 3)]  # the later source's file, not the first one's
    assert closed == [True]

    closed.clear()
    again = ingest.CorpusReader(raw, on_error="skip")
    results = ingest.admit_in_order(again.admit, again.sources(), read_elsewhere)
    next(results)
    results.close()
    assert closed == [True]


def test_a_worker_sends_back_table_rows_and_the_text_only_of_an_extracted_report(raw: Path) -> None:
    import pickle

    from analysis import clean, ingest

    _add_pages_and_bad_records(raw)
    sources = {Path(s.path).name: s for s in ingest.iter_sources([raw]) if isinstance(s, ingest.Source) and s.record is None}
    for name, keeps_text in (("aa_page.html", True), (sorted(n for n in sources if n.endswith(".txt"))[0], False)):
        document, rows, text, print_ = pickle.loads(pickle.dumps(parallel.read_clean_and_rows(sources[name])))
        read = ingest.read_source(sources[name])
        doc = clean.clean_document(read)
        assert rows == corpus.report_rows(doc, read) and rows["paragraphs"] and print_ is not None
        assert (document.raw_text == read.raw_text) if keeps_text else (document.raw_text == "" and read.raw_text)
        assert rows["documents"][0][list(corpus.DOCUMENT_COLUMNS).index("n_raw_chars")] == len(read.raw_text)


def _whole_table_output(raw: Path, what: str, fmt: str, all_columns: bool) -> str:
    """What ``metrics`` printed before it streamed: one table of every report's rows, formatted at once."""
    import pandas as pd

    from analysis import clean, ingest, metrics

    rules = clean.load_rules()
    documents = [d for d in ingest.iter_documents([raw], on_error="skip") if not isinstance(d, ingest.SkippedFile)]
    results = [r for n, r in (parallel.clean_and_measure(d, rules=rules, what=what) for d in documents) if n]
    if what == "excluded":
        frame = metrics.excluded_to_frame(x for found in results for x in found)
        columns = ["doc_id", "start", "end", "surface", "reason"] + (["para_id", "sentence"] if all_columns else [])
        frame = frame[columns]
    else:
        frame = pd.concat(results, ignore_index=True) if what == "explain" else metrics.mentions_to_frame(m for f in results for m in f)
        columns = list(metrics.METRIC_COLUMNS) if not all_columns else list(frame.columns)
        if what == "explain" and not all_columns:
            columns += list(metrics.EXPLAIN_COLUMNS)
        frame = frame[columns].copy()
        if fmt == "csv":
            frame["is_rate"] = ["true" if bool(v) else "false" for v in frame["is_rate"]]
    if fmt == "csv":
        return frame.to_csv(index=False, lineterminator="\n")
    return frame.to_json(orient="records", force_ascii=False, indent=2) + "\n"


@pytest.mark.parametrize("what", ["mentions", "explain", "excluded"])
def test_metrics_prints_from_sorted_runs_what_one_whole_table_would_print(raw: Path, capsys, what: str) -> None:
    from analysis import __main__ as cli

    _add_pages_and_bad_records(raw)
    flags = {"mentions": [], "explain": ["--explain"], "excluded": ["--excluded"]}[what]
    for fmt in ("csv", "json"):
        for all_columns in (False, True):
            expected = _whole_table_output(raw, what, fmt, all_columns)
            argv = ["metrics", str(raw), "--keep-going", "--format", fmt, "--jobs", "1", *flags, *(["--all-columns"] if all_columns else [])]
            args = cli.build_parser(argv).parse_args(argv)
            assert cli._cmd_metrics(args, run_reports=2, range_reports=3) == 0  # 6 runs, 4 ranges of doc_ids
            assert capsys.readouterr().out == expected, (fmt, all_columns)
    assert expected.count('"doc_id"') > 20


def test_metrics_of_reports_without_rows_prints_the_header_or_an_empty_list(tmp_path: Path, capsys) -> None:
    (tmp_path / "a.txt").write_text("通知\n\n全区党员干部深入学习党史。\n", encoding="utf-8")  # no number at all
    assert main(["metrics", str(tmp_path)]) == 0
    assert capsys.readouterr().out == _whole_table_output(tmp_path, "mentions", "csv", False)
    assert main(["metrics", str(tmp_path), "--format", "json"]) == 0
    assert capsys.readouterr().out == _whole_table_output(tmp_path, "mentions", "json", False) == "[\n\n]\n"
