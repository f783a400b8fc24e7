"""The Quality vs Junk page under AppTest: basket returns equal an independent pandas compounding
of the demo snapshot's closes, the lens and window follow the URL, the look-ahead caveat is stated,
and missing or damaged data is explained rather than crashing."""

from __future__ import annotations

import datetime as dt
import json
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


# --------------------------------------------------------------------------- point-in-time baskets
@pytest.fixture(scope="module")
def weekly_history(tmp_path_factory) -> Path:
    """The demo snapshot of 2026-11-20 and the three Fridays before it, through the real CLI."""
    from screener import cli

    data_dir = tmp_path_factory.mktemp("weekly")
    assert cli.main(["nightly", "--source", "demo", "--as-of", "2026-11-20", "--backfill-weeks", "3",
                     "--data-dir", str(data_dir)]) == 0
    return data_dir


def test_backfill_publishes_one_demo_snapshot_a_week(weekly_history):
    good, skipped = store.list_snapshots(weekly_history)
    assert [s.date for s in good] == [dt.date(2026, 11, 20), dt.date(2026, 11, 13), dt.date(2026, 11, 6),
                                      dt.date(2026, 10, 30)]
    assert not skipped and all(s.is_demo for s in good)


def test_point_in_time_baskets_match_an_independent_asof_join(weekly_history, monkeypatch):
    snapshot, _ = store.latest_snapshot(weekly_history)
    prices = pd.read_parquet(snapshot.prices_path)
    closes = prices.assign(date=pd.to_datetime(prices["date"])).pivot(index="date", columns="ticker",
                                                                       values="close").sort_index()
    held = {s.date: pd.read_parquet(s.stocks_path).set_index("ticker")["quality_bucket"]
            for s in store.list_snapshots(weekly_history)[0]}
    first = min(held)  # 30 Oct: the window (6m) starts before any basket existed
    window = closes.loc[pd.Timestamp(first):]
    cumulative = {"quality": 1.0, "junk": 1.0}
    for previous, session in zip(window.index[:-1], window.index[1:]):
        basket_date = max(d for d in held if pd.Timestamp(d) < session)  # known the evening before
        daily = closes.loc[session] / closes.loc[previous] - 1
        for bucket in cumulative:
            members = held[basket_date].index[held[basket_date] == bucket]
            cumulative[bucket] *= 1 + daily[members].mean()
    iwm = window["IWM"].iloc[-1] / window["IWM"].iloc[0] - 1

    at = run_page(weekly_history, monkeypatch, baskets="Point-in-time")
    today = pd.read_parquet(snapshot.stocks_path)["quality_bucket"].value_counts()
    shown = metrics(at)
    assert shown[f"Quality ({today['quality']:,} stocks)"] == f"{cumulative['quality'] - 1:+.1%}"
    assert shown[f"Junk ({today['junk']:,} stocks)"] == f"{cumulative['junk'] - 1:+.1%}"
    assert shown["IWM"] == f"{iwm:+.1%}"
    text = " ".join(m.value for m in at.markdown)
    assert "Point-in-time:" in text and "4 snapshots, 30 Oct 2026 to 20 Nov 2026" in text
    assert "from 30 Oct 2026, the first stored snapshot" in text and "survivorship" in text
    assert "Look-ahead caveat" not in text


def test_point_in_time_without_earlier_snapshots_says_so_and_shows_todays(demo_data_dir, demo_files, monkeypatch):
    _, stocks, closes = demo_files
    at = run_page(demo_data_dir, monkeypatch, baskets="Point-in-time")
    assert any("need a snapshot from an earlier evening" in i.value for i in at.info)
    quality = stocks.loc[stocks["quality_bucket"] == "quality", "ticker"].tolist()
    assert metrics(at)[f"Quality ({len(quality):,} stocks)"] == f"{basket_return(closes, quality, dt.date(2026, 5, 20)):+.1%}"
    assert "Look-ahead caveat" in " ".join(m.value for m in at.markdown)


def test_point_in_time_never_mixes_sources(weekly_history, tmp_path, monkeypatch):
    """Earlier snapshots from another source (here relabelled "files") cannot date demo baskets."""
    data_dir = tmp_path / "data"
    shutil.copytree(weekly_history, data_dir)
    latest, _ = store.latest_snapshot(data_dir)
    for snapshot in store.list_snapshots(data_dir)[0]:
        if snapshot.date < latest.date:
            run = json.loads((snapshot.path / store.RUN_FILE).read_text())
            (snapshot.path / store.RUN_FILE).write_text(json.dumps({**run, "source": "files"}))
    at = run_page(data_dir, monkeypatch, baskets="Point-in-time")
    assert any("need a snapshot from an earlier evening" in i.value for i in at.info)
