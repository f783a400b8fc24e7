"""The demo market: determinism, shape, and realism measured independently with plain pandas.

Realism figures are computed here from the frames (never read from the generator's
internals) and compared with the real IWM holdings and the real small-cap price panel
in ../shared/realdata where those exist.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import re

import numpy as np
import pandas as pd
import pytest

from screener import store
from screener.fields import INFO_FIELDS, INSIDER_FIELDS
from screener.fundamentals import map_info_frame
from screener.sources.base import Rejections
from screener.sources.demo import DEMO_NOTE, load_demo
from tests.support.realdata import realdata_path

AS_OF = dt.date(2026, 11, 20)  # a Friday
NEXT_SESSION = dt.date(2026, 11, 23)
GICS_SECTORS = {"Financials", "Health Care", "Industrials", "Information Technology", "Consumer Discretionary",
                "Real Estate", "Energy", "Materials", "Utilities", "Consumer Staples", "Communication"}
# NYSE closures from the exchange's published calendars, 2024-2026 (the demo window).
CLOSED = {dt.date.fromisoformat(d) for d in (
    "2024-01-01 2024-01-15 2024-02-19 2024-03-29 2024-05-27 2024-06-19 2024-07-04 2024-09-02 2024-11-28 "
    "2024-12-25 2025-01-01 2025-01-09 2025-01-20 2025-02-17 2025-04-18 2025-05-26 2025-06-19 2025-07-04 "
    "2025-09-01 2025-11-27 2025-12-25 2026-01-01 2026-01-19 2026-02-16 2026-04-03 2026-05-25 2026-06-19 "
    "2026-07-03 2026-09-07 2026-11-26 2026-12-25").split()}


@pytest.fixture(scope="module")
def market():
    return load_demo(as_of=AS_OF)


@pytest.fixture(scope="module")
def closes(market) -> pd.DataFrame:
    return market.prices.pivot(index="date", columns="ticker", values="close").sort_index()


@pytest.fixture(scope="module")
def volumes(market) -> pd.DataFrame:
    return market.prices.pivot(index="date", columns="ticker", values="volume").sort_index()


@pytest.fixture(scope="module")
def stocks(market) -> pd.DataFrame:
    return market.fundamentals.set_index("ticker")


def constituents(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["IWM", "SPY"])


# --- determinism -------------------------------------------------------------------------


def test_same_as_of_gives_identical_frames(market):
    again = load_demo(as_of=AS_OF)
    for name in ("universe", "prices", "fundamentals"):
        pd.testing.assert_frame_equal(getattr(market, name), getattr(again, name), check_exact=True)
    assert market.stats == again.stats and market.notes == again.notes


def test_history_is_shared_between_as_of_dates(market):
    later = load_demo(as_of=NEXT_SESSION)
    assert later.prices["date"].max() == pd.Timestamp(NEXT_SESSION)
    both = market.prices.merge(later.prices, on=["ticker", "date"], suffixes=("_a", "_b"))
    assert len(both) == 503 * 2002  # every session but the oldest of the earlier window
    for column in ("open", "high", "low", "close", "volume"):
        assert (both[f"{column}_a"] == both[f"{column}_b"]).all(), column
    static = ["ticker", "name", "sector", "industry", "profit_margin", "debt_to_equity", "revenue_growth",
              "earnings_growth", "insider_net_shares_6m"]
    pd.testing.assert_frame_equal(market.fundamentals[static], later.fundamentals[static])
    # Per-share items are re-based on each name's earnings day: only that day's reporters change.
    changed = market.fundamentals["eps_ttm"] != later.fundamentals["eps_ttm"]
    assert 0 < changed.mean() < 0.05
    assert (np.sign(market.fundamentals["eps_ttm"]) == np.sign(later.fundamentals["eps_ttm"])).all()


def test_history_is_shared_across_the_epoch():
    """A window before the anchor session and one after it agree on their common sessions."""
    spring = load_demo(as_of=dt.date(2026, 3, 13), n_tickers=40)
    autumn = load_demo(as_of=AS_OF, n_tickers=40)
    both = spring.prices.merge(autumn.prices, on=["ticker", "date"], suffixes=("_a", "_b"))
    assert both["date"].min() < pd.Timestamp("2025-01-01") and both["date"].max() == pd.Timestamp("2026-03-13")
    for column in ("open", "high", "low", "close", "volume"):
        assert (both[f"{column}_a"] == both[f"{column}_b"]).all(), column


# --- shape and contract --------------------------------------------------------------


def test_marked_as_demo(market):
    assert market.source == "demo"
    assert DEMO_NOTE == "synthetic demo market: not real prices" and DEMO_NOTE in market.notes
    assert market.failures == {} and market.rejections.total == 0


def test_universe_and_tickers(market):
    universe = market.universe
    assert len(universe) == 2000 and universe["ticker"].is_unique and universe["name"].is_unique
    assert universe["ticker"].map(lambda t: re.fullmatch(r"[A-Z]{2,5}", t) is not None).all()
    assert not {"IWM", "SPY"} & set(universe["ticker"])
    assert set(universe["sector"]) == GICS_SECTORS
    assert universe["index_weight"].sum() == pytest.approx(1.0, abs=1e-9)
    assert set(market.prices["ticker"]) == set(universe["ticker"]) | {"IWM", "SPY"}


def test_sessions_are_trading_days_ending_at_as_of(market, closes):
    dates = [d.date() for d in closes.index]
    assert len(dates) == 504 and dates[-1] == AS_OF
    expected = [d.date() for d in pd.bdate_range(dates[0], AS_OF) if d.date() not in CLOSED]
    assert dates == expected  # no weekend, no holiday, no gap
    assert (market.prices.groupby("ticker").size() == 504).all()


def test_bars_are_consistent(market):
    prices = market.prices
    assert prices.notna().all().all()
    assert (prices[["open", "high", "low", "close"]] > 0).all().all()
    assert (prices["low"] <= prices[["open", "close"]].min(axis=1)).all()
    assert (prices["high"] >= prices[["open", "close"]].max(axis=1)).all()
    assert prices["volume"].dtype == np.int64 and (prices["volume"] >= 0).all()
    table = store.to_prices_table(prices)  # the snapshot schema accepts it as is
    assert table.num_rows == len(prices)


def test_fundamentals_columns_and_catalog_ranges(market):
    fundamentals = market.fundamentals
    expected = ["ticker", *(f.name for f in INFO_FIELDS), *INSIDER_FIELDS, "fundamentals_as_of", "stale"]
    assert list(fundamentals.columns) == expected
    assert (fundamentals["fundamentals_as_of"] == AS_OF).all() and not fundamentals["stale"].any()
    assert list(fundamentals["ticker"]) == list(market.universe["ticker"])
    # The catalog's own parser refuses nothing and changes nothing: units and ranges are right.
    rejections = Rejections()
    mapped = map_info_frame(fundamentals, "demo", rejections)
    assert rejections.total == 0, rejections.examples
    pd.testing.assert_frame_equal(mapped, fundamentals[list(mapped.columns)], check_dtype=False)


def test_non_session_as_of_rolls_back_with_a_note():
    saturday = load_demo(as_of=dt.date(2026, 11, 21), n_tickers=20)
    assert saturday.prices["date"].max() == pd.Timestamp(AS_OF)
    assert any("2026-11-21 is not a trading session" in note for note in saturday.notes)


def test_rejects_impossible_requests():
    with pytest.raises(ValueError, match="n_tickers"):
        load_demo(as_of=AS_OF, n_tickers=0)
    with pytest.raises(ValueError, match="the demo market starts on"):  # not two years of history yet
        load_demo(as_of=dt.date(2024, 6, 3), n_tickers=20)


# --- realism -------------------------------------------------------------------------


def real_iwm_sector_weights() -> pd.Series:
    """GICS sector weights (percent of equity weight) from a raw iShares IWM holdings file."""
    path = realdata_path("iwm_holdings_raw/IWM_holdings_2026-01-21.csv.gz")
    lines = gzip.decompress(path.read_bytes()).decode("utf-8-sig").splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Ticker,"))
    footer = next(i for i in range(header + 1, len(lines)) if lines[i].strip() in ("", "\xa0"))
    holdings = pd.read_csv(io.StringIO("\n".join(lines[header:footer])), thousands=",")
    equity = holdings[holdings["Asset Class"] == "Equity"]
    weights = equity.groupby("Sector")["Weight (%)"].sum()
    return weights / weights.sum() * 100


def test_sector_weights_close_to_real_iwm(market):
    real = real_iwm_sector_weights()
    demo = market.universe.groupby("sector")["index_weight"].sum() * 100
    assert set(demo.index) == set(real.index)
    gaps = (demo - real[demo.index]).abs()
    assert gaps.max() < 3.0, gaps.sort_values().to_dict()


def test_unprofitable_share_and_its_signs(stocks, closes):
    loss = stocks["eps_ttm"] <= 0
    assert 0.35 <= loss.mean() <= 0.45
    assert (stocks.loc[loss, "profit_margin"] < 0).all() and (stocks.loc[~loss, "profit_margin"] > 0).all()
    assert stocks.loc[loss, "pe_trailing"].isna().all()
    last_close = closes.iloc[-1][stocks.index]
    expected_pe = (last_close / stocks["eps_ttm"])[~loss]
    assert np.allclose(stocks.loc[~loss, "pe_trailing"], expected_pe, rtol=1e-3, atol=0.006)
    by_sector = loss.groupby(stocks["sector"]).mean()
    assert by_sector["Health Care"] > loss.mean() + 0.2 and by_sector["Information Technology"] > loss.mean()
    assert loss[stocks["industry"] == "Biotechnology"].mean() > 0.8


def test_debt_to_equity_distribution(stocks):
    de = stocks["debt_to_equity"]
    assert 0.5 <= de.median() <= 0.7
    assert de.quantile(0.9) > 2.0  # heavy right tail
    assert 0.005 < (de < 0).mean() < 0.08  # some negative equity
    assert de[stocks["industry"] == "Banks - Regional"].isna().mean() > 0.7
    assert de[stocks["sector"] != "Financials"].isna().mean() < 0.01


def test_yahoo_like_missing_values(stocks):
    assert 0.35 <= stocks["earnings_growth"].isna().mean() <= 0.65
    assert 0.0 < stocks["pe_forward"].isna().mean() <= 0.10
    assert stocks["market_cap"].notna().all() and stocks["profit_margin"].notna().all()


def test_insider_buying_is_a_minority(stocks):
    buying = stocks["insider_net_shares_6m"] > 0
    assert 0.15 <= buying.mean() <= 0.25
    assert (stocks.loc[buying, "insider_buys_6m"] >= 1).all()
    assert (stocks.loc[stocks["insider_net_shares_6m"] < 0, "insider_sells_6m"] >= 1).all()


def test_market_caps_and_betas(stocks):
    caps = stocks["market_cap"]
    assert 5e8 <= caps.median() <= 2e9
    assert caps.quantile(0.05) >= 1e8 and caps.quantile(0.95) <= 1.5e10
    beta = stocks["beta"].dropna()
    assert 0.9 <= beta.median() <= 1.3 and beta.quantile(0.05) >= 0.3 and beta.quantile(0.95) <= 2.2


def test_volume_surge_share_on_as_of_day(volumes):
    volume = constituents(volumes)
    average_50 = volume.iloc[-51:-1].mean()  # the 50 sessions before the as-of session
    surge = volume.iloc[-1] / average_50
    assert 0.01 <= (surge >= 2).mean() <= 0.10


def annual_volatility(closes: pd.DataFrame) -> pd.Series:
    return np.log(closes).diff().iloc[-252:].std() * np.sqrt(252)


def test_volatility_like_small_caps(closes, stocks):
    vol = annual_volatility(constituents(closes))
    assert 0.35 <= vol.median() <= 0.60
    assert vol.quantile(0.1) >= 0.2 and vol.quantile(0.9) <= 1.2
    biotech = stocks.index[stocks["industry"] == "Biotechnology"]
    assert vol[biotech].median() > vol.median() + 0.15
    benchmarks = annual_volatility(closes[["IWM", "SPY"]])
    assert 0.15 <= benchmarks["IWM"] <= 0.35 and benchmarks["SPY"] < benchmarks["IWM"]


def test_volatility_close_to_real_small_caps(closes):
    path = realdata_path("prices_daily_yahoo_r2000union_2022-01-03_2024-03-08.parquet")
    real = pd.read_parquet(path, columns=["ticker", "date", "close"])
    real_closes = real.pivot(index="date", columns="ticker", values="close").sort_index()
    real_median = annual_volatility(real_closes).median()
    assert abs(annual_volatility(constituents(closes)).median() - real_median) < 0.10


def test_iwm_is_the_index_weighted_aggregate(market, closes):
    """Since the last reconstitution, IWM(t)/IWM(T) = sum of as-of weights x each C(t)/C(T).

    Share counts are fixed between reconstitutions (the last Friday of June, 2026-06-26
    here), so the as-of index weights price the whole index back to that day.
    """
    weights = market.universe.set_index("ticker")["index_weight"]
    since = closes.loc["2026-06-26":]
    members = since[weights.index]
    aggregate = (members / members.iloc[-1]).mul(weights, axis=1).sum(axis=1)
    iwm = since["IWM"] / since["IWM"].iloc[-1]
    assert len(since) > 100 and np.allclose(iwm, aggregate, rtol=1e-5)
    before = closes.loc[:"2026-06-25"]  # earlier, other share counts: the identity must not hold
    aggregate_before = (before[weights.index] / members.iloc[-1]).mul(weights, axis=1).sum(axis=1)
    assert not np.allclose(before["IWM"] / since["IWM"].iloc[-1], aggregate_before, rtol=1e-5)


def test_spy_moves_with_but_apart_from_iwm(closes):
    returns = np.log(closes[["IWM", "SPY"]]).diff().dropna()
    assert 0.6 <= returns["IWM"].corr(returns["SPY"]) <= 0.95


def test_quality_beats_junk_over_the_last_year(stocks, closes):
    """Top versus bottom 30% of a fundamentals-only quality proxy, equal-weighted 12-month return."""
    ranks = pd.concat([
        stocks["roe"].rank(pct=True), stocks["roa"].rank(pct=True), stocks["profit_margin"].rank(pct=True),
        stocks["revenue_growth"].rank(pct=True), (-stocks["debt_to_equity"]).rank(pct=True),
    ], axis=1).mean(axis=1)  # mean of the ranks present: no missing value becomes 0
    quality = ranks.index[ranks >= ranks.quantile(0.7)]
    junk = ranks.index[ranks <= ranks.quantile(0.3)]
    return_12m = closes.iloc[-1] / closes.iloc[-253] - 1
    assert return_12m[quality].mean() - return_12m[junk].mean() > 0.02
