"""The results table: stored values in display units, catalog formats, links per row.

Why a display frame rather than Streamlit's ``"percent"`` format: every unit
(percent, ×, $M, $) then follows one rule from the catalog (``display = stored ×
unit.scale``, printf ``prefix %,.Nf suffix``), and the columns stay numeric, so the
table's own header sort still sorts by value.  Market cap reads in $M with thousands
separators ($13,594M), which keeps the column sortable; exports keep stored units.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from screener.fields import FIELD_BY_NAME, Field
from screener.links import stock_page_url, yahoo_url

STOCK_LINK = "stock_page"
YAHOO_LINK = "yahoo"


def number_format(spec: Field) -> str:
    """printf format for a numeric column in display units: ``%,.1f%%``, ``$%,.0fM``, ``%,.2f×``."""
    unit = spec.unit_info
    body = "%,d" if spec.kind == "int" else f"%,.{unit.decimals}f"
    return f"{unit.prefix.replace('%', '%%')}{body}{unit.suffix.replace('%', '%%')}"


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy in display units (12% as 12.0, $500M as 500.0) with link columns after ``ticker``."""
    columns: dict[str, pd.Series] = {}
    for name in frame.columns:
        spec = FIELD_BY_NAME.get(name)
        series = frame[name]
        if spec is not None and spec.is_numeric and spec.unit_info.scale != 1.0:
            series = series.astype("float64") * spec.unit_info.scale
        columns[name] = series
        if name == "ticker":
            tickers = frame["ticker"].astype(str)
            columns[STOCK_LINK] = tickers.map(stock_page_url)
            columns[YAHOO_LINK] = tickers.map(yahoo_url)
    return pd.DataFrame(columns, index=frame.index)


def column_config(columns: list[str]) -> dict[str, object]:
    """Streamlit column settings from the catalog: labels, help, formats, links."""
    config: dict[str, object] = {}
    for name in columns:
        if name == STOCK_LINK:
            config[name] = st.column_config.LinkColumn(
                "Stock", display_text="Chart", help="Open this stock on the Stock page")
            continue
        if name == YAHOO_LINK:
            config[name] = st.column_config.LinkColumn(
                "Yahoo", display_text="Quote ↗", help="Open the quote on Yahoo Finance (new tab)")
            continue
        spec = FIELD_BY_NAME.get(name)
        if spec is None:
            continue
        if spec.is_numeric:
            config[name] = st.column_config.NumberColumn(spec.label, help=spec.help, format=number_format(spec))
        elif spec.kind == "bool":
            config[name] = st.column_config.CheckboxColumn(spec.label, help=spec.help)
        elif spec.kind == "date":
            config[name] = st.column_config.DateColumn(spec.label, help=spec.help, format="YYYY-MM-DD")
        else:
            config[name] = st.column_config.TextColumn(spec.label, help=spec.help, pinned=name == "ticker")
    return config
