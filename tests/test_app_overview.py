"""The Overview page under AppTest: right figures on the demo snapshot (against independent pandas
computations on the snapshot's files), and an explanation instead of a crash when there is no
snapshot, a damaged newest one, or no price history."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from screener import store
from screener.ui.text import escape_markdown
from tests.support.apptest import metrics, open_page


def run_overview(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return open_page("app.py", data_dir, monkeypatch)


def newest(data_dir: Path) -> store.Snapshot:
    snapshot, _ = store.latest_snapshot(data_dir)
    assert snapshot is not None
    return snapshot


def closes(snapshot: store.Snapshot) -> pd.DataFrame:
    prices = pd.read_parquet(snapshot.prices_path)
    return prices.pivot(index="date", columns="ticker", values="close").sort_index()


def test_tiles_match_independent_computations(demo_data_dir, monkeypatch):
    at = run_overview(demo_data_dir, monkeypatch)
    snapshot = newest(demo_data_dir)
    stocks = pd.read_parquet(snapshot.stocks_path)
    shown = metrics(at)
    assert shown["Above 200-day SMA"] == f"{stocks['above_sma_200'].dropna().astype(bool).mean():.1%}"
    assert shown["Above 50-day SMA"] == f"{stocks['above_sma_50'].dropna().astype(bool).mean():.1%}"

    # The month change and today's highs/lows from the raw closes (the demo panel has no gaps).
    wide = closes(snapshot)
    members = wide.drop(columns=["IWM", "SPY"])
    sma = members.rolling(200).mean()
    share = (members > sma).where(sma.notna()).mean(axis=1)  # mean skips NaN: share among names with an SMA
    change = share.iloc[-1] - share.iloc[-22]
    tile = next(m for m in at.metric if m.label == "Above 200-day SMA")
    assert tile.delta == f"{change * 100:+.1f} pp in 1 month"
    previous_max = members.shift(1).rolling(251).max().iloc[-1]
    previous_min = members.shift(1).rolling(251).min().iloc[-1]
    highs = int((members.iloc[-1] > previous_max).sum())
    lows = int((members.iloc[-1] < previous_min).sum())
    assert shown["52w highs / lows"] == f"{highs:,} / {lows:,}"

    ratio = wide["IWM"] / wide["SPY"]
    assert shown["IWM/SPY vs 200d SMA"] == f"{ratio.iloc[-1] / ratio.rolling(200).mean().iloc[-1] - 1:+.1%}"


def test_watch_tables_list_the_top_names_with_stock_links(demo_data_dir, monkeypatch):
    at = run_overview(demo_data_dir, monkeypatch)
    stocks = pd.read_parquet(newest(demo_data_dir).stocks_path)
    surges, strongest = (frame.value for frame in at.dataframe)
    expected = stocks.sort_values(["volume_surge", "volume"], ascending=False).head(10)
    assert surges["link"].tolist() == [f"Stock?ticker={t}" for t in expected["ticker"]]
    assert surges["volume_surge"].to_numpy() == pytest.approx(expected["volume_surge"].to_numpy())
    best = stocks.sort_values(["rs_rating", "rs_6m"], ascending=False).head(10)
    assert strongest["link"].tolist() == [f"Stock?ticker={t}" for t in best["ticker"]]


def test_demo_data_is_labelled_on_the_page(demo_data_dir, monkeypatch):
    at = run_overview(demo_data_dir, monkeypatch)
    assert any("DEMO market" in w.value for w in at.sidebar.warning)
    assert any("DEMO market" in c.value for c in at.caption)


def test_no_snapshot_explains_and_gives_the_command(tmp_path, monkeypatch):
    at = run_overview(tmp_path / "empty", monkeypatch)
    assert any("No snapshot yet" in i.value for i in at.info)
    assert any("--source demo" in c.value for c in at.code)
    assert not at.metric


def test_damaged_newest_snapshot_is_skipped_with_a_reason(fresh_data_dir, monkeypatch):
    good = newest(fresh_data_dir)
    damaged = store.snapshot_path(fresh_data_dir, good.date + pd.Timedelta(days=3))
    shutil.copytree(good.path, damaged)
    stocks_file = damaged / store.STOCKS_FILE
    stocks_file.write_bytes(stocks_file.read_bytes()[:200])
    at = run_overview(fresh_data_dir, monkeypatch)
    assert any(escape_markdown(damaged.name) in e.value for e in at.sidebar.error)
    assert metrics(at)["Above 200-day SMA"] != "—"


def test_without_prices_the_page_explains_and_keeps_what_stocks_give(fresh_data_dir, monkeypatch):
    snapshot = newest(fresh_data_dir)
    snapshot.prices_path.unlink()
    at = run_overview(fresh_data_dir, monkeypatch)
    stocks = pd.read_parquet(snapshot.stocks_path)
    shown = metrics(at)
    assert shown["Above 200-day SMA"] == f"{stocks['above_sma_200'].dropna().astype(bool).mean():.1%}"
    assert shown["52w highs / lows"] == "—"
    assert any("price history" in i.value for i in at.info)
    assert len(at.dataframe) == 2  # the watch lists come from stocks.parquet alone
    assert not np.isnan(at.dataframe[0].value["volume_surge"].iloc[0])
