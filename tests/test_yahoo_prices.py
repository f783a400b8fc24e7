"""Prices through the real ``yf.download`` on a fake Yahoo: values, failed-ticker detection, incremental merge."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest

from screener.sources.yahoo import use_yfinance
from screener.sources.yahoo_http import PoliteSession, RateLimiter
from screener.sources.yahoo_prices import download, merge_incremental, plan_price_jobs, trim
from tests.fakes.yahoo_fake import FakeYahoo, Faults, price_panel
from tests.support.realdata import PRICES, realdata_path

D = pd.Timestamp


def frame(closes: dict[str, float], ticker: str = "A") -> pd.DataFrame:
    dates = pd.to_datetime(list(closes))
    return pd.DataFrame({"date": dates, "ticker": ticker, "open": list(closes.values()),
                         "high": list(closes.values()), "low": list(closes.values()),
                         "close": list(closes.values()), "volume": pd.array([100] * len(dates), dtype="Int64")})


# --- incremental merge (hand-made) -----------------------------------------------------------


def test_fresh_sessions_are_appended_when_the_overlap_agrees():
    previous = frame({"2024-03-01": 10.0, "2024-03-04": 11.0, "2024-03-05": 12.0})
    fresh = frame({"2024-03-04": 11.0, "2024-03-05": 12.2, "2024-03-06": 13.0})  # last old close revised
    merged, refused = merge_incremental(previous, fresh)
    assert refused == []
    assert list(merged["date"]) == [D("2024-03-01"), D("2024-03-04"), D("2024-03-05"), D("2024-03-06")]
    assert list(merged["close"]) == [10.0, 11.0, 12.2, 13.0]  # fresh wins where both have a session


def test_a_dividend_or_split_rescaled_history_is_refused_per_ticker():
    previous = pd.concat([frame({"2024-03-01": 10.0, "2024-03-04": 11.0, "2024-03-05": 12.0}, "DIV"),
                          frame({"2024-03-01": 10.0, "2024-03-04": 11.0, "2024-03-05": 12.0}, "SPLIT"),
                          frame({"2024-03-01": 5.0, "2024-03-04": 6.0}, "SAME")])
    fresh = pd.concat([frame({"2024-03-01": 9.9, "2024-03-04": 10.89, "2024-03-05": 11.88, "2024-03-06": 12.5},
                             "DIV"),
                       frame({"2024-03-04": 5.5, "2024-03-05": 6.0, "2024-03-06": 6.2}, "SPLIT"),
                       frame({"2024-03-01": 5.0, "2024-03-04": 6.0, "2024-03-05": 7.0}, "SAME"),
                       frame({"2024-03-05": 1.0}, "NEW")])
    merged, refused = merge_incremental(previous, fresh)
    assert refused == ["DIV", "NEW", "SPLIT"]
    assert set(merged["ticker"]) == {"SAME"} and list(merged["close"]) == [5.0, 6.0, 7.0]


def test_without_any_common_session_the_basis_cannot_be_checked():
    previous = frame({"2024-03-01": 10.0})
    assert merge_incremental(previous, frame({"2024-03-06": 13.0}))[1] == ["A"]
    # The last old session alone is compared when it is the only overlap.
    assert merge_incremental(previous, frame({"2024-03-01": 10.0, "2024-03-06": 13.0}))[1] == []
    assert merge_incremental(previous, frame({"2024-03-01": 10.5, "2024-03-06": 13.0}))[1] == ["A"]


def test_jobs_group_tickers_by_where_their_history_ends():
    end = dt.date(2024, 3, 9)
    previous = pd.concat([frame({"2024-03-07": 1.0}, "A"), frame({"2024-03-07": 1.0}, "B"),
                          frame({"2024-02-20": 1.0}, "C"), frame({"2021-01-04": 1.0}, "OLD")])
    jobs = plan_price_jobs(["A", "B", "C", "NEW", "OLD"], previous, end, history_days=740)
    assert [(j.start, j.tickers, j.incremental) for j in jobs] == [
        (end - dt.timedelta(days=740), ("NEW", "OLD"), False),
        (dt.date(2024, 2, 10), ("C",), True),
        (dt.date(2024, 2, 26), ("A", "B"), True),
    ]


def test_trim_keeps_the_history_window_only():
    rows = frame({"2022-01-03": 1.0, "2023-06-01": 2.0, "2024-03-08": 3.0, "2024-03-11": 4.0})
    kept = trim(rows, dt.date(2024, 3, 9), history_days=400)
    assert list(kept["close"]) == [2.0, 3.0]


# --- the real yf.download on the fake ----------------------------------------------------------


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    realdata_path(PRICES)  # skips without the real panel
    return price_panel(["AAT", "ABR", "AAOI", "ACCO", "CRVO"])


def polite(fake: FakeYahoo, tmp_path) -> PoliteSession:
    session = PoliteSession(RateLimiter(500.0, backoff_base_s=0.001, rng=random.Random(1)), transport=fake.transport)
    use_yfinance(tmp_path, session)
    return session


def auto_adjusted(panel: pd.DataFrame, ticker: str, start: str, end: str) -> pd.DataFrame:
    """What auto-adjusted daily bars are, computed here from the raw panel: OHLC scaled by adj_close/close."""
    rows = panel[(panel["ticker"] == ticker) & (panel["date"] >= start) & (panel["date"] < end)]
    rows = rows.dropna(subset=["close"])
    ratio = rows["adj_close"] / rows["close"]
    return pd.DataFrame({"date": rows["date"].to_numpy(), "open": (rows["open"] * ratio).to_numpy(),
                         "high": (rows["high"] * ratio).to_numpy(), "low": (rows["low"] * ratio).to_numpy(),
                         "close": rows["adj_close"].to_numpy(), "volume": rows["volume"].to_numpy()})


def test_download_returns_auto_adjusted_bars_equal_to_an_independent_computation(panel, tmp_path):
    fake = FakeYahoo(panel, {})
    session = polite(fake, tmp_path)
    rows, failures = download(session, ["AAT", "ABR", "CRVO"], dt.date(2023, 1, 1), dt.date(2024, 3, 9), 3, 10)
    assert failures == {}
    for ticker in ("AAT", "ABR", "CRVO"):  # two dividend payers; CRVO has all-NaN sessions in Aug 2023
        expected = auto_adjusted(panel, ticker, "2023-01-01", "2024-03-09")
        got = rows[rows["ticker"] == ticker]
        assert list(got["date"]) == list(pd.to_datetime(expected["date"]))
        for column in ("open", "high", "low", "close"):
            np.testing.assert_allclose(got[column].to_numpy(), expected[column].to_numpy(), rtol=1e-9)
        assert (got["volume"].to_numpy(dtype="float64") == expected["volume"].to_numpy(dtype="float64")).all()
    assert (rows.loc[rows["ticker"] == "ABR", "close"].to_numpy() < panel.loc[(panel.ticker == "ABR") & (panel.date >= "2023-01-01")
                                              & (panel.date < "2024-03-09"), "close"].to_numpy()).any()


def test_failed_tickers_are_found_in_the_all_nan_columns_with_the_reason_the_http_layer_saw(panel, tmp_path):
    faults = Faults(delisted=frozenset({"AAOI"}))
    fake = FakeYahoo(panel, {}, faults=faults)
    session = polite(fake, tmp_path)
    rows, failures = download(session, ["AAT", "AAOI", "ACCO"], dt.date(2024, 3, 1), dt.date(2024, 3, 9), 3, 10)
    assert failures == {"AAOI": "not_found"} and set(rows["ticker"]) == {"AAT", "ACCO"}
    # A window without sessions: Yahoo answers, but with no bars.
    rows, failures = download(session, ["AAT"], dt.date(2024, 3, 9), dt.date(2024, 3, 12), 1, 10)
    assert failures == {"AAT": "no_prices"} and rows.empty


def test_transient_faults_are_absorbed_by_the_session_retries(panel, tmp_path):
    fake = FakeYahoo(panel, {}, faults=Faults(failure_rate=0.3, kinds=("503", "timeout", "malformed", "429"),
                                               seed=3))
    session = polite(fake, tmp_path)
    rows, failures = download(session, ["AAT", "ABR", "AAOI", "ACCO"], dt.date(2024, 1, 1), dt.date(2024, 3, 9),
                              2, 10)
    assert failures == {} and set(rows["ticker"]) == {"AAT", "ABR", "AAOI", "ACCO"}
    assert session.stats.retries > 0
    for ticker, got in rows.groupby("ticker"):
        expected = auto_adjusted(panel, ticker, "2024-01-01", "2024-03-09")
        np.testing.assert_allclose(got["close"].to_numpy(), expected["close"].to_numpy())


def test_a_ticker_yfinance_skipped_without_a_request_is_asked_for_again(panel, tmp_path, monkeypatch):
    """yfinance 1.7's threaded download sometimes never requests one ticker and reports it all-NaN;
    such a ticker is fetched again instead of being reported as failed."""
    from screener.sources import yahoo_prices

    fake = FakeYahoo(panel, {})
    session = polite(fake, tmp_path)
    real_download = yahoo_prices.yf.download
    calls: list[list[str]] = []

    def skips_acco_once(tickers, **kwargs):
        calls.append(list(tickers))
        asked = [t for t in tickers if not (t == "ACCO" and len(calls) == 1)]
        wide = real_download(asked, **kwargs)
        if len(asked) < len(tickers):  # what yfinance returns for a ticker it skipped: all-NaN columns
            for column in ("Open", "High", "Low", "Close", "Volume"):
                wide[("ACCO", column)] = np.nan
        return wide

    monkeypatch.setattr(yahoo_prices.yf, "download", skips_acco_once)
    # One worker: yfinance's sequential path, so its thread race cannot add a skip to the simulated one.
    rows, failures = download(session, ["AAT", "ABR", "ACCO"], dt.date(2024, 3, 1), dt.date(2024, 3, 9), 1, 10)
    assert calls == [["AAT", "ABR", "ACCO"], ["ACCO"]]
    assert failures == {} and set(rows["ticker"]) == {"AAT", "ABR", "ACCO"}
    assert fake.count("chart", "ACCO") == fake.count("chart", "AAT")  # asked for once, like the others
