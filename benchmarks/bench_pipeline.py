"""Time ``make report``'s command with the old runner and with the current one, side by side in one run.

Usage::

    .venv/bin/python benchmarks/bench_pipeline.py [--before bef6068] [--repeat 3] [--warmup 1]

"Before" is a git worktree of ``--before`` (default ``bef6068``, the last
commit with the fork server of pre-imported kernels, ``kernelserver.py``),
made in a temporary folder and removed at the end. "After" is this checkout as
it is on disk (uncommitted edits included; the script says so).

Each timed run is a new process of what ``make report`` runs,
``python -m analysis run -f params.yml --reports-dir <temporary folder>``,
started in that side's root with ``PYTHONPATH=<side>/src`` so that side's
``analysis`` package is imported, in the runner and in its kernels (they
inherit the environment). Both sides use the same interpreter (the project's
``.venv``) and the same registered kernelspec; each side reads its own
``data/raw`` and writes its own ``data/processed`` and ``reports/figures``
(``params.yml``'s paths are relative to the side's ``notebooks/``). The runs
alternate between the sides and the order flips every round (B A, A B, ...).
A non-zero exit stops the benchmark with the side's stderr.

Measured per run: wall time from the start of the process to its exit, and
the CPU time (user + system) of its whole process tree, as the change of
``resource.getrusage(RUSAGE_CHILDREN)`` (Linux and macOS; not measured on
Windows). On Linux this script makes itself a child subreaper, so processes
of the tree that outlive their parent are reparented to it and reaped, and
their CPU counted too. Printed: median and range per side, the ratio
after / before, the line counts of the runner files (``wc -l``) with the lines
deleted, and per notebook its duration, its imports cell and its slowest cell
(from papermill's metadata in the executed copies), to see where a difference
comes from. ``--env NAME=VALUE`` sets a variable in both sides' environment
(e.g. ``OMP_NUM_THREADS=1``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The runner: kernel handling, execution, export, index, and the page font.
RUNNER_FILES = {
    "before": ("src/analysis/pipeline.py", "src/analysis/kernelserver.py", "src/analysis/webfont.py"),
    "after": ("src/analysis/pipeline.py", "src/analysis/webfont.py"),
}


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout


def _cpu_seconds() -> float | None:
    """User + system time of the waited-for children so far (None where ``resource`` is missing)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _become_subreaper() -> bool:
    """Linux: orphaned descendants are reparented to this process (so their CPU time reaches RUSAGE_CHILDREN)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    pr_set_child_subreaper = 36
    return ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0) == 0


def _reap_orphans(timeout_s: float = 30.0) -> int:
    """Wait for descendants reparented to this process; returns 1 if some still run at the timeout, else 0."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return 0  # no child left
        if pid == 0:
            if time.monotonic() > deadline:
                return 1
            time.sleep(0.05)


def _timed_run(side: str, root: Path, python: str, reports_dir: Path,
               extra_env: dict[str, str]) -> tuple[float, float | None, str]:
    """One ``make report`` command of ``side`` as a new process: (wall s, CPU s of the tree, stdout)."""
    env = {**os.environ, **extra_env, "PYTHONPATH": str(root / "src")}
    argv = [python, "-m", "analysis", "run", "-f", "params.yml", "--reports-dir", str(reports_dir)]
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    result = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    left = _reap_orphans() if sys.platform.startswith("linux") else 0
    cpu1 = _cpu_seconds()
    if result.returncode != 0:
        raise RuntimeError(f"{side}: `{' '.join(argv[1:])}` in {root} exited with {result.returncode}:\n"
                           f"{result.stdout[-1500:]}\n{result.stderr[-3000:]}")
    if left:
        print(f"  note: {side} left processes running after its exit; their CPU time is missing")
    cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    return wall, cpu, result.stdout


def _check_import(side: str, root: Path, python: str) -> None:
    """The side's own ``analysis`` package must be the one imported."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    where = subprocess.run([python, "-c", "import analysis; print(analysis.__file__)"], cwd=root, env=env,
                           check=True, capture_output=True, text=True).stdout.strip()
    if not Path(where).resolve().is_relative_to((root / "src").resolve()):
        raise RuntimeError(f"{side}: imports analysis from {where}, not from {root / 'src'}")


def _notebook_times(reports_dir: Path) -> dict[str, tuple[float, float, float, str]]:
    """Per executed notebook (papermill's metadata): (duration, imports cell, slowest cell, its first line).

    The imports cell is the first code cell with an ``import`` line: with the
    old runner's pre-imported kernels it costs next to nothing.
    """
    import json

    out = {}
    for path in sorted((reports_dir / "executed").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = [("".join(c["source"]), c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0)
                 for c in nb["cells"] if c["cell_type"] == "code"]
        imports = next((d for src, d in cells if "import " in src), 0.0)
        slow_src, slow = max(cells, key=lambda c: c[1], default=("", 0.0))
        out[path.stem] = (nb["metadata"].get("papermill", {}).get("duration") or 0.0, imports, slow,
                          slow_src.strip().splitlines()[0][:48] if slow_src.strip() else "")
    return out


def _print_notebook_times(per_run: dict[str, list[dict[str, tuple[float, float, float, str]]]]) -> None:
    med = statistics.median
    print("\nper notebook, median of the timed runs (s; papermill's cell durations, notebooks run side by side):")
    print(f"  {'notebook':14} {'side':6} {'whole':>6} {'imports':>8} {'slowest cell':>13}  slowest cell's first line")
    names = sorted({name for runs in per_run.values() for run in runs for name in run})
    for name in names:
        for side in ("before", "after"):
            rows = [run[name] for run in per_run[side] if name in run]
            if rows:
                print(f"  {name:14} {side:6} {med(r[0] for r in rows):6.2f} {med(r[1] for r in rows):8.2f} "
                      f"{med(r[2] for r in rows):13.2f}  {rows[-1][3]}")


def _line_count(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 16), b""))


def _line_counts(roots: dict[str, Path]) -> dict[str, int]:
    totals = {}
    for side, files in RUNNER_FILES.items():
        print(f"{side}:")
        total = 0
        for name in files:
            n = _line_count(roots[side] / name)
            total += n
            print(f"  {n:6d} {name}")
        print(f"  {total:6d} total")
        totals[side] = total
    return totals


def _stats(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f} s  ({min(values):.2f}-{max(values):.2f})"


def _print_table(times: dict[str, list[tuple[float, float | None]]]) -> None:
    walls = {side: [w for w, _ in runs] for side, runs in times.items()}
    cpus = {side: [c for _, c in runs] for side, runs in times.items()}
    has_cpu = all(c is not None for values in cpus.values() for c in values)
    print(f"| {'':14} | {'before: median (range)':26} | {'after: median (range)':26} | after / before |")
    print(f"|{'-' * 16}|{'-' * 28}|{'-' * 28}|{'-' * 16}|")
    rows = [("wall time", walls)] + ([("CPU time, tree", cpus)] if has_cpu else [])
    for label, values in rows:
        ratio = statistics.median(values["after"]) / statistics.median(values["before"])
        print(f"| {label:14} | {_stats(values['before']):26} | {_stats(values['after']):26} | {ratio:13.2f}x |")
    for side in ("before", "after"):
        runs = ", ".join(f"{w:.2f}" + (f" ({c:.2f} CPU)" if c is not None else "") for w, c in times[side])
        print(f"  {side} runs, wall s: {runs}")
    if not has_cpu:
        print("  CPU time not measured (no `resource` module on this platform)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="bef6068", help="git ref of the old runner (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed runs of each side first, for the disk cache (default: %(default)s)")
    venv_python = REPO / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    parser.add_argument("--python", default=str(venv_python if venv_python.exists() else sys.executable),
                        help="interpreter of both sides (default: the project's venv)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="set in both sides' environment, e.g. OMP_NUM_THREADS=1 (repeatable)")
    args = parser.parse_args(argv)
    extra_env = dict(item.split("=", 1) for item in args.env)

    before_sha = _git("rev-parse", "--short", args.before).strip()
    after_sha = _git("rev-parse", "--short", "HEAD").strip()
    dirty = _git("status", "--porcelain", "--", "src", "notebooks", "params.yml").strip()
    print(f"before: {args.before} ({before_sha}), a temporary worktree")
    print(f"after:  {REPO} at {after_sha}" + (" with uncommitted changes:\n" + dirty if dirty else ""))
    print(f"interpreter: {args.python}" + (f"; both sides with {' '.join(args.env)}" if args.env else ""))
    if hasattr(os, "getloadavg"):
        print("load average at start: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    subreaper = _become_subreaper()
    if sys.platform.startswith("linux") and not subreaper:
        print("note: could not become a child subreaper; orphaned processes' CPU time is not counted")

    tmp = Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    worktree = tmp / "before"
    _git("worktree", "add", "--detach", str(worktree), args.before)
    try:
        roots = {"before": worktree, "after": REPO}
        for side, root in roots.items():
            _check_import(side, root, args.python)
        print("\nrunner line counts (wc -l):")
        totals = _line_counts(roots)
        print(f"lines deleted: {totals['before'] - totals['after']} "
              f"({totals['before']} -> {totals['after']}, {totals['after'] / totals['before']:.0%} left)\n")

        times: dict[str, list[tuple[float, float | None]]] = {"before": [], "after": []}
        per_notebook: dict[str, list[dict[str, tuple[float, float, float, str]]]] = {"before": [], "after": []}
        for i in range(args.warmup + args.repeat):
            order = ("before", "after") if i % 2 == 0 else ("after", "before")
            timed = i >= args.warmup
            for side in order:
                reports = tmp / f"reports-{side}-{i}"
                try:
                    wall, cpu, stdout = _timed_run(side, roots[side], args.python, reports, extra_env)
                except RuntimeError as exc:
                    print(f"failed, not timed: {exc}")
                    return 1
                pages = len(list(reports.glob("*.html")))
                cpu_text = f", CPU {cpu:.2f} s" if cpu is not None else ""
                print(f"{'run ' + str(i - args.warmup + 1) if timed else 'warm-up'} {side:6}: "
                      f"wall {wall:6.2f} s{cpu_text}, {pages} HTML pages")
                if timed:
                    times[side].append((wall, cpu))
                    per_notebook[side].append(_notebook_times(reports))
                shutil.rmtree(reports, ignore_errors=True)
        if hasattr(os, "getloadavg"):
            print("load average at end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
        print(f"\n`python -m analysis run -f params.yml`, {args.repeat} run(s) of each side, alternating:")
        _print_table(times)
        _print_notebook_times(per_notebook)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
