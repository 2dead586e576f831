"""Time the report pipeline against executing as many empty notebooks, in the same run.

Usage::

    .venv/bin/python benchmarks/bench_pipeline.py [--mode both] [--repeat 1] [--jobs N] [--no-fork-kernels]

Two measurements, each side by side with its baseline, alternating run by run:

``in-process``
    ``pipeline.run_notebooks`` on every ``NN_*.ipynb`` of the notebooks folder,
    with the default ``params.yml``, writing HTML to a temporary folder (the
    notebooks still write their tables and figures to ``data/processed`` and
    ``reports/figures``, as ``make report`` does), timed inside this process
    after its imports. Baseline: the same number of empty notebooks (one
    ``pass`` cell each) executed with papermill in the same kernel and exported
    with nbconvert's HTML exporter, in this process too.
``end-to-end``
    What ``make report`` runs, ``python -m analysis run -f params.yml``, as a
    new process (``--reports-dir`` a temporary folder), timed from its start to
    its exit: the command line's own start and imports included. Baseline: a
    new process that imports papermill and nbconvert and does the baseline
    above.

The baseline is the fixed cost of any papermill + nbconvert pipeline (kernel
start, execution round trip, HTML templating). The pipeline exports two pages
per notebook (reader and full) and checks them, so the ratio includes that
extra work. Target (issue 5, "the time of ``make report``"): ratio <= 2.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
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


def _timed_process(argv: list[str]) -> float:
    """Wall time of a new process from its start to its exit; its output is kept only if it fails."""
    t0 = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if result.returncode != 0:
        raise RuntimeError(f"{argv[:4]}... exited with {result.returncode}:\n{result.stderr[-2000:]}")
    return seconds


#: :func:`_baseline` as a script of its own: it imports only papermill, nbconvert and nbformat.
_BASELINE_SCRIPT = """
import sys
from pathlib import Path
import papermill
from nbconvert import HTMLExporter
empty_dir, out_dir, kernel_name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
exporter = HTMLExporter()
for nb in sorted(empty_dir.glob("*.ipynb")):
    executed = out_dir / nb.name
    papermill.execute_notebook(str(nb), str(executed), kernel_name=kernel_name, progress_bar=False,
                               cwd=str(nb.parent))
    body, _ = exporter.from_filename(str(executed))
    (out_dir / f"{nb.stem}.html").write_text(body, encoding="utf-8")
"""


def _baseline_process(empty_dir: Path, out_dir: Path) -> float:
    """The baseline in a new process: its imports of papermill and nbconvert are timed too."""
    return _timed_process(
        [sys.executable, "-c", _BASELINE_SCRIPT, str(empty_dir), str(out_dir), pipeline.PROJECT_KERNEL_NAME]
    )


def _pipeline_process(args: argparse.Namespace, reports_dir: Path) -> float:
    """``make report``'s command in a new process, HTML to ``reports_dir``."""
    argv = [sys.executable, "-m", "analysis", "run", "-f", str(pipeline.DEFAULT_PARAMS_FILE),
            "--notebooks-dir", str(args.notebooks_dir), "--reports-dir", str(reports_dir)]
    argv += ["--only", *args.only] if args.only else []
    argv += ["--jobs", str(args.jobs)] if args.jobs else []
    argv += [] if args.fork_kernels else ["--no-fork-kernels"]
    return _timed_process(argv)


def _report(label: str, n: int, base_times: list[float], run_times: list[float], how: str) -> None:
    base, run = statistics.median(base_times), statistics.median(run_times)
    print(f"[{label}] baseline: {n} empty notebooks via papermill + nbconvert: {base:7.2f} s ({base / n:.2f} s each); "
          f"runs {', '.join(f'{t:.2f}' for t in base_times)}")
    print(f"[{label}] pipeline: {how}: {run:7.2f} s ({run / n:.2f} s each); runs {', '.join(f'{t:.2f}' for t in run_times)}")
    print(f"[{label}] ratio pipeline / baseline: {run / base:.2f}x (target <= 2x)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks-dir", type=Path, default=paths.NOTEBOOKS_DIR)
    parser.add_argument("--mode", choices=("both", "in-process", "end-to-end"), default="both",
                        help="what to time (see the module docstring)")
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
        modes = ["in-process", "end-to-end"] if args.mode == "both" else [args.mode]
        times: dict[str, tuple[list[float], list[float]]] = {mode: ([], []) for mode in modes}
        for i in range(args.repeat):
            for mode in modes:
                out = tmp / f"{mode}-base{i}"
                out.mkdir()
                reports = tmp / f"{mode}-reports{i}"
                try:
                    if mode == "in-process":
                        times[mode][0].append(_baseline(empties, out))
                        times[mode][1].append(
                            _pipeline(args.notebooks_dir, reports, args.only, args.fork_kernels, args.jobs)
                        )
                    else:
                        times[mode][0].append(_baseline_process(empty_dir, out))
                        times[mode][1].append(_pipeline_process(args, reports))
                except (pipeline.NotebookError, RuntimeError) as exc:
                    print(f"pipeline failed, not timed: {exc}")
                    return 1
    kernels = "forked kernels" if args.fork_kernels else "a new interpreter per notebook"
    jobs = f"{args.jobs or pipeline._available_cpus()} at a time"
    for mode in modes:
        how = ("run_notebooks in this process" if mode == "in-process"
               else "`python -m analysis run -f params.yml` as a new process")
        _report(mode, n, *times[mode], f"{how} ({kernels}, {jobs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
