"""The Stock page's data: which ticker the URL asks for, and where the stock stands in its universe.

No Streamlit here.  Definitions where DESIGN.md leaves room:

- The ``ticker`` query parameter is trimmed and upper-cased, then must be one of the
  snapshot's tickers exactly; anything else (unknown, empty, hostile) resolves to None
  and the page shows a note and the picker.  The note quotes at most
  :data:`MAX_QUOTED` characters of what was asked, with Markdown and control
  characters removed, so a crafted link cannot inject links or formatting.
- Percentile of a numeric field = the share of the universe's stocks *with a value for
  that field* whose value is strictly lower than this stock's.  Nulls are left out of
  both counts; ties count as not lower, so every tied stock gets the same percentile
  and the lowest value reads 0%.  A stock without a value has no percentile.
- "Better than" turns that into a direction-aware standing using
  :attr:`screener.fields.Field.direction`: for higher-is-better fields it equals the
  percentile, for lower-is-better fields it is the share strictly *higher* (e.g. a
  debt/equity lower than 80% of the universe's is better than 80%); neutral fields
  (price, volume, market cap...) have none.
"""

from __future__ import annotations

import math
import re
from typing import Any, Collection, Sequence

import numpy as np
import pandas as pd

from screener.fields import FIELDS, GROUPS, Field, field
from screener.quality import QUALITY_COMPONENTS

TICKER_PARAM = "ticker"
#: Longest part of an unknown ticker quoted back in the note.
MAX_QUOTED = 24
#: Quality components in the order the page shows them, then the score they make up.
COMPONENT_FIELDS: tuple[str, ...] = (*QUALITY_COMPONENTS, "quality_score")
_UNSAFE = re.compile(r"[^A-Za-z0-9 .\-^=_]")


def normalise_ticker(raw: Any) -> str:
    """What a person means by a typed ticker: trimmed, upper case ("mog-a " -> "MOG-A")."""
    return str(raw).strip().upper() if raw is not None else ""


def resolve_ticker(raw: Any, tickers: Collection[str]) -> str | None:
    """The snapshot ticker the URL parameter names, or None when it names none."""
    candidate = normalise_ticker(raw)
    return candidate if candidate and candidate in tickers else None


def quoted_safely(raw: Any) -> str:
    """A short, inert rendering of an untrusted value for a note (no Markdown, no HTML, no controls)."""
    text = _UNSAFE.sub("", str(raw))[:MAX_QUOTED]
    return text if text.strip() else "(unreadable)"


def ticker_labels(stocks: pd.DataFrame) -> dict[str, str]:
    """ticker -> "TICKER - Name" for the searchable picker, in the frame's order."""
    names = stocks["name"].astype("object").where(stocks["name"].notna(), None)
    return {str(t): (f"{t} - {n}" if n else str(t)) for t, n in zip(stocks["ticker"], names)}


def stock_row(stocks: pd.DataFrame, ticker: str) -> pd.Series:
    """The stock's row (KeyError when absent: callers resolve the ticker first)."""
    rows = stocks.loc[stocks["ticker"] == ticker]
    if rows.empty:
        raise KeyError(ticker)
    return rows.iloc[0]


def is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def format_value(item: Field, value: Any) -> str:
    """Catalog formatting, with dates shown as dates whatever their pandas type."""
    if item.kind == "date" and not is_missing(value):
        return pd.Timestamp(value).date().isoformat()
    return item.format(None if is_missing(value) else value)


def percentile(values: pd.Series, value: Any) -> float | None:
    """Share of the non-null ``values`` strictly lower than ``value``; None when either is missing."""
    known = pd.to_numeric(values, errors="coerce").astype("float64").dropna().to_numpy()
    if is_missing(value) or known.size == 0:
        return None
    return float(np.count_nonzero(known < float(value)) / known.size)


def better_than(values: pd.Series, value: Any, direction: int) -> float | None:
    """Share of the non-null ``values`` this value beats given the field's direction; None if neutral."""
    if direction == 0 or is_missing(value):
        return None
    known = pd.to_numeric(values, errors="coerce").astype("float64").dropna().to_numpy()
    if known.size == 0:
        return None
    worse = known < float(value) if direction > 0 else known > float(value)
    return float(np.count_nonzero(worse) / known.size)


def field_table(stocks: pd.DataFrame, ticker: str, names: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per catalog field present in ``stocks``, in catalog order (or ``names``, in that order).

    Columns: group (label), field, label, value (formatted text), percentile, better_than
    (both fractions 0-1 or null; only numeric fields get them), help.
    """
    row = stock_row(stocks, ticker)
    chosen = [f for f in (FIELDS if names is None else map(field, names)) if f.name in stocks.columns]
    records = []
    for item in chosen:
        value = row[item.name]
        numeric = item.is_numeric
        records.append({
            "group": GROUPS[item.group],
            "field": item.name,
            "label": item.label,
            "value": format_value(item, value),
            "percentile": percentile(stocks[item.name], value) if numeric else None,
            "better_than": better_than(stocks[item.name], value, item.direction) if numeric else None,
            "help": item.help,
        })
    out = pd.DataFrame.from_records(records, columns=["group", "field", "label", "value", "percentile",
                                                      "better_than", "help"])
    return out.astype({"percentile": "float64", "better_than": "float64"})


def quality_components(row: pd.Series) -> pd.DataFrame:
    """component, label, value (z) for the three quality components and the score; nulls kept."""
    return pd.DataFrame({
        "component": list(COMPONENT_FIELDS),
        "label": [field(name).label for name in COMPONENT_FIELDS],
        "value": [None if is_missing(row.get(name)) else float(row[name]) for name in COMPONENT_FIELDS],
    }).astype({"value": "float64"})


def component_inputs() -> dict[str, tuple[str, ...]]:
    """component -> the catalog fields it ranks, for the page's "made of" lists."""
    return {component: tuple(name for name, _ in inputs) for component, inputs in QUALITY_COMPONENTS.items()}


def day_change(history: pd.DataFrame | None) -> float | None:
    """Last close / previous close − 1 from the stock's price history; None without two closes."""
    if history is None:
        return None
    closes = history["close"].dropna()
    if len(closes) < 2:
        return None
    return float(closes.iloc[-1] / closes.iloc[-2] - 1)

