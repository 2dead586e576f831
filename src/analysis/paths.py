"""Project paths, computed from this file so the package works from any cwd."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "PACKAGE_DIR",
    "PROJECT_ROOT",
    "RAW_DIR",
    "PROCESSED_DIR",
    "REPORTS_DIR",
    "FIGURES_DIR",
    "NOTEBOOKS_DIR",
    "RESOURCES_DIR",
    "CACHE_DIR",
    "MANIFEST_NAME",
    "CORRECTIONS_PATH",
    "project_path",
]

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent.parent
RAW_DIR = PROJECT_ROOT / "data" / "raw"
PROCESSED_DIR = PROJECT_ROOT / "data" / "processed"
REPORTS_DIR = PROJECT_ROOT / "reports"
FIGURES_DIR = REPORTS_DIR / "figures"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
RESOURCES_DIR = PACKAGE_DIR / "resources"
#: jieba's model cache and similar per-project caches (never a shared global path).
CACHE_DIR = PROJECT_ROOT / ".cache"
MANIFEST_NAME = "manifest.csv"
#: Optional researcher corrections applied by cleaning (data/raw stays untouched).
CORRECTIONS_PATH = PROJECT_ROOT / "data" / "corrections.yml"


def project_path(path: str | Path) -> Path:
    """``path`` as given when absolute, else relative to the project root.

    Notebook parameters hold project-relative strings ("data/raw") so that a
    run does not depend on the working directory or on a personal path.
    """
    path = Path(path)
    return path if path.is_absolute() else PROJECT_ROOT / path
