"""Where the shipped CJK font is: Noto Sans CJK SC from the ``mplfonts`` package (SIL OFL 1.1).

Used by the figures (:mod:`analysis.figures`) and the report pages
(:mod:`analysis.webfont`); locating it imports neither matplotlib nor the
package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["CJK_FONT_FILE", "CJK_FONT_PACKAGE", "find_cjk_font"]

#: PyPI package (pinned in pyproject.toml) that ships the font file.
CJK_FONT_PACKAGE = "mplfonts"
#: Font file inside ``<package>/fonts/``: Noto Sans CJK SC, SIL Open Font License 1.1.
CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"


def find_cjk_font() -> Path:
    """Path of the Noto Sans CJK SC file shipped by the ``mplfonts`` package.

    The package is located with :func:`importlib.util.find_spec` without being
    imported (importing it may change matplotlib's rcParams).

    Raises
    ------
    FileNotFoundError
        If the package or the font file is not installed.

    Examples
    --------
    >>> find_cjk_font().name
    'NotoSansCJKsc-Regular.otf'
    """
    spec = importlib.util.find_spec(CJK_FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the package {CJK_FONT_PACKAGE!r}, which ships the CJK font {CJK_FONT_FILE}, is not "
            f"installed; install the project's pinned dependencies (pip install -e .)."
        )
    for location in spec.submodule_search_locations:
        path = Path(location) / "fonts" / CJK_FONT_FILE
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"{CJK_FONT_FILE} not found under {list(spec.submodule_search_locations)}/fonts; "
        f"reinstall the pinned {CJK_FONT_PACKAGE} package."
    )
