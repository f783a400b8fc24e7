"""The Quality vs Junk page under AppTest: basket returns equal an independent pandas compounding
of the demo snapshot's closes, the lens and window follow the URL, the look-ahead caveat is stated,
and missing or damaged data is explained rather than crashing."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from screener import store
from screener.ui.text import escape_markdown
from tests.support.apptest import metrics, open_page

PAGE = "pages/2_Quality_vs_Junk.py"


def run_page(data_dir: Path, monkeypatch: pytest.MonkeyPatch, **params: str) -> AppTest:
    return open_page(PAGE, data_dir, monkeypatch, params)


def basket_return(closes: pd.DataFrame, tickers: list[str], start: dt.date) -> float:
    """Equal-weight daily mean of simple returns, compounded from the last session on or before ``start``."""
    base = closes.index[closes.index <= pd.Timestamp(start)][-1]
    window = closes.loc[base:, tickers]
    daily = window.pct_change().iloc[1:].mean(axis=1)
    return float((1 + daily).prod() - 1)


@pytest.fixture(scope="module")
def demo_files(demo_data_dir):
    snapshot, _ = store.latest_snapshot(demo_data_dir)
    prices = pd.read_parquet(snapshot.prices_path)
    prices["date"] = pd.to_datetime(prices["date"])
    closes = prices.pivot(index="date", columns="ticker", values="close").sort_index()
    return snapshot, pd.read_parquet(snapshot.stocks_path), closes


def test_default_six_month_baskets_match_independent_compounding(demo_data_dir, demo_files, monkeypatch):
    snapshot, stocks, closes = demo_files
    at = run_page(demo_data_dir, monkeypatch)
    start = dt.date(2026, 5, 20)  # six calendar months before 2026-11-20
    quality = stocks.loc[stocks["quality_bucket"] == "quality", "ticker"].tolist()
    junk = stocks.loc[stocks["quality_bucket"] == "junk", "ticker"].tolist()
    q, j = basket_return(closes, quality, start), basket_return(closes, junk, start)
    iwm = closes["IWM"]
    base = iwm.index[iwm.index <= pd.Timestamp(start)][-1]
    shown = metrics(at)
    assert shown[f"Quality ({len(quality):,} stocks)"] == f"{q:+.1%}"
    assert shown[f"Junk ({len(junk):,} stocks)"] == f"{j:+.1%}"
    assert shown["IWM"] == f"{iwm.iloc[-1] / iwm.loc[base] - 1:+.1%}"
    assert shown["Quality − junk"] == f"{(q - j) * 100:+.1f} pp"


def test_the_baskets_and_the_look_ahead_caveat_are_stated(demo_data_dir, monkeypatch):
    at = run_page(demo_data_dir, monkeypatch)
    text = " ".join(m.value for m in at.markdown)
    assert "How the baskets are built" in text and "Look-ahead caveat" in text and "top 30%" in text


def test_profitability_lens_and_one_month_window_from_the_url(demo_data_dir, demo_files, monkeypatch):
    snapshot, stocks, closes = demo_files
    at = run_page(demo_data_dir, monkeypatch, lens="Profitability", window="1m")
    profitable = stocks.loc[stocks["is_profitable"] == True, "ticker"].tolist()  # noqa: E712 - nullable boolean
    losing = stocks.loc[stocks["is_profitable"] == False, "ticker"].tolist()  # noqa: E712
    start = dt.date(2026, 10, 20)
    shown = metrics(at)
    assert shown[f"Profitable ({len(profitable):,} stocks)"] == f"{basket_return(closes, profitable, start):+.1%}"
    assert shown[f"Unprofitable ({len(losing):,} stocks)"] == f"{basket_return(closes, losing, start):+.1%}"
    assert "positive trailing EPS" in " ".join(m.value for m in at.markdown)


def test_no_snapshot_explains(tmp_path, monkeypatch):
    at = run_page(tmp_path / "empty", monkeypatch)
    assert any("No snapshot yet" in i.value for i in at.info)


def test_damaged_newest_snapshot_is_skipped(fresh_data_dir, monkeypatch):
    good, _ = store.latest_snapshot(fresh_data_dir)
    damaged = store.snapshot_path(fresh_data_dir, good.date + dt.timedelta(days=3))
    shutil.copytree(good.path, damaged)
    (damaged / store.STOCKS_FILE).write_bytes(b"PAR1 truncated")
    at = run_page(fresh_data_dir, monkeypatch)
    assert any(escape_markdown(damaged.name) in e.value for e in at.sidebar.error)
    assert len(at.metric) == 4


def test_without_prices_the_page_explains_and_keeps_the_stock_level_charts(fresh_data_dir, monkeypatch):
    good, _ = store.latest_snapshot(fresh_data_dir)
    good.prices_path.unlink()
    at = run_page(fresh_data_dir, monkeypatch)
    notes = " ".join(i.value for i in at.info)
    assert "basket returns" in notes and "price history" in notes
    assert not at.metric
    assert len(at.get("vega_lite_chart")) == 2  # members by sector, quality against return
