"""Where the pipeline's time goes: the kernel server's imports and one run's timeline.

Usage::

    .venv/bin/python benchmarks/pipeline_timeline.py [--jobs N]

Prints (1) the time of each module the kernel server imports, in its order, in
a fresh interpreter, and (2) for one ``run_notebooks`` of the bundled study
(HTML to a temporary folder): when each notebook's papermill run started, when
its first cell started (the wait for its kernel), its duration, the sum of
its cell times and its slowest cells, from the papermill metadata of the
executed copies. These are the figures behind "Why 2x is out of reach" in
``benchmarks/pipeline.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis import pipeline

_IMPORT_TIMES = """
import os, sys, time
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
from analysis import kernelserver
start = time.perf_counter()
for name in (*kernelserver.DEFAULT_PRELOAD, "|", *kernelserver.DEFAULT_BACKGROUND):
    if name == "|":
        print(f"  -- preload done at {time.perf_counter() - start:.2f} s")
        continue
    t = time.perf_counter()
    kernelserver._import(name)  # import and warm up, as the server does
    print(f"  {name:40s} {time.perf_counter() - t:6.3f} s")
print(f"  -- all done at {time.perf_counter() - start:.2f} s")
"""


def _seconds(iso: str, origin: float) -> float:
    return dt.datetime.fromisoformat(iso).timestamp() - origin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=None, help="as `python -m analysis run --jobs`")
    args = parser.parse_args(argv)

    print("kernel server imports, fresh interpreter (module, seconds):")
    subprocess.run([sys.executable, "-c", _IMPORT_TIMES], check=True)

    pipeline.ensure_kernel()
    with tempfile.TemporaryDirectory(prefix="pipeline_timeline_") as tmp:
        origin = time.time()
        pipeline.run_notebooks(reports_dir=Path(tmp), jobs=args.jobs)
        total = time.time() - origin
        print(f"\nrun_notebooks: {total:.2f} s (seconds below are from its start)")
        for path in sorted((Path(tmp) / pipeline.EXECUTED_DIR_NAME).glob("*.ipynb")):
            nb = json.loads(path.read_text(encoding="utf-8"))
            meta = nb["metadata"]["papermill"]
            code = [c for c in nb["cells"] if c["cell_type"] == "code"]
            first = next((c["metadata"]["papermill"].get("start_time") for c in code
                          if c["metadata"].get("papermill", {}).get("start_time")), None)
            durations = [(c["metadata"].get("papermill", {}).get("duration") or 0.0, i, c) for i, c in enumerate(code)]
            print(f"{path.name}: start {_seconds(meta['start_time'], origin):5.2f}  first cell "
                  f"{_seconds(first, origin) if first else float('nan'):5.2f}  duration {meta['duration']:5.2f}  "
                  f"cells {sum(d for d, _, _ in durations):5.2f}")
            for seconds, i, cell in sorted(durations, key=lambda x: -x[0])[:3]:
                source = "".join(cell["source"]).strip().splitlines()[0][:70] if cell["source"] else ""
                print(f"    {seconds:5.2f} s  code cell {i}: {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
