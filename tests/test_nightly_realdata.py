"""Real data end to end: `python -m screener nightly --source files` on the real holdings, price panel
and yfinance info dump, with the published snapshot checked against computations written here.

The per-module tests check each signal on the panel directly; this one proves the whole
path (holdings parsing, price cleaning, adj_close handling, mapping, compute, publish)
produces the same numbers as plain pandas on the raw files.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.realdata import realdata_path

REPO_ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2024, 3, 8)
SAMPLE = 60


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Run the real CLI once on the real files; returns (stocks, run report, raw panel, IWM closes, info)."""
    holdings = realdata_path("iwm_holdings_raw/IWM_holdings_2025-05-13.csv.gz")
    panel = pd.read_parquet(realdata_path("prices_daily_yahoo_r2000union_2022-01-03_2024-03-08.parquet"))
    benchmarks = pd.read_parquet(realdata_path("benchmarks_daily_IWM_SPY_RUT.parquet"))
    info_path = realdata_path("yfinance_info_fundamentals_us_ge250m_asof-2026-08-01.parquet")
    work = tmp_path_factory.mktemp("realdata")
    panel["ticker"] = panel["ticker"].astype(str)
    bench = benchmarks[(benchmarks["source_repo"] == "alitalbi/storage_data_fy")
                       & benchmarks["symbol"].isin(["IWM", "SPY"])]
    bench = bench[(bench["date"] >= panel["date"].min()) & (bench["date"] <= panel["date"].max())]
    bench = bench.rename(columns={"symbol": "ticker"})[["ticker", "date", "open", "high", "low", "close", "volume"]]
    prices = pd.concat([panel, bench], ignore_index=True)
    prices_path = work / "prices.parquet"
    prices.to_parquet(prices_path)
    data_dir = work / "data"
    result = subprocess.run(
        [sys.executable, "-m", "screener", "nightly", "--source", "files", "--universe", str(holdings),
         "--prices", str(prices_path), "--fundamentals", str(info_path), "--as-of", AS_OF.isoformat(),
         "--max-loss", "0.2", "--data-dir", str(data_dir)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    folder = data_dir / "snapshots" / f"date={AS_OF.isoformat()}"
    stocks = pd.read_parquet(folder / "stocks.parquet").set_index("ticker")
    report = json.loads((folder / "run.json").read_text())
    iwm = bench[bench["ticker"] == "IWM"].assign(date=lambda f: pd.to_datetime(f["date"])).set_index("date")["close"]
    return stocks, report, panel, iwm.sort_index(), pd.read_parquet(info_path).set_index("symbol")


def complete_tickers(panel: pd.DataFrame, sessions: pd.DatetimeIndex, stocks: pd.DataFrame) -> list[str]:
    """Tickers with a clean adj_close and volume on each of the last 253 sessions: no gap rules apply."""
    window = sessions[-253:]
    recent = panel[panel["date"].isin(window) & panel["adj_close"].notna() & panel["volume"].notna()]
    counts = recent.groupby("ticker").size()
    full = sorted(set(counts[counts == len(window)].index) & set(stocks.index))
    return full[:: max(1, len(full) // SAMPLE)][:SAMPLE]


def test_run_report_accounts_for_every_ticker(published):
    stocks, report, *_ = published
    assert report["source"] == "files" and report["status"] == "published"
    assert report["tickers_written"] == len(stocks)
    assert report["tickers_in"] == report["tickers_written"] + report["tickers_without_data"]
    assert sum(report["failures_by_reason"].values()) == report["tickers_without_data"]
    assert report["tickers_without_data"] / report["tickers_in"] < 0.2


def test_price_signals_match_plain_pandas_on_the_raw_panel(published):
    stocks, _report, panel, iwm, _info = published
    panel = panel.assign(date=pd.to_datetime(panel["date"]))
    sessions = iwm.index[iwm.index <= pd.Timestamp(AS_OF)]
    tickers = complete_tickers(panel, sessions, stocks)
    assert len(tickers) >= 40
    iwm_close = iwm.reindex(sessions).to_numpy()
    iwm_r6m = iwm_close[-1] / iwm_close[-1 - 126] - 1
    for ticker in tickers:
        rows = panel[panel["ticker"] == ticker].set_index("date").reindex(sessions)
        close, volume = rows["adj_close"].to_numpy(), rows["volume"].astype("float64").to_numpy()
        got = stocks.loc[ticker]
        for k, name in ((21, "return_1m"), (63, "return_3m"), (126, "return_6m"), (252, "return_12m")):
            assert got[name] == pytest.approx(close[-1] / close[-1 - k] - 1, rel=1e-9), (ticker, name)
        assert got["close"] == pytest.approx(close[-1])
        assert got["sma_50"] == pytest.approx(close[-50:].mean(), rel=1e-9)
        assert got["sma_200"] == pytest.approx(close[-200:].mean(), rel=1e-9)
        assert bool(got["above_sma_200"]) == (close[-1] > close[-200:].mean() * (1 + 1e-9))
        assert got["high_52w"] == pytest.approx(close[-252:].max())
        assert got["pct_from_52w_high"] == pytest.approx(close[-1] / close[-252:].max() - 1, abs=1e-12)
        log_returns = np.diff(np.log(close[-253:]))
        assert got["volatility_1y"] == pytest.approx(log_returns.std(ddof=1) * np.sqrt(252), rel=1e-9)
        average = volume[-51:-1].mean()
        assert got["avg_volume_50d"] == pytest.approx(average, rel=1e-9)
        if average > 0:
            assert got["volume_surge"] == pytest.approx(volume[-1] / average, rel=1e-9)
        windows = [close[-60:-40], close[-40:-20], close[-20:]]
        rising = all(windows[i].max() < windows[i + 1].max() and windows[i].min() < windows[i + 1].min()
                     for i in range(2))
        assert bool(got["higher_highs_lows"]) == rising, ticker
        assert got["rs_6m"] == pytest.approx(close[-1] / close[-1 - 126] - 1 - iwm_r6m, rel=1e-9, abs=1e-12)
        assert got["as_of"] == AS_OF


def test_fundamentals_arrive_in_catalog_units(published):
    stocks, _report, _panel, _iwm, info = published
    both = stocks.index.intersection(info.index)
    assert len(both) > 1000
    raw = info.loc[both]
    np.testing.assert_allclose(stocks.loc[both, "debt_to_equity"], raw["debtToEquity"] / 100, rtol=1e-12)
    np.testing.assert_allclose(stocks.loc[both, "dividend_yield"], raw["dividendYield"] / 100, rtol=1e-12)
    growth = raw["earningsGrowth"].fillna(raw["earningsQuarterlyGrowth"])
    np.testing.assert_allclose(stocks.loc[both, "earnings_growth"], growth, rtol=1e-12)
    # The info dump has no trailingEps, so profitability falls back to the profit margin.
    margin = stocks.loc[both, "profit_margin"]
    expected = (margin > 0).where(margin.notna())
    assert stocks.loc[both, "is_profitable"].astype("object").where(margin.notna()).equals(expected.astype("object"))


def test_quality_score_matches_an_independent_ranking(published):
    stocks = published[0]

    def z(values: pd.Series) -> pd.Series:
        present = values.dropna()
        return (values - present.mean()) / present.std(ddof=0)

    def z_rank(values: pd.Series) -> pd.Series:
        return z(values.rank())

    leverage = stocks["debt_to_equity"].mask(stocks["debt_to_equity"] < 0, np.inf)  # negative equity: worst
    profitability = z(pd.concat([z_rank(stocks[c]) for c in ("roe", "roa", "gross_margin", "profit_margin")],
                                axis=1).mean(axis=1))
    growth = z(pd.concat([z_rank(stocks["earnings_growth"]), z_rank(stocks["revenue_growth"])], axis=1).mean(axis=1))
    safety = z(pd.concat([z_rank(-leverage), z_rank(-stocks["beta"]), z_rank(-stocks["volatility_1y"])],
                         axis=1).mean(axis=1))
    components = pd.concat([profitability, growth, safety], axis=1)
    score = z(components.mean(axis=1).where(components.notna().sum(axis=1) >= 2))
    np.testing.assert_allclose(stocks["profitability_z"], profitability, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(stocks["quality_score"], score, rtol=1e-9, atol=1e-12)
    pct = score.rank(pct=True)
    bucket = pd.Series(np.where(pct > 0.7, "quality", np.where(pct <= 0.3, "junk", "middle")), index=score.index)
    scored = score.notna()
    assert (stocks.loc[scored, "quality_bucket"] == bucket[scored]).all()
    assert stocks.loc[~scored, "quality_bucket"].isna().all()
