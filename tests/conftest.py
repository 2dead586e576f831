"""Shared fixtures: the shared/ folder beside the project and the cleaned corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis import paths

SHARED_DIR = paths.PROJECT_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared (gold annotations, peer benchmarks); CI has it beside the clone."""
    if not (SHARED_DIR / "gold").is_dir():
        pytest.skip(f"{SHARED_DIR} not found: gold annotations are needed for this test")
    return SHARED_DIR


@pytest.fixture(scope="session")
def clean_corpus_bundled():
    """The bundled corpus (data/raw) read and cleaned by the project pipeline."""
    from analysis import corpus

    return corpus.clean_corpus(paths.RAW_DIR)


@pytest.fixture(scope="session")
def corpus_paragraphs(clean_corpus_bundled):
    """Paragraphs of the bundled corpus (columns of corpus.PARAGRAPH_COLUMNS: doc_id, para_id, place, text, ...)."""
    from analysis import corpus

    return corpus.paragraphs_frame(clean_corpus_bundled)


@pytest.fixture(scope="session")
def corpus_documents(clean_corpus_bundled):
    """Documents table of the bundled corpus (corpus.DOCUMENT_COLUMNS)."""
    from analysis import corpus

    return corpus.documents_frame(clean_corpus_bundled)
