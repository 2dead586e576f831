"""Committed notebooks are clean sources: no outputs, one literal parameters cell, no logic, no local paths.

The checks live in :func:`notebook_problems`, which is itself tested on
synthetic good and bad notebooks so this file guards something even before
the study notebooks exist.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from analysis import paths, pipeline

NOTEBOOKS = sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb")) if paths.NOTEBOOKS_DIR.is_dir() else []
_RE_MAGIC = re.compile(r"^\s*[%!]")
_RE_ABSOLUTE_STRING = re.compile(r"^(?:/[A-Za-z0-9_.~-]|~[/\\]|[A-Za-z]:[\\/])")
_RE_ABSOLUTE_TEXT = re.compile(r"(?:/home/|/Users/|/work/|/tmp/|/root/|/mnt/|[A-Za-z]:\\\\)")
_RE_UNSAFE = re.compile(
    r"escape\s*=\s*False|Javascript\(|%%javascript|%%html|render_links\s*=\s*True"
    r"|filterwarnings\(\s*['\"]ignore|simplefilter\(\s*['\"]ignore"
)


def _code(cell) -> str:
    """Cell source without IPython magics / shell lines (not Python syntax)."""
    return "\n".join("" if _RE_MAGIC.match(line) else line for line in cell.source.splitlines())


def _is_literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except ValueError:
        return False
    return True


def notebook_problems(path: Path) -> list[str]:
    """Every way the notebook at ``path`` breaks the rules for committed notebooks."""
    problems: list[str] = []
    nb = nbformat.read(path, as_version=4)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        problems.append(f"invalid notebook: {exc.message}")
    if (nb.nbformat, nb.nbformat_minor) < (4, 5) or any("id" not in c for c in nb.cells):
        problems.append("cells need ids (nbformat >= 4.5) so reports are reproducible; save it with JupyterLab")
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel != pipeline.PROJECT_KERNEL_NAME:
        problems.append(f"kernelspec is {kernel!r}, expected {pipeline.PROJECT_KERNEL_NAME!r}")
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not path.name.startswith("_") and len(tagged) != 1:
        problems.append(f"{len(tagged)} cells tagged 'parameters' (cells {tagged}); exactly one is required")
    for i, cell in enumerate(nb.cells):
        where = f"cell {i}"
        if _RE_ABSOLUTE_TEXT.search(cell.source):
            problems.append(f"{where}: names an absolute path: {_RE_ABSOLUTE_TEXT.search(cell.source).group(0)!r}")
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"{where}: has outputs; clear them before committing")
        if cell.get("execution_count") is not None:
            problems.append(f"{where}: has execution count {cell.execution_count}; clear it before committing")
        unsafe = _RE_UNSAFE.search(cell.source)
        if unsafe:
            problems.append(f"{where}: uses {unsafe.group(0)!r} (unescaped HTML, JavaScript or hidden warnings)")
        try:
            tree = ast.parse(_code(cell))
        except SyntaxError as exc:
            problems.append(f"{where}: not valid Python: {exc.msg}")
            continue
        # f"{processed_dir}/01_table": only the leading piece of an f-string can start a path.
        inner = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values[1:]}
        for node in ast.walk(tree):
            if id(node) in inner:
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                problems.append(f"{where}: defines {node.name!r}; put helpers in src/analysis")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _RE_ABSOLUTE_STRING.match(node.value):
                problems.append(f"{where}: absolute path {node.value!r}; use a relative path parameter")
        if i in tagged:
            for stmt in tree.body:
                targets_ok = isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets)
                targets_ok |= isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                if not targets_ok or stmt.value is None or not _is_literal(stmt.value):
                    problems.append(f"{where}: the parameters cell may hold only `name = literal` lines")
                    break
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_is_clean(path):
    assert notebook_problems(path) == []


STUDY_NOTEBOOKS = [p for p in NOTEBOOKS if not p.name.startswith("_")]
#: The findings cell is among this many last cells of a notebook.
FINDINGS_NEAR_END_CELLS = 3


@pytest.mark.parametrize("path", STUDY_NOTEBOOKS, ids=[p.name for p in STUDY_NOTEBOOKS])
def test_each_study_notebook_states_its_findings_in_one_tagged_cell(path):
    # The runner shows the text/markdown output of this cell on the index page and the terminal.
    nb = nbformat.read(path, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells) if "findings" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{len(tagged)} cells tagged 'findings' (cells {tagged}); exactly one is required"
    cell = nb.cells[tagged[0]]
    assert cell.cell_type == "code"
    assert tagged[0] >= len(nb.cells) - FINDINGS_NEAR_END_CELLS, "the findings cell belongs near the end"
    tree = ast.parse(_code(cell))
    last = tree.body[-1]
    # Its value is the bullet list built by figures.findings (computed numbers, one line each).
    assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
    assert ast.unparse(last.value.func) == "figures.findings"
    assert isinstance(last.value.args[0], ast.List) and all(
        not (isinstance(e, ast.Constant) and isinstance(e.value, str)) for e in last.value.args[0].elts
    ), "every finding is computed (an f-string or an expression), not typed in"


def test_pipeline_notebooks_exist_or_none_yet():
    # Every numbered notebook is one the pipeline runs; nothing else in notebooks/ but scratch (_*).
    numbered = [p.name for p in NOTEBOOKS if not p.name.startswith("_")]
    if numbered:
        assert [p.name for p in pipeline.discover_notebooks(paths.NOTEBOOKS_DIR)] == numbered


def test_no_module_disables_html_escaping():
    offenders = [
        f"{p.name}: {m.group(0)}"
        for p in sorted(paths.PACKAGE_DIR.glob("*.py"))
        for m in [re.search(r"escape\s*=\s*False|render_links\s*=\s*True", p.read_text(encoding="utf-8"))]
        if m
    ]
    assert offenders == []


# ---------------------------------------------------------------- the checker itself


def _write(tmp_path: Path, name: str, cells: list, kernel: str = "analysis") -> Path:
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": kernel, "display_name": "x", "language": "python"}})
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def _params(source: str = "raw_dir = '../data/raw'\nrandom_state = 0\nplaces: list = ['中原区']"):
    cell = new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    return cell


def test_checker_accepts_a_clean_notebook(tmp_path):
    path = _write(
        tmp_path,
        "01_good.ipynb",
        [
            new_markdown_cell("# 语料 Corpus\nReads `data/raw`."),
            _params(),
            new_code_cell("%matplotlib inline\nfrom analysis import figures\nfigures.setup_cjk_font()"),
        ],
    )
    assert notebook_problems(path) == []


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([_params(), new_code_cell("x = 1", execution_count=3)], "execution count"),
        ([_params(), new_code_cell("x = 1")], None),
        ([new_code_cell("x = 1")], "0 cells tagged"),
        ([_params(), _params()], "2 cells tagged"),
        ([_params(), new_code_cell("def helper():\n    return 1")], "defines 'helper'"),
        ([_params(), new_code_cell("class Thing:\n    pass")], "defines 'Thing'"),
        ([_params("raw_dir = '/home/me/data'")], "absolute path"),
        ([_params(), new_code_cell("open('C:\\\\data\\\\x.txt')")], "absolute path"),
        ([_params(), new_code_cell("p = f'/home/me/{raw_dir}'")], "absolute path"),
        ([_params(), new_code_cell("p = f'{raw_dir}/01_table'")], None),
        ([_params(), new_markdown_cell("Data in /work/main/data/raw")], "absolute path"),
        ([_params("from pathlib import Path\nraw = Path('x')")], "only `name = literal`"),
        ([_params("k = 2 * 5")], "only `name = literal`"),
        ([_params(), new_code_cell("df.to_html(escape=False)")], "escape=False"),
        ([_params(), new_code_cell("warnings.filterwarnings('ignore')")], "filterwarnings"),
    ],
)
def test_checker_flags_problems(tmp_path, cells, expected):
    path = _write(tmp_path, "02_bad.ipynb", cells)
    problems = notebook_problems(path)
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems


def test_checker_flags_outputs_and_wrong_kernel(tmp_path):
    cell = new_code_cell("print(1)")
    cell.outputs = [new_output("stream", name="stdout", text="1\n")]
    problems = notebook_problems(_write(tmp_path, "03_out.ipynb", [_params(), cell], kernel="python3"))
    assert any("has outputs" in p for p in problems)
    assert any("kernelspec is 'python3'" in p for p in problems)


def test_scratch_notebooks_need_no_parameters_cell(tmp_path):
    assert notebook_problems(_write(tmp_path, "_explore.ipynb", [new_code_cell("x = 1")])) == []
