"""The Stock page under AppTest: the ticker comes from ?ticker= (validated; hostile values give a
note, never an exception), percentiles equal an independent pandas computation on the snapshot,
and missing prices or snapshots are explained."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from screener import store
from screener.ui.text import escape_markdown
from tests.support.apptest import open_page

PAGE = "pages/3_Stock.py"


def run_page(data_dir: Path, monkeypatch: pytest.MonkeyPatch, ticker: str | None = None) -> AppTest:
    return open_page(PAGE, data_dir, monkeypatch, {"ticker": ticker} if ticker is not None else None)


def headers(at: AppTest) -> list[str]:
    return [h.value for h in at.header]


def field_rows(at: AppTest) -> pd.DataFrame:
    """All rows of the per-group field tables (the ones with a percentile and an About column)."""
    tables = [d.value for d in at.dataframe if {"percentile", "help"} <= set(d.value.columns)]
    return pd.concat(tables, ignore_index=True).set_index("label")


@pytest.fixture(scope="module")
def stocks(demo_data_dir) -> pd.DataFrame:
    snapshot, _ = store.latest_snapshot(demo_data_dir)
    return pd.read_parquet(snapshot.stocks_path)


def a_ticker(stocks: pd.DataFrame) -> str:
    """A stock with a debt/equity and a return on equity, both of which some other stocks lack or tie."""
    usable = stocks.dropna(subset=["roe", "debt_to_equity", "rs_rating"])
    return str(usable["ticker"].iloc[len(usable) // 2])


def test_a_ticker_from_the_url_shows_its_page_with_right_percentiles(demo_data_dir, stocks, monkeypatch):
    ticker = a_ticker(stocks)
    at = run_page(demo_data_dir, monkeypatch, ticker)
    row = stocks.set_index("ticker").loc[ticker]
    assert headers(at) == [f"{ticker} · {row['name']}"]
    assert not at.main.warning
    table = field_rows(at)
    for label, column, direction in (("Return on equity", "roe", 1), ("Debt/equity", "debt_to_equity", -1),
                                     ("RS rating", "rs_rating", 1), ("Market cap", "market_cap", 0)):
        values = stocks[column].dropna().astype("float64")
        lower = (values < float(row[column])).sum() / len(values)
        higher = (values > float(row[column])).sum() / len(values)
        assert table.loc[label, "percentile"] == pytest.approx(lower), label
        if direction:
            assert table.loc[label, "better_than"] == pytest.approx(lower if direction > 0 else higher), label
        else:
            assert pd.isna(table.loc[label, "better_than"])
    assert table.loc["Ticker", "value"] == ticker and pd.isna(table.loc["Ticker", "percentile"])
    assert any(b.proto.url == f"https://finance.yahoo.com/quote/{ticker}" for b in at.get("link_button"))


def test_header_close_and_insiders_come_from_the_row(demo_data_dir, stocks, monkeypatch):
    ticker = a_ticker(stocks)
    at = run_page(demo_data_dir, monkeypatch, ticker)
    row = stocks.set_index("ticker").loc[ticker]
    shown = {m.label: m for m in at.metric}
    assert shown["Close"].value == f"${row['close']:,.2f}"
    snapshot, _ = store.latest_snapshot(demo_data_dir)
    prices = pd.read_parquet(snapshot.prices_path)
    closes = prices.loc[prices["ticker"] == ticker].sort_values("date")["close"]
    assert shown["Close"].delta == f"{closes.iloc[-1] / closes.iloc[-2] - 1:+.2%} 1d"
    buys = row["insider_buys_6m"]
    assert shown["Insider buys (6m)"].value == ("—" if pd.isna(buys) else f"{int(buys):,}")
    assert any("six-month insider summary" in c.value for c in at.caption)


def test_lower_case_ticker_is_normalised_into_the_url(demo_data_dir, stocks, monkeypatch):
    ticker = a_ticker(stocks)
    at = run_page(demo_data_dir, monkeypatch, f"  {ticker.lower()} ")
    assert headers(at)[0].startswith(f"{ticker} · ")
    assert at.query_params["ticker"] == ticker


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>", "'; DROP TABLE stocks; --", "[x](javascript:alert(1))", "Z" * 5000, "",
])
def test_unknown_or_hostile_ticker_gives_a_note_and_the_picker(demo_data_dir, monkeypatch, hostile):
    at = run_page(demo_data_dir, monkeypatch, hostile)
    assert not at.header
    notes = " ".join(w.value for w in at.main.warning)
    assert "No stock" in notes and "<script>" not in notes and "javascript:" not in notes
    assert at.selectbox(key="stock_picker").value is None
    assert any("Pick a stock" in i.value for i in at.info)


def test_picking_a_stock_writes_it_to_the_url_and_it_is_remembered(demo_data_dir, stocks, monkeypatch):
    at = run_page(demo_data_dir, monkeypatch)
    assert any("Pick a stock" in i.value for i in at.info)
    ticker = str(stocks["ticker"].iloc[3])
    at.selectbox(key="stock_picker").select(ticker).run()
    assert not at.exception
    assert headers(at)[0].startswith(f"{ticker} · ")
    assert at.query_params["ticker"] == ticker
    del at.query_params["ticker"]  # what a sidebar page switch does to the URL
    at.run()
    assert headers(at)[0].startswith(f"{ticker} · ")


def test_a_ticker_without_price_rows_is_explained(fresh_data_dir, monkeypatch):
    snapshot, _ = store.latest_snapshot(fresh_data_dir)
    ticker = pd.read_parquet(snapshot.stocks_path)["ticker"].iloc[0]
    table = pq.read_table(snapshot.prices_path)
    pq.write_table(table.filter(pc.not_equal(table["ticker"], ticker)), snapshot.prices_path)
    at = run_page(fresh_data_dir, monkeypatch, ticker)
    assert any(f"No price history for {ticker}" in i.value for i in at.info)
    assert len(field_rows(at)) > 40  # the fields still show


def test_without_prices_file_the_charts_are_explained(fresh_data_dir, monkeypatch):
    snapshot, _ = store.latest_snapshot(fresh_data_dir)
    ticker = pd.read_parquet(snapshot.stocks_path)["ticker"].iloc[0]
    snapshot.prices_path.unlink()
    at = run_page(fresh_data_dir, monkeypatch, ticker)
    assert any("price history" in i.value and "retention" in i.value for i in at.info)
    assert next(m for m in at.metric if m.label == "Close").delta in ("", None)


def test_no_snapshot_and_damaged_snapshot(tmp_path, fresh_data_dir, monkeypatch):
    at = run_page(tmp_path / "empty", monkeypatch, "ABC")
    assert any("No snapshot yet" in i.value for i in at.info)
    good, _ = store.latest_snapshot(fresh_data_dir)
    damaged = store.snapshot_path(fresh_data_dir, good.date + dt.timedelta(days=3))
    shutil.copytree(good.path, damaged)
    (damaged / store.STOCKS_FILE).write_bytes(b"not parquet")
    ticker = pd.read_parquet(good.stocks_path)["ticker"].iloc[0]
    at = run_page(fresh_data_dir, monkeypatch, ticker)
    assert any(escape_markdown(damaged.name) in e.value for e in at.sidebar.error)
    assert headers(at)[0].startswith(f"{ticker} · ")
