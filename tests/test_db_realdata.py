"""run_screen on real fundamentals: the 2026-08-01 yfinance info dump for ~3,400 US stocks.

The expected answers are computed with plain pandas from the RAW file columns (Yahoo
key names and units: debtToEquity in percent, Yahoo sector names), so the mapping,
the snapshot round trip, the SQL and the null handling are all checked together
against real distributions: missing values, banks without debt/equity, extremes.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from screener.db import SnapshotDB, run_screen
from screener.fields import FIELD_BY_NAME, FIELDS
from screener.fundamentals import YAHOO_TO_GICS_SECTOR, derive_flags, map_info_frame
from screener.screen import from_query
from screener.sources.base import Rejections
from screener.store import publish_snapshot
from tests.support.realdata import INFO_2026, REALDATA

INFO_FILE = REALDATA / INFO_2026

pytestmark = pytest.mark.skipif(not INFO_FILE.exists(), reason=f"real data not found at {INFO_FILE}")


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_parquet(INFO_FILE).rename(columns={"symbol": "ticker"}).reset_index(drop=True)


@pytest.fixture(scope="module")
def db(tmp_path_factory, raw):
    mapped = map_info_frame(raw, INFO_FILE.name, Rejections())
    for spec in FIELDS:
        if spec.name not in mapped:
            dtype = {"float": "float64", "int": "Int64", "bool": "boolean", "str": "string"}.get(spec.kind)
            mapped[spec.name] = pd.Series([None] * len(mapped), dtype=dtype) if dtype else None
    stocks = derive_flags(mapped)
    prices = pd.DataFrame({"date": pd.Timestamp("2026-07-31"), "ticker": ["IWM", "SPY"], "open": 1.0,
                           "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1})
    snapshot = publish_snapshot(tmp_path_factory.mktemp("real"), dt.date(2026, 7, 31), stocks, prices,
                                {"source": "files", "tickers_written": len(stocks)})
    with SnapshotDB(snapshot) as opened:
        yield opened


def raw_gics_sector(raw: pd.DataFrame) -> pd.Series:
    sector = raw["sector"].where(raw["sector"].fillna("").str.strip() != "", None)
    return sector.map(lambda s: YAHOO_TO_GICS_SECTOR.get(s, s) if isinstance(s, str) else None)


def test_seed_fundamental_filters_match_pandas_on_raw_columns(db, raw):
    screen, notes = from_query("f=earnings_growth:gt:0&f=debt_to_equity:lt:1&f=revenue_growth:gt:0.1&limit=5000")
    assert notes == []
    earnings = raw["earningsGrowth"].fillna(raw["earningsQuarterlyGrowth"])
    passes = [earnings > 0, raw["debtToEquity"] / 100 < 1, raw["revenueGrowth"] > 0.1]  # NaN compares False
    expected = raw["ticker"][np.logical_and.reduce(passes)]
    result = run_screen(db, screen)
    assert result.count == len(expected) > 50
    assert sorted(result.frame["ticker"]) == sorted(expected)
    remaining = np.logical_and.accumulate(passes)
    assert [s.remaining for s in result.funnel.steps] == [int(r.sum()) for r in remaining]
    assert [s.removed_alone for s in result.funnel.steps] == [int((~p).sum()) for p in passes]
    assert result.funnel.total == len(raw)


def test_sector_exclusion_keeps_unknown_sectors_and_inclusion_drops_them(db, raw):
    sector = raw_gics_sector(raw)
    excluded, _ = from_query("f=sector:not_in:Financials|Energy&limit=5000")
    expected = raw["ticker"][~sector.isin(["Financials", "Energy"])]
    assert sector.isna().sum() > 100  # the file really has unknown sectors
    assert sorted(run_screen(db, excluded).frame["ticker"]) == sorted(expected)
    included, _ = from_query("f=sector:in:Financials|Energy&limit=5000")
    assert run_screen(db, included).count == int(sector.isin(["Financials", "Energy"]).sum())


def test_profitable_small_caps_sorted_by_roe_match_pandas(db, raw):
    screen, _ = from_query("f=market_cap:between:300000000|2000000000&f=is_profitable:is_true"
                           "&f=roe:not_null&sort=-roe&limit=25&cols=ticker,roe")
    # The dump has no trailingEps, so the margin decides; the catalog refuses margins
    # outside its valid range (above 100%) as garbage, which makes them unknown.
    low, high = FIELD_BY_NAME["profit_margin"].valid
    margin = raw["profitMargins"].where(raw["profitMargins"].between(low, high))
    profitable = margin > 0
    chosen = raw[raw["marketCap"].between(3e8, 2e9) & profitable & raw["returnOnEquity"].notna()]
    expected = chosen.sort_values(["returnOnEquity", "ticker"], ascending=[False, True]).head(25)
    result = run_screen(db, screen)
    assert result.count == len(chosen)
    assert list(result.frame["ticker"]) == list(expected["ticker"])
    assert np.allclose(result.frame["roe"].to_numpy(dtype=float), expected["returnOnEquity"].to_numpy())
