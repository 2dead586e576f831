"""Map per-document work over local processes or a Dask cluster, results in input order.

The study's per-document steps (``clean.clean_document``, metric extraction)
share no state, so :func:`map_ordered` sends documents to workers in bounded
batches and yields the results in the order of the inputs: the tables written
from them are the same bytes whether the work ran in this process
(``jobs=1``), in ``jobs`` local processes (``concurrent.futures`` with the
``spawn`` start method, which behaves the same on Linux, macOS and Windows)
or on a Dask distributed cluster (``dask="tcp://host:8786"``, or ``"local"``
for a ``distributed.LocalCluster`` started for the run). Reading the raw
files, duplicate detection and writing the tables stay in the calling
process.

At most ``window`` batches are in flight at a time, so memory stays bounded
however many documents the input iterator streams. Dask is imported only
when it is asked for.

A function mapped over processes must be importable by name (a module-level
function, or a ``functools.partial`` of one): a remote Dask worker needs the
``analysis`` package installed in the same version.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import multiprocessing
import os
import pickle
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "LOCAL_DASK",
    "resolve_jobs",
    "progress_enabled",
    "map_ordered",
    "dask_client",
    "describe",
    "clean_and_measure",
    "clean_and_fingerprint",
    "read_clean_and_fingerprint",
    "read_clean_and_measure",
]

T = TypeVar("T")
R = TypeVar("R")

#: Documents per batch sent to a worker (a report takes some 10-100 ms to clean).
DEFAULT_BATCH_SIZE = 16
#: ``dask=`` value that starts a LocalCluster for the run.
LOCAL_DASK = "local"


def resolve_jobs(jobs: int | None) -> int:
    """Number of local processes: ``None`` or 0 means every core (``os.cpu_count()``).

    Raises
    ------
    ValueError
        A negative number.
    """
    if jobs is None or jobs == 0:
        return max(1, os.cpu_count() or 1)
    if not isinstance(jobs, int) or jobs < 0:
        raise ValueError(f"jobs must be a positive number of processes (0 or None: all cores), got {jobs!r}.")
    return jobs


def progress_enabled(quiet: bool = False) -> bool:
    """Whether to draw a progress bar: not when ``quiet``, under CI (``CI`` set) or when stderr is no terminal."""
    if quiet or os.environ.get("CI"):
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def describe(jobs: int, dask: Any = None) -> str:
    """``"1 process"``, ``"4 processes"`` or ``"Dask (<address>)"``, for messages."""
    if dask is not None:
        return f"Dask ({dask if isinstance(dask, str) else type(dask).__name__})"
    return "1 process" if jobs == 1 else f"{jobs} processes"


def _apply_batch(func: Callable[[T], R], batch: list[T]) -> list[R]:
    """Run ``func`` on each item of a batch (in a worker).

    An exception that would not survive the trip back to the parent (one
    whose constructor takes other arguments than its message, such as
    ``errors.InputError``) comes back as a ``ValueError`` with the same message.
    """
    try:
        return [func(item) for item in batch]
    except Exception as exc:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # noqa: BLE001 - any failure to round-trip
            raise ValueError(str(exc)) from None
        raise


def clean_and_measure(document, *, rules=None, what: str = "mentions"):  # noqa: ANN001, ANN201 - records types
    """Clean one report and extract its metric mentions (``python -m analysis metrics``), in a worker.

    ``what`` is ``mentions`` (``metrics.mentions_from_document``), ``explain``
    (``metrics.explain_document``, a frame) or ``excluded``
    (``metrics.excluded_from_document``). Returns ``(n_paragraphs, result)``;
    ``result`` is ``None`` for a report without paragraphs.
    """
    from . import clean, metrics

    doc = clean.clean_document(document, rules=rules)
    if not doc.paragraphs:
        return 0, None
    if what == "mentions":
        return len(doc.paragraphs), metrics.mentions_from_document(doc)
    if what == "explain":
        return len(doc.paragraphs), metrics.explain_document(doc)
    if what == "excluded":
        return len(doc.paragraphs), metrics.excluded_from_document(doc)
    raise ValueError(f"what must be 'mentions', 'explain' or 'excluded', got {what!r}.")


def clean_and_fingerprint(document, *, corrections=None, rules=None):  # noqa: ANN001, ANN201 - records types
    """Clean one report and compute its duplicate-detection fingerprint (``corpus.clean_corpus``), in a worker.

    Returns ``(clean_document, fingerprint)``; the fingerprint
    (``duplicates.fingerprint`` of ``duplicates.document_text``) is ``None``
    for a report without paragraphs.
    """
    from . import clean, duplicates

    doc = clean.clean_document(document, corrections=corrections, rules=rules)
    if not doc.paragraphs:
        return doc, None
    return doc, duplicates.fingerprint(doc.doc_id, duplicates.document_text(doc))


def read_clean_and_measure(source, *, rules=None, what: str = "mentions"):  # noqa: ANN001, ANN201 - ingest/records types
    """Read one report (``ingest.read_source``), then :func:`clean_and_measure` it, in a worker.

    Returns ``(document, n_paragraphs, result)``, the document without its
    text (the parent needs only its name and origin), or the
    ``ingest.ReadFailure`` when the report cannot be read.
    """
    import dataclasses

    from . import ingest

    document = ingest.read_source(source)
    if isinstance(document, ingest.ReadFailure):
        return document
    return (dataclasses.replace(document, raw_text=""), *clean_and_measure(document, rules=rules, what=what))


def read_clean_and_fingerprint(source, *, corrections=None, rules=None):  # noqa: ANN001, ANN201 - ingest/records types
    """Read one report (``ingest.read_source``: decoding, HTML extraction), then :func:`clean_and_fingerprint` it, in a worker.

    Returns ``(document, clean_document, fingerprint)``, or the
    ``ingest.ReadFailure`` when the report cannot be read, so that the parent
    can raise or skip it in input order (``ingest.CorpusReader.admit``).
    """
    from . import ingest

    document = ingest.read_source(source)
    if isinstance(document, ingest.ReadFailure):
        return document
    return (document, *clean_and_fingerprint(document, corrections=corrections, rules=rules))


def read_clean_and_rows(source, *, corrections=None, rules=None):  # noqa: ANN001, ANN201 - ingest/records types
    """:func:`read_clean_and_fingerprint`, then the report's table rows (``corpus.report_rows``), in a worker.

    Returns ``(document, rows, text, fingerprint)`` (``rows`` and ``text``,
    the ``duplicates.document_text``, are ``None`` for a report without
    paragraphs), or the ``ingest.ReadFailure``. The document keeps its text
    only when it was extracted (a page, a JSON Lines record): the parent
    writes that to ``extracted/`` and needs nothing else of it but its name
    and origin. So ``corpus.write_corpus`` spends its time putting rows
    together, not building them.
    """
    import dataclasses

    from . import corpus, duplicates, ingest

    found = read_clean_and_fingerprint(source, corrections=corrections, rules=rules)
    if isinstance(found, ingest.ReadFailure):
        return found
    document, doc, print_ = found
    rows = corpus.report_rows(doc, document) if doc.paragraphs else None
    text = duplicates.document_text(doc) if doc.paragraphs else None
    if not document.extracted:
        document = dataclasses.replace(document, raw_text="")
    return document, rows, text, print_


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch


@contextmanager
def dask_client(dask: Any, *, n_workers: int | None = None):
    """A ``distributed.Client`` for ``dask``: ``"local"`` (a LocalCluster, closed afterwards), a
    scheduler address, or a ``Client`` the caller made (left open)."""
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise ValueError("--dask needs the `distributed` package (pip install 'dask[distributed]').") from exc
    if isinstance(dask, distributed.Client):
        yield dask
        return
    with _quiet_distributed():
        yield from _own_client(distributed, dask, n_workers)


@contextmanager
def _quiet_distributed():
    """Scheduler and nanny INFO lines (start, register, close ...) only with ``-v``."""
    log = logging.getLogger("distributed")
    level = log.level
    if not logging.getLogger("analysis").isEnabledFor(logging.INFO):
        log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


def _own_client(distributed, dask: Any, n_workers: int | None):  # noqa: ANN001 - the module
    if not isinstance(dask, str) or not dask:
        raise ValueError(f"dask must be {LOCAL_DASK!r}, a scheduler address or a distributed.Client, got {dask!r}.")
    if dask == LOCAL_DASK:
        cluster = distributed.LocalCluster(
            n_workers=resolve_jobs(n_workers), threads_per_worker=1, processes=True, dashboard_address=None
        )
        try:
            with distributed.Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = distributed.Client(dask, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"cannot reach the Dask scheduler at {dask}: {exc}") from exc
    try:
        yield client
    finally:
        client.close()


def map_ordered(
    func: Callable[[T], R],
    items: Iterable[T],
    *,
    jobs: int | None = 1,
    dask: Any = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    window: int | None = None,
    progress: bool = False,
    total: int | None = None,
    desc: str = "documents",
) -> Iterator[R]:
    """Yield ``func(item)`` for every item, in the order of ``items``.

    Parameters
    ----------
    func : callable
        Applied to each item; with several processes or Dask it must be
        importable by name (module-level, or a ``functools.partial`` of one).
    items : iterable
        Consumed lazily, ``batch_size`` at a time.
    jobs : int or None, default=1
        Local processes; ``1`` runs in this process, ``None`` or 0 uses every
        core. With ``dask``, the number of workers of a ``"local"`` cluster.
    dask : str, distributed.Client or None, default=None
        ``"local"`` starts a LocalCluster for the run; else a scheduler
        address or a ``Client``. Takes precedence over ``jobs``.
    batch_size : int, default=DEFAULT_BATCH_SIZE
        Items per task sent to a worker.
    window : int or None, default=None
        Batches in flight at most (default: twice the workers, at least 2).
    progress : bool, default=False
        Draw a tqdm bar (items done, with an ETA) on stderr.
    total : int or None, default=None
        Number of items, for the bar's ETA.
    desc : str, default="documents"
        Label of the bar.

    Notes
    -----
    When every item fits in one batch the work runs in this process, whatever
    ``jobs`` says (starting workers would cost more than it saves); the
    results are the same either way. An exception raised by ``func`` is
    raised here, for the first failing item in input order.

    Examples
    --------
    >>> list(map_ordered(abs, [-2, 1, -3], jobs=1))
    [2, 1, 3]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size!r}.")
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc, unit="doc", file=sys.stderr, dynamic_ncols=True, leave=True)
    try:
        batches = _batches(items, batch_size)
        first = next(batches, None)
        if first is None:
            return
        second = next(batches, None)
        n_jobs = resolve_jobs(jobs) if dask is None else None
        if second is None or (dask is None and n_jobs == 1):
            for batch in itertools.chain([first], [] if second is None else [second], batches):
                for item in batch:
                    yield func(item)
                    if bar is not None:
                        bar.update(1)
            return
        pending_batches = itertools.chain([first, second], batches)
        if dask is not None:
            yield from _map_dask(func, pending_batches, dask=dask, n_workers=jobs, window=window, bar=bar)
        else:
            yield from _map_processes(func, pending_batches, jobs=n_jobs, window=window, bar=bar)
    finally:
        if bar is not None:
            bar.close()


def _map_processes(func, batches: Iterator[list], *, jobs: int, window: int | None, bar) -> Iterator:
    window = window or max(2, 2 * jobs)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        yield from _windowed(lambda batch: pool.submit(_apply_batch, func, batch), batches, window, bar)


def _map_dask(func, batches: Iterator[list], *, dask: Any, n_workers: int | None, window: int | None, bar) -> Iterator:
    with dask_client(dask, n_workers=n_workers) as client:
        n = max(1, len(client.scheduler_info().get("workers", {})))
        window = window or max(2, 2 * n)
        yield from _windowed(lambda batch: client.submit(_apply_batch, func, batch, pure=False), batches, window, bar)


def _windowed(submit, batches: Iterator[list], window: int, bar) -> Iterator:
    """Submit batches keeping at most ``window`` pending; yield their results in submission order."""
    pending: deque = deque()
    try:
        for batch in batches:
            pending.append(submit(batch))
            while len(pending) >= window:
                yield from _drain(pending.popleft().result(), bar)
        while pending:
            yield from _drain(pending.popleft().result(), bar)
    finally:
        for future in pending:
            future.cancel()


def _drain(results: list, bar) -> Iterator:
    for result in results:
        yield result
        if bar is not None:
            bar.update(1)
