"""Execute the ordered notebooks with papermill and export offline HTML reports.

The last step of the flow: ``notebooks/NN_*.ipynb`` -> executed copies in
``reports/executed/`` -> ``reports/NN_name.html`` (reader version, no code)
and ``reports/NN_name.full.html`` (with code) -> ``reports/index.html``.

Notes
-----
Each notebook runs in a kernel of its own, forked from a process that has
already imported the libraries (:mod:`analysis.kernelserver`; a new
interpreter per notebook with ``fork_kernels=False``), and its pages are
exported while later notebooks run. A notebook starts once the notebooks it
reads from (``metadata.analysis.needs``, :func:`notebook_needs`; all earlier
ones if it does not say) have run, up to ``jobs`` at a time; a cell can list
further notebooks in its own metadata, and waits for them (:func:`cell_needs`).

Parameters are merged in this order, later winning: the YAML parameters file
(``params.yml`` at the project root by default), then ``params`` (the CLI's
``-p key value``). Each notebook receives only the parameters its
``parameters`` cell declares; a parameter that no selected notebook declares
is reported with a warning, since it has no effect.

The HTML uses nbconvert's ``lab`` template with every network load removed
(``resources/report_templates/offline``): no require.js, MathJax, Mermaid or
widget scripts from a CDN, CSS inlined, figures embedded as data URIs. Each
exported page is checked: a script, style, image or frame loaded from a
network address is an error. Text from the corpus is escaped: pandas escapes
DataFrame HTML by default; Markdown display outputs (prose formatted from the
data) have every HTML tag start escaped, so ``<script>`` in a report shows as
text; an HTML output that still contains a script, a frame or an inline event
handler, or a JavaScript output, fails the export.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import contextlib
import datetime as dt
import functools
import html
import json
import logging
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat
import yaml

from . import kernelserver, paths, webfont
from .errors import InputError
from .storage import atomic_write, read_yaml, write_json
from .webfont import REPORT_CJK_FAMILY

__all__ = [
    "PROJECT_KERNEL_NAME",
    "DEFAULT_PARAMS_FILE",
    "TEMPLATES_DIR",
    "NotebookError",
    "ReportSafetyError",
    "NotebookRun",
    "discover_notebooks",
    "select_notebooks",
    "load_params",
    "notebook_parameters",
    "cell_needs",
    "notebook_needs",
    "ensure_kernel",
    "execute_notebook",
    "export_html",
    "check_offline_html",
    "write_index",
    "run_notebooks",
    "add_run_arguments",
    "run_from_args",
    "main",
]

logger = logging.getLogger(__name__)

#: Name of the project's Jupyter kernel (installed into the venv by :func:`ensure_kernel`).
PROJECT_KERNEL_NAME = kernelserver.PROJECT_KERNEL_NAME
PROJECT_KERNEL_DISPLAY_NAME = "Python (analysis)"
#: Environment the project kernel runs with: fixed str hashing, so set order is reproducible.
PROJECT_KERNEL_ENV = {"PYTHONHASHSEED": "0"}
#: Run parameters used when no other file is given.
DEFAULT_PARAMS_FILE = paths.PROJECT_ROOT / "params.yml"
#: Folder of the custom nbconvert templates.
TEMPLATES_DIR = paths.RESOURCES_DIR / "report_templates"
OFFLINE_TEMPLATE_NAME = "offline"
EXECUTED_DIR_NAME = "executed"
INDEX_NAME = "index.html"
READER_SUFFIX = ".html"
FULL_SUFFIX = ".full.html"
RUN_RECORD_SUFFIX = ".run.json"
KERNEL_START_TIMEOUT_S = 120
#: Deterministic cell id given to papermill's injected-parameters cell (papermill draws a random one).
INJECTED_CELL_ID = "papermill-injected-parameters"
INJECTED_TAG = "injected-parameters"

_RE_NOTEBOOK_NAME = re.compile(r"^(?P<number>\d{2})_[^/\\]+\.ipynb$")
_RE_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_RE_UNSAFE_HTML = re.compile(
    r"<\s*(?:script|iframe|object|embed|frame|frameset|base)\b|<[^>]*\son[a-z]+\s*=|javascript:",
    re.IGNORECASE,
)
_RE_CSS_NETWORK = re.compile(r"(?:@import\s+|url\(\s*)['\"]?\s*(?:https?:)?//", re.IGNORECASE)
_RE_NETWORK_URL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
_RE_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
# Elements nbconvert's HTMLExporter makes keyboard-focusable, and images without alternative text.
_RE_FOCUSABLE = re.compile(
    r'(<div\b[^>]*?\bclass="(?:[^"]*\s)?(?:jp-Cell-inputWrapper|jp-OutputArea-output)(?:\s[^"]*)?")(?![^>]*\btabindex=)'
)
_RE_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)")
_UNSAFE_MIME_TYPES = ("application/javascript", "text/javascript")
#: (tag, attribute) pairs that make a browser fetch a resource when the page loads.
_LOADING_ATTRIBUTES = {
    ("script", "src"),
    ("link", "href"),
    ("img", "src"),
    ("iframe", "src"),
    ("frame", "src"),
    ("embed", "src"),
    ("object", "data"),
    ("source", "src"),
    ("video", "src"),
    ("video", "poster"),
    ("audio", "src"),
    ("track", "src"),
    ("input", "src"),
}


class NotebookError(RuntimeError):
    """A notebook of the run failed; the message names the notebook and the cell.

    Attributes
    ----------
    notebook : Path
        The source notebook.
    executed_path : Path or None
        The executed copy (with the traceback), when papermill wrote one.
    cell_index : int or None
        0-based index of the failing cell in the executed copy.
    """

    def __init__(
        self,
        message: str,
        *,
        notebook: Path,
        executed_path: Path | None = None,
        cell_index: int | None = None,
    ):
        super().__init__(message)
        self.notebook = notebook
        self.executed_path = executed_path
        self.cell_index = cell_index


class ReportSafetyError(ValueError):
    """An exported report would load from the network or run unescaped markup."""


@dataclass(frozen=True, slots=True)
class NotebookRun:
    """What happened to one notebook in a run.

    Parameters
    ----------
    notebook : str
        File name of the source notebook (``02_topics.ipynb``).
    status : str
        ``"ok"`` or ``"failed"``.
    started : str
        Start time, ISO 8601 UTC (run metadata).
    duration_s : float
        Wall time of execution and export, in seconds.
    git_commit : str
        Commit of the project the run used (``"unknown"`` outside git).
    parameters : dict
        The parameters injected into the notebook.
    executed : str
        Executed copy, relative to the reports folder.
    reader_html, full_html : str or None
        Exported pages, relative to the reports folder (None if not exported).
    error : str or None
        The failure message.
    """

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

    def to_dict(self) -> dict[str, Any]:
        """Fields as a plain dict (for the JSON run record)."""
        return {name: getattr(self, name) for name in self.__slots__}


# ---------------------------------------------------------------- notebooks and parameters


def discover_notebooks(notebooks_dir: str | Path = paths.NOTEBOOKS_DIR) -> list[Path]:
    """The notebooks the pipeline runs: ``NN_*.ipynb`` in name order.

    Names starting with ``_`` (scratch) or without a two-digit prefix are not
    run.

    Raises
    ------
    FileNotFoundError
        If ``notebooks_dir`` does not exist.
    ValueError
        If it holds no ``NN_*.ipynb`` notebook.
    """
    folder = Path(notebooks_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"`notebooks_dir` {str(folder)!r} is not a directory.")
    notebooks = sorted(p for p in folder.iterdir() if p.is_file() and _RE_NOTEBOOK_NAME.match(p.name))
    skipped = sorted(
        p.name
        for p in folder.glob("*.ipynb")
        if not _RE_NOTEBOOK_NAME.match(p.name) and not p.name.startswith(("_", "."))
    )
    if skipped:
        logger.info("not run (no NN_ prefix): %s", ", ".join(skipped))
    if not notebooks:
        raise ValueError(f"no NN_*.ipynb notebook in {folder}; name notebooks like 01_corpus.ipynb.")
    return notebooks


def _matches(notebook: Path, key: str) -> bool:
    key = key.strip()
    return key in (notebook.name, notebook.stem) or notebook.name.startswith(f"{key}_")


def select_notebooks(
    notebooks: Sequence[Path],
    *,
    only: Iterable[str] | None = None,
    from_: str | None = None,
) -> list[Path]:
    """Restrict the run to some notebooks.

    Parameters
    ----------
    notebooks : sequence of Path
        All notebooks, in run order.
    only : iterable of str or None
        Run just these, given by number (``"02"``), stem or file name; the
        run order is kept.
    from_ : str or None
        Run this notebook and every later one.

    Raises
    ------
    ValueError
        If both options are given, or a key matches no notebook.

    Examples
    --------
    >>> from pathlib import Path
    >>> nbs = [Path("01_corpus.ipynb"), Path("02_topics.ipynb"), Path("03_metrics.ipynb")]
    >>> [p.name for p in select_notebooks(nbs, only=["03", "01_corpus"])]
    ['01_corpus.ipynb', '03_metrics.ipynb']
    >>> [p.name for p in select_notebooks(nbs, from_="02")]
    ['02_topics.ipynb', '03_metrics.ipynb']
    """
    notebooks = list(notebooks)
    if only is not None and isinstance(only, str):
        only = [only]
    only = None if only is None else list(only)
    if only is not None and from_ is not None:
        raise ValueError("`only` and `from_` (--only / --from) are mutually exclusive; give one of them.")
    names = [p.name for p in notebooks]
    if only is not None:
        if not only:
            raise ValueError("`only` is empty; give at least one notebook number such as '02'.")
        for key in only:
            if not any(_matches(p, key) for p in notebooks):
                raise ValueError(f"`only` value {key!r} matches no notebook; available: {names}.")
        return [p for p in notebooks if any(_matches(p, key) for key in only)]
    if from_ is not None:
        hits = [i for i, p in enumerate(notebooks) if _matches(p, from_)]
        if not hits:
            raise ValueError(f"`from_` value {from_!r} matches no notebook; available: {names}.")
        return notebooks[hits[0] :]
    return notebooks


def load_params(path: str | Path) -> dict[str, Any]:
    """Read run parameters from a YAML mapping of name -> value.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    InputError
        If it is not valid YAML or not a mapping with identifier keys.
    """
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


def notebook_parameters(notebook: str | Path | nbformat.NotebookNode) -> dict[str, Any]:
    """Names declared in a notebook's ``parameters`` cell, with their default as written.

    Raises
    ------
    InputError
        If the notebook has more than one cell tagged ``parameters``.
    """
    from papermill.inspection import _infer_parameters  # papermill's own parser of the cell

    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(notebook, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) > 1:
        raise InputError(
            None if isinstance(notebook, nbformat.NotebookNode) else notebook,
            f"{len(tagged)} cells are tagged 'parameters' (cells {tagged}); keep exactly one.",
        )
    nb = nbformat.from_dict(nb)  # a copy: papermill's parser expects `tags` on every cell
    for cell in nb.cells:
        cell.setdefault("metadata", {}).setdefault("tags", [])
    return {p.name: p.default for p in _infer_parameters(nb, language="python")}


#: Notebook metadata key (``metadata.analysis.needs``) listing the notebooks one reads from.
NEEDS_KEY = "needs"


def notebook_needs(notebooks: Sequence[Path]) -> dict[Path, list[Path]]:
    """The earlier notebooks each notebook must wait for, from its metadata.

    A notebook lists the notebooks whose outputs it reads in its metadata,
    ``{"analysis": {"needs": ["01_corpus"]}}`` (number, stem or file name),
    and may then run alongside the others. A notebook without that entry needs
    every earlier notebook, so a new notebook runs after all the others.

    Parameters
    ----------
    notebooks : sequence of Path
        All notebooks, in run order.

    Raises
    ------
    InputError
        If an entry is not a list of strings, names no notebook, names a later
        notebook (or the notebook itself), or matches several notebooks.

    Examples
    --------
    >>> import nbformat, tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name, meta in [("01_a", {}), ("02_b", {"analysis": {"needs": ["01"]}}),
    ...                    ("03_c", {"analysis": {"needs": ["01"]}}), ("04_d", {})]:
    ...     nbformat.write(nbformat.v4.new_notebook(metadata=meta), folder / f"{name}.ipynb")
    >>> needs = notebook_needs(sorted(folder.glob("*.ipynb")))
    >>> {nb.stem: [p.stem for p in before] for nb, before in needs.items()}
    {'01_a': [], '02_b': ['01_a'], '03_c': ['01_a'], '04_d': ['01_a', '02_b', '03_c']}
    """
    notebooks = list(notebooks)
    needs: dict[Path, list[Path]] = {}
    for position, notebook in enumerate(notebooks):
        meta = nbformat.read(notebook, as_version=4).metadata.get("analysis", {})
        if not isinstance(meta, Mapping) or NEEDS_KEY not in meta:
            needs[notebook] = notebooks[:position]
            continue
        needs[notebook] = _resolve_needs(meta[NEEDS_KEY], notebooks, position, where="metadata")
    return needs


def _resolve_needs(keys: Any, notebooks: list[Path], position: int, *, where: str) -> list[Path]:
    """The earlier notebooks named by a ``needs`` entry of ``notebooks[position]``, in run order."""
    notebook = notebooks[position]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise InputError(notebook, f"{where} analysis.{NEEDS_KEY} must be a list of notebook names, not {keys!r}.")
    earlier = []
    for key in keys:
        hits = [p for p in notebooks if _matches(p, key)]
        if len(hits) != 1:
            found = "no notebook" if not hits else f"{len(hits)} notebooks"
            raise InputError(notebook, f"{where} analysis.{NEEDS_KEY} entry {key!r} matches {found}.")
        if notebooks.index(hits[0]) >= position:
            raise InputError(
                notebook, f"{where} analysis.{NEEDS_KEY} entry {key!r} is not an earlier notebook; "
                "a notebook can only read what runs before it."
            )
        earlier.append(hits[0])
    return sorted(set(earlier), key=notebooks.index)


def _needs_of_cell(cell: Mapping[str, Any]) -> Any:
    meta = cell.get("metadata", {}).get("analysis", {})
    return meta.get(NEEDS_KEY) if isinstance(meta, Mapping) else None


def cell_needs(notebooks: Sequence[Path]) -> dict[Path, dict[int, list[Path]]]:
    """The earlier notebooks single cells wait for, from the cells' metadata.

    A notebook that reads the outputs of some notebooks only from a later cell
    on can start before they have run: it names them at notebook level only
    for what its first cells read, and lists the others in the metadata of the
    first cell that reads them, ``{"analysis": {"needs": ["02_topics"]}}``.
    The pipeline holds that cell (and so every later one) until they have run;
    if one of them fails, the notebook stops there. Jupyter ignores the entry.

    Returns
    -------
    dict
        For each notebook (in run order), the code cells (index among all
        cells of the committed notebook) that wait, each with the notebooks
        it waits for. Notebooks without such cells map to ``{}``.

    Raises
    ------
    InputError
        As :func:`notebook_needs`, naming the notebook and the cell.

    Examples
    --------
    >>> import nbformat, tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> late = nbformat.v4.new_code_cell("read what 02 wrote", metadata={"analysis": {"needs": ["02"]}})
    >>> for name, cells in [("01_a", []), ("02_b", []), ("03_c", [nbformat.v4.new_code_cell("x = 1"), late])]:
    ...     nbformat.write(nbformat.v4.new_notebook(cells=cells), folder / f"{name}.ipynb")
    >>> {nb.stem: {i: [p.stem for p in ps] for i, ps in cells.items()}
    ...  for nb, cells in cell_needs(sorted(folder.glob("*.ipynb"))).items()}
    {'01_a': {}, '02_b': {}, '03_c': {1: ['02_b']}}
    """
    notebooks = list(notebooks)
    out: dict[Path, dict[int, list[Path]]] = {}
    for position, notebook in enumerate(notebooks):
        cells = nbformat.read(notebook, as_version=4).cells
        out[notebook] = {
            index: _resolve_needs(keys, notebooks, position, where=f"cell {index}")
            for index, cell in enumerate(cells)
            if (keys := _needs_of_cell(cell)) is not None
        }
    return out


# ---------------------------------------------------------------- kernel


def _kernel_dir(prefix: str | Path, kernel_name: str) -> Path:
    return Path(prefix) / "share" / "jupyter" / "kernels" / kernel_name


def ensure_kernel(*, kernel_name: str = PROJECT_KERNEL_NAME, prefix: str | Path | None = None) -> Path:
    """Install the project kernel for this interpreter into the environment, if missing.

    The kernelspec goes to ``<sys.prefix>/share/jupyter/kernels/<kernel_name>``
    (the venv, not the user's home), runs ``sys.executable`` and sets
    ``PYTHONHASHSEED=0``. An existing spec that runs another interpreter is
    replaced.

    Parameters
    ----------
    kernel_name : str, default="analysis"
        Name of the kernelspec.
    prefix : str or Path or None, default=None
        Install prefix; default ``sys.prefix``.

    Returns
    -------
    Path
        The kernelspec folder.

    Raises
    ------
    RuntimeError
        If another kernelspec with the same name (e.g. in the user's Jupyter
        folder) takes precedence over the installed one.
    """
    from ipykernel.kernelspec import install
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    prefix = sys.prefix if prefix is None else str(prefix)
    target = _kernel_dir(prefix, kernel_name)
    spec_file = target / "kernel.json"
    current = None
    if spec_file.is_file():
        try:
            current = json.loads(spec_file.read_text(encoding="utf-8"))
        except ValueError:
            current = None
    up_to_date = (
        current is not None
        and current.get("argv", [None])[0] == sys.executable
        and all(current.get("env", {}).get(k) == v for k, v in PROJECT_KERNEL_ENV.items())
    )
    if not up_to_date:
        install(
            user=False,
            prefix=prefix,
            kernel_name=kernel_name,
            display_name=PROJECT_KERNEL_DISPLAY_NAME,
            env=dict(PROJECT_KERNEL_ENV),
        )
        logger.info("installed Jupyter kernel %r for %s in %s", kernel_name, sys.executable, target)
    if Path(prefix).resolve() == Path(sys.prefix).resolve():
        try:
            found = Path(KernelSpecManager().get_kernel_spec(kernel_name).resource_dir).resolve()
        except NoSuchKernel:
            found = None
        if found != target.resolve():
            raise RuntimeError(
                f"the kernel {kernel_name!r} resolves to {found}, not to the project's {target}; "
                f"remove or rename that kernelspec folder so the project kernel is used."
            )
    return target


# ---------------------------------------------------------------- execution


def _git_commit(root: Path = paths.PROJECT_ROOT) -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not sha:
        return "unknown"
    return f"{sha} (with uncommitted changes)" if dirty else sha


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.name


def _tidy_executed(executed_path: Path, *, project_root: Path) -> None:
    """Make the executed copy stable across reruns: fixed injected-cell id, relative paths."""
    nb = nbformat.read(executed_path, as_version=4)
    for cell in nb.cells:
        if INJECTED_TAG in cell.get("metadata", {}).get("tags", []):
            cell["id"] = INJECTED_CELL_ID
    meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if meta.get(key):
            meta[key] = _relative(Path(meta[key]), project_root)
    text = nbformat.writes(nb)
    atomic_write(executed_path, lambda p: p.write_text(text + "\n", encoding="utf-8"))


#: Options for each notebook's IPython kernel on top of its kernelspec (the project kernel or a
#: forked one; other kernels may not know them): input history kept in memory, not on disk.
KERNEL_EXTRA_ARGUMENTS: tuple[str, ...] = ("--HistoryManager.enabled=False",)


class UpstreamNotebookError(RuntimeError):
    """A cell waited for a notebook (its ``needs``) that failed; raised by a ``cell_gate``."""


#: papermill engine name of :func:`_gated_engine`.
GATED_ENGINE_NAME = "analysis-gated"


@functools.lru_cache(maxsize=1)
def _gated_engine() -> str:
    """Register (once) papermill's nbclient engine with a hook before each cell; return its name."""
    from papermill.engines import NBClientEngine, papermill_engines

    class GatedEngine(NBClientEngine):
        """papermill's nbclient engine calling ``cell_gate(cell)`` before each cell starts."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, cell_gate=None, **kwargs):  # noqa: ANN001, ANN206
            if cell_gate is not None:
                start = nb_man.cell_start

                def cell_start(cell, cell_index=None, **more):  # noqa: ANN001, ANN202
                    cell_gate(cell)  # blocks until the cell may run, or raises
                    return start(cell, cell_index, **more)

                nb_man.cell_start = cell_start
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register(GATED_ENGINE_NAME, GatedEngine)
    return GATED_ENGINE_NAME


def execute_notebook(
    notebook: str | Path,
    executed_path: str | Path,
    *,
    parameters: Mapping[str, Any] | None = None,
    kernel_name: str = PROJECT_KERNEL_NAME,
    cell_timeout_s: int | None = None,
    kernel_manager_class: type | None = None,
    cell_gate: Callable[[Mapping[str, Any]], None] | None = None,
) -> Path:
    """Execute one notebook with papermill into ``executed_path`` (never in place).

    The kernel runs in the notebook's own folder, as in JupyterLab, so
    relative paths in the ``parameters`` cell mean the same in both.
    ``kernel_manager_class`` (e.g. :meth:`analysis.kernelserver.KernelServer.
    kernel_manager_class`) replaces jupyter_client's default kernel manager.
    ``cell_gate(cell)`` is called before each cell starts: it may wait (the
    kernel idles), or raise :class:`UpstreamNotebookError` to stop the
    notebook before that cell.

    Raises
    ------
    ValueError
        If ``executed_path`` is the notebook itself.
    NotebookError
        If a cell fails, the kernel dies or times out; the message names the
        notebook, the cell (index, execution count, first source line) and the
        error, and points at the executed copy holding the traceback.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    notebook = Path(notebook)
    executed_path = Path(executed_path)
    if executed_path.resolve() == notebook.resolve():
        raise ValueError(f"`executed_path` {str(executed_path)!r} is the source notebook; never execute in place.")
    executed_path.parent.mkdir(parents=True, exist_ok=True)
    # The kernel starts in the notebook's folder through nbclient's `resources`, not papermill's
    # `cwd`: that one changes the working directory of the whole process while the notebook
    # runs, and notebooks run side by side in threads of one process (a kernel started while
    # another thread had changed it back started in the wrong folder).
    engine_options: dict[str, Any] = {"resources": {"metadata": {"path": str(notebook.resolve().parent)}}}
    if kernel_manager_class is not None or kernel_name == PROJECT_KERNEL_NAME:  # an IPython kernel
        # A batch run has no use for IPython's input history in ~/.ipython: writing it costs
        # each kernel 20-30 ms at start, and kernels side by side share that database.
        engine_options["extra_arguments"] = list(KERNEL_EXTRA_ARGUMENTS)
    if kernel_manager_class is not None:
        engine_options["kernel_manager_class"] = kernel_manager_class
    if cell_gate is not None:
        engine_options.update(engine_name=_gated_engine(), cell_gate=cell_gate)
    try:
        papermill.execute_notebook(
            str(notebook),
            str(executed_path),
            parameters=dict(parameters or {}),
            kernel_name=kernel_name,
            language="python",
            progress_bar=False,
            request_save_on_cell_execute=False,
            start_timeout=KERNEL_START_TIMEOUT_S,
            execution_timeout=cell_timeout_s,
            **engine_options,
        )
    except PapermillExecutionError as exc:
        first_line = next((ln for ln in (exc.source or "").splitlines() if ln.strip()), "")
        message = (
            f"notebook {notebook.name} failed in cell {exc.cell_index} (In [{exc.exec_count}]: "
            f"{first_line.strip()!r}): {exc.ename}: {exc.evalue}\n"
            f"The executed copy with the full traceback is {executed_path}."
        )
        raise NotebookError(
            message, notebook=notebook, executed_path=executed_path, cell_index=exc.cell_index
        ) from None
    except UpstreamNotebookError as exc:
        raise NotebookError(
            f"notebook {notebook.name} stopped before it finished: {exc}",
            notebook=notebook,
            executed_path=executed_path if executed_path.exists() else None,
        ) from None
    except Exception as exc:  # kernel start failure, dead kernel, timeout, bad notebook JSON
        raise NotebookError(
            f"notebook {notebook.name} could not be executed: {type(exc).__name__}: {exc}",
            notebook=notebook,
            executed_path=executed_path if executed_path.exists() else None,
        ) from exc
    _tidy_executed(executed_path, project_root=paths.PROJECT_ROOT)
    return executed_path


# ---------------------------------------------------------------- HTML export


def _make_escape_preprocessor():
    from nbconvert.preprocessors import Preprocessor

    class EscapeOutputs(Preprocessor):
        """Escape HTML in Markdown outputs; refuse scripts in HTML and JavaScript outputs."""

        def preprocess_cell(self, cell, resources, index):
            if cell.get("cell_type") != "code":
                return cell, resources
            for output in cell.get("outputs", []):
                data = output.get("data")
                if not data:
                    continue
                for mime in _UNSAFE_MIME_TYPES:
                    if mime in data:
                        raise ReportSafetyError(
                            f"{resources.get('_source_name')}: cell {index} has a {mime} output; "
                            f"reports may not run JavaScript. Remove that display call."
                        )
                if "text/markdown" in data:
                    data["text/markdown"] = _RE_TAG_START.sub("&lt;", data["text/markdown"])
                if "text/html" in data:
                    match = _RE_UNSAFE_HTML.search(data["text/html"])
                    if match:
                        raise ReportSafetyError(
                            f"{resources.get('_source_name')}: cell {index} displays HTML containing "
                            f"{match.group(0)[:40]!r}, unescaped. Display DataFrames directly (pandas "
                            f"escapes them) or use Styler.format(escape='html')."
                        )
            return cell, resources

    return EscapeOutputs()


@functools.lru_cache(maxsize=4096)
def _clean_html(text: str) -> str:
    """nbconvert's ``clean_html`` (bleach), once per distinct text: the reader and full pages share outputs."""
    from nbconvert.filters.strings import clean_html

    return clean_html(text)


def add_accessibility_attributes(page: str) -> str:
    """What nbconvert's HTMLExporter adds after rendering, without re-parsing the page.

    Inputs and outputs become keyboard-focusable (``tabindex="0"``), and an
    image without alternative text gets nbconvert's placeholder. nbconvert
    does this with BeautifulSoup, which parses and re-serialises the whole
    page (about half of an export's time for pages with tables).

    >>> add_accessibility_attributes('<div class="jp-Cell-inputWrapper"><img src="x.png">')
    '<div class="jp-Cell-inputWrapper" tabindex="0"><img alt="No description has been provided for this image" src="x.png">'
    """
    page = _RE_FOCUSABLE.sub(r'\1 tabindex="0"', page)
    return _RE_IMG_WITHOUT_ALT.sub('<img alt="No description has been provided for this image"', page)


@functools.lru_cache(maxsize=2)
def _exporter(*, reader: bool):
    """The HTML exporter (built once per process: compiling the templates is the slow part)."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
    from nbconvert.preprocessors import TagRemovePreprocessor

    class ReportExporter(HTMLExporter):
        """HTMLExporter with its BeautifulSoup post-pass replaced by :func:`add_accessibility_attributes`."""

        def from_notebook_node(self, nb, resources=None, **kw):
            # As HTMLExporter.from_notebook_node (nbconvert 7), minus the re-parse.
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight_code = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
            resources = self._init_resources(resources)
            filter_data_type = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )
            self.register_filter("highlight_code", highlight_code)
            self.register_filter("filter_data_type", filter_data_type)
            self.register_filter("clean_html", _clean_html)
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return add_accessibility_attributes(page), resources

    exporter = ReportExporter(
        template_name=OFFLINE_TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=reader,
        exclude_input_prompt=reader,
        exclude_output_prompt=reader,
        embed_images=True,
        optimistic_validation=True,  # validate once after the preprocessors, not after each of them
        require_js_url="",
        mathjax_url="",
        jupyter_widgets_base_url="",
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(
            remove_cell_tags={"remove-cell"},
            remove_all_outputs_tags={"remove-output"},
            remove_input_tags={"remove-input"},
            enabled=True,
        ),
        enabled=True,
    )
    exporter.register_preprocessor(_make_escape_preprocessor(), enabled=True)
    return exporter


class _LoadCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.network: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        for name, value in attrs:
            if (tag, name) in _LOADING_ATTRIBUTES and value and _RE_NETWORK_URL.match(value):
                self.network.append(f"<{tag} {name}={value!r}>")
            if name == "style" and value and _RE_CSS_NETWORK.search(value):
                self.network.append(f"<{tag} style={value[:80]!r}>")
            if tag == "img" and name == "srcset" and value and "//" in value:
                self.network.append(f"<img srcset={value[:80]!r}>")

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            match = _RE_CSS_NETWORK.search(data)
            if match:
                self.network.append(f"<style> {data[match.start() : match.start() + 80]!r}")


def check_offline_html(text: str, *, source: str = "HTML") -> None:
    """Raise if a page would load a script, style, image or frame from the network.

    Parameters
    ----------
    text : str
        The HTML page.
    source : str, default="HTML"
        Name used in the error message.

    Raises
    ------
    ReportSafetyError
        Listing every network load found.
    """
    parser = _LoadCollector()
    parser.feed(text)
    parser.close()
    if parser.network:
        raise ReportSafetyError(
            f"{source} would load from the network, which breaks offline reading: " + "; ".join(parser.network)
        )


def export_html(executed_path: str | Path, *, reports_dir: str | Path = paths.REPORTS_DIR) -> tuple[Path, Path]:
    """Export an executed notebook to a reader page (no code) and a full page.

    Writes ``<reports_dir>/<stem>.html`` and ``<reports_dir>/<stem>.full.html``
    atomically, after checking each with :func:`check_offline_html`.

    Returns
    -------
    tuple of Path
        (reader page, full page).

    Raises
    ------
    ReportSafetyError
        If an output would run unescaped markup or a page loads from the network.
    """
    executed_path = Path(executed_path)
    reports_dir = Path(reports_dir)
    nb = nbformat.read(executed_path, as_version=4)
    pages = []
    for reader, suffix in ((True, READER_SUFFIX), (False, FULL_SUFFIX)):
        resources = {"metadata": {"name": executed_path.stem}, "_source_name": executed_path.name}
        body, _ = _exporter(reader=reader).from_notebook_node(nbformat.from_dict(nb), resources=resources)
        pages.append((reports_dir / f"{executed_path.stem}{suffix}", body))
    font_face = cjk_font_face("".join(body for _, body in pages))
    written = []
    for target, body in pages:
        body = body.replace("</head>", font_face + "</head>", 1) if font_face else body
        check_offline_html(body, source=target.name)
        written.append(atomic_write(target, lambda p, body=body: p.write_text(body, encoding="utf-8")))
    return written[0], written[1]


#: A valid 1 x 1 PNG (for :func:`warm_up_export`).
_ONE_PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _warm_up_notebook() -> nbformat.NotebookNode:
    """A small notebook with the kinds of cell and output the study's notebooks have."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    png = base64.b64encode(_ONE_PIXEL_PNG).decode("ascii")
    code = new_code_cell(
        'display(Markdown("学党史"))\ntable = pd.DataFrame({"地区": ["甲"], "n": [1]})',
        outputs=[
            new_output("stream", name="stdout", text="办实事\n"),
            new_output("display_data", data={"text/markdown": "**开新局** 1", "text/plain": "<Markdown>"}),
            new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
            new_output("execute_result", data={"text/html": "<table><tr><td>甲</td></tr></table>",
                                               "text/plain": "  地区"}, execution_count=1),
        ],
        execution_count=1,
    )
    nb = new_notebook(cells=[new_markdown_cell("# 党史学习教育\n\n| a | b |\n|---|---|\n| 1 | 2 |"), code])
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    return nb


def warm_up_export() -> None:
    """Do once what the first export would do: compile both templates, load the highlighters and the page font.

    The pipeline calls it when its export thread starts, while the kernel
    server is still importing, so that the first real export is as quick as
    the others (0.2 s instead of 0.77 s for 01's pages).
    """
    nb = _warm_up_notebook()
    bodies = [_exporter(reader=reader).from_notebook_node(nbformat.from_dict(nb))[0] for reader in (True, False)]
    cjk_font_face("".join(bodies))


def cjk_font_face(text: str) -> str:
    """A ``<style>`` embedding the CJK font cut down to the characters of ``text`` (:func:`analysis.webfont.font_face`)."""
    return webfont.font_face(text)


# ---------------------------------------------------------------- index page


def _notebook_title(notebook: Path) -> str:
    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception:  # noqa: BLE001 - a title is cosmetic; the run reports real errors
        return notebook.stem
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown":
            match = _RE_HEADING.search(cell.get("source", ""))
            if match:
                return match.group(1).strip()
    return notebook.stem


def _format_params(params: Mapping[str, Any]) -> str:
    if not params:
        return "(defaults of the notebook)"
    return "\n".join(f"{k} = {json.dumps(v, ensure_ascii=False, default=str)}" for k, v in sorted(params.items()))


def _link(href: str | None, label: str) -> str:
    if not href:
        return "—"
    return f'<a href="{html.escape(quote(href), quote=True)}">{html.escape(label)}</a>'


def write_index(
    notebooks: Sequence[Path],
    *,
    reports_dir: str | Path = paths.REPORTS_DIR,
    run_started: str,
    git_commit: str,
    parameters: Mapping[str, Any],
) -> Path:
    """Write ``reports/index.html`` listing every notebook's reports and how they were made.

    Each row comes from the notebook's run record
    (``reports/executed/<stem>.run.json``), so notebooks not rerun in this run
    (``--only``/``--from``, or after a failure) show the date, commit and
    parameters of the run that made their pages. Everything is HTML-escaped.

    Parameters
    ----------
    notebooks : sequence of Path
        All pipeline notebooks, in order.
    reports_dir : str or Path
        The reports folder.
    run_started : str
        Start of this run (ISO 8601).
    git_commit : str
        Commit of this run.
    parameters : mapping
        The merged run parameters of this run.

    Returns
    -------
    Path
        The index page.
    """
    reports_dir = Path(reports_dir)
    rows = []
    for notebook in notebooks:
        record_path = reports_dir / EXECUTED_DIR_NAME / f"{notebook.stem}{RUN_RECORD_SUFFIX}"
        record: dict[str, Any] = {}
        if record_path.is_file():
            try:
                record = json.loads(record_path.read_text(encoding="utf-8"))
            except ValueError:
                logger.warning("unreadable run record %s; listing the notebook without it", record_path)
        status = record.get("status", "not run")
        reader = record.get("reader_html") if status == "ok" else None
        full = record.get("full_html") if status == "ok" else None
        error = record.get("error")
        rows.append(
            "<tr>"
            f"<td>{html.escape(notebook.stem)}</td>"
            f"<td>{html.escape(_notebook_title(notebook))}</td>"
            f"<td>{_link(reader, 'report')}</td>"
            f"<td>{_link(full, 'with code')}</td>"
            f'<td class="{html.escape(status.replace(" ", "-"))}">{html.escape(status)}'
            + (f"<pre>{html.escape(error)}</pre>" if error else "")
            + "</td>"
            f"<td>{html.escape(str(record.get('started', '—')))}</td>"
            f"<td><code>{html.escape(str(record.get('git_commit', '—')))}</code></td>"
            f"<td><pre>{html.escape(_format_params(record.get('parameters', {})))}</pre></td>"
            "</tr>"
        )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Reports: local reporting of the 2021 Party-history learning campaign</title>
<style>
body {{ font-family: "{REPORT_CJK_FAMILY}", system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 2em; color: #222; }}
pre {{ font-family: "{REPORT_CJK_FAMILY}", ui-monospace, monospace; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #ccc; padding: 0.4em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }}
pre {{ margin: 0; white-space: pre-wrap; font-size: 0.85em; }}
td.ok {{ color: #1a7f37; }} td.failed {{ color: #b42318; }} td.not-run {{ color: #777; }}
dl {{ display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }}
dt {{ font-weight: bold; }} dd {{ margin: 0; }}
</style>
</head>
<body>
<h1>Reports</h1>
<p>Each notebook of the study as a report to read (figures and tables, no code) and in full (with code).
Rows show the run that produced each page.</p>
<h2>Latest run</h2>
<dl>
<dt>Date (UTC)</dt><dd>{html.escape(run_started)}</dd>
<dt>Git commit</dt><dd><code>{html.escape(git_commit)}</code></dd>
<dt>Parameters</dt><dd><pre>{html.escape(_format_params(parameters))}</pre></dd>
</dl>
<h2>Notebooks</h2>
<table>
<thead><tr><th>Notebook</th><th>Title</th><th>Report</th><th>Full</th><th>Status</th><th>Run date (UTC)</th>
<th>Git commit</th><th>Parameters</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</body>
</html>
"""
    font_face = cjk_font_face(page)
    page = page.replace("</head>", font_face + "</head>", 1) if font_face else page
    check_offline_html(page, source=INDEX_NAME)
    return atomic_write(reports_dir / INDEX_NAME, lambda p: p.write_text(page, encoding="utf-8"))


# ---------------------------------------------------------------- the run


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def run_notebooks(
    *,
    notebooks_dir: str | Path = paths.NOTEBOOKS_DIR,
    reports_dir: str | Path = paths.REPORTS_DIR,
    params: Mapping[str, Any] | None = None,
    params_file: str | Path | None = DEFAULT_PARAMS_FILE,
    only: Iterable[str] | None = None,
    from_: str | None = None,
    kernel_name: str = PROJECT_KERNEL_NAME,
    cell_timeout_s: int | None = None,
    fork_kernels: bool = True,
    jobs: int | None = None,
    kernel_server: Any = None,
) -> list[NotebookRun]:
    """Execute the notebooks in order and export their HTML reports and the index.

    Parameters
    ----------
    notebooks_dir : str or Path, default=paths.NOTEBOOKS_DIR
        Folder of the ``NN_*.ipynb`` notebooks.
    reports_dir : str or Path, default=paths.REPORTS_DIR
        Output folder: executed copies go to ``<reports_dir>/executed/``,
        pages to ``<reports_dir>/``.
    params : mapping or None, default=None
        Parameters overriding those of ``params_file``.
    params_file : str or Path or None, default=DEFAULT_PARAMS_FILE
        YAML parameters file; None for none. The default ``params.yml`` is
        skipped when absent; any other missing file is an error.
    only, from_ : see :func:`select_notebooks`.
    kernel_name : str, default="analysis"
        Jupyter kernel; the project kernel is installed first if missing
        (:func:`ensure_kernel`).
    cell_timeout_s : int or None, default=None
        Time limit per cell in seconds (None: no limit).
    fork_kernels : bool, default=True
        Fork each notebook's kernel from one process that has already
        imported the libraries (:mod:`analysis.kernelserver`), instead of
        starting a new interpreter per notebook. Each notebook still runs in
        a process and namespace of its own; the tables are the same either
        way (a test compares them). Ordinary kernels are used where forking
        is unavailable.
    jobs : int or None, default=None
        How many notebooks may execute at once; None for the number of CPUs
        this process may use. A notebook starts, in run order, once the
        notebooks it needs (:func:`notebook_needs`) have run; 1 runs them
        one after another. The outputs are the same either way (a test
        compares them).
    kernel_server : analysis.kernelserver.KernelServer or None, default=None
        A kernel server already started for ``kernel_name`` (the command line
        starts it before its own imports, so that both run at once). The run
        uses it if ``fork_kernels``, and stops it in any case.

    Returns
    -------
    list of NotebookRun
        One per executed notebook, in order.

    Raises
    ------
    NotebookError
        At the first failing notebook (no notebook starts after a failure;
        those already running finish; the outputs, pages and records of
        every notebook that ran, and the index, are kept and written). If
        several fail, the earliest in run order.
    ValueError, FileNotFoundError, InputError
        For bad options or notebook metadata, before anything runs.
    """
    # Absolute, so that nothing depends on the working directory while threads run notebooks.
    notebooks_dir = Path(notebooks_dir).resolve()
    reports_dir = Path(reports_dir).resolve()
    if jobs is None:
        jobs = _available_cpus()
    elif not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"`jobs` must be a positive integer or None, not {jobs!r}.")
    all_notebooks = discover_notebooks(notebooks_dir)
    selected = select_notebooks(all_notebooks, only=only, from_=from_)
    needs = notebook_needs(all_notebooks)
    waits = cell_needs(all_notebooks)
    merged: dict[str, Any] = {}
    if params_file is not None:
        params_path = Path(params_file)
        if params_path.is_file() or params_path != DEFAULT_PARAMS_FILE:
            merged.update(load_params(params_path))
    if params:
        bad = [k for k in params if not isinstance(k, str) or not k.isidentifier()]
        if bad:
            raise ValueError(f"`params` names must be Python identifiers; bad names: {bad}.")
        merged.update(params)
    declared = {nb: notebook_parameters(nb) for nb in selected}
    # A name from the parameters file may belong to a notebook not selected this
    # time (--only/--from); it is ineffective only if no notebook declares it.
    # A name given on the command line must be declared by a selected notebook.
    known_all = set().union(*(set(notebook_parameters(nb)) for nb in all_notebooks))
    known_selected = set().union(*(set(d) for d in declared.values()))
    unused = sorted(
        name for name in merged
        if name not in known_selected and (name in (params or {}) or name not in known_all)
    )
    if unused:
        logger.warning(
            "parameters %s are declared by no selected notebook's parameters cell and have no effect",
            unused,
        )
    if kernel_name == PROJECT_KERNEL_NAME:
        ensure_kernel(kernel_name=kernel_name)
    run_started = _now()
    executed_dir = reports_dir / EXECUTED_DIR_NAME
    with contextlib.ExitStack() as stack:
        if kernel_server is not None:
            stack.enter_context(kernel_server)
        # First, so that the server imports while the rest is set up.
        server = (kernel_server or _start_kernel_server(kernel_name, notebooks_dir)) if fork_kernels else None
        if server is not None and server is not kernel_server:
            stack.enter_context(server)
        commit = _git_commit()
        runs, failure = _run_each(
            selected, merged, declared, needs, jobs=jobs, cell_waits=waits,
            resolve_cell_needs=lambda nb, keys: _resolve_needs(
                keys, all_notebooks, all_notebooks.index(nb), where="cell"
            ),
            reports_dir=reports_dir, executed_dir=executed_dir, commit=commit,
            kernel_name=kernel_name, cell_timeout_s=cell_timeout_s,
            kernel_managers=None if server is None else _kernel_managers(server, selected),
        )
    write_index(all_notebooks, reports_dir=reports_dir, run_started=run_started, git_commit=commit, parameters=merged)
    if failure is not None:
        raise failure
    return runs


def _available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the system has one)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _start_kernel_server(kernel_name: str, notebooks_dir: Path):  # noqa: ANN202 - KernelServer | None
    """A kernel server for this kernelspec's interpreter, or None (with a logged reason) if it cannot run."""
    from . import kernelserver

    return kernelserver.start_for_kernelspec(kernel_name, notebooks_dir)


#: Niceness of the thread that exports HTML pages (Linux), see ``_lower_thread_priority``.
EXPORT_THREAD_NICENESS = 10


def _lower_thread_priority() -> None:
    """Lower the CPU priority of the calling thread (Linux only; elsewhere nothing).

    The export thread's work is needed only at the end of the run, while the
    kernels and the kernel server's imports hold up the next notebooks: on a
    machine with fewer free cores than busy processes, the exports wait.
    """
    if not sys.platform.startswith("linux"):
        return  # elsewhere PRIO_PROCESS with a thread id would renice the whole process
    import os
    import threading

    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), EXPORT_THREAD_NICENESS)


def _kernel_managers(server: Any, notebooks: Sequence[Path]) -> dict[Path, type]:
    """A kernel manager class per notebook that tells the server what the notebook imports."""
    from .kernelserver import notebook_imports

    managers = {}
    for notebook in notebooks:
        cells = nbformat.read(notebook, as_version=4).cells
        imports = notebook_imports(c.source for c in cells if c.get("cell_type") == "code")
        managers[notebook] = server.kernel_manager_class(imports=imports)
    return managers


def _export_timed(executed_path: Path, reports_dir: Path) -> tuple[Path, Path, float]:
    t0 = time.perf_counter()
    reader, full = export_html(executed_path, reports_dir=reports_dir)
    return reader, full, time.perf_counter() - t0


def _run_each(
    selected: Sequence[Path],
    merged: Mapping[str, Any],
    declared: Mapping[Path, Mapping[str, Any]],
    needs: Mapping[Path, Sequence[Path]],
    *,
    jobs: int,
    reports_dir: Path,
    executed_dir: Path,
    commit: str,
    kernel_name: str,
    cell_timeout_s: int | None,
    kernel_managers: Mapping[Path, type] | None,
    cell_waits: Mapping[Path, Mapping[int, Sequence[Path]]] | None = None,
    resolve_cell_needs: Callable[[Path, Any], list[Path]] | None = None,
) -> tuple[list[NotebookRun], NotebookError | None]:
    """Execute the selected notebooks, each once the notebooks it needs have run; export each one's pages.

    Up to ``jobs`` notebooks execute at once (each in its kernel's process),
    started in run order as soon as every selected notebook they need has
    executed successfully. A notebook with cells that wait for other
    notebooks (``cell_waits``, :func:`cell_needs`) starts only once those have
    started: after a failure no notebook starts, and a cell must never wait for
    one that will not run. Each such cell is held until they have executed, and
    the notebook stops there if one of them failed. Pages are exported in one background thread while later notebooks
    execute. After the first failure (a notebook's cell or its export) no
    notebook starts; those already running finish and are recorded. The error
    returned is the failure of the earliest notebook in run order.
    """
    order = {notebook: i for i, notebook in enumerate(selected)}
    runs: dict[Path, NotebookRun] = {}
    failures: dict[Path, NotebookError] = {}
    cell_waits = cell_waits or {}
    waited_for = {nb: {p for ps in cell_waits.get(nb, {}).values() for p in ps if p in order} for nb in selected}
    finished = threading.Condition()  # guards `executed_ok` and `executed_failed`
    executed_ok: set[Path] = set()
    executed_failed: set[Path] = set()

    def gate_for(notebook: Path) -> Callable[[Mapping[str, Any]], None] | None:
        if not waited_for[notebook] or resolve_cell_needs is None:
            return None

        def gate(cell: Mapping[str, Any]) -> None:
            keys = _needs_of_cell(cell)
            if keys is None:
                return
            wanted = [p for p in resolve_cell_needs(notebook, keys) if p in order]
            with finished:
                finished.wait_for(lambda: all(p in executed_ok or p in executed_failed for p in wanted))
                failed = [p.name for p in wanted if p in executed_failed]
            if failed:
                first_line = next((ln for ln in str(cell.get("source", "")).splitlines() if ln.strip()), "")
                raise UpstreamNotebookError(
                    f"the cell {first_line.strip()!r} needs {', '.join(failed)}, which failed"
                )

        return gate

    def record(notebook: Path, run: NotebookRun) -> None:
        write_json(run.to_dict(), executed_dir / f"{notebook.stem}{RUN_RECORD_SUFFIX}")
        runs[notebook] = run
        logger.info("%s %s in %.1f s", run.notebook, run.status, run.duration_s)

    def execute(notebook: Path, injected: dict[str, Any]) -> float:
        t0 = time.perf_counter()
        try:
            execute_notebook(
                notebook, executed_dir / notebook.name, parameters=injected, kernel_name=kernel_name,
                cell_timeout_s=cell_timeout_s,
                kernel_manager_class=None if kernel_managers is None else kernel_managers[notebook],
                cell_gate=gate_for(notebook),
            )
        except BaseException:
            with finished:
                executed_failed.add(notebook)
                finished.notify_all()
            raise
        with finished:
            executed_ok.add(notebook)
            finished.notify_all()
        return time.perf_counter() - t0

    pending = list(selected)
    succeeded: set[Path] = set()
    started: dict[Path, tuple[str, float, dict[str, Any]]] = {}
    executing: dict[concurrent.futures.Future, Path] = {}
    exporting: dict[concurrent.futures.Future, tuple[Path, float]] = {}
    with (
        concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="notebook") as runner,
        concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="html-export") as exporter,
    ):
        exporter.submit(_lower_thread_priority)  # exports yield the CPU to notebooks and kernel server
        exporter.submit(warm_up_export)  # while the kernel server imports and the first notebook runs
        while True:
            while not failures and len(executing) < jobs:
                ready = next(
                    (
                        nb for nb in pending
                        if all(p in succeeded or p not in order for p in needs[nb])
                        and all(p in started for p in waited_for[nb])
                    ),
                    None,
                )
                if ready is None:
                    break
                pending.remove(ready)
                injected = {k: v for k, v in sorted(merged.items()) if k in declared[ready]}
                for stale in (reports_dir / f"{ready.stem}{READER_SUFFIX}", reports_dir / f"{ready.stem}{FULL_SUFFIX}"):
                    stale.unlink(missing_ok=True)
                started[ready] = (_now(), time.perf_counter(), injected)
                logger.info("running %s", ready.name)
                executing[runner.submit(execute, ready, injected)] = ready
            if not executing and not exporting:
                break
            done, _ = concurrent.futures.wait([*executing, *exporting], return_when=concurrent.futures.FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: order[executing.get(f) or exporting[f][0]]):
                if future in executing:
                    notebook = executing.pop(future)
                    when, t0, injected = started[notebook]
                    try:
                        execution_s = future.result()
                    except NotebookError as exc:
                        failures[notebook] = exc
                        record(notebook, NotebookRun(
                            notebook=notebook.name, status="failed", started=when,
                            duration_s=round(time.perf_counter() - t0, 3), git_commit=commit, parameters=injected,
                            executed=_relative(executed_dir / notebook.name, reports_dir), error=str(exc),
                        ))
                        continue
                    succeeded.add(notebook)
                    exporting[exporter.submit(_export_timed, executed_dir / notebook.name, reports_dir)] = (
                        notebook, execution_s,
                    )
                else:
                    notebook, execution_s = exporting.pop(future)
                    when, _, injected = started[notebook]
                    reader_page = full_page = None
                    export_s = 0.0
                    error = None
                    try:
                        reader_page, full_page, export_s = future.result()
                    except ReportSafetyError as exc:
                        error = f"notebook {notebook.name} could not be exported safely: {exc}"
                    except OSError as exc:
                        error = f"notebook {notebook.name} could not be exported: {exc}"
                    if error is not None:
                        failures[notebook] = NotebookError(
                            error, notebook=notebook, executed_path=executed_dir / notebook.name
                        )
                    record(notebook, NotebookRun(
                        notebook=notebook.name, status="failed" if error else "ok", started=when,
                        duration_s=round(execution_s + export_s, 3), git_commit=commit, parameters=injected,
                        executed=_relative(executed_dir / notebook.name, reports_dir),
                        reader_html=None if reader_page is None else _relative(reader_page, reports_dir),
                        full_html=None if full_page is None else _relative(full_page, reports_dir),
                        error=error,
                    ))
    first_failure = failures[min(failures, key=order.__getitem__)] if failures else None
    return [runs[nb] for nb in sorted(runs, key=order.__getitem__)], first_failure


# ---------------------------------------------------------------- command line


def _parse_value(text: str) -> Any:
    """A ``-p`` value: YAML scalar (``5`` -> int, ``true`` -> bool, ``0.9`` -> float), else the string."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return text if value is None and text.strip() not in ("null", "~") else value


def add_run_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``python -m analysis run`` to ``parser``."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--only", nargs="+", action="extend", metavar="NN", help="run only these notebooks (number, stem or file name)"
    )
    group.add_argument("--from", dest="from_", metavar="NN", help="run this notebook and all later ones")
    parser.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        default=[],
        help="set a parameter (VALUE is read as YAML: 5, 0.9, true, text); overrides the file",
    )
    parser.add_argument(
        "-f",
        "--params-file",
        type=Path,
        default=DEFAULT_PARAMS_FILE,
        help=f"YAML file of parameters (default: {DEFAULT_PARAMS_FILE.name} at the project root, if present)",
    )
    parser.add_argument("--notebooks-dir", type=Path, default=paths.NOTEBOOKS_DIR, help="folder of NN_*.ipynb")
    parser.add_argument("--reports-dir", type=Path, default=paths.REPORTS_DIR, help="output folder for reports")
    parser.add_argument("--kernel", default=PROJECT_KERNEL_NAME, help="Jupyter kernel name (default: %(default)s)")
    parser.add_argument("--cell-timeout", type=int, default=None, metavar="SECONDS", help="time limit per cell")
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="notebooks that may execute at once, each once the notebooks it needs have run "
        "(default: the number of CPUs; 1 runs them one after another)",
    )
    parser.add_argument(
        "--no-fork-kernels",
        dest="fork_kernels",
        action="store_false",
        help="start a new interpreter for each notebook's kernel instead of forking it from one that has "
        "already imported the libraries (slower; same results)",
    )
    return parser


def run_from_args(args: argparse.Namespace) -> int:
    """Run the pipeline from parsed arguments; return the process exit code.

    0 on success; 1 if a notebook failed (the message naming the notebook and
    cell goes to stderr); 2 for bad options or parameter files.
    """
    params = {name: _parse_value(value) for name, value in args.param}
    try:
        runs = run_notebooks(
            notebooks_dir=args.notebooks_dir,
            reports_dir=args.reports_dir,
            params=params,
            params_file=args.params_file,
            only=args.only,
            from_=args.from_,
            kernel_name=args.kernel,
            cell_timeout_s=args.cell_timeout,
            fork_kernels=args.fork_kernels,
            jobs=args.jobs,
            kernel_server=getattr(args, "kernel_server", None),
        )
    except NotebookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("Earlier notebooks' outputs and reports are kept; see reports/index.html.", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    index = Path(args.reports_dir) / INDEX_NAME
    print(f"{len(runs)} notebook(s) executed; reports: {index}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m analysis.pipeline``."""
    parser = add_run_arguments(argparse.ArgumentParser(prog="analysis run", description=__doc__.splitlines()[0]))
    args = parser.parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        logging.getLogger("papermill").setLevel(logging.WARNING)
    return run_from_args(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
