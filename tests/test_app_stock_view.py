"""The Stock page's data, without Streamlit: ticker validation, percentiles (tiny frames checked
by eye and the real yfinance .info dump against an independent pandas rank), quality parts."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from screener.fields import FIELDS, GROUPS
from screener.fundamentals import map_info_frame
from screener.links import yahoo_url
from screener.sources.base import Rejections
from screener.ui import stock_view
from tests.support.realdata import INFO_2026, realdata_path


TICKERS = {"ABC", "MOG-A", "BRK.B"}


@pytest.mark.parametrize("raw, expected", [
    ("ABC", "ABC"), (" abc ", "ABC"), ("mog-a", "MOG-A"), ("BRK.B", "BRK.B"),
    ("XYZ", None), ("", None), (None, None), ("AB C", None),
    ("<script>alert(1)</script>", None), ("'; DROP TABLE stocks; --", None), ("../../etc/passwd", None),
    ("A" * 10_000, None), ("ABC\nDEF", None), ("[ABC](https://evil.example)", None),
])
def test_resolve_ticker_accepts_only_snapshot_tickers(raw, expected):
    assert stock_view.resolve_ticker(raw, TICKERS) == expected


@pytest.mark.parametrize("raw", [
    "<img src=x onerror=alert(1)>", "[click](javascript:alert(1))", "**bold** `code` :red[x]", "A" * 500,
    "\x00\x1b[31m", "![i](http://e/x.png)",
])
def test_quoted_safely_leaves_nothing_markdown_or_html_can_use(raw):
    shown = stock_view.quoted_safely(raw)
    assert len(shown) <= max(stock_view.MAX_QUOTED, len("(unreadable)"))
    assert not set(shown) & set("<>[]()`*:!\\\x00\x1b\n")


def test_ticker_labels_read_ticker_dash_name():
    stocks = pd.DataFrame({"ticker": ["ABC", "XYZ"], "name": ["Alpha Beta", None]})
    assert stock_view.ticker_labels(stocks) == {"ABC": "ABC - Alpha Beta", "XYZ": "XYZ"}


def test_yahoo_url_escapes_the_ticker():
    assert yahoo_url("MOG-A") == "https://finance.yahoo.com/quote/MOG-A"
    assert yahoo_url("A/B") == "https://finance.yahoo.com/quote/A%2FB"


# --------------------------------------------------------------------------- percentiles by eye

VALUES = pd.Series([1.0, 2.0, 2.0, 3.0, np.nan])  # 4 known values; the NaN is left out


@pytest.mark.parametrize("value, expected", [(1.0, 0.0), (2.0, 0.25), (3.0, 0.75), (2.5, 0.75), (9.0, 1.0)])
def test_percentile_is_share_strictly_lower_among_known_values(value, expected):
    assert stock_view.percentile(VALUES, value) == pytest.approx(expected)


def test_percentile_of_a_missing_value_or_an_empty_column_is_none():
    assert stock_view.percentile(VALUES, np.nan) is None
    assert stock_view.percentile(VALUES, None) is None
    assert stock_view.percentile(pd.Series([np.nan, np.nan]), 1.0) is None


@pytest.mark.parametrize("value, direction, expected", [
    (2.0, 1, 0.25),   # higher is better: beats the one lower value
    (2.0, -1, 0.25),  # lower is better: beats the one higher value (3)
    (1.0, -1, 0.75),  # the lowest debt beats the three higher ones
    (2.0, 0, None),   # neutral field: no standing
])
def test_better_than_follows_the_field_direction(value, direction, expected):
    got = stock_view.better_than(VALUES, value, direction)
    assert got == (pytest.approx(expected) if expected is not None else None)


def tiny_stocks() -> pd.DataFrame:
    return pd.DataFrame({
        "ticker": ["A", "B", "C", "D"],
        "name": ["Alpha", "Beta", "Gamma", "Delta"],
        "debt_to_equity": [0.5, 2.0, np.nan, 1.0],
        "roe": [0.10, 0.20, 0.30, 0.20],
        "close": [10.0, 20.0, 30.0, 40.0],
        "above_sma_50": pd.array([True, False, None, True], dtype="boolean"),
        "as_of": pd.to_datetime(["2026-11-20"] * 4),
    })


def test_field_table_rows_by_eye():
    table = stock_view.field_table(tiny_stocks(), "B").set_index("field")
    assert list(table.index) == ["ticker", "name", "debt_to_equity", "roe", "close", "above_sma_50", "as_of"]
    # debt/equity 2.0 among {0.5, 2.0, 1.0}: two lower -> 2/3; lower is better: none higher -> 0
    assert table.loc["debt_to_equity", "percentile"] == pytest.approx(2 / 3)
    assert table.loc["debt_to_equity", "better_than"] == pytest.approx(0.0)
    # roe 0.20 among {0.1, 0.2, 0.3, 0.2}: one lower (the tie is not lower) -> 1/4
    assert table.loc["roe", "percentile"] == pytest.approx(0.25)
    assert table.loc["roe", "better_than"] == pytest.approx(0.25)
    # close is neutral: a percentile, no standing; booleans and text: neither
    assert table.loc["close", "percentile"] == pytest.approx(0.25)
    assert np.isnan(table.loc["close", "better_than"])
    assert np.isnan(table.loc["above_sma_50", "percentile"]) and table.loc["above_sma_50", "value"] == "no"
    assert table.loc["debt_to_equity", "value"] == "2.00×" and table.loc["roe", "value"] == "20.0%"
    assert table.loc["as_of", "value"] == "2026-11-20"
    assert table.loc["roe", "group"] == GROUPS["profitability"]


def test_field_table_for_a_stock_without_a_value_has_no_percentile():
    table = stock_view.field_table(tiny_stocks(), "C").set_index("field")
    assert table.loc["debt_to_equity", "value"] == "—"
    assert np.isnan(table.loc["debt_to_equity", "percentile"])


def test_field_table_keeps_the_order_of_names_asked_for():
    table = stock_view.field_table(tiny_stocks(), "A", names=["roe", "debt_to_equity"])
    assert table["field"].tolist() == ["roe", "debt_to_equity"]


def test_quality_components_and_day_change():
    row = pd.Series({"profitability_z": 1.5, "growth_z": np.nan, "safety_z": -0.25, "quality_score": 0.7})
    parts = stock_view.quality_components(row)
    assert parts["component"].tolist() == ["profitability_z", "growth_z", "safety_z", "quality_score"]
    assert parts["value"].iloc[0] == 1.5 and np.isnan(parts["value"].iloc[1])
    history = pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"]),
                            "close": [10.0, 8.0, np.nan]})
    assert stock_view.day_change(history.iloc[:2]) == pytest.approx(-0.2)
    assert stock_view.day_change(history) == pytest.approx(-0.2)  # a missing last close is skipped
    assert stock_view.day_change(history.iloc[:1]) is None and stock_view.day_change(None) is None


# --------------------------------------------------------------------------- real data


def test_percentiles_on_real_yahoo_fundamentals_match_an_independent_rank():
    info = realdata_path(INFO_2026)
    raw = pd.read_parquet(info).rename(columns={"symbol": "ticker"})
    stocks = map_info_frame(raw, info.name, Rejections())
    numeric = [f.name for f in FIELDS if f.name in stocks.columns and f.is_numeric
               and stocks[f.name].notna().sum() > 100]
    assert {"roe", "debt_to_equity", "pe_trailing", "market_cap"} <= set(numeric)
    for ticker in stocks["ticker"].sample(12, random_state=7):
        table = stock_view.field_table(stocks, ticker).set_index("field")
        for name in numeric:
            column = stocks[name].astype("float64")
            value = column[stocks["ticker"] == ticker].iloc[0]
            got = table.loc[name, "percentile"]
            if np.isnan(value):
                assert np.isnan(got), (ticker, name)
                continue
            # rank(method="min") - 1 = number of known values strictly lower
            lower = column.rank(method="min")[stocks["ticker"] == ticker].iloc[0] - 1
            assert got == pytest.approx(lower / column.notna().sum()), (ticker, name)
