"""Market internals and divergence on tiny frames checked by eye, plus the real Yahoo panel
against independent pandas computations (pivot, rolling, groupby) written here."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from screener import market
from screener.signals import compute_price_signals
from tests.support.realdata import real_price_panel

nan = math.nan


def long_frame(columns: dict[str, list[float]], volumes: dict[str, list[float]] | None = None,
               start: str = "2024-01-02") -> pd.DataFrame:
    """Long prices from per-ticker closes aligned on the first session (NaN = no row)."""
    length = max(len(v) for v in columns.values())
    dates = pd.bdate_range(start, periods=length)
    parts = []
    for ticker, closes in columns.items():
        closes = list(closes) + [nan] * (length - len(closes))
        vols = (volumes or {}).get(ticker, [1000.0] * length)
        part = pd.DataFrame({"date": dates, "ticker": ticker, "close": closes,
                             "volume": pd.array([int(v) for v in vols], dtype="Int64")})
        parts.append(part[part["close"].notna()])
    return pd.concat(parts, ignore_index=True)


def series(frame: pd.DataFrame, name: str) -> list[float]:
    return frame.loc[frame["series"] == name, "value"].tolist()


# --------------------------------------------------------------------------- divergence by eye
SESSIONS = pd.bdate_range("2024-01-02", periods=4)  # Tue 2 .. Fri 5 January 2024


@pytest.fixture()
def four_sessions() -> tuple[pd.DataFrame, pd.DataFrame]:
    prices = long_frame({
        "IWM": [200, 202, 204.02, 206.0602],       # +1% a day
        "SPY": [400, 400, 400, 400],
        "A": [100, 110, 121, 133.1],               # +10% a day
        "B": [nan, 50, 50, 55],                    # lists on day 1: returns -, 0%, +10%
        "C": [100, 90, 81, 72.9],                  # -10% a day
        "D": [10, 20, 40, 80],                     # no bucket: ignored
    })
    prices = prices[~((prices["ticker"] == "B") & (prices["date"] == SESSIONS[0]))]
    stocks = pd.DataFrame({
        "ticker": ["A", "B", "C", "D"],
        "quality_bucket": pd.Series(["quality", "quality", "junk", None], dtype="str"),
        "is_profitable": pd.array([True, True, False, None], dtype="boolean"),
        "sector": ["Tech", "Energy", "Tech", "Energy"],
    })
    return prices, stocks


def test_bucket_returns_compound_equal_weighted_means(four_sessions):
    prices, stocks = four_sessions
    got = market.bucket_returns(prices, stocks, start=SESSIONS[0].date())
    assert set(got["series"]) == {"quality", "junk", "IWM"}
    assert got["date"].drop_duplicates().tolist() == list(SESSIONS)
    # quality: day 1 only A has a return (+10%), day 2 (10% + 0%) / 2, day 3 (10% + 10%) / 2
    np.testing.assert_allclose(series(got, "quality"), [0, 0.10, 1.10 * 1.05 - 1, 1.10 * 1.05 * 1.10 - 1])
    np.testing.assert_allclose(series(got, "junk"), [0, -0.10, -0.19, -0.271])
    np.testing.assert_allclose(series(got, "IWM"), [0, 0.01, 0.0201, 0.030301])
    spread = market.spread(got)
    assert spread["series"].unique().tolist() == ["quality - junk"]
    np.testing.assert_allclose(spread["value"], [0, 0.20, 0.155 + 0.19, 0.2705 + 0.271])


def test_window_base_is_the_last_session_on_or_before_start(four_sessions):
    prices, stocks = four_sessions
    from_wednesday = market.bucket_returns(prices, stocks, start=SESSIONS[1].date())
    np.testing.assert_allclose(series(from_wednesday, "quality"), [0, 0.05, 1.05 * 1.10 - 1])
    from_sunday = market.bucket_returns(prices, stocks, start=dt.date(2023, 12, 31))  # before the data
    assert from_sunday["date"].min() == SESSIONS[0]
    ending_thursday = market.bucket_returns(prices, stocks, start=SESSIONS[1].date(), end=SESSIONS[2].date())
    np.testing.assert_allclose(series(ending_thursday, "junk"), [0, -0.10])


def test_start_between_sessions_uses_the_session_before():
    dates = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-05", "2024-01-08"])  # no session on Thu 4
    prices = pd.DataFrame({"date": np.repeat(dates, 3), "ticker": ["IWM", "SPY", "A"] * 4,
                           "close": [100, 1, 10, 100, 1, 20, 100, 1, 30, 100, 1, 60],
                           "volume": pd.array([1] * 12, dtype="Int64")})
    stocks = pd.DataFrame({"ticker": ["A"], "quality_bucket": ["quality"]})
    got = market.bucket_returns(prices, stocks, start=dt.date(2024, 1, 4))
    assert got["date"].drop_duplicates().tolist() == list(dates[1:])  # base: Wednesday's close of 20
    np.testing.assert_allclose(series(got, "quality"), [0, 0.5, 2.0])


def test_profitability_and_sector_splits(four_sessions):
    prices, stocks = four_sessions
    profitable = market.bucket_returns(prices, stocks, by="is_profitable", start=SESSIONS[0].date())
    assert set(profitable["series"]) == {"profitable", "unprofitable", "IWM"}
    np.testing.assert_allclose(series(profitable, "unprofitable"), [0, -0.10, -0.19, -0.271])
    np.testing.assert_allclose(market.spread(profitable, by="is_profitable")["value"].iloc[-1], 0.2705 + 0.271)
    sectors = market.bucket_returns(prices, stocks, by="sector", start=SESSIONS[0].date())
    # Tech = A and C: (10% - 10%) / 2 = 0 every day; Energy = B and D: day 1 only D (+100%),
    # day 2 (0% + 100%) / 2, day 3 (10% + 100%) / 2
    np.testing.assert_allclose(series(sectors, "Tech"), [0, 0, 0, 0], atol=1e-15)
    np.testing.assert_allclose(series(sectors, "Energy"), [0, 1.0, 2 * 1.5 - 1, 2 * 1.5 * 1.55 - 1])
    with pytest.raises(ValueError, match="split"):
        market.bucket_returns(prices, stocks, by="ticker")
    with pytest.raises(ValueError, match="spread"):
        market.spread(sectors, by="sector")


def test_spread_by_sector(four_sessions):
    prices, stocks = four_sessions
    got = market.spread_by_sector(prices, stocks, start=SESSIONS[0].date()).set_index("sector")
    # Tech: quality A +33.1%, junk C -27.1%; Energy: quality B only (0% then +10%), no junk member
    assert got.loc["Tech", "quality_return"] == pytest.approx(0.331)
    assert got.loc["Tech", "junk_return"] == pytest.approx(-0.271)
    assert got.loc["Tech", "spread"] == pytest.approx(0.602)
    assert got.loc["Energy", "quality_return"] == pytest.approx(0.10)
    assert math.isnan(got.loc["Energy", "junk_return"]) and math.isnan(got.loc["Energy", "spread"])
    assert got[["quality_members", "junk_members"]].to_dict("index") == {
        "Tech": {"quality_members": 1, "junk_members": 1}, "Energy": {"quality_members": 1, "junk_members": 0}}
    assert got.index.tolist() == ["Tech", "Energy"]  # null spread last


def test_window_start_by_eye():
    as_of = dt.date(2024, 3, 8)
    assert market.window_start(as_of, "1m") == dt.date(2024, 2, 8)
    assert market.window_start(as_of, "3m") == dt.date(2023, 12, 8)
    assert market.window_start(as_of, "6m") == dt.date(2023, 9, 8)
    assert market.window_start(as_of, "1y") == dt.date(2023, 3, 8)
    assert market.window_start(as_of, "ytd") == dt.date(2023, 12, 31)
    assert market.window_start(dt.date(2024, 5, 31), "3m") == dt.date(2024, 2, 29)  # month end clamps
    with pytest.raises(ValueError, match="window"):
        market.window_start(as_of, "2w")


# --------------------------------------------------------------------------- breadth by eye
N = 260


@pytest.fixture()
def breadth_panel() -> tuple[pd.DataFrame, pd.DataFrame]:
    up = [float(x) for x in range(1, N + 1)]
    prices = long_frame({
        "IWM": up, "SPY": up,                      # benchmarks rise too, but never count
        "UP": up,
        "DOWN": up[::-1],
        "FLAT": [10.0] * N,
        "LATE": [nan] * 230 + up[:30],             # 30 sessions: no SMA 50 at the end
    })
    stocks = pd.DataFrame({"ticker": ["UP", "DOWN", "FLAT", "LATE"], "sector": ["X", "Y", "X", "Y"]})
    return prices, stocks


def test_breadth_history_by_eye(breadth_panel):
    prices, _ = breadth_panel
    got = market.breadth_history(prices, days=252)
    dates = got["date"].drop_duplicates()
    assert len(dates) == 252 and dates.iloc[-1] == pd.bdate_range("2024-01-02", periods=N)[-1]
    above_50, above_200 = series(got, "above_sma_50"), series(got, "above_sma_200")
    # session index = i + 8.  SMA 50 exists for UP, DOWN, FLAT from session 49; only UP is above it.
    assert all(math.isnan(v) for v in above_50[:41]) and above_50[41:] == [pytest.approx(1 / 3)] * 211
    assert all(math.isnan(v) for v in above_200[:191]) and above_200[191] == pytest.approx(1 / 3)
    # with all 252 closes from session 251 on, UP makes a new high and DOWN a new low every day;
    # FLAT ties its range and is neither.
    assert series(got, "new_highs") == [0.0] * 243 + [1.0] * 9
    assert series(got, "new_lows") == [0.0] * 243 + [1.0] * 9


def test_breadth_counts_highs_strictly():
    closes = [10.0] * 251 + [12.0, 12.0, 11.0, 13.0]  # 12 is new; repeating it is not; 13 is new
    lows = [10.0] * 251 + [8.0, 8.0, 9.0, 7.0]
    prices = long_frame({"IWM": [1.0] * 255, "SPY": [1.0] * 255, "H": closes, "L": lows})
    got = market.breadth_history(prices, days=4)
    assert series(got, "new_highs") == [1.0, 0.0, 0.0, 1.0]
    assert series(got, "new_lows") == [1.0, 0.0, 0.0, 1.0]


def test_ratio_history_by_eye():
    iwm = [100.0 + t for t in range(N)]
    prices = long_frame({"IWM": iwm, "SPY": [50.0] * N})
    got = market.ratio_history(prices, days=10)
    assert series(got, "ratio")[-1] == pytest.approx(359 / 50)
    assert series(got, "sma_200")[-1] == pytest.approx(np.mean(iwm[-200:]) / 50)  # (160 + 359) / 2 / 50
    assert len(series(got, "ratio")) == 10
    short = market.ratio_history(long_frame({"IWM": iwm[:100], "SPY": [50.0] * 100}), days=5)
    assert all(math.isnan(v) for v in series(short, "sma_200"))


def test_sector_participation_by_eye(breadth_panel):
    prices, stocks = breadth_panel
    got = market.sector_participation(prices, stocks)
    assert got.to_dict("records") == [
        {"sector": "X", "members": 2, "with_sma": 2, "above": 1, "share": 0.5},   # UP above, FLAT not
        {"sector": "Y", "members": 2, "with_sma": 1, "above": 0, "share": 0.0},   # DOWN below, LATE too young
    ]
    history = market.sector_participation_history(prices, stocks, days=5)
    assert series(history, "X") == [0.5] * 5 and series(history, "Y") == [0.0] * 5


def test_stock_history_by_eye():
    up = [float(x) for x in range(1, N + 1)]
    volumes = [1000.0] * (N - 1) + [3000.0]
    prices = long_frame({"IWM": [100.0] * (N - 1) + [200.0], "SPY": up, "UP": up},
                        volumes={"UP": volumes})
    dates = pd.bdate_range("2024-01-02", periods=N)
    got = market.stock_history(prices, "UP", start=dates[N - 3].date())
    assert got["date"].tolist() == list(dates[-3:])
    last = got.iloc[-1]
    assert last["close"] == 260
    assert last["sma_50"] == pytest.approx(235.5) and last["sma_200"] == pytest.approx(160.5)
    assert last["avg_volume_50d"] == 1000 and last["volume_surge"] == 3 and bool(last["surge"])
    assert not bool(got.iloc[0]["surge"])
    # RS line: (close / IWM) normalised at the base session 258 / 100: 1, 259/258, (260/200)/(258/100)
    np.testing.assert_allclose(got["rs_line"], [1.0, 259 / 258, 1.3 / 2.58])
    assert market.stock_history(prices, "NOPE").empty


# --------------------------------------------------------------------------- consistency with signals
def test_last_session_agrees_with_compute_price_signals():
    rng = np.random.default_rng(7)
    closes = {f"S{i}": list(20 * np.exp(np.cumsum(rng.normal(0, 0.02, 300)))) for i in range(30)}
    closes["IWM"] = list(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300))))
    closes["SPY"] = list(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300))))
    vols = {k: list(rng.integers(100, 10_000, 300).astype(float)) for k in closes}
    prices = long_frame(closes, volumes=vols)
    prices = prices.drop(index=rng.choice(prices.index, 200, replace=False))  # scattered holes
    signals = compute_price_signals(prices).drop(index=["IWM", "SPY"])
    breadth = market.breadth_history(prices, days=1)
    assert series(breadth, "above_sma_50") == [pytest.approx(signals["above_sma_50"].dropna().mean())]
    assert series(breadth, "above_sma_200") == [pytest.approx(signals["above_sma_200"].dropna().mean())]
    for ticker in ["S3", "S17"]:
        last = market.stock_history(prices, ticker).iloc[-1]
        for name in ["close", "sma_50", "sma_200", "avg_volume_50d", "volume_surge"]:
            assert last[name] == pytest.approx(signals.loc[ticker, name], nan_ok=True), name


# --------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def real_prices() -> pd.DataFrame:
    return real_price_panel(bench_start=dt.date(2022, 1, 3))


def pandas_wide(prices: pd.DataFrame) -> pd.DataFrame:
    """Independent pivot: sessions x tickers on IWM's dates, short inner gaps filled by a loop."""
    wide = prices.pivot(index="date", columns="ticker", values="close")
    wide.index = pd.to_datetime(wide.index)
    wide = wide.reindex(pd.DatetimeIndex(sorted(prices.loc[prices["ticker"] == "IWM", "date"]), name="date"))
    for ticker in wide.columns[wide.isna().any()]:
        column = wide[ticker].to_numpy(copy=True)
        valid = np.flatnonzero(~np.isnan(column))
        if valid.size == 0:
            continue
        i = valid[0]
        while i < len(column):
            if np.isnan(column[i]):
                j = i
                while j < len(column) and np.isnan(column[j]):
                    j += 1
                if j - i <= 5:
                    column[i:j] = column[i - 1]
                i = j
            else:
                i += 1
        wide[ticker] = column
    return wide


def test_real_breadth_matches_pandas_rolling(real_prices):
    got = market.breadth_history(real_prices, days=300)
    wide = pandas_wide(real_prices).drop(columns=["IWM", "SPY"])
    for n in (50, 200):
        sma = wide.rolling(n).mean()
        above = (wide > sma * (1 + 1e-9)).astype("float64").where(sma.notna())  # rounding is not "above"
        want = above.sum(axis=1) / sma.notna().sum(axis=1).replace(0, nan)
        np.testing.assert_allclose(series(got, f"above_sma_{n}"), want.iloc[-300:].to_numpy(), rtol=1e-12)
    previous_high = wide.shift(1).rolling(251).max()
    previous_low = wide.shift(1).rolling(251).min()
    np.testing.assert_array_equal(series(got, "new_highs"), (wide > previous_high).sum(axis=1).iloc[-300:])
    np.testing.assert_array_equal(series(got, "new_lows"), (wide < previous_low).sum(axis=1).iloc[-300:])


def test_real_bucket_returns_match_pandas_groupby(real_prices):
    tickers = sorted(set(real_prices["ticker"]) - {"IWM", "SPY"})
    rng = np.random.default_rng(3)
    stocks = pd.DataFrame({"ticker": tickers,
                           "quality_bucket": rng.choice(["quality", "middle", "junk", None], len(tickers))})
    start = market.window_start(dt.date(2024, 3, 8), "ytd")  # a Sunday: the base is Friday 2023-12-29
    got = market.bucket_returns(real_prices, stocks, start=start)
    assert got["date"].min() == pd.Timestamp("2023-12-29")

    wide = pandas_wide(real_prices)
    wide = wide[wide.index >= wide.index[wide.index <= pd.Timestamp(start)][-1]]
    daily = (wide / wide.shift(1) - 1).iloc[1:]
    long = daily.drop(columns=["IWM", "SPY"]).stack().rename("r").reset_index()
    long = long.merge(stocks, on="ticker").dropna(subset=["quality_bucket"])
    means = long.groupby(["date", "quality_bucket"])["r"].mean().unstack()
    for bucket in ["quality", "middle", "junk"]:
        want = np.concatenate([[0.0], (1 + means[bucket]).cumprod().to_numpy() - 1])
        np.testing.assert_allclose(series(got, bucket), want, rtol=1e-9, atol=1e-12)
    iwm = wide["IWM"]
    np.testing.assert_allclose(series(got, "IWM"), (iwm / iwm.iloc[0] - 1).to_numpy(), rtol=1e-12)


# --------------------------------------------------------------------------- point-in-time baskets
def memberships(rows: dict[str, dict[str, str]]) -> pd.DataFrame:
    """{snapshot date: {ticker: bucket}} as the long frame stored snapshots give."""
    return pd.DataFrame([{"date": pd.Timestamp(date), "ticker": ticker, "quality_bucket": bucket}
                         for date, members in rows.items() for ticker, bucket in members.items()])


def test_point_in_time_baskets_change_the_day_after_each_snapshot():
    prices = long_frame({
        "IWM": [100, 100, 101, 102, 103, 104],
        "SPY": [400] * 6,
        "A": [10, 10, 11, 11, 12.1, 12.1],
        "B": [20, 20, 20, 22, 22, 19.8],
        "C": [5] * 6,
    })
    sessions = pd.bdate_range("2024-01-02", periods=6)
    held = memberships({sessions[1]: {"A": "quality", "B": "junk", "C": "middle"},
                        sessions[3]: {"A": "junk", "B": "quality"}})
    got = market.point_in_time_returns(prices, held)
    # No basket existed before the first snapshot's close: the lines start there.
    assert got["date"].drop_duplicates().tolist() == list(sessions[1:])
    # Sessions 3 and 4 use the first snapshot, 5 and 6 the second (dated the evening before).
    np.testing.assert_allclose(series(got, "quality"), [0, 0.10, 0.10, 0.10, 1.10 * 0.90 - 1])
    np.testing.assert_allclose(series(got, "junk"), [0, 0, 0.10, 1.10 * 1.10 - 1, 1.10 * 1.10 - 1])
    np.testing.assert_allclose(series(got, "middle"), [0, 0, 0, 0, 0])  # C leaves: the line stays flat
    np.testing.assert_allclose(series(got, "IWM"), [0, 0.01, 0.02, 0.03, 0.04])
    # Today's buckets (the second snapshot) over the same window tell another story.
    hindsight = market.bucket_returns(prices, held[held["date"] == sessions[3]], start=sessions[1].date())
    np.testing.assert_allclose(series(hindsight, "quality"), [0, 0, 0.10, 0.10, -0.01])


def test_point_in_time_window_starts_at_the_later_of_its_base_and_the_first_snapshot():
    prices = long_frame({"IWM": [100, 101, 102, 103], "SPY": [1] * 4, "A": [10, 20, 30, 60]})
    sessions = pd.bdate_range("2024-01-02", periods=4)
    held = memberships({sessions[0]: {"A": "quality"}})
    from_thursday = market.point_in_time_returns(prices, held, start=sessions[2].date())
    np.testing.assert_allclose(series(from_thursday, "quality"), [0, 1.0])
    assert market.point_in_time_returns(prices, memberships({sessions[3]: {"A": "quality"}})) is None
    ending_wednesday = market.point_in_time_returns(prices, held, end=sessions[1].date())
    np.testing.assert_allclose(series(ending_wednesday, "quality"), [0, 1.0])


def test_real_point_in_time_returns_match_pandas_merge_asof(real_prices):
    tickers = sorted(set(real_prices["ticker"]) - {"IWM", "SPY"})
    rng = np.random.default_rng(11)
    sessions = pd.DatetimeIndex(sorted(real_prices.loc[real_prices["ticker"] == "IWM", "date"].unique()))
    snapshot_dates = sessions[(sessions >= "2023-06-01") & (sessions <= "2024-03-08")][::7]
    held = pd.concat([pd.DataFrame({"date": date, "ticker": tickers,
                                    "quality_bucket": rng.choice(["quality", "middle", "junk", None], len(tickers))})
                      for date in snapshot_dates], ignore_index=True)
    start = market.window_start(dt.date(2024, 3, 8), "6m")
    got = market.point_in_time_returns(real_prices, held, start=start, end=dt.date(2024, 3, 8))

    wide = pandas_wide(real_prices)
    wide = wide[(wide.index >= wide.index[wide.index <= pd.Timestamp(start)][-1]) & (wide.index <= "2024-03-08")]
    daily = (wide / wide.shift(1) - 1).iloc[1:].drop(columns=["IWM", "SPY"])
    long = daily.stack().rename("r").reset_index().sort_values("date")
    # Each session's return joins the newest snapshot strictly before it.
    joined = pd.merge_asof(long, held.rename(columns={"date": "snapshot"}).sort_values("snapshot"),
                           left_on="date", right_on="snapshot", by="ticker", direction="backward",
                           allow_exact_matches=False).dropna(subset=["quality_bucket"])
    means = joined.groupby(["date", "quality_bucket"])["r"].mean().unstack().reindex(daily.index)
    assert got["date"].min() == wide.index[0]  # the first snapshot predates the window
    for bucket in ["quality", "middle", "junk"]:
        want = np.concatenate([[0.0], (1 + means[bucket].fillna(0)).cumprod().to_numpy() - 1])
        np.testing.assert_allclose(series(got, bucket), want, rtol=1e-9, atol=1e-12)


def test_a_prebuilt_panel_gives_what_the_prices_frame_gives(breadth_panel):
    """The app hands one shared panel to every function; the frame path is checked by eye above."""
    from screener.signals import build_panel

    prices, stocks = breadth_panel
    stocks = stocks.assign(quality_bucket=["quality", "junk", "middle", "quality"])
    panel = build_panel(prices)
    for matrix in (panel.close, panel.volume):
        matrix.flags.writeable = False  # as the app shares it: no function may write into it
    start = prices["date"].sort_values().iloc[-30].date()
    held = stocks[["ticker", "quality_bucket"]].assign(date=pd.Timestamp(start))
    calls = {
        "breadth": lambda p: market.breadth_history(p, days=100),
        "participation": lambda p: market.sector_participation(p, stocks),
        "participation history": lambda p: market.sector_participation_history(p, stocks, days=50),
        "buckets": lambda p: market.bucket_returns(p, stocks, start=start),
        "point in time": lambda p: market.point_in_time_returns(p, held, start=start),
        "by sector": lambda p: market.spread_by_sector(p, stocks, start),
    }
    for name, call in calls.items():
        pd.testing.assert_frame_equal(call(panel), call(prices), obj=name)
    with pytest.raises(ValueError, match="pass the prices frame"):
        market.bucket_returns(panel, stocks, start=start, end=start)
