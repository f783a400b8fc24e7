"""Price and volume signals for every ticker at one as-of session, in one vectorised pass.

The long prices frame is pivoted once into a sessions x tickers matrix on the market
calendar and every signal is a slice of that matrix, so 2,000 tickers cost about as much
as one; there is no Python loop over tickers.  Definitions are DESIGN.md section 2
(adjusted closes C, volumes V, index 0 = the as-of session, C_k = k sessions back).
Where DESIGN leaves room, these are the rules (tests pin each of them):

- Market calendar: the sessions on which the benchmark (IWM) has a valid close.  The
  as-of session is the last of them on or before ``as_of`` (``None``: the last one).
  Rows of other tickers on dates outside the calendar are ignored; a close that is
  missing, non-finite or not positive is treated as missing.
- Gaps: a run of missing closes *inside* a ticker's history is forward-filled only when
  the whole run is at most 5 sessions long (a halted name keeps its price); a longer run
  stays missing in full (CRVO's 24 blank sessions in Aug 2023 are not invented), and
  sessions before a ticker's first close stay missing (an IPO has no history).  A run
  that reaches the as-of session counts up to it, so no later data is ever used.
  Volumes are never filled: a missing volume is missing and averages skip it.
- No prices: a ticker whose last valid close is more than 5 sessions before the as-of
  session (so C_0 stays missing after filling) gets no signals at all; every column is
  null, ``as_of`` included.  :func:`stale_price_tickers` lists them for run.json's
  ``no_prices`` failures; the output has no extra column, only catalog fields.
- A windowed signal needs every close of its window after filling: ``sma_N`` N closes,
  ``high_52w`` 252, ``higher_highs_lows`` 60, ``volatility_1y`` 253 (252 log returns);
  ``return_Xm`` needs C_0 and C_k.  ``avg_volume_50d`` needs at least 40 of V_1..V_50.
- ``volatility_1y``: sample standard deviation (ddof=1) of the 252 log returns x sqrt(252).
- ``higher_highs_lows`` uses closes (open/high/low are optional in the prices frame).
- ``rs_rating``: only constituents (IWM and SPY excluded) with C_0, C_63, C_126, C_189 and
  C_252 are ranked; score = 0.4 r3m + 0.2 r6m + 0.2 r9m + 0.2 r12m; rating =
  round_half_up(1 + 98 (rank - 1) / (n - 1)) with average ranks (ties share), n the number
  ranked; a lone ranked ticker gets 50.
- ``volume_surge`` = V_0 / avg_volume_50d, null when the average is 0 or missing.
- ``above_sma_N`` is C_0 > sma_N by more than a relative 1e-9 (:data:`ABOVE_MARGIN`):
  sums of cent prices carry float rounding, and on real data a close often equals its
  exact 50-day mean (GBIO 2022-11-02: 5.31 against 5.309999999999989), which must read
  as "not above" whichever way the rounding fell.

The panel builder and the trailing-window helpers are public because
:mod:`screener.market` draws its histories (breadth, per-stock charts) from the same
matrix with the same gap rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

from screener.fields import BENCHMARKS, field

#: Longest gap (in sessions) that is forward-filled; also the staleness limit of C_0.
FILL_LIMIT = 5
#: Sessions k back for each return field.
RETURN_SESSIONS: dict[str, int] = {"return_1m": 21, "return_3m": 63, "return_6m": 126, "return_12m": 252}
#: (k, weight) of the RS rating score: 0.4 r3m + 0.2 r6m + 0.2 r9m + 0.2 r12m.
RS_WEIGHTS: tuple[tuple[int, float], ...] = ((63, 0.4), (126, 0.2), (189, 0.2), (252, 0.2))
SMA_WINDOWS: tuple[int, ...] = (50, 200)
HIGH_52W_SESSIONS = 252
VOLATILITY_RETURNS = 252
TRADING_DAYS_PER_YEAR = 252
HHL_WINDOW = 20  # three consecutive windows of 20 sessions = the last 60
VOLUME_AVG_SESSIONS = 50
VOLUME_AVG_MIN_PRESENT = 40
#: Relative margin within which a close and its SMA count as equal (float rounding, not a move).
ABOVE_MARGIN = 1e-9
#: The seed screen's "volume above 200% of average" (DESIGN.md: volume_surge >= 2).
VOLUME_SURGE_THRESHOLD = 2.0
#: Sessions the signals read: C_0..C_252, plus room to see a short gap at the window's start.
SIGNAL_SESSIONS = VOLATILITY_RETURNS + 1 + FILL_LIMIT

#: Output columns of :func:`compute_price_signals`, in catalog order.
PRICE_SIGNAL_FIELDS: tuple[str, ...] = (
    "close", "return_1m", "return_3m", "return_6m", "return_12m", "sma_50", "sma_200",
    "above_sma_50", "above_sma_200", "high_52w", "pct_from_52w_high", "volatility_1y",
    "higher_highs_lows", "rs_6m", "rs_rating", "volume", "avg_volume_50d", "volume_surge", "as_of",
)
_KIND_OF = {name: field(name).kind for name in PRICE_SIGNAL_FIELDS}  # fails at import on a renamed field


@dataclass(frozen=True)
class PricePanel:
    """Closes and volumes as sessions x tickers matrices on the market calendar.

    ``close`` is already gap-filled (see the module docstring) and NaN where missing;
    ``volume`` is NaN where missing and never filled.  ``tickers`` are sorted.
    """

    sessions: pd.DatetimeIndex
    tickers: pd.Index
    close: np.ndarray
    volume: np.ndarray

    @property
    def as_of(self) -> dt.date:
        """The as-of session: the last row of the panel."""
        return self.sessions[-1].date()

    def column(self, ticker: str) -> int:
        """Column index of ``ticker``; KeyError when the panel does not hold it."""
        return int(self.tickers.get_loc(ticker))


def _day_codes(dates: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(per-row code, datetime64[D] per code) for a date column of dates or timestamps.

    Factorising first converts only the few hundred distinct dates, which keeps
    ``datetime.date`` object columns (as read back from Parquet) cheap.
    """
    codes, uniques = pd.factorize(dates)
    stamps = pd.DatetimeIndex(pd.to_datetime(pd.Index(uniques)))
    if stamps.tz is not None:
        stamps = stamps.tz_localize(None)  # keep the exchange-local calendar date
    return codes, stamps.values.astype("datetime64[D]")


def _ticker_codes(tickers: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """(per-row code into the sorted ticker index, sorted ticker index); -1 for a null ticker."""
    codes, uniques = pd.factorize(tickers)
    names = pd.Index(np.asarray(uniques, dtype=object).astype(str))
    order = np.argsort(names.to_numpy(), kind="stable")
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    return np.where(codes >= 0, position[np.maximum(codes, 0)], -1), names[order]


def _as_float(column: pd.Series) -> np.ndarray:
    """A writable float64 copy with NaN for nulls, whatever the (nullable) dtype."""
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan, copy=True)


def fill_short_gaps(close: np.ndarray, limit: int = FILL_LIMIT) -> np.ndarray:
    """Forward-fill runs of missing values that follow a value and are at most ``limit`` long.

    A run is measured from the value before it to the next value (or to the last row when
    it reaches it); a longer run stays missing in full, and leading runs stay missing.
    """
    sessions, width = close.shape
    valid = ~np.isnan(close)
    rows = np.arange(sessions, dtype=np.int32)[:, None]
    last_valid = np.maximum.accumulate(np.where(valid, rows, np.int32(-1)), axis=0)
    next_valid = np.minimum.accumulate(np.where(valid, rows, np.int32(sessions))[::-1], axis=0)[::-1]
    fill = ~valid & (last_valid >= 0) & (next_valid - last_valid - 1 <= limit)
    filled = close.copy()
    fill_rows, fill_cols = np.nonzero(fill)
    filled[fill_rows, fill_cols] = close[last_valid[fill_rows, fill_cols], fill_cols]
    return filled


def build_panel(
    prices: pd.DataFrame,
    as_of: dt.date | None = None,
    benchmark: str = "IWM",
    sessions: int | None = None,
    tickers: Iterable[str] | None = None,
) -> PricePanel:
    """Pivot the long prices frame onto the market calendar, ending at the as-of session.

    ``sessions`` keeps only that many trailing sessions (None: all up to the as-of
    session); ``tickers`` restricts the columns (the benchmark is always kept).  Raises
    ValueError when the benchmark has no valid close on or before ``as_of`` or when a
    (ticker, date) pair appears twice.
    """
    missing = {"date", "ticker", "close"} - set(prices.columns)
    if missing:
        raise ValueError(f"prices frame lacks columns: {', '.join(sorted(missing))}")
    if tickers is not None:
        prices = prices[prices["ticker"].isin({*tickers, benchmark})]
    day_code, code_day = _day_codes(prices["date"])
    ticker_code, names = _ticker_codes(prices["ticker"])
    close = _as_float(prices["close"])
    close[~np.isfinite(close) | (close <= 0)] = np.nan
    volume = _as_float(prices["volume"]) if "volume" in prices.columns else np.full(len(prices), np.nan)
    volume[~np.isfinite(volume) | (volume < 0)] = np.nan
    row_day = np.where(day_code >= 0, code_day[np.maximum(day_code, 0)], np.datetime64("NaT"))

    is_benchmark = np.asarray(prices["ticker"] == benchmark, dtype=bool) & ~np.isnan(close)
    calendar = np.unique(row_day[is_benchmark & ~np.isnat(row_day)])
    if as_of is not None:
        calendar = calendar[calendar <= np.datetime64(pd.Timestamp(as_of).date(), "D")]
    if calendar.size == 0:
        when = f" on or before {as_of}" if as_of is not None else ""
        raise ValueError(f"no valid {benchmark} close{when}: the market calendar comes from {benchmark}")
    if sessions is not None:
        calendar = calendar[-sessions:]

    position = np.searchsorted(calendar, row_day)
    inside = (position < calendar.size) & (ticker_code >= 0) & ~np.isnat(row_day)
    inside[inside] = calendar[position[inside]] == row_day[inside]
    rows, cols = position[inside], ticker_code[inside]
    shape = (calendar.size, len(names))
    seen = np.zeros(shape, dtype=bool)
    seen[rows, cols] = True
    if np.count_nonzero(seen) != rows.size:
        linear = rows.astype(np.int64) * shape[1] + cols
        uniq, counts = np.unique(linear, return_counts=True)
        dupes = [f"{names[c % shape[1]]} {calendar[c // shape[1]]}" for c in uniq[counts > 1][:5]]
        raise ValueError(f"prices hold duplicate (ticker, date) rows, e.g. {', '.join(dupes)}")
    del seen
    close_matrix = np.full(shape, np.nan)
    close_matrix[rows, cols] = close[inside]
    volume_matrix = np.full(shape, np.nan)
    volume_matrix[rows, cols] = volume[inside]
    return PricePanel(
        sessions=pd.DatetimeIndex(calendar.astype("datetime64[ns]")),
        tickers=names,
        close=fill_short_gaps(close_matrix),
        volume=volume_matrix,
    )


def trailing_mean(values: np.ndarray, n: int, min_present: int | None = None) -> np.ndarray:
    """Mean of each column over the ``n`` rows ending at every row (same shape as ``values``).

    NaN where fewer than ``min_present`` (default: all ``n``) values are present; the
    first rows use the shorter window the matrix holds.  Prefix sums make it O(rows x
    columns) at the cost of rounding around 1e-14 relative, which :func:`is_above` absorbs.
    """
    min_present = n if min_present is None else min_present
    present = ~np.isnan(values)
    zero_row = np.zeros((1, values.shape[1]))
    sums = np.concatenate([zero_row, np.cumsum(np.where(present, values, 0.0), axis=0)])
    counts = np.concatenate([zero_row, np.cumsum(present, axis=0, dtype=np.float64)])
    start = np.maximum(np.arange(1, values.shape[0] + 1) - n, 0)
    window_sum = sums[1:] - sums[start]
    window_count = counts[1:] - counts[start]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(window_count >= min_present, window_sum / window_count, np.nan)


def is_above(close: np.ndarray, sma: np.ndarray) -> np.ndarray:
    """close > sma beyond float rounding (False where either is NaN)."""
    with np.errstate(invalid="ignore"):
        return close > sma * (1 + ABOVE_MARGIN)


def _last_window(matrix: np.ndarray, n: int) -> np.ndarray | None:
    """The last ``n`` rows, or None when the panel is shorter (the signal is then null)."""
    return matrix[-n:] if matrix.shape[0] >= n else None


def _sessions_back(close: np.ndarray, k: int) -> np.ndarray:
    """C_k for every ticker (NaN when the panel does not reach k sessions back)."""
    if k < close.shape[0]:
        return close[-1 - k]
    return np.full(close.shape[1], np.nan)


def _higher_highs_lows(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value, known) of the three-window test; known only with all 60 closes present."""
    window = _last_window(close, 3 * HHL_WINDOW)
    if window is None:
        nothing = np.zeros(close.shape[1], dtype=bool)
        return nothing, nothing
    blocks = window.reshape(3, HHL_WINDOW, -1)
    known = ~np.isnan(blocks).any(axis=(0, 1))
    highs, lows = blocks.max(axis=1), blocks.min(axis=1)
    rising = (highs[0] < highs[1]) & (highs[1] < highs[2]) & (lows[0] < lows[1]) & (lows[1] < lows[2])
    return rising & known, known


def _volatility(close: np.ndarray) -> np.ndarray:
    window = _last_window(close, VOLATILITY_RETURNS + 1)
    if window is None:
        return np.full(close.shape[1], np.nan)
    log_returns = np.diff(np.log(window), axis=0)
    return log_returns.std(axis=0, ddof=1) * np.sqrt(TRADING_DAYS_PER_YEAR)


def rs_ratings(score: pd.Series) -> pd.Series:
    """1..99 percentile ratings of the non-null scores (average ranks; a lone score gets 50)."""
    ranked = score.dropna()
    n = len(ranked)
    if n == 1:
        return pd.Series(50, index=ranked.index, dtype="Int64")
    ranks = ranked.rank(method="average")
    return np.floor(1 + 98 * (ranks - 1) / (n - 1) + 0.5).astype("Int64")


def _typed(values: np.ndarray, known: np.ndarray, kind: str) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """Catalog dtype for one column: float64 with NaN, boolean / Int64 with <NA>."""
    if kind == "float":
        return np.where(known, values, np.nan).astype("float64")
    if kind == "bool":
        return pd.arrays.BooleanArray(np.where(known, values, False).astype(bool), ~known)
    if kind == "int":
        return pd.arrays.IntegerArray(np.where(known, values, 0).astype(np.int64), ~known)
    raise TypeError(f"no numpy form for kind {kind!r}")


def compute_price_signals(prices: pd.DataFrame, as_of: dt.date | None = None,
                          benchmark: str = "IWM") -> pd.DataFrame:
    """Every catalog price/volume field for every ticker in ``prices`` at the as-of session.

    One row per ticker (index ``ticker``, sorted; the benchmarks are included so callers
    can read IWM's own figures, and drop them), columns :data:`PRICE_SIGNAL_FIELDS` with
    the catalog's dtypes (float64 / boolean / Int64; ``as_of`` holds ``datetime.date``).
    Rules for gaps, nulls and ranks: see the module docstring.
    """
    panel = build_panel(prices, as_of=as_of, benchmark=benchmark, sessions=SIGNAL_SESSIONS)
    close, volume = panel.close, panel.volume
    width = close.shape[1]
    c0 = close[-1]
    has_prices = ~np.isnan(c0)
    nan_row = np.full(width, np.nan)
    values: dict[str, np.ndarray] = {"close": c0}

    with np.errstate(invalid="ignore", divide="ignore"):
        for name, k in RETURN_SESSIONS.items():
            values[name] = c0 / _sessions_back(close, k) - 1
        for n in SMA_WINDOWS:
            window = _last_window(close, n)
            sma = nan_row if window is None else window.mean(axis=0)  # NaN unless all n present
            values[f"sma_{n}"] = sma
            values[f"above_sma_{n}"] = is_above(c0, sma)
        high_window = _last_window(close, HIGH_52W_SESSIONS)
        values["high_52w"] = nan_row if high_window is None else high_window.max(axis=0)
        values["pct_from_52w_high"] = c0 / values["high_52w"] - 1
        values["volatility_1y"] = _volatility(close)
        hhl, hhl_known = _higher_highs_lows(close)
        values["higher_highs_lows"] = hhl

        benchmark_column = panel.column(benchmark)
        values["rs_6m"] = values["return_6m"] - values["return_6m"][benchmark_column]
        score = sum(weight * (c0 / _sessions_back(close, k) - 1) for k, weight in RS_WEIGHTS)
        rankable = pd.Series(score, index=panel.tickers)
        rankable[rankable.index.isin({*BENCHMARKS, benchmark})] = np.nan
        ratings = rs_ratings(rankable).reindex(panel.tickers)
        values["rs_rating"] = ratings.to_numpy(dtype="float64", na_value=np.nan)

        values["volume"] = volume[-1]
        previous = volume[-1 - VOLUME_AVG_SESSIONS:-1]
        values["avg_volume_50d"] = (trailing_mean(previous, VOLUME_AVG_SESSIONS, VOLUME_AVG_MIN_PRESENT)[-1]
                                    if previous.shape[0] else nan_row)
        average = values["avg_volume_50d"]
        values["volume_surge"] = np.where(average > 0, values["volume"] / average, np.nan)

    known_extra = {
        "above_sma_50": ~np.isnan(values["sma_50"]),
        "above_sma_200": ~np.isnan(values["sma_200"]),
        "higher_highs_lows": hhl_known,
    }
    columns: dict[str, object] = {}
    for name in PRICE_SIGNAL_FIELDS[:-1]:
        raw = values[name]
        known = has_prices & known_extra.get(name, ~np.isnan(raw.astype("float64")))
        columns[name] = _typed(raw, known, _KIND_OF[name])
    columns["as_of"] = np.where(has_prices, panel.as_of, None).astype(object)
    return pd.DataFrame(columns, index=pd.Index(panel.tickers, name="ticker"))


def stale_price_tickers(signals: pd.DataFrame) -> list[str]:
    """Tickers of a :func:`compute_price_signals` result that got no prices (run.json ``no_prices``).

    A null ``close`` means exactly that: no valid close within 5 sessions of the as-of session.
    """
    return sorted(signals.index[signals["close"].isna()])
