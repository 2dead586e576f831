"""Comparative text analysis of local reports on the 2021 Party-history learning campaign.

Modules, in data-flow order: ``ingest`` (raw files -> Document; ``webtext``
extracts the article of a web page, ``bulk`` reads JSON Lines collections),
``clean`` (Document -> CleanDocument with paragraphs and an audit log),
``corpus`` (corpus tables; ``duplicates`` finds repeated reports; ``parallel`` maps the per-document steps over processes or Dask), ``places`` (place detection), ``tokens`` (jieba
segmentation), ``topics`` (TF-IDF clustering, keyness, similarity),
``numerals`` and ``metrics`` (quantitative claims), ``tabulate`` (metric
tables), ``formulaic`` (slogans, formulations, reuse), ``compare`` (geography
and place profiles), ``figures`` and ``pipeline`` (papermill run and HTML
export; ``webfont`` cuts the font each page embeds). Support: ``paths``, ``errors``, ``records``, ``storage``,
``fonts`` (where the shipped CJK font is).

Modules are loaded on first use, so ``import analysis`` is cheap and call sites
say where a function lives: ``analysis.clean.clean_document(document)``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__version__ = "0.1.0"

_MODULES = (
    "paths", "errors", "records", "storage", "webtext", "bulk", "ingest", "clean", "duplicates", "runs", "corpus", "parallel", "places", "tokens", "topics",
    "numerals", "metrics", "tabulate", "formulaic", "compare", "fonts", "figures", "webfont", "pipeline",
)
__all__ = [*_MODULES, "__version__"]


def __getattr__(name: str) -> ModuleType:
    """Import ``analysis.<name>`` when it is first used (PEP 562)."""
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
