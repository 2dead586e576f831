"""Error type and message helpers shared by every stage."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["InputError", "value_invalid_msg", "check_texts", "check_frame"]


class InputError(ValueError):
    """Bad input data: carries the file (and line, when known) it came from.

    Parameters
    ----------
    path : str or Path or None
        The file the problem is in.
    message : str
        What is wrong and, where possible, how to fix it.
    line : int or None, default=None
        1-based line number of the problem.
    """

    def __init__(self, path: str | Path | None, message: str, *, line: int | None = None):
        self.path = None if path is None else str(path)
        self.line = line
        self.message = message
        where = ""
        if self.path is not None:
            where = f"{self.path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)


def value_invalid_msg(name: str, value: Any, valid_values: Iterable[Any]) -> str:
    """Message naming a parameter, its bad value and what is allowed."""
    allowed = ", ".join(repr(v) for v in sorted(valid_values, key=str))
    return f"`{name}` value {value!r} is invalid; it must be one of {{{allowed}}}."


def check_texts(texts: Any, *, name: str = "texts") -> list[str]:
    """Return `texts` as a list of str, guarding the str-vs-iterable trap.

    Raises
    ------
    TypeError
        If a single string (instead of an iterable of strings) is given, or an
        item is not a string.
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError(
            f"`{name}`: an iterable of texts was expected, a single string was received; "
            f"wrap it in a list: [{name}]."
        )
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise TypeError(f"`{name}`[{i}] is {type(text).__name__}, expected str.")
    return out


def check_frame(df: Any, columns: Iterable[str], name: str) -> None:
    """Raise unless ``df`` is a DataFrame holding ``columns`` (the message names both).

    Raises
    ------
    TypeError
        ``df`` is not a pandas DataFrame.
    ValueError
        Columns are missing.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"`{name}` lacks the columns {missing}; it has {list(df.columns)}")
