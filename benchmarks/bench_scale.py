"""Throughput, peak memory and speed-up of `corpus` and `metrics` on synthetic corpora (issue 13).

Builds a corpus of N reports from the five bundled ones (:func:`build_corpus`):
each synthetic report keeps a bundled report's title lines, its paragraphs
are recombined from the sentences of all five, with the place names replaced
by one drawn from the gazetteer (``src/analysis/resources/gazetteer.csv``) and
the counts (digit runs that are not years) scaled, so the reports share
template passages but are not near-duplicates of each other; one in
``REPOST_EVERY`` is a repost of an earlier report, which the duplicate
detector must flag (the script prints how many it flagged). A manifest.csv
gives each report its place.

Each measurement runs in a fresh process (so ``ru_maxrss`` is that run's
peak), for the stages

- ``corpus``: ``corpus.write_corpus`` (what ``python -m analysis corpus``
  runs: read, clean and fingerprint in batches, rows spilled to sorted runs,
  duplicates checked, tables written a key range at a time), with the
  planted reposts it flagged;
- ``read+clean``: ``corpus.clean_corpus`` (read, clean and fingerprint in
  the workers, duplicate candidates checked in the parent), then ``write_corpus_tables``
  (timed on its own): the in-memory path of notebook 01, the baseline of
  ``corpus``'s memory (both write the same bytes: the script checks);
- ``metrics``: ``python -m analysis metrics DIR --format csv`` (read, clean,
  extract the mentions), in-process with stdout to a file,

with 1 job, 2 jobs (spawn process pool) and a Dask LocalCluster of 2 workers
(``processes=True, threads_per_worker=1``; the cluster's start is timed
apart and not counted in the stage). Peak memory is ``ru_maxrss`` of the
measuring process and the largest of its children (pool processes, Dask
nanny/workers), taken when the stage ends, before its outputs are hashed
(hashing reads the files in 1 MB blocks; until 2026-12-07 it read each file
whole, and a 1.3 GB paragraphs.csv at 100,000 reports made that the peak). The outputs of the three modes are hashed and must agree.

    .venv/bin/python benchmarks/bench_scale.py               # N = 1,000
    .venv/bin/python benchmarks/bench_scale.py --sizes 1000 10000
    .venv/bin/python benchmarks/bench_scale.py --sizes 10000 --stages metrics
    .venv/bin/python benchmarks/bench_scale.py --sizes 2000 --pages   # reports saved as web pages
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
GAZETTEER = ROOT / "src" / "analysis" / "resources" / "gazetteer.csv"
MODES = ("jobs1", "jobs2", "dask2")
STAGES = ("corpus", "read+clean", "metrics")
_RE_COUNT = re.compile(r"(?<![0-9.])[0-9]+(?![0-9]*年)")


def _split_report(text: str) -> tuple[list[str], list[str]]:
    """(head lines up to the first body paragraph, body paragraphs) of a bundled report."""
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    if len(blocks) == 1:  # a report with one paragraph per line and no blank lines
        blocks = [line for line in text.split("\n") if line.strip()]
    head_n = next((k for k, b in enumerate(blocks) if len(b) > 60), 1)
    return blocks[: head_n + 1], blocks[head_n + 1 :]


_RE_SENTENCE = re.compile(r"[^。！？；]+[。！？；]?")
#: Every REPOST_EVERY-th synthetic report is a repost of an earlier one (the duplicates a scraped collection holds).
REPOST_EVERY = 100


def _repost(text: str) -> str:
    """A mirror site's copy: ASCII punctuation, paragraphs on single lines, a source line added."""
    table = str.maketrans({"，": ",", "：": ":", "；": ";", "（": "(", "）": ")"})
    return text.translate(table).replace("\n\n", "\n") + "\n(来源:本地新闻网)\n"


def build_corpus(n: int, folder: Path, seed: int = 0) -> None:
    """Write ``n`` synthetic reports and their manifest.csv to ``folder``.

    Report *i* keeps the title lines of bundled report *i mod 5*; its body has
    as many paragraphs as a 50-90 % sample of that report's, each made of 2-4
    sentences drawn at random from the sentences of all five bundled bodies,
    with the counts of each paragraph scaled by its own factor in [0.5, 3] and
    the bundled place names replaced by a gazetteer place. Two such reports
    share about a fifth of their sentences (template passages, as real
    reports do) but are not near-duplicates. Every ``REPOST_EVERY``-th report
    (from the 50th) is a repost of an earlier one (:func:`_repost`); the
    manifest's source says which.
    """
    rng = random.Random(seed)
    with (RAW / "manifest.csv").open(encoding="utf-8") as fh:
        manifest = {row["doc_id"]: row for row in csv.DictReader(fh)}
    reports = []
    for path in sorted(RAW.glob("*.txt")):
        head, body = _split_report(path.read_text("utf-8"))
        reports.append((path.stem, head, body))
    sentences = [m.group().strip() for _, _, body in reports for p in body for m in _RE_SENTENCE.finditer(p)]
    sentences = [x for x in sentences if len(x) >= 8]
    places_of_bundle = sorted({r[k] for r in manifest.values() for k in ("place", "city") if r[k]}, key=len, reverse=True)
    with GAZETTEER.open(encoding="utf-8") as fh:
        gazetteer = [row for row in csv.DictReader(fh) if row["admin_level"] in ("district", "county", "city")]
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    texts: list[str] = []
    for i in range(n):
        base_id, head, body = reports[i % len(reports)]
        doc_id = f"syn{i:06d}_{base_id[:3]}"
        if i % REPOST_EVERY == REPOST_EVERY - 50 and i >= REPOST_EVERY:
            original = i - 37
            text = _repost(texts[original])
            row = rows[original]
            rows.append([doc_id, *row[1:6], f"repost of {row[0]}"])
        else:
            place = gazetteer[rng.randrange(len(gazetteer))]
            k = max(6, int(len(body) * rng.uniform(0.5, 0.9)))
            paragraphs = []
            for _ in range(k):
                paragraph = "".join(rng.sample(sentences, rng.randint(2, 4)))
                factor = rng.uniform(0.5, 3.0)
                paragraphs.append(_RE_COUNT.sub(lambda m, f=factor: str(max(1, round(int(m.group()) * f))), paragraph))
            text = "\n\n".join([*head, *paragraphs]) + "\n"
            for name in places_of_bundle:
                text = text.replace(name, place["name"])
            rows.append([doc_id, place["name"], place["admin_level"], place["city"], place["province"], "", f"synthetic from {base_id}"])
        texts.append(text)
        (folder / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    with (folder / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["doc_id", "place", "admin_level", "city", "province", "date", "source"])
        writer.writerows(rows)


def to_pages(folder: Path) -> None:
    """Replace each report of ``folder`` by a saved web page carrying it (``html_pages``; layouts in turn).

    The ``legacy`` pages are written in GB18030, as such sites declare
    GB2312; the doc_ids (file names without the suffix) and the manifest stay.
    Reading such a corpus extracts every page's article text
    (``webtext.extract_page``), the part of reading that costs most.
    """
    import html_pages

    with (folder / "manifest.csv").open(encoding="utf-8") as fh:
        places = {row["doc_id"]: row["place"] for row in csv.DictReader(fh)}
    for i, path in enumerate(sorted(folder.glob("*.txt"))):
        layout = html_pages.LAYOUTS[i % len(html_pages.LAYOUTS)]
        page = html_pages.build_page(path.read_text("utf-8"), layout, place=places[path.stem], date="2021-06-04")
        path.with_suffix(".html").write_bytes(page.html.encode("gb18030" if layout == "legacy" else "utf-8"))
        path.unlink()


def planted_reposts(folder: Path) -> list[str]:
    """The doc_ids of the reposts :func:`build_corpus` planted in ``folder`` (from its manifest)."""
    with (folder / "manifest.csv").open(encoding="utf-8") as fh:
        return sorted(row["doc_id"] for row in csv.DictReader(fh) if row["source"].startswith("repost of "))


def _hash_dir(folder: Path) -> str:
    """SHA-256 of every file's relative path and bytes, read in blocks (a CSV of 100,000 reports is over 1 GB)."""
    digest = hashlib.sha256()
    for p in sorted(q for q in folder.rglob("*") if q.is_file()):
        digest.update(p.relative_to(folder).as_posix().encode() + b"\0")
        with p.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _peaks() -> dict:
    """ru_maxrss (MB) of this process and of its largest child so far."""
    return {
        "maxrss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "maxrss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def _measure(stage: str, mode: str, raw: Path, out: Path, batch_size: int) -> dict:
    """One stage in one mode, in this (fresh) process."""
    import logging

    from analysis import corpus
    from analysis.__main__ import main

    logging.basicConfig(level=logging.ERROR)
    result: dict = {"stage": stage, "mode": mode}
    cluster = None
    dask = None
    jobs = 1 if mode == "jobs1" else 2
    if mode == "dask2":
        import distributed

        t0 = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        dask = cluster.scheduler_address
        result["cluster_start_s"] = time.perf_counter() - t0
    try:
        if stage == "corpus":
            t0 = time.perf_counter()
            summary = corpus.write_corpus(raw, out, jobs=jobs, dask=dask, batch_size=batch_size)
            result["seconds"] = time.perf_counter() - t0
            result["n_docs"] = summary.n_read
            result["n_duplicates"] = len(summary.duplicates)
            flagged = {p.doc_id for p in summary.duplicates}
            planted = set(planted_reposts(raw))
            result["planted"] = [len(flagged & planted), len(planted), len(flagged - planted)]
            result.update(_peaks())  # before hashing the outputs
            result["hash"] = _hash_dir(out)
        elif stage == "read+clean":
            t0 = time.perf_counter()
            cleaned = corpus.clean_corpus(raw, jobs=jobs, dask=dask, batch_size=batch_size)
            result["seconds"] = time.perf_counter() - t0
            result["n_docs"] = len(cleaned.corpus.documents)
            result["n_duplicates"] = len(cleaned.duplicates)
            t0 = time.perf_counter()
            corpus.write_corpus_tables(cleaned, out)
            result["write_s"] = time.perf_counter() - t0
            if mode == "jobs1":  # how much of the stage is duplicate detection: fingerprints (workers), candidates (parent)
                from analysis import duplicates

                texts = {d.doc_id: duplicates.document_text(d) for d in cleaned.documents}
                t0 = time.perf_counter()
                prints = [duplicates.fingerprint(k, v) for k, v in sorted(texts.items())]
                result["fingerprints_s"] = time.perf_counter() - t0
                t0 = time.perf_counter()
                duplicates.duplicates_from_fingerprints(prints, texts.__getitem__)
                result["duplicates_s"] = time.perf_counter() - t0
            result.update(_peaks())
            result["hash"] = _hash_dir(out)
        else:
            out.mkdir(parents=True, exist_ok=True)
            argv = ["metrics", str(raw), "--format", "csv", "--quiet", "--batch-size", str(batch_size)]
            argv += ["--dask", dask] if dask else ["--jobs", str(jobs)]
            t0 = time.perf_counter()
            with (out / "metrics.csv").open("w", encoding="utf-8") as fh, contextlib.redirect_stdout(fh):
                code = main(argv)
            result["seconds"] = time.perf_counter() - t0
            if code != 0:
                raise SystemExit(f"metrics exited with {code}")
            result["n_docs"] = len(list(raw.glob("*.txt")))
            result.update(_peaks())
            result["hash"] = _hash_dir(out)
    finally:
        if cluster is not None:
            cluster.close()
    return result


def _burn(n: int) -> float:
    """Pure-Python arithmetic: the control for what 2 processes can gain on this machine right now."""
    t0 = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i
    return time.perf_counter() - t0


def control_speedup(n: int = 2_000_000, tasks: int = 8) -> float:
    """Speed-up of a 2-process spawn pool over 1 process on CPU-bound work with no data to move."""
    import concurrent.futures
    import multiprocessing

    t0 = time.perf_counter()
    for _ in range(tasks):
        _burn(n)
    serial = time.perf_counter() - t0
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_burn, [10, 10]))  # workers started
        t0 = time.perf_counter()
        list(pool.map(_burn, [n] * tasks))
        parallel_s = time.perf_counter() - t0
    return serial / parallel_s


def _run_one(stage: str, mode: str, raw: Path, out: Path, batch_size: int) -> dict:
    cmd = [sys.executable, __file__, "--measure", stage, mode, str(raw), str(out), "--batch-size", str(batch_size)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{stage} {mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES),
                        help="which of 1 job, 2 jobs and a 2-worker Dask cluster to run (speed-ups need jobs1)")
    parser.add_argument("--pages", action="store_true",
                        help="save each synthetic report as a web page (gov, portal, wechat, legacy layouts in turn)")
    parser.add_argument("--measure", nargs=4, metavar=("STAGE", "MODE", "RAW", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        stage, mode, raw, out = args.measure
        print(json.dumps(_measure(stage, mode, Path(raw), Path(out), args.batch_size)))
        return
    print(f"batch size {args.batch_size}; each figure from one fresh process; peak = max(parent, largest child) ru_maxrss")
    print(f"# control: 2 processes on pure arithmetic (no data moved): {control_speedup():.2f}x", flush=True)
    header = f"{'N':>7} {'stage':<11} {'mode':<6} {'seconds':>8} {'docs/s':>8} {'speed-up':>8} {'peak MB':>8} {'parent MB':>9} {'child MB':>8}  notes"
    print(header)
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        for n in args.sizes:
            raw = Path(tmp) / f"raw{n}"
            t0 = time.perf_counter()
            build_corpus(n, raw)
            if args.pages:
                to_pages(raw)
            print(f"# N={n}: synthetic corpus {'of web pages ' if args.pages else ''}built in {time.perf_counter() - t0:.1f} s", flush=True)
            hashes_by_stage: dict[str, set[str]] = {}
            for stage in args.stages:
                results = {m: _run_one(stage, m, raw, Path(tmp) / f"out{n}_{stage}_{m}", args.batch_size)
                           for m in MODES if m in args.modes}
                base = results["jobs1"]["seconds"] if "jobs1" in results else float("nan")
                hashes = {r["hash"] for r in results.values()}
                for mode, r in results.items():
                    peak = max(r["maxrss_self_mb"], r["maxrss_children_mb"])
                    notes = []
                    if "planted" in r:
                        found, planted, other = r["planted"]
                        notes.append(f"{found} of {planted} planted reposts flagged, {other} other report(s)")
                    if "write_s" in r:
                        notes.append(f"write tables {r['write_s']:.1f} s; {r['n_duplicates']} near-duplicates flagged")
                    if "cluster_start_s" in r:
                        notes.append(f"cluster start {r['cluster_start_s']:.1f} s not counted")
                    print(
                        f"{n:>7} {stage:<11} {mode:<6} {r['seconds']:>8.2f} {n / r['seconds']:>8.0f} {base / r['seconds']:>7.2f}x "
                        f"{peak:>8.0f} {r['maxrss_self_mb']:>9.0f} {r['maxrss_children_mb']:>8.0f}  {'; '.join(notes)}",
                        flush=True,
                    )
                print(f"# {stage}: outputs of the {len(results)} modes {'identical' if len(hashes) == 1 else 'DIFFER'}", flush=True)
                hashes_by_stage[stage] = hashes
                if {"corpus", "read+clean"} <= hashes_by_stage.keys():
                    same = hashes_by_stage["corpus"] == hashes_by_stage["read+clean"] and len(hashes) == 1
                    print(f"# corpus (streamed) and read+clean (in memory) wrote {'the same' if same else 'DIFFERENT'} bytes", flush=True)
                if "duplicates_s" in results.get("jobs1", {}):
                    print(
                        f"# {stage}: of the 1-job {base:.1f} s, MinHash fingerprints (in the workers) take "
                        f"{results['jobs1']['fingerprints_s']:.1f} s and the candidate checks (in the parent) "
                        f"{results['jobs1']['duplicates_s']:.1f} s", flush=True,
                    )
                print(f"# control: 2 processes on pure arithmetic, right now: {control_speedup():.2f}x", flush=True)


if __name__ == "__main__":
    main()
