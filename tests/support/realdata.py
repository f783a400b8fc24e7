"""The team's real data files in ``../shared/realdata`` (beside the repo, never copied into it).

Tests that need one call :func:`realdata_path`, which skips the test with a clear reason
when the file is absent; :func:`real_price_panel` is the real daily panel with IWM and
SPY that the signal and market tests compare against.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
PRICES = "prices_daily_yahoo_r2000union_2022-01-03_2024-03-08.parquet"
BENCHMARKS = "benchmarks_daily_IWM_SPY_RUT.parquet"
INFO_2026 = "yfinance_info_fundamentals_us_ge250m_asof-2026-08-01.parquet"
RAW_2021 = "yahoo_quotesummary_raw_2021Q1_nodeyf2fixtures.jsonl.gz"
FORMATTED_2022 = "yahoo_quotesummary_formatted_2022-04-22_r2000overlap.jsonl.gz"
HOLDINGS_2026 = "iwm_holdings_raw/IWM_holdings_2026-01-21.csv.gz"


def realdata_path(name: str) -> Path:
    """A file of ../shared/realdata, or skip the test that needs it (never copied into the repo)."""
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


def real_price_panel(bench_start: dt.date) -> pd.DataFrame:
    """The real panel (ticker, date, close = adj_close, volume) plus IWM and SPY from ``bench_start``
    to the panel's last day, 2024-03-08 (alitalbi/storage_data_fy's benchmark series)."""
    prices, benchmarks = realdata_path(PRICES), realdata_path(BENCHMARKS)
    stocks = pd.read_parquet(prices, columns=["ticker", "date", "adj_close", "volume"])
    stocks = stocks.rename(columns={"adj_close": "close"})
    stocks["ticker"] = stocks["ticker"].astype("str")
    bench = pd.read_parquet(benchmarks)
    bench = bench[(bench["source_repo"] == "alitalbi/storage_data_fy") & bench["symbol"].isin(["IWM", "SPY"])
                  & (bench["date"] >= bench_start) & (bench["date"] <= dt.date(2024, 3, 8))]
    bench = bench.rename(columns={"symbol": "ticker"})[["ticker", "date", "close", "volume"]]
    bench["ticker"] = bench["ticker"].astype("str")
    return pd.concat([stocks, bench], ignore_index=True)
