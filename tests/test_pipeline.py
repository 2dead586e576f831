"""Tests of analysis.pipeline on tiny throwaway notebooks executed in the project kernel."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from analysis import paths, pipeline, webfont
from analysis.errors import InputError

SCRIPT_CELL = "<script>alert(1)</script>"
SCRIPT_MD = "<script>alert(2)</script>"


def _notebook(path: Path, cells: list) -> Path:
    nb = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "analysis", "display_name": "Python (analysis)", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"  # stable ids, as committed notebooks have
    nbformat.write(nb, path)
    return path


def _params_cell(source: str):
    cell = new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    return cell


def _log_cell(name: str):
    return new_code_cell(f"with open('order.txt', 'a', encoding='utf-8') as fh:\n    fh.write('{name}\\n')")


def _make_notebooks(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _notebook(
        folder / "01_tables.ipynb",
        [
            new_markdown_cell("# 第一份 report: tables & figures"),
            _params_cell("n = 1\nlabel = 'default'"),
            _log_cell("01"),
            new_code_cell(
                "import pandas as pd\n"
                "from IPython.display import Markdown, display\n"
                "from analysis import figures\n"
                "figures.setup_cjk_font()\n"
                f"quote = {SCRIPT_MD!r}\n"
                "display(Markdown(f'n is **{n}**, label {label}, quote {quote}'))\n"
                f"pd.DataFrame({{'text': [{SCRIPT_CELL!r}, '党史学习教育'], 'n': [n, n + 1]}})"
            ),
            new_code_cell(
                "figures.plot_bar(pd.DataFrame({'place': ['中原区', '召陵区'], 'v': [1, 2]}), "
                "category='place', value='v', title='党史学习教育')"
            ),
        ],
    )
    _notebook(
        folder / "02_second.ipynb",
        [
            _params_cell("n = 1"),
            _log_cell("02"),
            new_code_cell("open('n_value.txt', 'w').write(f'{n!r} {type(n).__name__}')\nprint(n * 2)"),
        ],
    )
    # Not run by the pipeline: scratch (leading _) and unnumbered notebooks would fail if run.
    _notebook(folder / "_scratch.ipynb", [new_code_cell("raise RuntimeError('scratch must not run')")])
    _notebook(folder / "notes.ipynb", [new_code_cell("raise RuntimeError('unnumbered must not run')")])
    return folder


def _order(notebooks_dir: Path) -> list[str]:
    path = notebooks_dir / "order.txt"
    return path.read_text().split() if path.exists() else []


class _Loads(HTMLParser):
    """Collect every src/href of script, link, img, iframe (what a browser fetches on load)."""

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "data") and tag in ("script", "link", "img", "iframe", "embed", "object"):
                self.urls.append((tag, value or ""))


def _loads(text: str) -> list[tuple[str, str]]:
    parser = _Loads()
    parser.feed(text)
    return parser.urls


def _strip_run_metadata(path: Path) -> dict:
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["metadata"].pop("papermill", None)
    for cell in nb["cells"]:
        cell["metadata"].pop("papermill", None)
        cell["metadata"].pop("execution", None)
    return nb


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One full run of two notebooks, with a parameters file and overrides."""
    root = tmp_path_factory.mktemp("pipeline")
    notebooks_dir = _make_notebooks(root / "notebooks")
    reports_dir = root / "reports"
    params_file = root / "params.yml"
    params_file.write_text("n: 3\nlabel: from the file\n", encoding="utf-8")
    runs = pipeline.run_notebooks(
        notebooks_dir=notebooks_dir,
        reports_dir=reports_dir,
        params={"n": 5, "label": "<b>bold</b>"},
        params_file=params_file,
    )
    snapshot = root / "snapshot"
    shutil.copytree(reports_dir, snapshot)
    return {"root": root, "notebooks": notebooks_dir, "reports": reports_dir, "runs": runs, "snapshot": snapshot}


# ---------------------------------------------------------------- full run


def test_runs_numbered_notebooks_in_order_and_skips_others(run):
    assert [r.notebook for r in run["runs"]] == ["01_tables.ipynb", "02_second.ipynb"]
    assert all(r.status == "ok" for r in run["runs"])
    assert _order(run["notebooks"])[:2] == ["01", "02"]
    executed = sorted(p.name for p in (run["snapshot"] / "executed").glob("*.ipynb"))
    assert executed == ["01_tables.ipynb", "02_second.ipynb"]


def test_parameters_injected_with_overrides_and_types(run):
    assert (run["notebooks"] / "n_value.txt").read_text() == "5 int"
    first, second = run["runs"]
    assert first.parameters == {"label": "<b>bold</b>", "n": 5}
    assert second.parameters == {"n": 5}  # only what its parameters cell declares
    nb = nbformat.read(run["snapshot"] / "executed" / "01_tables.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "n = 5" in injected[0].source


def test_source_notebooks_untouched(run):
    for path in run["notebooks"].glob("0*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name


def test_html_reader_and_full_versions(run):
    reader = (run["snapshot"] / "01_tables.html").read_text(encoding="utf-8")
    full = (run["snapshot"] / "01_tables.full.html").read_text(encoding="utf-8")
    assert "plot_bar" in full and "plot_bar" not in reader  # code only in the full page
    for page in (reader, full):
        assert "data:image/png;base64," in page  # the figure is embedded
        assert 'alt="党史学习教育 / v"' in page  # with alternative text from its title and labels
        assert "党史学习教育" in page
        assert "<strong>5</strong>" in page  # Markdown output rendered, with the injected value


def test_html_embeds_the_cjk_font_cut_down_to_the_page(run):
    # Chinese text must read on a machine without any CJK font: every CJK character of
    # a page is in the font embedded in it, and the report CSS names that font first.
    import base64
    import io

    from fontTools.ttLib import TTFont

    for name in ("01_tables.html", "01_tables.full.html"):
        page = (run["snapshot"] / name).read_text(encoding="utf-8")
        match = re.search(
            r'@font-face \{ font-family: "Report CJK"; src: url\(data:font/(?:otf|ttf);base64,([A-Za-z0-9+/=]+)\)', page
        )
        assert match, name
        cmap = TTFont(io.BytesIO(base64.b64decode(match.group(1)))).getBestCmap()
        cjk = {c for c in re.sub(r"data:[^)\"]+", "", page) if ord(c) >= 0x2E80}
        assert cjk and all(ord(c) in cmap for c in cjk), sorted(c for c in cjk if ord(c) not in cmap)
        assert len(cmap) < 2 * len(cjk) + 10  # cut down, not the whole 65,000-glyph font
        assert re.search(r'font-family: "Report CJK", system-ui', page)
    assert webfont.font_face("only ASCII text") == ""


def test_html_loads_nothing_from_the_network(run):
    pages = sorted(run["snapshot"].glob("*.html"))
    assert len(pages) == 5  # 2 notebooks x (reader, full) + index
    for page in pages:
        text = page.read_text(encoding="utf-8")
        loads = _loads(text)
        network = [(tag, url) for tag, url in loads if re.match(r"^\s*(https?:)?//", url, re.IGNORECASE)]
        assert network == [], page.name
        assert "require.min.js" not in text and "cdnjs.cloudflare.com" not in text, page.name
        assert not re.search(r"<script[^>]*\bsrc=", text), page.name
        pipeline.check_offline_html(text, source=page.name)


def test_corpus_text_is_escaped_in_html(run):
    for name in ("01_tables.html", "01_tables.full.html"):
        text = (run["snapshot"] / name).read_text(encoding="utf-8")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, name  # DataFrame cell
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in text, name  # Markdown output
        assert "<script>alert(" not in text, name
        assert "<b>bold</b>" not in text, name


def test_index_lists_reports_with_date_commit_parameters(run):
    index = (run["snapshot"] / "index.html").read_text(encoding="utf-8")
    for href in ("01_tables.html", "01_tables.full.html", "02_second.html", "02_second.full.html"):
        assert f'href="{href}"' in index
    assert "第一份 report: tables &amp; figures" in index  # title from the first heading, escaped
    assert re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", index)
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=paths.PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        sha = "unknown"
    assert sha in index
    assert "n = 5" in index
    assert "label = &quot;&lt;b&gt;bold&lt;/b&gt;&quot;" in index
    assert "_scratch" not in index and "notes" not in index


def test_rerun_gives_identical_html(run):
    pipeline.run_notebooks(
        notebooks_dir=run["notebooks"],
        reports_dir=run["reports"],
        params={"n": 5, "label": "<b>bold</b>"},
        params_file=run["root"] / "params.yml",
        only=["01"],
    )
    for name in ("01_tables.html", "01_tables.full.html"):
        assert (run["reports"] / name).read_bytes() == (run["snapshot"] / name).read_bytes(), name


def test_only_runs_just_that_notebook(run):
    before = _order(run["notebooks"])
    runs = pipeline.run_notebooks(
        notebooks_dir=run["notebooks"], reports_dir=run["reports"], params={"n": 7}, params_file=None, only=["02"]
    )
    assert [r.notebook for r in runs] == ["02_second.ipynb"]
    assert _order(run["notebooks"]) == [*before, "02"]
    assert (run["notebooks"] / "n_value.txt").read_text() == "7 int"


def test_from_runs_that_notebook_and_later(run):
    before = _order(run["notebooks"])
    args = argparse.ArgumentParser()
    pipeline.add_run_arguments(args)
    ns = args.parse_args(
        ["--from", "02_second", "-p", "n", "0.5", "-f", str(run["root"] / "params.yml"),
         "--notebooks-dir", str(run["notebooks"]), "--reports-dir", str(run["reports"])]
    )  # fmt: skip
    assert pipeline.run_from_args(ns) == 0
    assert _order(run["notebooks"]) == [*before, "02"]
    assert (run["notebooks"] / "n_value.txt").read_text() == "0.5 float"


# ---------------------------------------------------------------- failure


def test_failure_stops_names_notebook_and_cell_and_keeps_earlier_outputs(tmp_path, capsys):
    notebooks_dir = tmp_path / "notebooks"
    notebooks_dir.mkdir()
    _notebook(notebooks_dir / "01_ok.ipynb", [_params_cell("n = 1"), _log_cell("01")])
    _notebook(
        notebooks_dir / "02_fails.ipynb",
        [_params_cell("n = 1"), _log_cell("02"), new_code_cell("x = n + 1\nraise ValueError(f'boom {x}')")],
    )
    _notebook(notebooks_dir / "03_never.ipynb", [_log_cell("03")])
    reports_dir = tmp_path / "reports"
    (reports_dir).mkdir()
    (reports_dir / "02_fails.html").write_text("stale page of an earlier run")
    parser = pipeline.add_run_arguments(argparse.ArgumentParser())
    ns = parser.parse_args(
        ["-p", "n", "41", "-f", str(tmp_path / "none.yml"), "--notebooks-dir", str(notebooks_dir),
         "--reports-dir", str(reports_dir)]
    )  # fmt: skip
    assert pipeline.run_from_args(ns) == 2  # missing parameters file: a usage error, nothing ran
    assert "none.yml" in capsys.readouterr().err
    assert _order(notebooks_dir) == []

    ns.params_file = None
    assert pipeline.run_from_args(ns) == 1
    err = capsys.readouterr().err
    print(err)
    assert "02_fails.ipynb" in err
    assert "cell 3" in err  # index in the executed copy (after the injected-parameters cell)
    assert "x = n + 1" in err  # first line of the failing cell
    assert "ValueError: boom 42" in err
    assert _order(notebooks_dir) == ["01", "02"]  # stopped: 03 never ran
    assert (reports_dir / "01_ok.html").is_file() and (reports_dir / "01_ok.full.html").is_file()
    assert not (reports_dir / "02_fails.html").exists()  # no stale page left for the failed notebook
    assert (reports_dir / "executed" / "02_fails.ipynb").is_file()  # with the traceback
    record = json.loads((reports_dir / "executed" / "02_fails.run.json").read_text())
    assert record["status"] == "failed" and "boom 42" in record["error"]
    index = (reports_dir / "index.html").read_text(encoding="utf-8")
    assert 'href="01_ok.html"' in index and "failed" in index and "not run" in index


def test_export_failure_stops_the_run_and_is_recorded_for_its_notebook(tmp_path):
    notebooks_dir = tmp_path / "notebooks"
    notebooks_dir.mkdir()
    _notebook(
        notebooks_dir / "01_script.ipynb",
        [_log_cell("01"), new_code_cell("from IPython.display import Javascript\nJavascript('alert(1)')")],
    )
    _notebook(notebooks_dir / "02_never.ipynb", [_log_cell("02")])
    reports_dir = tmp_path / "reports"
    with pytest.raises(pipeline.NotebookError, match="01_script.ipynb could not be exported.*JavaScript") as info:
        pipeline.run_notebooks(notebooks_dir=notebooks_dir, reports_dir=reports_dir, params_file=None)
    assert info.value.notebook.name == "01_script.ipynb"
    assert _order(notebooks_dir) == ["01"]
    records = {p.name: json.loads(p.read_text()) for p in (reports_dir / "executed").glob("*.run.json")}
    assert set(records) == {"01_script.run.json"} and records["01_script.run.json"]["status"] == "failed"
    assert not (reports_dir / "01_script.html").exists()


def _needs(path: Path, needs: list[str]) -> Path:
    nb = nbformat.read(path, as_version=4)
    nb.metadata["analysis"] = {"needs": needs}
    nbformat.write(nb, path)
    return path


def _span_cell(name: str, seconds: float):
    # Appends "<name> start <t>" and "<name> end <t>" (wall clock) around a sleep.
    return new_code_cell(
        "import time\n"
        f"with open('spans.txt', 'a', encoding='utf-8') as fh:\n    fh.write(f'{name} start {{time.time()}}\\n')\n"
        f"time.sleep({seconds})\n"
        f"with open('spans.txt', 'a', encoding='utf-8') as fh:\n    fh.write(f'{name} end {{time.time()}}\\n')"
    )


def _spans(notebooks_dir: Path) -> dict[str, tuple[float, float]]:
    times: dict[str, dict[str, float]] = {}
    for line in (notebooks_dir / "spans.txt").read_text().splitlines():
        name, what, when = line.split()
        times.setdefault(name, {})[what] = float(when)
    return {name: (t["start"], t["end"]) for name, t in times.items()}


def test_notebooks_that_need_only_earlier_ones_run_alongside_each_other(tmp_path):
    # 02 and 03 need only 01, so with two jobs they overlap; 04 declares nothing, so it
    # waits for every earlier notebook. With one job the same notebooks run one by one.
    notebooks_dir = tmp_path / "notebooks"
    notebooks_dir.mkdir()
    _needs(_notebook(notebooks_dir / "01_first.ipynb", [_span_cell("01", 0.1)]), [])
    # Long enough to overlap although each worker process starts its own kernel.
    _needs(_notebook(notebooks_dir / "02_left.ipynb", [_span_cell("02", 5)]), ["01"])
    _needs(_notebook(notebooks_dir / "03_right.ipynb", [_span_cell("03", 5)]), ["01_first"])
    _notebook(notebooks_dir / "04_last.ipynb", [_span_cell("04", 0.1)])
    runs = pipeline.run_notebooks(notebooks_dir=notebooks_dir, reports_dir=tmp_path / "r2", params_file=None, jobs=2)
    assert [r.notebook for r in runs] == ["01_first.ipynb", "02_left.ipynb", "03_right.ipynb", "04_last.ipynb"]
    assert all(r.status == "ok" for r in runs)
    spans = _spans(notebooks_dir)
    assert spans["02"][0] >= spans["01"][1] and spans["03"][0] >= spans["01"][1]
    assert spans["02"][0] < spans["03"][1] and spans["03"][0] < spans["02"][1]  # overlapping
    assert spans["04"][0] >= max(spans["02"][1], spans["03"][1])
    assert all((tmp_path / "r2" / f"{nb.stem}.html").is_file() for nb in notebooks_dir.glob("0*.ipynb"))

    (notebooks_dir / "spans.txt").unlink()
    pipeline.run_notebooks(notebooks_dir=notebooks_dir, reports_dir=tmp_path / "r1", params_file=None, jobs=1)
    spans = sorted(_spans(notebooks_dir).items(), key=lambda item: item[1][0])
    assert [name for name, _ in spans] == ["01", "02", "03", "04"]
    assert all(later[1][0] >= earlier[1][1] for earlier, later in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize(("jobs", "expected"), [
    (2, ["01_first", "04_c", "03_b", "02_a"]),
    (1, ["01_first", "02_a", "03_b", "04_c"]),  # one at a time: run order, whatever the records say
])
def test_the_ready_notebook_with_the_longest_last_run_starts_first(tmp_path, jobs, expected):
    # 02-04 need only 01 and two may run at once. The last run's records say 04 took longest, then 03:
    # 04 and 03 start before 02 (without records they start in run order, as the test above shows).
    notebooks_dir = tmp_path / "notebooks"
    notebooks_dir.mkdir()
    _needs(_notebook(notebooks_dir / "01_first.ipynb", [_log_cell("01")]), [])
    for name in ("02_a", "03_b", "04_c"):
        _needs(_notebook(notebooks_dir / f"{name}.ipynb", [_log_cell(name[:2])]), ["01"])
    executed = tmp_path / "reports" / "executed"
    executed.mkdir(parents=True)
    # 02's record is of a failed run, so its 90 s is no estimate and it counts 0 s.
    for stem, status, seconds in (("01_first", "ok", 1.0), ("02_a", "failed", 90.0), ("03_b", "ok", 30.0),
                                  ("04_c", "ok", 60.0)):
        record = {"status": status, "duration_s": seconds}
        (executed / f"{stem}.run.json").write_text(json.dumps(record), encoding="utf-8")
    lines: list[str] = []
    pipeline.run_notebooks(notebooks_dir=notebooks_dir, reports_dir=tmp_path / "reports", params_file=None, jobs=jobs,
                           progress=lines.append)
    assert [line.split()[1] for line in lines if line.startswith("running ")] == expected
    assert sorted(_order(notebooks_dir)) == ["01", "02", "03", "04"]


def test_a_failure_lets_running_notebooks_finish_and_starts_no_other(tmp_path):
    notebooks_dir = tmp_path / "notebooks"
    notebooks_dir.mkdir()
    _needs(_notebook(notebooks_dir / "01_first.ipynb", [_log_cell("01")]), [])
    _needs(_notebook(notebooks_dir / "02_fails.ipynb", [_log_cell("02"), new_code_cell("raise ValueError('boom')")]),
           ["01"])
    _needs(_notebook(notebooks_dir / "03_slow.ipynb", [_span_cell("03", 1.0), _log_cell("03")]), ["01"])
    _needs(_notebook(notebooks_dir / "04_never.ipynb", [_log_cell("04")]), ["01"])
    reports_dir = tmp_path / "reports"
    with pytest.raises(pipeline.NotebookError, match="02_fails.ipynb failed in cell") as info:
        pipeline.run_notebooks(notebooks_dir=notebooks_dir, reports_dir=reports_dir, params_file=None, jobs=2)
    assert info.value.notebook.name == "02_fails.ipynb"
    assert sorted(_order(notebooks_dir)) == ["01", "02", "03"]  # 03 was running and finished; 04 never started
    records = {p.name: json.loads(p.read_text())["status"] for p in (reports_dir / "executed").glob("*.run.json")}
    assert records == {"01_first.run.json": "ok", "02_fails.run.json": "failed", "03_slow.run.json": "ok"}
    assert (reports_dir / "03_slow.html").is_file() and not (reports_dir / "02_fails.html").exists()
    index = (reports_dir / "index.html").read_text(encoding="utf-8")
    assert "04_never" in index and "not run" in index


@pytest.mark.parametrize(
    ("needs", "problem"),
    [
        ("01", "must be a list"),
        (["09"], "matches no notebook"),
        (["02"], "not an earlier notebook"),
        (["03"], "not an earlier notebook"),
        ([1], "must be a list"),
    ],
)
def test_bad_needs_metadata_is_an_error_naming_the_notebook(tmp_path, needs, problem):
    notebooks_dir = tmp_path / "notebooks"
    notebooks_dir.mkdir()
    _notebook(notebooks_dir / "01_first.ipynb", [_log_cell("01")])
    bad = _notebook(notebooks_dir / "02_bad.ipynb", [_log_cell("02")])
    _notebook(notebooks_dir / "03_third.ipynb", [_log_cell("03")])
    nb = nbformat.read(bad, as_version=4)
    nb.metadata["analysis"] = {"needs": needs}
    nbformat.write(nb, bad)
    with pytest.raises(InputError, match=problem) as info:
        pipeline.run_notebooks(notebooks_dir=notebooks_dir, reports_dir=tmp_path / "reports", params_file=None)
    assert "02_bad.ipynb" in str(info.value)
    assert _order(notebooks_dir) == []  # checked before anything ran


def test_jobs_must_be_a_positive_integer(tmp_path):
    notebooks_dir = tmp_path / "notebooks"
    notebooks_dir.mkdir()
    _notebook(notebooks_dir / "01_first.ipynb", [_log_cell("01")])
    for jobs in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="`jobs`"):
            pipeline.run_notebooks(notebooks_dir=notebooks_dir, reports_dir=tmp_path / "r", params_file=None, jobs=jobs)
    assert _order(notebooks_dir) == []


def test_committed_notebooks_declare_what_they_need():
    # The study's notebooks declare their inputs, so that 02-04 may run side by side.
    needs = pipeline.notebook_needs(pipeline.discover_notebooks(paths.NOTEBOOKS_DIR))
    by_stem = {nb.stem: [p.stem for p in before] for nb, before in needs.items()}
    assert by_stem["01_corpus"] == []
    for stem in ("02_topics", "03_metrics", "04_language"):
        assert by_stem[stem] == ["01_corpus"]
    assert by_stem["05_comparison"] == ["01_corpus", "02_topics", "03_metrics", "04_language"]


def test_missing_kernel_is_a_notebook_error_and_unused_parameter_warns(tmp_path, caplog):
    notebooks_dir = tmp_path / "nb"
    notebooks_dir.mkdir()
    _notebook(notebooks_dir / "01_a.ipynb", [_params_cell("n = 1")])
    with caplog.at_level(logging.WARNING, logger="analysis.pipeline"):
        with pytest.raises(pipeline.NotebookError, match=r"01_a\.ipynb.*no-such-kernel"):
            pipeline.run_notebooks(
                notebooks_dir=notebooks_dir,
                reports_dir=tmp_path / "reports",
                params={"n": 2, "typo_param": 1},
                params_file=None,
                kernel_name="no-such-kernel",
            )
    assert "typo_param" in caplog.text and "no effect" in caplog.text


# ---------------------------------------------------------------- units without a kernel


def test_discover_and_select(tmp_path):
    folder = _make_notebooks(tmp_path / "nb")
    (folder / "03_third.ipynb").write_text((folder / "02_second.ipynb").read_text())
    found = pipeline.discover_notebooks(folder)
    assert [p.name for p in found] == ["01_tables.ipynb", "02_second.ipynb", "03_third.ipynb"]
    assert [p.name for p in pipeline.select_notebooks(found, only=["03", "01_tables"])] == [
        "01_tables.ipynb",
        "03_third.ipynb",
    ]
    assert [p.name for p in pipeline.select_notebooks(found, from_="02")] == ["02_second.ipynb", "03_third.ipynb"]
    assert pipeline.select_notebooks(found, only="02_second.ipynb") == [folder / "02_second.ipynb"]
    with pytest.raises(ValueError, match="mutually exclusive"):
        pipeline.select_notebooks(found, only=["01"], from_="02")
    with pytest.raises(ValueError, match="'09' matches no notebook.*01_tables.ipynb"):
        pipeline.select_notebooks(found, only=["09"])
    with pytest.raises(ValueError, match="'7' matches no notebook"):
        pipeline.select_notebooks(found, from_="7")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        pipeline.discover_notebooks(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no NN_"):
        pipeline.discover_notebooks(empty)


def test_cli_only_and_from_are_mutually_exclusive():
    parser = pipeline.add_run_arguments(argparse.ArgumentParser())
    with pytest.raises(SystemExit):
        parser.parse_args(["--only", "01", "--from", "02"])
    ns = parser.parse_args(["--only", "01", "03", "-p", "k", "8", "-p", "name", "中原区", "-p", "flag", "true"])
    assert ns.only == ["01", "03"]
    assert {k: pipeline._parse_value(v) for k, v in ns.param} == {"k": 8, "name": "中原区", "flag": True}


def test_load_params_errors(tmp_path):
    good = tmp_path / "good.yml"
    good.write_text("k: 8\nplaces: [中原区, 召陵区]\n", encoding="utf-8")
    assert pipeline.load_params(good) == {"k": 8, "places": ["中原区", "召陵区"]}
    listing = tmp_path / "list.yml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(InputError, match="list.yml.*mapping"):
        pipeline.load_params(listing)
    bad_key = tmp_path / "bad.yml"
    bad_key.write_text("not an identifier: 1\n")
    with pytest.raises(InputError, match="identifiers"):
        pipeline.load_params(bad_key)
    with pytest.raises(FileNotFoundError, match="absent.yml"):
        pipeline.load_params(tmp_path / "absent.yml")


def test_two_parameters_cells_rejected(tmp_path):
    path = _notebook(tmp_path / "01_x.ipynb", [_params_cell("a = 1"), _params_cell("b = 2")])
    with pytest.raises(InputError, match="2 cells are tagged 'parameters'"):
        pipeline.notebook_parameters(path)
    assert pipeline.notebook_parameters(_notebook(tmp_path / "02_y.ipynb", [_params_cell("a = 1\nb = 'x'")])) == {
        "a": "1",
        "b": "'x'",
    }


def test_never_executes_in_place(tmp_path):
    path = _notebook(tmp_path / "01_x.ipynb", [_params_cell("a = 1")])
    with pytest.raises(ValueError, match="in place"):
        pipeline.execute_notebook(path, path)


def test_the_kernels_own_log_stays_off_the_terminal_and_cell_output_does_not(tmp_path, capfd):
    # jupyter_client interrupts every kernel before shutting it down; ipykernel logs that at ERROR
    # level when it lands mid-message. The kernel's own log is kept off the terminal, what the cells
    # print is kept in the executed notebook.
    pipeline.ensure_kernel()
    path = _notebook(tmp_path / "01_x.ipynb", [new_code_cell(
        "from ipykernel.kernelapp import IPKernelApp\n"
        "IPKernelApp.instance().log.error('kernel log line')\n"
        "print('cell output line')"
    )])
    executed = pipeline.execute_notebook(path, tmp_path / "out" / "01_x.ipynb")
    captured = capfd.readouterr()
    assert "kernel log line" not in captured.err + captured.out
    outputs = nbformat.read(executed, as_version=4).cells[0].outputs
    assert [o.get("text") for o in outputs] == ["cell output line\n"]


def test_ensure_kernel_installs_into_prefix_once(tmp_path):
    import sys

    spec_dir = pipeline.ensure_kernel(kernel_name="analysis-test", prefix=tmp_path)
    assert spec_dir == tmp_path / "share" / "jupyter" / "kernels" / "analysis-test"
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    assert spec["env"]["PYTHONHASHSEED"] == "0"
    mtime = (spec_dir / "kernel.json").stat().st_mtime_ns
    pipeline.ensure_kernel(kernel_name="analysis-test", prefix=tmp_path)
    assert (spec_dir / "kernel.json").stat().st_mtime_ns == mtime  # already up to date: untouched


def _executed_with_output(tmp_path: Path, output) -> Path:
    cell = new_code_cell("x", execution_count=1)
    cell["id"] = "c0"
    cell.outputs = [output]
    nb = new_notebook(cells=[cell], metadata={"language_info": {"name": "python"}})
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize(
    "data",
    [
        {"text/html": "<div><script>alert(1)</script></div>", "text/plain": "x"},
        {"text/html": '<img src="x.png" onerror="alert(1)">', "text/plain": "x"},
        {"application/javascript": "alert(1)", "text/plain": "x"},
    ],
)
def test_export_refuses_unescaped_scripts(tmp_path, data):
    path = _executed_with_output(tmp_path, new_output("display_data", data=data))
    with pytest.raises(pipeline.ReportSafetyError, match="01_x.ipynb: cell 0"):
        pipeline.export_html(path, reports_dir=tmp_path / "reports")
    assert not list((tmp_path).glob("reports/*.html"))


def test_code_input_with_markup_is_escaped_in_the_full_page(tmp_path):
    cell = new_code_cell('s = "</div><script>alert(1)</script><b onclick=\'x()\'>"  # <i>', execution_count=1)
    cell["id"] = "c0"
    path = tmp_path / "01_x.ipynb"
    nbformat.write(new_notebook(cells=[cell], metadata={"language_info": {"name": "python"}}), path)
    reader, full = pipeline.export_html(path, reports_dir=tmp_path / "reports")
    text = full.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;i&gt;" in text
    assert "<script>alert(" not in text and "<b onclick" not in text and "<i>" not in text
    assert "alert(1)" not in reader.read_text(encoding="utf-8")  # the reader page has no code


def test_export_keeps_escaped_html_tables(tmp_path):
    table = "<table><tr><td>&lt;script&gt;alert(1)&lt;/script&gt;</td></tr></table>"
    path = _executed_with_output(tmp_path, new_output("display_data", data={"text/html": table, "text/plain": "t"}))
    reader, full = pipeline.export_html(path, reports_dir=tmp_path)
    assert table in reader.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "page",
    [
        '<script src="https://cdn.example.org/x.js"></script>',
        '<script src="//cdn.example.org/x.js"></script>',
        '<link rel="stylesheet" href="http://example.org/a.css">',
        "<style>@import url('https://fonts.example.org/f.css');</style>",
        '<img src="https://example.org/a.png">',
    ],
)
def test_check_offline_html_detects_network_loads(page):
    with pytest.raises(pipeline.ReportSafetyError, match="network"):
        pipeline.check_offline_html(f"<html><head>{page}</head><body></body></html>", source="t.html")


def test_check_offline_html_allows_links_and_data_uris():
    pipeline.check_offline_html(
        '<a href="https://example.org">source</a><img src="data:image/png;base64,AAAA"><script>var a=1;</script>'
    )


def test_file_parameter_of_a_notebook_not_selected_does_not_warn(tmp_path, caplog):
    notebooks_dir = tmp_path / "nb"
    notebooks_dir.mkdir()
    _notebook(notebooks_dir / "01_a.ipynb", [_params_cell("n = 1")])
    _notebook(notebooks_dir / "02_b.ipynb", [_params_cell("k = 1")])
    params_file = tmp_path / "params.yml"
    params_file.write_text("n: 2\nk: 3\nnobody: 4\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="analysis.pipeline"):
        with pytest.raises(pipeline.NotebookError):
            pipeline.run_notebooks(
                notebooks_dir=notebooks_dir, reports_dir=tmp_path / "reports", params_file=params_file,
                only=["01"], kernel_name="no-such-kernel",
            )
    warned = [r.getMessage() for r in caplog.records if "no effect" in r.getMessage()]
    assert len(warned) == 1 and "nobody" in warned[0] and "'k'" not in warned[0]




# ---------------------------------------------------------------- honest reruns, findings, terminal


def _raw_study(root: Path) -> tuple[Path, Path]:
    """Notebooks that count the raw files (01) and read what 01 wrote (02), with a findings cell each."""
    notebooks_dir = root / "notebooks"
    notebooks_dir.mkdir()
    raw = root / "raw"
    raw.mkdir()
    for name in ("a.txt", "b.txt"):
        (raw / name).write_text(f"report {name}", encoding="utf-8")
    findings = new_code_cell(
        "from IPython.display import Markdown\n"
        "Markdown(f'- **{len(files)} reports** read from `raw_dir`\\n- first: {files[0] if files else None}')"
    )
    findings.metadata["tags"] = ["findings"]
    _notebook(notebooks_dir / "01_count.ipynb", [
        _params_cell("raw_dir = 'raw'"), _log_cell("01"),
        new_code_cell("import pathlib\nfiles = sorted(p.name for p in pathlib.Path(raw_dir).iterdir())\n"
                      "pathlib.Path('count.txt').write_text(str(len(files)))"),
        findings,
    ])
    _notebook(notebooks_dir / "02_read.ipynb", [_log_cell("02")])
    return notebooks_dir, raw


def test_make_report_reruns_exactly_when_an_input_changed(tmp_path):
    notebooks_dir, raw = _raw_study(tmp_path)
    reports = tmp_path / "reports"
    params = {"raw_dir": str(raw)}

    def run():
        return pipeline.run_notebooks(notebooks_dir=notebooks_dir, reports_dir=reports, params=params,
                                      params_file=None, if_changed=True, jobs=1)

    assert run() is not None and _order(notebooks_dir) == ["01", "02"]
    assert run() is None and _order(notebooks_dir) == ["01", "02"]  # nothing changed: nothing ran
    for change in (
        lambda: (raw / "b.txt").unlink(),  # a deleted report
        lambda: (raw / "a.txt").write_text("replaced, same name", encoding="utf-8"),  # a replaced report
        lambda: (raw / "c.txt").write_text("an added report", encoding="utf-8"),  # an added report
    ):
        before = len(_order(notebooks_dir))
        change()
        assert run() is not None, "a changed raw folder must rerun the study"
        assert len(_order(notebooks_dir)) == before + 2
        assert (notebooks_dir / "count.txt").read_text() == str(len(list(raw.iterdir())))
        assert run() is None
    params["raw_dir"] = str(raw) + "/"  # other parameters: another run
    assert run() is not None


def test_a_failed_or_partial_run_leaves_no_record_of_complete_inputs(tmp_path):
    notebooks_dir, raw = _raw_study(tmp_path)
    reports = tmp_path / "reports"
    kwargs = {"notebooks_dir": notebooks_dir, "reports_dir": reports, "params": {"raw_dir": str(raw)},
              "params_file": None, "jobs": 1}
    pipeline.run_notebooks(**kwargs)
    assert (reports / pipeline.INPUTS_NAME).is_file()
    pipeline.run_notebooks(only=["02"], **kwargs)  # a partial run: the reports mix two runs
    assert not (reports / pipeline.INPUTS_NAME).exists()
    assert pipeline.run_notebooks(if_changed=True, **kwargs) is not None
    broken = nbformat.read(notebooks_dir / "02_read.ipynb", as_version=4)
    broken.cells.append(new_code_cell("raise RuntimeError('boom')"))
    nbformat.write(broken, notebooks_dir / "02_read.ipynb")
    with pytest.raises(pipeline.NotebookError, match="02_read"):
        pipeline.run_notebooks(if_changed=True, **kwargs)
    assert not (reports / pipeline.INPUTS_NAME).exists()
    with pytest.raises(pipeline.NotebookError):  # the failure is retried, not taken as up to date
        pipeline.run_notebooks(if_changed=True, **kwargs)


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_outputs_are_written_with_the_users_umask(tmp_path, umask):
    notebooks_dir, raw = _raw_study(tmp_path)
    old = os.umask(umask)
    try:
        pipeline.run_notebooks(notebooks_dir=notebooks_dir, reports_dir=tmp_path / "reports",
                               params={"raw_dir": str(raw)}, params_file=None, only=["01"], jobs=1)
    finally:
        os.umask(old)
    written = [p for p in (tmp_path / "reports").rglob("*") if p.is_file()]
    assert any(p.name == "index.html" for p in written) and any(p.suffix == ".json" for p in written)
    for path in written:
        if path.suffix in {".html", ".json"}:
            assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path


def test_the_command_line_prints_progress_and_findings_and_nothing_else(tmp_path):
    # Two notebooks side by side in spawned worker processes, as on macOS and Windows.
    notebooks_dir, raw = _raw_study(tmp_path)
    nb = nbformat.read(notebooks_dir / "02_read.ipynb", as_version=4)
    nb.metadata["analysis"] = {"needs": []}
    nbformat.write(nb, notebooks_dir / "02_read.ipynb")
    reports = tmp_path / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "run", "--notebooks-dir", str(notebooks_dir), "--reports-dir",
         str(reports), "-f", str(tmp_path / "none.yml"), "-p", "raw_dir", str(raw), "--jobs", "2"],
        capture_output=True, text=True, encoding="utf-8", timeout=600, cwd=tmp_path,
    )
    assert done.returncode == 2 and "none.yml" in done.stderr  # a missing parameters file is named
    params = tmp_path / "params.yml"
    params.write_text(f"raw_dir: {json.dumps(str(raw))}\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "run", "--notebooks-dir", str(notebooks_dir), "--reports-dir",
         str(reports), "-f", str(params), "--jobs", "2"],
        capture_output=True, text=True, encoding="utf-8", timeout=600, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no kernel warnings ("running over TCP without encryption"), no log noise
    lines = done.stdout.splitlines()
    assert "running 01_count" in lines and "running 02_read" in lines
    assert any(re.fullmatch(r"01_count ok in \d+\.\d s", line) for line in lines)
    assert "  01  2 reports read from raw_dir" in lines  # the findings, Markdown marks removed
    assert lines[-1] == f"Reports: {(reports / 'index.html').resolve()}"
    index = (reports / "index.html").read_text(encoding="utf-8")
    findings = index.index("<h2>Findings</h2>")
    assert findings < index.index("<h2>Reports</h2>")  # the findings come first
    assert '<a href="01_count.html">' in index[findings:]
    assert "<li><strong>2 reports</strong> read from <code>raw_dir</code></li>" in index
    assert "<li>first: a.txt</li>" in index
    quiet = subprocess.run(
        [sys.executable, "-m", "analysis", "run", "--notebooks-dir", str(notebooks_dir), "--reports-dir",
         str(reports), "-f", str(params), "--if-changed", "--quiet"],
        capture_output=True, text=True, encoding="utf-8", timeout=600, cwd=tmp_path,
    )
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""


def test_findings_are_escaped_on_the_index_page(tmp_path):
    cell = new_code_cell("x", execution_count=1)
    cell.metadata["tags"] = ["findings"]
    cell.outputs = [new_output("display_data", data={"text/markdown": "- <script>alert(1)</script> **bold**\n",
                                                     "text/plain": "x"})]
    path = tmp_path / "01_x.ipynb"
    nbformat.write(new_notebook(cells=[cell]), path)
    assert pipeline.notebook_findings(path) == ["<script>alert(1)</script> **bold**"]
    assert pipeline.plain_text("**2 reports** in `raw_dir`") == "2 reports in raw_dir"


def test_progress_bars_count_notebooks_and_cells_on_stderr(tmp_path, capsys):
    """With ``progress_bar=True`` (a terminal, not CI, not --quiet) stderr shows the notebooks done and each one's cells."""
    notebooks_dir = _make_notebooks(tmp_path / "notebooks")
    pipeline.run_notebooks(notebooks_dir=notebooks_dir, reports_dir=tmp_path / "reports", params_file=None,
                           jobs=1, progress_bar=True, progress=lambda line: None)
    err = capsys.readouterr().err
    assert re.search(r"notebooks run: 100%.*2/2", err)
    n_cells = len(nbformat.read(notebooks_dir / "01_tables.ipynb", as_version=4).cells)
    # a cell bar is cleared when its notebook ends (leave=False) and tqdm redraws at most every 0.1 s,
    # so the last count drawn depends on timing: the bar's total is what is certain
    assert re.search(rf"01_tables: .*\d/{n_cells} ", err) and "02_second" in err
    pipeline.run_notebooks(notebooks_dir=notebooks_dir, reports_dir=tmp_path / "reports", params_file=None,
                           jobs=1, progress=lambda line: None)
    assert capsys.readouterr().err == ""


def test_the_command_line_draws_no_bars_under_ci_or_quiet(monkeypatch):
    from analysis import parallel

    monkeypatch.setenv("CI", "true")
    assert not parallel.progress_enabled()
    monkeypatch.delenv("CI")
    assert not parallel.progress_enabled(quiet=True)
