"""Command line: ``python -m analysis {clean,metrics,corpus,run,kernel} ...``.

- ``clean FILE... --format json`` prints each file's cleaned version in the
  schema of ``../shared/gold/clean/*.json``.
- ``metrics FILE_OR_DIR... --format csv`` prints the metric mentions of raw
  files, one row each (columns of DESIGN.md, in that order, with a header);
  ``--excluded`` lists the numbers that are not metrics, with the reason.
- ``corpus`` cleans ``data/raw`` and writes the corpus tables to ``data/processed``.
- ``run`` executes the notebooks with papermill and exports the HTML reports.
- ``kernel`` registers the project's Jupyter kernel in the virtualenv.

Bad input ends with a one-line message naming the file and the problem
(exit code 2), never with a bare traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "build_parser"]

logger = logging.getLogger("analysis")


def _clean_files(inputs: Sequence[str], *, keep_going: bool):
    """Read and clean raw files (``.txt``, ``.html``, ``.htm``, ``.jsonl``; the ``manifest.csv`` beside each applies).

    Returns (clean documents, skipped: a list of ``ingest.SkippedFile``). A
    file or record that cannot be read, or leaves no paragraph after
    cleaning, raises an ``InputError`` naming it; with ``keep_going`` it is
    skipped with a warning, and a summary line goes to stderr.
    """
    from . import clean, ingest
    from .errors import InputError

    rules = clean.load_rules()
    cleaned, skipped = [], []
    n_read = 0
    for item in ingest.iter_documents(inputs, on_error="skip" if keep_going else "raise"):
        n_read += 1
        if isinstance(item, ingest.SkippedFile):
            skipped.append(item)
            continue
        doc = clean.clean_document(item, rules=rules)
        if not doc.paragraphs:
            where = item.source_path + (f", line {item.record}" if item.record else "")
            exc = InputError(
                where,
                f"no paragraphs left after cleaning ({item.input_format}); check its encoding, "
                "whether it is an article page, or whether the cleaning rules remove its body.",
            )
            if not keep_going:
                raise exc
            logger.warning("skipped %s", exc)
            skipped.append(ingest.SkippedFile(path=item.source_path, reason=exc.message, record=item.record, doc_id=item.doc_id))
            continue
        cleaned.append(doc)
    if skipped:
        print(f"{n_read} reports read, {len(skipped)} skipped: see the warnings above", file=sys.stderr)
    return cleaned, skipped


def _cmd_clean(args: argparse.Namespace) -> int:
    docs, skipped = _clean_files(args.files, keep_going=args.keep_going)
    dicts = [d.to_gold_dict() for d in docs]
    if args.format == "json":
        out = dicts[0] if len(dicts) == 1 and len(args.files) == 1 and not skipped else dicts
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    else:
        for d in dicts:
            sys.stdout.write(f"# {d['title']}\n")
            for paragraph in d["paragraphs"]:
                sys.stdout.write(paragraph + "\n\n")
    return 1 if skipped and not docs else 0


def _measure_files(args: argparse.Namespace, what: str, keep):  # noqa: ANN001 - keep(doc_id, result)
    """Read, clean and measure the raw files of ``metrics`` over ``--jobs`` processes or ``--dask``.

    Calls ``keep(doc_id, result)`` for each document with paragraphs, in
    input order, and returns (number of such documents, skipped). Listing the files and the check that doc_ids are
    unique stay in this process; reading (decoding, HTML extraction),
    cleaning and extraction run in the workers, and the results are taken
    in input order. Errors as in :func:`_clean_files`.
    """
    import contextlib
    import functools

    from . import bulk, clean, ingest, parallel
    from .errors import InputError

    on_error = "skip" if args.keep_going else "raise"
    files = ingest.list_raw_files(args.inputs)
    total = None if any(f.suffix.lower() in bulk.BULK_SUFFIXES for f in files) else len(files)
    skipped: list = []
    check = ingest.DocumentCheck(on_error)
    task = functools.partial(parallel.read_clean_and_measure, rules=clean.load_rules(), what=what)
    read_and_measure = functools.partial(
        parallel.map_ordered, task, jobs=args.jobs, dask=args.dask, batch_size=args.batch_size,
        progress=parallel.progress_enabled(args.quiet), total=total, desc="reports measured",
    )
    n_docs = 0
    results = ingest.admit_in_order(check.admit, ingest.iter_sources(files), read_and_measure)
    with contextlib.closing(results):
        for item, found in results:
            if isinstance(item, ingest.SkippedFile):
                skipped.append(item)
                continue
            _, n_paragraphs, result = found
            if not n_paragraphs:
                where = item.source_path + (f", line {item.record}" if item.record else "")
                exc = InputError(
                    where,
                    f"no paragraphs left after cleaning ({item.input_format}); check its encoding, "
                    "whether it is an article page, or whether the cleaning rules remove its body.",
                )
                if not args.keep_going:
                    raise exc
                logger.warning("skipped %s", exc)
                skipped.append(ingest.SkippedFile(path=item.source_path, reason=exc.message, record=item.record, doc_id=item.doc_id))
                continue
            n_docs += 1
            keep(item.doc_id, result)
    if skipped:
        print(f"{n_docs + len(skipped)} reports read, {len(skipped)} skipped: see the warnings above", file=sys.stderr)
    return n_docs, skipped


#: Reports whose rows ``metrics`` holds before it spills them to a sorted run on disk (memory stays bounded).
METRICS_RUN_REPORTS = 1000
#: Reports whose rows ``metrics`` reads back and prints at a time.
METRICS_RANGE_REPORTS = 2000
_ORDER = "_input_order"  # key of --explain's rows: the report's place in the input (its rows are not sorted)


def _cmd_metrics(args: argparse.Namespace, *, run_reports: int = METRICS_RUN_REPORTS, range_reports: int = METRICS_RANGE_REPORTS) -> int:
    """Print the mentions (or excluded numbers, or explained mentions) of every report.

    The rows are the same, in the same order and format, as one table built
    from all reports at once (sorted by ``doc_id, start, end``; ``--explain``
    in input order), but every ``run_reports`` reports they go to a sorted
    run in a temporary folder (``runs.SortedRuns``) and are printed at the
    end ``range_reports`` reports at a time, so memory stays bounded.
    """
    import tempfile

    import pandas as pd

    from . import metrics, runs

    what = "excluded" if args.excluded else "explain" if args.explain else "mentions"
    if what == "excluded":
        to_frame, sort_by = (lambda found: metrics.excluded_to_frame(x for f in found for x in f)), ["doc_id", "start", "end"]
    elif what == "explain":  # the rules that chose each mention's category and counted object
        def to_frame(found: list) -> pd.DataFrame:
            frames = [f.assign(**{_ORDER: key}) for key, f in found]
            empty = metrics.explain_document_empty().assign(**{_ORDER: pd.Series(dtype=object)})
            return pd.concat(frames, ignore_index=True) if frames else empty

        sort_by = [_ORDER]
    else:
        to_frame, sort_by = (lambda found: metrics.mentions_to_frame(m for f in found for m in f)), ["doc_id", "start", "end"]
    with tempfile.TemporaryDirectory(prefix="analysis-metrics-") as tmp:
        table = runs.SortedRuns(Path(tmp), sort_by)
        keys: list[str] = []
        pending: list = []

        def spill() -> None:
            table.add(to_frame(pending))
            pending.clear()

        def keep(doc_id: str, result) -> None:  # noqa: ANN001 - mentions, excluded numbers or a frame
            key = f"{len(keys):012d}" if what == "explain" else doc_id
            keys.append(key)
            pending.append((key, result) if what == "explain" else result)
            if len(pending) >= run_reports:
                spill()

        n_docs, skipped = _measure_files(args, what, keep)
        spill()  # also when nothing is pending: records the columns of an empty table
        ranges = runs.key_ranges(sorted(keys)[range_reports::range_reports])
        printer = _RowPrinter(sys.stdout, args.format)
        for chunk in table.chunks(ranges):
            chunk = chunk.drop(columns=[_ORDER], errors="ignore")
            if what == "excluded":
                columns = ["doc_id", "start", "end", "surface", "reason"] + (["para_id", "sentence"] if args.all_columns else [])
            else:
                columns = list(metrics.METRIC_COLUMNS) if not args.all_columns else list(chunk.columns)
                if what == "explain" and not args.all_columns:
                    columns += list(metrics.EXPLAIN_COLUMNS)
            out = chunk[columns].copy()
            if what != "excluded" and args.format == "csv":
                out["is_rate"] = ["true" if bool(v) else "false" for v in out["is_rate"]]  # as in the gold CSV
            printer.add(out)
        printer.close()
    return 1 if skipped and not n_docs else 0


class _RowPrinter:
    """Prints a table a piece at a time as ``to_csv`` / ``to_json(orient="records", indent=2)`` print it whole."""

    def __init__(self, handle, fmt: str) -> None:  # noqa: ANN001 - a text stream
        self.handle, self.fmt = handle, fmt
        self._empty = None
        self._written = False

    def add(self, frame) -> None:  # noqa: ANN001 - a DataFrame
        if frame.empty:
            self._empty = frame
            return
        if self.fmt == "csv":
            self.handle.write(frame.to_csv(index=False, header=not self._written, lineterminator="\n"))
        else:
            text = frame.to_json(orient="records", force_ascii=False, indent=2)  # "[\n  {...},\n  {...}\n]"
            self.handle.write(("[\n" if not self._written else ",\n") + text[2:-2])
        self._written = True

    def close(self) -> None:
        if self._written:
            if self.fmt != "csv":
                self.handle.write("\n]\n")
        elif self.fmt == "csv":
            self.handle.write(self._empty.to_csv(index=False, lineterminator="\n"))
        else:
            self.handle.write(self._empty.to_json(orient="records", force_ascii=False, indent=2) + "\n")


def _cmd_corpus(args: argparse.Namespace) -> int:
    from . import corpus, parallel

    summary = corpus.write_corpus(
        args.raw_dir,
        args.processed_dir,
        on_error="skip" if args.keep_going else "raise",
        keep_duplicates=args.keep_duplicates,
        jobs=args.jobs,
        dask=args.dask,
        batch_size=args.batch_size,
        progress=parallel.progress_enabled(args.quiet),
    )
    rows = summary.rows
    print(
        f"cleaned {rows['documents']} report(s) into {rows['paragraphs']} paragraphs; "
        f"{rows['removed']} removals, {rows['repairs']} repairs, "
        f"{rows['cleaning_warnings']} warnings; tables in {args.processed_dir}"
    )
    print(corpus.summary_line(summary, see=str(Path(args.processed_dir) / "skipped.csv")))
    return 0


def _cmd_kernel(args: argparse.Namespace) -> int:
    from . import pipeline

    kernel_dir = pipeline.ensure_kernel()
    print(f"Jupyter kernel {pipeline.PROJECT_KERNEL_NAME!r} is registered for {sys.executable} ({kernel_dir})")
    return 0


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of processes") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: give at least 1 process")
    return jobs


def _add_scale_arguments(p: argparse.ArgumentParser) -> None:
    """``--jobs``, ``--dask``, ``--batch-size`` and ``--quiet`` of ``corpus`` and ``metrics``."""
    import os

    from .parallel import DEFAULT_BATCH_SIZE

    cores = os.cpu_count() or 1
    p.add_argument(
        "--jobs", "-j", type=_jobs, default=cores, metavar="N",
        help=f"clean the reports in N local processes (default: all cores, {cores}; 1: in this process); "
        "outputs are the same for any N",
    )
    p.add_argument(
        "--dask", metavar="ADDRESS", default=None,
        help="clean the reports on this Dask distributed scheduler (e.g. tcp://host:8786) instead; "
        "'local' starts a LocalCluster of --jobs workers for the run",
    )
    p.add_argument("--batch-size", type=_jobs, default=DEFAULT_BATCH_SIZE, metavar="N",
                   help=f"reports per task sent to a worker (default: {DEFAULT_BATCH_SIZE})")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar (there is none either when stderr is not a terminal or CI is set)")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``python -m analysis``.

    The notebook runner (papermill, nbconvert) is imported only when the
    ``run`` command is asked for, so the other commands start quickly.
    """
    from . import paths

    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("clean", help="print the cleaned version of raw report(s)")
    p.add_argument("files", nargs="+", help="raw .txt/.html/.htm/.jsonl file(s) or directories")
    p.add_argument("--format", choices=("json", "text"), default="json")
    p.add_argument("--keep-going", action="store_true", help="skip unreadable files and records with a warning")
    p.set_defaults(func=_cmd_clean)

    p = sub.add_parser("metrics", help="print the metric mentions of raw report(s)")
    p.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--all-columns", action="store_true", help="add mention_id, para_id, upper, sentence")
    p.add_argument(
        "--explain",
        action="store_true",
        help="add category_rule and counted_rule: the rule that chose each mention's category and counted object",
    )
    p.add_argument(
        "--excluded",
        action="store_true",
        help="list the numbers that are not metrics instead, with the reason (date, ordinal, formulation ...)",
    )
    p.add_argument("--keep-going", action="store_true", help="skip unreadable files with a warning")
    _add_scale_arguments(p)
    p.set_defaults(func=_cmd_metrics)

    p = sub.add_parser("corpus", help="clean data/raw and write the corpus tables")
    p.add_argument("--raw-dir", type=Path, default=paths.RAW_DIR, help="directory of reports, or one .jsonl file")
    p.add_argument("--processed-dir", type=Path, default=paths.PROCESSED_DIR)
    p.add_argument(
        "--keep-going", action="store_true", help="skip unreadable files and records (listed in skipped.csv) instead of stopping"
    )
    p.add_argument(
        "--keep-duplicates", action="store_true", help="keep reports that repeat another in the tables (listed in duplicates.csv either way)"
    )
    _add_scale_arguments(p)
    p.set_defaults(func=_cmd_corpus)

    p = sub.add_parser("run", help="execute the notebooks with papermill and export HTML reports")
    if argv is not None and "run" in argv:
        from . import pipeline

        pipeline.add_run_arguments(p)
        p.set_defaults(func=pipeline.run_from_args)

    p = sub.add_parser("kernel", help="register the project's Jupyter kernel in this virtualenv")
    p.set_defaults(func=_cmd_kernel)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    from .errors import InputError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # fontTools logs every table it subsets at INFO; a reader asking for -v wants the study's progress.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except (InputError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
