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
