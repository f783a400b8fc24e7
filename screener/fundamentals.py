"""Map yfinance ``Ticker.info`` keys and ``insider_purchases`` rows onto the field catalog.

The files source (a CSV/Parquet with info key names) and the Yahoo source (one dict per
ticker) both go through :func:`map_info_frame`, so units are converted in exactly one
place: ``debtToEquity`` 169.188 becomes 1.69188, ``dividendYield`` 0.72 becomes 0.0072.
Cells that are not numbers, are infinite, or fall outside the catalog's ``valid`` range
are refused one by one and counted; they are never coerced to zero.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from screener.fields import FIELD_BY_NAME, INFO_FIELDS, INSIDER_FIELDS, Field
from screener.sources.base import Rejections

#: Yahoo's sector names onto the GICS names iShares uses, so one sector list serves both.
YAHOO_TO_GICS_SECTOR: dict[str, str] = {
    "Technology": "Information Technology",
    "Healthcare": "Health Care",
    "Financial Services": "Financials",
    "Consumer Cyclical": "Consumer Discretionary",
    "Consumer Defensive": "Consumer Staples",
    "Basic Materials": "Materials",
    "Communication Services": "Communication",
    "Industrials": "Industrials",
    "Energy": "Energy",
    "Utilities": "Utilities",
    "Real Estate": "Real Estate",
}

#: Keys of Yahoo's ``netSharePurchaseActivity`` module (what ``insider_purchases`` shows)
#: for each insider field; a file may use these or the catalog names.
INSIDER_SOURCE_KEYS: dict[str, tuple[str, ...]] = {
    "insider_buys_6m": ("buyInfoCount",),
    "insider_sells_6m": ("sellInfoCount",),
    "insider_net_shares_6m": ("netInfoShares",),
    "insider_net_pct_6m": ("netPercentInsiderShares",),
}

#: Row labels of yfinance's ``Ticker.insider_purchases`` frame -> (column, field).
_PURCHASES_ROWS: dict[str, tuple[str, str]] = {
    "Purchases": ("Trans", "insider_buys_6m"),
    "Sales": ("Trans", "insider_sells_6m"),
    "Net Shares Purchased (Sold)": ("Shares", "insider_net_shares_6m"),
    "% Net Shares Purchased (Sold)": ("Shares", "insider_net_pct_6m"),
}


#: A comma between digits that groups thousands ("1,234,567.5"), removed before parsing.
_THOUSANDS = r"(?<=\d),(?=\d{3}(?:\D|$))"


def _source_columns(spec: Field, frame_columns: pd.Index) -> list[str]:
    """The frame's columns that can feed ``spec``: the catalog name first, then Yahoo keys."""
    keys = (spec.name, *spec.source_keys, *INSIDER_SOURCE_KEYS.get(spec.name, ()))
    return [k for k in keys if k in frame_columns]


def _numeric_column(
    raw: pd.Series, spec: Field, scale: float, file: str, column: str, rejections: Rejections,
    row_numbers: pd.Series,
) -> pd.Series:
    """Numbers from one raw column: text, inf and out-of-range cells become null and are counted."""
    as_text = raw.astype("string").str.strip().str.replace(_THOUSANDS, "", regex=True)
    missing = raw.isna() | as_text.isin(["", "-", "nan", "NaN", "None", "null", "N/A", "n/a"])
    numbers = pd.to_numeric(as_text.where(~missing), errors="coerce").astype("float64")
    not_a_number = ~missing & numbers.isna()
    rejections.add(file, column, row_numbers[not_a_number], raw[not_a_number], "not a number")
    infinite = np.isinf(numbers)
    rejections.add(file, column, row_numbers[infinite], raw[infinite], "infinite")
    numbers = numbers.where(~infinite) * scale
    lo, hi = spec.valid
    outside = pd.Series(False, index=numbers.index)
    if lo is not None:
        outside |= numbers < lo
    if hi is not None:
        outside |= numbers > hi
    rejections.add(file, column, row_numbers[outside], raw[outside], f"outside {lo}..{hi}")
    if spec.kind == "int":
        fractional = numbers.notna() & ~outside & (numbers != numbers.round())
        rejections.add(file, column, row_numbers[fractional], raw[fractional], "not a whole number")
        outside |= fractional
    return numbers.where(~outside)


def map_info_frame(frame: pd.DataFrame, file: str, rejections: Rejections,
                   row_labels: Sequence[Any] | None = None) -> pd.DataFrame:
    """Catalog columns from a frame whose columns are yfinance info keys (or catalog names).

    ``frame`` must have a ``ticker`` column.  Row numbers in messages are 1-based data
    rows of ``file`` (row 1 is the first row after the header), or ``row_labels`` when
    given (the Yahoo source names rows by ticker).  Missing columns give
    null columns; unknown columns are ignored.  Output columns: ``ticker`` and every
    field of ``INFO_FIELDS`` and ``INSIDER_FIELDS``.
    """
    labels = list(row_labels) if row_labels is not None else np.arange(1, len(frame) + 1)
    row_numbers = pd.Series(labels, index=frame.index)
    out = pd.DataFrame({"ticker": frame["ticker"].astype("string")}, index=frame.index)
    for name in (*(f.name for f in INFO_FIELDS), *INSIDER_FIELDS):
        spec = FIELD_BY_NAME[name]
        columns = _source_columns(spec, frame.columns)
        if spec.kind == "str":
            values = pd.Series(pd.NA, index=frame.index, dtype="string")
            for column in columns:
                text = frame[column].astype("string").str.strip().replace("", pd.NA)
                values = values.fillna(text)
            if name == "sector":
                values = values.map(lambda s: YAHOO_TO_GICS_SECTOR.get(s, s) if isinstance(s, str) else s)
                values = values.astype("string")
            out[name] = values
            continue
        values = pd.Series(np.nan, index=frame.index, dtype="float64")
        for column in columns:
            scale = 1.0 if column == spec.name else spec.source_scale
            parsed = _numeric_column(frame[column], spec, scale, file, column, rejections, row_numbers)
            values = values.fillna(parsed)
        out[name] = values.astype("Int64") if spec.kind == "int" else values
    return out.reset_index(drop=True)


def map_info_dicts(records: Iterable[tuple[str, Mapping[str, Any], pd.DataFrame | None]],
                   rejections: Rejections, file: str = "yahoo") -> pd.DataFrame:
    """Catalog rows for many tickers' ``Ticker.info`` dicts and ``insider_purchases`` frames at once.

    ``records`` are ``(ticker, info, insider_purchases or None)``.  One vectorised pass
    per batch: mapping a one-row frame costs tens of milliseconds of pandas overhead,
    which a 2,000-ticker night would otherwise pay 2,000 times.  yfinance drops keys
    whose value is None, so every key is optional; rejected cells are reported by ticker.
    """
    rows = []
    for ticker, info, insider_purchases in records:
        row: dict[str, Any] = {"ticker": ticker}
        for key, value in info.items():
            if isinstance(value, (int, float, str)) and not isinstance(value, bool):
                row[key] = value
        if insider_purchases is not None:
            row.update(insider_values(insider_purchases))
        rows.append(row)
    frame = pd.DataFrame(rows, dtype=object)
    if frame.empty:
        frame = pd.DataFrame({"ticker": pd.Series(dtype=object)})
    return map_info_frame(frame, file, rejections, row_labels=frame["ticker"])


def insider_values(purchases: pd.DataFrame) -> dict[str, Any]:
    """Catalog insider fields from yfinance's ``Ticker.insider_purchases`` frame.

    The frame's first column holds row labels ("Purchases", "Sales", ...); an empty
    frame (no activity reported) yields no values rather than zeros.
    """
    if purchases is None or purchases.empty:
        return {}
    labels = purchases.iloc[:, 0].astype(str).str.strip()
    values: dict[str, Any] = {}
    for label, (column, name) in _PURCHASES_ROWS.items():
        hit = purchases.loc[labels == label, column] if column in purchases.columns else pd.Series([])
        if len(hit) and pd.notna(hit.iloc[0]):
            values[name] = hit.iloc[0]
    return values


def derive_flags(stocks: pd.DataFrame) -> pd.DataFrame:
    """Add ``is_profitable`` and ``insider_buying`` exactly as DESIGN.md defines them.

    ``is_profitable``: eps_ttm > 0 when EPS is known, else profit_margin > 0, else null.
    ``insider_buying``: insider_net_shares_6m > 0, null when net shares are unknown.
    """
    eps = stocks["eps_ttm"].astype("Float64")
    margin = stocks["profit_margin"].astype("Float64")
    profitable = (eps > 0).where(eps.notna(), margin > 0)
    stocks["is_profitable"] = profitable.where(eps.notna() | margin.notna()).astype("boolean")
    net = stocks["insider_net_shares_6m"].astype("Float64")
    stocks["insider_buying"] = (net > 0).where(net.notna()).astype("boolean")
    return stocks
