"""Price/volume signals against hand-made answers and an independent per-ticker loop.

``reference_signals`` below is written from DESIGN.md section 2 and the rules in the
signals module docstring with plain pandas (reindex, rolling, iloc) one ticker at a time;
it never calls screener.signals.  Hand-made frames pin the answers a person can check by
eye; the real Yahoo panel checks ~50 names, CRVO's blank August 2023 included.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screener.fields import stocks_schema
from screener.signals import PRICE_SIGNAL_FIELDS, compute_price_signals, fill_short_gaps, stale_price_tickers
from tests.support.realdata import real_price_panel


FLOATS = ["close", "return_1m", "return_3m", "return_6m", "return_12m", "sma_50", "sma_200", "high_52w",
          "pct_from_52w_high", "volatility_1y", "rs_6m", "avg_volume_50d", "volume_surge"]
FLAGS = ["above_sma_50", "above_sma_200", "higher_highs_lows"]
INTS = ["rs_rating", "volume"]


# --------------------------------------------------------------------------- reference
def fill_gaps_by_loop(values: list[float], limit: int = 5) -> list[float]:
    """Walk the series; fill a run of NaN after a value when the whole run is <= limit long."""
    out = list(values)
    i = 0
    while i < len(out):
        if not math.isnan(out[i]):
            i += 1
            continue
        j = i
        while j < len(out) and math.isnan(out[j]):
            j += 1
        if i > 0 and j - i <= limit:
            for m in range(i, j):
                out[m] = out[i - 1]
        i = j
    return out


def reference_signals(prices: pd.DataFrame, as_of: dt.date | None = None, benchmark: str = "IWM") -> pd.DataFrame:
    frame = prices.copy()
    frame["date"] = pd.to_datetime(frame["date"])
    frame["close"] = frame["close"].astype("float64").where(lambda c: c > 0)
    bench = frame[(frame["ticker"] == benchmark) & frame["close"].notna()]
    calendar = pd.DatetimeIndex(sorted(bench["date"].unique()))
    if as_of is not None:
        calendar = calendar[calendar <= pd.Timestamp(as_of)]
    t0 = calendar[-1]
    rows = {}
    for ticker, group in frame.groupby("ticker", observed=True):
        group = group.set_index("date")
        close = pd.Series(fill_gaps_by_loop(group["close"].reindex(calendar).tolist()), index=calendar)
        volume = group["volume"].astype("float64").reindex(calendar)
        row: dict[str, object] = {name: np.nan for name in FLOATS}
        row.update({name: None for name in FLAGS + INTS})
        row["as_of"] = None
        rows[ticker] = row
        if math.isnan(close.iloc[-1]):
            continue
        c0 = close.iloc[-1]

        def back(k: int) -> float:
            return close.iloc[-1 - k] if len(close) > k else np.nan

        row["close"] = c0
        row["as_of"] = t0.date()
        for name, k in (("return_1m", 21), ("return_3m", 63), ("return_6m", 126), ("return_12m", 252)):
            row[name] = c0 / back(k) - 1
        for n in (50, 200):
            sma = close.rolling(n).mean().iloc[-1]
            row[f"sma_{n}"] = sma
            row[f"above_sma_{n}"] = None if math.isnan(sma) else bool(c0 > sma * (1 + 1e-9))
        row["high_52w"] = close.rolling(252).max().iloc[-1]
        row["pct_from_52w_high"] = c0 / row["high_52w"] - 1
        row["volatility_1y"] = np.log(close).diff().rolling(252).std().iloc[-1] * math.sqrt(252)
        last60 = close.iloc[-60:]
        if len(last60) == 60 and last60.notna().all():
            w1, w2, w3 = last60.iloc[:20], last60.iloc[20:40], last60.iloc[40:]
            row["higher_highs_lows"] = bool(w1.max() < w2.max() < w3.max() and w1.min() < w2.min() < w3.min())
        row["score"] = 0.4 * (c0 / back(63) - 1) + 0.2 * (c0 / back(126) - 1) \
            + 0.2 * (c0 / back(189) - 1) + 0.2 * (c0 / back(252) - 1)
        v0 = volume.iloc[-1]
        row["volume"] = None if math.isnan(v0) else int(v0)
        average = volume.shift(1).rolling(50, min_periods=40).mean().iloc[-1]
        row["avg_volume_50d"] = average
        row["volume_surge"] = v0 / average if average > 0 else np.nan
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["rs_6m"] = out["return_6m"] - out.loc[benchmark, "return_6m"]
    scores = out["score"].drop(index=[t for t in ("IWM", "SPY", benchmark) if t in out.index]).dropna()
    n = len(scores)
    ranks = scores.rank()
    out["rs_rating"] = None
    for ticker, rank in ranks.items():
        out.loc[ticker, "rs_rating"] = 50 if n == 1 else math.floor(1 + 98 * (rank - 1) / (n - 1) + 0.5)
    return out.drop(columns="score").sort_index()


def flag(value: object) -> bool | None:
    """A boolean cell as True / False / None (<NA>), whatever scalar type pandas hands back."""
    return None if pd.isna(value) else bool(value)


def assert_matches_reference(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.index) == list(want.index)
    for name in FLOATS:
        np.testing.assert_allclose(got[name].to_numpy(dtype=float), want[name].to_numpy(dtype=float),
                                   rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=name)
    for name in FLAGS + INTS:
        got_values = [None if pd.isna(v) else v for v in got[name]]
        want_values = [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in want[name]]
        assert got_values == want_values, name
    assert [None if pd.isna(v) else v for v in got["as_of"]] == list(want["as_of"])


# --------------------------------------------------------------------------- builders
def panel(columns: dict[str, list[float]], volumes: dict[str, list[float]] | None = None,
          start: str = "2023-01-02") -> pd.DataFrame:
    """Long frame from per-ticker close lists aligned on the last session (NaN = no row)."""
    length = max(len(v) for v in columns.values())
    dates = pd.bdate_range(start, periods=length)
    parts = []
    for ticker, closes in columns.items():
        vols = (volumes or {}).get(ticker, [1000.0] * len(closes))
        closes = [np.nan] * (length - len(closes)) + list(closes)
        vols = [np.nan] * (length - len(vols)) + list(vols)
        part = pd.DataFrame({"date": dates, "ticker": ticker, "close": closes,
                             "volume": pd.array([None if math.isnan(v) else int(v) for v in vols], dtype="Int64")})
        parts.append(part[part["close"].notna() | part["volume"].notna()])
    return pd.concat(parts, ignore_index=True)


def with_benchmarks(columns: dict[str, list[float]], length: int, **kwargs) -> pd.DataFrame:
    base = {"IWM": list(np.linspace(100, 110, length)), "SPY": list(np.linspace(400, 420, length))}
    return panel({**base, **columns}, **kwargs)


# --------------------------------------------------------------------------- hand-made answers
def test_linear_ramp_gives_answers_checkable_by_eye():
    prices = with_benchmarks({"RAMP": [float(x) for x in range(1, 301)]}, 300)  # closes 1..300
    got = compute_price_signals(prices).loc["RAMP"]
    assert got["close"] == 300
    assert got["return_1m"] == pytest.approx(300 / 279 - 1)
    assert got["return_12m"] == pytest.approx(300 / 48 - 1)
    assert got["sma_50"] == pytest.approx(275.5)   # mean of 251..300
    assert got["sma_200"] == pytest.approx(200.5)  # mean of 101..300
    assert flag(got["above_sma_50"]) is True and flag(got["above_sma_200"]) is True
    assert got["high_52w"] == 300 and got["pct_from_52w_high"] == 0
    assert flag(got["higher_highs_lows"]) is True
    want_vol = np.std(np.diff(np.log(np.arange(48, 301, dtype=float))), ddof=1) * math.sqrt(252)
    assert got["volatility_1y"] == pytest.approx(want_vol)
    assert got["volume"] == 1000 and got["avg_volume_50d"] == 1000 and got["volume_surge"] == 1
    assert got["as_of"] == pd.bdate_range("2023-01-02", periods=300)[-1].date()


def test_flat_line_is_not_above_its_own_average():
    prices = with_benchmarks({"FLAT": [0.1] * 260, "DOWN": list(np.linspace(50, 10, 260))}, 260)
    got = compute_price_signals(prices)
    flat = got.loc["FLAT"]
    assert flat["sma_50"] == pytest.approx(0.1) and flat["sma_200"] == pytest.approx(0.1)
    assert flag(flat["above_sma_50"]) is False and flag(flat["above_sma_200"]) is False
    assert flat["return_12m"] == 0 and flat["pct_from_52w_high"] == 0 and flat["volatility_1y"] == 0
    assert flag(flat["higher_highs_lows"]) is False
    down = got.loc["DOWN"]
    assert flag(down["above_sma_50"]) is False and down["high_52w"] == pytest.approx(np.linspace(50, 10, 260)[8])


def test_close_equal_to_its_exact_mean_is_not_above_whatever_the_rounding():
    # 24 pairs of 5.30 / 5.32 and two 5.31: the exact mean of the last 50 closes is 5.31 = C_0
    closes = [5.30, 5.32] * 24 + [5.31, 5.31]
    nudged = closes[:-1] + [5.31 * (1 + 1e-6)]
    got = compute_price_signals(with_benchmarks({"EQUAL": closes, "NUDGED": nudged}, 50))
    assert got.loc["EQUAL", "sma_50"] == pytest.approx(5.31, rel=1e-14)
    assert flag(got.loc["EQUAL", "above_sma_50"]) is False
    assert flag(got.loc["NUDGED", "above_sma_50"]) is True


def test_step_up_on_the_last_session():
    prices = with_benchmarks({"STEP": [10.0] * 259 + [20.0]}, 260)
    got = compute_price_signals(prices).loc["STEP"]
    assert got["return_1m"] == pytest.approx(1.0)
    assert got["sma_50"] == pytest.approx((49 * 10 + 20) / 50)
    assert flag(got["above_sma_50"]) is True
    assert got["high_52w"] == 20 and got["pct_from_52w_high"] == 0
    assert got["volatility_1y"] == pytest.approx(np.std([0.0] * 251 + [math.log(2)], ddof=1) * math.sqrt(252))
    assert flag(got["higher_highs_lows"]) is False  # first two windows are flat: no strict rise


def windows(w1: list[float], w2: list[float], w3: list[float]) -> list[float]:
    assert len(w1) == len(w2) == len(w3) == 20
    return [50.0] * 10 + w1 + w2 + w3  # ten older sessions that the test must ignore


@pytest.mark.parametrize("w1,w2,w3,expected", [
    # window max 5 < 6 < 7 and min 1 < 2 < 3: true
    ([1] + [3] * 18 + [5], [2] + [4] * 18 + [6], [3] + [5] * 18 + [7], True),
    # max ties between window 1 and 2: not strictly rising
    ([1] + [3] * 18 + [6], [2] + [4] * 18 + [6], [3] + [5] * 18 + [7], False),
    # min ties between window 1 and 2
    ([2] + [3] * 18 + [5], [2] + [4] * 18 + [6], [3] + [5] * 18 + [7], False),
    # min ties between window 2 and 3
    ([1] + [3] * 18 + [5], [2] + [4] * 18 + [6], [2] + [5] * 18 + [7], False),
    # highs rise, lows fall
    ([3] + [3] * 18 + [5], [2] + [4] * 18 + [6], [1] + [5] * 18 + [7], False),
    # rising only because the windows are read in the wrong order would fail this one
    ([3] + [5] * 18 + [7], [2] + [4] * 18 + [6], [1] + [3] * 18 + [5], False),
])
def test_higher_highs_lows_windows(w1, w2, w3, expected):
    closes = windows([float(x) for x in w1], [float(x) for x in w2], [float(x) for x in w3])
    got = compute_price_signals(with_benchmarks({"HHL": closes}, len(closes))).loc["HHL"]
    assert flag(got["higher_highs_lows"]) is expected


def test_higher_highs_lows_needs_sixty_closes():
    closes = [float(x) for x in range(1, 60)]  # 59 rising closes
    got = compute_price_signals(with_benchmarks({"HHL": closes}, 80)).loc["HHL"]
    assert flag(got["higher_highs_lows"]) is None


def test_volume_spike_and_average_rules():
    n = 60
    spike = [1000.0] * (n - 1) + [5000.0]
    sparse = [1000.0] * (n - 1) + [3000.0]
    for i in range(n - 11, n - 1):  # V_1..V_10 missing: 40 of 50 present
        sparse[i] = np.nan
    too_sparse = list(sparse)
    too_sparse[n - 12] = np.nan  # 39 present
    zero = [0.0] * (n - 1) + [500.0]
    closes = [10.0] * n
    prices = with_benchmarks({"SPIKE": closes, "SPARSE": closes, "TOO_SPARSE": closes, "ZERO": closes}, n,
                             volumes={"SPIKE": spike, "SPARSE": sparse, "TOO_SPARSE": too_sparse, "ZERO": zero})
    got = compute_price_signals(prices)
    assert got.loc["SPIKE", "volume"] == 5000
    assert got.loc["SPIKE", "avg_volume_50d"] == 1000 and got.loc["SPIKE", "volume_surge"] == 5
    assert got.loc["SPARSE", "avg_volume_50d"] == 1000 and got.loc["SPARSE", "volume_surge"] == 3
    assert pd.isna(got.loc["TOO_SPARSE", "avg_volume_50d"]) and pd.isna(got.loc["TOO_SPARSE", "volume_surge"])
    assert got.loc["ZERO", "avg_volume_50d"] == 0 and pd.isna(got.loc["ZERO", "volume_surge"])


def test_missing_volume_on_the_as_of_session():
    n = 60
    prices = with_benchmarks({"NOVOL": [10.0] * n}, n, volumes={"NOVOL": [1000.0] * (n - 1) + [np.nan]})
    got = compute_price_signals(prices).loc["NOVOL"]
    assert flag(got["volume"]) is None and pd.isna(got["volume_surge"]) and got["avg_volume_50d"] == 1000
    assert got["close"] == 10


# --------------------------------------------------------------------------- null rules
@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.just(math.nan), st.floats(1, 100)), min_size=1, max_size=40))
def test_gap_filling_matches_the_loop_on_any_series(values):
    got = fill_short_gaps(np.array(values)[:, None])[:, 0]
    np.testing.assert_array_equal(got, np.array(fill_gaps_by_loop(values)))


def test_gap_filling_by_eye():
    nan = math.nan
    values = [nan, nan, 1.0, nan, 2.0, nan, nan, nan, nan, nan, nan, 3.0, nan, nan]
    want = [nan, nan, 1.0, 1.0, 2.0, nan, nan, nan, nan, nan, nan, 3.0, 3.0, 3.0]
    np.testing.assert_array_equal(fill_short_gaps(np.array(values)[:, None])[:, 0], want)


def test_short_history_ipo_gets_only_what_it_can_support():
    ipo = [float(x) for x in range(10, 40)]  # 30 sessions of history
    got = compute_price_signals(with_benchmarks({"IPO": ipo}, 300)).loc["IPO"]
    assert got["close"] == 39
    assert got["return_1m"] == pytest.approx(39 / 18 - 1)  # C_21 exists
    for name in ["return_3m", "return_6m", "return_12m", "sma_50", "sma_200", "high_52w", "pct_from_52w_high",
                 "volatility_1y", "rs_6m", "avg_volume_50d", "volume_surge"]:
        assert pd.isna(got[name]), name
    for name in ["above_sma_50", "above_sma_200", "higher_highs_lows", "rs_rating"]:
        assert flag(got[name]) is None, name


def test_gap_of_five_is_filled_gap_of_six_stays_missing():
    n = 80
    five = [float(x) for x in range(1, n + 1)]
    six = list(five)
    for i in range(n - 30, n - 25):  # five missing sessions
        five[i] = np.nan
    for i in range(n - 30, n - 24):  # six missing sessions
        six[i] = np.nan
    got = compute_price_signals(with_benchmarks({"FIVE": five, "SIX": six}, n))
    # FIVE: closes 51..55 are missing and take the close before the gap, 50:
    # sma_50 = (sum(31..80) - sum(51..55) + 5 * 50) / 50 = (2775 - 265 + 250) / 50 = 55.2
    assert got.loc["FIVE", "sma_50"] == pytest.approx(55.2)
    assert flag(got.loc["FIVE", "above_sma_50"]) is True
    # SIX: nothing is invented, so any window crossing the gap is null
    assert pd.isna(got.loc["SIX", "sma_50"]) and flag(got.loc["SIX", "above_sma_50"]) is None
    assert got.loc["SIX", "return_1m"] == pytest.approx(80 / 59 - 1)  # C_21 lies after the gap
    assert pd.isna(got.loc["SIX", "higher_highs_lows"])


def test_stale_tickers_get_nothing_and_are_listed():
    n = 60
    last_at_5 = [10.0] * (n - 5) + [np.nan] * 5  # last close 5 sessions before as-of: kept
    last_at_6 = [10.0] * (n - 6) + [np.nan] * 6  # 6 sessions: no prices
    prices = with_benchmarks({"KEPT": last_at_5, "GONE": last_at_6}, n)
    got = compute_price_signals(prices)
    assert got.loc["KEPT", "close"] == 10 and got.loc["KEPT", "as_of"] is not None
    assert got.loc["GONE"].isna().all()
    assert stale_price_tickers(got) == ["GONE"]


def test_ticker_without_any_close_on_or_before_as_of_has_a_null_row():
    prices = with_benchmarks({"LATE": [5.0, 6.0]}, 30)
    got = compute_price_signals(prices, as_of=pd.bdate_range("2023-01-02", periods=30)[20].date())
    assert "LATE" in got.index and got.loc["LATE"].isna().all()


def test_as_of_picks_the_last_session_on_or_before_and_ignores_later_data():
    n = 300
    closes = {"A": list(np.linspace(10, 30, n)), "B": list(np.linspace(30, 10, n))}
    prices = with_benchmarks(closes, n)
    dates = pd.bdate_range("2023-01-02", periods=n)
    saturday = (dates[280] + pd.Timedelta(days=(5 - dates[280].weekday()) % 7)).date()
    friday = dates[dates <= pd.Timestamp(saturday)][-1]
    got = compute_price_signals(prices, as_of=saturday)
    truncated = compute_price_signals(prices[pd.to_datetime(prices["date"]) <= friday])
    pd.testing.assert_frame_equal(got, truncated)
    assert set(got["as_of"]) == {friday.date()}


def test_calendar_is_the_benchmarks_and_stray_dates_are_ignored():
    prices = with_benchmarks({"A": [10.0] * 30}, 30)  # last session: Friday 2023-02-10
    stray = pd.DataFrame({"date": [pd.Timestamp("2023-02-11")], "ticker": ["A"], "close": [999.0],
                          "volume": pd.array([1], dtype="Int64")})  # the Saturday after
    got = compute_price_signals(pd.concat([prices, stray], ignore_index=True))
    assert got.loc["A", "close"] == 10 and got.loc["A", "volume"] == 1000
    assert got.loc["A", "as_of"] == dt.date(2023, 2, 10)


def test_errors_name_the_problem():
    prices = with_benchmarks({"A": [10.0] * 30}, 30)
    with pytest.raises(ValueError, match="IWM"):
        compute_price_signals(prices[prices["ticker"] != "IWM"])
    with pytest.raises(ValueError, match="duplicate"):
        compute_price_signals(pd.concat([prices, prices.iloc[[-1]]], ignore_index=True))
    with pytest.raises(ValueError, match="on or before"):
        compute_price_signals(prices, as_of=dt.date(2000, 1, 1))


# --------------------------------------------------------------------------- rs
def test_rs_6m_is_relative_to_iwm():
    n = 130
    prices = panel({"IWM": [100.0] * (n - 1) + [110.0], "SPY": [1.0] * n, "A": [50.0] * (n - 1) + [75.0]})
    got = compute_price_signals(prices)
    assert got.loc["IWM", "rs_6m"] == 0
    assert got.loc["A", "rs_6m"] == pytest.approx(0.5 - 0.1)


def test_rs_rating_ranks_constituents_only_with_shared_ties():
    n = 260
    flat = [10.0] * n
    prices = panel({
        "IWM": flat[:-1] + [30.0], "SPY": flat[:-1] + [40.0],  # best scores, but never ranked
        "LOW": flat[:-1] + [5.0], "MID": flat, "MID2": flat, "HIGH": flat[:-1] + [20.0],
        "YOUNG": [10.0] * 100,  # no C_252: not ranked
    })
    got = compute_price_signals(prices)["rs_rating"]
    # ranks 1, 2.5, 2.5, 4 of n = 4: 1 + 98 * (rank - 1) / 3 = 1, 50, 50, 99
    assert got[["LOW", "MID", "MID2", "HIGH"]].tolist() == [1, 50, 50, 99]
    assert got[["IWM", "SPY", "YOUNG"]].isna().all()


def test_rs_rating_rounds_half_up_and_a_lone_name_gets_50():
    n = 260
    flat = [10.0] * n
    five = {f"T{i}": flat[:-1] + [10.0 + i] for i in range(5)}  # ranks 1..5 of n = 5
    got = compute_price_signals(panel({"IWM": flat, "SPY": flat, **five}))["rs_rating"]
    # 1 + 98 * (rank - 1) / 4 = 1, 25.5, 50, 74.5, 99 -> half up: 1, 26, 50, 75, 99
    assert got[[f"T{i}" for i in range(5)]].tolist() == [1, 26, 50, 75, 99]
    alone = compute_price_signals(panel({"IWM": flat, "SPY": flat, "ONLY": flat}))["rs_rating"]
    assert alone["ONLY"] == 50


# --------------------------------------------------------------------------- types and schema
def test_columns_and_dtypes_follow_the_catalog():
    got = compute_price_signals(with_benchmarks({"A": list(np.linspace(5, 9, 300))}, 300))
    assert tuple(got.columns) == PRICE_SIGNAL_FIELDS
    assert got.index.name == "ticker"
    for name in FLOATS:
        assert got[name].dtype == "float64", name
    for name in FLAGS:
        assert got[name].dtype == "boolean", name
    for name in INTS:
        assert got[name].dtype == "Int64", name
    schema = stocks_schema()
    table = pa.Table.from_pandas(got.reset_index()[["ticker", *PRICE_SIGNAL_FIELDS]],
                                 schema=pa.schema([schema.field(n) for n in ["ticker", *PRICE_SIGNAL_FIELDS]]),
                                 preserve_index=False)
    assert table.num_rows == 3


def test_date_objects_and_datetimes_give_the_same_answer():
    prices = with_benchmarks({"A": list(np.linspace(5, 9, 300))}, 300)
    as_dates = prices.assign(date=prices["date"].dt.date)
    pd.testing.assert_frame_equal(compute_price_signals(prices), compute_price_signals(as_dates))


# --------------------------------------------------------------------------- random panel vs loop
def random_panel(seed: int, tickers: int = 25, sessions: int = 320) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns, volumes = {}, {}
    for i in range(tickers):
        closes = list(20 * np.exp(np.cumsum(rng.normal(0, 0.03, sessions))))
        vols = list(rng.integers(0, 5000, sessions).astype(float))
        for _ in range(rng.integers(0, 4)):  # gaps of 1..9 sessions anywhere
            at, length = rng.integers(0, sessions), rng.integers(1, 10)
            closes[at:at + length] = [np.nan] * len(closes[at:at + length])
        for _ in range(rng.integers(0, 6)):
            vols[rng.integers(0, sessions)] = np.nan
        start = rng.choice([0, 0, 0, rng.integers(0, sessions)])  # some late listings
        columns[f"S{i:02d}"] = closes[start:]
        volumes[f"S{i:02d}"] = vols[start:]
    return with_benchmarks(columns, sessions, volumes=volumes)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_panels_match_the_per_ticker_loop(seed):
    prices = random_panel(seed)
    as_of = pd.bdate_range("2023-01-02", periods=320)[300 if seed == 2 else -1].date()
    assert_matches_reference(compute_price_signals(prices, as_of=as_of), reference_signals(prices, as_of=as_of))


# --------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def real_prices() -> pd.DataFrame:
    return real_price_panel(bench_start=dt.date(2021, 1, 4))


def real_sample(prices: pd.DataFrame) -> list[str]:
    names = sorted(set(prices["ticker"]) - {"IWM", "SPY"})
    picked = set(names[::45])  # ~46 spread over the alphabet
    picked |= {"CRVO", "BVFL", "TVGN", "AISP", "KYTX", "AHR", "GUTS"}  # gap, zero volumes, late listings
    return sorted(picked)


@pytest.mark.parametrize("as_of", [dt.date(2024, 3, 8), dt.date(2023, 8, 24), dt.date(2023, 9, 15),
                                   dt.date(2022, 12, 30)])
def test_real_panel_sample_matches_the_per_ticker_loop(real_prices, as_of):
    sample = real_sample(real_prices)
    prices = real_prices[real_prices["ticker"].isin([*sample, "IWM", "SPY"])]
    got = compute_price_signals(prices, as_of=as_of)
    want = reference_signals(prices, as_of=as_of)
    assert_matches_reference(got, want)
    crvo = got.loc["CRVO"]
    if as_of == dt.date(2023, 9, 15):  # 19 blank sessions since 2023-08-17: no prices
        assert "CRVO" in stale_price_tickers(got)
    if as_of == dt.date(2023, 8, 24):  # 5 blank sessions: the 2023-08-17 close carries
        prior = real_prices[(real_prices["ticker"] == "CRVO") & (real_prices["date"] == dt.date(2023, 8, 17))]
        assert crvo["close"] == prior["close"].iloc[0]
    if as_of == dt.date(2024, 3, 8):  # the 24-session hole sits inside the 200-day window
        assert pd.isna(crvo["sma_200"]) and pd.isna(crvo["volatility_1y"]) and not pd.isna(crvo["sma_50"])


def test_full_real_universe_agrees_with_the_sample_run(real_prices):
    """Every signal but rs_rating depends on the ticker alone, so the full run must agree."""
    full = compute_price_signals(real_prices, as_of=dt.date(2024, 3, 8))
    sample = real_sample(real_prices)
    alone = compute_price_signals(real_prices[real_prices["ticker"].isin([*sample, "IWM", "SPY"])],
                                  as_of=dt.date(2024, 3, 8))
    columns = [c for c in PRICE_SIGNAL_FIELDS if c != "rs_rating"]
    pd.testing.assert_frame_equal(full.loc[alone.index, columns], alone[columns])
    ranked = full["rs_rating"].dropna()
    assert ranked.min() == 1 and ranked.max() == 99
    assert len(full) == real_prices["ticker"].nunique()
