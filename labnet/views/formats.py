"""Tables as a person reads them: numbers written the way people write them, and tables that fit a
terminal. Display only: the API's frames keep their full columns and their numbers as numbers.

    >>> print(fit(readable(labnet.cost.estimate(spec)), drop=["source"]))
"""

from __future__ import annotations

import math
from typing import Sequence

import pandas as pd

TERMINAL_WIDTH = 160  # columns: a terminal the demo and the command line write for
MIN_CELL = 12  # a shortened text cell keeps at least this many characters
ELLIPSIS = "…"


def number(value: object) -> str:
    """One figure as a person writes it: whole numbers with thousands separators and no ``.0``
    (``2,190``), amounts of 1 or more to two decimals at most (``109.5``), smaller ones to four
    significant digits (``0.15``, ``0.0274``); blank for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.4g}"


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every numeric column written by :func:`number` (text columns as they
    are, missing values blank), for HTML tables and terminals."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_numeric_dtype(out[column]) and not pd.api.types.is_bool_dtype(out[column]):
            out[column] = [number(v) for v in out[column].astype(object)]
    return out


def fit(frame: pd.DataFrame, width: int = TERMINAL_WIDTH, drop: Sequence[str] = ()) -> str:
    """``frame`` as text no wider than ``width`` columns: the columns in ``drop`` left out, then the
    longest text cells shortened with "…" (widest column first, down to :data:`MIN_CELL`
    characters), then, if it is still too wide, columns left out from the right, named in a last line."""
    shown = frame.drop(columns=[c for c in drop if c in frame.columns]).astype(object)
    shown = shown.where(shown.notna(), "")

    def text(f: pd.DataFrame) -> str:
        return f.to_string(index=False) if len(f.columns) else ""

    def widest(t: str) -> int:
        return max((len(line) for line in t.splitlines()), default=0)

    rendered = text(shown)
    while widest(rendered) > width:
        lengths = {c: int(shown[c].map(lambda v: len(str(v))).max() or 0) for c in shown.columns}
        column = max(lengths, key=lambda c: lengths[c])
        target = max(MIN_CELL, lengths[column] - (widest(rendered) - width))
        if lengths[column] <= MIN_CELL or target >= lengths[column]:
            break
        shown[column] = shown[column].map(lambda v, n=target: _shorten(str(v), n))
        rendered = text(shown)
    left_out: list[str] = []
    while widest(rendered) > width and len(shown.columns) > 1:
        left_out.insert(0, str(shown.columns[-1]))
        shown = shown.iloc[:, :-1]
        rendered = text(shown)
    if left_out:
        rendered += f"\n(columns left out to fit {width} columns: {', '.join(left_out)})"
    return rendered


def _shorten(value: str, n: int) -> str:
    return value if len(value) <= n else value[: n - 1] + ELLIPSIS
