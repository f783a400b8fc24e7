"""How filter values are typed on the Screener page: operators offered, display units, lists.

Pure functions (no Streamlit).  The catalog decides units (``Field.to_display`` /
``from_display``): a person types ``10`` for 10% and ``500`` for $500M, the Screen holds
``0.1`` and ``5e8``.  Conversions round away binary noise (``0.1 * 100`` is
``10.000000000000002``) so a typed 10 shows as 10 and reads back as exactly 0.1 in the URL.
"""

from __future__ import annotations

import math

from screener.fields import Field
from screener.screen import OPS_BY_KIND, ScreenError

#: How each operator reads in a picker.
OP_LABELS: dict[str, str] = {
    "gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "between": "between", "eq": "=", "ne": "≠",
    "in": "is one of", "not_in": "is none of", "is_true": "is yes", "is_false": "is no",
    "not_null": "is known",
}

#: Text fields whose values are picked from the snapshot's distinct values.
SNAPSHOT_VALUE_FIELDS: frozenset[str] = frozenset({"sector", "industry"})


def picks_from_list(spec: Field) -> bool:
    """True when a person picks this field's values from a list rather than typing them."""
    return bool(spec.choices) or spec.name in SNAPSHOT_VALUE_FIELDS


def ui_ops(spec: Field) -> tuple[str, ...]:
    """Operators the Add-filter control offers for ``spec``.

    Booleans are asked yes / no / known (``eq true`` says the same as ``is yes``), and
    picked text fields use one-of / none-of (one picked value reads "sector is Energy").
    Typed text starts with one-of (a list of tickers).  Everything else offers the
    kind's full operator list from ``screener.screen``.
    """
    if spec.kind == "bool":
        return ("is_true", "is_false", "not_null")
    if spec.kind == "str" and picks_from_list(spec):
        return ("in", "not_in", "not_null")
    if spec.kind == "str":  # a list of tickers is the common case
        return ("in", "not_in", "eq", "ne", "not_null")
    return OPS_BY_KIND[spec.kind]


def input_format(spec: Field) -> str:
    """printf format of a number input in display units: %d, %.1f (percent), %.2f (ratio)."""
    return "%d" if spec.kind == "int" else f"%.{spec.unit_info.decimals}f"


def input_step(spec: Field) -> float | int:
    step = spec.unit_info.widget_step
    return max(1, int(step)) if spec.kind == "int" else float(step)


def to_shown(spec: Field, stored: float | int) -> float | int:
    """Stored value -> the number in the input (0.1 -> 10.0 for a percent field)."""
    if spec.kind == "int":
        return int(stored)
    return round(spec.to_display(float(stored)), 10) + 0.0


def to_stored(spec: Field, shown: float | int) -> float | int:
    """The number a person typed -> the stored value, without binary noise (10 -> 0.1)."""
    value = spec.from_display(float(shown))
    if spec.kind == "int":
        return int(round(value))
    return float(f"{value:.12g}")


def rounded_default(spec: Field, shown: float) -> float | int:
    """A round starting value for an input: two significant digits, at the input's precision.

    A median market cap of $812.3M starts the input at 810, a median growth of 8.03% at 8.0.
    """
    if spec.kind == "int":
        return int(round(shown))
    if shown == 0 or not math.isfinite(shown):
        return 0.0
    magnitude = math.floor(math.log10(abs(shown)))
    digits = min(1 - magnitude, spec.unit_info.decimals)  # negative: 812.3 -> 810
    return round(shown, digits) + 0.0


def parse_list_text(spec: Field, text: str) -> tuple[str | int, ...]:
    """Comma-separated values typed for ``in`` / ``not_in``: tickers, or whole numbers.

    Raises ScreenError (shown to the user) for an empty list or a non-integer in an
    integer field; the Filter itself checks everything else.
    """
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ScreenError("type at least one value, separated by commas")
    if spec.name == "ticker":  # Yahoo symbols are upper case; "aapl" means AAPL
        return tuple(item.upper() for item in items)
    if spec.kind != "int":
        return tuple(items)
    try:
        return tuple(int(item) for item in items)
    except ValueError:
        raise ScreenError(f"{spec.label} takes whole numbers separated by commas") from None
