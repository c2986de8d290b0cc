"""Sourced data: JSON files of numbers that each carry the page they came from and a date.

labnet keeps every price and documented limit as data, never as an unexplained constant in code:
``labnet/analysis/prices.json`` (read by :mod:`labnet.cost`) and ``labnet/analysis/traffic_limits.json`` (read by
:mod:`labnet.analysis.traffic`). Both are read the same way, by these helpers: numbers become exact
:class:`~decimal.Decimal` values, and anything malformed is refused with an
:class:`~labnet.errors.InvalidSpecError` naming the field, before any arithmetic runs.
"""

from __future__ import annotations

import json
import math
import numbers
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

from .errors import InvalidSpecError


def read(source: Mapping[str, Any] | str | Path | None, default: Path, field: str) -> Mapping[str, Any]:
    """The raw data: ``default`` (labnet's own file) for ``None``, a JSON file for a path, or a dict as
    given. JSON numbers are read as Decimal so that hand-checkable sums come out exact."""
    shown = "labnet/" + default.resolve().relative_to(_ROOT).as_posix()
    if source is None or isinstance(source, (str, Path)):
        path = default if source is None else Path(source)
        try:
            data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal, parse_int=Decimal)
        except (OSError, ValueError) as exc:
            raise InvalidSpecError(field, str(path), f"cannot be read as JSON data ({exc})",
                                   f"point {field}= at a file shaped like {shown}") from exc
    elif isinstance(source, Mapping):
        data = source
    else:
        raise InvalidSpecError(field, type(source).__name__, "must be None, a dict or a JSON file path",
                               f"leave it out to use {shown}")
    if not isinstance(data, Mapping):
        raise InvalidSpecError(field, type(data).__name__, "must hold a JSON object",
                               f"see {shown} for the shape")
    return data


def text(data: Mapping[str, Any], key: str, field: str, required: bool = True, hint: str = "") -> str:
    """``data[key]`` as a string; a clear error naming ``field.key`` if it is not one (or is empty)."""
    value = data.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise InvalidSpecError(f"{field}.{key}", value, "must be a non-empty string", hint)
    return value


def number(field: str, value: object, rule: str = "must be a number of 0 or more", fix: str = "", *,
           positive: bool = False) -> Decimal:
    """A finite number that is 0 or more (more than 0 when ``positive``) as an exact Decimal of what
    was written: ``0.02`` stays 0.02, not the nearest binary float."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, Decimal)) \
            or not math.isfinite(float(value)) or value < 0 or (positive and value == 0):
        raise InvalidSpecError(field, value, rule, fix)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, numbers.Integral):
        return Decimal(int(value))
    return Decimal(str(float(value)))


_ROOT = Path(__file__).resolve().parent
