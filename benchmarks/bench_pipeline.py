"""Time the report pipeline against executing as many empty notebooks, in the same run.

Usage::

    .venv/bin/python benchmarks/bench_pipeline.py [--notebooks-dir notebooks] [--repeat 1]

Measured (``make report`` equivalent): ``pipeline.run_notebooks`` on every
``NN_*.ipynb`` of the notebooks folder, with the default ``params.yml``,
writing HTML to a temporary folder (the notebooks still write their tables and
figures to ``data/processed`` and ``reports/figures``, as ``make report`` does).

Baseline: the same number of empty notebooks (one ``pass`` cell each) executed
with papermill in the same kernel and exported once with nbconvert's default
HTML exporter: the fixed cost of any papermill + nbconvert pipeline (kernel
start, execution round trip, HTML templating). The pipeline exports two pages
per notebook (reader and full) and checks them, so the ratio includes that
extra work. Target: ratio <= 2.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_notebook

from analysis import paths, pipeline


def _empty_notebooks(folder: Path, n: int) -> list[Path]:
    out = []
    for i in range(1, n + 1):
        cell = new_code_cell("pass")
        cell.id = "c0"
        nb = new_notebook(cells=[cell], metadata={"kernelspec": {"name": "analysis", "language": "python",
                                                                  "display_name": "Python (analysis)"}})
        path = folder / f"{i:02d}_empty.ipynb"
        nbformat.write(nb, path)
        out.append(path)
    return out


def _baseline(notebooks: list[Path], out_dir: Path) -> float:
    t0 = time.perf_counter()
    exporter = HTMLExporter()
    for nb in notebooks:
        executed = out_dir / nb.name
        papermill.execute_notebook(str(nb), str(executed), kernel_name=pipeline.PROJECT_KERNEL_NAME,
                                   progress_bar=False, cwd=str(nb.parent))
        body, _ = exporter.from_filename(str(executed))
        (out_dir / f"{nb.stem}.html").write_text(body, encoding="utf-8")
    return time.perf_counter() - t0


def _pipeline(
    notebooks_dir: Path, reports_dir: Path, only: list[str] | None, fork_kernels: bool, jobs: int | None
) -> float:
    t0 = time.perf_counter()
    pipeline.run_notebooks(
        notebooks_dir=notebooks_dir, reports_dir=reports_dir, only=only, fork_kernels=fork_kernels, jobs=jobs
    )
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks-dir", type=Path, default=paths.NOTEBOOKS_DIR)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side (median reported)")
    parser.add_argument("--only", nargs="+", metavar="NN", help="time only these notebooks")
    parser.add_argument("--no-fork-kernels", dest="fork_kernels", action="store_false",
                        help="time the pipeline with a new interpreter per notebook (what forking saves)")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="notebooks executing at once (default: the number of CPUs; 1: one at a time)")
    args = parser.parse_args(argv)
    try:
        notebooks = pipeline.select_notebooks(pipeline.discover_notebooks(args.notebooks_dir), only=args.only)
    except (FileNotFoundError, ValueError) as exc:
        print(f"nothing to benchmark: {exc}")
        return 0
    pipeline.ensure_kernel()
    n = len(notebooks)
    print(f"{n} notebook(s) in {args.notebooks_dir}: {', '.join(p.name for p in notebooks)}")
    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as tmp:
        tmp = Path(tmp)
        empty_dir = tmp / "empty"
        empty_dir.mkdir()
        empties = _empty_notebooks(empty_dir, n)
        warm = tmp / "warm"
        warm.mkdir()
        _baseline(empties[:1], warm)  # warm-up: first kernel start pays for cold caches
        base_times, run_times = [], []
        for i in range(args.repeat):
            out = tmp / f"base{i}"
            out.mkdir()
            base_times.append(_baseline(empties, out))
            try:
                run_times.append(
                    _pipeline(args.notebooks_dir, tmp / f"reports{i}", args.only, args.fork_kernels, args.jobs)
                )
            except pipeline.NotebookError as exc:
                print(f"pipeline failed, not timed: {exc}")
                return 1
    base, run = statistics.median(base_times), statistics.median(run_times)
    print(f"baseline: {n} empty notebooks via papermill + nbconvert: {base:7.2f} s ({base / n:.2f} s each)")
    kernels = "forked kernels" if args.fork_kernels else "a new interpreter per notebook"
    jobs = f"{args.jobs or pipeline._available_cpus()} at a time"
    print(f"pipeline: run_notebooks on {n} notebooks ({kernels}, {jobs}): {run:7.2f} s ({run / n:.2f} s each)")
    print(f"ratio pipeline / baseline: {run / base:.2f}x (target <= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
