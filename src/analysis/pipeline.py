"""Execute the ordered notebooks with papermill and export offline HTML reports.

The last step of the flow: ``notebooks/NN_*.ipynb`` -> executed copies in
``reports/executed/`` -> ``reports/NN_name.html`` (reader version, no code)
and ``reports/NN_name.full.html`` (with code) -> ``reports/index.html``, which
opens with each notebook's headline findings (the Markdown output of its cell
tagged ``findings``).

Each notebook runs with plain papermill in a stock kernel of its own. A
notebook starts once the notebooks it reads from (``metadata.analysis.needs``,
:func:`notebook_needs`; all earlier ones if it does not say) have run; up to
``jobs`` notebooks run side by side, each in a worker process of its own
(started with the portable ``spawn`` method), which also exports its pages.

Parameters are merged in this order, later winning: the YAML parameters file,
then ``params`` (the CLI's ``-p key value``). Each notebook receives only the
parameters its ``parameters`` cell declares.

The HTML uses nbconvert's ``lab`` template with every network load removed
(``resources/report_templates/offline``), figures embedded as data URIs and the
CJK font cut down to the page's characters (:mod:`analysis.webfont`). Each page
is checked: a script, style, image or frame loaded from a network address is an
error. Markdown outputs (prose formatted from the data) have every tag start
escaped, so ``<script>`` in a report shows as text; an HTML output with a
script, a frame or an inline event handler, or a JavaScript output, fails the export.

A complete run records the hashes of its inputs (notebooks, the package and
its resources, the raw files, the parameters) in ``reports/.inputs.json``;
``--if-changed`` (used by ``make report``) reruns only when one of them changed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import hashlib
import html
import json
import logging
import multiprocessing
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat
import yaml

from . import parallel, paths, webfont
from .errors import InputError
from .storage import atomic_write, read_yaml, write_json

__all__ = [
    "PROJECT_KERNEL_NAME", "DEFAULT_PARAMS_FILE", "NotebookError", "ReportSafetyError", "NotebookRun",
    "discover_notebooks", "select_notebooks", "load_params", "notebook_parameters", "notebook_needs",
    "ensure_kernel", "execute_notebook", "export_html", "check_offline_html", "notebook_findings",
    "write_index", "input_digests", "run_notebooks", "add_run_arguments", "run_from_args",
]

logger = logging.getLogger(__name__)

PROJECT_KERNEL_NAME = "analysis"
#: Environment of the project kernel: fixed str hashing, so that set order is reproducible.
PROJECT_KERNEL_ENV = {"PYTHONHASHSEED": "0"}
KERNEL_LOG_LEVEL = "CRITICAL"  # see _kernel_config
DEFAULT_PARAMS_FILE = paths.PROJECT_ROOT / "params.yml"
TEMPLATES_DIR = paths.RESOURCES_DIR / "report_templates"
EXECUTED_DIR_NAME = "executed"
INDEX_NAME = "index.html"
INPUTS_NAME = ".inputs.json"
READER_SUFFIX, FULL_SUFFIX, RUN_RECORD_SUFFIX = ".html", ".full.html", ".run.json"
FINDINGS_TAG = "findings"
NEEDS_KEY = "needs"
KERNEL_START_TIMEOUT_S = 120

_RE_NOTEBOOK_NAME = re.compile(r"^\d{2}_[^/\\]+\.ipynb$")
_RE_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_RE_UNSAFE_HTML = re.compile(
    r"<\s*(?:script|iframe|object|embed|frame|frameset|base)\b|<[^>]*\son[a-z]+\s*=|javascript:", re.IGNORECASE
)
_RE_CSS_NETWORK = re.compile(r"(?:@import\s+|url\(\s*)['\"]?\s*(?:https?:)?//", re.IGNORECASE)
_RE_NETWORK_URL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
_RE_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_UNSAFE_MIME_TYPES = ("application/javascript", "text/javascript")
#: (tag, attribute) pairs that make a browser fetch a resource when the page loads.
_LOADING_ATTRIBUTES = {
    ("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"), ("frame", "src"),
    ("embed", "src"), ("object", "data"), ("source", "src"), ("video", "src"), ("video", "poster"),
    ("audio", "src"), ("track", "src"), ("input", "src"),
}


class NotebookError(RuntimeError):
    """A notebook of the run failed; the message names the notebook and the cell."""

    def __init__(self, message: str, *, notebook: Path, executed_path: Path | None = None,
                 cell_index: int | None = None):
        super().__init__(message)
        self.notebook, self.executed_path, self.cell_index = notebook, executed_path, cell_index


class ReportSafetyError(ValueError):
    """An exported report would load from the network or run unescaped markup."""


@dataclass(frozen=True)
class NotebookRun:
    """What happened to one notebook: ``status`` is ``"ok"`` or ``"failed"``; paths relative to the reports folder."""

    notebook: str
    status: str
    started: str
    duration_s: float
    git_commit: str
    parameters: dict[str, Any] = field(default_factory=dict)
    executed: str = ""
    reader_html: str | None = None
    full_html: str | None = None
    error: str | None = None
    cell_index: int | None = None


# ---------------------------------------------------------------- notebooks and parameters


def discover_notebooks(notebooks_dir: str | Path = paths.NOTEBOOKS_DIR) -> list[Path]:
    """The notebooks the pipeline runs: ``NN_*.ipynb`` in name order (scratch ``_*`` and unnumbered ones are not run)."""
    folder = Path(notebooks_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"`notebooks_dir` {str(folder)!r} is not a directory.")
    notebooks = sorted(p for p in folder.iterdir() if p.is_file() and _RE_NOTEBOOK_NAME.match(p.name))
    if not notebooks:
        raise ValueError(f"no NN_*.ipynb notebook in {folder}; name notebooks like 01_corpus.ipynb.")
    return notebooks


def _matches(notebook: Path, key: str) -> bool:
    key = key.strip()
    return key in (notebook.name, notebook.stem) or notebook.name.startswith(f"{key}_")


def select_notebooks(notebooks: Sequence[Path], *, only: Iterable[str] | None = None,
                     from_: str | None = None) -> list[Path]:
    """Restrict the run to ``only`` these notebooks (number, stem or file name) or to ``from_`` one on.

    >>> nbs = [Path("01_corpus.ipynb"), Path("02_topics.ipynb"), Path("03_metrics.ipynb")]
    >>> [p.name for p in select_notebooks(nbs, only=["03", "01_corpus"])]
    ['01_corpus.ipynb', '03_metrics.ipynb']
    >>> [p.name for p in select_notebooks(nbs, from_="02")]
    ['02_topics.ipynb', '03_metrics.ipynb']
    """
    notebooks = list(notebooks)
    only = [only] if isinstance(only, str) else (None if only is None else list(only))
    if only is not None and from_ is not None:
        raise ValueError("`only` and `from_` (--only / --from) are mutually exclusive; give one of them.")
    names = [p.name for p in notebooks]
    for key in (only or []) + ([from_] if from_ is not None else []):
        if not any(_matches(p, key) for p in notebooks):
            raise ValueError(f"{key!r} matches no notebook (--only/--from); available: {names}.")
    if only is not None:
        if not only:
            raise ValueError("`only` is empty; give at least one notebook number such as '02'.")
        return [p for p in notebooks if any(_matches(p, key) for key in only)]
    if from_ is not None:
        return notebooks[next(i for i, p in enumerate(notebooks) if _matches(p, from_)):]
    return notebooks


def load_params(path: str | Path) -> dict[str, Any]:
    """Run parameters from a YAML mapping of name -> value; :class:`InputError` names the file and the problem."""
    path = Path(path)
    data = read_yaml(path, what="parameters file")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(path, f"expected a mapping of parameter name to value, got {type(data).__name__}.")
    bad = [k for k in data if not isinstance(k, str) or not k.isidentifier()]
    if bad:
        raise InputError(path, f"parameter names must be Python identifiers; bad names: {bad}.")
    return dict(data)


def notebook_parameters(notebook: str | Path) -> dict[str, Any]:
    """Names declared in a notebook's ``parameters`` cell with their default (papermill's inspection)."""
    import papermill

    cells = nbformat.read(notebook, as_version=4).cells
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) > 1:
        raise InputError(notebook, f"{len(tagged)} cells are tagged 'parameters' (cells {tagged}); keep exactly one.")
    return {name: p["default"] for name, p in papermill.inspect_notebook(str(notebook)).items()}


def notebook_needs(notebooks: Sequence[Path]) -> dict[Path, list[Path]]:
    """The earlier notebooks each notebook waits for, from ``metadata.analysis.needs`` (default: all earlier ones).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name, meta in [("01_a", {}), ("02_b", {"analysis": {"needs": ["01"]}}), ("03_c", {})]:
    ...     nbformat.write(nbformat.v4.new_notebook(metadata=meta), folder / f"{name}.ipynb")
    >>> {nb.stem: [p.stem for p in ps] for nb, ps in notebook_needs(sorted(folder.glob("*.ipynb"))).items()}
    {'01_a': [], '02_b': ['01_a'], '03_c': ['01_a', '02_b']}
    """
    notebooks = list(notebooks)
    needs: dict[Path, list[Path]] = {}
    for position, notebook in enumerate(notebooks):
        meta = nbformat.read(notebook, as_version=4).metadata.get("analysis", {})
        if not isinstance(meta, Mapping) or NEEDS_KEY not in meta:
            needs[notebook] = notebooks[:position]
            continue
        keys = meta[NEEDS_KEY]
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise InputError(notebook, f"metadata analysis.needs must be a list of notebook names, not {keys!r}.")
        earlier = []
        for key in keys:
            hits = [p for p in notebooks if _matches(p, key)]
            if len(hits) != 1:
                found = "no notebook" if not hits else f"{len(hits)} notebooks"
                raise InputError(notebook, f"metadata analysis.needs entry {key!r} matches {found}.")
            if notebooks.index(hits[0]) >= position:
                raise InputError(notebook, f"metadata analysis.needs entry {key!r} is not an earlier notebook; "
                                           "a notebook can only read what runs before it.")
            earlier.append(hits[0])
        needs[notebook] = sorted(set(earlier), key=notebooks.index)
    return needs


def start_priorities(notebooks: Sequence[Path], needs: Mapping[Path, Sequence[Path]],
                     durations: Mapping[Path, float]) -> dict[Path, float]:
    """Seconds from each notebook's start to the end of the run along its longest chain of notebooks that need it.

    ``durations`` are estimates (the last run's, from its run records); a
    notebook without one counts 0 s. When more notebooks are ready than may
    run at once, the runner starts those with the longest chain first
    (critical-path list scheduling), so that a long notebook others wait for
    does not start last. Which notebook starts first changes no table.

    >>> a, b, c, d = (Path(f"0{i}.ipynb") for i in range(1, 5))
    >>> needs = {a: [], b: [a], c: [a], d: [a, b, c]}
    >>> chain = start_priorities([a, b, c, d], needs, {a: 10, b: 5, c: 20, d: 1})
    >>> {nb.stem: seconds for nb, seconds in sorted(chain.items())}
    {'01': 31, '02': 6, '03': 21, '04': 1}
    """
    notebooks = list(notebooks)
    chain: dict[Path, float] = {}
    for notebook in reversed(notebooks):  # a notebook is needed only by later ones
        after = [chain[later] for later in notebooks if later in chain and notebook in needs[later]]
        chain[notebook] = durations.get(notebook, 0) + max(after, default=0)
    return chain


def _last_durations(reports_dir: Path, notebooks: Sequence[Path]) -> dict[Path, float]:
    """Each notebook's duration in its last successful run (its run record), where there is one."""
    durations = {}
    for notebook in notebooks:
        record = _read_record(reports_dir, notebook)
        seconds = record.get("duration_s")
        if record.get("status") == "ok" and isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
            durations[notebook] = float(seconds)
    return durations


# ---------------------------------------------------------------- kernel and execution


def ensure_kernel(*, kernel_name: str = PROJECT_KERNEL_NAME, prefix: str | Path | None = None) -> Path:
    """Install the kernelspec running this interpreter into ``<prefix>/share/jupyter/kernels`` (default: the venv).

    Raises :class:`RuntimeError` if another kernelspec of that name (e.g. in
    the user's Jupyter folder) would be used instead.
    """
    from ipykernel.kernelspec import install
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    prefix = sys.prefix if prefix is None else str(prefix)
    target = Path(prefix) / "share" / "jupyter" / "kernels" / kernel_name
    try:
        current = json.loads((target / "kernel.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    if current.get("argv", [None])[0] != sys.executable or current.get("env") != PROJECT_KERNEL_ENV:
        install(user=False, prefix=prefix, kernel_name=kernel_name, display_name="Python (analysis)",
                env=dict(PROJECT_KERNEL_ENV))
        logger.info("installed Jupyter kernel %r for %s in %s", kernel_name, sys.executable, target)
    if Path(prefix).resolve() == Path(sys.prefix).resolve():
        try:
            found = Path(KernelSpecManager().get_kernel_spec(kernel_name).resource_dir).resolve()
        except NoSuchKernel:
            found = None
        if found != target.resolve():
            raise RuntimeError(f"the kernel {kernel_name!r} resolves to {found}, not to the project's {target}; "
                               "remove or rename that kernelspec folder so the project kernel is used.")
    return target


def _kernel_config():  # noqa: ANN202 - traitlets.config.Config
    """nbclient/jupyter_client configuration of the kernels that run the notebooks.

    * CurveZMQ encryption of the kernel's sockets where pyzmq supports it:
      without it every ipykernel warns "Kernel is running over TCP without
      encryption" (the IPC transport would avoid it only on POSIX systems).
    * The kernel's own log (not the cells' output or errors, which papermill
      reports) at ``KERNEL_LOG_LEVEL``: jupyter_client sends SIGINT before
      every shutdown request, and when it lands while the kernel is finishing
      a message ipykernel logs "KeyboardInterrupt caught in kernel" at ERROR
      level, a line on the user's terminal after every notebook that ran fine.
    """
    import zmq
    from traitlets.config import Config

    return Config({
        "KernelManager": {"transport_encryption": "auto" if zmq.has("curve") else "disabled"},
        "NotebookClient": {"extra_arguments": [f"--IPKernelApp.log_level={KERNEL_LOG_LEVEL}"]},
    })


def execute_notebook(notebook: str | Path, executed_path: str | Path, *, parameters: Mapping[str, Any] | None = None,
                     kernel_name: str = PROJECT_KERNEL_NAME, cell_timeout_s: int | None = None,
                     progress_bar: bool | dict[str, Any] = False) -> Path:
    """Execute one notebook with papermill into ``executed_path`` (never in place), in the notebook's folder.

    ``progress_bar`` is papermill's: ``True`` or tqdm options draw a bar of
    the cells executed (with an ETA) on stderr.

    Raises :class:`NotebookError` naming the notebook, the cell (index,
    execution count, first source line) and the error, and pointing at the
    executed copy holding the traceback.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    notebook, executed_path = Path(notebook), Path(executed_path)
    if executed_path.resolve() == notebook.resolve():
        raise ValueError(f"`executed_path` {str(executed_path)!r} is the source notebook; never execute in place.")
    executed_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(
            str(notebook), str(executed_path), parameters=dict(parameters or {}), kernel_name=kernel_name,
            language="python", progress_bar=progress_bar, cwd=str(notebook.resolve().parent),
            start_timeout=KERNEL_START_TIMEOUT_S, execution_timeout=cell_timeout_s, config=_kernel_config(),
        )
    except PapermillExecutionError as exc:
        first_line = next((ln for ln in (exc.source or "").splitlines() if ln.strip()), "").strip()
        raise NotebookError(
            f"notebook {notebook.name} failed in cell {exc.cell_index} (In [{exc.exec_count}]: {first_line!r}): "
            f"{exc.ename}: {exc.evalue}\nThe executed copy with the full traceback is {executed_path}.",
            notebook=notebook, executed_path=executed_path, cell_index=exc.cell_index,
        ) from None
    except Exception as exc:  # kernel start failure, dead kernel, timeout, bad notebook JSON
        raise NotebookError(f"notebook {notebook.name} could not be executed: {type(exc).__name__}: {exc}",
                            notebook=notebook, executed_path=executed_path if executed_path.exists() else None) from exc
    # papermill gives its injected-parameters cell a random id, which the HTML repeats: fix it, so
    # that a rerun writes the same pages.
    nb = nbformat.read(executed_path, as_version=4)
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "papermill-injected-parameters"
    text = nbformat.writes(nb)
    atomic_write(executed_path, lambda p: p.write_text(text, encoding="utf-8"))
    return executed_path


# ---------------------------------------------------------------- HTML export


def _escape_preprocessor():  # noqa: ANN202 - an nbconvert Preprocessor
    from nbconvert.preprocessors import Preprocessor

    class EscapeOutputs(Preprocessor):
        """Escape HTML in Markdown outputs; refuse scripts in HTML outputs and JavaScript outputs."""

        def preprocess_cell(self, cell, resources, index):  # noqa: ANN001, ANN201
            for output in cell.get("outputs", []):
                data = output.get("data") or {}
                unsafe = next((m for m in _UNSAFE_MIME_TYPES if m in data), None)
                if unsafe:
                    raise ReportSafetyError(f"cell {index} has a {unsafe} output; reports may not run JavaScript.")
                if "text/markdown" in data:
                    data["text/markdown"] = _RE_TAG_START.sub("&lt;", data["text/markdown"])
                match = _RE_UNSAFE_HTML.search(data.get("text/html", ""))
                if match:
                    raise ReportSafetyError(
                        f"cell {index} displays HTML containing {match.group(0)[:40]!r}, unescaped; display "
                        "DataFrames directly (pandas escapes them) or use Styler.format(escape='html')."
                    )
            return cell, resources

    return EscapeOutputs()


def _exporter(*, reader: bool):  # noqa: ANN202 - nbconvert.HTMLExporter
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        template_name="offline", extra_template_basedirs=[str(TEMPLATES_DIR)], embed_images=True,
        exclude_input=reader, exclude_input_prompt=reader, exclude_output_prompt=reader,
        require_js_url="", mathjax_url="", jupyter_widgets_base_url="",
    )
    exporter.register_preprocessor(TagRemovePreprocessor(
        remove_cell_tags={"remove-cell"}, remove_all_outputs_tags={"remove-output"},
        remove_input_tags={"remove-input"}, enabled=True), enabled=True)
    exporter.register_preprocessor(_escape_preprocessor(), enabled=True)
    return exporter


class _LoadCollector(HTMLParser):
    """Every resource a browser would load from the network when opening the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.network: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):  # noqa: ANN001, ANN201
        self._in_style = tag == "style"
        for name, value in attrs:
            if (tag, name) in _LOADING_ATTRIBUTES and value and _RE_NETWORK_URL.match(value):
                self.network.append(f"<{tag} {name}={value!r}>")
            if name == "style" and value and _RE_CSS_NETWORK.search(value):
                self.network.append(f"<{tag} style={value[:80]!r}>")
            if tag == "img" and name == "srcset" and value and "//" in value:
                self.network.append(f"<img srcset={value[:80]!r}>")

    def handle_endtag(self, tag):  # noqa: ANN001, ANN201
        self._in_style = False if tag == "style" else self._in_style

    def handle_data(self, data):  # noqa: ANN001, ANN201
        match = _RE_CSS_NETWORK.search(data) if self._in_style else None
        if match:
            self.network.append(f"<style> {data[match.start():match.start() + 80]!r}")


def check_offline_html(text: str, *, source: str = "HTML") -> None:
    """Raise :class:`ReportSafetyError` listing every script, style, image or frame the page loads from the network."""
    parser = _LoadCollector()
    parser.feed(text)
    parser.close()
    if parser.network:
        raise ReportSafetyError(f"{source} would load from the network, which breaks offline reading: "
                                + "; ".join(parser.network))


def _write_page(page: str, target: Path, *, font_text: str | None = None) -> Path:
    """Embed the CJK font cut to the characters of ``font_text`` (default: the page), check, write atomically."""
    font_face = webfont.font_face(page if font_text is None else font_text)
    page = page.replace("</head>", font_face + "</head>", 1) if font_face else page
    check_offline_html(page, source=target.name)
    return atomic_write(target, lambda p: p.write_text(page, encoding="utf-8"))


def export_html(executed_path: str | Path, *, reports_dir: str | Path = paths.REPORTS_DIR) -> tuple[Path, Path]:
    """Export an executed notebook to ``<stem>.html`` (no code) and ``<stem>.full.html``; return both paths."""
    executed_path, reports_dir = Path(executed_path), Path(reports_dir)
    nb = nbformat.read(executed_path, as_version=4)
    pages = []
    for reader, suffix in ((True, READER_SUFFIX), (False, FULL_SUFFIX)):
        try:
            body, _ = _exporter(reader=reader).from_notebook_node(
                nbformat.from_dict(nb), resources={"metadata": {"name": executed_path.stem}})
        except ReportSafetyError as exc:
            raise ReportSafetyError(f"{executed_path.name}: {exc}") from None
        pages.append((reports_dir / f"{executed_path.stem}{suffix}", body))
    both = "".join(body for _, body in pages)  # one font cut serves both pages
    reader_page, full_page = (_write_page(body, target, font_text=both) for target, body in pages)
    return reader_page, full_page


# ---------------------------------------------------------------- findings and index page


def notebook_findings(executed_path: str | Path) -> list[str]:
    """The headline findings of an executed notebook: the Markdown lines its ``findings`` cell displayed."""
    try:
        cells = nbformat.read(executed_path, as_version=4).cells
    except (OSError, ValueError):
        return []
    lines = []
    for cell in cells:
        if FINDINGS_TAG in cell.get("metadata", {}).get("tags", []):
            for output in cell.get("outputs", []):
                text = (output.get("data") or {}).get("text/markdown", "")
                lines += [ln.strip().removeprefix("- ").removeprefix("* ") for ln in text.splitlines() if ln.strip()]
    return lines


def _inline_markdown(text: str) -> str:
    """HTML of one line of Markdown with only bold and code spans (everything else escaped)."""
    out = html.escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", out)


def plain_text(markdown_line: str) -> str:
    """A findings line for the terminal (bold and code marks removed)."""
    return re.sub(r"\*\*(.+?)\*\*|`(.+?)`", lambda m: m.group(1) or m.group(2), markdown_line)


def _notebook_title(notebook: Path) -> str:
    for cell in nbformat.read(notebook, as_version=4).cells:
        match = _RE_HEADING.search(cell.get("source", "")) if cell.get("cell_type") == "markdown" else None
        if match:
            return match.group(1).strip()
    return notebook.stem


def _link(href: str | None, label: str) -> str:
    return f'<a href="{html.escape(quote(href), quote=True)}">{html.escape(label)}</a>' if href else "—"


def _params_text(params: Mapping[str, Any]) -> str:
    return "\n".join(f"{k} = {json.dumps(v, ensure_ascii=False, default=str)}" for k, v in sorted(params.items()))


def _read_record(reports_dir: Path, notebook: Path) -> dict[str, Any]:
    path = reports_dir / EXECUTED_DIR_NAME / f"{notebook.stem}{RUN_RECORD_SUFFIX}"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError:
        logger.warning("unreadable run record %s; listing the notebook without it", path)
        return {}


def write_index(notebooks: Sequence[Path], *, reports_dir: str | Path = paths.REPORTS_DIR, run_started: str,
                git_commit: str, parameters: Mapping[str, Any]) -> Path:
    """Write ``reports/index.html``: the findings of each notebook first, then every report and how it was made.

    Each row comes from the notebook's run record, so notebooks not rerun in
    this run (``--only``/``--from``, or after a failure) show the run that
    made their pages. Everything from the notebooks is HTML-escaped.
    """
    reports_dir = Path(reports_dir)
    findings, rows = [], []
    for notebook in notebooks:
        record = _read_record(reports_dir, notebook)
        status = record.get("status", "not run")
        title = html.escape(_notebook_title(notebook))
        reader = record.get("reader_html") if status == "ok" else None
        lines = notebook_findings(reports_dir / EXECUTED_DIR_NAME / notebook.name) if status == "ok" else []
        if lines:
            items = "".join(f"<li>{_inline_markdown(line)}</li>" for line in lines)
            findings.append(f"<h3>{_link(reader, _notebook_title(notebook))}</h3><ul>{items}</ul>")
        error = record.get("error")
        rows.append(
            f"<tr><td>{title}</td><td>{_link(reader, 'report')}</td>"
            f"<td>{_link(record.get('full_html') if status == 'ok' else None, 'with code')}</td>"
            f'<td class="{status.replace(" ", "-")}">{html.escape(status)}'
            + (f"<pre>{html.escape(error)}</pre>" if error else "") + "</td>"
            f"<td>{html.escape(str(record.get('started', '—')))}</td>"
            f"<td>{html.escape(str(record.get('duration_s', '—')))}</td>"
            f"<td><pre>{html.escape(_params_text(record.get('parameters', {})))}</pre></td></tr>"
        )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Local reporting of the 2021 Party-history learning campaign: findings and reports</title>
<style>
body {{ font-family: "{webfont.REPORT_CJK_FAMILY}", system-ui, sans-serif; margin: 2em auto; max-width: 70em;
  color: #222; line-height: 1.5; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #ccc; padding: 0.4em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }} pre {{ margin: 0; white-space: pre-wrap; font-size: 0.85em; font-family: inherit; }}
td.ok {{ color: #1a7f37; }} td.failed {{ color: #b42318; }} td.not-run {{ color: #777; }}
</style>
</head>
<body>
<h1>党史学习教育 2021: how local governments reported their campaign</h1>
<h2>Findings</h2>
{chr(10).join(findings) or "<p>No findings yet: no notebook has run successfully.</p>"}
<h2>Reports</h2>
<p>Each notebook as a report to read (figures and tables, no code) and in full (with code).</p>
<table>
<thead><tr><th>Notebook</th><th>Report</th><th>Full</th><th>Status</th><th>Run (UTC)</th><th>Seconds</th>
<th>Parameters</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<h2>Latest run</h2>
<p>Started {html.escape(run_started)} (UTC), git commit <code>{html.escape(git_commit)}</code>.</p>
<pre>{html.escape(_params_text(parameters))}</pre>
</body>
</html>
"""
    return _write_page(page, reports_dir / INDEX_NAME)


# ---------------------------------------------------------------- inputs of a run


def _file_digests(root: Path, prefix: str) -> dict[str, str]:
    if root.is_file():
        return {prefix: hashlib.sha256(root.read_bytes()).hexdigest()}
    files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts) if root.is_dir() else []
    return {f"{prefix}/{p.relative_to(root).as_posix()}": hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def input_digests(notebooks_dir: Path, parameters: Mapping[str, Any]) -> dict[str, str]:
    """SHA-256 of everything a run reads: notebooks, the package and its resources, raw files, corrections, parameters.

    A deleted, replaced or added raw file changes the result, whatever the
    files' times. ``raw_dir`` is read from the parameters (relative to the notebooks' folder).
    """
    digests = {f"notebooks/{nb.name}": _file_digests(nb, "")[""] for nb in discover_notebooks(notebooks_dir)}
    digests.update(_file_digests(paths.PACKAGE_DIR, "package"))
    raw_dir = parameters.get("raw_dir")
    if raw_dir is not None:
        digests.update(_file_digests((Path(notebooks_dir) / str(raw_dir)).resolve(), "raw"))
    digests.update(_file_digests(paths.CORRECTIONS_PATH, "corrections"))
    digests.update(_file_digests(paths.PROJECT_ROOT / "requirements.lock", "requirements.lock"))
    text = json.dumps(dict(parameters), sort_keys=True, ensure_ascii=False, default=str)
    digests["parameters"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return digests


# ---------------------------------------------------------------- the run


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _git_commit(root: Path = paths.PROJECT_ROOT) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30,
                              check=True).stdout.strip()
    try:
        sha, dirty = git("rev-parse", "HEAD"), git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha} (with uncommitted changes)" if sha and dirty else (sha or "unknown")


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.name


def _execute_and_export(notebook: Path, executed_dir: Path, reports_dir: Path, injected: dict[str, Any],
                        kernel_name: str, cell_timeout_s: int | None, commit: str,
                        progress_bar: bool | dict[str, Any] = False) -> NotebookRun:
    """Run one notebook and export its pages (in a worker process); the outcome, never an exception."""
    started, t0 = _now(), time.perf_counter()
    executed = executed_dir / notebook.name
    for stale in (reports_dir / f"{notebook.stem}{READER_SUFFIX}", reports_dir / f"{notebook.stem}{FULL_SUFFIX}"):
        stale.unlink(missing_ok=True)
    outcome: dict[str, Any] = {"status": "ok"}
    try:
        execute_notebook(notebook, executed, parameters=injected, kernel_name=kernel_name,
                         cell_timeout_s=cell_timeout_s, progress_bar=progress_bar)
        reader, full = export_html(executed, reports_dir=reports_dir)
        outcome.update(reader_html=_relative(reader, reports_dir), full_html=_relative(full, reports_dir))
    except NotebookError as exc:
        outcome.update(status="failed", error=str(exc), cell_index=exc.cell_index)
    except (ReportSafetyError, OSError) as exc:
        outcome.update(status="failed", error=f"notebook {notebook.name} could not be exported: {exc}")
    run = NotebookRun(notebook=notebook.name, started=started, duration_s=round(time.perf_counter() - t0, 1),
                      git_commit=commit, parameters=injected, executed=_relative(executed, reports_dir), **outcome)
    write_json(asdict(run), executed_dir / f"{notebook.stem}{RUN_RECORD_SUFFIX}")
    return run


def _merged_params(params_file: str | Path | None, params: Mapping[str, Any] | None) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    if params_file is not None and (Path(params_file).is_file() or Path(params_file) != DEFAULT_PARAMS_FILE):
        merged.update(load_params(params_file))
    bad = [k for k in (params or {}) if not isinstance(k, str) or not k.isidentifier()]
    if bad:
        raise ValueError(f"`params` names must be Python identifiers; bad names: {bad}.")
    return {**merged, **(params or {})}


def run_notebooks(*, notebooks_dir: str | Path = paths.NOTEBOOKS_DIR, reports_dir: str | Path = paths.REPORTS_DIR,
                  params: Mapping[str, Any] | None = None, params_file: str | Path | None = DEFAULT_PARAMS_FILE,
                  only: Iterable[str] | None = None, from_: str | None = None,
                  kernel_name: str = PROJECT_KERNEL_NAME, cell_timeout_s: int | None = None,
                  jobs: int | None = None, if_changed: bool = False,
                  progress: Callable[[str], None] | None = None,
                  progress_bar: bool = False) -> list[NotebookRun] | None:
    """Execute the notebooks and export their HTML reports and the index page.

    Parameters
    ----------
    params, params_file
        Parameters (``params`` win over the YAML file; the default
        ``params.yml`` is skipped when absent, any other missing file is an error).
    only, from_
        See :func:`select_notebooks`.
    jobs : int or None, default=None
        Notebooks that may run at once, each in a process of its own, once the
        notebooks it needs have run; None for the number of CPUs, 1 runs them
        one after another in this process. When more are ready than may run,
        those with the longest chain to the end of the run (by the durations
        of the last run, :func:`start_priorities`) start first, else the first
        in run order. The tables are the same either way.
    if_changed : bool, default=False
        Run nothing (and return None) when the last complete run had exactly
        the same inputs (:func:`input_digests`).
    progress : callable or None
        Called with a line of text as notebooks start and finish.
    progress_bar : bool, default=False
        Draw progress bars on stderr (tqdm): notebooks done, and the cells
        of each running notebook (papermill's bar), each with an ETA. With
        bars on, the ``progress`` lines should go through ``tqdm.write``.

    Raises
    ------
    NotebookError
        For the first failing notebook in run order, after the index is written.
        No notebook starts after a failure; those running finish.
    ValueError, FileNotFoundError, InputError
        For bad options, parameters or notebook metadata, before anything runs.
    """
    notebooks_dir, reports_dir = Path(notebooks_dir).resolve(), Path(reports_dir).resolve()
    jobs = os.cpu_count() or 1 if jobs is None else jobs
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"`jobs` must be a positive integer or None, not {jobs!r}.")
    say = progress or (lambda line: logger.info("%s", line))
    all_notebooks = discover_notebooks(notebooks_dir)
    selected = select_notebooks(all_notebooks, only=only, from_=from_)
    needs = notebook_needs(all_notebooks)
    merged = _merged_params(params_file, params)
    declared = {nb: notebook_parameters(nb) for nb in all_notebooks}
    unused = sorted(set(merged) - set().union(*declared.values()))
    if unused:
        logger.warning("parameters %s are declared by no notebook's parameters cell and have no effect", unused)
    inputs_file = reports_dir / INPUTS_NAME
    digests = input_digests(notebooks_dir, merged)
    if if_changed and inputs_file.is_file():
        last = json.loads(inputs_file.read_text(encoding="utf-8"))
        if last.get("inputs") == digests and all(_read_record(reports_dir, nb).get("status") == "ok"
                                                 for nb in all_notebooks):
            say(f"reports are up to date: no input changed since the run of {last.get('finished')}")
            return None
    inputs_file.unlink(missing_ok=True)  # a failed or partial run leaves no record of complete inputs
    if kernel_name == PROJECT_KERNEL_NAME:
        ensure_kernel(kernel_name=kernel_name)
    run_started, commit, executed_dir = _now(), _git_commit(), reports_dir / EXECUTED_DIR_NAME
    executed_dir.mkdir(parents=True, exist_ok=True)
    order = {nb: i for i, nb in enumerate(selected)}
    # With several at once, the ready notebooks with the longest chain (by the last run's durations) start first.
    chain = start_priorities(selected, needs, _last_durations(reports_dir, selected)) if jobs > 1 else {}
    runs: dict[Path, NotebookRun] = {}
    pending, running = list(selected), {}
    slots: dict[Path, int] = {}  # bar line of each running notebook (below the notebooks bar)
    bar = None
    if progress_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(selected), desc="notebooks run", unit="notebook", position=0, leave=True)
    pool = None if jobs == 1 else concurrent.futures.ProcessPoolExecutor(
        max_workers=min(jobs, len(selected)), mp_context=multiprocessing.get_context("spawn"))
    try:
        while pending or running:
            failed = any(r.status != "ok" for r in runs.values())
            ready = [nb for nb in pending if not failed and all(p in runs or p not in order for p in needs[nb])
                     and all(runs[p].status == "ok" for p in needs[nb] if p in runs)]
            ready.sort(key=lambda nb: (-chain.get(nb, 0), order[nb]))
            for notebook in ready[: max(0, (1 if pool is None else jobs) - len(running))]:
                pending.remove(notebook)
                injected = {k: v for k, v in sorted(merged.items()) if k in declared[notebook]}
                cells_bar: bool | dict[str, Any] = False
                if bar is not None:
                    slots[notebook] = min(set(range(1, len(selected) + 1)) - set(slots.values()))
                    cells_bar = {"desc": notebook.stem, "position": slots[notebook], "leave": False}
                args = (notebook, executed_dir, reports_dir, injected, kernel_name, cell_timeout_s, commit, cells_bar)
                say(f"running {notebook.stem}")
                if pool is None:
                    future: concurrent.futures.Future = concurrent.futures.Future()
                    future.set_result(_execute_and_export(*args))
                else:
                    future = pool.submit(_execute_and_export, *args)
                running[future] = notebook
            if not running:
                break  # after a failure, or nothing left that can start
            done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: order[running[f]]):
                notebook = running.pop(future)
                runs[notebook] = run = future.result()
                slots.pop(notebook, None)
                say(f"{notebook.stem} {run.status} in {run.duration_s:.1f} s")
                if bar is not None:
                    bar.update(1)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()
    write_index(all_notebooks, reports_dir=reports_dir, run_started=run_started, git_commit=commit,
                parameters=merged)
    failures = [runs[nb] for nb in selected if nb in runs and runs[nb].status != "ok"]
    if failures:
        first = failures[0]
        notebook = next(nb for nb in selected if nb.name == first.notebook)
        raise NotebookError(first.error or f"notebook {first.notebook} failed", notebook=notebook,
                            executed_path=executed_dir / notebook.name, cell_index=first.cell_index)
    if selected == all_notebooks:
        write_json({"finished": _now(), "inputs": digests}, inputs_file)
    return [runs[nb] for nb in selected]


# ---------------------------------------------------------------- command line


def _parse_value(text: str) -> Any:
    """A ``-p`` value read as YAML (``5`` -> int, ``true`` -> bool), else the string."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return text if value is None and text.strip() not in ("null", "~") else value


def add_run_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``python -m analysis run`` to ``parser``."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--only", nargs="+", action="extend", metavar="NN",
                       help="run only these notebooks (number, stem or file name)")
    group.add_argument("--from", dest="from_", metavar="NN", help="run this notebook and all later ones")
    parser.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                        help="set a parameter (VALUE read as YAML: 5, 0.9, true, text); overrides the file")
    parser.add_argument("-f", "--params-file", type=Path, default=DEFAULT_PARAMS_FILE,
                        help="YAML file of parameters (default: params.yml at the project root, if present)")
    parser.add_argument("--notebooks-dir", type=Path, default=paths.NOTEBOOKS_DIR, help="folder of NN_*.ipynb")
    parser.add_argument("--reports-dir", type=Path, default=paths.REPORTS_DIR, help="output folder for reports")
    parser.add_argument("--kernel", default=PROJECT_KERNEL_NAME, help="Jupyter kernel name (default: %(default)s)")
    parser.add_argument("--cell-timeout", type=int, default=None, metavar="SECONDS", help="time limit per cell")
    parser.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                        help="notebooks that may run at once (default: the number of CPUs; 1: one after another)")
    parser.add_argument("--if-changed", action="store_true",
                        help="do nothing when no input changed since the last complete run (make report)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only errors (no progress bars either; there are none when stderr is not a "
                             "terminal or CI is set)")
    return parser


def run_from_args(args: argparse.Namespace) -> int:
    """Run the pipeline from parsed arguments: 0 on success, 1 if a notebook failed, 2 for bad options."""
    bars = parallel.progress_enabled(args.quiet)
    if args.quiet:
        say = lambda line: None  # noqa: E731
    elif bars:
        from tqdm.auto import tqdm

        say = tqdm.write  # lines above the bars
    else:
        say = lambda line: print(line, flush=True)  # noqa: E731
    try:
        runs = run_notebooks(
            notebooks_dir=args.notebooks_dir, reports_dir=args.reports_dir,
            params={name: _parse_value(value) for name, value in args.param}, params_file=args.params_file,
            only=args.only, from_=args.from_, kernel_name=args.kernel, cell_timeout_s=args.cell_timeout,
            jobs=args.jobs, if_changed=args.if_changed, progress=say, progress_bar=bars,
        )
    except NotebookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(f"Earlier notebooks' outputs and reports are kept; see {Path(args.reports_dir) / INDEX_NAME}.",
              file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    index = Path(args.reports_dir) / INDEX_NAME
    if runs is not None:
        say(f"\n{len(runs)} notebook(s) ran. Headline findings (all of them on the index page):")
        for run in runs:
            for line in notebook_findings(Path(args.reports_dir) / run.executed)[:2]:
                say(f"  {Path(run.notebook).stem[:2]}  {plain_text(line)}")
    say(f"Reports: {index.resolve()}")
    return 0
