"""Market internals and the quality-versus-junk divergence, as tidy frames for the app's charts.

Pure functions over the long prices frame (as in ``prices.parquet``) and the stocks frame
(as in ``stocks.parquet``).  Every function works on the panel of :func:`signals.build_panel`
(built from the frame, or handed in prebuilt where :data:`Prices` allows it), so histories
follow the same market calendar, gap rule and "window needs every close" rule as the
nightly signals, and the last row of a history agrees with stocks.parquet.
Histories come back long (``date``, ``series``, ``value``) for Altair; ``date`` is
datetime64.  Definitions where DESIGN.md leaves room:

- Constituents are every ticker except the benchmarks IWM and SPY.
- Breadth on a session: share of constituents whose close is above their N-day SMA
  (:func:`signals.is_above`, the rule of ``above_sma_N``), among those whose SMA exists
  that day (N closes present).  A new 52-week high is a
  close strictly above each of the previous 251 closes (so the highest of the 252-session
  window ending that day, the window of ``high_52w``, and not tied); a new low is strictly
  below each of them; both need all 252 closes.  Strictness keeps a flat line from
  counting as a new high and a new low every day.
- Group returns: a ticker's daily return is C_t / C_t-1 - 1 (null when either close is
  missing); a group's daily return is the plain mean over members with a return that
  session; a session where no member has one adds nothing (the group's line stays flat).
- A window's base session is the last session on or before ``start`` (the first session
  when ``start`` precedes the data); cumulative returns are 0 on it and compound from
  there, so "1m" from 2024-03-08 is measured from the close of 2024-02-08, and "ytd" from
  the last close of the prior year.
- Buckets are the universe-wide quality buckets; ``spread_by_sector`` compares each
  sector's quality members with its junk members.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from screener.fields import BENCHMARKS
from screener.signals import (
    HIGH_52W_SESSIONS, VOLUME_AVG_MIN_PRESENT, VOLUME_AVG_SESSIONS, VOLUME_SURGE_THRESHOLD,
    PricePanel, build_panel, is_above, trailing_mean,
)

BENCHMARK = "IWM"
#: Windows the divergence pages offer, in menu order.
WINDOWS: tuple[str, ...] = ("1m", "3m", "6m", "ytd", "1y")
_WINDOW_OFFSETS: dict[str, pd.DateOffset] = {
    "1m": pd.DateOffset(months=1), "3m": pd.DateOffset(months=3), "6m": pd.DateOffset(months=6),
    "1y": pd.DateOffset(years=1),
}
#: How each supported split labels its groups (None: the column's own values).
GROUPINGS: dict[str, dict[object, str] | None] = {
    "quality_bucket": None,
    "is_profitable": {True: "profitable", False: "unprofitable"},
    "sector": None,
}
#: The (long, short) series whose difference is the divergence spread of a split.
SPREAD_PAIRS: dict[str, tuple[str, str]] = {
    "quality_bucket": ("quality", "junk"),
    "is_profitable": ("profitable", "unprofitable"),
}


def _long(frame: pd.DataFrame) -> pd.DataFrame:
    """sessions x series wide frame -> long ``date, series, value`` (series in column order)."""
    frame = frame.rename_axis(index="date", columns="series")
    out = frame.melt(ignore_index=False, value_name="value").reset_index()
    out["series"] = out["series"].astype("str")
    return out[["date", "series", "value"]]


#: What the whole-universe functions read: the long prices frame, or its panel built once
#: with :func:`signals.build_panel` (the app shares one per snapshot; pivoting ~1M rows
#: is most of each function's time).
Prices = pd.DataFrame | PricePanel


def _panel(prices: Prices, as_of: dt.date | None = None) -> PricePanel:
    """The IWM-calendar panel of ``prices`` ending at ``as_of`` (None: the last session).

    A prebuilt panel only serves its own last session: ending earlier would need the gap
    rule applied again at that session (a gap reaching it counts only up to it).
    """
    if isinstance(prices, PricePanel):
        if as_of is not None and pd.Timestamp(as_of) < prices.sessions[-1]:
            raise ValueError("a prebuilt panel ends at its own last session; pass the prices frame to end earlier")
        return prices
    return build_panel(prices, as_of=as_of, benchmark=BENCHMARK)


def _constituent_mask(panel: PricePanel) -> np.ndarray:
    return ~panel.tickers.isin(BENCHMARKS)


def _above_sma(close: np.ndarray, n: int) -> np.ndarray:
    """1.0 / 0.0 where close > its n-day SMA, NaN where the SMA does not exist."""
    sma = trailing_mean(close, n)
    return np.where(np.isnan(sma), np.nan, is_above(close, sma).astype("float64"))


def _share(flags: np.ndarray) -> np.ndarray:
    """Row-wise mean of 1/0/NaN flags over the non-NaN ones (NaN for a row without any)."""
    known = (~np.isnan(flags)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(known > 0, np.nansum(flags, axis=1) / np.maximum(known, 1), np.nan)


def _new_extreme(close: np.ndarray, n: int, highest: bool) -> np.ndarray:
    """True where a close is strictly above (below) each of the previous n - 1 closes, all present."""
    window = pd.DataFrame(close).shift(1).rolling(n - 1, min_periods=n - 1)
    previous = (window.max() if highest else window.min()).to_numpy()
    with np.errstate(invalid="ignore"):
        return (close > previous) if highest else (close < previous)


def breadth_history(prices: Prices, days: int = 252) -> pd.DataFrame:
    """Per session over the last ``days``: share above SMA 50/200, new 52-week highs/lows.

    Series: ``above_sma_50`` and ``above_sma_200`` (shares, as fractions), ``new_highs`` and
    ``new_lows`` (counts).
    """
    panel = _panel(prices)
    close = panel.close[:, _constituent_mask(panel)]
    wide = pd.DataFrame({
        "above_sma_50": _share(_above_sma(close, 50)),
        "above_sma_200": _share(_above_sma(close, 200)),
        "new_highs": _new_extreme(close, HIGH_52W_SESSIONS, highest=True).sum(axis=1).astype("float64"),
        "new_lows": _new_extreme(close, HIGH_52W_SESSIONS, highest=False).sum(axis=1).astype("float64"),
    }, index=panel.sessions)
    return _long(wide.iloc[-days:])


def ratio_history(prices: pd.DataFrame, numerator: str = "IWM", denominator: str = "SPY",
                  sma: int = 200, days: int = 252) -> pd.DataFrame:
    """``numerator / denominator`` closes and the ratio's ``sma``-day SMA over the last ``days``.

    Series ``ratio`` and ``sma_<sma>``; the calendar is the numerator's sessions.
    """
    panel = build_panel(prices, benchmark=numerator, tickers=[denominator])
    if denominator not in panel.tickers:
        raise ValueError(f"prices hold no {denominator} closes")
    ratio = panel.close[:, panel.column(numerator)] / panel.close[:, panel.column(denominator)]
    wide = pd.DataFrame({"ratio": ratio, f"sma_{sma}": trailing_mean(ratio[:, None], sma)[:, 0]},
                        index=panel.sessions)
    return _long(wide.iloc[-days:])


def _label_values(stocks: pd.DataFrame, by: str) -> pd.Series:
    """Each row's group label for the split ``by`` (str, or null without one), on the frame's index."""
    if by not in GROUPINGS:
        raise ValueError(f"cannot split by {by!r}; choose one of {', '.join(GROUPINGS)}")
    mapping = GROUPINGS[by]
    labels = stocks[by].astype("object")
    return labels.map(mapping) if mapping is not None else labels


def _group_labels(stocks: pd.DataFrame, by: str) -> pd.Series:
    """ticker -> group label for the split ``by``; tickers without a label are left out."""
    labels = _label_values(stocks, by).set_axis(stocks["ticker"]).dropna().astype("str")
    return labels[~labels.index.isin(BENCHMARKS)]


def _membership(panel: PricePanel, labels: pd.Series,
                groups: pd.Index | None = None) -> tuple[np.ndarray, pd.Index]:
    """(tickers x groups one-hot matrix, group names) for the panel's columns.

    ``groups`` None: the labels held by at least one ticker of the panel, sorted.
    """
    aligned = labels.reindex(panel.tickers)
    if groups is None:
        groups = pd.Index(sorted(aligned.dropna().unique()))
    onehot = (aligned.to_numpy()[:, None] == groups.to_numpy()[None, :]).astype("float64")
    return onehot, groups


def _daily_returns(close: np.ndarray) -> np.ndarray:
    returns = np.full_like(close, np.nan)
    returns[1:] = close[1:] / close[:-1] - 1
    return returns


def _base_row(panel: PricePanel, start: dt.date) -> int:
    """Row of the last session on or before ``start`` (0 when ``start`` precedes the panel)."""
    return max(int(panel.sessions.searchsorted(pd.Timestamp(start), side="right")) - 1, 0)


def _compound(daily: np.ndarray) -> np.ndarray:
    """Cumulative return from the first row (0 there); a NaN day adds nothing."""
    growth = np.where(np.isnan(daily), 1.0, 1.0 + daily)
    growth[0] = 1.0
    return np.cumprod(growth, axis=0) - 1.0


def _window_panel(prices: Prices, start: dt.date | None,
                  end: dt.date | None) -> tuple[PricePanel, int]:
    """(panel ending at ``end``, base row of ``start``; row 0 when ``start`` is None)."""
    panel = _panel(prices, as_of=end)
    return panel, 0 if start is None else _base_row(panel, start)


def _group_sums(daily: np.ndarray, onehot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sum of members' daily returns, members with a return) per session and group."""
    present = ~np.isnan(daily)
    return np.where(present, daily, 0.0) @ onehot, present.astype("float64") @ onehot


def _compound_means(sums: np.ndarray, counts: np.ndarray, has_members: np.ndarray) -> np.ndarray:
    """Cumulative return of each group's daily mean (NaN for a group that never had members)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        group_daily = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return np.where(has_members, _compound(group_daily), np.nan)


def _group_cumulative(panel: PricePanel, base: int, onehot: np.ndarray) -> np.ndarray:
    """sessions-from-base x groups cumulative equal-weighted returns (NaN for a group without members)."""
    sums, counts = _group_sums(_daily_returns(panel.close)[base:], onehot)
    return _compound_means(sums, counts, onehot.sum(axis=0) > 0)


def bucket_returns(prices: Prices, stocks: pd.DataFrame, by: str = "quality_bucket",
                   start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    """Cumulative equal-weighted returns of each group of ``by`` from ``start``, plus ``IWM``.

    ``by``: "quality_bucket" (quality / middle / junk), "is_profitable" (profitable /
    unprofitable) or "sector".  ``start`` None: the whole panel; ``end`` None: the last session.
    """
    panel, base = _window_panel(prices, start, end)
    onehot, groups = _membership(panel, _group_labels(stocks, by))
    cumulative = _group_cumulative(panel, base, onehot)
    iwm = panel.close[base:, panel.column(BENCHMARK)]
    wide = pd.DataFrame(cumulative, index=panel.sessions[base:], columns=groups)
    wide[BENCHMARK] = iwm / iwm[0] - 1
    return _long(wide)


def point_in_time_returns(prices: Prices, memberships: pd.DataFrame, by: str = "quality_bucket",
                          start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame | None:
    """Like :func:`bucket_returns`, but each session's baskets are those known the evening before.

    ``memberships`` holds the stored snapshots' labels: columns ``date`` (the snapshot's
    date), ``ticker`` and ``by``.  A snapshot is built after its session's close, so
    the return of session t counts for the baskets of the newest snapshot dated before
    t; no stock is judged on anything published after the day it is scored for.  The
    window starts at the later of its base session and the first snapshot's session
    (before that no basket existed); ``IWM`` is measured from the same session.  None
    when no snapshot precedes a session of the window.  Tickers without prices in
    ``prices`` (left the index since) cannot count.
    """
    panel, base = _window_panel(prices, start, end)
    frame = memberships.assign(date=pd.to_datetime(memberships["date"]), label=_label_values(memberships, by))
    dates = pd.DatetimeIndex(sorted(frame["date"].unique()))
    # Per session: the newest snapshot dated strictly before it (-1: none yet).
    snapshot_of = dates.searchsorted(panel.sessions, side="left") - 1
    known = np.flatnonzero(snapshot_of >= 0)
    if not known.size:
        return None
    base = max(base, int(known[0]) - 1)
    if base >= len(panel.sessions) - 1:
        return None
    labelled = frame.dropna(subset=["label"])
    labelled = labelled[~labelled["ticker"].isin(BENCHMARKS)]
    groups = pd.Index(sorted(labelled["label"].unique()))
    # snapshots x panel tickers: the group number of each stock in each snapshot (-1: none).
    codes = np.full((len(dates), len(panel.tickers)), -1)
    columns = panel.tickers.get_indexer(labelled["ticker"])
    inside = columns >= 0
    codes[dates.get_indexer(labelled["date"])[inside], columns[inside]] = groups.get_indexer(labelled["label"])[inside]
    rows = np.arange(base + 1, len(panel.sessions))
    held = codes[snapshot_of[rows]]  # sessions-after-base x tickers
    daily = _daily_returns(panel.close)[rows]
    present = ~np.isnan(daily)
    sums = np.zeros((len(rows) + 1, len(groups)))
    counts = np.zeros_like(sums)
    has_members = np.zeros(len(groups), dtype=bool)
    for number in range(len(groups)):
        in_group = held == number
        member = in_group & present
        sums[1:, number] = np.where(member, daily, 0.0).sum(axis=1)
        counts[1:, number] = member.sum(axis=1)
        has_members[number] = in_group.any()
    wide = pd.DataFrame(_compound_means(sums, counts, has_members), index=panel.sessions[base:], columns=groups)
    iwm = panel.close[base:, panel.column(BENCHMARK)]
    wide[BENCHMARK] = iwm / iwm[0] - 1
    return _long(wide)


def spread(returns: pd.DataFrame, by: str = "quality_bucket") -> pd.DataFrame:
    """Long minus short cumulative return per date (quality - junk, profitable - unprofitable).

    ``returns`` is a :func:`bucket_returns` frame; the series is named e.g. "quality - junk".
    """
    if by not in SPREAD_PAIRS:
        raise ValueError(f"no spread for {by!r}; choose one of {', '.join(SPREAD_PAIRS)}")
    long_name, short_name = SPREAD_PAIRS[by]
    wide = returns.pivot(index="date", columns="series", values="value")
    missing = [name for name in (long_name, short_name) if name not in wide.columns]
    if missing:
        raise ValueError(f"returns lack the series {', '.join(missing)}")
    difference = wide[long_name] - wide[short_name]
    return _long(difference.to_frame(f"{long_name} - {short_name}"))


def window_start(as_of: dt.date, window: str) -> dt.date:
    """Calendar start of a named window ending at ``as_of``: "1m", "3m", "6m", "ytd", "1y".

    "ytd" starts on 31 December of the prior year, so with the base-session rule the
    year's first session's own return counts.
    """
    if window == "ytd":
        return dt.date(as_of.year - 1, 12, 31)
    if window not in _WINDOW_OFFSETS:
        raise ValueError(f"unknown window {window!r}; choose one of {', '.join(WINDOWS)}")
    return (pd.Timestamp(as_of) - _WINDOW_OFFSETS[window]).date()


def spread_by_sector(prices: Prices, stocks: pd.DataFrame, start: dt.date,
                     end: dt.date | None = None) -> pd.DataFrame:
    """Per sector: cumulative return of its quality and of its junk members over the window.

    Columns: sector, quality_return, junk_return, spread (quality - junk), quality_members,
    junk_members (members with prices); a side without members has a null return and the
    spread is then null.  Sorted by spread, largest first, nulls last.
    """
    panel, base = _window_panel(prices, start, end)
    sectors = _group_labels(stocks, "sector")
    buckets = _group_labels(stocks, "quality_bucket").reindex(sectors.index)
    names = pd.Index(sorted(sectors.unique()))
    out = pd.DataFrame({"sector": names})
    for bucket in SPREAD_PAIRS["quality_bucket"]:
        onehot, _ = _membership(panel, sectors[buckets == bucket], groups=names)
        out[f"{bucket}_return"] = _group_cumulative(panel, base, onehot)[-1]
        out[f"{bucket}_members"] = onehot.sum(axis=0).astype("int64")
    out["spread"] = out["quality_return"] - out["junk_return"]
    out = out[["sector", "quality_return", "junk_return", "spread", "quality_members", "junk_members"]]
    return out.sort_values("spread", ascending=False, na_position="last", ignore_index=True)


def _sector_flags(prices: Prices, stocks: pd.DataFrame, n: int) -> tuple[PricePanel, np.ndarray, np.ndarray,
                                                                        pd.Index]:
    """(panel, above-SMA flags per session, sector one-hot, sector names)."""
    panel = _panel(prices)
    labels = _group_labels(stocks, "sector")
    onehot, sectors = _membership(panel, labels, groups=pd.Index(sorted(labels.unique())))
    return panel, _above_sma(panel.close, n), onehot, sectors


def _sector_counts(flags: np.ndarray, onehot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(members above, members with an SMA) per row and sector."""
    known = ~np.isnan(flags)
    return np.where(known, flags, 0.0) @ onehot, known.astype("float64") @ onehot


def sector_participation(prices: Prices, stocks: pd.DataFrame, sma: int = 50) -> pd.DataFrame:
    """Per sector at the last session: members, members with an SMA, members above it, share.

    Columns: sector, members (constituents with that sector in ``stocks``), with_sma,
    above, share (above / with_sma, null when no member has an SMA).  Sorted by share.
    """
    panel, flags, onehot, sectors = _sector_flags(prices, stocks, sma)
    above, with_sma = _sector_counts(flags[-1:], onehot)
    labels = _group_labels(stocks, "sector")
    out = pd.DataFrame({
        "sector": sectors,
        "members": labels.value_counts().reindex(sectors).fillna(0).astype("int64").to_numpy(),
        "with_sma": with_sma[0].astype("int64"),
        "above": above[0].astype("int64"),
    })
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = np.where(out["with_sma"] > 0, out["above"] / out["with_sma"].clip(lower=1), np.nan)
    return out.sort_values("share", ascending=False, na_position="last", ignore_index=True)


def sector_participation_history(prices: Prices, stocks: pd.DataFrame, sma: int = 50,
                                 days: int = 252) -> pd.DataFrame:
    """Long frame (date, series = sector, value = share above its ``sma``-day SMA) over ``days``."""
    panel, flags, onehot, sectors = _sector_flags(prices, stocks, sma)
    above, with_sma = _sector_counts(flags[-days:], onehot)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(with_sma > 0, above / np.maximum(with_sma, 1), np.nan)
    return _long(pd.DataFrame(share, index=panel.sessions[-days:], columns=sectors))


def stock_history(prices: pd.DataFrame, ticker: str, start: dt.date | None = None,
                  benchmark: str = BENCHMARK) -> pd.DataFrame:
    """One ticker's chart data from ``start`` (base-session rule) to the last session.

    One row per session (wide; fold it for Altair): date, close, sma_50, sma_200, volume,
    avg_volume_50d (mean of the 50 previous volumes, at least 40 present), volume_surge,
    surge (volume_surge >= 2), rs_line (close / IWM close, 1.0 at the base session or,
    for a later listing, at its first close).
    Empty frame with these columns when ``prices`` holds no close for ``ticker``.
    """
    panel = build_panel(prices, benchmark=benchmark, tickers=[ticker])
    columns = ["date", "close", "sma_50", "sma_200", "volume", "avg_volume_50d", "volume_surge", "surge",
               "rs_line"]
    if ticker not in panel.tickers or np.isnan(panel.close[:, panel.column(ticker)]).all():
        return pd.DataFrame({name: [] for name in columns})
    close = panel.close[:, [panel.column(ticker)]]
    volume = panel.volume[:, [panel.column(ticker)]]
    average = np.full_like(volume, np.nan)
    average[1:] = trailing_mean(volume[:-1], VOLUME_AVG_SESSIONS, VOLUME_AVG_MIN_PRESENT)
    with np.errstate(invalid="ignore", divide="ignore"):
        surge = np.where(average > 0, volume / average, np.nan)
    relative = close[:, 0] / panel.close[:, panel.column(benchmark)]
    base = 0 if start is None else _base_row(panel, start)
    out = pd.DataFrame({
        "date": panel.sessions,
        "close": close[:, 0],
        "sma_50": trailing_mean(close, 50)[:, 0],
        "sma_200": trailing_mean(close, 200)[:, 0],
        "volume": volume[:, 0],
        "avg_volume_50d": average[:, 0],
        "volume_surge": surge[:, 0],
    }).iloc[base:]
    out["surge"] = pd.array(out["volume_surge"] >= VOLUME_SURGE_THRESHOLD, dtype="boolean")
    out.loc[out["volume_surge"].isna(), "surge"] = pd.NA
    first_relative = relative[base:][~np.isnan(relative[base:])]
    out["rs_line"] = relative[base:] / (first_relative[0] if first_relative.size else np.nan)
    return out.reset_index(drop=True)
